"""Temporal smoothing for video: the One-Euro filter (Casiez, Roussel and Vogel, CHI 2012).

Per-frame landmarks of a PFLD-style model jitter by a pixel or two on a still face. A fixed
low-pass would remove the jitter but lag behind real motion; the One-Euro filter lowers its
cutoff when the signal is still (strong smoothing) and raises it with speed (little lag).
Speeds are divided by a scale (the face size for points), so one setting serves faces of
any size. Tuned and measured by benchmarks/jitter.py (benchmarks/results/jitter.json).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .crop import box_from_points
from .detect import box_iou
from .predict import Face

#: One-Euro settings. Points: cutoff (Hz) at rest and its growth per face-size/s of the face's speed;
#: pose: per degree/s of each angle's speed. Chosen with benchmarks/jitter.py on the shipped model
#: (results/jitter.json): a still face under sensor noise jitters 1.26 -> 0.54 % of the face size
#: (points) and 1.56 -> 0.68 degrees (pose); on a face moving 1 or 3 px/frame the error from the ideal
#: track falls too (2.43 -> 2.18, 2.60 -> 2.44 %): the filter does not lag enough to cost accuracy.
POINT_FILTER = {"min_cutoff": 1.0, "beta": 10.0, "common": True}
POSE_FILTER = {"min_cutoff": 0.5, "beta": 0.05}


def _alpha(dt: float, cutoff: np.ndarray | float) -> np.ndarray:
    """Smoothing factor of an exponential filter with this cutoff frequency at this sample interval."""
    tau = 1.0 / (2 * np.pi * np.asarray(cutoff))
    return 1.0 / (1.0 + tau / dt)


@dataclass
class OneEuroFilter:
    """One-Euro filter on an array of any shape, each element filtered.

    common=False: each element's cutoff follows its own speed. common=True: all follow one speed, that
    of the mean over the first axis (for points: the face's motion), which sensor noise on single
    points hardly raises, so a still face stays smoothed while a moving one is followed.
    """

    min_cutoff: float = 1.0
    beta: float = 0.0
    d_cutoff: float = 1.0
    common: bool = False

    def __post_init__(self) -> None:
        self.x: np.ndarray | None = None
        self.dx: np.ndarray | None = None
        self.t = 0.0

    def __call__(self, x: np.ndarray, t: float, scale: float = 1.0) -> np.ndarray:
        """Filtered value of sample x at time t (seconds); speeds are measured in units of scale per second.

        The first sample, or one whose time does not increase, starts the filter afresh.
        """
        x = np.asarray(x, dtype=np.float64)
        if self.x is None or t <= self.t:
            self.x, self.dx, self.t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self.t
        self.dx = self.dx + _alpha(dt, self.d_cutoff) * ((x - self.x) / dt - self.dx)
        speed = np.linalg.norm(self.dx.mean(0)) if self.common else np.abs(self.dx)
        cutoff = self.min_cutoff + self.beta * speed / scale
        self.x = self.x + _alpha(dt, cutoff) * (x - self.x)
        self.t = t
        return self.x.copy()


@dataclass
class _Track:
    box: np.ndarray
    t: float
    points: OneEuroFilter
    pose: OneEuroFilter


class FaceTracks:
    """Faces across video frames: each face continues the track whose last box it overlaps most, and its
    points (speed in face sizes per second) and pose are One-Euro filtered along that track."""

    def __init__(self, min_iou: float = 0.3, max_gap_s: float = 0.5):
        self.min_iou = min_iou
        self.max_gap_s = max_gap_s
        self.tracks: dict[int, _Track] = {}
        self.next_id = 0

    def update(self, faces: list[Face], t: float) -> list[tuple[int, Face]]:
        """Smoothed faces of the frame at time t (seconds), each with its track id."""
        self.tracks = {k: v for k, v in self.tracks.items() if t - v.t <= self.max_gap_s}
        free = dict(self.tracks)
        out = []
        for face in sorted(faces, key=lambda f: -f.confidence):
            ious = {k: box_iou(face.box, tr.box) for k, tr in free.items()}
            key = max(ious, key=ious.get, default=None)
            if key is None or ious[key] < self.min_iou:
                key, self.next_id = self.next_id, self.next_id + 1
                self.tracks[key] = _Track(face.box, t, OneEuroFilter(**POINT_FILTER), OneEuroFilter(**POSE_FILTER))
            track = free.pop(key, None) or self.tracks[key]
            size = float(np.sqrt(np.prod(face.box[2:])))
            points = track.points(face.points, t, scale=max(size, 1e-6))
            pose = None if face.pose is None else track.pose(face.pose, t)
            smooth = Face.from_points(points, pose, face.confidence, face.detector_score)
            track.box, track.t = smooth.box, t
            out.append((key, smooth))
        return out


def jitter(points: np.ndarray) -> float:
    """Jitter of a still face's points over frames (T, 68, 2): RMS distance of each point from its mean
    position, in % of the face size sqrt(w*h) of the mean points' box (the NME's normalisation)."""
    mean = points.mean(0)
    w, h = box_from_points(mean)[2:]
    return float(np.sqrt(((points - mean) ** 2).sum(-1).mean()) / np.sqrt(w * h) * 100)
