"""Config dataclasses from YAML mappings: one place that turns a mistyped key into a clear error.

A typo in a training config (`ema_decy:`) must not fall back silently to the default it meant to
change, in the top level or in any section (`distill:`, `loss:`, `augment:`).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import EFLDError

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """cls(**data), or a one-line EFLDError naming the unknown keys and the known ones."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise EFLDError(f"unknown {where} key(s): {sorted(unknown)}; known: {sorted(known)}")
    return cls(**data)
