"""Square face crops at the model's input size, with the exact inverse back to image pixels.

The box rule (documented in the README and used everywhere, training and evaluation):
the bounding box of the known landmarks, centred, squared to its longer side, scaled by
BOX_SCALE. A detector box is mapped to the same rule by its own calibration.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

INPUT_SIZE = 112
#: Margin around the landmark box: the crop's side is BOX_SCALE x the box's longer side.
BOX_SCALE = 1.25


def box_from_points(points: np.ndarray) -> np.ndarray:
    """(x, y, w, h) bounding box of the known (non-NaN) points."""
    known = points[~np.isnan(points).any(1)]
    lo, hi = known.min(0), known.max(0)
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]], dtype=np.float64)


def square_from_box(box: np.ndarray, scale: float = BOX_SCALE) -> tuple[np.ndarray, float]:
    """Centre and side of the square crop for an (x, y, w, h) box."""
    x, y, w, h = box
    return np.array([x + w / 2, y + h / 2]), float(max(w, h) * scale)


def crop_matrix(center: np.ndarray, side: float, size: int = INPUT_SIZE, angle_deg: float = 0.0) -> np.ndarray:
    """2x3 affine matrix taking image pixels to crop pixels (rotation about the centre, counter-clockwise)."""
    s = size / side
    a = np.radians(angle_deg)
    c, si = np.cos(a) * s, np.sin(a) * s
    # crop = R*S*(p - center) + (size-1)/2, pixel centres at integers
    rot = np.array([[c, si], [-si, c]])
    t = (size - 1) / 2 - rot @ np.asarray(center, dtype=np.float64)
    return np.hstack([rot, t[:, None]])


def invert_matrix(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2x3 affine matrix."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


def transform_points(points: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points (NaN stays NaN)."""
    return points @ m[:, :2].T + m[:, 2]


def warp(image: np.ndarray, m: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """The crop itself: bilinear, edges replicated so that no black border teaches the model a cue.

    Bilinear taps alone alias when the crop shrinks the picture: a face in a 450-px photo is cut at
    about 0.45x, and its fine detail folds into false edges that no training crop shows (those are
    all cut at 0.75x or more). So a shrinking crop first area-averages the part of the image it reads
    down to its own scale, and the bilinear warp does the rest (the idea of mip-mapping).
    """
    m = np.asarray(m, dtype=np.float64)
    scale = math.sqrt(abs(np.linalg.det(m[:, :2])))
    if scale < 1:
        image, m = _shrunk_source(image, m, size, scale)
    return bilinear_warp(image, m, size)


def bilinear_warp(image: np.ndarray, m: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Four bilinear taps per crop pixel, edges replicated: warp's last step (and the whole crop up to v0.8.0)."""
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _shrunk_source(image: np.ndarray, m: np.ndarray, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The region of image that the crop reads (with a border for the bilinear taps), area-resampled
    by scale, and m re-based onto it; unchanged when the crop lies outside the image."""
    h, w = image.shape[:2]
    corners = transform_points(np.array([[-1, -1], [size, -1], [-1, size], [size, size]], np.float64),
                               invert_matrix(m))
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 1, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 2, [w, h])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return image, m
    sw, sh = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    small = cv2.resize(image[y0:y1, x0:x1], (sw, sh), interpolation=cv2.INTER_AREA)
    rx, ry = (x1 - x0) / sw, (y1 - y0) / sh
    # pixel centres at integers: small's pixel (u, v) is centred at image ((u + 0.5) rx - 0.5 + x0, ...)
    to_image = np.array([[rx, 0, 0.5 * rx - 0.5 + x0], [0, ry, 0.5 * ry - 0.5 + y0], [0, 0, 1]])
    return small, m @ to_image


def crop_face(image: np.ndarray, box: np.ndarray, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Crop a face by its box; returns the crop and the image->crop matrix."""
    center, side = square_from_box(box)
    m = crop_matrix(center, side, size)
    return warp(image, m, size), m
