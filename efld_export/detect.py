"""Face detection for `efld predict`: packaged detectors, their boxes mapped to the model's crop rule.

The landmark model was trained on crops of the ground-truth landmark box (crop.py). Every
detector draws its box by its own convention (BlazeFace tight on the inner face, Haar and
dlib looser, all square), so each detector's box is mapped to the landmark box by a centre
shift and a scale fitted on training data (BOX_MAPS). The models ship inside installed
packages: nothing is downloaded at run time. Which detector is the default, and why, is
measured by benchmarks/detectors.py (benchmarks/results/detectors.json).
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from .errors import EFLDError

#: Detectors resize larger images to this longest side first (faces stay well above their minimum size).
MAX_SIDE = 640
#: Overlapping boxes above this IoU are one face.
NMS_IOU = 0.3


@dataclass(frozen=True)
class BoxMap:
    """Detector box -> landmark box: centre shift (dx, dy) and side, in units of the detector box's size sqrt(w*h)."""

    dx: float
    dy: float
    scale: float

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """A square (x, y, w, h) box in the landmark-box convention."""
        x, y, w, h = np.asarray(raw, dtype=np.float64)
        size = np.sqrt(w * h)
        cx, cy = x + w / 2 + self.dx * size, y + h / 2 + self.dy * size
        side = self.scale * size
        return np.array([cx - side / 2, cy - side / 2, side, side])


#: Fitted on youtube-faces-68 train (never on the validation set) by
#: `python benchmarks/detectors.py fit --out benchmarks/results/detector_box_maps.json`
#: (medians over the faces each detector found; spreads and counts in that file).
BOX_MAPS: dict[str, BoxMap] = {
    "blazeface": BoxMap(0.0046, 0.0514, 0.9908),  # 3461 of 3462 faces
    "blazeface-full": BoxMap(0.0058, 0.0946, 0.9257),  # 3418 of 3462 faces
    "haar": BoxMap(0.0002, 0.1587, 0.8734),  # 3393 of 3462 faces
    "dlib": BoxMap(0.0009, 0.0959, 0.9497),  # 2689 of 3462 faces
}


@dataclass
class Detection:
    """One face: box in the landmark-box convention (give it to LandmarkModel.predict), the detector's score
    (BlazeFace: a probability; Haar, dlib: classifier margins) and the detector's own box."""

    box: np.ndarray
    score: float
    raw_box: np.ndarray


class RawDetector(Protocol):
    """A packaged detector: boxes (N, 4) as (x, y, w, h) in its own convention, and scores (N,)."""

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ...


def _shrink(image: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, float]:
    """The image with its longest side at most max_side, and the factor back to the original's pixels."""
    f = max(image.shape[:2]) / max_side
    if f <= 1:
        return image, 1.0
    size = (round(image.shape[1] / f), round(image.shape[0] / f))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), f


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> tuple[np.ndarray, np.ndarray]:
    """Best-scoring boxes first, dropping any box that overlaps a kept one by more than iou."""
    keep: list[int] = []
    for i in np.argsort(-scores):
        if all(box_iou(boxes[i], boxes[k]) <= iou for k in keep):
            keep.append(int(i))
    return boxes[keep].reshape(-1, 4), scores[keep]


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _ssd_anchors(size: int, strides: tuple[int, ...], per_layer: int) -> np.ndarray:
    """Anchor centres (N, 2) in [0, 1] of MediaPipe's SsdAnchorsCalculator with fixed_anchor_size (w = h = 1).

    Consecutive layers of equal stride share one feature map; each contributes per_layer anchors per cell.
    """
    out, i = [], 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = -(-size // strides[i])
        ys, xs = np.mgrid[0:n, 0:n]
        centres = np.stack([(xs + 0.5) / n, (ys + 0.5) / n], -1).reshape(-1, 1, 2)
        out.append(np.repeat(centres, per_layer * (j - i), axis=1).reshape(-1, 2))
        i = j
    return np.concatenate(out)


def mediapipe_model(name: str) -> Path:
    """A model file shipped in the mediapipe wheel, found without importing mediapipe (its deps are not needed)."""
    spec = importlib.util.find_spec("mediapipe")
    path = (Path(next(iter(spec.submodule_search_locations))) / "modules" / "face_detection" / name
            if spec is not None and spec.submodule_search_locations else None)
    if path is None or not path.is_file():
        raise EFLDError(f"BlazeFace needs the model {name} from the mediapipe wheel: "
                        "pip install --no-deps mediapipe==0.10.21 (or choose another --detector)")
    return path


class BlazeFace:
    """MediaPipe's BlazeFace (short range: 128x128 input, faces within ~2 m; full range: 192x192, sparse),
    run with the TFLite interpreter and decoded as MediaPipe's graph does (SSD anchors, sigmoid scores)."""

    CONFIGS = {
        "short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2),
        "full": ("face_detection_full_range_sparse.tflite", 192, (4,), 1),
    }

    def __init__(self, variant: str = "short", min_score: float = 0.5, threads: int = 1):
        from ai_edge_litert.interpreter import Interpreter

        name, self.size, strides, per_layer = self.CONFIGS[variant]
        self.interpreter = Interpreter(model_path=str(mediapipe_model(name)), num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        outs = self.interpreter.get_output_details()
        self.boxes_out = next(d["index"] for d in outs if d["shape"][-1] == 16)
        self.scores_out = next(d["index"] for d in outs if d["shape"][-1] == 1)
        self.anchors = _ssd_anchors(self.size, strides, per_layer)
        self.min_score = min_score

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        side = max(h, w)  # letterbox: pad right/bottom to a square, so normalised coordinates x side = pixels
        square = cv2.copyMakeBorder(image, 0, side - h, 0, side - w, cv2.BORDER_CONSTANT, value=0)
        x = cv2.resize(square, (self.size, self.size), interpolation=cv2.INTER_AREA if side > self.size
                       else cv2.INTER_LINEAR)
        self.interpreter.set_tensor(self.input, (x[None].astype(np.float32) / 127.5 - 1.0))
        self.interpreter.invoke()
        raw = self.interpreter.get_tensor(self.boxes_out)[0]
        logits = self.interpreter.get_tensor(self.scores_out)[0, :, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits.astype(np.float64), -100, 100)))
        ok = scores >= self.min_score
        raw, anchors, scores = raw[ok], self.anchors[ok], scores[ok]
        centre = raw[:, :2] / self.size + anchors
        size = raw[:, 2:4] / self.size
        boxes = np.hstack([centre - size / 2, size]) * side
        return nms(boxes, scores)


