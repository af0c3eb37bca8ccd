"""Write labelled faces in the shared CSV layout (landmarks.csv + pose.csv), so that a labelled set
is an ordinary dataset for `efld train` and `efld eval`. Image paths are written absolute."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from ..files import write_text
from ..landmarks import NUM_POINTS
from .record import Record


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().rstrip("\n")


def write_csv_dataset(out_dir: Path, records: list[Record]) -> None:
    """OUT_DIR/landmarks.csv (68 points) and OUT_DIR/pose.csv (pitch, yaw, roll degrees), each written atomically."""
    names = [str(Path(r.image_path).resolve()) for r in records]
    write_text(out_dir / "landmarks.csv", _csv_text(["image"] + [f"{c}{i}" for i in range(NUM_POINTS) for c in "xy"],
               [[n, *np.round(r.points, 3).ravel().tolist()] for n, r in zip(names, records)]))
    write_text(out_dir / "pose.csv", _csv_text(["image", "pitch_deg", "yaw_deg", "roll_deg"],
               [[n, *np.round([r.pose[1], r.pose[0], r.pose[2]], 3).tolist()] for n, r in zip(names, records)]))
