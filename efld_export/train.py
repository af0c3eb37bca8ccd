"""Training: `efld train CONFIG [flags]`, single process or under torchrun (DistributedDataParallel).

Seeded, resumable (`--resume`), a JSON-lines metrics log, a checkpoint every epoch (last.pt),
the best by validation NME (best.pt) and the model at the end of each cosine cycle (cycleN.pt).
gloo on CPU, nccl on GPU.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, RandomSampler
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from .augment import AugmentConfig, augment
from .checkpoint import load_checkpoint, save_checkpoint
from .config import from_mapping, load_config
from .crop import INPUT_SIZE, box_from_points
from .data import data_root, load_records, parse_spec
from .data.record import Record
from .distill import DistillConfig, load_teacher, teacher_model
from .errors import EFLDError
from .evaluate import evaluate
from .files import write_text
from .landmarks import FAR_JAW, GROUPS
from .label import (LABEL_FOCAL, LABELLER_PITCH_OFFSET, MODELS_WEIGHT, check_jaw_offset, check_pose_labels,
                    label_records, make_teacher, with_human_points)
from .label_cache import cache_dir, cached_labels
from .loss import CLASSES, LossConfig, attributes, class_weights, efld_loss, sample_weights, yaw_bin_weights
from .models import create_model
from .pose import load_mean_face, pose_from_landmarks, pose_label, rotate_in_plane
from .runtime import LandmarkModel, TorchBackend


@dataclass
class TrainConfig:
    """Everything a run needs; a YAML file sets these keys, flags override them."""

    train: list[str] = field(default_factory=lambda: ["youtube-faces-68:train", "aflw-21pt-crops"])
    val: str | None = "aflw2000-3d-val"
    data_root: str | None = None
    mean_face: str = "mean_face_68_3d.csv"
    model: dict[str, Any] = field(default_factory=lambda: {"name": "efld_mnv3_small", "width": 0.5,
                                                           "act": "relu", "se": True})
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    #: Warm restarts: epochs where a cosine cycle ends and the next starts (SGDR-style). Each cycle's
    #: cosine runs from the start of training to its own end, so a restart at epoch 36 of 48 is what
    #: resuming a finished 36-epoch run with --epochs 48 does.
    lr_restarts: list[int] = field(default_factory=list)
    #: Exponential moving average of the weights (torch's AveragedModel, as timm's ModelEmaV2 and
    #: Ultralytics' ModelEMA): when set, the average is validated, kept and exported, and the raw
    #: weights' validation is logged beside it as `val_raw`. None: the raw weights (up to v0.4.0).
    ema_decay: float | None = None
    #: Largest global L2 norm of the gradient before a step (torch.nn.utils.clip_grad_norm_), against a batch that
    #: throws the weights off (one of eight runs of v0.9.6's round jumped in its third epoch: benchmarks/README.md,
    #: "After v0.9.7"; capped at 1000, it jumped less far but still jumped). None: unclipped (every shipped recipe).
    #: Each epoch's record logs the norms either way (grad_norm_mean, grad_norm_max), so a jump shows which epoch
    #: and how far.
    grad_clip: float | None = None
    loss: dict[str, Any] = field(default_factory=dict)
    augment: dict[str, Any] = field(default_factory=dict)
    label_max_fit_error: float = 0.08
    #: 3D teacher for the 21-point faces' labels (label.py): None (rigid fit only) or "mediapipe"
    #: (its meshes give the 3D shape model fitted to the human points).
    label_teacher: str | None = None
    #: Our own checkpoints as a second labelling teacher (distill.teacher_model: averaged, each
    #: flip-tested), their points in the fit at label_models_weight at every yaw; needs label_teacher.
    #: A list serves every 21-point training set; a mapping {train entry: checkpoints} gives each its
    #: own (cross-fitting: each fold labelled by models that never trained on it).
    label_models: list[str] | dict[str, list[str]] | None = None
    label_models_weight: float = MODELS_WEIGHT
    #: Keep the 21-point faces' labels on disk ($EFLD_CACHE/labels, else ~/.cache/efld/labels) and read
    #: them back when faces, settings, labelling models and code are unchanged (label_cache.py).
    label_cache: bool = True
    #: Targets of the 21-point faces at the 16 points that have a single 68-point counterpart:
    #: "fit" (the labeller's projection everywhere) or "human" (the visible human points themselves,
    #: the fit filling only the rest: direct supervision by the human points).
    label_human_points: str = "fit"
    #: The labeller's camera focal length in crop widths (label.py's LABEL_FOCAL; 1 up to v0.3.0).
    label_focal: float = LABEL_FOCAL
    #: Depth of the labeller's jaw (label.py's JAW_DEPTHS): "3dmm" or "teacher" (up to v0.8.1).
    label_jaw_depth: str = "3dmm"
    #: The labeller's jaw offset (label.py's JAW_OFFSETS): "none" (up to v0.9.5), "y" (v0.9.6), "xy" or "xy_frontal".
    label_jaw_offset: str = "none"
    #: Degrees "3dmm_calibrated" adds to the 21-point faces' pitch labels: the labeller's pitch offset, measured
    #: on youtube train for the labeller in use (benchmarks/labeller_pitch.py): 2.83 (label.py's
    #: LABELLER_PITCH_OFFSET) without a jaw offset, 2.32 with label_jaw_offset "y".
    label_pitch_offset: float = LABELLER_PITCH_OFFSET
    #: Pose labels of every face (label.py's POSE_LABELS): "3dmm_calibrated", PnP of the 3DMM mean shape
    #: on its 68 points (yaw from the AFLW file where it has one), the labelled faces' pitch raised by the
    #: labeller's offset; "3dmm" (v0.5.0), without it; or "mean_face" (up to v0.4.0: the 21-point
    #: faces' fit rotation, the others' PnP of the generic mean face with the camera of focal = width).
    pose_labels: str = "3dmm_calibrated"
    #: Weight of the labels' own yaw (PnP of the 3DMM mean shape on the labelled 68 points, as for pitch
    #: and roll) against the AFLW file's in the 21-point faces' yaw labels: 0 the file's (every model up to
    #: v0.9.5), 1 the PnP's. The file's yaw is AFLW's own estimate, a median 4 degrees from the 3DMM fits'
    #: that AFLW2000-3D scores against (data README); the PnP's is in their frame. Tried on v0.9.4's network at
    #: 1 and 0.5, both worse (benchmarks/README.md, "Yaw labels from the points").
    pose_label_yaw_points: float = 0.0
    #: |yaw| in degrees beyond which the far side's jaw (landmarks.FAR_JAW) of faces with dense 2D labels
    #: (youtube-faces-68) is left out of the landmark loss: that markup follows the silhouette, which on
    #: turned faces lies 3-17 % of the face off the 3D-consistent jawline the evaluation and the pool's
    #: labels use (benchmarks/README.md, "The jaw's depth"). None: every point counts (up to v0.8.1).
    silhouette_jaw_yaw: float | None = None
    #: Exponent of the |yaw|-bin weighting (loss.yaw_bin_weights) on top of the rare-sample weights:
    #: 0 none (every shipped model), 1 every bin of the protocol's mean the same total weight
    #: (benchmarks/yaw_balance_control.yaml: no gain).
    yaw_balance: float = 0.0
    #: Top-level modules to train (e.g. [pose]: a pose head on frozen landmarks); the rest is frozen
    #: and kept in eval mode, so its batch-norm statistics do not move either. None: the whole model.
    trainable: list[str] | None = None
    #: The pose head reads label + s x (predicted - label) at the labelled points in training (the
    #: predicted points elsewhere): s > 1 scales the frozen network's error on its training faces up to
    #: an unseen face's, a structured error where pose_input_noise's is independent (benchmarks/README.md,
    #: "A third distillation round; scaled residuals"). 1: the predicted points. Needs trainable: [pose],
    #: a landmark-reading head and one process.
    pose_residual_scale: float = 1.0
    #: Weight of a consistency term: each batch also goes through the network moved by a random whole
    #: number of pixels (up to shift_consistency_px each way), and the two answers, moved back, are held
    #: together (mean L1 in crop pixels over every point; no labels, no teacher on the second view). One pass
    #: varies with where the pixel grid falls on a face (benchmarks/README.md, "Shift variance"). 0: off.
    shift_consistency: float = 0.0
    shift_consistency_px: int = 2
    #: Hold the moved view to the unmoved answer as a fixed target (no gradient through the unmoved pass),
    #: so the term cannot pull the answer the labels train away from them; with both passes free, seed 25
    #: jumped at the peak rate and weight 3 diverged (benchmarks/README.md, "Stage 9").
    shift_consistency_detach: bool = False
    #: Knowledge distillation (distill.py's DistillConfig: teachers, weight, flip_test); None: labels only.
    distill: dict[str, Any] | None = None
    #: Checkpoint whose weights start the run (fine-tuning): tensors of matching name and shape are
    #: loaded, the others (a new head) keep their initialisation and are listed in the log.
    init: str | None = None
    seed: int = 0
    #: The labeller's own seed (its shape model's sample of near-frontal faces), apart from `seed`: the labels
    #: are the data's, not the run's, so runs that differ only in seed train on the same labels (read back from
    #: the cache, not relabelled) and a comparison of seeds measures the training alone. Up to 2026-12-03 the
    #: labeller took `seed`.
    label_seed: int = 0
    workers: int = 0
    threads: int | None = None
    out: str = "runs/default"
    #: batch_size is the global batch; under torchrun each of N processes takes batch_size / N.
    max_steps: int | None = None
    max_samples: int | None = None
    val_max: int | None = None
    skip_bad: bool = False

    @property
    def root(self) -> Path:
        """The data root: data_root in the config, else $EFLD_DATA or ../shared/data."""
        return Path(self.data_root) if self.data_root else data_root()

    def to_yaml(self) -> str:
        """The whole config, every key stated: what a run folder's config.yaml records."""
        return yaml.safe_dump(dataclasses.asdict(self), sort_keys=False).rstrip("\n")

    @classmethod
    def from_file(cls, path: Path | str | None, overrides: dict[str, Any] | None = None) -> "TrainConfig":
        """The config of a YAML file (config.load_config: `base:` resolved), flags on top."""
        data = load_config(path) if path is not None else {}
        data.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return from_mapping(cls, data)


