"""Write labelled faces in the shared CSV layout (landmarks.csv + pose.csv), so that a labelled set
is an ordinary dataset for `efld train` and `efld eval`. Image paths are written absolute."""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np

from ..landmarks import NUM_POINTS
from .record import Record


def _atomic_csv(path: Path, header: list[str], rows: list[list]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def write_csv_dataset(out_dir: Path, records: list[Record]) -> None:
    """OUT_DIR/landmarks.csv (68 points) and OUT_DIR/pose.csv (pitch, yaw, roll degrees), each written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [str(Path(r.image_path).resolve()) for r in records]
    _atomic_csv(out_dir / "landmarks.csv", ["image"] + [f"{c}{i}" for i in range(NUM_POINTS) for c in "xy"],
                [[n, *np.round(r.points, 3).ravel().tolist()] for n, r in zip(names, records)])
    _atomic_csv(out_dir / "pose.csv", ["image", "pitch_deg", "yaw_deg", "roll_deg"],
                [[n, *np.round([r.pose[1], r.pose[0], r.pose[2]], 3).tolist()] for n, r in zip(names, records)])
