#!/usr/bin/env bash
# The narrow-framing candidate, v0.9.4 (issue 3; benchmarks/README.md, "Framing jitter"): v0.9.3 distilled 8
# epochs with the training crops' shift and scale jitter narrowed (benchmarks/distill_v093_tight.yaml), seeds 28
# and 29, averaged, its pose head refitted under the same framing (pose_head_tight.yaml), k set from the pool.
#
#   benchmarks/train_tight.sh [OUT]      (default runs/tight.pt; `benchmarks/release.sh` ships a checkpoint)
exec "$(dirname "$0")/train_round.sh" distill_v093_tight 28 29 pose_head_tight \
    benchmarks/results/pose_profile_keep_tight.json "${1:-runs/tight.pt}"
