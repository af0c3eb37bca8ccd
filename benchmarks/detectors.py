"""Which face detector should `efld predict` use? Box mapping fitted on training data, then miss rate
and speed measured on the validation set.

    python benchmarks/detectors.py fit        # prints BOX_MAPS for efld_export/detect.py
    python benchmarks/detectors.py compare --out benchmarks/results/detectors.json [--model M.pt]

fit: on youtube-faces-68 train (never the validation set), each detector's box that overlaps the
landmark box (IoU >= 0.3) gives the landmark box's centre shift and size in units of the detector
box's size sqrt(w*h); the medians are the BoxMap constants.
compare: on aflw2000-3d-val, a face counts as found when a mapped detector box overlaps its
ground-truth landmark box with IoU >= 0.3; miss rate per |yaw| bin, ms per image (one thread,
first image not timed), extra detections per image (some photos hold other, unlabelled faces),
and for the found faces how well the mapped box matches the ground-truth crop. With --model, the
landmark NME on the found faces from the ground-truth box and from the detector's box (one pass,
a second pass from the first pass's points, their mean, a third pass from the second's points, the
mean of the second and third, and what Predictor gives), and how the confidence ranks the errors.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from efld_export.crop import box_from_points
from efld_export.data import data_root
from efld_export.data.readers import iter_records
from efld_export.data.record import Record
from efld_export.detect import DETECTOR_NAMES, BOX_MAPS, Detector, box_iou
from efld_export.metrics import YAW_BINS, nme_bbox, yaw_binned
from efld_export.release import tool_versions

MIN_IOU = 0.3


def records(spec: Path, split: str | None, limit: int | None) -> list[Record]:
    """Labelled records (images read on use), the first `limit` of them."""
    out = [r for r in iter_records(spec, split=split) if isinstance(r, Record)]
    return out[:limit] if limit else out


def best_match(boxes: list[np.ndarray], gt: np.ndarray) -> int | None:
    """Index of the box overlapping gt most, if it reaches MIN_IOU."""
    ious = [box_iou(b, gt) for b in boxes]
    return int(np.argmax(ious)) if ious and max(ious) >= MIN_IOU else None


def fit(args: argparse.Namespace) -> None:
    recs = records(args.data, "train", args.max)
    result = {"command": " ".join(["python", *sys.argv]), "data": f"{args.data}:train", "n_images": len(recs),
              "rule": "landmark box centre = detector centre + (dx, dy) * S, side max(w, h) = scale * S, "
                      "S = sqrt(w*h) of the detector box; medians over faces matched with IoU >= 0.3",
              "maps": {}}
    for name in args.detectors:
        det = Detector(name)
        rows = []
        for r in recs:
            boxes, _ = det.raw(r.load_image())
            gt = box_from_points(r.points)
            i = best_match(list(boxes), gt)
            if i is None:
                continue
            x, y, w, h = boxes[i]
            s = np.sqrt(w * h)
            rows.append(((gt[0] + gt[2] / 2 - x - w / 2) / s, (gt[1] + gt[3] / 2 - y - h / 2) / s, max(gt[2:]) / s))
        med = np.median(rows, axis=0)
        spread = np.percentile(rows, 75, axis=0) - np.percentile(rows, 25, axis=0)
        result["maps"][name] = {"dx": round(float(med[0]), 4), "dy": round(float(med[1]), 4),
                                "scale": round(float(med[2]), 4), "iqr": np.round(spread, 4).tolist(),
                                "n_matched": len(rows)}
        print(f'    "{name}": BoxMap({med[0]:.4f}, {med[1]:.4f}, {med[2]:.4f}),  # {len(rows)} of {len(recs)} faces',
              flush=True)
    write(args.out, result)


def compare(args: argparse.Namespace) -> None:
    cv2.setNumThreads(1)
    recs = records(args.data, None, args.max)
    yaw = np.array([r.pose[0] for r in recs])
    gts = [box_from_points(r.points) for r in recs]
    result = {"command": " ".join(["python", *sys.argv]), "data": str(args.data), "n_images": len(recs),
              "found_rule": f"a mapped detector box with IoU >= {MIN_IOU} against the ground-truth landmark box",
              "timing": "wall ms per detect() call incl. pre/post-processing, 1 thread, on a 2-core machine that "
                        "was also training a model (relative speed is what counts)",
              "bins": [b[0] for b in YAW_BINS], "tools": tool_versions() | {"opencv": cv2.__version__},
              "box_maps": {n: vars(BOX_MAPS[n]) for n in args.detectors}, "detectors": {}}
    predictor = None
    if args.model:
        import torch

        from efld_export.predict import Predictor
        from efld_export.runtime import LandmarkModel

        torch.set_num_threads(1)
        predictor = Predictor(LandmarkModel.from_artifact(args.model))
        result["model"] = str(args.model)
    for name in args.detectors:
        det = Detector(name)
        found, extra, ms, centre_err, side_ratio = np.zeros(len(recs), bool), [], [], [], []
        nme: dict[str, list] = {"gt_box": [], "one_pass": [], "two_pass": [], "mean_of_passes": [], "three_pass": [],
                                "mean_of_passes_2_3": [], "predictor": []}
        conf = []
        det.detect(recs[0].load_image())  # warm-up
        for k, (r, gt) in enumerate(zip(recs, gts)):
            image = r.load_image()
            t = time.perf_counter()
            dets = det.detect(image)
            ms.append((time.perf_counter() - t) * 1000)
            i = best_match([d.box for d in dets], gt)
            extra.append(len(dets) - (i is not None))
            if i is None:
                continue
            found[k] = True
            box = dets[i].box
            side = max(gt[2:])
            centre_err.append(np.hypot(*(box[:2] + box[2:] / 2 - gt[:2] - gt[2:] / 2)) / side)
            side_ratio.append(box[2] / side)
            if predictor is not None:
                ref = predictor.model.predict(image, [gt])[0].points
                one = predictor.model.predict(image, [box])[0].points
                two = predictor.model.predict(image, [box_from_points(one)])[0].points
                three = predictor.model.predict(image, [box_from_points(two)])[0].points
                face = predictor.predict(image, [box])[0]
                for key, pts in (("gt_box", ref), ("one_pass", one), ("two_pass", two),
                                 ("mean_of_passes", (one + two) / 2), ("three_pass", three),
                                 ("mean_of_passes_2_3", (two + three) / 2), ("predictor", face.points)):
                    nme[key].append(pts)
                conf.append(face.confidence)
        entry = {
            "miss_rate": yaw_binned((~found).astype(float), yaw),
            "ms_per_image": {"median": float(np.median(ms)), "mean": float(np.mean(ms)), "p90": float(np.percentile(ms, 90))},
            "extra_detections_per_image": float(np.mean(extra)),
            "found_faces": {"centre_error_over_side_median": float(np.median(centre_err)),
                            "side_ratio_median": float(np.median(side_ratio)),
                            "side_ratio_iqr": float(np.subtract(*np.percentile(side_ratio, [75, 25])))},
        }
        if predictor is not None and found.any():
            gt_pts = np.stack([r.points for r, f in zip(recs, found) if f])
            errs = {key: nme_bbox(np.stack(v), gt_pts) for key, v in nme.items()}
            entry["nme_bbox_found_faces"] = {key: {b: (v * 100 if not b.startswith("n_") else v)
                                                   for b, v in yaw_binned(e, yaw[found]).items()}
                                             for key, e in errs.items()}
            entry["confidence"] = confidence_report(np.array(conf), errs["predictor"])
        result["detectors"][name] = entry
        print(name, json.dumps(entry["miss_rate"]), json.dumps(entry["ms_per_image"]), flush=True)
    write(args.out, result)


def confidence_report(conf: np.ndarray, err: np.ndarray) -> dict[str, float]:
    """Does the confidence rank the errors? Spearman correlation and the NME of the low/high-confidence halves."""
    from scipy.stats import spearmanr

    low = conf <= np.median(conf)
    return {"spearman_conf_vs_nme": float(spearmanr(conf, err).statistic), "median": float(np.median(conf)),
            "nme_low_conf_half": float(err[low].mean() * 100), "nme_high_conf_half": float(err[~low].mean() * 100)}


def write(out: Path | None, result: dict) -> None:
    text = json.dumps(result, indent=2)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit")
    f.add_argument("--data", type=Path, default=data_root() / "youtube-faces-68")
    f.add_argument("--out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("--data", type=Path, default=data_root() / "aflw2000-3d-val")
    c.add_argument("--out", type=Path)
    c.add_argument("--model", type=Path, help="also measure landmark NME from detector boxes with this model")
    for p in (f, c):
        p.add_argument("--detectors", nargs="+", default=list(DETECTOR_NAMES))
        p.add_argument("--max", type=int, help="only the first N images")
    args = ap.parse_args()
    fit(args) if args.cmd == "fit" else compare(args)


if __name__ == "__main__":
    main()
