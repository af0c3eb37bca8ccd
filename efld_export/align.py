"""Recognition-ready aligned face crops from the method's 5-point subset.

Recognisers (ArcFace, FaceNet, VGG-Face, ...) expect faces aligned by five points. We predict 68
points, take five (eye centres from the eye contours where the template expects eye centres),
fit a similarity transform to the template (cv2.estimateAffinePartial2D, least squares over all
five points) and warp. The transform is returned so points can be mapped back.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .crop import invert_matrix, transform_points
from .errors import EFLDError
from .landmarks import FIVE_POINTS, GROUPS

#: Templates at 112x112: five (x, y) targets and how to take the five points from 68.
#: arcface: InsightFace's template (eye centres, nose tip, mouth corners).
#: method5: the method's subset (outer eye corners, nose tip, mouth corners), placed in the same
#: frame by projecting the frontal 3D mean face (../shared/data/mean_face_68_3d.csv) onto arcface.
TEMPLATES: dict[str, tuple[np.ndarray, str]] = {
    "arcface": (np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                          [41.5493, 92.3655], [70.7299, 92.2041]]), "eye_centres"),
    "method5": (np.array([[29.7098, 53.9292], [81.5515, 53.4728], [56.6113, 70.3879],
                          [39.5233, 91.4671], [72.3217, 91.0967]]), "outer_corners"),
}
TEMPLATE_SIZE = 112
SIZES = (112, 160, 224)


def five_points_for(points68: np.ndarray, template: str) -> np.ndarray:
    """The five points a template expects, in template order (subject's right eye first)."""
    if template not in TEMPLATES:
        raise EFLDError(f"unknown template {template!r}; choose from {sorted(TEMPLATES)}")
    pts = np.asarray(points68, dtype=np.float64)
    if TEMPLATES[template][1] == "eye_centres":
        eyes = [pts[list(GROUPS["right_eye"])].mean(0), pts[list(GROUPS["left_eye"])].mean(0)]
        return np.vstack([eyes, pts[list(FIVE_POINTS[2:])]])
    return pts[list(FIVE_POINTS)]


def template_points(template: str, size: int) -> np.ndarray:
    """A template's targets scaled to a square output of `size` pixels."""
    if size <= 0:
        raise EFLDError(f"size must be positive, got {size}")
    return TEMPLATES[template][0] * (size / TEMPLATE_SIZE)


@dataclass
class Aligned:
    """An aligned crop, the 2x3 image->crop similarity, and its inverse (crop->image)."""

    image: np.ndarray
    matrix: np.ndarray
    inverse: np.ndarray
    five_points: np.ndarray  # in crop pixels after alignment


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking src to dst.

    RANSAC with a threshold no residual can exceed keeps every point an inlier, so OpenCV's
    final Levenberg-Marquardt refinement is a plain least-squares fit over all five points.
    """
    m, _ = cv2.estimateAffinePartial2D(src.astype(np.float64), dst.astype(np.float64), method=cv2.RANSAC,
                                       ransacReprojThreshold=1e6, refineIters=100)
    if m is None:
        raise EFLDError("cannot estimate an alignment from degenerate points")
    return m


def align_face(image: np.ndarray, points68: np.ndarray, size: int = 112, template: str = "arcface") -> Aligned:
    """Warp one face so that its five points land on the template."""
    src = five_points_for(points68, template)
    dst = template_points(template, size)
    m = similarity(src, dst)
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return Aligned(crop, m, invert_matrix(m), transform_points(src, m))


def align(image: np.ndarray, size: int = 112, template: str = "arcface", boxes: list[np.ndarray] | None = None,
          predictor=None) -> list[tuple["Face", Aligned]]:  # noqa: F821 - Face imported lazily (torch-free import)
    """Detect faces (or take boxes), predict 68 points, align each: the API `efld align` mirrors."""
    from .predict import predict

    return [(face, align_face(image, face.points, size, template))
            for face in predict(image, boxes, predictor)]
