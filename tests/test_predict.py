"""`efld predict` and its API: detectors and their box mapping, two-pass prediction, video smoothing, bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import render_face
from efld_export.crop import box_from_points
from efld_export.detect import BOX_MAPS, BoxMap, Detector, _ssd_anchors, box_iou, nms
from efld_export.errors import EFLDError
from efld_export.predict import Face, Predictor, predict
from efld_export.runtime import LandmarkModel
from efld_export.smoothing import FaceTracks, OneEuroFilter, jitter

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "aflw2000-3d-val"
#: A frontal and a half-profile validation face (the only real images the tests read).
REAL = ("image00013.jpg", "image00006.jpg")


def real_image(name: str) -> tuple[np.ndarray, np.ndarray]:
    """A validation image and its 68 ground-truth points; skips the test without the shared data."""
    path = VAL / "images" / name
    if not path.is_file():
        pytest.skip("shared validation data not present")
    from efld_export.data.readers import read_landmarks_csv

    rec = next(r for r in read_landmarks_csv(VAL / "landmarks.csv", VAL / "images") if r.image_path.name == name)
    return rec.load_image(), rec.points


@pytest.fixture(scope="module")
def model(trained) -> LandmarkModel:
    import torch

    torch.set_num_threads(1)
    return LandmarkModel.from_artifact(trained)


@pytest.fixture(scope="module")
def face_image() -> tuple[np.ndarray, np.ndarray]:
    """A synthetic face (RGB) and the box of its landmarks."""
    img, pts = render_face(np.random.default_rng(7), 160)
    return img, box_from_points(pts)


def write_video(path: Path, image: np.ndarray, n: int, noise: float, seed: int = 0) -> Path:
    """A still image repeated n times with Gaussian sensor noise (MJPG)."""
    rng = np.random.default_rng(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, image.shape[1::-1])
    for _ in range(n):
        frame = np.clip(image + rng.normal(0, noise, image.shape), 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """`efld ARGS` in this process: (exit code, stdout, stderr)."""
    from efld_export.cli import main

    monkeypatch.setattr("sys.argv", ["efld", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def box_arg(box: np.ndarray) -> str:
    return ",".join(f"{v:.1f}" for v in box)


# --- detectors ----------------------------------------------------------------------------------------

def test_ssd_anchors_match_the_blazeface_outputs():
    assert len(_ssd_anchors(128, (8, 16, 16, 16), 2)) == 896
    assert len(_ssd_anchors(192, (4,), 1)) == 2304
    a = _ssd_anchors(128, (8, 16, 16, 16), 2)
    assert np.allclose(a[0], [0.5 / 16, 0.5 / 16]) and np.allclose(a[-1], [7.5 / 8, 7.5 / 8])


def test_box_map_and_nms():
    m = BoxMap(dx=0.1, dy=-0.2, scale=1.5)
    x, y, w, h = m.apply(np.array([10.0, 20.0, 40.0, 40.0]))
    assert (x + w / 2, y + h / 2) == pytest.approx((34.0, 32.0)) and w == h == pytest.approx(60.0)
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], dtype=float)
    kept, scores = nms(boxes, np.array([0.5, 0.9, 0.7]))
    assert scores.tolist() == [0.9, 0.7] and box_iou(kept[0], boxes[1]) == 1.0
    assert nms(np.zeros((0, 4)), np.zeros(0))[0].shape == (0, 4)


def test_box_maps_are_fitted_constants():
    """Every detector has its fitted mapping (no identity placeholder left), of plausible size."""
    for name, m in BOX_MAPS.items():
        assert m != BoxMap(0.0, 0.0, 1.0), name
        assert abs(m.dx) < 0.3 and abs(m.dy) < 0.3 and 0.6 < m.scale < 1.5, name


def test_unknown_detector_is_a_user_error():
    with pytest.raises(EFLDError, match="unknown detector"):
        Detector("yolo")


def test_auto_falls_back_to_opencv_without_mediapipe(monkeypatch):
    """BlazeFace's model comes from the mediapipe wheel; without it `auto` says why and takes Haar."""
    def missing(name: str):
        raise EFLDError(f"BlazeFace needs the model {name} from the mediapipe wheel")

    monkeypatch.setattr("efld_export.detect.mediapipe_model", missing)
    det = Detector("auto")
    assert det.name == "haar" and "mediapipe" in det.skipped[0]
    with pytest.raises(EFLDError, match="mediapipe"):
        Detector("blazeface")


