"""The labeller's output kept on disk for training runs.

Labelling the AFLW pool (teacher meshes, a shape model, one fit per face) takes 4-8 minutes and gives the
same labels for the same faces, settings, labelling models and code, so a rerun, a resume or a run that
changes only training settings reads them back. The key covers every input: the faces' pixels and human
points, the settings, the labelling models' files, the teacher's version and the source of the labeller's
modules (label.py, label_cache.py, distill.py for the labelling models, and every package module they import,
found statically), so an edit to the training loop, the loss or the command line does not label afresh."""
from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import threading
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .data.record import Record
from .files import atomic_path, exclusive
from .label import Label

Labelled = tuple[list[tuple[Record, Label]], dict]
_PACKAGE = Path(__file__).parent
#: The modules whose code makes the labels: the labeller, this cache's layout, the labelling models' loader.
_LABELLER_ROOTS = ("label", "label_cache", "distill")


def cache_dir() -> Path:
    """$EFLD_CACHE/labels, else ~/.cache/efld/labels."""
    return Path(os.environ.get("EFLD_CACHE", Path.home() / ".cache/efld")) / "labels"


def _update_file(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def _module_file(name: str) -> Path | None:
    path = _PACKAGE.joinpath(*name.split(".")) if name else _PACKAGE
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _package_imports(name: str) -> set[str]:
    """The package modules `name` imports (relative or absolute, at any depth in the file), and its parents."""
    path = _module_file(name)
    parts = name.split(".") if name else []
    here = parts if path.name == "__init__.py" else parts[:-1]
    found = {".".join(parts[:i]) for i in range(len(parts))}  # importing a.b runs a's __init__ first
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level + 1] + ([node.module] if node.module else [])
            elif (node.module or "").split(".")[0] == _PACKAGE.name:
                base = node.module.split(".")[1:]
            else:
                continue
            found.add(".".join(base))
            found.update(".".join(base + [a.name]) for a in node.names)  # `from . import x`: a module, maybe
        elif isinstance(node, ast.Import):
            found.update(".".join(a.name.split(".")[1:]) for a in node.names
                         if a.name.split(".")[0] == _PACKAGE.name)
    return {m for m in found if _module_file(m) is not None}


_SOURCES_LOCK = threading.Lock()


def labeller_sources() -> tuple[Path, ...]:
    """The files of _LABELLER_ROOTS and of every package module they reach by import, sorted; found once per process,
    under a lock: CPython 3.11's ast.parse can fail spuriously when two threads parse at once ("AST constructor
    recursion depth mismatch", python/cpython#106905), and two runs in one process may label at the same time."""
    with _SOURCES_LOCK:
        return _labeller_sources()


@functools.cache
def _labeller_sources() -> tuple[Path, ...]:
    seen: set[str] = set()
    todo = list(_LABELLER_ROOTS)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_package_imports(name) - seen)
    return tuple(sorted(_module_file(m) for m in seen))


def labels_key(records: list[Record], settings: dict[str, Any], model_files: list[Path]) -> str:
    """A digest of everything the labels depend on; settings must be JSON-serialisable."""
    h = hashlib.blake2b(digest_size=16)
    versions = {}
    for dist in ("mediapipe", "opencv-python", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    h.update(json.dumps({"settings": settings, "versions": versions}, sort_keys=True, default=str).encode())
    for src in labeller_sources():
        h.update(str(src.relative_to(_PACKAGE)).encode())
        _update_file(h, src)
    for path in model_files:
        _update_file(h, path)
    for rec in records:
        h.update(np.ascontiguousarray(rec.extra["image"]).tobytes())
        h.update(np.ascontiguousarray(rec.extra["points21"], dtype=np.float64).tobytes())
        h.update(repr(rec.extra.get("yaw_deg")).encode())
    return h.hexdigest()


def cached_labels(records: list[Record], settings: dict[str, Any], model_files: list[Path],
                  compute: Callable[[], Labelled], directory: Path | None
                  ) -> tuple[list[tuple[Record, Label]], dict, Path | None]:
    """compute()'s labels for records, read from directory/KEY.npz (labels_key) when there, else computed
    and stored. Returns (kept, report, the cache file read or None). directory None: no cache, no key.
    Runs that label alike at once (two seeds side by side) take turns: the second waits for the first's file
    instead of labelling the same faces again."""
    if directory is None:
        return (*compute(), None)
    path = directory / f"{labels_key(records, settings, model_files)}.npz"
    with exclusive(path.with_suffix(".lock")):
        return _read_or_compute(records, path, compute)


def _read_or_compute(records: list[Record], path: Path, compute: Callable[[], Labelled]
                     ) -> tuple[list[tuple[Record, Label]], dict, Path | None]:
    if path.exists():
        try:
            with np.load(path) as z:
                kept = [(records[int(i)], Label(p.copy(), q.copy(), float(e)))
                        for i, p, q, e in zip(z["index"], z["points"], z["pose"], z["fit_error"])]
                return kept, json.loads(str(z["report"])), path
        except (OSError, ValueError, KeyError, IndexError, zipfile.BadZipFile):
            pass  # unreadable (a damaged disk, another version's layout): label afresh and replace it
    kept, report = compute()
    index = {id(rec): i for i, rec in enumerate(records)}
    arrays = dict(index=np.array([index[id(rec)] for rec, _ in kept], dtype=np.int64),
                  points=np.array([lab.points for _, lab in kept], dtype=np.float64).reshape(-1, 68, 2),
                  pose=np.array([lab.pose for _, lab in kept], dtype=np.float64).reshape(-1, 3),
                  fit_error=np.array([lab.fit_error for _, lab in kept], dtype=np.float64),
                  report=np.array(json.dumps(report)))
    with atomic_path(path, suffix=".npz") as tmp:  # two runs labelling alike at once both leave a whole file
        np.savez(tmp, **arrays)
    return kept, report, None
