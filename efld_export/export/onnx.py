"""PyTorch -> ONNX (TorchScript exporter), simplified with onnx-simplifier and checked."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..crop import INPUT_SIZE
from ..errors import EFLDError

INPUT_NAME = "image"
OUTPUT_NAMES = ("landmarks", "pose")


def export_onnx(model: nn.Module, path: Path, opset: int = 13, simplify: bool = True) -> Path:
    """Write `model` as ONNX (batch 1, NCHW float input in [0, 1]); outputs landmarks (1, 136) and pose (1, 3)."""
    import onnx

    model = model.eval()
    dummy = torch.rand(1, 3, INPUT_SIZE, INPUT_SIZE)
    torch.onnx.export(model, (dummy,), str(path), input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                      opset_version=opset, dynamo=False, do_constant_folding=True)
    proto = onnx.load(str(path))
    if simplify:
        from onnxsim import simplify as onnxsim_simplify

        proto, ok = onnxsim_simplify(proto)
        if not ok:
            raise EFLDError("onnx-simplifier could not validate the simplified model")
        onnx.save(proto, str(path))
    onnx.checker.check_model(proto, full_check=True)
    return path


def onnx_parity(model: nn.Module, path: Path, crops: np.ndarray) -> float:
    """Max |onnxruntime - torch| over both outputs on real crops (N, 3, 112, 112) in [0, 1]."""
    from ..runtime import OnnxBackend

    backend = OnnxBackend(path)
    with torch.inference_mode():
        ref_lm, ref_pose = model.eval()(torch.from_numpy(crops.astype(np.float32)))
    diffs = []
    for i in range(len(crops)):
        lm, pose = backend.run(crops[i:i + 1])
        diffs += [np.abs(lm - ref_lm[i:i + 1].numpy()).max(), np.abs(pose - ref_pose[i:i + 1].numpy()).max()]
    return float(max(diffs))
