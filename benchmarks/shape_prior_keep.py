"""How much of each region should a network keep beside what its other points imply? (issue 3;
efld_export/shape_prior.py) The prior is fitted on the labelled pool (per region in --regions, the network's other
points -> the labels' points of the region), then blended at each keep and read on aflw2000-3d-val as `efld eval`
crops it: the NME (mean of the |yaw| bins, and per region), and the pose from the network's own pose head and
calibration reading the blended points. The pool cannot choose keep (its labels follow one another through the
labeller's shape model); val does, as model selection of one number. `youtube_test` scores the same blends on
youtube-faces-68's test split (true points, mostly frontal, a markup of its own that follows the silhouette on turned
faces; mean over faces). `split_half` says how far such a choice carries to faces it was not made on: keep is chosen by
the NME on a random half of val and scored on the other half, 200 times each way. MODEL is a network
without a prior (v0.9.7; v0.9.8 already carries one).

    python benchmarks/shape_prior_keep.py models/efld-mnv3s-0.5/stage13/efld.pt --labels runs/pool_labels_jaw_offset_y \\
        --regions jaw --out benchmarks/results/shape_prior_keep_jaw_v0.9.7.json   (v0.9.8's keep)
    python benchmarks/shape_prior_keep.py models/efld-mnv3s-0.5/stage13/efld.pt --labels runs/pool_labels_jaw_offset_y \\
        --out benchmarks/results/shape_prior_keep_v0.9.7.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from efld_export.checkpoint import load_model
from efld_export.data import data_root, load_records
from efld_export.files import write_text
from efld_export.landmarks import REGIONS
from efld_export.shape_prior import blend, crop_points, fit_shape_prior
from efld_export.metrics import nme_bbox, nme_bbox_by_region, pose_errors, yaw_binned
from efld_export.runtime import LandmarkModel, TorchBackend

KEEPS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.3, 0.0)
SPLITS = 200


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--labels", type=Path, required=True, help="The pool labelled by `efld label`.")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--regions", default=",".join(REGIONS), help="Comma-separated regions the prior re-estimates.")
    args = ap.parse_args()
    regions = args.regions.split(",")
    net = load_model(args.model)
    net.flip_test = False
    model = LandmarkModel(TorchBackend(net))
    pool = [r for r in load_records(args.labels, skip_bad=True, progress=False) if np.isfinite(r.points).all()]
    prior = fit_shape_prior(*crop_points(model, pool), regions)
    val = load_records(data_root() / "aflw2000-3d-val", progress=False)
    true_pose = np.stack([r.pose for r in val])
    yaw = true_pose[:, 0]
    own, truth = crop_points(model, val)
    own = own.reshape(len(val), -1)
    youtube = load_records(data_root() / "youtube-faces-68:test", progress=False)
    yt_own, yt_truth = crop_points(model, youtube)
    yt_own = yt_own.reshape(len(youtube), -1)

    def binned(e: np.ndarray) -> dict[str, float]:
        return {k: round(v * 100, 4) for k, v in yaw_binned(e, yaw).items() if not k.startswith("n_")}

    out: dict = {"model": str(args.model), "labels": str(args.labels), "regions": regions, "pool_faces": len(pool),
                 "keep": {}, "youtube_test": {}}
    nme, pose = {}, {}
    for keep in KEEPS:
        points = blend(own, prior, keep)
        with torch.no_grad():
            read = np.degrees(net.calibrate_profile_pose(net.read_pose(torch.tensor(points, dtype=torch.float32))).numpy())
        pts = points.reshape(-1, 68, 2)
        nme[keep], pose[keep] = nme_bbox(pts, truth), pose_errors(read, true_pose)
        out["keep"][f"{keep:g}"] = {"nme": binned(nme[keep]), "pose_mae": round(float(np.nanmean(pose[keep])), 4),
                                    "regions": {r: binned(e)["mean_of_bins"]
                                                for r, e in nme_bbox_by_region(pts, truth).items()}}
        yt = blend(yt_own, prior, keep).reshape(-1, 68, 2)
        jaw = nme_bbox_by_region(yt, yt_truth)["jaw"]
        out["youtube_test"][f"{keep:g}"] = {"nme": round(float(nme_bbox(yt, yt_truth).mean() * 100), 4),
                                            "jaw": round(float(jaw.mean() * 100), 4)}
        print(f"keep {keep:g}: {json.dumps(out['keep'][f'{keep:g}'])}, youtube test "
              f"{json.dumps(out['youtube_test'][f'{keep:g}'])}", flush=True)

    def headline(e: np.ndarray, sel: np.ndarray) -> float:
        return yaw_binned(e[sel], yaw[sel])["mean_of_bins"] * 100

    rng = np.random.default_rng(0)
    picks, nme_gain, pose_gain = [], [], []
    for _ in range(SPLITS):
        half = rng.permutation(len(val)) < len(val) // 2
        for chosen_on, scored_on in ((half, ~half), (~half, half)):
            keep = min(KEEPS, key=lambda k: headline(nme[k], chosen_on))
            picks.append(keep)
            nme_gain.append(headline(nme[keep], scored_on) - headline(nme[1.0], scored_on))
            pose_gain.append(np.nanmean(pose[keep][scored_on]) - np.nanmean(pose[1.0][scored_on]))
    out["split_half"] = {"chosen": {f"{k:g}": picks.count(k) for k in KEEPS if k in picks},
                         "nme_change_other_half": {"mean": round(float(np.mean(nme_gain)), 4),
                                                   "p5_p95": np.round(np.percentile(nme_gain, [5, 95]), 4).tolist()},
                         "pose_change_other_half": round(float(np.mean(pose_gain)), 4)}
    write_text(args.out, json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["split_half"], indent=2))


if __name__ == "__main__":
    main()