@pytest.mark.parametrize("name", ["blazeface", "haar", "dlib"])
def test_mapped_detector_box_lands_on_the_landmark_box(name):
    """On a real frontal face the mapped box is the training crop's box, within a few percent."""
    image, points = real_image(REAL[0])
    try:
        det = Detector(name)
    except EFLDError as e:
        pytest.skip(str(e))
    gt = box_from_points(points)
    found = [d for d in det.detect(image) if box_iou(d.box, gt) >= 0.3]
    assert found, f"{name} missed a frontal face"
    box, side = found[0].box, max(gt[2:])
    centre_err = np.hypot(*(box[:2] + box[2:] / 2 - gt[:2] - gt[2:] / 2)) / side
    assert centre_err < 0.12 and 0.8 < box[2] / side < 1.25


# --- Python API ---------------------------------------------------------------------------------------

def test_predict_with_a_box_gives_a_complete_face(model, face_image):
    img, box = face_image
    faces = Predictor(model).predict(img, [box])
    assert len(faces) == 1
    f = faces[0]
    assert f.points.shape == (68, 2) and f.pose.shape == (3,) and 0 < f.confidence <= 1
    assert f.detector_score is None and np.allclose(f.box, box_from_points(f.points))
    assert "eye_over_nose_mouth" in f.features and len([k for k in f.features if k.startswith("d:")]) == 10
    row = json.loads(json.dumps(f.to_dict()))
    assert len(row["points"]) == 68 and set(row["pose"]) == {"yaw", "pitch", "roll"}


def test_predict_detects_real_faces_from_a_path(model):
    """The whole path from a file (the test model is trained on drawn faces only: its points are not checked)."""
    real_image(REAL[1])
    predictor = Predictor(model, "auto")
    faces = predict(VAL / "images" / REAL[1], predictor=predictor)
    assert faces and all(isinstance(f, Face) and f.detector_score is not None for f in faces)
    assert predictor.predict(np.zeros((120, 160, 3), np.uint8)) == []


# --- smoothing ----------------------------------------------------------------------------------------

def test_one_euro_removes_noise_and_follows_motion():
    rng = np.random.default_rng(0)
    t = np.arange(120) / 30
    noisy = rng.normal(0, 1.0, (120, 4))
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    still = np.stack([f(x, ti) for x, ti in zip(noisy, t)])
    assert still[30:].std() < 0.4 * noisy[30:].std()  # 1 Hz at 30 fps: about 0.31 in theory
    ramp = 50 * t[:, None] + noisy  # 50 units/s
    lag = {}
    for beta in (0.0, 1.0):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        out = np.stack([f(x, ti) for x, ti in zip(ramp, t)])
        lag[beta] = float(np.mean(50 * t[60:, None] - out[60:]))
    assert lag[1.0] < 0.2 * lag[0.0] and lag[1.0] < 2.0
    g = OneEuroFilter(beta=1.0, common=True)
    assert g(np.ones((68, 2)), 0.0).shape == (68, 2)


def test_tracks_smooth_a_still_noisy_face(model, face_image):
    """Points of a still face under sensor noise through the model: jitter before and after smoothing."""
    img, box = face_image
    rng = np.random.default_rng(1)
    predictor, tracks = Predictor(model), FaceTracks()
    raw, smooth = [], []
    for i in range(40):
        frame = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
        face = predictor.predict(frame, [box])[0]
        (track, s), = tracks.update([face], i / 25)
        assert track == 0
        raw.append(face.points)
        smooth.append(s.points)
    j_raw, j_smooth = jitter(np.stack(raw)), jitter(np.stack(smooth))
    print(f"jitter of points: {j_raw:.4g} -> {j_smooth:.4g} % of face size")
    assert j_smooth < 0.6 * j_raw


