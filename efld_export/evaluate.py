"""One evaluator for every backend: NME (box and inter-ocular), FR/AUC at 0.10, pose MAE.

The face box given to the model comes from the ground-truth landmarks by the rule in crop.py.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import metrics
from .crop import box_from_points, crop_face, transform_points
from .data.readers import read_landmarks_csv
from .data.record import Record
from .runtime import LandmarkModel


def predict_records(model: LandmarkModel, records: list[Record], chunk: int = 256,
                    progress: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Points (N, 68, 2) in image pixels and pose (N, 3) degrees for records, box from their landmarks."""
    pts, poses = [], []
    bar = tqdm(total=len(records), desc="evaluating", unit="img", disable=not progress, leave=False)
    for i in range(0, len(records), chunk):
        part = records[i:i + chunk]
        faces = [(r.image(), box_from_points(r.points)) for r in part]
        preds = model.predict_batch(faces)
        pts += [p.points for p in preds]
        poses += [p.pose for p in preds]
        bar.update(len(part))
    bar.close()
    pose = None if any(p is None for p in poses) else np.stack(poses)
    return np.stack(pts), pose


def _percent_by_yaw(values: np.ndarray, yaw: np.ndarray | None) -> dict[str, float]:
    """yaw_binned's means in %, without the bins' counts."""
    return {k: v * 100 for k, v in metrics.yaw_binned(values, yaw).items() if not k.startswith("n_")}


def compute_metrics(pred: np.ndarray, gt: np.ndarray, pred_pose: np.ndarray | None,
                    gt_pose: np.ndarray | None) -> dict[str, Any]:
    """The report's figures (NMEs in %)."""
    yaw = gt_pose[:, 0] if gt_pose is not None else None
    nme_b = metrics.nme_bbox(pred, gt)
    nme_io = metrics.nme_interocular(pred, gt)
    fr, auc = metrics.ced_auc(nme_io)
    out: dict[str, Any] = {
        "nme_bbox": {k: (v * 100 if not k.startswith("n_") else v) for k, v in metrics.yaw_binned(nme_b, yaw).items()},
        "nme_bbox_by_region": {region: _percent_by_yaw(e, yaw)
                               for region, e in metrics.nme_bbox_by_region(pred, gt).items()},
        "nme_interocular": float(nme_io.mean() * 100),
        "fr_10": fr,
        "auc_10": auc,
        "n_images": int(len(gt)),
    }
    if yaw is not None:
        out["jaw_forward_offset"] = _percent_by_yaw(metrics.jaw_forward_offset(pred, gt, yaw), yaw)
    if pred_pose is not None and gt_pose is not None:
        out["pose_mae"] = metrics.pose_mae(pred_pose, gt_pose)
    return out


def _truth(records: list[Record]) -> tuple[np.ndarray, np.ndarray | None]:
    """The records' true points (N, 68, 2) and, where every record has one, their pose (N, 3)."""
    gt = np.stack([r.points for r in records])
    has_pose = all(r.pose is not None and np.isfinite(r.pose).all() for r in records)
    return gt, (np.stack([r.pose for r in records]) if has_pose else None)


def compare(model_a: LandmarkModel, model_b: LandmarkModel, records: list[Record], resamples: int = 2000,
            seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """B against A on the same faces: the NME headline (mean of the |yaw| bins) and the pose MAE, each as B's
    figure minus A's with a paired bootstrap interval (metrics.paired_bootstrap). A release rule that asks for
    a few hundredths is only as good as that interval is narrow."""
    gt, gt_pose = _truth(records)
    yaw = gt_pose[:, 0] if gt_pose is not None else None
    nme, pose = [], []
    for model in (model_a, model_b):
        pred, pred_pose = predict_records(model, records, progress=progress)
        nme.append(metrics.nme_bbox(pred, gt) * 100)
        pose.append(metrics.pose_errors(pred_pose, gt_pose) if pred_pose is not None and gt_pose is not None else None)
    out: dict[str, Any] = {"nme_bbox": metrics.paired_bootstrap(*nme, yaw, True, resamples, seed)}
    if pose[0] is not None and pose[1] is not None and (np.isfinite(pose[0]) & np.isfinite(pose[1])).any():
        out["pose_mae"] = metrics.paired_bootstrap(*pose, yaw, False, resamples, seed)
    return out


def evaluate(model: LandmarkModel, records: list[Record], data_dir: Path | None = None,
             progress: bool = True, chunk: int = 256) -> tuple[dict[str, Any], np.ndarray]:
    """Evaluate on records; returns (report, predicted points). Every record is counted.

    chunk: faces cropped and predicted at a time (a remote target runs one chunk per round trip).
    """
    t0 = time.perf_counter()
    pred, pred_pose = predict_records(model, records, chunk=chunk, progress=progress)
    gt, gt_pose = _truth(records)
    report = compute_metrics(pred, gt, pred_pose, gt_pose)
    fitted = Path(data_dir) / "landmarks_fitted.csv" if data_dir is not None else None
    if fitted is not None and fitted.is_file():
        # AFLW2000-3D's original 3DMM-fitted points: the ones most published tables use.
        ref = {r.image_path.name: r.points for r in read_landmarks_csv(fitted, Path(data_dir) / "images")
               if isinstance(r, Record)}
        if all(r.image_path.name in ref for r in records):
            gt_f = np.stack([ref[r.image_path.name] for r in records])
            nme_f = metrics.nme_bbox(pred, gt_f)
            yaw = gt_pose[:, 0] if gt_pose is not None else None
            report["nme_bbox_fitted"] = {k: (v * 100 if not k.startswith("n_") else v)
                                         for k, v in metrics.yaw_binned(nme_f, yaw).items()}
    report["seconds"] = round(time.perf_counter() - t0, 3)
    return report, pred


def ced_plot(errors_by_name: dict[str, np.ndarray], path: Path, threshold: float = 0.10) -> None:
    """Cumulative error distribution curves (inter-ocular NME) as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    xs = np.linspace(0, threshold, 200)
    for name, err in errors_by_name.items():
        ax.plot(xs * 100, [(err <= x).mean() for x in xs], label=name)
    ax.set_xlabel("NME inter-ocular (%)")
    ax.set_ylabel("fraction of images")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def draw_grid(records: list[Record], pred: np.ndarray, path: Path, n: int = 16, cell: int = 224) -> None:
    """A grid of faces with true (green) and predicted (red) landmarks."""
    import cv2

    from .media import write_image

    idx = np.linspace(0, len(records) - 1, min(n, len(records))).astype(int)
    cols = int(np.ceil(np.sqrt(len(idx))))
    rows = int(np.ceil(len(idx) / cols))
    grid = np.zeros((rows * cell, cols * cell, 3), np.uint8)
    for k, i in enumerate(idx):
        rec = records[i]
        img = rec.image()
        crop, m = crop_face(img, box_from_points(rec.points), cell)
        crop = np.ascontiguousarray(crop)
        for pts, colour in ((rec.points, (0, 255, 0)), (pred[i], (255, 0, 0))):
            for x, y in transform_points(pts, m):
                if np.isfinite(x) and np.isfinite(y):
                    cv2.circle(crop, (int(round(x)), int(round(y))), 2, colour, -1, cv2.LINE_AA)
        r, c = divmod(k, cols)
        grid[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = crop
    write_image(Path(path), grid)
