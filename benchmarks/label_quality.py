"""How good are 68-point labels made from AFLW's 21 human points? Measured on aflw2000-3d-val,
whose own 21 human points (landmarks21.csv) go through the labeller and whose true 68 points score
the result (NME by the landmark box, per |yaw| bin). Never trains on anything.

Labellers: rigid (mean face fitted by PnP, label.py) and, for each teacher (our model with
--model, MediaPipe's face mesh with --mediapipe), `teacher+human`: the teacher's 68 points moved by
the similarity that best maps its implied 21 points onto the visible human points; also the mean
with the rigid fit, and a yaw switch (teacher+human below --switch-yaw degrees of |yaw| from the
AFLW file, rigid above).

    python benchmarks/label_quality.py --out benchmarks/results/label_quality.json [--model models/.../efld.pt] [--mediapipe]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points
from efld_export.data import data_root, load_records
from efld_export.data.readers import read_aflw21_csv
from efld_export.data.record import Record
from efld_export.label import label_from_21, label_records, refine_with_human_points
from efld_export.metrics import nme_bbox, yaw_binned
from efld_export.pose import load_mean_face
from efld_export.runtime import LandmarkModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--mediapipe", action="store_true", help="MediaPipe's face mesh (mapped to 68) as a teacher")
    ap.add_argument("--switch-yaw", type=float, default=45.0)
    args = ap.parse_args()
    root = data_root()
    val_dir = root / "aflw2000-3d-val"
    gt = {r.image_path.name: r for r in load_records(val_dir, progress=False)}
    human = [r for r in read_aflw21_csv(val_dir / "landmarks21.csv", val_dir / "images") if isinstance(r, Record)]
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    names, rigid, yaw, file_yaw = [], [], [], []
    for r in human:
        g = gt[r.image_path.name]
        h, w = g.extra["image"].shape[:2]
        lab = label_from_21(r.extra["points21"], mean_face, w, h)
        if lab is None:
            continue
        names.append(r.image_path.name)
        rigid.append(lab.points)
        yaw.append(g.pose[0])
        file_yaw.append(r.extra["yaw_deg"])
    truth = np.stack([gt[n].points for n in names])
    yaw = np.array(yaw)
    rigid = np.stack(rigid)
    file_yaw = np.abs(np.array(file_yaw))
    results = {"command": f"python benchmarks/label_quality.py --out {args.out}" + (f" --model {args.model}" if args.model else "")
               + (" --mediapipe" if args.mediapipe else "") + f" --switch-yaw {args.switch_yaw}",
               "n_faces": len(names), "n_human": len(human), "labellers": {}}

    def score(name: str, pts: np.ndarray) -> None:
        rep = {k: (round(v * 100, 3) if not k.startswith("n_") else v) for k, v in yaw_binned(nme_bbox(pts, truth), yaw).items()}
        results["labellers"][name] = rep
        print(name, rep["yaw_0_30"], rep["yaw_30_60"], rep["yaw_60_90"], rep["mean_of_bins"], flush=True)

    score("rigid", rigid)
    teachers = {}
    if args.model:
        teachers["model"] = LandmarkModel.from_artifact(args.model)
    if args.mediapipe:
        from efld_export.peers import MediaPipePeer

        teachers["mediapipe"] = MediaPipePeer()
    human_by = {r.image_path.name: r.extra["points21"] for r in human}
    for name, teacher in teachers.items():
        preds = np.stack([p.points for p in teacher.predict_batch(
            [(gt[n].extra["image"], box_from_points(p)) for n, p in zip(names, rigid)])])
        refined = np.stack([refine_with_human_points(p, human_by[n]) for p, n in zip(preds, names)])
        score(name, preds)
        score(f"{name}+human", refined)
        score(f"mean(rigid, {name}+human)", (rigid + refined) / 2)
        switch = np.where((file_yaw <= args.switch_yaw)[:, None, None], refined, rigid)
        score(f"{name}+human if |yaw|<={args.switch_yaw:g} else rigid", switch)
        # the labeller itself (label.py), as training runs it: rigid fit mixed with the teacher by |yaw|
        recs = []
        for r in human:
            if r.image_path.name in gt:
                r.extra["image"] = gt[r.image_path.name].extra["image"]
                recs.append(r)
        kept, _ = label_records(recs, mean_face, max_fit_error=np.inf, progress=False, teacher=teacher)
        by_name = {rec.image_path.name: lab.points for rec, lab in kept}
        score(f"label.py mix ({name})", np.stack([by_name[n] for n in names]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
