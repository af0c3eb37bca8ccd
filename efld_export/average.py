"""Weight averaging ("model soup", Wortsman et al. 2022; timm's avg_checkpoints.py): runs fine-tuned
from one set of weights stay in one basin, and the mean of their weights is often more accurate than
any of them at no cost at inference. Only checkpoints of the same architecture can be averaged; options that
change only how a run trained (TRAINING_ONLY_ARGS, e.g. pose_detach) or were fitted to one network after it
(CALIBRATION_ARGS: the profile pose calibration's k) do not count, and the average drops them."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Sequence

import torch

from .checkpoint import load_checkpoint, save_checkpoint
from .errors import EFLDError
from .models import MODELS
from .models.efld import CALIBRATION_ARGS, TRAINING_ONLY_ARGS
from .release import sha256


def _architecture(model_args: dict[str, Any]) -> dict[str, Any]:
    """The model arguments that say what the network computes (training-only options and calibrations left out)."""
    return {k: v for k, v in model_args.items() if k not in TRAINING_ONLY_ARGS + CALIBRATION_ARGS}


def _same_architecture(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two checkpoints' model arguments build the same network: an argument stated at its default value
    (a config's `pose_jaw: true`, say) is the same as one left out."""
    def build_args(args: dict[str, Any]) -> dict[str, Any]:
        args = dict(_architecture(args))
        name = args.pop("name", "efld_mnv3_small")
        defaults = {k: v.default for k, v in inspect.signature(MODELS[name]).parameters.items()
                    if v.default is not inspect.Parameter.empty} if name in MODELS else {}
        return {"name": name, **{k: v for k, v in args.items() if k not in defaults or defaults[k] != v}}
    return build_args(a) == build_args(b)


def dropped_calibrations(state: dict[str, Any]) -> list[str]:
    """The calibrations that `state`'s sources set and the average lost (to be measured again for it)."""
    return sorted({k for s in state["averaged_from"] for k in s["model_args"] if k in CALIBRATION_ARGS})


def average_checkpoints(paths: Sequence[Path | str]) -> dict[str, Any]:
    """A checkpoint whose floating-point tensors (weights and BatchNorm statistics) are the mean of
    those of `paths`; integer buffers (BatchNorm's batch counters) come from the first. Each source is
    recorded with its sha256 and training config, so the average can be rebuilt and checked."""
    if len(paths) < 2:
        raise EFLDError("averaging needs at least two checkpoints")
    states = [load_checkpoint(p) for p in paths]
    first = states[0]
    arch = _architecture(first["model_args"])
    for p, s in zip(paths[1:], states[1:]):
        if not _same_architecture(s["model_args"], first["model_args"]):
            raise EFLDError(f"{p}: model {_architecture(s['model_args'])} differs from {paths[0]}'s {arch}")
        if s["model"].keys() != first["model"].keys():
            raise EFLDError(f"{p}: its tensors differ from {paths[0]}'s")
    model = {}
    for k, v in first["model"].items():
        if v.is_floating_point():
            model[k] = (sum(s["model"][k].double() for s in states) / len(states)).to(v.dtype)
        else:
            model[k] = v.clone()
    sources = [{"path": str(p), "sha256": sha256(Path(p)), "config": s.get("config"), "model_args": s["model_args"]}
               for p, s in zip(paths, states)]
    return {"model": model, "model_args": arch, "averaged_from": sources}


def average(out: Path | str, paths: Sequence[Path | str]) -> dict[str, Any]:
    """Average `paths` into the checkpoint `out` (written atomically); returns the average's state."""
    out = Path(out)
    if any(Path(p).resolve() == out.resolve() for p in paths):
        raise EFLDError(f"{out}: the output would overwrite one of the checkpoints averaged")
    state = average_checkpoints(paths)
    save_checkpoint(out, state)
    return state
