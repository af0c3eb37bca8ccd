"""The one runtime layer: backends (.pt, .onnx, .tflite) and the pre/post-processing around them.

Evaluation, benchmarks, the ARM harness and predict all go through `LandmarkModel`, so a
figure means the same thing everywhere. Model contract: input (N, 3, 112, 112) RGB float in
[0, 1] (NHWC for TFLite), outputs landmarks (N, 136) in crop units [0, 1] and pose (N, 3)
yaw/pitch/roll in radians.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .arm.device_runner import invoke_all, load_interpreter
from .crop import INPUT_SIZE, crop_face, invert_matrix, transform_points
from .errors import EFLDError
from .landmarks import NUM_POINTS


class Backend(Protocol):
    """Runs a batch of preprocessed crops."""

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """batch (N, 3, 112, 112) float32 in [0, 1] -> landmarks (N, 136), pose (N, 3) radians or None."""
        ...


class TorchBackend:
    """An in-memory nn.Module or a checkpoint file (.pt)."""

    def __init__(self, model):  # noqa: ANN001 - torch is imported lazily
        import torch

        self.torch = torch
        self.model = model.eval()

    @classmethod
    def from_file(cls, path: Path) -> "TorchBackend":
        from .checkpoint import load_model

        return cls(load_model(path))

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        with self.torch.inference_mode():
            lm, pose = self.model(self.torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)))
        return lm.numpy(), pose.numpy()


class OnnxBackend:
    """onnxruntime on the CPU."""

    def __init__(self, path: Path, threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input = inp.name
        self.batch = inp.shape[0] if isinstance(inp.shape[0], int) else None  # None: dynamic
        self.outputs = [o.name for o in self.session.get_outputs()]

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        step = self.batch or len(batch)
        parts = [self.session.run(self.outputs, {self.input: batch[i:i + step].astype(np.float32)})
                 for i in range(0, len(batch), step)]
        return _split_outputs([np.concatenate(o) for o in zip(*parts)])


class TFLiteBackend:
    """A .tflite file through ai-edge-litert (or tflite-runtime); handles int8 input/output quantisation.

    run() = quantise -> invoke -> dequantise; the ARM harness replaces invoke() alone (the raw
    tensors go to the device), so host and device share every other step.
    """

    def __init__(self, path: Path, threads: int = 1):
        self.interpreter = load_interpreter(path, threads)
        self.input = self.interpreter.get_input_details()[0]
        self.outputs = self.interpreter.get_output_details()
        self.batch = int(self.input["shape"][0])
        scale, zero = self.input["quantization"]
        # The exporter's int8 input (scale 1/255, zero point -128) takes a uint8 pixel p as p - 128.
        self.pixel_input = self.input["dtype"] == np.int8 and zero == -128 and abs(scale * 255 - 1) < 1e-6

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        raw = self.invoke(self.quantise(np.transpose(batch, (0, 2, 3, 1))))
        return _split_outputs(self.dequantise(raw))

    def run_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Like run(preprocess(crops)) with the same result, straight from RGB uint8 NHWC crops
        (what an app feeds: no float round trip for the int8 model, no transposes)."""
        if self.pixel_input and crops.dtype == np.uint8:
            x = (crops ^ np.uint8(0x80)).view(np.int8)
        else:
            x = self.quantise(crops.astype(np.float32) / 255.0)
        return _split_outputs(self.dequantise(self.invoke(x)))

    def quantise(self, nhwc: np.ndarray) -> np.ndarray:
        """Float NHWC in [0, 1] -> the model's input tensor (int8 by its scale and zero point)."""
        scale, zero = self.input["quantization"]
        if self.input["dtype"] != np.float32:
            nhwc = np.clip(np.round(nhwc / scale + zero), *_dtype_range(self.input["dtype"]))
        return nhwc.astype(self.input["dtype"])

    def invoke(self, x: np.ndarray) -> list[np.ndarray]:
        """Raw output tensors for model inputs stacked on axis 0."""
        return invoke_all(self.interpreter, x)

    def dequantise(self, raw: list[np.ndarray]) -> list[np.ndarray]:
        """Raw output tensors -> float32 (N, values) arrays."""
        outs = []
        for d, y in zip(self.outputs, raw):
            y = y.astype(np.float32)
            s, z = d["quantization"]
            if d["dtype"] != np.float32 and s:
                y = (y - z) * s
            outs.append(y.reshape(len(y), -1))
        return outs


