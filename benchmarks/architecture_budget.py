"""Which larger networks fit the product's budgets? Parameters, int8 size, XNNPACK delegation and host
int8 latency of randomly initialised candidates (the graph, not the weights, decides size and speed),
against the budgets: int8 <= 1.0 MB (issue 3), median <= 0.4 ms on the host (issue 5), timed as `efld
bench` times its landmark step (a uint8 crop through the runtime layer, 1 thread). Each candidate
is the shipped architecture (ReLU6, squeeze-excite, landmark-reading pose head) at another backbone
width and S3 fusion width, alone and with the flip test, and with anti-aliased strided convolutions
(a third field, how many of the four strided layers from the input: WIDTH:S3:aaN). No training: a map
for the next model.

    python benchmarks/architecture_budget.py --out benchmarks/results/architecture_budget.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from efld_export.bench import EfldLandmarker, time_steps
from efld_export.export.onnx import export_onnx
from efld_export.export.tflite import convert, xnnpack_report
from efld_export.models import create_model
from efld_export.peers import MediaPipePeer, find_mediapipe_model
from efld_export.release import tool_versions

BUDGET_MB, BUDGET_MS, BUDGET_X_MEDIAPIPE = 1.0, 0.4, 5.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--candidates", nargs="+", default=["0.5:128", "0.625:96", "0.75:32", "0.75:64", "1.0:32"],
                    help="WIDTH:S3_CHANNELS pairs (the shipped model is 0.5:128), WIDTH:S3_CHANNELS:aaN with "
                         "the first N strided convolutions anti-aliased (models/mobilenetv3.py)")
    ap.add_argument("--flip-test", nargs="+", default=["0.5:128", "0.75:64"], help="candidates also timed with it")
    ap.add_argument("--rounds", type=int, default=5,
                    help="timing rounds, every model once per round, in a shuffled order; a model's figure is its "
                         "median round")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    calib = rng.random((32, 112, 112, 3)).astype(np.float32)
    crops = rng.integers(0, 256, (16, 112, 112, 3), dtype=np.uint8)
    mp_crops = rng.integers(0, 256, (16, MediaPipePeer.size, MediaPipePeer.size, 3), dtype=np.uint8)
    results = {"command": f"python benchmarks/architecture_budget.py --out {args.out} --candidates "
                          f"{' '.join(args.candidates)} --flip-test {' '.join(args.flip_test)} --rounds {args.rounds}",
               "budget": {"int8_mb": BUDGET_MB, "int8_median_ms": BUDGET_MS, "x_mediapipe": BUDGET_X_MEDIAPIPE},
               "tools": tool_versions(), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        steps = {"mediapipe": MediaPipePeer(find_mediapipe_model(), 1).points}
        for cand in args.candidates:
            width, s3, *extra = cand.split(":")
            antialias = int(extra[0][2:]) if extra else 0
            for flip in (False, True) if cand in args.flip_test else (False,):
                torch.manual_seed(0)
                model = create_model(width=float(width), s3_channels=int(s3), act="relu6", pose_from="landmarks",
                                     flip_test=flip, antialias=antialias).eval()
                work = Path(tmp) / f"{cand.replace(':', '_')}_{int(flip)}"
                work.mkdir()
                tfl = convert(export_onnx(model, work / "m.onnx"), work, calib)["int8"]
                results["runs"].append({"width": float(width), "s3_channels": int(s3), "antialias": antialias,
                                        "flip_test": flip,
                                        "params": sum(p.numel() for p in model.parameters()),
                                        "int8_bytes": tfl.stat().st_size, "xnnpack": xnnpack_report(tfl)})
                steps[len(results["runs"]) - 1] = EfldLandmarker(tfl, 1).points
        # Interleaved rounds in a fresh order each: a slow spell of the machine spreads over the models.
        rounds: dict = {key: [] for key in steps}
        keys = list(steps)
        for _ in range(args.rounds):
            for i in rng.permutation(len(keys)):
                key = keys[i]
                rounds[key].append(time_steps(steps[key], mp_crops if key == "mediapipe" else crops,
                                              runs=1000, warmup=50)["median_ms"])
    mp_ms = float(np.median(rounds["mediapipe"]))
    results["mediapipe_median_ms"] = {"rounds": rounds["mediapipe"], "median": mp_ms}
    for i, run in enumerate(results["runs"]):
        ms = float(np.median(rounds[i]))
        run["host_latency"] = {"rounds_median_ms": rounds[i], "median_ms": ms}
        run["x_mediapipe"] = round(mp_ms / ms, 2)
        run["fits"] = (run["int8_bytes"] / 1e6 <= BUDGET_MB and ms <= BUDGET_MS
                       and run["x_mediapipe"] >= BUDGET_X_MEDIAPIPE and run["xnnpack"]["fully_delegated"])
        keys = ("width", "s3_channels", "antialias", "flip_test", "params", "int8_bytes", "x_mediapipe", "fits")
        print({k: run[k] for k in keys},
              rounds[i], flush=True)
    print("mediapipe", rounds["mediapipe"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
