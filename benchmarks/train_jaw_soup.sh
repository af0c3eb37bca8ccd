#!/usr/bin/env bash
# Stage 6 of the shipped model (v0.9.0): v0.8.1 (stage5/) fine-tuned on the pool relabelled with the
# 3DMM's jaw depth, twice (with and without youtube's silhouette jaw in the loss), and the two runs'
# weights averaged (`efld average`). Both runs that were made on the new labels, uniform: neither was
# chosen by its val figure. About 50 minutes each alone on 2 cores (the recorded runs went side by side,
# one thread each). benchmarks/README.md, "The jaw's depth".
#
#   benchmarks/train_jaw_soup.sh [OUT]      (default models/efld-mnv3s-0.5/stage6/efld.pt, where v0.9.0 now lies)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-models/efld-mnv3s-0.5/stage6/efld.pt}
efld train benchmarks/jaw_depth_3dmm.yaml
efld train benchmarks/jaw_depth_3dmm_silhouette.yaml
efld average "$OUT" runs/jaw_depth_3dmm/last.pt runs/jaw_depth_3dmm_silhouette/last.pt
