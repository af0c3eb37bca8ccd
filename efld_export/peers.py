"""The peers a user would pick instead, run in the same benchmark: MediaPipe's face landmark model
(face_landmark.tflite, through the same TFLite interpreter) and dlib's 68-point shape predictor.

Each gets the face box in its own convention (as its own pipeline would hand it over), derived
from the same ground-truth landmark box our model gets; the factors were measured on
youtube-faces-68/test (benchmarks/peer_boxes.py). `predict_batch` matches LandmarkModel's, so
the one evaluator scores them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .crop import crop_matrix, invert_matrix, transform_points, warp
from .errors import EFLDError
from .runtime import Prediction

#: MediaPipe's face mesh index for each of the 68 iBUG points (a pair = their midpoint): the usual
#: correspondence (as in Peizhi Yan's Mediapipe_2_Dlib_Landmarks, 2024), "right" = the subject's right.
MEDIAPIPE_TO_68: tuple[tuple[int, int], ...] = tuple((a, b if b is not None else a) for a, b in (
    # jaw 0-16
    (127, None), (234, None), (93, None), (132, 58), (58, 172), (136, None), (150, None), (176, None),
    (152, None), (400, None), (379, None), (365, None), (397, 288), (361, None), (323, None), (454, None),
    (356, None),
    # brows 17-26
    (70, None), (63, None), (105, None), (66, None), (107, None),
    (336, None), (296, None), (334, None), (293, None), (300, None),
    # nose 27-35
    (168, 6), (197, 195), (5, None), (4, None), (75, None), (97, None), (2, None), (326, None), (305, None),
    # eyes 36-47 (outer corner, two upper lid points, inner corner, two lower lid points)
    (33, None), (160, None), (158, None), (133, None), (153, None), (144, None),
    (362, None), (385, None), (387, None), (263, None), (373, None), (380, None),
    # outer lips 48-59, inner lips 60-67
    (61, None), (39, None), (37, None), (0, None), (267, None), (269, None), (291, None),
    (321, None), (314, None), (17, None), (84, None), (91, None),
    (78, None), (82, None), (13, None), (312, None), (308, None), (317, None), (14, None), (87, None),
))

MEDIAPIPE_MODEL = "mediapipe/modules/face_landmark/face_landmark.tflite"  # inside the mediapipe wheel
DLIB_MODEL = Path("/usr/share/dlib/shape_predictor_68_face_landmarks.dat")  # Debian's libdlib-data


@dataclass(frozen=True)
class BoxConvention:
    """A peer's face box from the landmark box (x, y, w, h): centre shifted by (dx, dy) x (w, h),
    side = scale x the longer side."""

    dx: float
    dy: float
    scale: float

    def square(self, box: np.ndarray) -> tuple[np.ndarray, float]:
        x, y, w, h = box
        return np.array([x + w * (0.5 + self.dx), y + h * (0.5 + self.dy)]), float(self.scale * max(w, h))


class Peer:
    """A peer landmarker: crop by its convention, find 68 points on the crop, map them back."""

    name: str
    file: Path
    size: int  # crop side in pixels
    convention: BoxConvention

    def crop(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        center, side = self.convention.square(np.asarray(box, dtype=np.float64))
        m = crop_matrix(center, side, self.size)
        return warp(image, m, self.size), m

    def points(self, crop: np.ndarray) -> np.ndarray:
        """The timed landmark step: (68, 2) points in crop pixels."""
        raise NotImplementedError

    def predict_batch(self, faces: list[tuple[np.ndarray, np.ndarray]]) -> list[Prediction]:
        out = []
        for image, box in faces:
            crop, m = self.crop(image, box)
            out.append(Prediction(transform_points(self.points(crop), invert_matrix(m)), None))
        return out


class MediaPipePeer(Peer):
    """face_landmark.tflite (192x192 RGB in [0, 1] -> 468 mesh points) on the same interpreter as ours.

    Its crop follows MediaPipe's tracking ROI: the square around its own mesh box scaled by 1.5,
    axis-aligned here (ours is not rotated either).
    """

    name = "mediapipe-face-landmark"
    size = 192
    convention = BoxConvention(dx=-0.015, dy=-0.116, scale=1.684)  # benchmarks/results/peer_boxes.json

    def __init__(self, file: Path | None = None, threads: int = 1):
        from .arm.device_runner import load_interpreter

        self.file = Path(file) if file else find_mediapipe_model()
        self.interpreter = load_interpreter(self.file, threads)
        self.index = self.interpreter.get_input_details()[0]["index"]
        self.mesh = next(d["index"] for d in self.interpreter.get_output_details() if int(np.prod(d["shape"])) == 1404)
        self.pairs = np.array(MEDIAPIPE_TO_68)

    def points(self, crop: np.ndarray) -> np.ndarray:
        return self.points3d(crop)[:, :2]

    def points3d(self, crop: np.ndarray) -> np.ndarray:
        """(68, 3) mesh points in crop pixels; z is the mesh's depth (away from the camera), in the same scale."""
        self.interpreter.set_tensor(self.index, crop[None].astype(np.float32) / 255.0)
        self.interpreter.invoke()
        pts = self.interpreter.get_tensor(self.mesh).reshape(468, 3)[self.pairs].mean(1)
        pts[:, :2] -= 0.5  # MediaPipe measures from the pixel edge, we from its centre
        return pts

    def mesh68(self, faces: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(N, 68, 3) mesh points of each (image, landmark box) in image pixels, depth scaled alike."""
        out = []
        for image, box in faces:
            crop, m = self.crop(image, box)
            p = self.points3d(crop)
            inv = invert_matrix(m)
            scale = float(np.sqrt(abs(np.linalg.det(inv[:, :2]))))
            out.append(np.concatenate([transform_points(p[:, :2], inv), p[:, 2:] * scale], 1))
        return np.stack(out) if out else np.zeros((0, 68, 3))


class DlibPeer(Peer):
    """dlib's shape_predictor_68_face_landmarks on a crop around the face, given the rectangle its own
    frontal face detector would return."""

    name = "dlib-68"
    size = 224
    rect = BoxConvention(dx=-0.016, dy=-0.115, scale=1.018)  # the detector's, benchmarks/results/peer_boxes.json
    context = 1.6  # the crop's side over the rectangle's
    convention = BoxConvention(rect.dx, rect.dy, rect.scale * context)

    def __init__(self, file: Path | None = None):
        import dlib

        self.dlib = dlib
        self.file = Path(file) if file else DLIB_MODEL
        if not self.file.is_file():
            raise EFLDError(f"{self.file}: dlib's 68-point model not found (apt-get install libdlib-data)")
        self.predictor = dlib.shape_predictor(str(self.file))
        c = (self.size - 1) / 2
        half = self.size / self.context / 2
        self.rectangle = dlib.rectangle(*(int(round(v)) for v in (c - half, c - half, c + half, c + half)))

    def points(self, crop: np.ndarray) -> np.ndarray:
        shape = self.predictor(crop, self.rectangle)
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def find_mediapipe_model() -> Path:
    """face_landmark.tflite from the installed mediapipe package (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise EFLDError("mediapipe is not installed (pip install --no-deps mediapipe==0.10.21)")
    path = Path(next(iter(spec.submodule_search_locations))).parent / MEDIAPIPE_MODEL
    if not path.is_file():
        raise EFLDError(f"{path}: not found in the installed mediapipe package")
    return path
