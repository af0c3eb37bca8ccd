#!/usr/bin/env bash
# v0.9.7 (issue 3): the four runs of v0.9.6's distillation round from v0.9.4, averaged, with a fresh pose head. Two on
# the pool labelled with the jaw offset "y" (v0.9.6's labels; distill_jaw_offset.yaml, seeds 31 and 32), two with
# "xy_frontal" (distill_jaw_offset_xy_frontal.yaml, seeds 31 and 32); `efld average` of the four (all from the same
# weights), a head from scratch on the frozen average (pose_head_jaw_offset_soup4.yaml), read mirror-averaged, k from
# the y pool. About 2 h 15 min on 2 cores (four rounds of about 25 minutes, the head, the labelling).
#
#   benchmarks/train_v097.sh [OUT]      (default runs/v097.pt; `benchmarks/release.sh` ships a checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/v097.pt}
efld train benchmarks/distill_jaw_offset.yaml --threads 2 --no-progress
efld train benchmarks/distill_jaw_offset.yaml --threads 2 --no-progress --seed 32 --out runs/distill_jaw_offset_s32
efld train benchmarks/distill_jaw_offset_xy_frontal.yaml --threads 2 --no-progress
efld train benchmarks/distill_jaw_offset_xy_frontal.yaml --threads 2 --no-progress --seed 32 \
    --out runs/distill_jaw_offset_xy_frontal_s32
efld average runs/distill_jaw_offset_soup4.pt runs/distill_jaw_offset/last.pt runs/distill_jaw_offset_s32/last.pt \
    runs/distill_jaw_offset_xy_frontal/last.pt runs/distill_jaw_offset_xy_frontal_s32/last.pt
python benchmarks/pose_head_init.py --fresh runs/distill_jaw_offset_soup4.pt runs/jaw_offset_soup4_no_head.pt
efld train benchmarks/pose_head_jaw_offset_soup4.yaml --threads 2 --no-progress
efld finish runs/pose_head_jaw_offset_soup4/last.pt runs/pose_head_jaw_offset_soup4_mirror.pt --pose-mirror
JAW_OFFSET=y benchmarks/finish_calibrated.sh runs/pose_head_jaw_offset_soup4_mirror.pt \
    benchmarks/results/pose_profile_keep_pose_head_jaw_offset_soup4.json "$OUT"
