"""Landmark and pose metrics (NME, failure rate, CED/AUC, pose MAE) as in 300-W and 3DDFA."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .crop import box_from_points
from .landmarks import INTEROCULAR, REGIONS
from .pose import angles_to_rotation

#: |yaw| bins of the protocol: [0, 30], (30, 60], (60, 90] (anything beyond 90 counts in the last).
YAW_BINS: tuple[tuple[str, float, float], ...] = (("yaw_0_30", -1, 30), ("yaw_30_60", 30, 60),
                                                  ("yaw_60_90", 60, np.inf))
#: Records with any |angle| above this have broken poses (a few AFLW2000-3D faces) and are left out of pose MAE.
MAX_VALID_ANGLE = 99.0


def point_errors(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Mean point-to-point error per face over the known ground-truth points; pred/gt (N, 68, 2)."""
    d = np.linalg.norm(pred - gt, axis=-1)
    return np.nanmean(d, axis=1)


def _box_sizes(gt: np.ndarray) -> np.ndarray:
    """sqrt(w*h) of each face's ground-truth landmark box."""
    return np.array([np.sqrt(np.prod(box_from_points(g)[2:])) for g in gt])


def nme_bbox(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-face NME normalised by sqrt(w*h) of the ground-truth landmark box (3DDFA protocol)."""
    return point_errors(pred, gt) / _box_sizes(gt)


def nme_bbox_by_region(pred: np.ndarray, gt: np.ndarray) -> dict[str, np.ndarray]:
    """Per-face NME of each face region's points (landmarks.REGIONS), by the whole landmark box as nme_bbox."""
    sizes = _box_sizes(gt)
    return {name: point_errors(pred[:, list(idx)], gt[:, list(idx)]) / sizes for name, idx in REGIONS.items()}


def jaw_forward_offset(pred: np.ndarray, gt: np.ndarray, yaw: np.ndarray,
                       points: Sequence[int] = REGIONS["jaw"]) -> np.ndarray:
    """Per-face mean offset of the jaw's points (or others) from the true ones along the image's x axis,
    towards the side the face turns to (positive: forward, nearer the nose), by sqrt(w*h) of the landmark
    box. A convention shows here, not in the NME alone: a jaw too shallow, or drawn on the silhouette,
    reads forward on turned faces."""
    idx = list(points)
    return -np.sign(yaw) * (pred[:, idx, 0] - gt[:, idx, 0]).mean(1) / _box_sizes(gt)


def nme_interocular(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-face NME normalised by the outer-eye-corner distance (300-W)."""
    a, b = INTEROCULAR
    return point_errors(pred, gt) / np.linalg.norm(gt[:, a] - gt[:, b], axis=-1)


def ced_auc(errors: np.ndarray, threshold: float = 0.10, steps: int = 1000) -> tuple[float, float]:
    """(failure rate, area under the cumulative error distribution up to threshold, normalised to 1)."""
    xs = np.linspace(0, threshold, steps + 1)
    ced = np.array([(errors <= x).mean() for x in xs])
    return float((errors > threshold).mean()), float(np.trapz(ced, xs) / threshold)


def yaw_bin_masks(yaw: np.ndarray) -> dict[str, np.ndarray]:
    """Each protocol |yaw| bin's name and its faces (boolean mask)."""
    return {name: (np.abs(yaw) > lo) & (np.abs(yaw) <= hi) for name, lo, hi in YAW_BINS}


def yaw_binned(values: np.ndarray, yaw: np.ndarray | None) -> dict[str, float]:
    """Mean per |yaw| bin, the mean of the bins, and the overall mean."""
    out: dict[str, float] = {}
    if yaw is not None and np.isfinite(yaw).all():
        means = []
        for name, sel in yaw_bin_masks(yaw).items():
            m = float(values[sel].mean()) if sel.any() else float("nan")
            out[name] = m
            out[f"n_{name}"] = int(sel.sum())
            means.append(m)
        out["mean_of_bins"] = float(np.nanmean(means))
    out["overall"] = float(values.mean())
    return out


def _angle_differences(pred_deg: np.ndarray, gt_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which faces have a valid true pose, and their signed errors (yaw, pitch, roll) wrapped to [-180, 180)."""
    ok = (np.abs(gt_deg) <= MAX_VALID_ANGLE).all(1)
    return ok, (pred_deg[ok] - gt_deg[ok] + 180) % 360 - 180


def pose_errors(pred_deg: np.ndarray, gt_deg: np.ndarray) -> np.ndarray:
    """Per face, the mean absolute error of the three angles in degrees (pose_mae's `mean` is their mean);
    NaN where the true pose is broken."""
    ok, diff = _angle_differences(pred_deg, gt_deg)
    out = np.full(len(gt_deg), np.nan)
    out[ok] = np.abs(diff).mean(1)
    return out


def paired_bootstrap(a: np.ndarray, b: np.ndarray, yaw: np.ndarray | None, by_bin: bool = True,
                     resamples: int = 2000, seed: int = 0) -> dict[str, Any]:
    """B's figure minus A's from per-face errors on the same faces, with a 95 % interval from resampling the
    faces (within each |yaw| bin, so the bins keep their sizes), the same draw for both models: whether B's
    lead is more than the luck of which faces the set holds. by_bin: the figure is the mean of the bins (the
    NME headline), else the mean over faces (pose MAE). Faces with a NaN in either are left out."""
    keep = np.isfinite(a) & np.isfinite(b)
    if yaw is None or not np.isfinite(yaw).all():
        groups = [np.flatnonzero(keep)]
    else:
        groups = [np.flatnonzero(keep & sel) for sel in yaw_bin_masks(yaw).values()]
    groups = [g for g in groups if len(g)]
    if not groups:
        raise ValueError("paired_bootstrap: no face has an error for both models")
    weights = np.full(len(groups), 1 / len(groups)) if by_bin else np.array([len(g) for g in groups]) / keep.sum()

    def figure(values: np.ndarray) -> float:
        return float(sum(w * values[g].mean() for w, g in zip(weights, groups)))

    rng = np.random.default_rng(seed)
    diff = b - a
    draws = sum(w * diff[g][rng.integers(0, len(g), size=(resamples, len(g)))].mean(1)
                for w, g in zip(weights, groups))
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return {"a": figure(a), "b": figure(b), "difference": figure(diff), "ci95": [float(lo), float(hi)],
            "share_b_lower": float((draws < 0).mean()), "n": int(keep.sum()), "resamples": resamples,
            "figure": "mean_of_bins" if by_bin and len(groups) > 1 else "mean"}


def pose_mae(pred_deg: np.ndarray, gt_deg: np.ndarray) -> dict[str, Any]:
    """Mean absolute error of yaw, pitch, roll in degrees (faces with a broken pose left out), with the
    mean signed error (`bias`: a convention offset shows there, not in the MAE) and the MAE per |yaw| bin,
    of the three angles together and of each."""
    ok, diff = _angle_differences(pred_deg, gt_deg)
    err = np.abs(diff)
    names = ("yaw", "pitch", "roll")
    out: dict[str, Any] = {k: float(err[:, i].mean()) for i, k in enumerate(names)}
    out["mean"] = float(err.mean())
    out["n"] = int(ok.sum())
    out["bias"] = {k: float(diff[:, i].mean()) for i, k in enumerate(names)}
    def by_bin(values: np.ndarray) -> dict[str, float]:
        return {k: v for k, v in yaw_binned(values, gt_deg[ok, 0]).items() if not k.startswith("n_") and k != "overall"}

    out["mean_by_yaw_bin"] = by_bin(err.mean(1))
    # Which angle fails where: profiles' pitch is the one the landmarks (and the AFLW labels) pin worst.
    out["by_yaw_bin"] = {k: by_bin(err[:, i]) for i, k in enumerate(names)}
    # The angle of the rotation between prediction and truth: free of the Euler split, which near
    # profile turns a few degrees of rotation into ten or more of pitch and roll (1 / cos(yaw)).
    geodesic = geodesic_deg(pred_deg[ok], gt_deg[ok])
    out["geodesic"] = {"mean": float(geodesic.mean()), **by_bin(geodesic)}
    return out


def geodesic_deg(pred_deg: np.ndarray, gt_deg: np.ndarray) -> np.ndarray:
    """Per face, the angle in degrees of the rotation taking the predicted pose to the true one."""
    if not len(pred_deg):
        return np.zeros(0)
    rel = np.swapaxes(angles_to_rotation(pred_deg), 1, 2) @ angles_to_rotation(gt_deg)
    cos = (np.trace(rel, axis1=1, axis2=2) - 1) / 2
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
