"""Does a weight average of fine-tunes beat each of them (benchmarks/README.md, "Weight averaging")?
Each ingredient and their average (`efld average`) through the one evaluator, on aflw2000-3d-val
(model selection) and on youtube-faces-68's test split (frontal faces no ingredient trained on and
no choice here looked at), so a gain on val can be checked on a second held-out set.

    python benchmarks/soup_eval.py --soup models/efld-mnv3s-0.5/stage5/efld.pt --out benchmarks/results/soup.json
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from efld_export.checkpoint import load_checkpoint
from efld_export.data import data_root, load_records
from efld_export.errors import EFLDError
from efld_export.evaluate import evaluate
from efld_export.files import write_text
from efld_export.runtime import LandmarkModel

SETS = ("aflw2000-3d-val", "youtube-faces-68:test")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--soup", type=Path, required=True, help="a checkpoint written by `efld average`")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    sources = load_checkpoint(args.soup).get("averaged_from")
    if not sources:
        raise EFLDError(f"{args.soup}: not written by `efld average` (no averaged_from)")
    paths = {s["path"]: Path(s["path"]) for s in sources} | {"average": args.soup}
    models = {name: LandmarkModel.from_artifact(path) for name, path in paths.items()}  # loaded once, used per set
    root = data_root()
    out: dict = {"command": "python " + " ".join(sys.argv), "sources": sources, "sets": {}}
    for spec in SETS:
        records = load_records(str(root / spec), progress=False)
        out["sets"][spec] = {}
        for name, model in models.items():
            report, _ = evaluate(model, records, progress=False)
            keep = {k: report[k] for k in ("n_images", "nme_bbox", "nme_interocular", "pose_mae") if k in report}
            out["sets"][spec][name] = keep
            print(spec, name, round(report["nme_bbox"]["mean_of_bins" if "mean_of_bins" in report["nme_bbox"]
                                                     else "overall"], 3), flush=True)
    write_text(args.out, json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
