"""A 3D face shape model for labelling: a mean shape with PCA modes, and its perspective fit to 2D points.

Why: AFLW's 21 human points fix a face's pose and place but not the 68-point shape; a rigid mean face
misses identity and expression, and on turned faces its depth decides where the jawline projects.
The model is learnt from a 3D teacher (MediaPipe's face mesh, whose predicted vertices carry depth)
on the training pool's near-frontal faces:

- mean: x, y of the 68-point mean face (the frontal 2D convention), z (depth) from the teacher's
  aligned mean, since the generic mean face is too shallow for the 3D-consistent jawline of profiles;
  optionally the jaw's depth from the 3DMM mean shape instead (label.py's JAW_DEPTHS): the teacher's
  jaw is still 20-25 mm shallower than the 3DMM's, whose projected vertices define AFLW2000-3D's
  3D-consistent jawline, so on turned faces it put the jawline too near the nose;
- modes: the principal components of the teacher's aligned shapes (identity and expression);
- the 21 AFLW points sit on the shape through the 21-to-68 correspondence; the ear lobes, which have
  none, sit 8 mm inside, 10 mm below and 25 mm behind jaw points 2 and 14 (the data README's rough guide, moved to
  the lobe). Triangulating them from the pool's fitted faces instead put them 93 mm out and made the
  labels worse on aflw2000-3d-val (5.65 mean of bins; a development run, code not kept), so the guide
  is kept.

Fitting minimises the weighted reprojection error (in face-size units, sigma = 3% of the face)
plus a Gaussian prior on the mode coefficients, with scipy's Levenberg-Marquardt.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import least_squares

from .landmarks import AFLW21_MATRIX, AFLW21_NO_COUNTERPART, GROUPS, NUM_POINTS
from .pose import fit_rigid, project

#: AFLW ear lobes (indices into the 21 points): no 68-point counterpart, placed by hand on the shape.
EAR_LOBES = AFLW21_NO_COUNTERPART
#: The jaw's points, and the inner points (brows, nose, eyes, mouth) that align another face's jaw.
JAW, INNER = slice(0, GROUPS["jaw"].stop), slice(GROUPS["jaw"].stop, NUM_POINTS)
#: Reprojection noise the prior is weighed against, as a fraction of the face size.
POINT_SIGMA = 0.03


def similarity_3d(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama: scale s, rotation R, translation t minimising |s R src + t - dst|^2."""
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    u, d, vt = np.linalg.svd(b.T @ a)
    fix = np.eye(3)
    fix[2, 2] = np.sign(np.linalg.det(u @ vt))
    r = u @ fix @ vt
    s = float((d * np.diag(fix)).sum() / (a ** 2).sum())
    return s, r, md - s * r @ ms


def _align(shapes: np.ndarray, target: np.ndarray) -> np.ndarray:
    out = []
    for x in shapes:
        s, r, t = similarity_3d(x, target)
        out.append(s * x @ r.T + t)
    return np.stack(out)


@dataclass
class FaceFit:
    """A fitted face: pose (Rodrigues rvec, tvec in mm), mode coefficients, its 68 and 21 points in pixels."""

    rvec: np.ndarray
    tvec: np.ndarray
    coefs: np.ndarray
    points68: np.ndarray
    points21: np.ndarray