class HaarCascade:
    """OpenCV's bundled Haar cascades: frontal, plus profile on the image and its mirror (the cascade sees
    one side only). Scores are the cascades' stage weights, not probabilities."""

    def __init__(self, min_neighbors: int = 5):
        folder = Path(cv2.data.haarcascades)
        self.frontal = cv2.CascadeClassifier(str(folder / "haarcascade_frontalface_default.xml"))
        self.profile = cv2.CascadeClassifier(str(folder / "haarcascade_profileface.xml"))
        self.min_neighbors = min_neighbors

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small, f = _shrink(image)
        gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
        min_size = max(24, min(gray.shape) // 12)
        boxes, scores = [], []
        for cascade, mirror in ((self.frontal, False), (self.profile, False), (self.profile, True)):
            g = np.ascontiguousarray(gray[:, ::-1]) if mirror else gray
            rects, _, weights = cascade.detectMultiScale3(g, scaleFactor=1.1, minNeighbors=self.min_neighbors,
                                                          minSize=(min_size, min_size), outputRejectLevels=True)
            rects = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
            if mirror:
                rects[:, 0] = g.shape[1] - rects[:, 0] - rects[:, 2]
            boxes.append(rects)
            scores.append(np.asarray(weights, dtype=np.float64).reshape(-1))
        return nms(np.concatenate(boxes) * f, np.concatenate(scores))


class DlibHog:
    """dlib's HOG + linear SVM frontal detector (five filters: front, turned left/right, rotated), built into dlib.
    Scores are SVM margins."""

    def __init__(self, upsample: int = 0):
        try:
            import dlib
        except ImportError:
            raise EFLDError("the dlib detector needs dlib: pip install dlib-bin (or choose another --detector)") from None
        self.detector = dlib.get_frontal_face_detector()
        self.upsample = upsample

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small, f = _shrink(image)
        rects, scores, _ = self.detector.run(np.ascontiguousarray(small), self.upsample, 0.0)
        boxes = np.array([[r.left(), r.top(), r.width(), r.height()] for r in rects], dtype=np.float64).reshape(-1, 4)
        return nms(boxes * f, np.asarray(scores, dtype=np.float64))


def _make(name: str, threads: int) -> RawDetector:
    if name == "blazeface":
        return BlazeFace("short", threads=threads)
    if name == "blazeface-full":
        return BlazeFace("full", threads=threads)
    if name == "haar":
        return HaarCascade()
    if name == "dlib":
        return DlibHog()
    raise EFLDError(f"unknown detector {name!r}; choose from {', '.join(DETECTOR_NAMES)} or auto")


DETECTOR_NAMES: tuple[str, ...] = tuple(BOX_MAPS)
#: `auto` takes the first of these that is installed, by the miss rates of benchmarks/results/detectors.json
#: (aflw2000-3d-val, mean of the |yaw| bins): BlazeFace short range 1.9 %, full range 14 %, Haar 34 %, dlib 45 %.
#: Both BlazeFace models come from one package and Haar from OpenCV, which is always there.
PREFERENCE: tuple[str, ...] = ("blazeface", "haar")


class Detector:
    """Faces in an RGB image as boxes the landmark model can take: a packaged detector plus its box mapping."""

    def __init__(self, name: str = "auto", threads: int = 1):
        #: Why `auto` passed over a better detector (empty when it took the first choice).
        self.skipped: list[str] = []
        if name == "auto":
            for candidate in PREFERENCE:
                try:
                    self.raw, self.name = _make(candidate, threads), candidate
                    break
                except EFLDError as e:
                    self.skipped.append(str(e))
            else:
                raise EFLDError("no face detector is available: " + "; ".join(self.skipped))
        else:
            self.raw, self.name = _make(name, threads), name
        self.box_map = BOX_MAPS[self.name]

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Every face found, best score first."""
        boxes, scores = self.raw(image)
        order = np.argsort(-scores)
        return [Detection(self.box_map.apply(boxes[i]), float(scores[i]), boxes[i]) for i in order]