@dataclass
class Sample:
    image: np.ndarray
    points: np.ndarray  # NaN: not a target (left out of the loss)
    pose: np.ndarray  # degrees, NaN where unknown
    weight: float
    box: np.ndarray  # (x, y, w, h) of every labelled point, targets or not: the crop's frame


def _resolve_spec(spec: str, root: Path) -> str:
    path, split = parse_spec(spec)
    if not path.is_absolute() and not path.exists():
        path = root / path
    return f"{path}:{split}" if split else str(path)


def _label_models_of(cfg: TrainConfig) -> Callable[[str], LandmarkModel | None]:
    """train entry -> its labelling models (label_models), every checkpoint loaded now: a bad one fails early."""
    spec_models = cfg.label_models
    if not isinstance(spec_models, dict):
        models = teacher_model(spec_models) if spec_models else None
        return lambda spec: models
    unknown = sorted(set(spec_models) - set(cfg.train))
    if unknown:
        raise EFLDError(f"label_models names {unknown}, not in train: {cfg.train}")
    loaded = {spec: teacher_model(paths) for spec, paths in spec_models.items() if paths}
    return loaded.get


#: The settings the 21-point faces' labels depend on (their cache key, label_cache.py).
LABEL_SETTINGS = ("label_max_fit_error", "label_teacher", "label_seed", "label_focal", "pose_labels",
                  "label_models_weight", "label_jaw_depth", "label_jaw_offset", "label_pitch_offset")