def _dtype_range(dtype: np.dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return info.min, info.max


def _split_outputs(outs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """Identify the landmark (136) and pose (3) outputs by size, whatever order a converter left them in."""
    lm = next((o for o in outs if o.shape[-1] == NUM_POINTS * 2), None)
    if lm is None:
        raise EFLDError(f"model has no {NUM_POINTS * 2}-value landmark output (outputs: {[o.shape for o in outs]})")
    pose = next((o for o in outs if o.shape[-1] == 3), None)
    return lm.reshape(len(lm), -1), None if pose is None else pose.reshape(len(pose), -1)


def load_backend(path: Path | str, threads: int = 1) -> Backend:
    """A backend for a model file, chosen by its suffix."""
    path = Path(path)
    if not path.is_file():
        raise EFLDError(f"{path}: model file not found")
    from .release import verify_file

    verify_file(path)  # a released artifact must match its manifest
    suffix = path.suffix.lower()
    if suffix in (".pt", ".pth"):
        return TorchBackend.from_file(path)
    if suffix == ".onnx":
        return OnnxBackend(path, threads)
    if suffix == ".tflite":
        return TFLiteBackend(path, threads)
    raise EFLDError(f"{path}: unknown model type {suffix!r} (expected .pt, .onnx or .tflite)")


def preprocess(crops: list[np.ndarray]) -> np.ndarray:
    """RGB uint8 crops (112x112x3) -> (N, 3, 112, 112) float32 in [0, 1], the training input."""
    return np.stack(crops).astype(np.float32).transpose(0, 3, 1, 2) / 255.0


@dataclass
class Prediction:
    """One face: 68 points in image pixels and (yaw, pitch, roll) degrees (None if the model has no pose output)."""

    points: np.ndarray
    pose: np.ndarray | None


class LandmarkModel:
    """A landmark model on any backend, taking whole images and face boxes."""

    def __init__(self, backend: Backend, batch_size: int = 64):
        self.backend = backend
        self.batch_size = batch_size

    @classmethod
    def from_artifact(cls, path: Path | str, threads: int = 1) -> "LandmarkModel":
        return cls(load_backend(path, threads))

    def predict_crops(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Crops (112x112 RGB uint8) -> points (N, 68, 2) in crop pixels, pose (N, 3) degrees."""
        pts, poses = [], []
        direct = getattr(self.backend, "run_crops", None)
        for i in range(0, len(crops), self.batch_size):
            part = crops[i:i + self.batch_size]
            lm, pose = direct(np.stack(part)) if direct else self.backend.run(preprocess(part))
            pts.append(lm.reshape(-1, NUM_POINTS, 2) * (INPUT_SIZE - 1))
            poses.append(None if pose is None else np.degrees(pose))
        pose_out = None if any(p is None for p in poses) else np.concatenate(poses)
        return np.concatenate(pts), pose_out

    def predict(self, image: np.ndarray, boxes: list[np.ndarray]) -> list[Prediction]:
        """Faces in an RGB image, one per (x, y, w, h) box, with points mapped back to image pixels."""
        return self.predict_batch([(image, b) for b in boxes])

    def predict_batch(self, faces: list[tuple[np.ndarray, np.ndarray]]) -> list[Prediction]:
        """(image, box) pairs, possibly from many images, run in batches."""
        if not faces:
            return []
        crops, mats = zip(*(crop_face(img, np.asarray(b, dtype=np.float64)) for img, b in faces))
        pts, pose = self.predict_crops(list(crops))
        return [Prediction(transform_points(p, invert_matrix(m)), None if pose is None else pose[i])
                for i, (p, m) in enumerate(zip(pts, mats))]
