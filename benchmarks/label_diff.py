"""How far apart two labellings of the pool are, before a run is spent on the second (issue 3). Each argument is a
label cache file (`efld train` logs its path: "labels read from ..."; a fresh labelling writes it under
$EFLD_CACHE/labels or ~/.cache/efld/labels). Over the faces both keep: the mean point distance as % of the face's
landmark box (all 68 points and the jaw's 17), and the mean absolute difference of the pose labels (degrees).

    python benchmarks/label_diff.py ~/.cache/efld/labels/A.npz ~/.cache/efld/labels/B.npz
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from efld_export.landmarks import REGIONS


def label_distance(a: Path, b: Path) -> dict:
    """The two caches' labels compared on the faces both keep (their record index)."""
    with np.load(a) as za, np.load(b) as zb:
        common, ia, ib = np.intersect1d(za["index"], zb["index"], return_indices=True)
        pa, pb = za["points"][ia], zb["points"][ib]
        qa, qb = za["pose"][ia], zb["pose"][ib]
    box = np.sqrt(np.prod(pa.max(1) - pa.min(1), axis=1))
    dist = np.linalg.norm(pa - pb, axis=2) / box[:, None] * 100
    return {"faces": int(len(common)), "points_percent_of_box": float(dist.mean()),
            "jaw_percent_of_box": float(dist[:, REGIONS["jaw"]].mean()),
            "pose_deg": dict(zip(("yaw", "pitch", "roll"), map(float, np.abs(qa - qb).mean(0))))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    args = ap.parse_args()
    print(json.dumps(label_distance(args.a, args.b), indent=2))


if __name__ == "__main__":
    main()
