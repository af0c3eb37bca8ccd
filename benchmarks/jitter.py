"""How much does One-Euro smoothing reduce jitter on video, and what does it cost on a moving face?

    python benchmarks/jitter.py --model MODEL --out benchmarks/results/jitter.json

Still: each validation image repeated --frames times with Gaussian sensor noise (sigma --noise grey
levels) and written as an MJPG video, read back and run through the predictor (detector, two
passes): jitter = RMS distance of each point from its mean position, % of the face size (the
NME's normalisation); pose jitter = standard deviation in degrees. Moving: the same image
translated at a constant speed; error = mean point distance from the ideal answer, the prediction on
the clean still image moved by the same shift (% of face size): model jitter and sensor noise make
it larger, and so does smoothing that lags. A grid of filter settings is
run on the recorded predictions; the default (efld_export/smoothing.py) is also run through
FaceTracks, the path `efld predict` uses.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from efld_export.crop import box_from_points
from efld_export.data import data_root
from efld_export.data.readers import IMAGE_SUFFIXES
from efld_export.data.record import read_image
from efld_export.media import VideoReader, VideoWriter
from efld_export.predict import Face, Predictor
from efld_export.runtime import LandmarkModel
from efld_export.smoothing import POINT_FILTER, POSE_FILTER, FaceTracks, OneEuroFilter, jitter

FPS = 30.0


def frames(image: np.ndarray, n: int, noise: float, speed: float, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Noisy frames and their shifts: the image moving right at speed px per frame (centred on the middle
    frame, so the face stays in view), plus sensor noise."""
    rng = np.random.default_rng(seed)
    noisy, shifts = [], speed * (np.arange(n) - n // 2)
    for dx in shifts:
        m = np.float32([[1, 0, dx], [0, 1, 0]])
        c = cv2.warpAffine(image, m, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE)
        noisy.append(np.clip(c + rng.normal(0, noise, c.shape), 0, 255).astype(np.uint8))
    return noisy, shifts


def through_video(images: list[np.ndarray], folder: Path) -> list[np.ndarray]:
    """Frames after an MJPG round trip, as a user's video would be decoded."""
    path = folder / "still.avi"
    writer = VideoWriter(path, FPS, images[0].shape[1::-1], fourcc="MJPG")
    for im in images:
        writer.write(im)
    writer.close()
    reader = VideoReader(path)
    out = [f for _, _, f in reader]
    reader.close()
    return out


def best_face(predictor: Predictor, image: np.ndarray) -> Face | None:
    """The largest face (the labelled one; a few photos hold small faces in the background)."""
    faces = predictor.predict(image)
    return max(faces, key=lambda f: f.box[2] * f.box[3]) if faces else None


def smooth(faces: list[Face], point_filter: dict, pose_filter: dict) -> tuple[np.ndarray, np.ndarray]:
    """Points (T, 68, 2) and pose (T, 3) through One-Euro filters with these settings."""
    fp, fq = OneEuroFilter(**point_filter), OneEuroFilter(**pose_filter)
    pts, pose = [], []
    for i, f in enumerate(faces):
        pts.append(fp(f.points, i / FPS, scale=float(np.sqrt(np.prod(f.box[2:])))))
        pose.append(fq(f.pose, i / FPS))
    return np.stack(pts), np.stack(pose)


def label(settings: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in settings.items())


def error(points: np.ndarray, ref: np.ndarray, skip: int = 5) -> float:
    """Mean point distance from the reference, % of face size, after the first frames."""
    size = np.sqrt(np.prod(box_from_points(ref[0])[2:]))
    return float(np.linalg.norm(points[skip:] - ref[skip:], axis=-1).mean() / size * 100)


def mean(values: list) -> float | list[float]:
    """Mean over videos (of a number or of a tuple of numbers), rounded."""
    return np.mean(np.asarray(values, dtype=np.float64), axis=0).round(4).tolist()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--images", type=Path, default=data_root() / "aflw2000-3d-val" / "images")
    ap.add_argument("--n-images", type=int, default=8)
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--noise", type=float, default=4.0, help="sensor noise sigma in grey levels")
    ap.add_argument("--speeds", type=float, nargs="+", default=[1.0, 3.0], help="px per frame at 30 fps")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    predictor = Predictor(LandmarkModel.from_artifact(args.model))
    paths = sorted(p for p in args.images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    paths = paths[::max(1, len(paths) // args.n_images)][:args.n_images]
    grid_pts = [{"min_cutoff": c, "beta": b, "common": m} for m in (False, True) for c in (0.5, 1.0, 2.0)
                for b in (0.0, 5.0, 10.0, 20.0, 50.0)]
    grid_pose = [{"min_cutoff": c, "beta": b} for c in (0.25, 0.5, 1.0) for b in (0.0, 0.02, 0.05, 0.2)]
    still: dict = {"raw": [], "default": [], "points": {label(g): [] for g in grid_pts},
                   "pose": {label(g): [] for g in grid_pose}}
    moving: dict = {s: {"raw": [], "default": [], "points": {label(g): [] for g in grid_pts}} for s in args.speeds}
    with tempfile.TemporaryDirectory() as tmp:
        for k, path in enumerate(paths):
            image = read_image(path)
            for speed in [0.0, *args.speeds]:
                noisy, shifts = frames(image, args.frames, args.noise, speed, seed=k)
                faces = [best_face(predictor, f) for f in through_video(noisy, Path(tmp))]
                if any(f is None for f in faces):
                    print(f"{path.name}: face lost in some frames, left out", file=sys.stderr)
                    break
                tracks = FaceTracks()
                default = [tracks.update([f], i / FPS)[0][1] for i, f in enumerate(faces)]
                raw_pts, raw_pose = np.stack([f.points for f in faces]), np.stack([f.pose for f in faces])
                def_pts, def_pose = np.stack([f.points for f in default]), np.stack([f.pose for f in default])
                if speed == 0:
                    still["raw"].append((jitter(raw_pts), float(raw_pose.std(0).mean())))
                    still["default"].append((jitter(def_pts), float(def_pose.std(0).mean())))
                    for g in grid_pts:
                        still["points"][label(g)].append(jitter(smooth(faces, g, POSE_FILTER)[0]))
                    for g in grid_pose:
                        still["pose"][label(g)].append(float(smooth(faces, POINT_FILTER, g)[1].std(0).mean()))
                    continue
                still_face = best_face(predictor, image)
                ref = np.stack([still_face.points + (dx, 0) for dx in shifts])
                moving[speed]["raw"].append(error(raw_pts, ref))
                moving[speed]["default"].append(error(def_pts, ref))
                for g in grid_pts:
                    moving[speed]["points"][label(g)].append(error(smooth(faces, g, POSE_FILTER)[0], ref))
    result = {
        "command": " ".join(["python", *sys.argv]),
        "model": str(args.model), "images": [p.name for p in paths], "frames": args.frames, "fps": FPS,
        "noise_sigma": args.noise, "video": "MJPG .avi round trip (cv2)",
        "units": "jitter and moving error: % of face size sqrt(w*h); pose jitter: degrees (mean std of yaw, pitch, roll)",
        "default": {"points": POINT_FILTER, "pose": POSE_FILTER},
        "still": {"n_videos": len(still["raw"]),
                  "raw": dict(zip(("points", "pose_deg"), mean(still["raw"]))),
                  "smoothed_default": dict(zip(("points", "pose_deg"), mean(still["default"]))),
                  "grid_points": {k: mean(v) for k, v in still["points"].items()},
                  "grid_pose": {k: mean(v) for k, v in still["pose"].items()}},
        "moving": {f"{s} px/frame": {"n_videos": len(m["raw"]), "raw": mean(m["raw"]),
                                     "smoothed_default": mean(m["default"]),
                                     "grid_points": {k: mean(v) for k, v in m["points"].items()}}
                   for s, m in moving.items()},
    }
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
