"""The end-to-end API that `efld predict` mirrors: an image in, faces out (68 points, pose, features,
a confidence).

Two passes per face: the first from the detector's (mapped) box or a given box, the second from
the box of the first pass's points, which is cropped as in training (crop.py) whatever the
detector's convention. The answer is the mean of the two passes (on aflw2000-3d-val, BlazeFace
boxes, shipped model: NME 8.37 mean of bins, against 8.63 for the first pass alone, 8.69 for the
second and 7.98 from ground-truth boxes: benchmarks/results/detectors.json); how far the two
disagree is the confidence (Spearman -0.39 against the NME there).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .crop import box_from_points
from .data.record import read_image
from .detect import Detector
from .errors import EFLDError
from .export.exporter import DEFAULT_WEIGHTS, REPO_ROOT
from .features import features
from .release import releases
from .runtime import LandmarkModel

#: Pass-to-pass disagreement (mean point distance / sqrt(w*h) of the face box) at which confidence is 1/e.
CONSISTENCY_SCALE = 0.05
#: Artifact names an export writes (export/exporter.py), best first for each backend.
ARTIFACTS = {"pt": (DEFAULT_WEIGHTS.name,), "onnx": ("efld.onnx",),
             "tflite": ("efld_int8.tflite", "efld_float16.tflite", "efld_float32.tflite")}


@dataclass
class Face:
    """One face. box: (x, y, w, h) bounding box of the points; points: (68, 2) image pixels;
    pose: (yaw, pitch, roll) degrees or None; confidence in (0, 1]; detector_score: None for given boxes."""

    box: np.ndarray
    points: np.ndarray
    pose: np.ndarray | None
    confidence: float
    detector_score: float | None = None
    features: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_points(cls, points: np.ndarray, pose: np.ndarray | None, confidence: float,
                    detector_score: float | None = None) -> "Face":
        """A face whose box and features are derived from its points."""
        return cls(box_from_points(points), points, pose, confidence, detector_score, features(points))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (pixels to 0.01, angles to 0.01 degree)."""
        return {
            "box": _rounded(self.box, 2),
            "confidence": round(self.confidence, 4),
            "detector_score": None if self.detector_score is None else round(self.detector_score, 4),
            "pose": None if self.pose is None else dict(zip(("yaw", "pitch", "roll"), _rounded(self.pose, 2))),
            "points": _rounded(self.points, 2),
            "features": {k: round(v, 4) for k, v in self.features.items()},
        }


def _rounded(values: np.ndarray, digits: int) -> list:
    """Plain Python floats (via float64, so float32 outputs print as 6.68, not 6.679999828)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


def consistency(first: np.ndarray, second: np.ndarray) -> float:
    """Confidence from two passes: exp(-(mean point distance / face size) / CONSISTENCY_SCALE)."""
    w, h = box_from_points(second)[2:]
    d = float(np.linalg.norm(first - second, axis=1).mean() / max(np.sqrt(w * h), 1e-6))
    return float(np.exp(-d / CONSISTENCY_SCALE))


class Predictor:
    """A landmark model and a face detector (created on first need, so given boxes never load one)."""

    def __init__(self, model: LandmarkModel, detector: Detector | str = "auto"):
        self.model = model
        self._detector = detector

    @property
    def detector(self) -> Detector:
        if not isinstance(self._detector, Detector):
            self._detector = Detector(self._detector)
        return self._detector

    def predict(self, image: np.ndarray, boxes: list[np.ndarray] | None = None) -> list[Face]:
        """Faces in an RGB uint8 image: every detected face, or one per given (x, y, w, h) box."""
        scores: list[float | None]
        if boxes is None:
            found = self.detector.detect(image)
            boxes, scores = [d.box for d in found], [d.score for d in found]
        else:
            scores = [None] * len(boxes)
        if not boxes:
            return []
        first = self.model.predict(image, boxes)
        second = self.model.predict(image, [box_from_points(p.points) for p in first])
        return [Face.from_points((a.points + b.points) / 2, None if a.pose is None else (a.pose + b.pose) / 2,
                                 consistency(a.points, b.points), s)
                for a, b, s in zip(first, second, scores)]


def default_model_path(backend: str = "pt") -> Path:
    """The shipped model for a backend: DEFAULT_WEIGHTS, or an exported artifact beside it, in a release
    of it (models/<name>-<version>/, newest first) or in exported/."""
    folders = [DEFAULT_WEIGHTS.parent, *releases(DEFAULT_WEIGHTS.parent.parent, DEFAULT_WEIGHTS.parent.name),
               REPO_ROOT / "exported"]
    names = ARTIFACTS[backend]
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    raise EFLDError(f"no {backend} model found (looked for {', '.join(names)} in "
                    f"{', '.join(str(f) for f in folders)}); pass --model PATH"
                    + ("" if backend == "pt" else " or run `efld export`"))


@lru_cache(maxsize=1)
def default_predictor() -> Predictor:
    """The shipped model with the default detector (built once)."""
    return Predictor(LandmarkModel.from_artifact(default_model_path()))


def predict(image: np.ndarray | str | Path, boxes: list[np.ndarray] | None = None,
            predictor: Predictor | None = None) -> list[Face]:
    """Faces in an image (RGB array or a file path), with the shipped model unless a predictor is given."""
    if not isinstance(image, np.ndarray):
        image = read_image(image)
    return (predictor or default_predictor()).predict(image, boxes)
