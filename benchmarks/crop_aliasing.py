"""Does the crop alias? (benchmarks/README.md, "What v0.8.1 changed".) For each data set, the scale at
which the evaluation/training crop cuts its faces (crop side / picture side under the landmark-box rule:
below 1 the crop shrinks the picture); then one model through the shipped crop (crop.warp: area-averaged
when it shrinks, then bilinear) and through four bilinear taps alone (the crop up to v0.8.0), on
aflw2000-3d-val and youtube-faces-68's test split; what each crop costs on the host, for a face of
150 / 300 / 600 px in a 1280x720 frame; and how small a face the model reads: val's pictures shrunk
(area resampling, as a smaller face in a camera frame) to 1/2, 1/3 and 1/4 size, so that the crop
enlarges them instead.

    python benchmarks/crop_aliasing.py --model models/efld-mnv3s-0.5/stage5/efld.pt --out benchmarks/results/crop_aliasing.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable
from unittest import mock

import cv2
import numpy as np

from efld_export import crop
from efld_export.data import data_root, load_records
from efld_export.data.record import Record
from efld_export.evaluate import evaluate
from efld_export.files import write_text
from efld_export.runtime import LandmarkModel

SCALE_SETS = ("aflw2000-3d-val", "youtube-faces-68:train", "youtube-faces-68:test")
EVAL_SETS = ("aflw2000-3d-val", "youtube-faces-68:test")
PICTURE_SCALES = (1.0, 0.5, 1 / 3, 0.25)


def crop_ms(warp: Callable[[np.ndarray, np.ndarray], np.ndarray], image: np.ndarray, m: np.ndarray,
            runs: int = 300) -> float:
    """Mean milliseconds of one crop (after one untimed call): the host cost a pipeline pays per face."""
    warp(image, m)
    t = time.perf_counter()
    for _ in range(runs):
        warp(image, m)
    return round((time.perf_counter() - t) / runs * 1000, 4)


def shrunk(record: Record, scale: float) -> Record:
    """The record's (preloaded) picture area-resampled by scale, its points moved with it (pixel centres at integers)."""
    image = record.extra["image"]
    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale != 1 else image
    sx, sy = size[0] / w, size[1] / h
    points = (record.points + 0.5) * [sx, sy] - 0.5
    return Record(record.image_path, points, record.pose, extra={"image": small})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    root = data_root()
    out: dict = {"command": "python " + " ".join(sys.argv), "scale_percentiles_5_25_50_75_95": {}, "nme": {},
                 "crop_ms": {}}
    records = {spec: load_records(str(root / spec), progress=False) for spec in SCALE_SETS}
    for spec in EVAL_SETS:  # read once: the evaluator and the shrunk copies use them several times
        for r in records[spec]:
            r.extra["image"] = r.load_image()
    for spec, recs in records.items():
        scale = [crop.INPUT_SIZE / crop.square_from_box(crop.box_from_points(r.points))[1] for r in recs]
        out["scale_percentiles_5_25_50_75_95"][spec] = np.percentile(scale, [5, 25, 50, 75, 95]).round(3).tolist()
    model = LandmarkModel.from_artifact(args.model)
    for name, warp in (("area_then_bilinear", crop.warp), ("bilinear", crop.bilinear_warp)):
        with mock.patch.object(crop, "warp", warp):
            for spec in EVAL_SETS:
                report, _ = evaluate(model, records[spec], progress=False)
                out["nme"].setdefault(spec, {})[name] = {k: report[k] for k in ("nme_bbox", "pose_mae") if k in report}
                print(spec, name, round(report["nme_bbox"].get("mean_of_bins", report["nme_bbox"]["overall"]), 3),
                      flush=True)
    out["picture_scale"] = {}
    for scale in PICTURE_SCALES:
        recs = [shrunk(r, scale) for r in records["aflw2000-3d-val"]]
        faces = [float(np.sqrt(np.prod(crop.box_from_points(r.points)[2:]))) for r in recs]
        report, _ = evaluate(model, recs, progress=False)
        out["picture_scale"][f"{scale:.3f}"] = {"face_px_median": round(float(np.median(faces)), 1),
                                                **{k: report[k] for k in ("nme_bbox", "pose_mae")}}
        print("picture x", round(scale, 3), "face", round(float(np.median(faces))), "px:",
              round(report["nme_bbox"]["mean_of_bins"], 3), round(report["pose_mae"]["mean"], 2), flush=True)
    frame = np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    for face in (150, 300, 600):
        m = crop.crop_matrix(np.array([640.0, 360.0]), face * crop.BOX_SCALE)
        out["crop_ms"][f"face_{face}px"] = {"area_then_bilinear": crop_ms(crop.warp, frame, m),
                                            "bilinear": crop_ms(crop.bilinear_warp, frame, m)}
    print(json.dumps(out["crop_ms"]))
    write_text(args.out, json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
