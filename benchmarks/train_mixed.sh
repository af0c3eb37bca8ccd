#!/usr/bin/env bash
# The mixed-framing candidate (issue 3; benchmarks/README.md, "Framing jitter"): v0.9.3 distilled 8 epochs as for
# v0.9.4 with three quarters of the training crops framed narrowly (+-2 % shift, +-3 % scale) and a quarter with a
# detector's slack (+-8 %, +-10 %) (benchmarks/distill_v093_mixed.yaml), seeds 28 and 29, averaged, its pose head
# refitted under the same mixture (pose_head_mixed.yaml), k from the pool.
#
#   benchmarks/train_mixed.sh [OUT]      (default runs/mixed.pt; `benchmarks/release.sh` ships a checkpoint)
exec "$(dirname "$0")/train_round.sh" distill_v093_mixed 28 29 pose_head_mixed \
    benchmarks/results/pose_profile_keep_mixed.json "${1:-runs/mixed.pt}"
