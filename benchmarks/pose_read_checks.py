"""Is the pose head's read of its own points the gap, or the points? (issue 3, a diagnosis on aflw2000-3d-val; no
figure here chooses anything.) The head reads 3.75 from val's true points and 4.57 from its own (v0.9.7). Each check
changes the head's output or its input in one way that needs no new training and reports val's pose MAE after it
(`pose_mae_interval` first: the pose MAE's own 95 % interval from resampling val's faces within each |yaw| bin, how
far another draw of such faces, the held-out half for one, could read the same model):

- `scale`: one angle's output scaled by a factor, within one predicted |yaw| bin (is the head too bold or too timid?);
- `offset`: a constant added to one angle (a bias?);
- `centroid_to_truth`: the predicted points moved as a whole onto the true points' centroid (does the head read where
  the face sits?);
- `shape_space`: the predicted points projected on the training pool's labels' first K principal shapes (crop frame);
- `mirror_offset`: the network's left-right asymmetry, the flip test's mean correction of the points over pool faces
  (crop units), added to val's single-pass points (is the yaw bias the network's handedness?);
- `head_average` (with --other-heads): other pose heads trained on the same frozen network (other seeds), each with
  its own profile calibration k, their reads averaged with this model's (do the heads' errors average out?).

    python benchmarks/pose_read_checks.py models/efld-mnv3s-0.5/stage13/efld.pt --labels runs/pool_labels_jaw_offset_y \\
        --out benchmarks/results/pose_read_checks_v0.9.7.json \\
        --other-heads runs/pose_head_jaw_offset_soup4_s16_mirror.pt=0.82 runs/pose_head_jaw_offset_soup4_s17_mirror.pt=0.81
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from efld_export.checkpoint import load_model
from efld_export.crop import INPUT_SIZE, invert_matrix, transform_points
from efld_export.data import data_root, load_records
from efld_export.data.record import Record
from efld_export.evaluate import predict_records
from efld_export.files import write_text
from efld_export.metrics import nme_bbox, paired_bootstrap, pose_errors, pose_mae, yaw_binned
from efld_export.runtime import LandmarkModel, TorchBackend
from pose_profile_keep import crop_matrices, head_reader, in_crop

BINS = ((0, 30), (30, 60), (60, 90))
POOL_FACES = 3000  # pool faces sampled for the principal shapes' fit and the mirror offset


def to_crop(records: list[Record], points: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Points in each record's `efld eval` crop, in crop units, and the crops' matrices."""
    mats = crop_matrices(records)
    return in_crop(points, mats), mats


def from_crop(points: np.ndarray, mats: list[np.ndarray]) -> np.ndarray:
    """Crop units back to image pixels (to_crop's inverse)."""
    return np.array([transform_points(p * (INPUT_SIZE - 1), invert_matrix(m)) for p, m in zip(points, mats)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--labels", type=Path, required=True, help="The pool labelled by `efld label`.")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--other-heads", nargs="*", default=[], metavar="CKPT=K",
                    help="Checkpoints of the same network with other pose heads, each with its profile calibration k.")
    args = ap.parse_args()
    net = load_model(args.model)
    model = LandmarkModel(TorchBackend(net))
    val = load_records(data_root() / "aflw2000-3d-val", progress=False)
    true, true_points = np.stack([r.pose for r in val]), np.stack([r.points for r in val])
    own, pose = predict_records(model, val, progress=False)
    read = head_reader(net, val)

    def calibrated(points: np.ndarray) -> np.ndarray:
        """The head's read of points, with the model's own profile calibration, as `efld eval` reads it."""
        return np.degrees(net.calibrate_profile_pose(torch.tensor(np.radians(read(points)))).numpy())

    def mae(p: np.ndarray) -> float:
        return round(pose_mae(p, true)["mean"], 4)

    out: dict = {"model": str(args.model), "labels": str(args.labels), "pose_mae": mae(pose),
                 "head_on_true_points": mae(calibrated(true_points)), "scale": {}, "offset": {}}
    errors = pose_errors(pose, true)
    interval = paired_bootstrap(np.zeros_like(errors), errors, true[:, 0], by_bin=False)
    out["pose_mae_interval"] = [round(v, 3) for v in interval["ci95"]]
    for a, angle in enumerate(("yaw", "pitch", "roll")):
        for lo, hi in BINS:
            sel = (np.abs(pose[:, 0]) >= lo) & (np.abs(pose[:, 0]) < hi)
            for factor in (0.9, 1.1, 1.2):
                p = pose.copy()
                p[sel, a] *= factor
                out["scale"][f"{angle}_{lo}_{hi}_x{factor}"] = mae(p)
        for shift in (-1.0, -0.5, 0.5, 1.0):
            p = pose.copy()
            p[:, a] += shift
            out["offset"][f"{angle}_{shift:+}"] = mae(p)
    out["centroid_to_truth"] = mae(calibrated(own - own.mean(1, keepdims=True) + true_points.mean(1, keepdims=True)))

    pool = load_records(args.labels, skip_bad=True, progress=False)
    pool = [pool[i] for i in np.random.default_rng(0).choice(len(pool), min(POOL_FACES, len(pool)), replace=False)]
    labels = to_crop(pool, np.stack([r.points for r in pool]))[0].reshape(len(pool), -1)
    mean = labels.mean(0)
    basis = np.linalg.svd(labels - mean, full_matrices=False)[2]
    own_crop, mats = to_crop(val, own)
    flat = own_crop.reshape(len(val), -1)
    out["shape_space"] = {str(k): mae(calibrated(from_crop((mean + (flat - mean) @ basis[:k].T @ basis[:k])
                                                           .reshape(-1, 68, 2), mats)))
                          for k in (10, 20, 30, 50, 80)}

    single = predict_records(model, pool, progress=False)[0]
    net.flip_test = True
    flipped = predict_records(model, pool, progress=False)[0]
    net.flip_test = False
    offset = (to_crop(pool, flipped)[0] - to_crop(pool, single)[0]).mean(0)
    moved = from_crop(own_crop + offset, mats)
    out["mirror_offset"] = {
        "rms_percent_of_crop": float(np.sqrt((offset ** 2).mean()) * 100), "pose_mae": mae(calibrated(moved)),
        "nme_before": float(yaw_binned(nme_bbox(own, true_points), true[:, 0])["mean_of_bins"] * 100),
        "nme_after": float(yaw_binned(nme_bbox(moved, true_points), true[:, 0])["mean_of_bins"] * 100)}
    if args.other_heads:
        reads, each = [pose], {}
        for spec in args.other_heads:
            path, k = spec.rsplit("=", 1)
            other = load_model(path)
            other.pose_profile_keep = float(k)
            reads.append(predict_records(LandmarkModel(TorchBackend(other)), val, progress=False)[1])
            each[spec] = mae(reads[-1])
        out["head_average"] = {"heads": each, "pose_mae": mae(np.mean(reads, 0))}
    write_text(args.out, json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
