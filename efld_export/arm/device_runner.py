#!/usr/bin/env python3
"""The on-device runner: raw TFLite outputs and per-invoke times for ready-made model inputs.

Self-contained on purpose (numpy and a TFLite interpreter only): it is copied as one file to
phones, boards and QEMU root filesystems. The host quantises the inputs and dequantises the
outputs with its own runtime (efld_export.runtime.TFLiteBackend uses the two functions below),
so a host/device NME difference comes from the device's kernels alone.

    python3 device_runner.py MODEL INPUTS.npy OUT.npz [--threads 1] [--warmup 20]

INPUTS: the model's input tensors stacked on axis 0, already in its dtype and layout.
OUT: output_<i> (raw, in the interpreter's output order), times_ms (one per invoke after the
warm-up: set input + invoke + read outputs) and info (JSON: machine, runtime, peak RSS).
"""
from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def load_interpreter(path, threads: int = 1):  # noqa: ANN001, ANN201 - either runtime's Interpreter
    """ai-edge-litert's Interpreter, else tflite-runtime's (the same API), tensors allocated."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tflite_runtime.interpreter import Interpreter
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    return interpreter


def invoke_all(interpreter, x: np.ndarray, times: list | None = None) -> list[np.ndarray]:  # noqa: ANN001
    """Raw outputs for inputs x (stacked on axis 0), fed as many at a time as the model's batch."""
    inp = interpreter.get_input_details()[0]
    outs = interpreter.get_output_details()
    step = int(inp["shape"][0])
    parts = []
    for i in range(0, len(x), step):
        t = time.perf_counter()
        interpreter.set_tensor(inp["index"], x[i:i + step])
        interpreter.invoke()
        parts.append([interpreter.get_tensor(d["index"]).copy() for d in outs])  # the next invoke reuses them
        if times is not None:
            times.append((time.perf_counter() - t) * 1000)
    return [np.concatenate(p) for p in zip(*parts)]


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux ru_maxrss is in KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=20, help="untimed invokes on the first input first")
    args = ap.parse_args()
    x = np.load(args.inputs)
    interpreter = load_interpreter(args.model, args.threads)
    step = int(interpreter.get_input_details()[0]["shape"][0])
    for _ in range(args.warmup):
        invoke_all(interpreter, x[:step])
    times: list[float] = []
    outputs = invoke_all(interpreter, x, times)
    info = {"machine": platform.machine(), "system": platform.platform(), "python": platform.python_version(),
            "runtime": type(interpreter).__module__.split(".")[0], "numpy": np.__version__,
            "threads": args.threads, "warmup": args.warmup, "peak_rss_mb": round(peak_rss_mb(), 2)}
    np.savez(args.out, times_ms=np.array(times), info=np.array(json.dumps(info)),
             **{f"output_{i}": o for i, o in enumerate(outputs)})


if __name__ == "__main__":
    main()
