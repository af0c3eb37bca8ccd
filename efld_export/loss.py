"""The method's loss: rare-sample weighting x pose-error geometry x landmark distance.

    L = mean_n [ (sum_c in C(n) w_c) * (offset + sum_k (1 - cos(theta_nk_pred - theta_nk))) * d_n ]
        + pose_weight * mean_n sum_k (1 - cos(theta_nk_pred - theta_nk))

w_c = 1 / frequency of class c over the whole training set (normalised so the average sample
weight is 1). Three faults of public re-implementations are avoided: every sample belongs to
at least one class ("regular" when it has no rare attribute), so its weight is never zero;
angles are radians inside cos; frequencies come from the whole training set, not the batch.
`offset` (default 1) keeps the landmark term alive once the pose head is exact: with the
literal formula (offset 0) the landmark loss vanishes as pose error goes to zero. `pose_kind`
"chord" swaps the second term's 1 - cos for 2 sin(|error| / 2) (`angle_term`); the weighting keeps 1 - cos.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .errors import ConfigError
from .metrics import YAW_BINS

#: Attribute classes and their rules on (yaw, pitch, roll) in degrees and visibility.
CLASSES: tuple[str, ...] = ("regular", "large_yaw", "large_pitch", "large_roll", "occluded")
LARGE_YAW_DEG, LARGE_PITCH_DEG, LARGE_ROLL_DEG = 45.0, 25.0, 25.0


def attributes(pose_deg: np.ndarray | None, occluded: bool) -> np.ndarray:
    """Boolean membership of one sample in CLASSES ("regular" when no rare attribute holds)."""
    a = np.zeros(len(CLASSES), bool)
    if pose_deg is not None and np.isfinite(pose_deg).all():
        yaw, pitch, roll = np.abs(pose_deg)
        a[1], a[2], a[3] = yaw >= LARGE_YAW_DEG, pitch >= LARGE_PITCH_DEG, roll >= LARGE_ROLL_DEG
    a[4] = occluded
    a[0] = not a[1:].any()
    return a


def class_weights(attrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """w_c = 1/frequency over the whole training set; returns (w_c, frequencies).

    Normalised so that the mean per-sample weight over the set is 1 (keeps the learning rate
    meaningful); a class that never occurs gets weight 0 (it can never be summed anyway).
    """
    freq = attrs.mean(0)
    w = np.where(freq > 0, 1.0 / np.maximum(freq, 1e-12), 0.0)
    per_sample = (attrs * w).sum(1)
    return w / per_sample.mean(), freq


def sample_weights(attrs: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-sample weight: the sum of the class weights of the classes it belongs to."""
    return (attrs * w).sum(1)


def yaw_bin_weights(yaw_deg: np.ndarray, power: float) -> tuple[np.ndarray, dict[str, float]]:
    """Per-sample factor (1 / frequency of its |yaw| bin) ** power, mean 1; and the factor per bin.

    The protocol averages NME over the |yaw| bins of metrics.YAW_BINS, so a profile counts about four
    times a frontal face there; the rare-sample classes do not see it, since most profiles are also
    "occluded", the commonest class. power 1 gives each bin the same total weight; 0 changes nothing.
    Faces without a yaw keep factor 1 before the normalisation.
    """
    yaw = np.abs(np.asarray(yaw_deg, dtype=np.float64))
    factor, per_bin = np.ones(len(yaw)), {}
    for name, lo, hi in YAW_BINS:
        inside = (yaw > lo) & (yaw <= hi)
        if inside.any():
            factor[inside] = inside.mean() ** -power
            per_bin[name] = float(factor[inside][0])
    scale = factor.mean()
    return factor / scale, {k: v / scale for k, v in per_bin.items()}


@dataclass
class LossConfig:
    kind: str = "l2"  # "l2" (the method's) or "wing"
    offset: float = 1.0
    pose_weight: float = 1.0
    pose_kind: str = "cos"  # the pose regression term: "cos" (the method's 1 - cos) or "chord" (MAE-like)
    wing_w: float = 10.0 / 112  # in crop units: 10 px of a 112 crop
    wing_eps: float = 2.0

    def __post_init__(self) -> None:
        if self.kind not in ("l2", "wing"):
            raise ConfigError(f"loss.kind must be 'l2' or 'wing', got {self.kind!r}")
        if self.pose_kind not in ("cos", "chord"):
            raise ConfigError(f"loss.pose_kind must be 'cos' or 'chord', got {self.pose_kind!r}")


