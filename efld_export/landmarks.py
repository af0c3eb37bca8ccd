"""The 68-point iBUG/300-W conventions, in one place.

Every other module takes indices from here, so the flip permutation, the
5-point subset and the normalisation points cannot drift apart.
"""
from __future__ import annotations

import numpy as np

NUM_POINTS = 68

#: Named groups of the 68-point markup (0-based). "Right" is the subject's right.
GROUPS: dict[str, range] = {
    "jaw": range(0, 17),
    "right_brow": range(17, 22),
    "left_brow": range(22, 27),
    "nose_bridge": range(27, 31),
    "nostrils": range(31, 36),
    "right_eye": range(36, 42),
    "left_eye": range(42, 48),
    "outer_mouth": range(48, 60),
    "inner_mouth": range(60, 68),
}

#: Coarser regions for error reports (metrics.nme_bbox_by_region): where on the face the error is.
REGIONS: dict[str, range] = {"jaw": range(0, 17), "brows": range(17, 27), "nose": range(27, 36),
                             "eyes": range(36, 48), "mouth": range(48, 68)}

#: Index i of a horizontally flipped face takes the point FLIP_PERM[i] of the original.
FLIP_PERM: np.ndarray = np.array(
    list(range(16, -1, -1))  # jaw
    + list(range(26, 21, -1)) + list(range(21, 16, -1))  # brows swap
    + [27, 28, 29, 30]  # nose bridge
    + [35, 34, 33, 32, 31]  # nostrils
    + [45, 44, 43, 42, 47, 46]  # right eye <- left eye
    + [39, 38, 37, 36, 41, 40]  # left eye <- right eye
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55]  # outer mouth
    + [64, 63, 62, 61, 60, 67, 66, 65],  # inner mouth
    dtype=np.int64,
)

RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 36, 45
NOSE_TIP = 30
MOUTH_RIGHT, MOUTH_LEFT = 48, 54

#: The method's 5-point subset: outer eye corners, nose tip, mouth corners.
FIVE_POINTS: tuple[int, ...] = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER, NOSE_TIP, MOUTH_RIGHT, MOUTH_LEFT)
FIVE_POINT_NAMES: tuple[str, ...] = ("right_eye_outer", "left_eye_outer", "nose_tip", "mouth_right", "mouth_left")

#: Inter-ocular normalisation (outer eye corners), as in 300-W.
INTEROCULAR: tuple[int, int] = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER)

#: Standard WFLW-98 to 68 mapping: WFLW98_TO_68[i] is the WFLW index of 68-point i.
WFLW98_TO_68: np.ndarray = np.array(
    list(range(0, 33, 2))
    + [33, 34, 35, 36, 37, 42, 43, 44, 45, 46]
    + list(range(51, 60))
    + [60, 61, 63, 64, 65, 67, 68, 69, 71, 72, 73, 75]
    + list(range(76, 96)),
    dtype=np.int64,
)

#: AFLW's 21 human points and their 68-point counterparts (a tuple = mean of those points,
#: None = no counterpart: the ear lobes). Source: ../shared/data/README.md.
AFLW21_NAMES: tuple[str, ...] = (
    "right_brow_outer", "right_brow_centre", "right_brow_inner", "left_brow_inner",
    "left_brow_centre", "left_brow_outer", "right_eye_outer", "right_eye_centre",
    "right_eye_inner", "left_eye_inner", "left_eye_centre", "left_eye_outer",
    "right_ear_lobe", "nose_right", "nose_tip", "nose_left", "left_ear_lobe",
    "mouth_right", "mouth_centre", "mouth_left", "chin_centre",
)
AFLW21_TO_68: tuple[int | tuple[int, ...] | None, ...] = (
    17, 19, 21, 22, 24, 26, 36, tuple(range(36, 42)), 39, 42, tuple(range(42, 48)), 45,
    None, 31, 30, 35, None, 48, tuple(range(60, 68)), 54, 8,
)


#: The jaw's points on the far side of a face turned by a positive / negative yaw (AFLW2000-3D's sign),
#: chin excluded: where a markup drawn on the silhouette (youtube-faces-68's, dlib's) and the
#: 3D-consistent one (AFLW2000-3D's, the pool's labels) part ways on turned faces.
FAR_JAW: dict[int, tuple[int, ...]] = {1: tuple(range(0, 8)), -1: tuple(range(9, 17))}


def flip_points(points: np.ndarray, width: float) -> np.ndarray:
    """Mirror 68 points for an image of `width` pixels flipped left-right.

    Pixel centres are at integer coordinates, so x maps to (width - 1) - x.
    """
    out = points[FLIP_PERM].copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out


def _aflw21_matrix() -> np.ndarray:
    a = np.zeros((21, NUM_POINTS))
    for i, idx in enumerate(AFLW21_TO_68):
        if idx is not None:
            idx = list(idx) if isinstance(idx, tuple) else [idx]
            a[i, idx] = 1.0 / len(idx)
    return a


#: (21, 68) averaging matrix of AFLW21_TO_68: row i gives AFLW point i from the 68 points (zero rows:
#: the ear lobes). Linear, so it maps 2D points, 3D shapes and shape modes alike.
AFLW21_MATRIX: np.ndarray = _aflw21_matrix()
AFLW21_NO_COUNTERPART: tuple[int, ...] = tuple(i for i, idx in enumerate(AFLW21_TO_68) if idx is None)


def aflw21_from_68(points68: np.ndarray) -> np.ndarray:
    """The 21 AFLW points implied by 68 points, 2D or 3D (NaN for the ear lobes)."""
    out = AFLW21_MATRIX @ np.asarray(points68, dtype=np.float64)
    out[list(AFLW21_NO_COUNTERPART)] = np.nan
    return out
