#!/usr/bin/env bash
# A finished checkpoint with the profile pose calibration measured for it and set: the pool labelled once
# (runs/pool_labels; with JAW_OFFSET set, `efld label --jaw-offset JAW_OFFSET` into
# runs/pool_labels_jaw_offset_JAW_OFFSET, the labels such a network trained on), k from
# benchmarks/pose_profile_keep.py on the training pool (its report, with val's figures beside, in KEEP_JSON), then
# `efld finish --pose-profile-keep k`. The last steps of every stage script since v0.9.2 (train_stage8.sh,
# train_stage9.sh, train_v093.sh).
#
#   [JAW_OFFSET=y] benchmarks/finish_calibrated.sh CHECKPOINT KEEP_JSON OUT
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
CKPT=$1 KEEP_JSON=$2 OUT=$3
LABELS=runs/pool_labels${JAW_OFFSET:+_jaw_offset_$JAW_OFFSET}
[ -d "$LABELS" ] || efld label "${EFLD_DATA:-../shared/data}/aflw-21pt-crops" --out "$LABELS" \
    ${JAW_OFFSET:+--jaw-offset "$JAW_OFFSET"}
python benchmarks/pose_profile_keep.py "$CKPT" --labels "$LABELS" --val --out "$KEEP_JSON"
KEEP=$(python3 -c "import json, sys; print(json.load(open(sys.argv[1]))['keep'])" "$KEEP_JSON")
efld finish "$CKPT" "$OUT" --pose-profile-keep "$KEEP"
