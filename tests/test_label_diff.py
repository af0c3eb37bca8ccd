"""benchmarks/label_diff.py: two label caches compared on the faces both keep, in % of the face box."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _label_diff():
    spec = importlib.util.spec_from_file_location("label_diff", ROOT / "benchmarks" / "label_diff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cache(path: Path, index: list[int], points: np.ndarray, pose: np.ndarray) -> Path:
    np.savez(path, index=np.array(index), points=points, pose=pose, fit_error=np.zeros(len(index)),
             report=np.array("{}"))
    return path


def test_label_distance_on_common_faces(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 100, (3, 68, 2))
    points[:, 0], points[:, 1] = (0.0, 0.0), (100.0, 100.0)  # every face's box is 100 x 100
    pose = np.zeros((3, 3))
    a = _cache(tmp_path / "a.npz", [0, 1, 2], points, pose)
    moved = points[[0, 2]].copy()
    moved[:, 20, 0] += 2.0  # one non-jaw point of each shared face, 2 % of the box
    b = _cache(tmp_path / "b.npz", [0, 2, 5], np.concatenate([moved, points[:1]]), np.array([[0.0, 1.0, 0.0]] * 3))
    got = _label_diff().label_distance(a, b)
    assert got["faces"] == 2
    assert got["points_percent_of_box"] == pytest.approx(2.0 / 68)
    assert got["jaw_percent_of_box"] == pytest.approx(0.0)
    assert got["pose_deg"] == pytest.approx({"yaw": 0.0, "pitch": 1.0, "roll": 0.0})
