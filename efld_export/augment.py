"""Training augmentation in crop space: the method's rotation, flip (with the 68-point mirror
permutation), occlusion, scale/shift jitter, colour and blur. One warp per sample."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .crop import INPUT_SIZE, crop_matrix, square_from_box, transform_points, warp
from .landmarks import flip_points


@dataclass
class AugmentConfig:
    """Probabilities and ranges; the defaults are the CPU recipe's."""

    rotate_deg: float = 30.0
    rotate_p: float = 0.6
    scale: float = 0.1
    shift: float = 0.08
    # A share of crops framed with a detector's slack (wide_shift, wide_scale) when shift and scale are set
    # narrow, as the landmark box frames them: a mixture of the two framings (benchmarks/README.md, "Framing
    # jitter"). 0 draws nothing, so recipes without it keep their random streams.
    wide_p: float = 0.0
    wide_shift: float = 0.08
    wide_scale: float = 0.1
    flip_p: float = 0.5
    occlude_p: float = 0.3
    occlude_max: float = 0.4
    colour_p: float = 0.8
    gray_p: float = 0.1
    blur_p: float = 0.2


def augment(image: np.ndarray, points: np.ndarray, box: np.ndarray, rng: np.random.Generator,
            cfg: AugmentConfig | None, size: int = INPUT_SIZE) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Crop (and, with cfg, augment) one face.

    Returns the crop, the points in crop pixels, the in-plane rotation applied (degrees,
    counter-clockwise) and whether it was mirrored, so that the caller can update the pose.
    """
    center, side = square_from_box(box)
    angle = 0.0
    flipped = False
    if cfg is not None:
        wide = cfg.wide_p > 0 and rng.random() < cfg.wide_p
        shift, scale = (cfg.wide_shift, cfg.wide_scale) if wide else (cfg.shift, cfg.scale)
        center = center + rng.uniform(-shift, shift, 2) * side
        side *= float(np.exp(rng.uniform(-scale, scale)))
        if rng.random() < cfg.rotate_p:
            angle = float(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    m = crop_matrix(center, side, size, angle)
    crop = warp(image, m, size)
    pts = transform_points(points, m)
    if cfg is None:
        return crop, pts, 0.0, False
    if rng.random() < cfg.flip_p:
        crop = np.ascontiguousarray(crop[:, ::-1])
        pts = flip_points(pts, size)
        flipped = True
    if rng.random() < cfg.occlude_p:
        crop = _occlude(crop, rng, cfg.occlude_max)
    if rng.random() < cfg.colour_p:
        crop = _colour(crop, rng)
    if rng.random() < cfg.gray_p:
        crop = np.repeat(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    if rng.random() < cfg.blur_p:
        k = int(rng.choice([3, 5]))
        crop = cv2.GaussianBlur(crop, (k, k), 0)
    return crop, pts, angle, flipped


def _occlude(crop: np.ndarray, rng: np.random.Generator, max_frac: float) -> np.ndarray:
    """A random rectangle of noise or flat colour (a hand, a mask, a microphone)."""
    h, w = crop.shape[:2]
    ph = int(rng.uniform(0.1, max_frac) * h)
    pw = int(rng.uniform(0.1, max_frac) * w)
    y, x = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
    out = crop.copy()
    if rng.random() < 0.5:
        out[y:y + ph, x:x + pw] = rng.integers(0, 256, (ph, pw, 3), dtype=np.uint8)
    else:
        out[y:y + ph, x:x + pw] = rng.integers(0, 256, 3, dtype=np.uint8)
    return out


def _colour(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation jitter."""
    img = crop.astype(np.float32)
    img = img * rng.uniform(0.6, 1.4) + rng.uniform(-30, 30)
    mean = img.mean()
    img = (img - mean) * rng.uniform(0.7, 1.3) + mean
    gray = img.mean(axis=2, keepdims=True)
    img = (img - gray) * rng.uniform(0.5, 1.5) + gray
    return np.clip(img, 0, 255).astype(np.uint8)
