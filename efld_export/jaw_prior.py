"""The jaw from the inner points: a linear shape prior, folded into the landmark layer.

Why: the jaw is the network's worst region (v0.9.7 on aflw2000-3d-val: 6.85 against 3.5-5.5 for the others) and
what the pose head's error comes from (val's true jaw put into the predicted points: pose 4.57 -> 3.76). The 51
inner points are better placed, and a face's jaw follows them. A least-squares map from the network's own inner
points to the training labels' jaw, fitted on the labelled pool, gives a second jaw whose errors are partly the
network's and partly not; the blend keep x network's jaw + (1 - keep) x prior's jaw is closer to the truth than
either. Both are linear in the landmark layer's input, so the blend folds into that layer's weights: the same graph,
size and speed, and every backend (.pt, .onnx, .tflite, the flip test) reads the folded jaw.

The pool cannot choose keep: its jaw labels come from a 3D shape model fitted largely to the inner points, so on the
pool the prior alone looks best. keep is chosen on aflw2000-3d-val, whose jaws are drawn by hand
(benchmarks/jaw_prior_keep.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from .crop import INPUT_SIZE, box_from_points, crop_face, transform_points
from .data.record import Record
from .landmarks import FLIP_PERM, GROUPS, NUM_POINTS
from .runtime import LandmarkModel

#: Flat (x, y) output indices of the jaw and of the inner points in the landmark layer's 136 outputs.
JAW_OUT = np.arange(2 * GROUPS["jaw"].start, 2 * GROUPS["jaw"].stop)
INNER_OUT = np.setdiff1d(np.arange(2 * NUM_POINTS), JAW_OUT)


def crop_points(model: LandmarkModel, records: list[Record], progress: bool = True,
                chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The model's points and the records' own, (N, 68, 2) in crop units (the landmark layer's frame), each face cut
    as `efld eval` cuts it (the box of its own points)."""
    pred, true = [], []
    for i in tqdm(range(0, len(records), chunk), desc="predicting", unit="chunk", disable=not progress):
        part = records[i:i + chunk]
        crops, mats = zip(*(crop_face(r.load_image(), box_from_points(r.points)) for r in part))
        pred.append(model.predict_crops(list(crops))[0] / (INPUT_SIZE - 1))
        true.append(np.stack([transform_points(r.points, m) for r, m in zip(part, mats)]) / (INPUT_SIZE - 1))
    return np.concatenate(pred), np.concatenate(true)


def mirrored(points: np.ndarray) -> np.ndarray:
    """(N, 68, 2) crop-unit points of each face's mirror image (landmarks.flip_points in crop units)."""
    out = points[:, FLIP_PERM].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def fit_jaw_prior(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Least squares from the predicted inner points (and 1) to the labels' jaw, (103, 34), on every face and its
    mirror image, so that the prior has no handedness. predicted, labels: (N, 68, 2) crop units."""
    predicted = np.concatenate([predicted, mirrored(predicted)]).reshape(-1, 2 * NUM_POINTS)
    labels = np.concatenate([labels, mirrored(labels)]).reshape(-1, 2 * NUM_POINTS)
    known = np.isfinite(predicted).all(1) & np.isfinite(labels).all(1)
    x = np.hstack([predicted[known][:, INNER_OUT], np.ones((known.sum(), 1))])
    if len(x) <= x.shape[1]:
        raise ValueError(f"fit_jaw_prior needs more than {x.shape[1]} faces with every point, got {len(x)}")
    return np.linalg.lstsq(x, labels[known][:, JAW_OUT], rcond=None)[0]


def blend_jaw(points: np.ndarray, prior: np.ndarray, keep: float) -> np.ndarray:
    """keep x the jaw of points + (1 - keep) x the prior's jaw from their inner points; points (N, 136) crop units."""
    out = points.copy()
    out[:, JAW_OUT] = keep * points[:, JAW_OUT] + (1 - keep) * (points[:, INNER_OUT] @ prior[:-1] + prior[-1])
    return out


@torch.no_grad()
def fold_jaw_prior(model: torch.nn.Module, prior: np.ndarray, keep: float) -> None:
    """blend_jaw, written into the layers whose outputs sum to the points (the landmark layer, and the template
    layer where the model has one), in place."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be within [0, 1], got {keep}")
    layers = [model.landmarks] + ([model.landmarks_fine] if getattr(model, "templates", 0) else [])
    m = torch.tensor(prior[:-1].T, dtype=torch.float32)  # (34, 102)
    jaw, inner = torch.as_tensor(JAW_OUT), torch.as_tensor(INNER_OUT)
    for layer in layers:
        w = layer.weight
        w[jaw] = keep * w[jaw] + (1 - keep) * m @ w[inner]
        if layer.bias is not None:
            b = layer.bias
            b[jaw] = keep * b[jaw] + (1 - keep) * m @ b[inner]
    b = model.landmarks.bias  # the prior's constant, once
    b[jaw] += (1 - keep) * torch.tensor(prior[-1], dtype=torch.float32)


def check_no_prior(state: dict[str, Any]) -> None:
    """A prior is fitted to a network's own jaw: on a network that already has one it would fit the blend."""
    if state.get("jaw_prior"):
        raise ValueError("it already has a jaw prior folded in; fit it on the network without one")


def jaw_prior_state(state: dict[str, Any], records: list[Record], keep: float, labels: Path | str,
                    progress: bool = True) -> dict[str, Any]:
    """A checkpoint's state (load_checkpoint's dict) with the prior fitted on records (a labelled pool) folded in
    at keep, and where it came from."""
    from .checkpoint import model_from_state
    from .runtime import TorchBackend
    from .train import finished

    state = finished(state)
    check_no_prior(state)
    model = model_from_state(state)
    flip_test, model.flip_test = model.flip_test, False  # the prior reads one pass's points, as it is folded
    predicted, labels_crop = crop_points(LandmarkModel(TorchBackend(model)), records, progress)
    model.flip_test = flip_test
    prior = fit_jaw_prior(predicted, labels_crop)
    fold_jaw_prior(model, prior, keep)
    return {**state, "model": model.state_dict(),
            "jaw_prior": {"labels": str(labels), "faces": len(records), "keep": keep}}
