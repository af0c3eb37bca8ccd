#!/usr/bin/env bash
# One distillation round as v0.9.4 and later were made (issue 3): the round's config trained with two seeds side
# by side at one thread each (about 45 minutes on 2 cores), the two runs averaged, the pose head refitted to the
# average's landmarks, the profile pose calibration's k measured on the training pool and set.
# DISTILL names benchmarks/DISTILL.yaml, whose runs go to runs/DISTILL_s<seed> and whose average,
# runs/DISTILL_avg.pt, is what benchmarks/POSE.yaml refits (into runs/POSE, finished as runs/POSE.pt).
#
#   benchmarks/train_round.sh DISTILL SEED_A SEED_B POSE KEEP_JSON OUT
#   e.g. benchmarks/train_round.sh distill_v094 31 32 pose_head_v094 benchmarks/results/pose_profile_keep_v094.json runs/v094.pt
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 6 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
DISTILL=$1 A=$2 B=$3 POSE=$4 KEEP_JSON=$5 OUT=$6
efld train "benchmarks/$DISTILL.yaml" --threads 1 --no-progress --seed "$A" --out "runs/${DISTILL}_s$A" & first=$!
efld train "benchmarks/$DISTILL.yaml" --threads 1 --no-progress --seed "$B" --out "runs/${DISTILL}_s$B" & second=$!
wait "$first"; wait "$second"   # each wait fails if its run did
efld average "runs/${DISTILL}_avg.pt" "runs/${DISTILL}_s$A/last.pt" "runs/${DISTILL}_s$B/last.pt"
efld train "benchmarks/$POSE.yaml" --no-progress --out "runs/$POSE"
efld finish "runs/$POSE/last.pt" "runs/$POSE.pt"
benchmarks/finish_calibrated.sh "runs/$POSE.pt" "$KEEP_JSON" "$OUT"
