"""How far do the landmarks bound the pose? On aflw2000-3d-val, the model's pose head against PnP of the
3DMM face (the pose labels' method, pose.py's pose_label) on the model's own predicted points and on the
true points, each face cut to a 120-px crop around its landmark box (the pool's crop size), against
pose.csv. The pose head reads the predicted landmarks, so PnP of them is what its inputs alone give by
geometry, and PnP of the true points what perfect landmarks would give.

    python benchmarks/pose_from_points.py models/efld-mnv3s-0.5/efld.pt --out benchmarks/results/pose_from_points.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points, crop_matrix, square_from_box, transform_points
from efld_export.data import data_root, load_records
from efld_export.evaluate import predict_records
from efld_export.metrics import pose_mae
from efld_export.pose import pose_label
from efld_export.runtime import LandmarkModel

CROP = 120


def _rounded(report: dict) -> dict:
    """The report's figures to 2 decimals, nested dicts included."""
    return {k: _rounded(v) if isinstance(v, dict) else round(v, 2) for k, v in report.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    val = load_records(data_root() / "aflw2000-3d-val", progress=False)
    true = np.stack([r.pose for r in val])
    pred, head = predict_records(LandmarkModel.from_artifact(args.model), val, progress=False)

    def pnp(points: np.ndarray) -> np.ndarray:
        out = []
        for p, r in zip(points, val):
            centre, side = square_from_box(box_from_points(r.points))
            out.append(pose_label(transform_points(p, crop_matrix(centre, side, CROP, 0.0)), CROP, CROP))
        return np.stack(out)

    results = {"command": f"python benchmarks/pose_from_points.py {args.model} --out {args.out}", "methods": {}}
    for name, est in (("pose head", head), ("PnP of the predicted points", pnp(pred)),
                      ("PnP of the true points", pnp(np.stack([r.points for r in val])))):
        mae = pose_mae(est, true)
        results["methods"][name] = _rounded({**{k: mae[k] for k in ("mean", "yaw", "pitch", "roll")},
                                             "by_yaw_bin": mae["mean_by_yaw_bin"], "angle_by_yaw_bin": mae["by_yaw_bin"],
                                             "geodesic": mae["geodesic"], "bias": mae["bias"]})
        print(name, results["methods"][name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
