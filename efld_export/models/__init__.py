"""Model factory (one file per model family, as in timm)."""
from __future__ import annotations

from typing import Any

from torch import nn

from .efld import EFLDNet

MODELS: dict[str, type[nn.Module]] = {"efld_mnv3_small": EFLDNet}


def create_model(name: str = "efld_mnv3_small", **kwargs: Any) -> nn.Module:
    """Build a model by name with its keyword arguments (width, act, se, ...)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    return MODELS[name](**kwargs)


__all__ = ["EFLDNet", "MODELS", "create_model"]