def _label_model_files(cfg: TrainConfig, spec: str) -> list[str]:
    """The checkpoints that label this train entry (label_models), in order."""
    if isinstance(cfg.label_models, dict):
        return list(cfg.label_models.get(spec) or [])
    return list(cfg.label_models or [])


def prepare_samples(cfg: TrainConfig, log=print) -> tuple[list[Sample], dict[str, Any]]:
    """Load every training set, label 21-point faces, fill missing poses, weight rare samples."""
    root = cfg.root
    check_pose_labels(cfg.pose_labels)
    check_jaw_offset(cfg.label_jaw_offset)
    if not 0.0 <= cfg.pose_label_yaw_points <= 1.0:
        raise EFLDError(f"pose_label_yaw_points must be within [0, 1], got {cfg.pose_label_yaw_points}")
    if cfg.label_human_points not in ("fit", "human"):
        raise EFLDError(f"label_human_points must be 'fit' or 'human', got {cfg.label_human_points!r}")
    if cfg.label_models and cfg.label_teacher is None:
        raise EFLDError("label_models join the 3D teacher's fit: set label_teacher (mediapipe) too")
    mean_face = load_mean_face(_resolve_spec(cfg.mean_face, root))
    records: list[Record] = []
    info: dict[str, Any] = {"sources": {}}
    models_of = _label_models_of(cfg)
    label_teacher = None  # made at the first 21-point set, then shared by every one
    for spec in cfg.train:
        recs = load_records(_resolve_spec(spec, root), skip_bad=cfg.skip_bad, progress=False)
        sparse = [r for r in recs if "points21" in r.extra]
        dense = [r for r in recs if "points21" not in r.extra]
        if sparse:
            def compute() -> tuple[list, dict]:
                nonlocal label_teacher
                label_teacher = label_teacher or make_teacher(cfg.label_teacher)
                return label_records(sparse, mean_face, cfg.label_max_fit_error, progress=False,
                                     teacher=label_teacher, seed=cfg.label_seed, focal=cfg.label_focal,
                                     pose_labels=cfg.pose_labels, models=models_of(spec),
                                     models_weight=cfg.label_models_weight, jaw_depth=cfg.label_jaw_depth,
                                     jaw_offset=cfg.label_jaw_offset, pitch_offset=cfg.label_pitch_offset)

            settings = {**{k: getattr(cfg, k) for k in LABEL_SETTINGS}, "mean_face": mean_face.tolist()}
            kept, report, hit = cached_labels(sparse, settings, [Path(f) for f in _label_model_files(cfg, spec)],
                                              compute, cache_dir() if cfg.label_cache else None)
            if hit:
                log(f"{spec}: labels read from {hit}")
            for rec, lab in kept:
                rec.points = lab.points
                rec.pose = yaw_from_points(lab.points, lab.pose, rec, cfg.pose_label_yaw_points)
                if cfg.label_human_points == "human":
                    rec.points = with_human_points(lab.points, rec.extra["points21"])
                rec.extra["occluded"] = bool(np.isnan(rec.extra["points21"]).any())
            dense += [rec for rec, _ in kept]
            info["sources"][spec] = {"records": len(recs), "labelling": report}
            log(f"{spec}: labelled {report['n_kept']}/{report['n_input']} faces ({report['dropped']})")
        else:
            info["sources"][spec] = {"records": len(recs)}
        records += dense
    if cfg.max_samples:
        rng = np.random.default_rng(cfg.seed)
        records = [records[i] for i in sorted(rng.permutation(len(records))[:cfg.max_samples])]
    for r in records:
        if r.pose is None or not np.isfinite(r.pose).all():
            h, w = r.extra["image"].shape[:2]
            r.pose = (pose_from_landmarks(r.points, mean_face, w, h) if cfg.pose_labels == "mean_face"
                      else pose_label(r.points, w, h))  # true points: the labeller's offset does not apply
    attrs = np.stack([attributes(r.pose, bool(r.extra.get("occluded", False))) for r in records])
    w_c, freq = class_weights(attrs)
    weights = sample_weights(attrs, w_c)
    if cfg.yaw_balance:
        factor, info["yaw_bin_weight"] = yaw_bin_weights(np.array([r.pose[0] for r in records]), cfg.yaw_balance)
        weights = weights * factor / (weights * factor).mean()
    info["class_frequency"] = dict(zip(CLASSES, map(float, freq)))
    info["class_weight"] = dict(zip(CLASSES, map(float, w_c)))
    info["n_samples"] = len(records)
    samples = [Sample(r.extra["image"], r.points, np.asarray(r.pose, dtype=np.float64), float(wt),
                      box_from_points(r.points)) for r, wt in zip(records, weights)]
    if cfg.silhouette_jaw_yaw is not None:
        info["silhouette_jaw_masked"] = mask_silhouette_jaw(
            [s for s, r in zip(samples, records) if "points21" not in r.extra], cfg.silhouette_jaw_yaw)
    return samples, info


