"""The profile pose calibration's k, from training data (models/efld.py, `pose_profile_keep`).

Near 90 degrees of yaw only one combination of pitch and roll is observable; the other, pitch + sign(yaw)
* roll, is ill-conditioned, and the pose head, reading the network's predicted points, amplifies their
error into it. The classical correction for a regressor fed noisy inputs is to scale its output by the
slope of its output on clean inputs against its output on the noisy ones. On the training pool the
label points are the clean inputs: for each face the head is run on the label points and on the
network's own predicted points (box from the label points, as `efld eval` crops), and k is the
least-squares slope through zero of the first on the second, for that combination, over faces whose
predicted |yaw| passes the ramp's full angle (PROFILE_RAMP_DEG). The training faces are predicted more
closely than unseen ones, so k errs towards too little correction.

`--val` adds the diagnosis on aflw2000-3d-val (not used for k): the head on the true points against
its own, and the pose MAE at k, each angle per |yaw| bin; then, region by region, the pose MAE at k with that
region's true points put in place of the predicted ones: which region's error costs the pose; and the pose MAE and
NME with the predicted jaw's error scaled by a factor (1: as predicted, 0: val's true jaw), which says how much
closer a jaw must come for a target.

    efld label ../shared/data/aflw-21pt-crops --out runs/pool_labels
    python benchmarks/pose_profile_keep.py models/efld-mnv3s-0.5/efld.pt --labels runs/pool_labels --val \\
        --out benchmarks/results/pose_profile_keep.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from efld_export.checkpoint import load_model
from efld_export.crop import INPUT_SIZE, box_from_points, crop_matrix, square_from_box, transform_points
from efld_export.data import data_root, load_records
from efld_export.data.record import Record
from efld_export.evaluate import predict_records
from efld_export.files import write_text
from efld_export.landmarks import REGIONS
from efld_export.metrics import nme_bbox, pose_mae, yaw_binned
from efld_export.models.efld import PROFILE_RAMP_DEG
from efld_export.runtime import LandmarkModel, TorchBackend


def crop_matrices(records: list[Record]) -> list[np.ndarray]:
    """Each record's crop as `efld eval` cuts it (the box from its landmarks)."""
    return [crop_matrix(*square_from_box(box_from_points(r.points)), INPUT_SIZE) for r in records]


def in_crop(points: np.ndarray, crops: list[np.ndarray]) -> np.ndarray:
    """Points (image pixels, one set per crop) in crop units, the head's input frame."""
    return np.array([transform_points(p, m) / (INPUT_SIZE - 1) for p, m in zip(points, crops)])


def head_reader(net: torch.nn.Module, records: list[Record]) -> Callable[[np.ndarray], np.ndarray]:
    """A function from points (image pixels, one set per record) to the pose head's read of them (degrees), each
    set cropped as `efld eval` crops its record; the crops are computed once for every set of points read."""
    crops = crop_matrices(records)

    def read(points: np.ndarray) -> np.ndarray:
        x = in_crop(points, crops).reshape(len(crops), -1)
        with torch.no_grad():
            return np.degrees(net.read_pose(torch.tensor(x, dtype=torch.float32)).numpy())
    return read


def combination(pose: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """pitch + sign(yaw) * roll: the combination that turns ill-conditioned towards profile."""
    return pose[:, 1] + sign * pose[:, 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--labels", type=Path, required=True, help="The pool labelled by `efld label`.")
    ap.add_argument("--val", action="store_true", help="Add the diagnosis on aflw2000-3d-val.")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    net = load_model(args.model)
    net.pose_profile_keep = 1.0  # measure the head itself
    model = LandmarkModel(TorchBackend(net))
    start, full = PROFILE_RAMP_DEG
    pool = [r for r in load_records(args.labels, skip_bad=True, progress=False) if abs(r.pose[0]) > start - 15]
    _, own = predict_records(model, pool, progress=False)
    clean = head_reader(net, pool)(np.stack([r.points for r in pool]))
    out: dict = {"model": str(args.model), "labels": str(args.labels), "ramp_deg": list(PROFILE_RAMP_DEG),
                 "pool_faces_read": len(pool), "training": {}}
    for lo in (start, full):
        sel = np.abs(own[:, 0]) > lo
        sign = np.sign(own[sel, 0])
        noisy, ref = combination(own[sel], sign), combination(clean[sel], sign)
        out["training"][f"beyond_{lo:g}"] = {
            "n": int(sel.sum()), "slope_through_zero": float(noisy @ ref / (noisy @ noisy)),
            "std_own_points": float(noisy.std()), "std_label_points": float(ref.std())}
    keep = round(out["training"][f"beyond_{full:g}"]["slope_through_zero"], 2)
    out["keep"] = keep
    if args.val:
        val = load_records(data_root() / "aflw2000-3d-val", progress=False)
        true = np.stack([r.pose for r in val])
        true_points = np.stack([r.points for r in val])
        own_points, own_val = predict_records(model, val, progress=False)
        read_val = head_reader(net, val)
        on_true = read_val(true_points)
        net.pose_profile_keep = keep

        def calibrated(pose_deg: np.ndarray) -> np.ndarray:
            return np.degrees(net.calibrate_profile_pose(torch.tensor(np.radians(pose_deg))).numpy())

        def toward_truth(idx: range, factor: float) -> np.ndarray:
            """The predicted points with those at `idx` moved to val's truth but `factor` of their error."""
            mixed = own_points.copy()
            mixed[:, idx] = true_points[:, idx] + factor * (own_points[:, idx] - true_points[:, idx])
            return mixed

        out["val"] = {}
        for name, p in (("head_on_own_points", own_val), ("head_on_true_points", on_true),
                        (f"head_on_own_points_keep_{keep}", calibrated(own_val))):
            mae = pose_mae(p, true)  # where the points' error costs pose: each angle per |yaw| bin, and its bias
            out["val"][name] = {"pose_mae": mae["mean"], "geodesic": mae["geodesic"]["mean"],
                                "by_yaw_bin": mae["by_yaw_bin"], "bias": mae["bias"]}
        out["val"][f"true_region_in_own_points_keep_{keep}"] = {}
        for region, idx in REGIONS.items():
            mae = pose_mae(calibrated(read_val(toward_truth(idx, 0.0))), true)
            out["val"][f"true_region_in_own_points_keep_{keep}"][region] = {
                "pose_mae": mae["mean"], "geodesic": mae["geodesic"]["mean"], "by_yaw_bin": mae["by_yaw_bin"]}
        out["val"][f"jaw_error_scaled_keep_{keep}"] = {}
        for factor in (1.0, 0.9, 0.75, 0.5, 0.25, 0.0):
            mixed = toward_truth(REGIONS["jaw"], factor)
            out["val"][f"jaw_error_scaled_keep_{keep}"][str(factor)] = {
                "pose_mae": pose_mae(calibrated(read_val(mixed)), true)["mean"],
                "nme_bbox_mean_of_bins": yaw_binned(nme_bbox(mixed, true_points), true[:, 0])["mean_of_bins"] * 100}
    write_text(args.out, json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
