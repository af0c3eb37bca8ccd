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
counterparts. Pose labels: pitch and roll of the fit against pose.csv per yaw bin (yaw is the file's,
here the 3DMM's own; in the pool it is AFLW's, a median 4 degrees from it).

    python benchmarks/label_quality.py --out benchmarks/results/label_quality.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points
from efld_export.data import data_root, load_records
from efld_export.data.readers import read_aflw21_csv, read_landmarks_csv
from efld_export.data.record import Record
from efld_export.face3d import EAR_LOBES, FaceModel3D
from efld_export.label import label_records, learn_shape_model, teacher_meshes, teacher_weight, with_human_points
from efld_export.landmarks import AFLW21_MATRIX, GROUPS
from efld_export.metrics import nme_bbox, point_errors, pose_mae, yaw_binned
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face

BINS = ((0, 30), (30, 60), (60, 91))


def ablation(model: FaceModel3D, mean_face: np.ndarray, faces: list, meshes: np.ndarray, score) -> None:
    """The shape model's parts one at a time, each fitted to the same faces: which part buys what.
    The last step, + ear lobes, is the labeller itself (scored by the caller)."""
    no_modes = dict(modes=model.modes[:0], std=model.std[:0])
    generic = FaceModel3D(mean_face, aflw21=AFLW21_MATRIX @ mean_face, **no_modes)
    depth = FaceModel3D(model.mean, aflw21=model.aflw21, **no_modes)
    steps = (("rigid, generic mean face (PnP above, here by the same fit)", generic, False, False),
             ("rigid, teacher depth", depth, False, False),
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
            labels[rec.image_path.name] = m.fit(p21, w, h, mesh[:, :2], wt).points68
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
        out[name] = {"pitch": round(mae["pitch"], 2), "roll": round(mae["roll"], 2), "n": mae["n"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--max-fit-error", type=float, default=0.08, help="the labeller's drop rule (training's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    teacher = MediaPipePeer()
    t0 = time.time()
    pool = load_records(root / "aflw-21pt-crops", progress=False)
    pool_kept, _ = label_records(pool, mean_face, args.max_fit_error, progress=False)
    model = learn_shape_model(pool_kept, teacher_meshes(pool_kept, teacher), mean_face, seed=args.seed)
    learn_s = time.time() - t0

    val_dir = root / "aflw2000-3d-val"
    gt = {r.image_path.name: r for r in load_records(val_dir, progress=False)}
    fitted = {r.image_path.name: r.points for r in read_landmarks_csv(val_dir / "landmarks_fitted.csv",
                                                                    val_dir / "images") if isinstance(r, Record)}
    human = [r for r in read_aflw21_csv(val_dir / "landmarks21.csv", val_dir / "images") if isinstance(r, Record)]
    for r in human:
        r.extra["image"] = gt[r.image_path.name].extra["image"]
    yaw_of = {n: abs(g.pose[0]) for n, g in gt.items()}
    results: dict = {"command": f"python benchmarks/label_quality.py --out {args.out}"
                     + (f" --max-fit-error {args.max_fit_error}" if args.max_fit_error != 0.08 else ""),
                     "n_val_faces": len(human), "shape_model_learn_s": round(learn_s, 1),
                     "shape_model": {"modes": len(model.std), "std_mm": np.round(model.std, 2).tolist()},
                     "labellers": {}}

    def score(name: str, labels: dict[str, np.ndarray], truth: dict[str, np.ndarray] | None = None) -> None:
        truth = truth or {n: g.points for n, g in gt.items()}
        names = sorted(labels)
        pts, ref = np.stack([labels[n] for n in names]), np.stack([truth[n] for n in names])
        yaw = np.array([yaw_of[n] for n in names])
        rep = yaw_binned(nme_bbox(pts, ref), yaw)
        out = {k: (v if k.startswith("n_") else round(v * 100, 3)) for k, v in rep.items()}
        jaw = list(GROUPS["jaw"])
        sizes = np.array([np.sqrt(np.prod(box_from_points(r)[2:])) for r in ref])  # the 68-point box, as nme_bbox
        jaw_nme = point_errors(pts[:, jaw], ref[:, jaw]) / sizes
        out["jaw"] = {k: round(v * 100, 3) for k, v in yaw_binned(jaw_nme, yaw).items() if not k.startswith("n_")}
        results["labellers"][name] = out
        print(f"{name}: {out}", flush=True)

    rigid, _ = label_records(human, mean_face, np.inf, progress=False)
    score("rigid", {rec.image_path.name: lab.points for rec, lab in rigid})
    meshes = teacher_meshes(rigid, teacher)
    score("mediapipe", {rec.image_path.name: m[:, :2] for (rec, _), m in zip(rigid, meshes)})
    ablation(model, mean_face, rigid, meshes, score)
    # The drop rule is the rigid fit's error, as in training: the kept faces are read off the rigid labels.
    kept_names = {rec.image_path.name for rec, lab in rigid if lab.fit_error <= args.max_fit_error}
    every, report = label_records(human, mean_face, np.inf, progress=False, teacher=teacher, shape_model=model)
    every_labels = {rec.image_path.name: lab.points for rec, lab in every}
    score("shape model, every face", every_labels)
    score("ablation: + ear lobes (= shape model)", every_labels)
    labels = {n: p for n, p in every_labels.items() if n in kept_names}
    score("shape model, kept faces", labels)
    score("shape model + human points, kept faces", {rec.image_path.name: with_human_points(lab.points, rec.extra["points21"])
                                                     for rec, lab in every if rec.image_path.name in kept_names})
    results["pose_labels_mae"] = pose_label_error(every, gt)
    print("pose labels", results["pose_labels_mae"])
    score("shape model, kept faces, vs landmarks_fitted.csv", labels, fitted)
    keep = {}
    for lo, hi in BINS:
        names = [r.image_path.name for r in human if lo <= yaw_of[r.image_path.name] < hi]
        keep[f"yaw_{lo}_{min(hi, 90)}"] = round(sum(n in labels for n in names) / max(len(names), 1), 4)
    results["keep_rate"] = keep
    results["method"] = report["method"]
    print("keep rate", keep)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