def yaw_from_points(points: np.ndarray, pose: np.ndarray, rec: Record, weight: float) -> np.ndarray:
    """pose with its yaw moved weight of the way to the PnP yaw of points (TrainConfig.pose_label_yaw_points)."""
    if weight == 0.0:
        return pose
    h, w = rec.extra["image"].shape[:2]
    out = np.array(pose, dtype=np.float64)
    out[0] += weight * (pose_label(points, w, h)[0] - out[0])
    return out


def mask_silhouette_jaw(samples: list[Sample], max_yaw: float) -> int:
    """Leave out of the loss the far side's jaw of samples turned beyond max_yaw degrees (their points
    there become NaN; the crop keeps its box). Returns how many samples were masked."""
    n = 0
    for s in samples:
        yaw = float(s.pose[0])
        if np.isfinite(yaw) and abs(yaw) > max_yaw:
            s.points = s.points.copy()
            s.points[list(FAR_JAW[int(np.sign(yaw))])] = np.nan
            n += 1
    return n


class LandmarkDataset(Dataset):
    """Augmented 112x112 crops with normalised points, radians pose and sample weight."""

    def __init__(self, samples: list[Sample], aug: AugmentConfig | None, seed: int):
        self.samples, self.aug, self.seed, self.epoch = samples, aug, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        s = self.samples[i]
        rng = np.random.default_rng((self.seed, self.epoch, i))
        crop, pts, angle, flipped = augment(s.image, s.points, s.box, rng, self.aug)
        pose = s.pose.copy()
        if angle and np.isfinite(pose).all():
            pose = rotate_in_plane(pose, angle)
        if flipped:
            pose[[0, 2]] *= -1
        mask = ~np.isnan(pts).any(1)
        pts = np.nan_to_num(pts / (INPUT_SIZE - 1))
        img = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))).float().div_(255)
        return (img, torch.from_numpy(pts).float(), torch.from_numpy(mask),
                torch.from_numpy(np.radians(pose)).float(), torch.tensor(s.weight, dtype=torch.float32))


