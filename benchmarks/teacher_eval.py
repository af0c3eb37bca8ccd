"""Score distillation teachers on aflw2000-3d-val (or --data) through the one evaluator (benchmarks/README.md,
"Distillation"): each teacher is what `distill:` would build (distill.teacher_model), flip test included.

    python benchmarks/teacher_eval.py --out benchmarks/results/teacher_eval.json
    python benchmarks/teacher_eval.py --teacher "NAME=a.pt,b.pt" ... --out OUT.json   (other teachers)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from efld_export.data import data_root, load_records
from efld_export.distill import teacher_model
from efld_export.evaluate import evaluate
from efld_export.files import write_text

CANDIDATE, V060 = "models/candidates/efld-mnv3s-0.75/efld.pt", "models/efld-mnv3s-0.5/stage3/efld.pt"
SEED1, V080 = "models/candidates/efld-mnv3s-0.75-seed1/efld.pt", "models/efld-mnv3s-0.5/stage5/efld.pt"
TEACHERS = {"candidate, flip test": [CANDIDATE], "candidate + v0.6.0, each flip-tested (v0.7.0's)": [CANDIDATE, V060],
            "candidate seed 1, flip test": [SEED1], "candidate + candidate seed 1": [CANDIDATE, SEED1],
            "candidate + candidate seed 1 + v0.6.0": [CANDIDATE, SEED1, V060],
            "candidate + candidate seed 1 + v0.8.0": [CANDIDATE, SEED1, V080]}


def _teacher_arg(text: str) -> tuple[str, list[str]]:
    name, sep, paths = text.partition("=")
    if not sep or not paths:
        raise SystemExit(f"--teacher takes NAME=CKPT[,CKPT...], got {text!r}")
    return name, paths.split(",")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--teacher", action="append", default=[], metavar="NAME=CKPT[,CKPT...]",
                    help="score this teacher (repeatable) instead of the recorded set")
    ap.add_argument("--data", default="aflw2000-3d-val", help="data set under the data root (NAME[:split])")
    args = ap.parse_args()
    teachers = dict(_teacher_arg(t) for t in args.teacher) or TEACHERS
    records = load_records(str(data_root() / args.data), progress=False)
    out = {"command": "python " + " ".join(sys.argv), "teachers": {}}
    for name, paths in teachers.items():
        report, _ = evaluate(teacher_model(paths), records, progress=False)
        nme, pose = report["nme_bbox"], report.get("pose_mae")  # no yaw bins, no pose where the data has no poses
        out["teachers"][name] = {"checkpoints": paths, "data": args.data, "nme_bbox": nme,
                                 "nme_bbox_by_region": report["nme_bbox_by_region"], "pose_mae": pose}
        print(name, round(nme.get("mean_of_bins", nme["overall"]), 3), pose and round(pose["mean"], 3))
    write_text(Path(args.out), json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
