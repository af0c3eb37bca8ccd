#!/usr/bin/env bash
# CI step (called by .ci/run, inside the project's virtual environment, after the tests): the int8
# artifact's NME computed by aarch64 kernels under QEMU user mode must equal the host's within 0.01.
# Installs qemu-user-static and debootstrap where missing (needs root), builds the aarch64 root
# filesystem once (cached; about 20 s cold, 0 s after) and runs `efld arm qemu` on the whole
# validation set (about 25 s). Settings: EFLD_QEMU_MODEL, EFLD_QEMU_DATA, EFLD_QEMU_OUT, EFLD_QEMU_ROOT.
set -euo pipefail
cd "$(dirname "$0")/.."

NEWEST=$(ls -d models/efld-mnv3s-0.5-v*/ | sort -V | tail -n 1)   # the newest release
MODEL=${EFLD_QEMU_MODEL:-${NEWEST%/}/efld_int8.tflite}
DATA=${EFLD_QEMU_DATA:-../shared/data/aflw2000-3d-val}
OUT=${EFLD_QEMU_OUT:-runs/ci/qemu_aarch64.json}

need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -f "$MODEL" ] || { echo "ci_qemu: no model at $MODEL (set EFLD_QEMU_MODEL)" >&2; exit 2; }

start=$SECONDS
ROOT=$(android_harness/build_rootfs.sh)
echo "ci_qemu: aarch64 root filesystem ready in $((SECONDS - start)) s: $ROOT"
start=$SECONDS
efld arm qemu "$MODEL" --root "$ROOT" --data "$DATA" --json "$OUT" --max-diff 0.01
echo "ci_qemu: aarch64 NME within 0.01 of the host's ($((SECONDS - start)) s); report in $OUT"
