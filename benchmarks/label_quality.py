"""How good are 68-point labels made from AFLW's 21 human points? Measured on aflw2000-3d-val,
whose own 21 human points (landmarks21.csv) go through the labeller and whose true 68 points score
the result (NME by the landmark box, per |yaw| bin). Never trains on anything from it: the 3D shape
model is learnt from the training pool (aflw-21pt-crops), exactly as `efld train` learns it.

Labellers scored: `rigid` (the mean face fitted by PnP), `mediapipe` (the teacher's own 68 points,
uncorrected) and `shape model` (label.py with the teacher: what training uses). For the shape model,
also the filter's keep rate per yaw bin (faces whose rigid fit is further than --max-fit-error from
their own human points are dropped, as in training) and the NME of the kept faces, against both the re-annotated and the
3DMM-fitted 68 points. `shape model + human points` is the target of direct supervision
(train's label_human_points: human): the visible human points replace the fit at their 16 single
counterparts. Pose labels: pitch and roll against pose.csv per yaw bin (yaw is the file's, here the
3DMM's own; in the pool it is AFLW's, a median 4 degrees from it), by PnP of the 3DMM's mean shape on
the labelled points with the labeller's pitch offset added (training's pose_labels "3dmm_calibrated"),
without it ("3dmm", v0.5.0) and by the fit's own rotation ("mean_face", up to v0.4.0).

Where: by default (--view crop) each val face is first cut to a 120-px crop framed like the pool's
(crop side and centre offset over the face size: the medians of the pool's own rigid labels), since
the labeller's camera (focal length in image widths, label.py's LABEL_FOCAL) acts on the picture it
is given: measured on the 450-px images (--view image, what this benchmark did up to v0.3.0) the
labels look better than they are on the pool's crops. --sweep scores the kept-face labels and pose
labels at other focal lengths (the camera's choice). --jaw-depth: the shape model's jaw depth
(label.py's JAW_DEPTHS; "teacher" up to v0.8.1); --jaw-offset: its jaw offset (label.py's JAW_OFFSETS).

    python benchmarks/label_quality.py --out benchmarks/results/label_quality_jaw_3dmm.json
    python benchmarks/label_quality.py --jaw-depth teacher --out benchmarks/results/label_quality_jaw_teacher.json
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points, crop_matrix, transform_points, warp
from efld_export.data import data_root, load_records
from efld_export.data.readers import read_aflw21_csv, read_landmarks_csv
from efld_export.data.record import Record
from efld_export.face3d import EAR_LOBES, FaceModel3D
from efld_export.label import (JAW_DEPTHS, JAW_OFFSETS, LABEL_FOCAL, fit_shape_model, label_records,
                                pool_shape_model, pose_labels_3dmm, teacher_meshes, teacher_weight,
                                with_human_points)
from efld_export.landmarks import AFLW21_MATRIX
from efld_export.metrics import jaw_forward_offset, nme_bbox, nme_bbox_by_region, pose_mae, yaw_binned
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face

BINS = ((0, 30), (30, 60), (60, 91))
POOL_CROP = 120


def pool_framing(kept: list) -> tuple[float, np.ndarray]:
    """The pool crops' side over the face size and centre offset (in face sizes), medians over its rigid labels."""
    boxes = np.array([box_from_points(lab.points) for _, lab in kept])
    size = np.sqrt(boxes[:, 2] * boxes[:, 3])
    centre = boxes[:, :2] + boxes[:, 2:] / 2
    return float(np.median(POOL_CROP / size)), np.median((centre - POOL_CROP / 2) / size[:, None], 0)


def as_pool_crop(rec: Record, truth68: np.ndarray, framing: tuple[float, np.ndarray]) -> np.ndarray:
    """Cut rec (its image and 21 points, in place) to a crop framed like the pool's; returns the crop's affine."""
    ratio, offset = framing
    box = box_from_points(truth68)
    size = float(np.sqrt(box[2] * box[3]))
    m = crop_matrix(box[:2] + box[2:] / 2 - offset * size, ratio * size, POOL_CROP)
    rec.extra["image"] = warp(rec.extra["image"], m, POOL_CROP)
    rec.extra["points21"] = transform_points(rec.extra["points21"], m)
    return m


def ablation(model: FaceModel3D, mean_face: np.ndarray, faces: list, meshes: np.ndarray, score, focal: float,
             jaw_depth: str) -> None:
    """The shape model's parts one at a time, each fitted to the same faces: which part buys what.
    The last step, + ear lobes, is the labeller itself (scored by the caller)."""
    no_modes = dict(modes=model.modes[:0], std=model.std[:0])
    generic = FaceModel3D(mean_face, aflw21=AFLW21_MATRIX @ mean_face, **no_modes)
    depth = FaceModel3D(model.mean, aflw21=model.aflw21, **no_modes)
    steps = (("rigid, generic mean face (PnP above, here by the same fit)", generic, False, False),
             ("rigid, teacher depth" + ("" if jaw_depth == "teacher" else ", the 3DMM's jaw depth"), depth, False, False),
             ("+ shape modes", model, False, False),
             ("+ teacher's 68 points by |yaw|", model, False, True))
    for name, m, ears, use_teacher in steps:
        labels = {}
        for (rec, lab), mesh in zip(faces, meshes):
            p21 = rec.extra["points21"].copy()
            if not ears:
                p21[list(EAR_LOBES)] = np.nan
            h, w = rec.extra["image"].shape[:2]
            wt = teacher_weight(rec.extra["yaw_deg"]) if use_teacher else 0.0
            labels[rec.image_path.name] = m.fit(p21, w, h, mesh[:, :2], wt, focal=focal * w).points68
        score(f"ablation: {name}", labels)


