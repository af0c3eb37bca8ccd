"""Atomic output: a file is written beside its final name, then renamed over it, so a reader never sees
half a result and an interrupted write leaves the old file; and a lock for writers that should take turns."""
from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` (readable by others, 0644) when the
    block ends, removed if it raises. suffix: for writers that insist on an extension (np.savez)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600: results are for sharing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold an advisory lock on the file `lock` for the block: processes (or threads) that share the name take
    turns. Closing the file releases it, so a holder that dies, killed included, frees it too."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def write_text(path: Path, text: str) -> None:
    """Write `text` plus a final newline to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")
