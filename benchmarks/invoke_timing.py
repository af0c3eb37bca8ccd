"""The interpreter's invoke() alone per TFLite file, no pre- or post-processing: tells a slow int8 kernel path
from a slow quantisation step when `efld bench`'s whole step (crop in, points out) is slow on a host.

    python benchmarks/invoke_timing.py models/efld-mnv3s-0.5-v0.9.3/efld_float32.tflite \\
        models/efld-mnv3s-0.5-v0.9.3/efld_int8.tflite --out benchmarks/results/invoke_timing.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.bench import host_info, time_steps
from efld_export.runtime import TFLiteBackend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tflite", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    report = {"host": host_info(), "what": "TFLiteBackend.invoke on one fixed input (ai-edge-litert, 1 thread)",
              "results": {}}
    for path in args.tflite:
        backend = TFLiteBackend(path, threads=1)
        x = backend.quantise(np.full((1, 112, 112, 3), 0.5, np.float32))
        report["results"][str(path)] = time_steps(backend.invoke, x[None], args.runs, args.warmup)
        print(path, report["results"][str(path)]["median_ms"], "ms")
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
