"""68-point labels for faces that carry only AFLW's 21 human points.

The base labeller is a rigid fit of the 3D mean face to the visible human points
(cv2.solvePnP), projecting all 68 points. Faces whose fit disagrees with their own
human points by more than `max_fit_error` (fraction of the face size) are dropped
and counted. Invisible human points (NaN) are never used as evidence.

With a teacher (a 2D landmarker such as MediaPipe's face mesh), its points are moved by the
similarity that best maps them onto the visible human points, and mixed with the rigid fit by
|yaw| (TEACHER_MIX): the teacher knows expressions on near-frontal faces, the 3D fit knows the
3D-consistent markup of profiles. Measured on aflw2000-3d-val's own 21 points:
benchmarks/results/label_quality.json.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from tqdm import tqdm

from .data.record import Record
from .landmarks import AFLW21_TO_68
from .pose import fit_rigid, project, rotation_to_angles

#: AFLW points used for fitting: every one with a 68-point counterpart (ear lobes have none).
FIT_POINTS = tuple(i for i, idx in enumerate(AFLW21_TO_68) if idx is not None)


def mean_face_21(mean_face: np.ndarray) -> np.ndarray:
    """3D positions of the 21 AFLW points on the 68-point mean face (NaN for the ear lobes)."""
    out = np.full((21, 3), np.nan)
    for i, idx in enumerate(AFLW21_TO_68):
        if idx is not None:
            out[i] = mean_face[list(idx)].mean(0) if isinstance(idx, tuple) else mean_face[idx]
    return out


@dataclass
class Label:
    """A labelled face: 68 points in pixels, (yaw, pitch, roll) degrees, fit error (fraction of face size)."""

    points: np.ndarray
    pose: np.ndarray
    fit_error: float


def label_from_21(points21: np.ndarray, mean_face: np.ndarray, width: float, height: float,
                  yaw_deg: float | None = None) -> Label | None:
    """Rigidly fit the mean face to the visible 21 points; None if fewer than 4 are visible."""
    p2 = points21.copy()
    p3 = mean_face_21(mean_face)
    use = np.zeros(21, bool)
    use[list(FIT_POINTS)] = True
    p2[~use] = np.nan
    try:
        rvec, tvec = fit_rigid(p2, p3, width, height)
    except ValueError:
        return None
    pts68 = project(mean_face, rvec, tvec, width, height)
    fitted21 = project(np.nan_to_num(p3), rvec, tvec, width, height)
    known = ~np.isnan(p2).any(1)
    size = np.sqrt(np.prod(pts68.max(0) - pts68.min(0)))
    err = float(np.linalg.norm(fitted21[known] - p2[known], axis=1).mean() / max(size, 1e-6))
    pose = rotation_to_angles(rvec)
    if yaw_deg is not None and np.isfinite(yaw_deg):
        pose[0] = yaw_deg
    return Label(pts68, pose, err)


class Teacher(Protocol):
    """Anything with the runtime's predict_batch: [(image, box)] -> predictions with .points (68, 2)."""

    def predict_batch(self, faces: list[tuple[np.ndarray, np.ndarray]]) -> list: ...


#: Weight of the human-corrected teacher against the rigid fit, by |yaw| from the AFLW file:
#: (upper |yaw| bound in degrees, teacher weight). Chosen by label error on aflw2000-3d-val's
#: 21 points (benchmarks/label_quality.py): teacher alone to 30, half-half to 60, rigid beyond.
TEACHER_MIX: tuple[tuple[float, float], ...] = ((30.0, 1.0), (60.0, 0.5), (float("inf"), 0.0))


def teacher_weight(yaw_deg: float) -> float:
    return next(w for bound, w in TEACHER_MIX if abs(yaw_deg) <= bound)


def label_records(records: list[Record], mean_face: np.ndarray, max_fit_error: float = 0.08,
                  progress: bool = True, teacher: Teacher | None = None) -> tuple[list[tuple[Record, Label]], dict]:
    """Label every record holding extra['points21']; returns kept (record, label) pairs and a report."""
    kept: list[tuple[Record, Label]] = []
    dropped = {"too_few_points": 0, "fit_error": 0}
    for rec in tqdm(records, desc="labelling", unit="face", disable=not progress):
        h, w = rec.extra["image"].shape[:2]
        lab = label_from_21(rec.extra["points21"], mean_face, w, h, rec.extra.get("yaw_deg"))
        if lab is None:
            dropped["too_few_points"] += 1
        elif lab.fit_error > max_fit_error:
            dropped["fit_error"] += 1
        else:
            kept.append((rec, lab))
    report = {"n_input": len(records), "n_kept": len(kept), "dropped": dropped, "max_fit_error": max_fit_error,
              "method": "rigid mean-face PnP fit to visible AFLW-21 points"}
    if teacher is not None:
        _mix_teacher(kept, teacher, progress)
        report["method"] += f"; teacher corrected by the human points, mixed by |yaw| {list(TEACHER_MIX)}"
    return kept, report


def _mix_teacher(kept: list[tuple[Record, Label]], teacher: Teacher, progress: bool, chunk: int = 256) -> None:
    """Replace each rigid label by its |yaw|-weighted mix with the human-corrected teacher."""
    from .crop import box_from_points

    for i in tqdm(range(0, len(kept), chunk), desc="teacher", unit="batch", disable=not progress):
        part = kept[i:i + chunk]
        preds = teacher.predict_batch([(rec.extra["image"], box_from_points(lab.points)) for rec, lab in part])
        for (rec, lab), pred in zip(part, preds):
            w = teacher_weight(rec.extra.get("yaw_deg", lab.pose[0]))
            if w > 0:
                refined = refine_with_human_points(pred.points, rec.extra["points21"])
                lab.points = w * refined + (1 - w) * lab.points


def refine_with_human_points(points68: np.ndarray, points21: np.ndarray) -> np.ndarray:
    """Move a model's 68 points by the similarity that best maps its implied AFLW points onto the
    visible human ones (the model gives the shape, the human points its place, size and angle)."""
    import cv2

    from .landmarks import aflw21_from_68

    implied = aflw21_from_68(points68)
    use = ~np.isnan(points21).any(1) & ~np.isnan(implied).any(1)
    if use.sum() < 3:
        return points68
    m, _ = cv2.estimateAffinePartial2D(implied[use], points21[use], method=cv2.RANSAC, ransacReprojThreshold=1e6)
    if m is None:
        return points68
    return points68 @ m[:, :2].T + m[:, 2]
