#!/usr/bin/env bash
# Stage 9 (issue 3): v0.9.2 distilled once more with the shift-consistency term (distill_shift_consistency.yaml,
# seeds 24 and 25, side by side at one thread each), averaged, its pose head refitted
# (pose_head_consistency_soup.yaml), the profile pose calibration's k measured on the training pool
# (pose_profile_keep.py) and set. About 2 h on 2 cores. The rule is in distill_consistency_w3.yaml.
# benchmarks/README.md, "Shift variance".
#
#   benchmarks/train_stage9.sh [OUT]      (default runs/stage9.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/stage9.pt}
efld train benchmarks/distill_shift_consistency.yaml --threads 1 --no-progress & first=$!
efld train benchmarks/distill_shift_consistency.yaml --threads 1 --seed 25 --out runs/distill_consistency_s25 \
    --no-progress & second=$!
wait "$first"; wait "$second"   # each wait fails if its run did
efld average runs/distill_consistency_soup.pt runs/distill_consistency/last.pt runs/distill_consistency_s25/last.pt
efld train benchmarks/pose_head_consistency_soup.yaml --threads 2
efld finish runs/pose_head_consistency_soup/last.pt runs/pose_head_consistency_soup.pt
[ -d runs/pool_labels ] || efld label "${EFLD_DATA:-../shared/data}/aflw-21pt-crops" --out runs/pool_labels
python benchmarks/pose_profile_keep.py runs/pose_head_consistency_soup.pt --labels runs/pool_labels --val \
    --out benchmarks/results/pose_profile_keep_consistency.json
KEEP=$(python3 -c "import json; print(json.load(open('benchmarks/results/pose_profile_keep_consistency.json'))['keep'])")
efld finish runs/pose_head_consistency_soup.pt "$OUT" --pose-profile-keep "$KEEP"
