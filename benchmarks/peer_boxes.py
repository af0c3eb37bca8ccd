"""Measure each peer's own face-box convention against the 68-point landmark box (the factors in
efld_export/peers.py), on youtube-faces-68/test (not the evaluation set).

- dlib: the rectangle of dlib's own frontal face detector (HOG, upsampled once), matched to the face.
- MediaPipe: its tracking ROI, i.e. the square around its own 468-point mesh box scaled by 1.5,
  from a first pass on a generous crop.

    python benchmarks/peer_boxes.py --out benchmarks/results/peer_boxes.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.crop import box_from_points, crop_matrix, invert_matrix, transform_points, warp
from efld_export.data import data_root, load_records
from efld_export.peers import BoxConvention, MediaPipePeer


def relative(box: np.ndarray, center: np.ndarray, side: float) -> tuple[float, float, float]:
    """(dx, dy, scale) of a square (centre, side) in the terms of BoxConvention for a landmark box."""
    x, y, w, h = box
    return (center[0] - x - w / 2) / w, (center[1] - y - h / 2) / h, side / max(w, h)


def dlib_rectangles(records: list) -> list[tuple[float, float, float]]:
    import dlib

    detector = dlib.get_frontal_face_detector()
    out = []
    for r in records:
        box = box_from_points(r.points)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        hits = [d for d in detector(r.extra["image"], 1) if d.left() < cx < d.right() and d.top() < cy < d.bottom()]
        if len(hits) == 1:
            d = hits[0]
            out.append(relative(box, np.array([(d.left() + d.right()) / 2, (d.top() + d.bottom()) / 2]),
                                float(d.width())))
    return out


def mediapipe_rois(records: list) -> list[tuple[float, float, float]]:
    peer = MediaPipePeer()
    first = BoxConvention(0.0, -0.1, 1.7)
    out = []
    for r in records:
        box = box_from_points(r.points)
        center, side = first.square(box)
        m = crop_matrix(center, side, peer.size)
        peer.interpreter.set_tensor(peer.index, warp(r.extra["image"], m, peer.size)[None].astype(np.float32) / 255)
        peer.interpreter.invoke()
        mesh = transform_points(peer.interpreter.get_tensor(peer.mesh).reshape(468, 3)[:, :2] - 0.5, invert_matrix(m))
        lo, hi = mesh.min(0), mesh.max(0)
        out.append(relative(box, (lo + hi) / 2, 1.5 * float((hi - lo).max())))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--data", type=Path, help="default: youtube-faces-68 test split in the data root")
    args = ap.parse_args()
    data = args.data or data_root() / "youtube-faces-68"
    records = load_records(data, split="test", progress=False)
    result = {"command": "python benchmarks/peer_boxes.py --out " + str(args.out), "data": f"{data}:test",
              "n_images": len(records)}
    for name, rows in (("dlib_detector_rectangle", dlib_rectangles(records)),
                       ("mediapipe_tracking_roi", mediapipe_rois(records))):
        a = np.array(rows)
        result[name] = {"n": len(a), **{k: round(float(np.median(a[:, i])), 3) for i, k in enumerate(("dx", "dy", "scale"))}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
