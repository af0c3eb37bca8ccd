#!/usr/bin/env bash
# The fifth distillation round (issue 3; benchmarks/README.md, "A fifth round"): v0.9.4 distilled 8 epochs with
# itself and the wide jaw3dmm network as teachers, narrow framing (benchmarks/distill_v094.yaml), seeds 31 and
# 32, averaged, its pose head refitted (pose_head_v094.yaml), k set from the pool.
#
#   benchmarks/train_v094.sh [OUT]      (default runs/v094.pt; `benchmarks/release.sh` ships a checkpoint)
exec "$(dirname "$0")/train_round.sh" distill_v094 31 32 pose_head_v094 \
    benchmarks/results/pose_profile_keep_v094.json "${1:-runs/v094.pt}"
