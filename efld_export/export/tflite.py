"""ONNX -> TFLite (float32, float16, full-integer int8) with onnx2tf, and XNNPACK delegation checks.

onnx2tf runs in a child process whose working folder holds the calibration sample file that
it otherwise downloads for any 3-channel image input (even with calibration data given):
we write that file from the real calibration crops, so conversion never reaches the network.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from ..errors import EFLDError

#: The file onnx2tf looks for in its working folder before trying to download it.
ONNX2TF_SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
INPUT_NAME = "image"


def convert(onnx_path: Path, workdir: Path, calib: np.ndarray, int8_output: bool = False,
            timeout: float = 600) -> dict[str, Path]:
    """Convert with onnx2tf in `workdir`; calib is (N, 112, 112, 3) float32 in [0, 1].

    Returns {"fp32": ..., "fp16": ..., "int8": ...}: the int8 model takes int8 input
    (scale 1/255, zero point -128) and gives float32 output unless int8_output.
    """
    import cv2

    workdir.mkdir(parents=True, exist_ok=True)
    sample = np.stack([cv2.resize(c, (128, 128), interpolation=cv2.INTER_LINEAR) for c in calib[:20]])
    if len(sample) < 20:
        sample = np.concatenate([sample] * (20 // len(sample) + 1))[:20]
    np.save(workdir / ONNX2TF_SAMPLE_FILE, sample.astype(np.float32))
    calib = calib.astype(np.float32).copy()
    # Pin the input range to exactly [0, 1] (one black and one white pixel in the first crop) so
    # the int8 input gets scale 1/255 and zero point -128: a uint8 pixel p is then simply p - 128.
    calib[0, 0, 0, :], calib[0, 0, 1, :] = 0.0, 1.0
    np.save(workdir / "calib.npy", calib)
    args = {"onnx": str(Path(onnx_path).resolve()), "out": "tflite", "int8_output": int8_output}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "", "PYTHONHASHSEED": "0"}
    try:
        proc = subprocess.run([sys.executable, "-m", "efld_export.export.tflite", json.dumps(args)], cwd=workdir,
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EFLDError(f"onnx2tf did not finish within {timeout:.0f} s") from None
    (workdir / "onnx2tf.log").write_text(proc.stdout + proc.stderr)
    stem = Path(onnx_path).stem
    out = {"fp32": workdir / "tflite" / f"{stem}_float32.tflite",
           "fp16": workdir / "tflite" / f"{stem}_float16.tflite",
           "int8": workdir / "tflite" / f"{stem}_full_integer_quant.tflite"}
    missing = [k for k, p in out.items() if not p.is_file()]
    if proc.returncode != 0 or missing:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise EFLDError(f"onnx2tf failed (exit {proc.returncode}; missing {missing}):\n{tail}")
    return out


def _child(args: dict) -> None:
    """Runs inside the child process (cwd = the work folder)."""
    import onnx2tf

    onnx2tf.convert(
        input_onnx_file_path=args["onnx"],
        output_folder_path=args["out"],
        output_integer_quantized_tflite=True,
        custom_input_op_name_np_data_path=[[INPUT_NAME, "calib.npy", 0.0, 1.0]],
        input_quant_dtype="int8",
        output_quant_dtype="int8" if args["int8_output"] else "float32",
        copy_onnx_input_output_names_to_tflite=True,
        not_use_onnxsim=True,  # already simplified, and checked, by the ONNX stage
        non_verbose=True,
    )


def xnnpack_report(path: Path) -> dict:
    """Delegated partitions and the ops left outside XNNPACK, from the interpreter's graph.

    After delegation each partition is one DELEGATE node; an original node still runs on its
    own if its outputs reach a delegate's inputs or a model output without passing through
    a delegate. A fully delegated graph has one partition and no op left outside.
    """
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    ops = it._get_ops_details()
    delegates = [o for o in ops if o["op_name"] == "DELEGATE"]
    from_delegate = {int(t) for d in delegates for t in d["outputs"]}
    producer = {int(t): o for o in ops if o["op_name"] != "DELEGATE" for t in o["outputs"]}
    need = [int(t) for d in delegates for t in d["inputs"]] + [int(d["index"]) for d in it.get_output_details()]
    outside: dict[int, dict] = {}
    while need:
        t = need.pop()
        if t in from_delegate or t not in producer or producer[t]["index"] in outside:
            continue
        op = producer[t]
        outside[op["index"]] = op
        need += [int(x) for x in op["inputs"]]
    counts = Counter(o["op_name"] for o in outside.values())
    float_ops = sorted({o["op_name"] for o in ops if o["op_name"] != "DELEGATE"
                        and any(np.dtype(t) == np.float32 for t in o.get("operand_types", []))
                        and o["op_name"] not in ("QUANTIZE", "DEQUANTIZE")})
    return {"partitions": len(delegates), "ops_outside": dict(counts), "fully_delegated":
            len(delegates) == 1 and not counts, "float_ops": float_ops}


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
