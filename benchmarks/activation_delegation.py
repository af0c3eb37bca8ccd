"""Does the activation keep the int8 graph inside XNNPACK? Delegated partitions and host latency
of randomly initialised models (the graph, not the weights, decides delegation and speed).

    python benchmarks/activation_delegation.py --out benchmarks/results/activation_delegation.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from efld_export.export.onnx import export_onnx
from efld_export.export.tflite import convert, xnnpack_report
from efld_export.models import create_model
from efld_export.release import host_latency_ms, tool_versions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--acts", nargs="+", default=["relu", "hswish", "hswish_native"])
    ap.add_argument("--width", type=float, default=0.5)
    args = ap.parse_args()
    calib = np.random.default_rng(0).random((32, 112, 112, 3)).astype(np.float32)
    results = {"command": f"python benchmarks/activation_delegation.py --out {args.out} --acts {' '.join(args.acts)} "
                          f"--width {args.width}", "tools": tool_versions(), "runs": {}}
    for act in args.acts:
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = export_onnx(create_model(width=args.width, act=act).eval(), Path(tmp) / f"{act}.onnx")
            tfl = convert(onnx_path, Path(tmp) / "work", calib)
            results["runs"][act] = {k: {"bytes": tfl[k].stat().st_size, "xnnpack": xnnpack_report(tfl[k]),
                                        "host_latency": host_latency_ms(tfl[k], runs=500)} for k in ("fp32", "int8")}
        r = results["runs"][act]
        print(act, {k: (round(v["host_latency"]["median_ms"], 3), v["xnnpack"]["partitions"]) for k, v in r.items()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
