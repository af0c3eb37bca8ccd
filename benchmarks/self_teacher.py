"""Can our own model serve as the labeller's teacher (issue 3: "later our own model, iterated")?

On aflw2000-3d-val, whose own 21 human points go through the labeller as in benchmarks/label_quality.py
--view image --focal 1 (the 450-px images and v0.3.0's camera, as recorded),
the 3D shape model is fitted with MediaPipe's 68 points weighted by |yaw| (the shipped labeller) and
with MODEL's 68 points instead, at a few weights, over every yaw or only beyond 45 degrees (where
MediaPipe gets no weight). Faces are cropped by their rigid label's box, as in training. The shape model
is learnt from a seeded sample of the training pool (--pool-sample faces; never from val).

    python benchmarks/self_teacher.py models/efld-mnv3s-0.5/efld.pt --out benchmarks/results/self_teacher.json
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
from efld_export.label import label_records, pool_shape_model, teacher_meshes, teacher_weight
from efld_export.metrics import nme_bbox, yaw_binned
from efld_export.peers import MediaPipePeer
from efld_export.pose import load_mean_face
from efld_export.runtime import LandmarkModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path, help="the candidate teacher (.pt, .onnx or .tflite)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--pool-sample", type=int, default=3000)
    ap.add_argument("--weights", type=float, nargs="+", default=[0.03, 0.1, 0.3])
    args = ap.parse_args()
    root = data_root()
    mean_face = load_mean_face(root / "mean_face_68_3d.csv")
    mediapipe = MediaPipePeer()
    pool = load_records(root / "aflw-21pt-crops", progress=False)
    pool = [pool[i] for i in np.random.default_rng(0).permutation(len(pool))[:args.pool_sample]]
    shape_model, _ = pool_shape_model(pool, mean_face, mediapipe, focal=1.0)  # as recorded (v0.3.0's labeller)

    val = root / "aflw2000-3d-val"
    gt = {r.image_path.name: r for r in load_records(val, progress=False)}
    human = [r for r in read_aflw21_csv(val / "landmarks21.csv", val / "images") if isinstance(r, Record)]
    for r in human:
        r.extra["image"] = gt[r.image_path.name].extra["image"]
    rigid, _ = label_records(human, mean_face, np.inf, progress=False, focal=1.0)  # 450-px images, focal = width
    mp = teacher_meshes(rigid, mediapipe)[..., :2]
    ours = np.stack([p.points for p in LandmarkModel.from_artifact(args.model).predict_batch(
        [(r.extra["image"], box_from_points(lab.points)) for r, lab in rigid])])
    truth = np.stack([gt[r.image_path.name].points for r, _ in rigid])
    yaw = np.array([abs(gt[r.image_path.name].pose[0]) for r, _ in rigid])
    results: dict = {"command": f"python benchmarks/self_teacher.py {args.model} --out {args.out}",
                     "pool_sample": args.pool_sample, "nme_bbox": {}}

    def score(name: str, pts: np.ndarray) -> None:
        rep = yaw_binned(nme_bbox(pts, truth), yaw)
        results["nme_bbox"][name] = {k: round(v * 100, 3) for k, v in rep.items() if not k.startswith("n_")}
        print(name, results["nme_bbox"][name], flush=True)

    def fit(teacher) -> np.ndarray:
        """Labels with teacher(i, yaw) -> (68 points, weight) for face i."""
        out = []
        for i, (r, _) in enumerate(rigid):
            h, w = r.extra["image"].shape[:2]
            out.append(shape_model.fit(r.extra["points21"], w, h, *teacher(i, r.extra["yaw_deg"])).points68)
        return np.stack(out)

    score("model alone (rigid-label box)", ours)
    score("labeller: MediaPipe by |yaw|", fit(lambda i, y: (mp[i], teacher_weight(y))))
    for wt in args.weights:
        score(f"model, weight {wt}, every yaw", fit(lambda i, y: (ours[i], wt)))
        score(f"MediaPipe to 45 degrees, model weight {wt} beyond",
              fit(lambda i, y: (mp[i], teacher_weight(y)) if abs(y) <= 45 else (ours[i], wt)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