def test_tracks_keep_two_faces_apart_and_smooth_their_pose(face_image):
    """Two faces, pose noise of 2 degrees: each keeps its track id, and its pose is steadied."""
    _, pts = render_face(np.random.default_rng(0), 160)
    rng = np.random.default_rng(2)
    tracks = FaceTracks()
    poses: dict[int, list] = {0: [], 1: []}
    for i in range(60):
        faces = [Face.from_points(pts + shift, np.array([20.0, 0, 0]) + rng.normal(0, 2, 3), 0.9)
                 for shift in ((0, 0), (200, 0))]
        for track, face in tracks.update(faces[::-1] if i % 2 else faces, i / 30):
            poses[track].append((face.box[0] > 100, face.pose))
    for track, seq in poses.items():
        assert len({side for side, _ in seq}) == 1  # a track never jumps to the other face
        steady = np.stack([p for _, p in seq[15:]])
        assert steady.std(0).mean() < 0.5 * 2.0 and abs(steady[:, 0].mean() - 20) < 1.0


# --- CLI ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image_dir(tmp_path_factory, face_image) -> Path:
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(3)
    for i in range(2):
        img, _ = render_face(rng, 160)
        cv2.imwrite(str(folder / f"face{i}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(folder / "same.png"), cv2.cvtColor(face_image[0], cv2.COLOR_RGB2BGR))
    return folder


def test_cli_folder_json_csv_and_drawings(trained, image_dir, face_image, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    code, stdout, err = run_cli(monkeypatch, capsys, "predict", str(image_dir), "--model", str(trained),
                                "--box", box_arg(face_image[1]), "--out", str(out), "--json", "--csv", "--draw")
    assert code == 0 and stdout == "" and "3 face(s) in 3 image(s)" in err
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [Path(r["source"]).name for r in rows] == ["face0.jpg", "face1.jpg", "same.png"]
    assert all(len(r["points"]) == 68 and r["frame"] is None and 0 <= r["confidence"] <= 1 for r in rows)
    csv_lines = (out / "predictions.csv").read_text().splitlines()
    assert len(csv_lines) == 4 and csv_lines[0].startswith("source,frame,time_s,face,track,confidence")
    assert "x67,y67" in csv_lines[0] and "eye_over_nose_mouth" in csv_lines[0]
    for name in ("face0_efld.jpg", "face1_efld.jpg", "same_efld.png"):
        drawn = cv2.imread(str(out / name))
        assert drawn is not None and drawn.shape == (160, 160, 3)
    assert not (drawn == cv2.imread(str(image_dir / "same.png"))).all()  # something was drawn


def test_cli_box_rows_to_stdout_and_flag_errors(trained, image_dir, face_image, monkeypatch, capsys):
    img = str(image_dir / "same.png")
    code, stdout, _ = run_cli(monkeypatch, capsys, "predict", img, "--model", str(trained),
                              "--box", box_arg(face_image[1]))
    row = json.loads(stdout)
    assert code == 0 and np.allclose(row["box"], box_from_points(np.array(row["points"])), atol=0.02)
    code, stdout, _ = run_cli(monkeypatch, capsys, "predict", img, "--model", str(trained), "--csv",
                              "--box", box_arg(face_image[1]))
    assert code == 0 and len(stdout.splitlines()) == 2
    for bad, message in ((["--box", "1,2,3"], "expected x,y,w,h"), (["--box", "0,0,-5,10"], "expected x,y,w,h"),
                         (["--draw"], "give --out"), (["--json", "--csv"], "one format"),
                         (["--backend", "onnx"], "not a onnx artifact")):
        code, _, err = run_cli(monkeypatch, capsys, "predict", img, "--model", str(trained), *bad)
        assert code == 2 and message in err and "Traceback" not in err, bad


def test_cli_video_is_smoothed_and_drawn(trained, face_image, tmp_path, monkeypatch, capsys):
    """A still face with sensor noise, as a video: the smoothed points jitter less than the raw ones."""
    img, box = face_image
    video = write_video(tmp_path / "still.avi", img, n=30, noise=6.0)
    jit = {}
    for flag in ("--smooth", "--no-smooth"):
        out = tmp_path / flag
        code, _, err = run_cli(monkeypatch, capsys, "predict", str(video), "--model", str(trained), "--box",
                               box_arg(box), "--out", str(out), "--draw", flag, "--no-progress")
        assert code == 0 and "30 video frame(s)" in err
        rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
        assert [r["frame"] for r in rows] == list(range(30)) and rows[1]["time_s"] == pytest.approx(0.04)
        assert {r["track"] for r in rows} == ({0} if flag == "--smooth" else {None})
        jit[flag] = jitter(np.array([r["points"] for r in rows]))
        drawn = cv2.VideoCapture(str(out / "still_efld.mp4"))
        assert drawn.isOpened() and int(drawn.get(cv2.CAP_PROP_FRAME_COUNT)) == 30
        drawn.release()
    print(f"video jitter: {jit['--no-smooth']:.3f} -> {jit['--smooth']:.3f} % of face size")
    # The tiny 2-epoch model smooths to about 0.63 of its raw jitter, the shipped one to 0.37
    # (benchmarks/results/jitter.json); no smoothing at all would be about 1.
    assert jit["--smooth"] < 0.75 * jit["--no-smooth"]


def test_cli_bad_inputs_reported_per_file_rest_processed(trained, image_dir, face_image, tmp_path, monkeypatch,
                                                        capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "corrupt.jpg").write_bytes(b"not a jpeg at all")
    (bad / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [str(image_dir / "same.png"), str(bad), str(empty), str(tmp_path / "missing.jpg"),
            str(tmp_path / "*.nothing")]
    code, stdout, err = run_cli(monkeypatch, capsys, "predict", *args, "--model", str(trained), "--box",
                                box_arg(face_image[1]), "--no-progress")
    assert code == 0 and len(stdout.splitlines()) == 1 and "Traceback" not in err
    lines = err.splitlines()
    for needle in ("corrupt.jpg: cannot decode image", "broken.mp4: cannot decode video", "empty: folder has no image",
                   "missing.jpg: no such file", "*.nothing: no file matches"):
        assert sum(needle in line for line in lines) == 1, needle
    assert "5 input(s) skipped" in err


def test_cli_nothing_processable_exits_nonzero_without_traceback(trained, tmp_path, monkeypatch, capsys):
    """No face anywhere, or nothing readable: exit 2 with one error line (the first run as a user would run it)."""
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 128, np.uint8))
    r = subprocess.run([sys.executable, "-m", "efld_export.cli", "predict", str(blank), "--model", str(trained)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "blank.png: no face found" in r.stderr, r.stderr
    assert r.stderr.strip().endswith("error: no face found in any input") and "Traceback" not in r.stderr
    (tmp_path / "corrupt.jpg").write_bytes(b"junk")
    code, _, err = run_cli(monkeypatch, capsys, "predict", str(tmp_path / "corrupt.jpg"), "--model", str(trained))
    assert code == 2 and "corrupt.jpg: cannot decode image" in err and "error: no input could be read" in err


def test_default_model_is_the_newest_release_by_version_not_by_text(tmp_path, monkeypatch):
    """With the weights gone, the ONNX file comes from the newest release folder: v0.10.0 after v0.9.1."""
    from efld_export import predict as predict_module

    for version in ("v0.9.1", "v0.10.0", "v0.2.0"):
        (tmp_path / f"efld-mnv3s-0.5-{version}").mkdir()
        (tmp_path / f"efld-mnv3s-0.5-{version}" / "efld.onnx").write_bytes(b"x")
    monkeypatch.setattr(predict_module, "DEFAULT_WEIGHTS", tmp_path / "efld-mnv3s-0.5" / "efld.pt")
    assert predict_module.default_model_path("onnx").parent.name == "efld-mnv3s-0.5-v0.10.0"
