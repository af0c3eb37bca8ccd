#!/usr/bin/env bash
# The narrow-framing candidate (issue 3; benchmarks/README.md, "Framing jitter"): v0.9.3 distilled 8 epochs with
# the training crops' shift and scale jitter narrowed (benchmarks/distill_v093_tight.yaml), seeds 28 and 29 side
# by side at one thread each (about 45 minutes on 2 cores), averaged, its pose head refitted under the same
# framing (pose_head_tight.yaml), the profile pose calibration's k measured on the training pool and set.
#
#   benchmarks/train_tight.sh [OUT]      (default runs/tight.pt; `benchmarks/release.sh` ships a checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/tight.pt}
efld train benchmarks/distill_v093_tight.yaml --threads 1 --no-progress &
FIRST=$!
efld train benchmarks/distill_v093_tight.yaml --threads 1 --no-progress --seed 29 --out runs/distill_v093_tight_s29
wait "$FIRST"
efld average runs/distill_v093_tight_avg.pt runs/distill_v093_tight_s2{8,9}/last.pt
efld train benchmarks/pose_head_tight.yaml --no-progress
efld finish runs/pose_head_tight/last.pt runs/pose_head_tight.pt
benchmarks/finish_calibrated.sh runs/pose_head_tight.pt benchmarks/results/pose_profile_keep_tight.json "$OUT"
