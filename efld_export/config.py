"""Config files and dataclasses: one place that reads a YAML config and turns a mistyped key into a
clear error.

A typo in a training config (`ema_decy:`) must not fall back silently to the default it meant to
change, in the top level or in any section (`distill:`, `loss:`, `augment:`).

A config may start from another (`base: other.yaml`, relative to its own folder) and state only what
it changes, so a recorded run reads as its difference from the recipe it varies. Sections merge key by
key (`model: {s3_channels: 32}` keeps the base's width); lists and other values replace the base's.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from .errors import EFLDError

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """cls(**data), or a one-line EFLDError naming the unknown keys and the known ones."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise EFLDError(f"unknown {where} key(s): {sorted(unknown)}; known: {sorted(known)}")
    return cls(**data)


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`: mappings merged recursively, anything else (lists too) replaced."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_config(path: Path | str, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A YAML config file as a mapping, with its `base:` chain resolved; one-line errors for a missing
    file, invalid YAML, a top level that is not a mapping and a cycle of bases."""
    p = Path(path)
    if not p.is_file():
        via = f" (base of {_chain[-1]})" if _chain else ""
        raise EFLDError(f"{p}: config file not found{via}")
    if p.resolve() in _chain:
        raise EFLDError(f"{p}: config bases form a cycle: {' -> '.join(map(str, _chain + (p.resolve(),)))}")
    try:
        data = yaml.load(p.read_text(), Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as e:  # one line: the file, the line and the problem
        mark = getattr(e, "problem_mark", None)
        raise EFLDError(f"{p}{f':{mark.line + 1}' if mark else ''}: not valid YAML "
                        f"({getattr(e, 'problem', None) or e})") from None
    if not isinstance(data, Mapping):
        raise EFLDError(f"{p}: a config must be a mapping of keys, not {type(data).__name__}")
    base = data.pop("base", None)
    if base is None:
        return data
    return merge(load_config(p.parent / str(base), _chain + (p.resolve(),)), data)
