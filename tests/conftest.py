"""Small synthetic fixtures: tests never read the big shared data sets."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from efld_export.landmarks import GROUPS
from efld_export.pose import angles_to_rotation, camera_matrix


def face_3d() -> np.ndarray:
    """A face-like 68x3 shape (mm; x right, y down, z away from the camera), made up for tests."""
    pts = np.zeros((68, 3))
    phi = np.linspace(np.pi, 0, 17)
    pts[0:17, 0], pts[0:17, 1] = 70 * np.cos(phi), 75 * np.sin(phi)
    pts[17:22, 0], pts[17:22, 1] = np.linspace(-55, -15, 5), -40 - 4 * np.sin(np.linspace(0, np.pi, 5))
    pts[22:27, 0], pts[22:27, 1] = np.linspace(15, 55, 5), -40 - 4 * np.sin(np.linspace(0, np.pi, 5))
    pts[27:31, 1], pts[27:31, 2] = np.linspace(-30, 5, 4), -np.linspace(5, 30, 4)
    pts[31:36, 0], pts[31:36, 1], pts[31:36, 2] = np.linspace(-15, 15, 5), 12, -15
    t = np.arange(6) * np.pi / 3  # corner, top, top, corner, bottom, bottom
    for start, cx in ((36, -35), (42, 35)):
        pts[start:start + 6, 0], pts[start:start + 6, 1] = cx - 12 * np.cos(t), -22 - 5 * np.sin(t)
    mouth = np.linspace(np.pi, -np.pi, 13)[:12]
    pts[48:60, 0], pts[48:60, 1] = 25 * np.cos(mouth), 35 - 10 * np.sin(mouth)
    inner = np.linspace(np.pi, -np.pi, 9)[:8]
    pts[60:68, 0], pts[60:68, 1] = 18 * np.cos(inner), 35 - 5 * np.sin(inner)
    pts[:, 2] += 0.012 * pts[:, 0] ** 2
    return pts


def render_face(rng: np.random.Generator, size: int = 160, pose=(0.0, 0.0, 0.0)) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic image (RGB) of a drawn face at a pose, and its 68 points in pixels."""
    shape = face_3d()
    r = angles_to_rotation(np.asarray(pose, dtype=np.float64))
    rvec, _ = cv2.Rodrigues(r)
    tvec = np.array([rng.uniform(-10, 10), rng.uniform(-10, 10), rng.uniform(230, 280)])
    pts, _ = cv2.projectPoints(shape, rvec, tvec, camera_matrix(size, size), None)
    pts = pts.reshape(-1, 2)
    img = rng.integers(60, 120, (size, size, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)
    cv2.fillConvexPoly(img, cv2.convexHull(pts[:17].astype(np.int32)), (200, 170, 150))
    for group in GROUPS.values():
        g = pts[list(group)].astype(np.int32)
        cv2.polylines(img, [g], False, (40, 20, 20), 2, cv2.LINE_AA)
    return img, pts


def write_csv_dataset(root: Path, n: int = 12, seed: int = 0, size: int = 160) -> Path:
    """The shared-data CSV layout: images/, landmarks.csv, pose.csv."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / "landmarks.csv", "w", newline="") as f, open(root / "pose.csv", "w", newline="") as g:
        lw, pw = csv.writer(f), csv.writer(g)
        lw.writerow(["image"] + [f"{c}{i}" for i in range(68) for c in "xy"])
        pw.writerow(["image", "pitch_deg", "yaw_deg", "roll_deg"])
        for i in range(n):
            pose = (rng.uniform(-70, 70), rng.uniform(-20, 20), rng.uniform(-20, 20))
            img, pts = render_face(rng, size, pose)
            name = f"face{i:03d}.jpg"
            cv2.imwrite(str(root / "images" / name), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            lw.writerow([name] + [f"{v:.2f}" for v in pts.ravel()])
            pw.writerow([name, f"{pose[1]:.3f}", f"{pose[0]:.3f}", f"{pose[2]:.3f}"])
    return root


@pytest.fixture(scope="session", autouse=True)
def label_cache_dir(tmp_path_factory) -> Path:
    """$EFLD_CACHE for the whole run: tests never read or write the user's ~/.cache/efld."""
    path = tmp_path_factory.mktemp("efld_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EFLD_CACHE", str(path))
        yield path


def write_aflw21_dataset(root: Path, n: int = 12, seed: int = 5, yaw_error: float = 0.0) -> Path:
    """An AFLW-21-style set (landmarks21.csv: file yaw, 21 human points, -1 invisible) of drawn faces; the
    file's yaw is the drawn one plus yaw_error."""
    from efld_export.landmarks import aflw21_from_68

    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        pose = (rng.uniform(-60, 60), rng.uniform(-15, 15), rng.uniform(-15, 15))
        img, pts = render_face(rng, 160, pose)
        cv2.imwrite(str(root / "images" / f"a{i:03d}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        p21 = np.nan_to_num(aflw21_from_68(pts), nan=-1.0)
        rows.append(f"a{i:03d}.jpg,{pose[0] + yaw_error:.2f}," + ",".join(f"{v:.2f}" for v in p21.ravel()))
    (root / "landmarks21.csv").write_text("image,yaw_deg," + ",".join(f"x{i},y{i}" for i in range(21)) + "\n" +
                                          "\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="session")
def csv_dataset(tmp_path_factory) -> Path:
    return write_csv_dataset(tmp_path_factory.mktemp("csvdata"), n=24)


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """A miniature of ../shared/data: a train/test splits set, a CSV val set and a mean face."""
    root = tmp_path_factory.mktemp("shared")
    split = root / "faces"
    split.mkdir()
    for name, n, seed in (("train", 48, 1), ("test", 8, 2)):
        d = write_csv_dataset(root / f"tmp_{name}", n=n, seed=seed)
        (d / "images").rename(split / name)
        (d / "landmarks.csv").rename(split / f"{name}.csv")
    write_csv_dataset(root / "val", n=16, seed=3)
    with open(root / "mean_face.csv", "w") as f:
        f.write("point,x_mm,y_mm,z_mm\n")
        for i, (x, y, z) in enumerate(face_3d()):
            f.write(f"{i},{x},{y},{z}\n")
    return root


def tiny_config(data_root: Path, out: Path, **kw):
    """A training config for a tiny model on the miniature data (a few steps)."""
    from efld_export.train import TrainConfig

    base = dict(train=["faces:train"], val="val", data_root=str(data_root), mean_face="mean_face.csv",
                model={"name": "efld_mnv3_small", "width": 0.35, "act": "relu", "se": True, "pose_from": "landmarks"},
                epochs=2, batch_size=8, lr=1e-3, warmup_epochs=0.5, out=str(out), threads=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def trained(data_root, tmp_path_factory) -> Path:
    """best.pt of a tiny model trained for 2 short epochs."""
    from efld_export.train import train

    return train(tiny_config(data_root, tmp_path_factory.mktemp("run")), progress=False)


@pytest.fixture(scope="session")
def exported_tiny(trained, data_root, tmp_path_factory) -> Path:
    """The tiny trained model through the real exporter: efld.onnx and fp32/fp16/int8 .tflite."""
    from efld_export.export import ExportOptions, export

    out = tmp_path_factory.mktemp("exported") / "model"
    export(ExportOptions(weights=trained, out=out, calib=str(data_root / "faces"), calib_n=24,
                         val=str(data_root / "val"), max_nme_drop=5.0), say=lambda m: None)
    return out
