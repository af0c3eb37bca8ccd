#!/usr/bin/env bash
# Runs of v0.9.6's distillation round averaged, with a fresh pose head (issue 3, experiments after v0.9.6; the
# rules, set before the runs, are in benchmarks/distill_jaw_offset.yaml and benchmarks/pose_head_NAME.yaml): each run
# trained or resumed (the labels' config, distill_jaw_offset.yaml for y or distill_jaw_offset_xy_frontal.yaml, with
# the seed; seed 31 writes the config's own out, others out_sSEED), `efld average` of them all with y's seed 31
# (v0.9.6's own run, runs/distill_jaw_offset from benchmarks/train_v096.sh), a head from scratch on the frozen
# average (a run whose training loss diverged stays out), read mirror-averaged, k from the y pool, then `efld compare`
# against AGAINST (v0.9.6, the default, v0.9.7, v0.9.8 or v0.9.9): benchmarks/fresh_head.sh with benchmarks/pose_head_NAME.yaml.
# About 25 minutes a run and 17 for the rest on 2 cores.
#
#   [AGAINST=v0.9.7] benchmarks/train_jaw_offset_soup.sh NAME RUN...
#   RUN: SEED (y labels) or LABELS:SEED (LABELS y or xy_frontal). e.g. jaw_offset_soup 32; jaw_offset_soup3 32 33;
#   jaw_offset_soup8 32 33 34 xy_frontal:31 xy_frontal:32 xy_frontal:33 xy_frontal:34 (with AGAINST=v0.9.7)
#   (writes runs/NAME.pt and benchmarks/results/{eval_distill,pose_profile_keep_pose_head}_NAME.json and
#   compare_v096_NAME.json or compare_v097_NAME.json)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,15p' "$0" >&2; exit 2; }
NAME=$1; shift
case ${AGAINST:-v0.9.6} in v0.9.6 | v0.9.7 | v0.9.8 | v0.9.9) ;; *) echo "AGAINST must be v0.9.6, v0.9.7, v0.9.8 or v0.9.9, got $AGAINST" >&2; exit 2 ;; esac
RUNS=(runs/distill_jaw_offset/last.pt)
for RUN_SPEC in "$@"; do
    LABELS=y; SEED=$RUN_SPEC
    [[ $RUN_SPEC == *:* ]] && { LABELS=${RUN_SPEC%%:*}; SEED=${RUN_SPEC#*:}; }
    case $LABELS in
        y) CONFIG=benchmarks/distill_jaw_offset.yaml RUN=runs/distill_jaw_offset ;;
        xy_frontal) CONFIG=benchmarks/distill_jaw_offset_xy_frontal.yaml RUN=runs/distill_jaw_offset_xy_frontal ;;
        *) echo "labels must be y or xy_frontal, got $LABELS" >&2; exit 2 ;;
    esac
    [ "$SEED" = 31 ] || RUN=${RUN}_s$SEED
    [ "$RUN" = runs/distill_jaw_offset ] && continue  # always in
    RESUME=(); [ -f "$RUN/last.pt" ] && RESUME=(--resume "$RUN/last.pt")  # an ended run's resume trains nothing
    efld train "$CONFIG" --threads 2 --no-progress --seed "$SEED" --out "$RUN" "${RESUME[@]}"
    # a run that diverged (some epoch's training loss over its first epoch's by more than 10 %) stays out
    if python3 - "$RUN/metrics.jsonl" <<'PY'
import json, sys
loss = [r["loss"] for r in map(json.loads, open(sys.argv[1])) if "epoch" in r and "loss" in r]
sys.exit(1 if max(loss) > 1.10 * loss[0] else 0)
PY
    then RUNS+=("$RUN/last.pt"); else echo "$RUN diverged (training loss): left out of the average" >&2; fi
done
efld average "runs/distill_$NAME.pt" "${RUNS[@]}"
benchmarks/fresh_head.sh "$NAME" "runs/distill_$NAME.pt"