@dataclass
class FaceModel3D:
    mean: np.ndarray  # (68, 3) mm
    modes: np.ndarray  # (k, 68, 3), unit vectors
    std: np.ndarray  # (k,) mm, the modes' standard deviations
    aflw21: np.ndarray  # (21, 3) mean positions of the AFLW points

    @classmethod
    def from_teacher(cls, shapes: np.ndarray, mean_face: np.ndarray, k: int = 10, iters: int = 3,
                     jaw_face: np.ndarray | None = None) -> "FaceModel3D":
        """Learn from teacher 3D shapes (N, 68, 3; x right, y down, z away) of near-frontal faces.

        jaw_face: a 68x3 face (the 3DMM's mean shape) whose jaw depth replaces the teacher's; aligned to
        the mean on the inner points first. The ear lobes stay where the teacher's depth put them."""
        mean = mean_face.astype(np.float64).copy()
        for _ in range(iters):  # generalised Procrustes, anchored to the mean face's frame and scale
            new = _align(shapes, mean).mean(0)
            s, r, t = similarity_3d(new, mean_face)
            mean = s * new @ r.T + t
        aligned = _align(shapes, mean)
        d = (aligned - mean).reshape(len(aligned), -1)
        _, sv, vt = np.linalg.svd(d - d.mean(0), full_matrices=False)
        hybrid = mean_face.astype(np.float64).copy()
        hybrid[:, 2] = mean[:, 2]
        ears = hybrid[[2, 14]] + [[8.0, 10.0, 25.0], [-8.0, 10.0, 25.0]]
        if jaw_face is not None:
            s, r, t = similarity_3d(jaw_face[INNER], hybrid[INNER])
            hybrid[JAW, 2] = (s * jaw_face @ r.T + t)[JAW, 2]
        aflw21 = AFLW21_MATRIX @ hybrid
        aflw21[list(EAR_LOBES)] = ears
        return cls(hybrid, vt[:k].reshape(k, NUM_POINTS, 3), sv[:k] / np.sqrt(len(aligned)), aflw21)

    def with_jaw_offset(self, offset_mm: np.ndarray) -> "FaceModel3D":
        """The same model with its mean jaw moved by offset_mm (17 x 2: x, y in mm); the chin's AFLW point
        follows the jaw, the ear lobes stay on the head (label.py's JAW_OFFSETS)."""
        mean = self.mean.copy()
        mean[JAW, :2] += offset_mm
        aflw21 = AFLW21_MATRIX @ mean
        aflw21[list(EAR_LOBES)] = self.aflw21[list(EAR_LOBES)]
        return FaceModel3D(mean, self.modes, self.std, aflw21)

    def shape68(self, coefs: np.ndarray) -> np.ndarray:
        return self.mean + np.tensordot(coefs, self.modes, 1)

    def shape21(self, coefs: np.ndarray) -> np.ndarray:
        return self.aflw21 + np.tensordot(coefs, self.modes_21, 1)

    @cached_property
    def modes_21(self) -> np.ndarray:
        """The modes at the AFLW points; cached, since every fit uses them."""
        m = np.einsum("ij,kjd->kid", AFLW21_MATRIX, self.modes)
        m[:, list(EAR_LOBES)] = 0.0  # ear lobes: rigid offsets from the head
        return m

    def fit(self, points21: np.ndarray, width: float, height: float, teacher68: np.ndarray | None = None,
            teacher_weight: float | np.ndarray = 0.0, prior: float = 3.0, focal: float | None = None) -> FaceFit:
        """Fit to the visible human points (NaN = not visible; never used) and, weighted, a teacher's 68 points.

        focal: the camera's focal length in pixels (default the image width), see label.py's LABEL_FOCAL."""
        obs = [points21]
        tmpl = [self.aflw21]
        basis = [self.modes_21]
        wts = [np.ones(21)]
        if teacher68 is not None and np.any(np.asarray(teacher_weight) > 0):
            obs.append(teacher68)
            tmpl.append(self.mean)
            basis.append(self.modes)
            wts.append(np.broadcast_to(np.asarray(teacher_weight, dtype=np.float64), (NUM_POINTS,)))
        o, t, b, w = np.concatenate(obs), np.concatenate(tmpl), np.concatenate(basis, 1), np.concatenate(wts)
        known = ~np.isnan(o).any(1)
        if known[:21].sum() < 4:
            raise ValueError(f"need at least 4 visible human points, got {int(known[:21].sum())}")
        rvec, tvec = fit_rigid(np.where(known[:21, None], points21, np.nan), self.aflw21, width, height, focal)
        o, t, b, sw = o[known], t[known], b[:, known], np.sqrt(w[known])[:, None]
        size = float(np.sqrt(np.prod(np.ptp(o[: known[:21].sum()], 0)))) + 1e-6
        k = len(self.std)

        def residuals(p: np.ndarray) -> np.ndarray:
            x = t + np.tensordot(p[6:], b, 1)
            r = (project(x, p[:3], p[3:6], width, height, focal) - o) * sw / (size * POINT_SIGMA)
            return np.concatenate([r.ravel(), np.sqrt(prior) * p[6:] / self.std])

        p0 = np.concatenate([np.ravel(rvec), np.ravel(tvec), np.zeros(k)])
        p = least_squares(residuals, p0, method="lm", max_nfev=200).x
        c = p[6:]
        return FaceFit(p[:3], p[3:6], c, project(self.shape68(c), p[:3], p[3:6], width, height, focal),
                       project(self.shape21(c), p[:3], p[3:6], width, height, focal))
