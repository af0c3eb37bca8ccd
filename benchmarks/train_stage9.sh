#!/usr/bin/env bash
# Stage 9 (issue 3): v0.9.2 distilled once more with the shift-consistency term, three runs from v0.9.2:
# distill_shift_consistency.yaml at seeds 24 and 25 and distill_consistency_lr15.yaml (seed 25 at half the rate),
# averaged uniformly, the average keeping its own pose head (no refit), the profile pose calibration's k measured
# on the training pool (pose_profile_keep.py) and set. About 2 h 30 min on 2 cores. benchmarks/README.md,
# "Shift variance".
# Rule of the three-way average, set before it was measured (the two-way average with its head refitted, the first
# rule's candidate, failed: pose 5.164 > 5.146): ships only if its mean of bins is at most 5.231 and its pose MAE
# with its k applied is at most 4.891 (0.02 below v0.9.2's 4.911). The refit is left out because in the last two
# rounds it did not lower the averages' own heads (5.170 -> 5.175, 5.117 -> 5.164).
#
#   benchmarks/train_stage9.sh [OUT]      (default runs/stage9.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/stage9.pt}
efld train benchmarks/distill_shift_consistency.yaml --threads 1 --no-progress & first=$!
efld train benchmarks/distill_shift_consistency.yaml --threads 1 --seed 25 --out runs/distill_consistency_s25 \
    --no-progress & second=$!
wait "$first"; wait "$second"   # each wait fails if its run did
efld train benchmarks/distill_consistency_lr15.yaml --threads 2 --no-progress
efld average runs/distill_consistency_soup3.pt runs/distill_consistency/last.pt \
    runs/distill_consistency_s25/last.pt runs/distill_consistency_lr15/last.pt
[ -d runs/pool_labels ] || efld label "${EFLD_DATA:-../shared/data}/aflw-21pt-crops" --out runs/pool_labels
python benchmarks/pose_profile_keep.py runs/distill_consistency_soup3.pt --labels runs/pool_labels --val \
    --out benchmarks/results/pose_profile_keep_consistency_soup3.json
KEEP=$(python3 -c "import json; print(json.load(open('benchmarks/results/pose_profile_keep_consistency_soup3.json'))['keep'])")
efld finish runs/distill_consistency_soup3.pt "$OUT" --pose-profile-keep "$KEEP"
