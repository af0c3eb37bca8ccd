"""Where the pitch labels' bias comes from: PnP head pose of aflw2000-3d-val's TRUE 68 points with a 3D
face, against its pose.csv (the 3DMM fit's Pose_Para, a weak-perspective camera), for a pinhole camera
of focal length k x the image width, on the 450-px image and on a 120-px crop around the face (the
AFLW pool's crop size). Two faces: the generic mean face (mean_face_68_3d.csv, the labeller's) and the
3DMM's own mean shape (efld_export/assets/mean_face_68_3dmm.csv, the pose labels' since v0.5.0). No
model and no training data are involved.

    python benchmarks/pose_frame.py --out benchmarks/results/pose_frame.json
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points, crop_matrix, square_from_box, transform_points
from efld_export.data import data_root, load_records
from efld_export.metrics import pose_mae
from efld_export.pose import load_mean_face, load_pose_face, pose_from_landmarks

ANGLES = ("yaw", "pitch", "roll")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--focal", type=float, nargs="+", default=[1, 3, 10, 30])
    args = ap.parse_args()
    root = data_root()
    faces = {"mean_face": load_mean_face(root / "mean_face_68_3d.csv"), "3dmm": load_pose_face()}
    val = load_records(root / "aflw2000-3d-val", progress=False)
    true = np.stack([r.pose for r in val])
    yaw = np.abs(true[:, 0])
    views = {"image": [(r.points, *r.extra["image"].shape[1::-1]) for r in val], "crop_120": []}
    for r in val:
        centre, side = square_from_box(box_from_points(r.points))
        views["crop_120"].append((transform_points(r.points, crop_matrix(centre, side, 120, 0.0)), 120, 120))
    results: dict = {"command": f"python benchmarks/pose_frame.py --out {args.out}",
                     "n": pose_mae(true, true)["n"], "runs": []}
    for (face_name, face), k, (view, items) in itertools.product(faces.items(), args.focal, views.items()):
        est = np.stack([pose_from_landmarks(p, face, w, h, k * w) for p, w, h in items])
        mae, frontal = pose_mae(est, true), pose_mae(est[yaw < 30], true[yaw < 30])
        run = {"face": face_name, "focal_x_width": k, "view": view,
               "mae": {a: round(mae[a], 2) for a in ANGLES}, "mae_mean": round(mae["mean"], 2),
               "bias_yaw_0_30": {a: round(frontal["bias"][a], 2) for a in ANGLES},
               "mae_by_bin": {b: round(v, 2) for b, v in mae["mean_by_yaw_bin"].items() if b != "mean_of_bins"}}
        results["runs"].append(run)
        print(run, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