def _setup_distributed() -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not torch.distributed.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, torch.device("cuda", local)
    return rank, world, torch.device("cpu")


def init_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Load the tensors of `state` whose name and shape match; returns the names left as initialised."""
    own = model.state_dict()
    match = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(match, strict=False)
    return sorted(k for k in own if k not in match)


def residual_scaled(pred: torch.Tensor, pts: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
    """label + scale x (pred - label) where the label is known, pred elsewhere: pred (N, 136), pts (N, 68, 2)
    and mask (N, 68) as the loader gives them; (N, 136)."""
    pred = pred.view(-1, 68, 2)
    return torch.where(mask[..., None], pts + scale * (pred - pts), pred).flatten(1)


def shifted_view(img: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """img (N, C, H, W) with its content moved by (-dx, -dy) pixels, edges replicated: a point at crop pixel
    (x, y) is at (x - dx, y - dy) in the result."""
    p = max(abs(dx), abs(dy))
    if p == 0:
        return img
    h, w = img.shape[-2:]
    padded = F.pad(img, (p, p, p, p), mode="replicate")
    return padded[..., p + dy:p + dy + h, p + dx:p + dx + w]


def shift_consistency_loss(model: nn.Module, img: torch.Tensor, pred_pts: torch.Tensor, max_px: int,
                           rng: np.random.Generator) -> torch.Tensor:
    """Mean L1 distance (crop pixels) between the points predicted on img and those predicted on img moved
    by a random nonzero whole-pixel shift, moved back (pred_pts (N, 136) in crop units, from img)."""
    dx, dy = 0, 0
    while dx == 0 and dy == 0:
        dx, dy = (int(v) for v in rng.integers(-max_px, max_px + 1, 2))
    moved, _ = model(shifted_view(img, dx, dy))
    back = moved.view(-1, 68, 2) + torch.tensor([dx, dy], dtype=moved.dtype, device=moved.device) / (INPUT_SIZE - 1)
    return (back - pred_pts.view(-1, 68, 2)).abs().mean() * (INPUT_SIZE - 1)


def lr_at(step: int, total: int, warmup: int, base: float, restarts: tuple[int, ...] = ()) -> float:
    """Linear warm-up, then cosine to zero at the next restart (in steps) or at `total`."""
    total = next((r for r in sorted(restarts) if step < r < total), total)
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))


def grad_norm_stats(norms: list[torch.Tensor]) -> dict[str, float | None]:
    """An epoch's gradient norms before the steps, gathered as tensors so that a GPU run syncs once an epoch."""
    if not norms:
        return {"grad_norm_mean": None, "grad_norm_max": None}
    stacked = torch.stack(norms).float()
    return {"grad_norm_mean": float(stacked.mean()), "grad_norm_max": float(stacked.max())}


