"""Atomic text output: a file is written beside its final name, then renamed over it, so a reader
never sees half a result and an interrupted write leaves the old file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """Write `text` plus a final newline to `path` atomically, readable by others (0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    os.chmod(tmp, 0o644)  # mkstemp makes 0600: results are for sharing
    os.replace(tmp, path)
