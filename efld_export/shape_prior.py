"""Each face region from the other points: a linear shape prior, folded into the landmark layer.

Why: one pass of the network errs a little differently at every point, and a face's regions follow one another. For
each region (landmarks.REGIONS: jaw, brows, nose, eyes, mouth) a least-squares map from the network's own points
outside it to the training labels' points of it, fitted on the labelled pool, gives a second estimate of the region
whose errors are partly the network's and partly not; the blend keep x the network's region + (1 - keep) x the
prior's is closer to the truth than either (v0.9.7 on aflw2000-3d-val, keep 0.6: the jaw alone 4.865 -> 4.805 NME,
v0.9.8; every region 4.865 -> 4.70). Every blend is linear in the network's outputs, which are linear in the landmark
layer's input, so the whole prior folds into that layer's weights: the same graph, size and speed, and every backend
(.pt, .onnx, .tflite, the flip test) reads it. The jaw mattered first: it is the worst region and the pose head's
error comes from it (val's true jaw put into v0.9.7's points: pose 4.57 -> 3.76).

The pool cannot choose keep: its labels come from a 3D shape model fitted to a few human points, so on the pool each
region follows the others almost exactly and the prior alone looks best. keep is chosen on aflw2000-3d-val, whose
points are drawn by hand (benchmarks/shape_prior_keep.py).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from .crop import INPUT_SIZE, box_from_points, crop_face, transform_points
from .data.record import Record
from .landmarks import FLIP_PERM, NUM_POINTS, REGIONS
from .runtime import LandmarkModel

#: A fitted prior: per region, its flat (x, y) output indices, the indices it is read from, and the map
#: (len(read) + 1, len(region)) from those outputs (and 1) to the region's.
Prior = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def outputs(region: str) -> np.ndarray:
    """The flat (x, y) indices of a region's points in the landmark layer's 136 outputs."""
    points = REGIONS[region]
    return np.arange(2 * points.start, 2 * points.stop)


def crop_points(model: LandmarkModel, records: list[Record], progress: bool = True,
                chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The model's points and the records' own, (N, 68, 2) in crop units (the landmark layer's frame), each face cut
    as `efld eval` cuts it (the box of its own points)."""
    pred, true = [], []
    for i in tqdm(range(0, len(records), chunk), desc="predicting", unit="chunk", disable=not progress):
        part = records[i:i + chunk]
        crops, mats = zip(*(crop_face(r.image(), box_from_points(r.points)) for r in part))
        pred.append(model.predict_crops(list(crops))[0] / (INPUT_SIZE - 1))
        true.append(np.stack([transform_points(r.points, m) for r, m in zip(part, mats)]) / (INPUT_SIZE - 1))
    return np.concatenate(pred), np.concatenate(true)


def mirrored(points: np.ndarray) -> np.ndarray:
    """(N, 68, 2) crop-unit points of each face's mirror image (landmarks.flip_points in crop units)."""
    out = points[:, FLIP_PERM].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def check_regions(regions: Sequence[str]) -> None:
    """Region names of landmarks.REGIONS, at least one: checked before the pool is read."""
    unknown = sorted(set(regions) - set(REGIONS))
    if unknown or not regions:
        raise ValueError(f"regions must be some of {', '.join(REGIONS)}, got {', '.join(regions) or 'none'}")


def fit_shape_prior(predicted: np.ndarray, labels: np.ndarray, regions: Sequence[str] = tuple(REGIONS)) -> Prior:
    """Per region, least squares from the predicted points outside it (and 1) to the labels' points in it, on every
    face and its mirror image, so that the prior has no handedness. predicted, labels: (N, 68, 2) crop units."""
    check_regions(regions)
    predicted = np.concatenate([predicted, mirrored(predicted)]).reshape(-1, 2 * NUM_POINTS)
    labels = np.concatenate([labels, mirrored(labels)]).reshape(-1, 2 * NUM_POINTS)
    known = np.isfinite(predicted).all(1) & np.isfinite(labels).all(1)
    prior = {}
    for region in regions:
        target = outputs(region)
        read = np.setdiff1d(np.arange(2 * NUM_POINTS), target)
        x = np.hstack([predicted[known][:, read], np.ones((known.sum(), 1))])
        if len(x) <= x.shape[1]:
            raise ValueError(f"the shape prior needs more than {x.shape[1] // 2} faces with every point, got "
                             f"{len(x) // 2}")
        prior[region] = (target, read, np.linalg.lstsq(x, labels[known][:, target], rcond=None)[0])
    return prior


def blend(points: np.ndarray, prior: Prior, keep: float) -> np.ndarray:
    """Each region of points (N, 136, crop units) -> keep x itself + (1 - keep) x the prior's read of the others."""
    out = points.copy()
    for target, read, m in prior.values():
        out[:, target] = keep * points[:, target] + (1 - keep) * (points[:, read] @ m[:-1] + m[-1])
    return out


def prior_matrix(prior: Prior, keep: float) -> tuple[np.ndarray, np.ndarray]:
    """blend as points @ t + c: t (136, 136) and c (136,)."""
    t, c = np.eye(2 * NUM_POINTS), np.zeros(2 * NUM_POINTS)
    for target, read, m in prior.values():
        t[:, target] = 0.0
        t[target, target] = keep
        t[read[:, None], target] += (1 - keep) * m[:-1]
        c[target] = (1 - keep) * m[-1]
    return t, c


@torch.no_grad()
def fold_shape_prior(model: torch.nn.Module, prior: Prior, keep: float) -> None:
    """blend, written into the layers whose outputs sum to the points (the landmark layer, and the template layer
    where the model has one), in place."""
    if not 0.0 <= keep <= 1.0:
        raise ValueError(f"keep must be within [0, 1], got {keep}")
    t, c = (torch.tensor(a, dtype=torch.float32) for a in prior_matrix(prior, keep))
    layers = [model.landmarks] + ([model.landmarks_fine] if getattr(model, "templates", 0) else [])
    for layer in layers:
        layer.weight.copy_(t.T @ layer.weight)
        if layer.bias is not None:
            layer.bias.copy_(layer.bias @ t)
    model.landmarks.bias.add_(c)  # the prior's constant, once


def check_no_prior(state: dict[str, Any]) -> None:
    """A prior is fitted to a network's own points: on a network that already has one it would fit the blend."""
    if state.get("shape_prior") or state.get("jaw_prior"):  # "jaw_prior": v0.9.8's record (stage14), the jaw's alone
        raise ValueError("it already has a shape prior folded in; fit it on the network without one")


def shape_prior_state(state: dict[str, Any], records: list[Record], keep: float, labels: Path | str,
                      regions: Sequence[str] = tuple(REGIONS), progress: bool = True) -> dict[str, Any]:
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
    fold_shape_prior(model, fit_shape_prior(predicted, labels_crop, regions), keep)
    return {**state, "model": model.state_dict(),
            "shape_prior": {"labels": str(labels), "faces": len(records), "keep": keep, "regions": list(regions)}}
