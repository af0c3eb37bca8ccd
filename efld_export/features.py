"""The method's geometric face features on the 5-point subset.

Distances d(i, j) between the five points (outer eye corners, nose tip, mouth corners),
the eye-distance / nose-to-mouth-centre ratio, and general ratios r(ij, kl) = d(ij) / d(kl),
which are scale invariant (and invariant to rotation and translation in the image plane).
"""
from __future__ import annotations

from itertools import combinations

import numpy as np

from .errors import EFLDError
from .landmarks import FIVE_POINT_NAMES, FIVE_POINTS, NUM_POINTS

Pair = tuple[str, str]


def five_points(points68: np.ndarray) -> dict[str, np.ndarray]:
    """Map 68 points to the named 5-point subset."""
    pts = np.asarray(points68, dtype=np.float64)
    if pts.shape != (NUM_POINTS, 2):
        raise EFLDError(f"expected {NUM_POINTS}x2 landmarks, got shape {pts.shape}")
    return {name: pts[i] for name, i in zip(FIVE_POINT_NAMES, FIVE_POINTS)}


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance d = sqrt((x1-x2)^2 + (y1-y2)^2)."""
    return float(np.hypot(*(np.asarray(a) - np.asarray(b))))


def pairwise_distances(points68: np.ndarray) -> dict[str, float]:
    """All 10 distances between the five points, keyed 'a-b'."""
    p = five_points(points68)
    return {f"{a}-{b}": distance(p[a], p[b]) for a, b in combinations(FIVE_POINT_NAMES, 2)}


def ratio(points68: np.ndarray, num: Pair, den: Pair) -> float:
    """r(ij, kl) = d(i, j) / d(k, l) for named points of the 5-point subset (or 'mouth_centre')."""
    p = five_points(points68)
    p["mouth_centre"] = (p["mouth_right"] + p["mouth_left"]) / 2
    for name in (*num, *den):
        if name not in p:
            raise EFLDError(f"unknown point {name!r}; choose from {sorted(p)}")
    d_den = distance(p[den[0]], p[den[1]])
    if d_den == 0:
        raise EFLDError(f"zero distance between {den[0]} and {den[1]}")
    return distance(p[num[0]], p[num[1]]) / d_den


EYE_PAIR: Pair = ("right_eye_outer", "left_eye_outer")
NOSE_MOUTH_PAIR: Pair = ("nose_tip", "mouth_centre")


def features(points68: np.ndarray, ratios: list[tuple[Pair, Pair]] | None = None) -> dict[str, float]:
    """Distances, the eye / nose-to-mouth-centre ratio and any requested ratios r(ij, kl)."""
    out: dict[str, float] = {f"d:{k}": v for k, v in pairwise_distances(points68).items()}
    out["eye_over_nose_mouth"] = ratio(points68, EYE_PAIR, NOSE_MOUTH_PAIR)
    for num, den in ratios or []:
        out[f"r:{num[0]}-{num[1]}/{den[0]}-{den[1]}"] = ratio(points68, num, den)
    return out


def parse_ratio(text: str) -> tuple[Pair, Pair]:
    """'a-b/c-d' -> ((a, b), (c, d))."""
    try:
        num, den = text.split("/")
        a, b = num.split("-")
        c, d = den.split("-")
    except ValueError:
        raise EFLDError(f"ratio {text!r} must look like 'nose_tip-mouth_left/right_eye_outer-left_eye_outer'") from None
    return (a.strip(), b.strip()), (c.strip(), d.strip())
