"""Head pose from 2D landmarks by fitting a rigid 3D mean face (cv2.solvePnP).

Used to label pose where the data has none, and to turn sparse human points into
68-point labels by projecting the fitted mean face. Angles follow the AFLW2000-3D
convention (degrees; yaw positive when the face turns to the image's left, as in
its pose.csv), checked against that file in tests/benchmarks.
"""
from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np

from .errors import DataError
from .landmarks import FLIP_PERM

#: The 3DMM's 68-point mean shape (assets/README.md): the 3D face whose frame defines pose labels.
POSE_FACE_FILE = Path(__file__).with_name("assets") / "mean_face_68_3dmm.csv"
#: The pose labels' camera, focal length in image widths: a long lens, near the weak perspective of
#: the 3DMM fit behind AFLW2000-3D's pose.csv. The choice matters little: on val's true points, pose
#: MAE 3.46 / 3.60 / 3.68 at 3 / 10 / 30 on 120-px crops, 3.72 / 3.69 / 3.71 on the 450-px images
#: (benchmarks/results/pose_frame.json).
POSE_FOCAL = 10.0


def load_mean_face(path: Path | str) -> np.ndarray:
    """The 68x3 mean face (mm; x right, y down, z away from the camera)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("mean face file not found", path=str(path))
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    if data.shape != (68, 4):
        raise DataError(f"expected 68 rows of point,x,y,z, got {data.shape}", path=str(path))
    return data[:, 1:].astype(np.float64)


@functools.cache
def _pose_face() -> np.ndarray:
    face = load_mean_face(POSE_FACE_FILE)
    face = (face + face[FLIP_PERM] * [-1.0, 1.0, 1.0]) / 2
    face.flags.writeable = False  # shared by every pose_label call
    return face


def load_pose_face() -> np.ndarray:
    """The 3DMM mean shape in the mean face's layout and axes (mm; x right, y down, z away), made
    mirror-symmetric (averaged with its mirror image): as shipped it is 3.9 mm (rms) off its mirror, which
    tilts its frame by about 1 degree of yaw and roll (benchmarks/results/pose_frame.json)."""
    return _pose_face().copy()


def pose_label(points68: np.ndarray, width: float, height: float, yaw_deg: float | None = None) -> np.ndarray:
    """Head pose (yaw, pitch, roll) degrees of 68 landmarks in the 3DMM's frame: PnP of the 3DMM mean
    shape through the near-orthographic POSE_FOCAL camera; yaw replaced by a given one (a file's).

    Why not the generic mean face: its frame reads pitch 4.6 degrees off AFLW2000-3D's on frontal faces."""
    pose = pose_from_landmarks(points68, _pose_face(), width, height, POSE_FOCAL * width)
    if yaw_deg is not None and np.isfinite(yaw_deg):
        pose[0] = yaw_deg
    return pose


def camera_matrix(width: float, height: float, focal: float | None = None) -> np.ndarray:
    """Pinhole camera with the principal point at the centre; focal length in pixels, default the image width."""
    f = width if focal is None else focal
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], dtype=np.float64)


def fit_rigid(points2d: np.ndarray, points3d: np.ndarray, width: float, height: float,
              focal: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rigid PnP fit of 3D points to 2D points (NaN rows ignored): SQPnP then iterative refinement.

    Returns (rvec, tvec). Needs at least 4 known points.
    """
    known = ~np.isnan(points2d).any(1) & ~np.isnan(points3d).any(1)
    if known.sum() < 4:
        raise ValueError(f"need at least 4 known points for a pose fit, got {int(known.sum())}")
    obj = np.ascontiguousarray(points3d[known], dtype=np.float64)
    img = np.ascontiguousarray(points2d[known], dtype=np.float64)
    cam = camera_matrix(width, height, focal)
    try:
        ok, rvec, tvec = cv2.solvePnP(obj, img, cam, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # SQPnP refuses points that span too little of a long lens's view: EPnP then
        ok, rvec, tvec = cv2.solvePnP(obj, img, cam, None, flags=cv2.SOLVEPNP_EPNP)
    if not ok:
        raise ValueError("solvePnP failed")
    if known.sum() >= 6:
        ok, rvec, tvec = cv2.solvePnP(obj, img, cam, None, rvec, tvec, useExtrinsicGuess=True,
                                      flags=cv2.SOLVEPNP_ITERATIVE)
    return rvec, tvec


def project(points3d: np.ndarray, rvec: np.ndarray, tvec: np.ndarray, width: float, height: float,
            focal: float | None = None) -> np.ndarray:
    """Project 3D points with a fitted pose into image pixels."""
    out, _ = cv2.projectPoints(np.ascontiguousarray(points3d, dtype=np.float64), rvec, tvec,
                               camera_matrix(width, height, focal), None)
    return out.reshape(-1, 2)


def rotation_to_angles(rvec: np.ndarray) -> np.ndarray:
    """Rotation vector -> (yaw, pitch, roll) degrees in the AFLW2000-3D convention.

    The mean face has y down and z away from the camera; AFLW2000-3D's Pose_Para is
    the 3DDFA convention R = Rx(pitch) Ry(yaw) Rz(roll) with y up, hence the sign flips.
    """
    r, _ = cv2.Rodrigues(np.asarray(rvec, dtype=np.float64))
    # Change of basis y, z -> -y, -z (a rotation of pi about x) on both sides.
    f = np.diag([1.0, -1.0, -1.0])
    r = f @ r @ f
    sy = -r[0, 2]
    yaw = np.arcsin(np.clip(sy, -1, 1))
    pitch = np.arctan2(r[1, 2], r[2, 2])
    roll = np.arctan2(r[0, 1], r[0, 0])
    return np.degrees(np.array([yaw, pitch, roll]))


def pose_from_landmarks(points68: np.ndarray, mean_face: np.ndarray, width: float, height: float,
                        focal: float | None = None) -> np.ndarray:
    """(yaw, pitch, roll) degrees of 68 landmarks (NaN for unknown points); focal in pixels, default the width."""
    rvec, _ = fit_rigid(points68, mean_face, width, height, focal)
    return rotation_to_angles(rvec)


def angles_to_rotation(pose_deg: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees -> 3x3 rotation in the mean face's camera frame (inverse of
    rotation_to_angles); an (N, 3) array of poses gives (N, 3, 3) in one call."""
    from scipy.spatial.transform import Rotation

    pitch_yaw_roll = np.asarray(pose_deg, dtype=np.float64)[..., [1, 0, 2]]
    r = Rotation.from_euler("XYZ", -pitch_yaw_roll, degrees=True).as_matrix()
    f = np.diag([1.0, -1.0, -1.0])
    return f @ r @ f


def rotate_in_plane(pose_deg: np.ndarray, angle_deg: float) -> np.ndarray:
    """The pose of a face after its image is rotated by angle_deg (counter-clockwise, as crop_matrix)."""
    a = np.radians(-angle_deg)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rvec, _ = cv2.Rodrigues(rz @ angles_to_rotation(pose_deg))
    return rotation_to_angles(rvec)
