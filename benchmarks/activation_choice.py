"""Which activation should the shipped model use? Accuracy and int8 speed, measured side by side.

For each activation: a short training run (same data, seed and steps), then export through the
real pipeline (ONNX -> onnx2tf int8) and measure XNNPACK delegation, host latency (1 thread)
and the val NME of the int8 artifact. Writes JSON.

    python benchmarks/activation_choice.py --out benchmarks/results/activation_choice.json
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from efld_export.checkpoint import load_model
from efld_export.data import data_root, load_records
from efld_export.evaluate import evaluate
from efld_export.export.calibration import calibration_crops, to_model_input
from efld_export.export.onnx import export_onnx
from efld_export.export.tflite import convert, xnnpack_report
from efld_export.release import host_latency_ms, tool_versions
from efld_export.runtime import LandmarkModel, load_backend
from efld_export.train import TrainConfig, train


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--acts", nargs="+", default=["relu", "hswish"])
    ap.add_argument("--width", type=float, default=0.5)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--samples", type=int, default=6000, help="training subset size")
    args = ap.parse_args()
    val = load_records(data_root() / "aflw2000-3d-val", progress=False)
    crops, calib_desc = calibration_crops(None, 200)
    results = {"command": "python benchmarks/activation_choice.py " + " ".join(
        f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in vars(args).items()),
        "setup": {"width": args.width, "epochs": args.epochs, "train_samples": args.samples, "seed": 0,
                  "calibration": calib_desc, "tools": tool_versions()}, "runs": {}}
    for act in args.acts:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            cfg = TrainConfig(model={"name": "efld_mnv3_small", "width": args.width, "act": act, "se": True},
                              epochs=args.epochs, max_samples=args.samples, out=str(tmp / "run"), workers=1)
            best = train(cfg, progress=False)
            model = load_model(best)
            onnx_path = export_onnx(model, tmp / f"{act}.onnx")
            tfl = convert(onnx_path, tmp / "work", to_model_input(crops))
            run = {}
            for kind in ("fp32", "int8"):
                rep, _ = evaluate(LandmarkModel(load_backend(tfl[kind])), val, progress=False)
                run[kind] = {"bytes": tfl[kind].stat().st_size, "xnnpack": xnnpack_report(tfl[kind]),
                             "host_latency": host_latency_ms(tfl[kind]), "nme_bbox": rep["nme_bbox"]}
            results["runs"][act] = run
            print(act, json.dumps({k: (v["host_latency"]["median_ms"], v["nme_bbox"]["mean_of_bins"],
                                       v["xnnpack"]["partitions"]) for k, v in run.items()}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
