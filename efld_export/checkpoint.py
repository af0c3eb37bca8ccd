"""Checkpoints: plain dicts of tensors and Python values, loadable with torch.load(weights_only=True),
written atomically so an interrupted save never leaves a half file."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from .errors import EFLDError
from .files import atomic_path
from .models import create_model


def save_checkpoint(path: Path | str, state: dict[str, Any]) -> None:
    """torch.save into a temporary file beside `path`, then rename over it."""
    with atomic_path(Path(path)) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path | str) -> dict[str, Any]:
    """Load safely (weights_only=True); a clear error for a missing or foreign file."""
    path = Path(path)
    if not path.is_file():
        raise EFLDError(f"{path}: checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # pickle/zip errors of many kinds
        first = (str(e).strip().splitlines() or [""])[0].split(". ")[0]  # torch's own advice runs to 8 lines
        raise EFLDError(f"{path}: not a readable EFLD checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(state, dict) or "model" not in state or "model_args" not in state:
        raise EFLDError(f"{path}: not an EFLD checkpoint (needs 'model' and 'model_args')")
    return state


def load_model(path: Path | str) -> nn.Module:
    """The model stored in a checkpoint, in eval mode."""
    return model_from_state(load_checkpoint(path))


def model_from_state(state: dict[str, Any]) -> nn.Module:
    """The model of an already loaded checkpoint (load_checkpoint's dict), in eval mode."""
    args = dict(state["model_args"])
    model = create_model(args.pop("name", "efld_mnv3_small"), **args)
    model.load_state_dict(state["model"])
    return model.eval()
