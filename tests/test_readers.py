import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from efld_export.data import detect_layout, iter_records, load_records, read_pts
from efld_export.data.readers import read_wflw
from efld_export.data.record import Record
from efld_export.errors import DataError
from efld_export.landmarks import WFLW98_TO_68

from conftest import render_face, write_csv_dataset


def _records(path, **kw):
    return [r for r in iter_records(path, **kw) if isinstance(r, Record)]


def test_csv_layout_reads_points_and_pose(csv_dataset):
    recs = load_records(csv_dataset, progress=False)
    assert len(recs) == 24
    r = recs[0]
    assert r.points.shape == (68, 2) and r.pose.shape == (3,)
    assert r.extra["image"].shape == (160, 160, 3)
    pose_row = next(csv.reader(open(csv_dataset / "pose.csv")))  # header
    assert pose_row == ["image", "pitch_deg", "yaw_deg", "roll_deg"]


def test_splits_layout_picks_the_split(data_root):
    assert len(_records(data_root / "faces", split="train")) == 48
    assert len(_records(data_root / "faces", split="test")) == 8
    assert len(load_records(f"{data_root / 'faces'}:test", progress=False)) == 8
    with pytest.raises(DataError, match="split 'val' not found"):
        list(iter_records(data_root / "faces", split="val"))


def test_aflw21_layout(tmp_path):
    (tmp_path / "images").mkdir()
    vals = ["0.0"] * 42
    vals[0:2] = ["-1", "-1"]
    (tmp_path / "landmarks21.csv").write_text("image,yaw_deg," + ",".join(f"x{i},y{i}" for i in range(21)) +
                                              "\na.jpg,45.5," + ",".join(vals) + "\n")
    (r,) = _records(tmp_path)
    assert np.isnan(r.points).all() and r.extra["yaw_deg"] == 45.5
    assert np.isnan(r.extra["points21"][0]).all() and not np.isnan(r.extra["points21"][1]).any()


def test_ibug_pts_folder(tmp_path):
    img, pts = render_face(np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "a.png"), img)
    body = "\n".join(f"{x:.3f} {y:.3f}" for x, y in pts)
    (tmp_path / "a.pts").write_text(f"version: 1\nn_points: 68\n{{\n{body}\n}}\n")
    assert detect_layout(tmp_path) == "ibug"
    (r,) = _records(tmp_path)
    assert np.allclose(r.points, pts, atol=1e-3)
    assert np.allclose(read_pts(tmp_path / "a.pts"), pts, atol=1e-3)


def test_wflw_annotation_maps_98_to_68(tmp_path):
    pts98 = np.arange(196, dtype=float).reshape(98, 2)
    line = " ".join(f"{v}" for v in pts98.ravel()) + " 1 2 30 40 0 0 0 0 1 0 sub/img.jpg"
    ann = tmp_path / "list_98pt.txt"
    ann.write_text(line + "\n")
    (r,) = [x for x in read_wflw(ann, tmp_path) if isinstance(x, Record)]
    assert np.allclose(r.points, pts98[WFLW98_TO_68])
    assert r.image_path == tmp_path / "sub/img.jpg" and r.extra["occluded"]
    assert np.allclose(r.box, [1, 2, 29, 38])


def test_aflw2000_mat_folder(tmp_path):
    img, pts = render_face(np.random.default_rng(0))
    cv2.imwrite(str(tmp_path / "image00001.jpg"), img)
    pt3d = np.vstack([pts.T, np.zeros((1, 68))])
    savemat(tmp_path / "image00001.mat", {"pt3d_68": pt3d, "Pose_Para": np.array([[0.1, -0.5, 0.2, 0, 0, 0, 1]])})
    (r,) = _records(tmp_path)
    assert np.allclose(r.points, pts)
    assert np.allclose(r.pose, np.degrees([-0.5, 0.1, 0.2]))  # (yaw, pitch, roll)


def _corrupt(ds: Path) -> None:
    """Break a dataset in every way the readers must report."""
    rows = list(csv.reader(open(ds / "landmarks.csv")))
    rows[1][5] = "abc"                       # non-numeric (line 2)
    rows[2] = rows[2][:50]                   # wrong number of points (line 3)
    rows[3][0] = "missing.jpg"               # missing image (line 4)
    rows[4][1:] = ["5000"] * 136             # far outside the image (line 5)
    with open(ds / "landmarks.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    (ds / "images" / rows[5][0]).write_bytes(b"not a jpeg at all")          # undecodable
    data = (ds / "images" / rows[6][0]).read_bytes()
    (ds / "images" / rows[6][0]).write_bytes(data[: len(data) // 2])       # truncated JPEG


def test_every_bad_record_is_reported_with_file_and_line(tmp_path):
    ds = write_csv_dataset(tmp_path / "bad", n=10)
    _corrupt(ds)
    with pytest.raises(DataError) as e:
        load_records(ds, progress=False)
    msg = str(e.value)
    assert "6 bad record(s)" in msg and "--skip-bad" in msg
    assert "landmarks.csv:2: non-numeric" in msg
    assert "landmarks.csv:3: expected 68 points" in msg
    assert "landmarks.csv:4: " in msg and "missing.jpg: image file not found" in msg
    assert "landmarks.csv:5:" in msg and "far outside" in msg
    assert "landmarks.csv:6: " in msg and "face004.jpg: cannot decode image" in msg
    assert "landmarks.csv:7: " in msg and "face005.jpg: " in msg  # truncated: undecodable or no end marker


def test_skip_bad_keeps_the_good_records_and_lists_the_bad(tmp_path, capsys):
    ds = write_csv_dataset(tmp_path / "bad", n=10)
    _corrupt(ds)
    recs = load_records(ds, skip_bad=True, progress=False)
    assert len(recs) == 4
    assert "skipped 6 bad record(s)" in capsys.readouterr().err


def test_unknown_layout_and_missing_path(tmp_path):
    with pytest.raises(DataError, match="unknown dataset layout"):
        detect_layout(tmp_path)
    with pytest.raises(DataError, match="not found"):
        detect_layout(tmp_path / "nope")


def test_pts_header_mismatch(tmp_path):
    (tmp_path / "a.pts").write_text("version: 1\nn_points: 3\n{\n1 2\n3 4\n}\n")
    with pytest.raises(DataError, match="n_points 3 but 2"):
        read_pts(tmp_path / "a.pts")


def test_folds_split_a_dataset_into_disjoint_parts_that_cover_it(csv_dataset):
    """'folder:foldIofK' (cross-fitting): K disjoint parts by a stable hash of the file name, together all."""
    from efld_export.data import parse_spec

    assert parse_spec(f"{csv_dataset}:fold1of3") == (csv_dataset, "fold1of3")
    every = {r.image_path.name for r in load_records(csv_dataset, progress=False)}
    folds = [{r.image_path.name for r in load_records(f"{csv_dataset}:fold{i}of3", progress=False)} for i in range(3)]
    assert all(folds) and set().union(*folds) == every and sum(map(len, folds)) == len(every)
    assert folds[0] == {r.image_path.name for r in load_records(f"{csv_dataset}:fold0of3", progress=False)}
    with pytest.raises(DataError, match="need 0 <= I < K"):
        load_records(f"{csv_dataset}:fold3of3", progress=False)
