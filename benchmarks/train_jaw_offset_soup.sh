#!/usr/bin/env bash
# Two seeds of v0.9.6's distillation round averaged, with a fresh pose head (issue 3, experiment after v0.9.6; the
# rule, set before the runs, is in benchmarks/distill_jaw_offset.yaml): seed 32 of distill_jaw_offset.yaml beside
# v0.9.6's seed 31, `efld average`, a head from scratch on the frozen average (pose_head_jaw_offset_soup.yaml), read
# mirror-averaged, k from the pool labelled the same way, then `efld compare` against v0.9.6. About 45 minutes on 2
# cores when runs/distill_jaw_offset (seed 31, benchmarks/train_v096.sh) exists.
#
#   benchmarks/train_jaw_offset_soup.sh [OUT]      (default runs/jaw_offset_soup.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/jaw_offset_soup.pt}
S32=runs/distill_jaw_offset_s32
RESUME=(); [ -f $S32/last.pt ] && RESUME=(--resume $S32/last.pt)  # an ended run's resume trains nothing
efld train benchmarks/distill_jaw_offset.yaml --threads 2 --no-progress --seed 32 --out $S32 "${RESUME[@]}"
efld average runs/distill_jaw_offset_soup.pt runs/distill_jaw_offset/last.pt runs/distill_jaw_offset_s32/last.pt
efld eval runs/distill_jaw_offset_soup.pt "${EFLD_DATA:-../shared/data}/aflw2000-3d-val" --threads 2 \
    --json benchmarks/results/eval_distill_jaw_offset_soup.json
python benchmarks/pose_head_init.py --fresh runs/distill_jaw_offset_soup.pt runs/jaw_offset_soup_no_head.pt
efld train benchmarks/pose_head_jaw_offset_soup.yaml --threads 2 --no-progress
efld finish runs/pose_head_jaw_offset_soup/last.pt runs/pose_head_jaw_offset_soup_mirror.pt --pose-mirror
JAW_OFFSET=y benchmarks/finish_calibrated.sh runs/pose_head_jaw_offset_soup_mirror.pt \
    benchmarks/results/pose_profile_keep_pose_head_jaw_offset_soup.json "$OUT"
efld compare models/efld-mnv3s-0.5/efld.pt "$OUT" "${EFLD_DATA:-../shared/data}/aflw2000-3d-val" --threads 2 \
    --json benchmarks/results/compare_v096_jaw_offset_soup.json
