#!/usr/bin/env bash
# The narrower-framing candidate (issue 3; benchmarks/README.md, "Framing jitter"): v0.9.3 distilled 8 epochs as
# for v0.9.4 with the training crops' shift at +-2 % and scale at +-3 % (benchmarks/distill_v093_tighter.yaml),
# seeds 28 and 29, averaged, its pose head refitted under the same framing (pose_head_tighter.yaml), k from the
# pool.
#
#   benchmarks/train_tighter.sh [OUT]      (default runs/tighter.pt; `benchmarks/release.sh` ships a checkpoint)
exec "$(dirname "$0")/train_round.sh" distill_v093_tighter 28 29 pose_head_tighter \
    benchmarks/results/pose_profile_keep_tighter.json "${1:-runs/tighter.pt}"
