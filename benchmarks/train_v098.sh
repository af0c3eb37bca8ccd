#!/usr/bin/env bash
# v0.9.8 (issue 3): v0.9.7 (stage13/efld.pt) with the jaw prior folded into its landmark layer (efld_export/shape_prior.py):
# the least-squares map from its own inner points to the jaw of the pool labelled with the jaw offset "y" (the labels
# it trained on), blended with its own jaw at keep 0.6 (chosen on val by benchmarks/shape_prior_keep.py --regions jaw), its pose head
# as it was, the profile pose calibration's k measured again on the pool. About 8 minutes on 2 cores.
#
#   benchmarks/train_v098.sh [OUT]      (default runs/v098.pt; `benchmarks/release.sh` ships a checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/v098.pt}
LABELS=runs/pool_labels_jaw_offset_y
[ -d "$LABELS" ] || efld label "${EFLD_DATA:-../shared/data}/aflw-21pt-crops" --out "$LABELS" --jaw-offset y
efld shape-prior models/efld-mnv3s-0.5/stage13/efld.pt "$LABELS" runs/v098_jaw_prior.pt --keep 0.6 --regions jaw
efld finish runs/v098_jaw_prior.pt runs/v098_k1.pt --pose-profile-keep 1
JAW_OFFSET=y benchmarks/finish_calibrated.sh runs/v098_k1.pt benchmarks/results/pose_profile_keep_v098.json "$OUT"
