#!/usr/bin/env bash
# Stage 7 of the shipped model (v0.9.1): the distillation average (benchmarks/train_distill_soup.sh:
# the teacher fine-tuned on the 3DMM-jaw labels, v0.9.0 = stage6/ distilled from it twice, averaged),
# then its pose head refitted alone to those averaged landmarks (benchmarks/pose_head_soup.yaml), the
# final epoch kept for use (no optimiser state). About 2 h 30 min on 2 cores.
# benchmarks/README.md, "v0.9.1".
#
#   benchmarks/train_stage7.sh [OUT]      (default models/efld-mnv3s-0.5/stage7/efld.pt, v0.9.1)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/efld-mnv3s-0.5/stage7/efld.pt}
benchmarks/train_distill_soup.sh runs/distill_jaw_wide_soup.pt
efld train benchmarks/pose_head_soup.yaml --threads 2
efld finish runs/pose_head_soup/last.pt "$OUT"
