"""Can our own models improve the AFLW pool's labels (issue 3: "later our own model, iterated")?

The labeller (label.py) fits a 3D shape model to each face's visible human points and, weighted by
|yaw|, MediaPipe's 68 points; on profiles MediaPipe gets no weight and the 21 human points alone
shape the jaw. Here a checkpoint ensemble (by default v0.7.0's distillation teacher: the wide
candidate + v0.6.0, each flip-tested, built by distill.teacher_model) is a second teacher in the same
fit, at a few weights. Least squares with two teachers at weights a and b on the same points equals
one teacher at weight a + b placed at their weighted mean, so the fit itself is unchanged.

Protocol of benchmarks/label_quality.py (the one that gives the labeller's 5.08): val's own 21 human
points, each face cut to a 120-px crop framed like the pool's, focal length 3 crop widths, the shape
model learnt from the training pool, scored on the faces the 8 % fit-error rule keeps. The models
see each crop through the box of its rigid label (what training's labeller has), then once more
through the box of their own first answer (--passes).

Self-training caveat, measured (`memorisation`): on the pool the models were trained on these
labels, so there they may repeat them rather than add evidence. Their NME against the labels on a
seeded sample of pool faces is set beside their NME against the same labeller's labels on val.

    python benchmarks/self_teacher.py --out benchmarks/results/self_teacher_v0.7.0.json

A cross-fitting teacher (benchmarks/kfold_teacher_0.yaml) trained on one half of the pool only; with
--trained-fold the check also scores the pool faces it never saw:

    python benchmarks/self_teacher.py --teachers runs/kfold_teacher_0/last.pt --trained-fold fold0of2 \
        --weights 0.03 0.1 --out benchmarks/results/self_teacher_kfold0.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points, transform_points
from efld_export.data import data_root, load_records
from efld_export.data.loading import fold_of, in_fold
from efld_export.data.readers import read_aflw21_csv
from efld_export.data.record import Record
from efld_export.files import write_text
from efld_export.distill import teacher_model
from efld_export.label import (LABEL_FOCAL, fit_shape_model, fit_with_teachers, label_records, model_points,
                                pool_shape_model, rigid_faces, teacher_meshes, teacher_weight)
from efld_export.metrics import nme_bbox, nme_bbox_by_region, yaw_binned
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face
from label_quality import as_pool_crop, pool_framing

#: v0.7.0's distillation teacher (efld_export/configs/distill.yaml).
TEACHERS = ["models/candidates/efld-mnv3s-0.75/efld.pt", "models/efld-mnv3s-0.5/stage3/efld.pt"]


def binned(pts: np.ndarray, ref: np.ndarray, yaw: np.ndarray) -> dict[str, float]:
    """NME by the landmark box, %, per |yaw| bin and their mean."""
    return {k: round(v * 100, 3) for k, v in yaw_binned(nme_bbox(pts, ref), yaw).items() if not k.startswith("n_")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--teachers", nargs="+", default=TEACHERS, help="checkpoints averaged into the model teacher")
    ap.add_argument("--weights", type=float, nargs="+", default=[0.03, 0.1, 0.3, 1.0],
                    help="the model teacher's weights in the fit (MediaPipe's, by |yaw|, is 0.1 / 0.033 / 0)")
    ap.add_argument("--passes", type=int, default=2)
    ap.add_argument("--pool-check", type=int, default=1000, help="pool faces for the memorisation check")
    ap.add_argument("--trained-fold", help="the models trained on this fold of the pool only (e.g. fold0of2): "
                    "the memorisation check then sets its faces beside the pool faces they never saw")
    args = ap.parse_args()
    trained_fold = fold_of(args.trained_fold)
    if args.trained_fold and trained_fold is None:
        ap.error(f"--trained-fold {args.trained_fold}: expected foldIofK")
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    mediapipe = MediaPipePeer()
    ours = teacher_model(args.teachers)
    pool = load_records(root / "aflw-21pt-crops", progress=False)
    shape_model, pool_kept = pool_shape_model(pool, mean_face, mediapipe, jaw_depth="teacher")  # as recorded (v0.7.0)

    val = root / "aflw2000-3d-val"
    gt = {r.image_path.name: r for r in load_records(val, progress=False)}
    human = [r for r in read_aflw21_csv(val / "landmarks21.csv", val / "images") if isinstance(r, Record)]
    framing = pool_framing(pool_kept)
    truth = {}
    for r in human:
        r.extra["image"] = gt[r.image_path.name].extra["image"]
        m = as_pool_crop(r, gt[r.image_path.name].points, framing)
        truth[r.image_path.name] = transform_points(gt[r.image_path.name].points, m)
    rigid, _ = label_records(human, mean_face, 0.08, progress=False)  # the kept faces, as in training
    names = [rec.image_path.name for rec, _ in rigid]
    ref = np.stack([truth[n] for n in names])
    yaw = np.array([abs(gt[n].pose[0]) for n in names])
    mp = teacher_meshes(rigid, mediapipe)[..., :2]
    faces, own = rigid_faces(rigid), {}
    for p in range(1, args.passes + 1):  # pass p crops by the box of pass p - 1's answer
        own[p] = model_points(ours, faces, 1)
        faces = [(img, box_from_points(q)) for (img, _), q in zip(faces, own[p])]
    own_pts = own[args.passes]
    out: dict = {"command": "python " + " ".join(sys.argv), "teachers": args.teachers, "passes": args.passes,
                 "focal_x_width": LABEL_FOCAL, "n_kept_val_faces": len(rigid), "nme_bbox": {}}

    def score(name: str, pts: np.ndarray) -> None:
        rep = binned(pts, ref, yaw)
        rep["jaw"] = round(float(nme_bbox_by_region(pts, ref)["jaw"].mean()) * 100, 3)
        out["nme_bbox"][name] = rep
        print(name, rep, flush=True)

    def fit(weight_of) -> np.ndarray:
        """Labels with weight_of(yaw) -> (MediaPipe's weight, the models' weight)."""
        labels = []
        for i, (rec, _) in enumerate(rigid):
            wm, wo = weight_of(rec.extra["yaw_deg"])
            labels.append(fit_with_teachers(shape_model, rec, mp[i], wm, LABEL_FOCAL, own_pts[i], wo).points68)
        return np.stack(labels)

    for p, pts in own.items():
        score(f"models alone, {p} pass(es)", pts)
    labeller = fit(lambda y: (teacher_weight(y), 0.0))
    score("labeller: MediaPipe by |yaw| (training's)", labeller)
    for wt in args.weights:
        score(f"+ models at weight {wt:g}, every yaw", fit(lambda y, wt=wt: (teacher_weight(y), wt)))
        score(f"models at weight {wt:g} in place of MediaPipe", fit(lambda y, wt=wt: (0.0, wt)))

    # Memorisation: the models against the labeller's labels, on pool faces they trained on and on val.
    rng = np.random.default_rng(0)
    sample = [pool_kept[i] for i in rng.choice(len(pool_kept), min(args.pool_check, len(pool_kept)), replace=False)]
    fit_shape_model(sample, teacher_meshes(sample, mediapipe), shape_model)
    pool_own = model_points(ours, rigid_faces(sample), args.passes)
    pool_yaw = np.array([abs(rec.extra["yaw_deg"]) for rec, _ in sample])
    pool_labels = np.stack([lab.points for _, lab in sample])
    seen = np.array([trained_fold is None or in_fold(rec.image_path.name, *trained_fold) for rec, _ in sample])
    out["memorisation"] = {"pool (trained on), models vs labels": binned(pool_own[seen], pool_labels[seen], pool_yaw[seen])}
    if not seen.all():
        out["memorisation"]["pool (never seen), models vs labels"] = binned(pool_own[~seen], pool_labels[~seen],
                                                                            pool_yaw[~seen])
    out["memorisation"]["val (never seen), models vs labels"] = binned(own_pts, labeller, yaw)
    print("memorisation", out["memorisation"], flush=True)
    write_text(args.out, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
