#!/usr/bin/env bash
# Distillation on the new labels (issue 3): the wide candidate fine-tuned on the pool relabelled with the
# 3DMM's jaw depth (the teacher, models/candidates/efld-mnv3s-0.75-jaw3dmm), then v0.9.0 distilled from
# it and itself twice (seeds 13 and 14), and `efld average` of the two.
# Uniform: neither run is chosen by its val figure. The recorded average: 5.286 / pose 5.25 against v0.9.0's
# 5.330 / 5.22, not shipped. About 2 h 10 min on 2 cores. benchmarks/README.md, "Distillation on the new labels".
#
#   benchmarks/train_distill_soup.sh [OUT]      (default runs/distill_jaw_wide_soup.pt)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/distill_jaw_wide_soup.pt}
TEACHER=models/candidates/efld-mnv3s-0.75-jaw3dmm
efld train benchmarks/wide_075_jaw_3dmm.yaml --threads 2
efld finish runs/wide075_jaw_3dmm/last.pt "$TEACHER/efld.pt"
efld train benchmarks/distill_jaw_wide.yaml --threads 2
efld train benchmarks/distill_jaw_wide.yaml --threads 2 --seed 14 --out runs/distill_jaw_wide_seed14
efld average "$OUT" runs/distill_jaw_wide/last.pt runs/distill_jaw_wide_seed14/last.pt
