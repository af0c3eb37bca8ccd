"""The labeller's jaw against a dense 68-point markup (label.py's JAW_OFFSETS), measured on training data alone.

youtube-faces-68 train carries true 68 points. Each face goes through the labeller exactly as an AFLW face
does, from the 21 points its own 68 imply (the 3D shape model learnt from aflw-21pt-crops, as `efld train`
learns it; MediaPipe's meshes; yaw by PnP of the 3DMM face on the true points). On the faces within --max-yaw
degrees, each jaw point's mean error is taken in the face's frame (x along the outer eye corners, y across),
in units of the landmark box, made mirror-symmetric, and turned into the shape model's millimetres (its mean
face's box). The offset that undoes it is written to label.py's JAW_OFFSET_FILE with --write; the report
gives the youtube faces' jaw error with the labeller as it was and with each offset ("y", "xy"), and the
bias itself. No evaluation data is read: benchmarks/label_quality.py --jaw-offset scores the result on
aflw2000-3d-val's 21 points.

    python benchmarks/labeller_jaw.py --write --out benchmarks/results/labeller_jaw.json
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points
from efld_export.face3d import JAW
from efld_export.files import write_text
from efld_export.label import (JAW_OFFSET_FILE, fit_shape_model, label_records, pool_shape_model, teacher_jaw_max_yaw,
                               teacher_meshes)
from efld_export.landmarks import FLIP_PERM, aflw21_from_68
from efld_export.data import data_root, load_records
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face, pose_label


def face_frame_errors(points: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(N, 68, 2) errors along (x) and across (y) the true outer eye corners' line, in landmark boxes."""
    box = np.array([box_from_points(t) for t in truth])
    size = np.sqrt(box[:, 2] * box[:, 3])
    ex = truth[:, 45] - truth[:, 36]
    ex /= np.linalg.norm(ex, axis=1, keepdims=True)
    ey = np.stack([-ex[:, 1], ex[:, 0]], 1)
    err = points - truth
    return np.stack([(err * ex[:, None]).sum(-1), (err * ey[:, None]).sum(-1)], -1) / size[:, None, None]


def symmetric(bias: np.ndarray) -> np.ndarray:
    """A 68 x 2 bias averaged with its mirror image (x negated, points through the flip permutation)."""
    return (bias + bias[FLIP_PERM] * [-1.0, 1.0]) / 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-yaw", type=float, default=15.0, help="the faces the bias is taken on, by |yaw|")
    ap.add_argument("--seed", type=int, default=0, help="seed of the shape model's face sample (training's)")
    ap.add_argument("--write", action="store_true", help=f"write the offset to {JAW_OFFSET_FILE.name}")
    args = ap.parse_args()
    t0 = time.time()
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    teacher = MediaPipePeer()
    model, _ = pool_shape_model(load_records(root / "aflw-21pt-crops", progress=False), mean_face, teacher,
                                seed=args.seed)
    faces = load_records(f"{root / 'youtube-faces-68'}:train", progress=False)
    for r in faces:
        r.extra["points21"] = aflw21_from_68(r.points)
        r.extra["yaw_deg"] = pose_label(r.points, *r.extra["image"].shape[1::-1])[0]
    rigid, _ = label_records(faces, mean_face, np.inf, progress=False)
    meshes = teacher_meshes(rigid, teacher)
    truth = np.stack([rec.points for rec, _ in rigid])
    near = np.abs([rec.extra["yaw_deg"] for rec, _ in rigid]) < args.max_yaw
    box_mm = float(np.sqrt(np.prod(np.ptp(model.mean[:, :2], 0))))

    def errors(offset: np.ndarray | None) -> np.ndarray:
        kept = [(rec, copy.copy(lab)) for rec, lab in rigid]
        fit_shape_model(kept, meshes, model if offset is None else model.with_jaw_offset(offset), own_weight=0.0,
                        jaw_max_yaw=teacher_jaw_max_yaw("3dmm"))
        return face_frame_errors(np.stack([lab.points for _, lab in kept]), truth)

    def jaw_error(e: np.ndarray) -> dict:
        return {f"within_{args.max_yaw:g}": round(float(np.linalg.norm(e[near][:, JAW], axis=-1).mean() * 100), 3),
                "every_face": round(float(np.linalg.norm(e[:, JAW], axis=-1).mean() * 100), 3)}

    before = errors(None)
    bias = symmetric(before[near].mean(0))[JAW]
    offset = -bias * box_mm
    results = {"command": f"python benchmarks/labeller_jaw.py{' --write' if args.write else ''} --out {args.out}"
                          + ("" if args.max_yaw == 15.0 else f" --max-yaw {args.max_yaw:g}"),
               "n_faces": len(rigid), "n_near_frontal": int(near.sum()), "shape_model_box_mm": round(box_mm, 2),
               "jaw_bias_box_percent": {"x": np.round(bias[:, 0] * 100, 2).tolist(),
                                        "y": np.round(bias[:, 1] * 100, 2).tolist()},
               "offset_mm": {"x": np.round(offset[:, 0], 2).tolist(), "y": np.round(offset[:, 1], 2).tolist()},
               "jaw_nme": {"none": jaw_error(before), "y": jaw_error(errors(offset * [0.0, 1.0])),
                           "xy": jaw_error(errors(offset))}}
    results["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(results, indent=2))
    if args.write:
        rows = "\n".join(f"{i},{dx:.3f},{dy:.3f}" for i, (dx, dy) in enumerate(offset))
        write_text(JAW_OFFSET_FILE, "point,dx_mm,dy_mm\n" + rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
