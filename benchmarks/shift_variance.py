"""How much does one pass's answer depend on where the pixel grid falls? (benchmarks/README.md, "Shift
variance"). Each model runs on aflw2000-3d-val (or --data) with its crop moved by a few crop pixels (the box
from the ground-truth landmarks, shifted; the points mapped back to the image as always, so a model that
moved its answer with the face would score the same at every shift), through the one evaluator. Reported:
NME and pose at each shift, and the NME of averages over shift sets. If averaging crops that differ by 2 px
helps, much of one pass's error is its reaction to the grid, not the face.

    python benchmarks/shift_variance.py --model models/efld-mnv3s-0.5/efld.pt \
        --out benchmarks/results/shift_variance.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from efld_export.crop import INPUT_SIZE, box_from_points, square_from_box
from efld_export.data import data_root, load_records
from efld_export.evaluate import compute_metrics
from efld_export.files import write_text
from efld_export.runtime import LandmarkModel

#: Shifts (crop pixels, x and y) and the averages reported over them.
SHIFTS = ((0, 0), (2, 2), (-2, -2), (2, -2), (-2, 2), (4, 0), (0, 4), (-4, 0), (0, -4), (4, 4), (8, 8))
AVERAGES = {"two crops, 4 px apart diagonally": ((0, 0), (4, 4)),
            "five crops, +-2 px diagonals": ((0, 0), (2, 2), (-2, -2), (2, -2), (-2, 2)),
            "five crops, +-4 px cross": ((0, 0), (4, 0), (0, 4), (-4, 0), (0, -4)),
            "two crops, 8 px apart diagonally (half a stride-16 cell)": ((0, 0), (8, 8))}


def shifted_boxes(records: list, dx: float, dy: float) -> list[np.ndarray]:
    """Each record's landmark box moved by (dx, dy) crop pixels (a crop pixel: crop.py's square side / INPUT_SIZE)."""
    boxes = []
    for r in records:
        box = box_from_points(r.points)
        px = square_from_box(box)[1] / INPUT_SIZE
        boxes.append(box + np.array([dx * px, dy * px, 0.0, 0.0]))
    return boxes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="checkpoint or artifact (repeatable)")
    ap.add_argument("--data", default="aflw2000-3d-val", help="data set under the data root (NAME[:split])")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    records = load_records(str(data_root() / args.data), progress=False)
    gt = np.stack([r.points for r in records])
    gt_pose = np.stack([r.pose for r in records]) if all(r.pose is not None for r in records) else None
    out = {"command": "python " + " ".join(sys.argv), "data": args.data, "models": {}}

    def score(points: np.ndarray, pose: np.ndarray | None) -> dict:
        rep = compute_metrics(points, gt, pose, gt_pose)
        nme = rep["nme_bbox"]
        return {"nme": round(nme.get("mean_of_bins", nme["overall"]), 4),
                "pose_mae": round(rep["pose_mae"]["mean"], 3) if "pose_mae" in rep else None}

    for path in args.model:
        model = LandmarkModel.from_artifact(path, threads=args.threads)
        preds = {}
        for dx, dy in SHIFTS:
            faces = [(r.extra["image"], b) for r, b in zip(records, shifted_boxes(records, dx, dy))]
            pr = model.predict_batch(faces)
            preds[(dx, dy)] = (np.stack([p.points for p in pr]),
                               None if pr[0].pose is None else np.stack([p.pose for p in pr]))
        single = {f"{dx},{dy}": score(*preds[(dx, dy)]) for dx, dy in SHIFTS}
        averaged = {}
        for name, keys in AVERAGES.items():
            pts = np.mean([preds[k][0] for k in keys], 0)
            pose = None if preds[keys[0]][1] is None else np.mean([preds[k][1] for k in keys], 0)
            averaged[name] = score(pts, pose)
        nmes = [s["nme"] for s in single.values()]
        gain = single["0,0"]["nme"] - averaged["five crops, +-2 px diagonals"]["nme"]
        out["models"][path] = {"single_crop": single, "single_crop_mean_nme": round(float(np.mean(nmes)), 4),
                               "averaged": averaged, "gain_of_five_diagonal_crops": round(gain, 4)}
        print(path, single["0,0"], {k: v["nme"] for k, v in averaged.items()}, flush=True)
    write_text(args.out, json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
