#!/usr/bin/env bash
# v0.9.3 (issue 3): v0.9.2 distilled 12 epochs, four seeds (benchmarks/distill_gpu12.yaml, 24-27), averaged, its
# pose head refitted (pose_head_gpu12_four.yaml), the profile pose calibration's k measured on the training
# pool (pose_profile_keep.py) and set. `efld train` uses CUDA where there is one (4 minutes a run on an H200
# with 16 cores); on 2 CPU cores the four runs take about 8 h. The recorded runs went through the GPU machine's
# sample pack (benchmarks/gpu/) and two of them stopped after epoch 11: benchmarks/README.md, "Longer
# distillation on the lent GPU".
#
#   benchmarks/train_v093.sh [OUT]      (default runs/v093.pt; `benchmarks/release.sh` ships a checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/v093.pt}
for seed in 24 25 26 27; do
    efld train benchmarks/distill_gpu12.yaml --seed "$seed" --out "runs/gpu/long$seed" --no-progress
done
efld average runs/gpu12_four.pt runs/gpu/long{24,25,26,27}/last.pt
efld train benchmarks/pose_head_gpu12_four.yaml --no-progress
efld finish runs/pose_head_gpu12_four/last.pt runs/gpu12_four_head.pt
benchmarks/finish_calibrated.sh runs/gpu12_four_head.pt benchmarks/results/pose_profile_keep_gpu12_four.json "$OUT"
