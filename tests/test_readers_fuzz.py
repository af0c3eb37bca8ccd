"""Random and truncated files thrown at every reader: only the project's own error may come out."""
import shutil
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.io import savemat

from efld_export.data import load_records
from efld_export.data.readers import read_pts, read_wflw
from efld_export.errors import DataError

from conftest import write_csv_dataset

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
text_or_bytes = st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda s: s.encode("utf-8", "replace")))


def _only_data_errors(fn) -> None:
    try:
        fn()
    except DataError:
        pass


@SETTINGS
@given(data=text_or_bytes)
def test_random_landmarks_csv(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    (d / "images").mkdir()
    (d / "landmarks.csv").write_bytes(b"image," + data)
    _only_data_errors(lambda: load_records(d, skip_bad=True, progress=False))


@SETTINGS
@given(cut=st.floats(0, 1), junk=st.binary(max_size=50))
def test_truncated_real_csv_and_pose(tmp_path_factory, cut, junk):
    d = tmp_path_factory.mktemp("fz")
    write_csv_dataset(d, n=2)
    for name in ("landmarks.csv", "pose.csv"):
        raw = (d / name).read_bytes()
        (d / name).write_bytes(raw[: int(len(raw) * cut)] + junk)
    _only_data_errors(lambda: load_records(d, progress=False))


@SETTINGS
@given(data=text_or_bytes)
def test_random_aflw21_csv(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    (d / "images").mkdir()
    (d / "landmarks21.csv").write_bytes(b"image,yaw_deg," + data)
    _only_data_errors(lambda: load_records(d, skip_bad=True, check_images=False, progress=False))


@SETTINGS
@given(data=text_or_bytes)
def test_random_splits_csv(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    (d / "train").mkdir()
    (d / "train.csv").write_bytes(data)
    _only_data_errors(lambda: load_records(f"{d}:train", skip_bad=True, progress=False))


@SETTINGS
@given(data=text_or_bytes)
def test_random_pts(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    (d / "a.pts").write_bytes(b"version: 1\n{\n" + data)
    _only_data_errors(lambda: read_pts(d / "a.pts"))
    shutil.copy(Path(__file__), d / "a.jpg")  # an "image" that is not one
    _only_data_errors(lambda: load_records(d, skip_bad=True, progress=False))


@SETTINGS
@given(data=text_or_bytes)
def test_random_wflw(tmp_path_factory, data):
    d = tmp_path_factory.mktemp("fz")
    (d / "ann.txt").write_bytes(data)
    _only_data_errors(lambda: list(read_wflw(d / "ann.txt", d)))
    _only_data_errors(lambda: load_records(d / "ann.txt", skip_bad=True, progress=False))


@SETTINGS
@given(cut=st.floats(0, 1), junk=st.binary(max_size=64))
def test_truncated_mat_and_jpeg(tmp_path_factory, cut, junk):
    d = tmp_path_factory.mktemp("fz")
    src = write_csv_dataset(d / "src", n=1)
    img = next((src / "images").iterdir())
    raw = img.read_bytes()
    (d / "image00001.jpg").write_bytes(raw[: int(len(raw) * cut)] + junk)
    savemat(d / "image00001.mat", {"pt3d_68": np.ones((3, 68)), "Pose_Para": np.zeros((1, 7))})
    raw = (d / "image00001.mat").read_bytes()
    (d / "image00001.mat").write_bytes(raw[: int(len(raw) * cut)] + junk)
    _only_data_errors(lambda: load_records(d, skip_bad=False, progress=False))
