"""Where do the markups put the jaw of a turned face? The far and near sides' jaw, against a rigid fit of
the 3DMM mean shape to the face's own inner points (brows, nose, eyes, mouth: 17-67), by |yaw|.

For each set of 68-point labels (aflw2000-3d-val's re-annotated and 3DMM-fitted points, youtube-faces-68's
train and test labels), each face's inner points fix a rigid pose of the 3DMM mean shape (pose.py's
pose_label camera); its projected jaw is the common reference. The offset of the labelled jaw from it
along the image's x axis, towards the side the face turns to ("forward"), in % of the landmark box
(sqrt(w*h)), is averaged per |yaw| bin (the fit's yaw), for the far side's jaw points
(landmarks.FAR_JAW, chin excluded) and the near side's. Two markups that agree on the jaw give the same
offsets whatever the reference's own error; where they differ, the difference is the gap between their
conventions.

With --model, also each model's own jaw on aflw2000-3d-val against the true points, far and near side,
by the true |yaw| (evaluate.py's crop and runtime, as `efld eval`).

    python benchmarks/jaw_convention.py --model models/efld-mnv3s-0.5/efld.pt --out benchmarks/results/jaw_convention.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.data import data_root, load_records
from efld_export.data.readers import read_landmarks_csv
from efld_export.data.record import Record
from efld_export.evaluate import predict_records
from efld_export.landmarks import FAR_JAW
from efld_export.metrics import jaw_forward_offset
from efld_export.pose import POSE_FOCAL, fit_rigid, load_pose_face, project, rotation_to_angles
from efld_export.runtime import LandmarkModel

BINS = ((0, 10), (10, 20), (20, 30), (30, 45), (45, 60), (60, 91))


def sides_forward(points: np.ndarray, ref: np.ndarray, yaw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per face, the far and near sides' mean jaw offset from ref towards the turn, in % of points' box
    (metrics.jaw_forward_offset on each side's points)."""
    def side(s: int) -> np.ndarray:  # s = 1: the far side; -1: the near side
        return np.where(yaw >= 0, jaw_forward_offset(ref, points, yaw, FAR_JAW[s]),
                        jaw_forward_offset(ref, points, yaw, FAR_JAW[-s])) * -100
    return side(1), side(-1)


def binned(far: np.ndarray, near: np.ndarray, yaw: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for lo, hi in BINS:
        m = (np.abs(yaw) >= lo) & (np.abs(yaw) < hi)
        if m.sum() >= 5:
            out[f"yaw_{lo}_{min(hi, 90)}"] = {"n": int(m.sum()), "far": round(float(far[m].mean()), 2),
                                             "near": round(float(near[m].mean()), 2)}
    return out


def markup(points: np.ndarray) -> dict[str, dict[str, float]]:
    """The jaw's offsets from the rigid 3DMM fit to each face's inner points."""
    face = load_pose_face()
    inner = np.full_like(points, np.nan)
    inner[:, 17:] = points[:, 17:]
    ref, yaw = np.zeros_like(points), np.zeros(len(points))
    for i, p in enumerate(inner):
        w = float(np.ptp(points[i, :, 0])) * 4  # any frame: the camera is near-orthographic
        rvec, tvec = fit_rigid(p, face, w, w, POSE_FOCAL * w)
        ref[i] = project(face, rvec, tvec, w, w, POSE_FOCAL * w)
        yaw[i] = rotation_to_angles(rvec)[0]
    return binned(*sides_forward(points, ref, yaw), yaw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model", action="append", default=[], help="a model artifact to place on val (repeatable)")
    args = ap.parse_args()
    root = data_root()
    val_dir = root / "aflw2000-3d-val"
    val = load_records(val_dir, progress=False)
    fitted = {r.image_path.name: r.points for r in read_landmarks_csv(val_dir / "landmarks_fitted.csv",
                                                                    val_dir / "images") if isinstance(r, Record)}
    sets = {"aflw2000-3d-val (re-annotated)": np.stack([r.points for r in val]),
            "aflw2000-3d-val (3DMM-fitted)": np.stack([fitted[r.image_path.name] for r in val])}
    for split in ("train", "test"):
        recs = load_records(f"{root / 'youtube-faces-68'}:{split}", progress=False)
        sets[f"youtube-faces-68 {split}"] = np.stack([r.points for r in recs])
    cmd = " ".join(["python benchmarks/jaw_convention.py", *[f"--model {m}" for m in args.model], "--out", str(args.out)])
    results: dict = {"command": cmd, "units": "% of the landmark box, towards the turn",
                     "markups": {name: markup(p) for name, p in sets.items()}, "models_on_val": {}}
    gt, yaw = sets["aflw2000-3d-val (re-annotated)"], np.array([r.pose[0] for r in val])
    for m in args.model:
        pred, _ = predict_records(LandmarkModel.from_artifact(m), val, progress=False)
        results["models_on_val"][m] = binned(*sides_forward(pred, gt, yaw), yaw)
    print(json.dumps(results, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
