"""Calibration crops for int8 quantisation, preprocessed exactly as in training and evaluation."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..crop import INPUT_SIZE, box_from_points, crop_face
from ..data import data_root, load_records
from ..data.readers import IMAGE_SUFFIXES, detect_layout
from ..data.record import read_image
from ..errors import DataError, EFLDError

#: Default calibration source: a sample of the shared training data.
DEFAULT_CALIB_SPECS = ("youtube-faces-68:train", "aflw-21pt-crops")


def calibration_crops(source: str | Path | None = None, n: int = 200, seed: int = 0) -> tuple[np.ndarray, str]:
    """(N, 112, 112, 3) uint8 RGB crops and a description of where they came from.

    source: a dataset folder (crops by the landmark box, the training rule), a folder of face
    images (each taken as an already-cropped face: a centred square resized to 112), or None
    for a seeded sample of the shared training data. The same inputs give the same crops.
    """
    rng = np.random.default_rng(seed)
    if source is None:
        root = data_root()
        crops = []
        for spec in DEFAULT_CALIB_SPECS:
            path = root / spec.split(":")[0]
            if path.exists():
                crops.append(_dataset_crops(str(root / spec), n, rng))
        if not crops:
            raise EFLDError(f"no calibration data: none of {list(DEFAULT_CALIB_SPECS)} under {root} "
                            "(set --calib DIR or $EFLD_DATA)")
        pool = np.concatenate(crops)
        pick = np.sort(rng.permutation(len(pool))[:n])
        return pool[pick], f"{len(pick)} crops sampled (seed {seed}) from {', '.join(DEFAULT_CALIB_SPECS)} in {root}"
    path = Path(source)
    if not path.exists():
        raise EFLDError(f"{path}: calibration folder not found")
    try:
        detect_layout(path)
        crops = _dataset_crops(str(path), n, rng)
        return crops, f"{len(crops)} crops (seed {seed}) from dataset {path} by the landmark box"
    except DataError:
        pass
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else []
    if not files:
        raise EFLDError(f"{path}: no face images or dataset found for calibration")
    pick = sorted(rng.permutation(len(files))[:n])
    crops = []
    for i in pick:
        img = read_image(files[i])
        h, w = img.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        crops.append(cv2.resize(img[y:y + side, x:x + side], (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA))
    return np.stack(crops), f"{len(crops)} face images (seed {seed}) from {path}, centre square resized"


def _dataset_crops(spec: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Crops by the landmark box (the 21 human points' box where a face has no 68 points)."""
    records = load_records(spec, check_images=False, progress=False)
    pick = sorted(rng.permutation(len(records))[:n])
    crops = []
    for i in pick:
        r = records[i]
        pts = r.extra["points21"] if np.isnan(r.points).all() and "points21" in r.extra else r.points
        crops.append(crop_face(r.load_image(), box_from_points(pts))[0])
    return np.stack(crops)


def to_model_input(crops: np.ndarray) -> np.ndarray:
    """uint8 NHWC crops -> float32 NHWC in [0, 1] (the TFLite input layout)."""
    assert crops.shape[1:] == (INPUT_SIZE, INPUT_SIZE, 3)
    return crops.astype(np.float32) / 255.0