def freeze_except(model: nn.Module, trainable: list[str]) -> list[nn.Module]:
    """Stop the gradients of every top-level module not named in `trainable`; returns those modules,
    which the training loop keeps in eval mode."""
    children = dict(model.named_children())
    unknown = sorted(set(trainable) - set(children))
    if unknown:
        raise EFLDError(f"trainable: unknown module(s) {unknown}; the model has {sorted(children)}")
    frozen = [m for name, m in children.items() if name not in trainable]
    for m in frozen:
        m.requires_grad_(False)
    return frozen


def finished(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint for use, not for resuming: without the optimizer and the raw weights under an EMA."""
    return {k: v for k, v in state.items() if k not in ("optimizer", "model_raw")}


def train(cfg: TrainConfig, resume: Path | None = None, progress: bool = True,
          prepared: tuple[list[Sample], dict[str, Any]] | None = None) -> Path:
    """Run training; returns the path of the best checkpoint (or last.pt when there is no validation).

    `prepared`: the samples and their info as prepare_samples(cfg) made them, elsewhere (a machine without
    the data or the labellers trains from them: benchmarks/gpu/)."""
    rank, world, device = _setup_distributed()
    is_main = rank == 0
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    log = (lambda m: print(m, file=sys.stderr)) if is_main else (lambda m: None)
    distill = from_mapping(DistillConfig, cfg.distill, "distill") if cfg.distill is not None else None
    teacher = load_teacher(distill).to(device) if distill is not None else None  # before labelling: fail early
    teacher_points = None
    if distill is not None and not distill.jaw:
        teacher_points = torch.ones(68, dtype=torch.bool, device=device)
        teacher_points[list(GROUPS["jaw"])] = False
    aug = from_mapping(AugmentConfig, cfg.augment, "augment")  # before labelling: a bad key fails early
    loss_cfg = from_mapping(LossConfig, cfg.loss, "loss")
    samples, info = prepared if prepared is not None else prepare_samples(cfg, log)
    val_records = None
    if cfg.val and is_main:
        val_records = load_records(_resolve_spec(cfg.val, cfg.root), skip_bad=cfg.skip_bad, progress=False)
        if cfg.val_max:
            val_records = val_records[:cfg.val_max]
    ds = LandmarkDataset(samples, aug, cfg.seed)
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(ds, world, rank, shuffle=True, seed=cfg.seed)
    else:
        order = torch.Generator()
        sampler = RandomSampler(ds, generator=order)
    if cfg.batch_size % world:
        raise EFLDError(f"batch_size {cfg.batch_size} (the global batch) is not divisible by {world} processes")
    loader = DataLoader(ds, batch_size=cfg.batch_size // world, sampler=sampler, num_workers=cfg.workers,
                        drop_last=True)
    if len(loader) == 0:
        raise EFLDError(f"batch size {cfg.batch_size // world} is larger than the {len(ds) // world} samples per process")
    model_args = dict(cfg.model)
    name = model_args.pop("name", "efld_mnv3_small")
    model: nn.Module = create_model(name, **model_args).to(device)
    if cfg.init is not None and resume is None:
        fresh = init_weights(model, load_checkpoint(cfg.init)["model"])
        log(f"weights from {cfg.init}; newly initialised: {fresh or 'none'}")
    frozen = freeze_except(model, cfg.trainable) if cfg.trainable is not None else []
    if cfg.pose_residual_scale != 1.0 and (cfg.trainable != ["pose"] or model_args.get("pose_from") != "landmarks"
                                           or world > 1):
        raise EFLDError("pose_residual_scale needs trainable: [pose], model pose_from: landmarks and one process; "
                        f"got {cfg.trainable}, {model_args.get('pose_from')!r}, {world} processes")
    if cfg.shift_consistency and (cfg.shift_consistency < 0 or cfg.shift_consistency_px < 1 or world > 1):
        raise EFLDError("shift_consistency needs a weight >= 0, shift_consistency_px >= 1 and one process; got "
                        f"{cfg.shift_consistency}, {cfg.shift_consistency_px}, {world} processes")
    if cfg.grad_clip is not None and not cfg.grad_clip > 0:
        raise EFLDError(f"grad_clip must be a norm > 0 or unset, got {cfg.grad_clip}")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = (AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema_decay), use_buffers=True)
           if cfg.ema_decay else None)
    start_epoch, step, best = 0, 0, math.inf
    if resume is not None:
        state = load_checkpoint(resume)
        model.load_state_dict(state.get("model_raw", state["model"]))
        if ema is not None:
            ema.module.load_state_dict(state["model"])
            ema.n_averaged.fill_(max(int(state["step"]), 1))
        if "optimizer" in state:
            opt.load_state_dict(state["optimizer"])
        start_epoch, step, best = int(state["epoch"]) + 1, int(state["step"]), float(state.get("best_nme", math.inf))
        log(f"resumed from {resume} at epoch {start_epoch}")
    if world > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    total = cfg.epochs * len(loader)
    if cfg.max_steps:
        total = min(total, cfg.max_steps)
    warmup = int(cfg.warmup_epochs * len(loader))
    restarts = tuple(e * len(loader) for e in cfg.lr_restarts)
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "config.yaml", cfg.to_yaml())
        write_text(out / "data.json", json.dumps(info, indent=2))
        log(f"{info['n_samples']} training samples; class frequencies {info['class_frequency']}")
    meta = {"name": name, **model_args}
    best_path = out / "best.pt"
    for epoch in range(start_epoch, cfg.epochs):
        if step >= total:
            break
        ds.set_epoch(epoch)
        if world > 1:
            sampler.set_epoch(epoch)
        else:  # each epoch's order from (seed, epoch) alone, so a resumed run draws what an unbroken one does
            order.manual_seed(cfg.seed * 1_000_003 + epoch)
        model.train()
        for m in frozen:
            m.eval()
        t0, seen, sums = time.perf_counter(), 0, {"loss": 0.0, "landmark": 0.0, "pose": 0.0}
        grad_norms: list[torch.Tensor] = []
        if cfg.shift_consistency:
            sums["consistency"] = 0.0
            shift_rng = np.random.default_rng((cfg.seed, epoch, 7))
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", disable=not (progress and is_main))
        for img, pts, mask, pose, weight in bar:
            lr = lr_at(step, total, warmup, cfg.lr, restarts)
            for g in opt.param_groups:
                g["lr"] = lr
            img, pts, mask, pose, weight = (t.to(device) for t in (img, pts, mask, pose, weight))
            pred_pts, pred_pose = model(img)
            if cfg.pose_residual_scale != 1.0:
                pred_pose = model.pose(residual_scaled(pred_pts.detach(), pts, mask, cfg.pose_residual_scale))
            taught = None
            if teacher is not None:
                t_pts, t_pose = teacher(img)
                taught = (t_pts.view(-1, 68, 2), t_pose)
            loss, parts = efld_loss(pred_pts.view(-1, 68, 2), pts, mask, pred_pose, pose, weight, loss_cfg,
                                    taught, distill.weight if distill is not None else 0.0, teacher_points)
            if cfg.shift_consistency:
                reference = pred_pts.detach() if cfg.shift_consistency_detach else pred_pts
                consistency = shift_consistency_loss(model, img, reference, cfg.shift_consistency_px, shift_rng)
                loss = loss + cfg.shift_consistency * consistency
                sums["consistency"] += float(consistency.detach()) * len(img)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grad_norms.append((torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip) if cfg.grad_clip
                               else torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None]))
                              .detach())
            opt.step()
            if ema is not None:
                ema.update_parameters(model)
            step += 1
            seen += len(img)
            sums["loss"] += float(loss.detach()) * len(img)
            sums["landmark"] += parts["landmark"] * len(img)
            sums["pose"] += parts["pose"] * len(img)
            bar.set_postfix(loss=f"{sums['loss'] / seen:.4f}", lr=f"{lr:.2e}")
            if step >= total:
                break
        elapsed = time.perf_counter() - t0
        record: dict[str, Any] = {"epoch": epoch + 1, "step": step, "lr": lr, "seconds": round(elapsed, 1),
                                  "train_img_per_s": round(seen * world / elapsed, 1),
                                  **{k: v / max(seen, 1) for k, v in sums.items()},
                                  **grad_norm_stats(grad_norms)}
        if is_main:
            raw = getattr(model, "module", model)
            net = raw if ema is None else ema.module
            if val_records is not None:
                report, _ = evaluate(LandmarkModel(TorchBackend(net)), val_records, progress=False)
                record["val"] = report
                if ema is not None:
                    record["val_raw"], _ = evaluate(LandmarkModel(TorchBackend(raw)), val_records, progress=False)
                nme = report["nme_bbox"].get("mean_of_bins", report["nme_bbox"]["overall"])
            else:
                nme = record["loss"]
            state = {"model": net.state_dict(), "model_args": meta, "optimizer": opt.state_dict(),
                     **({"model_raw": raw.state_dict()} if ema is not None else {}),
                     "epoch": epoch, "step": step, "best_nme": min(best, nme), "config": dataclasses.asdict(cfg),
                     "metrics": json.loads(json.dumps(record))}
            save_checkpoint(out / "last.pt", state)
            if epoch + 1 in cfg.lr_restarts:  # the end of a cosine cycle: a finished model of its own
                save_checkpoint(out / f"cycle{epoch + 1}.pt", finished(state))
            if nme < best:
                best = nme
                record["best"] = True
                save_checkpoint(best_path, finished(state))
            with open(out / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            log(json.dumps({k: record[k] for k in ("epoch", "step", "loss", "train_img_per_s")}
                           | ({"val_nme": round(nme, 3)} if val_records is not None else {})))
        if world > 1:
            torch.distributed.barrier()
    if world > 1:
        torch.distributed.destroy_process_group()
    return best_path if best_path.exists() else out / "last.pt"
