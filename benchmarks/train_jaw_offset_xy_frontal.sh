#!/usr/bin/env bash
# v0.9.6's chain on the pool labelled with the jaw offset's outward part on near-frontal faces only (issue 3,
# experiment after v0.9.6; the rule, set before the run, is in benchmarks/distill_jaw_offset_xy_frontal.yaml): one
# round of distillation from v0.9.4, a fresh pose head on its frozen network, read mirror-averaged, k from the pool
# labelled the same way, then `efld compare` against v0.9.6 (stage12/efld.pt). About 50 minutes on 2 cores, labelling included.
#
#   [THREADS=2] benchmarks/train_jaw_offset_xy_frontal.sh [OUT]      (default runs/jaw_offset_xy_frontal.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/jaw_offset_xy_frontal.pt}
T=${THREADS:-2}
efld train benchmarks/distill_jaw_offset_xy_frontal.yaml --threads "$T" --no-progress
python benchmarks/pose_head_init.py --fresh runs/distill_jaw_offset_xy_frontal/last.pt \
    runs/jaw_offset_xy_frontal_no_head.pt
efld train benchmarks/pose_head_jaw_offset_xy_frontal.yaml --threads "$T" --no-progress
efld finish runs/pose_head_jaw_offset_xy_frontal/last.pt runs/pose_head_jaw_offset_xy_frontal_mirror.pt --pose-mirror
JAW_OFFSET=xy_frontal benchmarks/finish_calibrated.sh runs/pose_head_jaw_offset_xy_frontal_mirror.pt \
    benchmarks/results/pose_profile_keep_pose_head_jaw_offset_xy_frontal.json "$OUT"
efld compare models/efld-mnv3s-0.5/stage12/efld.pt "$OUT" "${EFLD_DATA:-../shared/data}/aflw2000-3d-val" --threads "$T" \
    --json benchmarks/results/compare_v096_jaw_offset_xy_frontal.json
