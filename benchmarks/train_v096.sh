#!/usr/bin/env bash
# The labeller's jaw calibrated on youtube (issue 3; benchmarks/README.md, "The labeller's jaw, calibrated on
# youtube"): v0.9.4 distilled one round (the fifth round's recipe) on the pool relabelled with the shape model's
# mean jaw moved down by the offset measured on youtube-faces-68 train (benchmarks/distill_jaw_offset.yaml; the
# offset is benchmarks/labeller_jaw.py's, in efld_export/assets), a pose head from scratch on its frozen network
# (pose_head_jaw_offset.yaml), read mirror-averaged, k from the pool labelled the same way. About 45 minutes on 2
# cores after the labelling.
#
#   benchmarks/train_v096.sh [OUT]      (default runs/v096.pt; `benchmarks/release.sh` ships a checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/v096.pt}
efld train benchmarks/distill_jaw_offset.yaml --threads 2 --no-progress
python benchmarks/pose_head_init.py --fresh runs/distill_jaw_offset/last.pt runs/jaw_offset_no_head.pt
efld train benchmarks/pose_head_jaw_offset.yaml --threads 2 --no-progress
efld finish runs/pose_head_jaw_offset/last.pt runs/pose_head_jaw_offset_mirror.pt --pose-mirror
JAW_OFFSET=y benchmarks/finish_calibrated.sh runs/pose_head_jaw_offset_mirror.pt \
    benchmarks/results/pose_profile_keep_pose_head_jaw_offset.json "$OUT"
