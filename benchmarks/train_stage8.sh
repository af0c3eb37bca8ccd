#!/usr/bin/env bash
# Stage 8 (issue 3): v0.9.1 distilled again, twice side by side (benchmarks/distill_v091.yaml, seeds 22 and 23),
# averaged, its pose head refitted (pose_head_v091_soup.yaml), the profile pose calibration's k measured on
# the training pool (pose_profile_keep.py) and set. About 1 h 40 min on 2 cores.
# benchmarks/README.md, "A second distillation round".
#
#   benchmarks/train_stage8.sh [OUT]      (default models/efld-mnv3s-0.5/stage8/efld.pt, where v0.9.2 is kept since v0.9.3)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/efld-mnv3s-0.5/stage8/efld.pt}
efld train benchmarks/distill_v091.yaml --threads 1 --no-progress & first=$!
efld train benchmarks/distill_v091.yaml --threads 1 --seed 23 --out runs/distill_v091_s23 --no-progress & second=$!
wait "$first"; wait "$second"   # each wait fails if its run did
efld average runs/distill_v091_soup.pt runs/distill_v091_s22/last.pt runs/distill_v091_s23/last.pt
efld train benchmarks/pose_head_v091_soup.yaml --threads 2
efld finish runs/pose_head_v091_soup/last.pt runs/pose_head_v091_soup.pt
benchmarks/finish_calibrated.sh runs/pose_head_v091_soup.pt benchmarks/results/pose_profile_keep_stage8.json "$OUT"