def pose_label_error(labelled: list, gt: dict) -> dict:
    """The labels' pitch and roll error (degrees) per |yaw| bin and over all faces, by metrics.pose_mae."""
    pred = np.array([lab.pose for _, lab in labelled])
    true = np.array([gt[rec.image_path.name].pose for rec, _ in labelled])
    subsets = {f"yaw_{lo}_{min(hi, 90)}": (np.abs(true[:, 0]) >= lo) & (np.abs(true[:, 0]) < hi) for lo, hi in BINS}
    subsets["all"] = np.ones(len(true), bool)
    out = {}
    for name, m in subsets.items():
        mae = pose_mae(pred[m], true[m])
        out[name] = {"pitch": round(mae["pitch"], 2), "roll": round(mae["roll"], 2), "n": mae["n"],
                     "bias_pitch": round(mae["bias"]["pitch"], 2), "bias_roll": round(mae["bias"]["roll"], 2)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-fit-error", type=float, default=0.08, help="the labeller's drop rule (training's default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--view", choices=("crop", "image"), default="crop",
                    help="crop: val faces cut like the pool's 120-px crops; image: the 450-px images as they are")
    ap.add_argument("--focal", type=float, default=LABEL_FOCAL, help="the labeller's camera, in image widths")
    ap.add_argument("--jaw-depth", choices=JAW_DEPTHS, default="3dmm", help="the shape model's jaw depth")
    ap.add_argument("--jaw-offset", choices=JAW_OFFSETS, default="none", help="the shape model's jaw offset")
    ap.add_argument("--sweep", type=float, nargs="*", default=[1, 2, 3, 5, 10, 30],
                    help="other focal lengths to score the kept-face labels at")
    args = ap.parse_args()
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    teacher = MediaPipePeer()
    t0 = time.time()
    pool = load_records(root / "aflw-21pt-crops", progress=False)
    model, pool_kept = pool_shape_model(pool, mean_face, teacher, args.max_fit_error, args.focal, args.seed,
                                        args.jaw_depth, args.jaw_offset)
    learn_s = time.time() - t0

    val_dir = root / "aflw2000-3d-val"
    gt = {r.image_path.name: r for r in load_records(val_dir, progress=False)}
    fitted = {r.image_path.name: r.points for r in read_landmarks_csv(val_dir / "landmarks_fitted.csv",
                                                                    val_dir / "images") if isinstance(r, Record)}
    human = [r for r in read_aflw21_csv(val_dir / "landmarks21.csv", val_dir / "images") if isinstance(r, Record)]
    framing = pool_framing(pool_kept)
    truth68 = {n: g.points for n, g in gt.items()}
    for r in human:
        r.extra["image"] = gt[r.image_path.name].extra["image"]
        if args.view == "crop":
            m = as_pool_crop(r, gt[r.image_path.name].points, framing)
            truth68[r.image_path.name] = transform_points(gt[r.image_path.name].points, m)
            fitted[r.image_path.name] = transform_points(fitted[r.image_path.name], m)
    yaw_of = {n: abs(g.pose[0]) for n, g in gt.items()}
    signed_yaw = {n: g.pose[0] for n, g in gt.items()}
    argv = [f"--{k.replace('_', '-')} {v}" for k, v in (("max_fit_error", args.max_fit_error), ("view", args.view),
                                                       ("focal", args.focal), ("jaw_depth", args.jaw_depth),
                                                       ("jaw_offset", args.jaw_offset))
            if v != ap.get_default(k)]
    if args.sweep != ap.get_default("sweep"):
        argv.append("--sweep " + " ".join(f"{k:g}" for k in args.sweep))
    results: dict = {"command": " ".join(["python benchmarks/label_quality.py --out", str(args.out), *argv]),
                     "view": args.view, "focal_x_width": args.focal, "jaw_depth": args.jaw_depth,
                     "jaw_offset": args.jaw_offset,
                     "pool_crop_framing": {"side_over_face": round(framing[0], 3),
                                           "centre_offset_faces": np.round(framing[1], 3).tolist()},
                     "n_val_faces": len(human), "shape_model_learn_s": round(learn_s, 1),
                     "shape_model": {"modes": len(model.std), "std_mm": np.round(model.std, 2).tolist(),
                                     "jaw_depth_mm": np.round(model.mean[:17, 2], 1).tolist()},
                     "labellers": {}}

    def score(name: str, labels: dict[str, np.ndarray], truth: dict[str, np.ndarray] | None = None) -> None:
        truth = truth or truth68
        names = sorted(labels)
        pts, ref = np.stack([labels[n] for n in names]), np.stack([truth[n] for n in names])
        yaw = np.array([yaw_of[n] for n in names])
        rep = yaw_binned(nme_bbox(pts, ref), yaw)
        out = {k: (v if k.startswith("n_") else round(v * 100, 3)) for k, v in rep.items()}
        for region, e in nme_bbox_by_region(pts, ref).items():  # "jaw" and the other regions, by the whole box
            out[region] = {k: round(v * 100, 3) for k, v in yaw_binned(e, yaw).items() if not k.startswith("n_")}
        forward = jaw_forward_offset(pts, ref, np.array([signed_yaw[n] for n in names]))
        out["jaw_forward_offset"] = {k: round(v * 100, 3) for k, v in yaw_binned(forward, yaw).items()
                                     if not k.startswith("n_")}
        results["labellers"][name] = out
        print(f"{name}: {out}", flush=True)

    rigid, _ = label_records(human, mean_face, np.inf, progress=False, focal=args.focal)
    score("rigid", {rec.image_path.name: lab.points for rec, lab in rigid})
    meshes = teacher_meshes(rigid, teacher)
    score("mediapipe", {rec.image_path.name: m[:, :2] for (rec, _), m in zip(rigid, meshes)})
    ablation(model, mean_face, rigid, meshes, score, args.focal, args.jaw_depth)
    # The drop rule is the rigid fit's error, as in training: the kept faces are read off the rigid labels.
    kept_names = {rec.image_path.name for rec, lab in rigid if lab.fit_error <= args.max_fit_error}
    every, report = label_records(human, mean_face, np.inf, progress=False, teacher=teacher, shape_model=model,
                                  focal=args.focal, pose_labels="mean_face", jaw_depth=args.jaw_depth,
                                  jaw_offset=args.jaw_offset)
    results["pose_labels_mae_mean_face"] = pose_label_error(every, gt)  # the fit's rotation, up to v0.4.0
    pose_labels_3dmm(every, 0.0)  # v0.5.0's, from the same fits
    results["pose_labels_mae_3dmm"] = pose_label_error(every, gt)
    pose_labels_3dmm(every)  # training's default: pitch + the labeller's offset (3dmm_calibrated)
    every_labels = {rec.image_path.name: lab.points for rec, lab in every}
    score("shape model, every face", every_labels)
    score("ablation: + ear lobes (= shape model)", every_labels)
    if args.jaw_depth == "3dmm":  # what the teacher's own, shallow jaw costs beyond the near-frontal faces
        every_jaw = [(rec, copy.copy(lab)) for rec, lab in rigid]
        fit_shape_model(every_jaw, meshes, model, focal=args.focal, own_weight=0.0, jaw_offset=args.jaw_offset)
        score("ablation: the teacher's jaw in the fit at every |yaw|", {rec.image_path.name: lab.points
                                                                      for rec, lab in every_jaw})
    labels = {n: p for n, p in every_labels.items() if n in kept_names}
    score("shape model, kept faces", labels)
    score("shape model + human points, kept faces", {rec.image_path.name: with_human_points(lab.points, rec.extra["points21"])
                                                     for rec, lab in every if rec.image_path.name in kept_names})
    results["pose_labels_mae"] = pose_label_error(every, gt)
    print("pose labels", results["pose_labels_mae"])
    print("pose labels, uncalibrated (3dmm)", results["pose_labels_mae_3dmm"])
    print("pose labels, the fit's rotation (mean_face)", results["pose_labels_mae_mean_face"])
    score("shape model, kept faces, vs landmarks_fitted.csv", labels, fitted)
    keep = {}
    for lo, hi in BINS:
        names = [r.image_path.name for r in human if lo <= yaw_of[r.image_path.name] < hi]
        keep[f"yaw_{lo}_{min(hi, 90)}"] = round(sum(n in labels for n in names) / max(len(names), 1), 4)
    results["keep_rate"] = keep
    results["focal_sweep"] = {}
    for k in args.sweep:
        rig_k, _ = label_records(human, mean_face, np.inf, progress=False, focal=k)
        names_k = {rec.image_path.name for rec, lab in rig_k if lab.fit_error <= args.max_fit_error}
        every_k, _ = label_records(human, mean_face, np.inf, progress=False, teacher=teacher, shape_model=model, focal=k,
                                   pose_labels="3dmm", jaw_depth=args.jaw_depth, jaw_offset=args.jaw_offset)  # as recorded in v0.5.0; calibration adds a constant
        score(f"focal {k:g}: shape model, kept faces", {rec.image_path.name: lab.points for rec, lab in every_k
                                                        if rec.image_path.name in names_k})
        results["focal_sweep"][f"{k:g}"] = {"labels": results["labellers"].pop(f"focal {k:g}: shape model, kept faces"),
                                           "pose_labels_mae": pose_label_error(every_k, gt)}
        print(f"focal {k:g} pose labels", results["focal_sweep"][f"{k:g}"]["pose_labels_mae"], flush=True)
    results["method"] = report["method"]
    print("keep rate", keep)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
