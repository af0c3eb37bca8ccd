"""The labeller's output kept on disk for training runs.

Labelling the AFLW pool (teacher meshes, a shape model, one fit per face) takes 4-8 minutes and gives the
same labels for the same faces, settings, labelling models and code, so a rerun, a resume or a run that
changes only training settings reads them back. The key covers every input: the faces' pixels and human
points, the settings, the labelling models' files, the teacher's version and this package's source (any
change to the code labels afresh)."""
from __future__ import annotations

import hashlib
import json
import os
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


def cache_dir() -> Path:
    """$EFLD_CACHE/labels, else ~/.cache/efld/labels."""
    return Path(os.environ.get("EFLD_CACHE", Path.home() / ".cache/efld")) / "labels"


def _update_file(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


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
    for src in sorted(_PACKAGE.rglob("*.py")):
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
