#!/usr/bin/env bash
# Stage 5 of the shipped model (v0.8.0): the weight average (`efld average`) of every fine-tune of
# v0.6.0 (stage3/) that was run, each a full training of its own config. Uniform: no ingredient was
# chosen or left out by its val figure. About 5 hours on 2 cores; each run is resumable
# (`efld train CONFIG --resume runs/NAME/last.pt`). benchmarks/README.md, "Weight averaging".
#
#   benchmarks/train_soup.sh [OUT]      (default models/efld-mnv3s-0.5/stage5/efld.pt, where v0.8.0 now lies)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/efld-mnv3s-0.5/stage5/efld.pt}
efld train efld_export/configs/distill.yaml                     # stage 4 = v0.7.0 (seed 2; stage4/)
efld train efld_export/configs/distill.yaml --seed 5 --epochs 12 --out runs/distill_seed5
efld train benchmarks/distill_long.yaml                         # 24 epochs, teacher weight 0.6, seed 4
efld train benchmarks/distill_relabel.yaml                      # the pool relabelled with our models in the fit
efld train benchmarks/distill_050_control.yaml                  # no teacher
efld train benchmarks/distill_round2.yaml                       # 10 more epochs from stage 4
efld average "$OUT" runs/distill_050/last.pt runs/distill_seed5/last.pt runs/distill_long/last.pt \
    runs/distill_relabel/last.pt runs/finetune_050_control/last.pt runs/distill_round2/last.pt
