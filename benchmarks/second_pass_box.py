"""Can `efld predict`'s second pass be given a better box? (benchmarks/README.md, "Framing jitter").

From a detector's box the first pass is far worse than from the ground-truth landmark box (v0.9.4 on val's
found faces: 5.78 against 5.05), and the second pass, cropped at the box of the first pass's points, gets
only part of it back (5.59). The box of a pass's points is their min/max, and a network that follows only
part of a mis-framed crop's offset leaves part of that offset in the box. If what it leaves were legible
in the shape of the points (a face drawn too small, too high), a regression from the points to the true
landmark box would frame the second pass better.

fit: on training data alone (--labels, the pool as `efld label` writes it, and youtube-faces-68 train), each
face's landmark box is moved as a detector's is (centre by N(0, SHIFT_SD) of its side on each axis, side by
exp(N(0, SCALE_SD)): about the mapped BlazeFace box's spread on val's found faces, benchmarks/results/
detectors_blazeface_tight.json: centre 5 % of the side median, side IQR 11 %), the first pass runs there,
and a ridge regression learns the true box (centre offset and log side, in units of the points' box) from
the 136 normalised coordinates of the predicted points. Reported: the spread of the crop's offset, of the
points' box's offset (what the network did not follow) and of the regression's residual.
val: aflw2000-3d-val with BlazeFace's mapped boxes, as benchmarks/detectors.py compare: one pass, the second
pass from the points' box (as Predictor) and from the regressed box, and their means with the first.

    efld label ../shared/data/aflw-21pt-crops --out runs/pool_labels
    python benchmarks/second_pass_box.py --model models/efld-mnv3s-0.5/efld.pt --labels runs/pool_labels \\
        --out benchmarks/results/second_pass_box.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from detectors import best_match
from efld_export.crop import box_from_points, square_from_box
from efld_export.data import data_root, load_records
from efld_export.detect import Detector
from efld_export.files import write_text
from efld_export.metrics import nme_bbox, yaw_binned
from efld_export.runtime import LandmarkModel

#: The simulated detector box: centre moved by N(0, SHIFT_SD) of the side per axis, side scaled by exp(N(0, SCALE_SD)).
SHIFT_SD, SCALE_SD = 0.04, 0.08
#: Ridge penalty per training row.
RIDGE = 1e-2


def centre_side(box: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and longest side of an (x, y, w, h) box: the crop rule's square before its margin."""
    return square_from_box(box, 1.0)


def square(centre: np.ndarray, side: float) -> np.ndarray:
    """The (x, y, w, h) square of that centre and side."""
    return np.array([centre[0] - side / 2, centre[1] - side / 2, side, side])


def features(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The points in units of their own box (centred), a constant 1; and that box's centre and side."""
    centre, side = centre_side(box_from_points(points))
    return np.append(((points - centre) / side).ravel(), 1.0), centre, side


def fit(model: LandmarkModel, labels: Path, per_set: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The regression from a first pass's points to the true box, on training faces framed like a detector's."""
    x, y, offsets = [], [], []
    for spec in (labels, data_root() / "youtube-faces-68:train"):
        recs = load_records(spec, progress=False, skip_bad=True)
        for i in rng.choice(len(recs), min(per_set, len(recs)), replace=False):
            r = recs[i]
            centre, side = centre_side(box_from_points(r.points))
            move, scale = rng.normal(0, SHIFT_SD, 2), rng.normal(0, SCALE_SD)
            points = model.predict(r.load_image(), [square(centre + move * side, side * np.exp(scale))])[0].points
            f, c, s = features(points)
            x.append(f)
            y.append([*(centre - c) / s, np.log(side / s)])
            offsets.append([*-move, -scale])
    x, y = np.array(x), np.array(y)
    weights = np.linalg.solve(x.T @ x + RIDGE * len(x) * np.eye(x.shape[1]), x.T @ y)
    sd = {"axes": ["centre x", "centre y", "log side"],
          "crop_offset": np.std(offsets, 0).round(4).tolist(),
          "points_box_offset": y.std(0).round(4).tolist(),
          "points_box_bias": y.mean(0).round(4).tolist(),
          "regression_residual": (y - x @ weights).std(0).round(4).tolist()}
    return weights, {"training_faces": len(x), "sd_in_units_of_the_box": sd}


def regressed_box(points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    f, centre, side = features(points)
    d = f @ weights
    return square(centre + d[:2] * side, side * np.exp(d[2]))


def on_val(model: LandmarkModel, weights: np.ndarray) -> dict:
    """NME (mean of |yaw| bins, %) of each pass on val's faces that BlazeFace finds."""
    det, passes, truth, yaw = Detector("blazeface"), {}, [], []
    for r in load_records(data_root() / "aflw2000-3d-val", progress=False):
        image = r.load_image()
        found = det.detect(image)
        i = best_match([d.box for d in found], box_from_points(r.points))
        if i is None:
            continue
        one = model.predict(image, [found[i].box])[0].points
        two = model.predict(image, [box_from_points(one)])[0].points
        two_reg = model.predict(image, [regressed_box(one, weights)])[0].points
        for key, pts in (("one_pass", one), ("two_pass", two), ("mean_of_passes (Predictor)", (one + two) / 2),
                         ("two_pass_regressed_box", two_reg), ("mean_of_passes_regressed_box", (one + two_reg) / 2)):
            passes.setdefault(key, []).append(pts)
        truth.append(r.points)
        yaw.append(r.pose[0])
    return {k: yaw_binned(nme_bbox(np.array(v), np.array(truth)) * 100, np.array(yaw)) for k, v in passes.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True, help="The pool labelled by `efld label`.")
    ap.add_argument("--per-set", type=int, default=3000, help="Training faces drawn from each set.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    cv2.setNumThreads(1)
    model = LandmarkModel.from_artifact(args.model)
    weights, fitted = fit(model, args.labels, args.per_set, np.random.default_rng(args.seed))
    result = {"command": " ".join(["python", *sys.argv]), "model": str(args.model),
              "simulated_detector_box": {"shift_sd": SHIFT_SD, "log_scale_sd": SCALE_SD},
              "fit": fitted, "val_blazeface_found_faces": on_val(model, weights)}
    write_text(args.out, json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
