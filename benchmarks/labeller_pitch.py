"""The labeller's pitch offset (label.py's LABELLER_PITCH_OFFSET), measured on training data alone.

youtube-faces-68 train carries true 68 points. Each face goes through the labeller exactly as an AFLW
face does, from the 21 points its own 68 imply (the 3D shape model learnt from aflw-21pt-crops, as
`efld train` learns it; MediaPipe's meshes), and the pose of its 68 labels (PnP of the 3DMM face,
pose.py's pose_label) is compared with the same PnP on its true 68 points. The median pitch difference
is the offset that `pose_labels: 3dmm_calibrated` adds back. No evaluation data is read.

    python benchmarks/labeller_pitch.py --out benchmarks/results/labeller_pitch_jaw_3dmm.json
    python benchmarks/labeller_pitch.py --jaw-offset y --out benchmarks/results/labeller_pitch_jaw_offset_y.json
    python benchmarks/labeller_pitch.py --jaw-depth teacher --out benchmarks/results/labeller_pitch.json  # up to v0.8.1
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from efld_export.data import data_root, load_records
from efld_export.label import JAW_DEPTHS, JAW_OFFSETS, LABELLER_PITCH_OFFSET, label_records, pool_shape_model
from efld_export.landmarks import aflw21_from_68
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face, pose_label

ANGLES = ("yaw", "pitch", "roll")
YAW_BINS = ((0, 10), (10, 20), (20, 30), (30, 91))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=0, help="seed of the shape model's face sample (training's)")
    ap.add_argument("--jaw-depth", choices=JAW_DEPTHS, default="3dmm", help="the shape model's jaw depth")
    ap.add_argument("--jaw-offset", choices=JAW_OFFSETS, default="none", help="the shape model's jaw offset")
    args = ap.parse_args()
    t0 = time.time()
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    teacher = MediaPipePeer()
    pool = load_records(root / "aflw-21pt-crops", progress=False)
    model, _ = pool_shape_model(pool, mean_face, teacher, seed=args.seed, jaw_depth=args.jaw_depth,
                                jaw_offset=args.jaw_offset)
    faces = load_records(f"{root / 'youtube-faces-68'}:train", progress=False)
    for r in faces:
        r.extra["points21"] = aflw21_from_68(r.points)
    labelled, _ = label_records(faces, mean_face, np.inf, progress=False, teacher=teacher, shape_model=model,
                                pose_labels="3dmm", jaw_depth=args.jaw_depth, jaw_offset=args.jaw_offset)
    true = np.stack([pose_label(rec.points, *rec.extra["image"].shape[1::-1]) for rec, _ in labelled])
    diff = np.stack([lab.pose for _, lab in labelled]) - true  # labels' PnP minus the true points' PnP
    yaw = np.abs(true[:, 0])
    by_yaw = {}
    for lo, hi in YAW_BINS:
        m = (yaw >= lo) & (yaw < hi)
        by_yaw[f"yaw_{lo}_{min(hi, 90)}"] = {"n": int(m.sum()), "median_pitch": round(float(np.median(diff[m, 1])), 2)}
    results = {
        "command": "python benchmarks/labeller_pitch.py" + ("" if args.jaw_depth == "3dmm" else " --jaw-depth teacher")
                   + ("" if args.jaw_offset == "none" else f" --jaw-offset {args.jaw_offset}") + f" --out {args.out}",
        "jaw_depth": args.jaw_depth,
        "jaw_offset": args.jaw_offset,
        "n_faces": len(labelled),
        "median": {a: round(float(v), 2) for a, v in zip(ANGLES, np.median(diff, 0))},
        "mean": {a: round(float(v), 2) for a, v in zip(ANGLES, diff.mean(0))},
        "mae": {a: round(float(v), 2) for a, v in zip(ANGLES, np.abs(diff).mean(0))},
        "pitch_by_true_yaw": by_yaw,
        "pitch_slope_labels_on_true": round(float(np.polyfit(true[:, 1], true[:, 1] + diff[:, 1], 1)[0]), 3),
        "LABELLER_PITCH_OFFSET": LABELLER_PITCH_OFFSET,
        "offset_to_add": round(float(-np.median(diff[:, 1])), 2),
        "seconds": round(time.time() - t0, 1),
    }
    print(json.dumps(results, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