def landmark_distance(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, cfg: LossConfig) -> torch.Tensor:
    """Per-sample distance over known points. pred/target (N, 68, 2), mask (N, 68)."""
    diff = torch.where(mask[..., None], pred - target, torch.zeros_like(pred))
    if cfg.kind == "l2":
        per_point = (diff ** 2).sum(-1)
    else:  # "wing" (LossConfig admits no other)
        x = diff.norm(dim=-1)
        w, e = cfg.wing_w, cfg.wing_eps / 112
        c = w - w * math.log(1 + w / e)
        per_point = torch.where(x < w, w * torch.log1p(x / e), x - c)
    # Sum over the 68 points as in PFLD (rescaled when some are unknown), so that the
    # landmark term is not dwarfed by the pose term in the shared backbone.
    return (per_point * mask).sum(1) * (mask.shape[1] / mask.sum(1).clamp(min=1))


def angle_term(pred: torch.Tensor, target: torch.Tensor, known: torch.Tensor, kind: str = "cos") -> torch.Tensor:
    """sum_k (1 - cos(error_k)) per sample, radians; unknown angles contribute 0.

    kind "chord": sum_k 2 sin(|error_k| / 2), the chord between the two angles on the unit circle,
    periodic like 1 - cos but about |error| rather than error^2 / 2, so it fits the conditional median,
    which minimises the mean absolute error we report, where 1 - cos fits the mean: at profiles, where
    the split of a rotation into pitch and roll is ill-conditioned, the errors are heavy-tailed. Measured
    level with 1 - cos on v0.9.1's pose head (benchmarks/README.md, "The pose term's shape").
    """
    error = pred - torch.nan_to_num(target)
    if kind == "cos":
        return ((1 - torch.cos(error)) * known).sum(1)
    if kind == "chord":
        return (2 * torch.abs(torch.sin(error / 2)) * known).sum(1)
    raise ValueError(f"unknown pose_kind {kind!r}; use 'cos' or 'chord'")


def efld_loss(pred_pts: torch.Tensor, pts: torch.Tensor, mask: torch.Tensor, pred_pose: torch.Tensor,
              pose: torch.Tensor, weight: torch.Tensor, cfg: LossConfig,
              teacher: tuple[torch.Tensor, torch.Tensor] | None = None, alpha: float = 0.0,
              teacher_points: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The total loss and its parts. Poses in radians (NaN = unknown); weight (N,) from sample_weights.

    With a teacher's (points (N, 68, 2), pose (N, 3)) (distill.py), the landmark distance and the pose
    term are (1 - alpha) x against the labels + alpha x against the teacher; the rare-sample and pose
    geometry weights stay the labels'. teacher_points (68,) bool: the points where the teacher is a
    target (default all); elsewhere its term takes the labels instead, so those points keep full weight.
    """
    known = ~torch.isnan(pose)
    geo = angle_term(pred_pose, pose, known)
    dist = landmark_distance(pred_pts, pts, mask, cfg)
    pose_loss = (geo if cfg.pose_kind == "cos" else angle_term(pred_pose, pose, known, cfg.pose_kind)).mean()
    if teacher is not None:
        t_pts, t_pose = teacher
        t_mask = torch.ones_like(mask)
        if teacher_points is not None:
            t_pts = torch.where(teacher_points[None, :, None], t_pts, pts)
            t_mask = teacher_points.expand_as(mask) | mask
        dist = (1 - alpha) * dist + alpha * landmark_distance(pred_pts, t_pts, t_mask, cfg)
        pose_loss = (1 - alpha) * pose_loss + alpha * angle_term(pred_pose, t_pose, torch.ones_like(known),
                                                                 cfg.pose_kind).mean()
    lm = (weight * (cfg.offset + geo) * dist).mean()
    total = lm + cfg.pose_weight * pose_loss
    return total, {"landmark": float(lm.detach()), "pose": float(pose_loss.detach())}
