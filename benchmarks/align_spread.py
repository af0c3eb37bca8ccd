"""How well does `efld align` align? On aflw2000-3d-val, the full pipeline (detector, landmarks,
5-point similarity) aligns each image; the TRUE eye centres (from the ground-truth eye contours)
are then mapped into the aligned crop. Their spread across the folder (std in pixels of the crop,
and mean distance to the template's eye points) is reported per |yaw| bin.

    python benchmarks/align_spread.py --out benchmarks/results/align_spread.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from efld_export.align import align_face, template_points
from efld_export.crop import box_from_points, transform_points
from efld_export.data import data_root, load_records
from efld_export.detect import box_iou
from efld_export.landmarks import GROUPS
from efld_export.predict import Predictor, default_model_path
from efld_export.runtime import LandmarkModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--template", default="arcface")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    records = load_records(data_root() / "aflw2000-3d-val", progress=False)[:args.limit]
    predictor = Predictor(LandmarkModel.from_artifact(default_model_path()), "auto")
    target = template_points(args.template, args.size)[:2]
    eyes, yaws, missed = [], [], {"0_30": 0, "30_60": 0, "60_90": 0}
    t0 = time.perf_counter()
    for r in records:
        yaw = abs(r.pose[0])
        key = "0_30" if yaw <= 30 else "30_60" if yaw <= 60 else "60_90"
        faces = predictor.predict(r.extra["image"])
        gt_box = box_from_points(r.points)
        best = max(faces, key=lambda f: box_iou(f.box, gt_box), default=None)
        if best is None or box_iou(best.box, gt_box) < 0.3:
            missed[key] += 1
            continue
        m = align_face(r.extra["image"], best.points, args.size, args.template).matrix
        true_eyes = np.stack([r.points[list(GROUPS["right_eye"])].mean(0), r.points[list(GROUPS["left_eye"])].mean(0)])
        eyes.append(transform_points(true_eyes, m))
        yaws.append(yaw)
    eyes, yaws = np.stack(eyes), np.array(yaws)
    out = {"command": f"python benchmarks/align_spread.py --out {args.out} --size {args.size} --template {args.template}"
                      + (f" --limit {args.limit}" if args.limit else ""),
           "detector": predictor.detector.name, "n_images": len(records), "missed": missed,
           "seconds": round(time.perf_counter() - t0, 1), "template_eyes": target.tolist(), "bins": {}}
    for name, lo, hi in (("0_30", -1, 30), ("30_60", 30, 60), ("under_60", -1, 60), ("60_90", 60, 1e9)):
        sel = (yaws > lo) & (yaws <= hi)
        e = eyes[sel]
        out["bins"][name] = {"n": int(sel.sum()),
                             "std_px": np.round(e.std(0), 2).tolist(),  # [eye][x, y]
                             "mean_dist_to_template_px": np.round(np.linalg.norm(e - target, axis=2).mean(0), 2).tolist(),
                             "eye_distance_px": {"mean": round(float(np.linalg.norm(e[:, 0] - e[:, 1], axis=1).mean()), 2),
                                                 "std": round(float(np.linalg.norm(e[:, 0] - e[:, 1], axis=1).std()), 2)},
                             "eye_tilt_deg_std": round(float(np.degrees(np.arctan2(e[:, 1, 1] - e[:, 0, 1],
                                                                                     e[:, 1, 0] - e[:, 0, 0])).std()), 2)}
        print(name, out["bins"][name], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
