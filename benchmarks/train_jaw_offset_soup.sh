#!/usr/bin/env bash
# Seeds of v0.9.6's distillation round averaged, with a fresh pose head (issue 3, experiments after v0.9.6; the
# rules, set before the runs, are in benchmarks/distill_jaw_offset.yaml): each seed but 31 (v0.9.6's own run,
# runs/distill_jaw_offset from benchmarks/train_v096.sh) trained or resumed as runs/distill_jaw_offset_sSEED,
# `efld average` of them all, a head from scratch on the frozen average (benchmarks/pose_head_NAME.yaml), read
# mirror-averaged, k from the pool labelled the same way, then `efld compare` against v0.9.6 (stage12/efld.pt). About 25 minutes a
# seed and 17 for the rest on 2 cores.
#
#   benchmarks/train_jaw_offset_soup.sh NAME SEED...      e.g. jaw_offset_soup 32; jaw_offset_soup3 32 33
#   (writes runs/NAME.pt and benchmarks/results/{eval_distill,pose_profile_keep_pose_head,compare_v096}_NAME.json)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
NAME=$1; shift
DATA=${EFLD_DATA:-../shared/data}
RUNS=(runs/distill_jaw_offset/last.pt)
for SEED in "$@"; do
    RUN=runs/distill_jaw_offset_s$SEED
    RESUME=(); [ -f "$RUN/last.pt" ] && RESUME=(--resume "$RUN/last.pt")  # an ended run's resume trains nothing
    efld train benchmarks/distill_jaw_offset.yaml --threads 2 --no-progress --seed "$SEED" --out "$RUN" "${RESUME[@]}"
    RUNS+=("$RUN/last.pt")
done
efld average "runs/distill_$NAME.pt" "${RUNS[@]}"
efld eval "runs/distill_$NAME.pt" "$DATA/aflw2000-3d-val" --threads 2 --json "benchmarks/results/eval_distill_$NAME.json"
python benchmarks/pose_head_init.py --fresh "runs/distill_$NAME.pt" "runs/${NAME}_no_head.pt"
efld train "benchmarks/pose_head_$NAME.yaml" --threads 2 --no-progress
efld finish "runs/pose_head_$NAME/last.pt" "runs/pose_head_${NAME}_mirror.pt" --pose-mirror
JAW_OFFSET=y benchmarks/finish_calibrated.sh "runs/pose_head_${NAME}_mirror.pt" \
    "benchmarks/results/pose_profile_keep_pose_head_$NAME.json" "runs/$NAME.pt"
efld compare models/efld-mnv3s-0.5/stage12/efld.pt "runs/$NAME.pt" "$DATA/aflw2000-3d-val" --threads 2 \
    --json "benchmarks/results/compare_v096_$NAME.json"
