#!/usr/bin/env bash
# Build, once, an aarch64 Debian root filesystem with Python 3.11, numpy and the TFLite interpreter,
# so that the on-device runner (efld_export/arm/device_runner.py) can run under
# `qemu-aarch64-static -L ROOT ROOT/usr/bin/python3`. Only Debian's packages and PyPI's aarch64
# wheels are used; nothing is executed inside the root filesystem while building it (no chroot):
# debootstrap --foreign downloads the packages and dpkg -x unpacks every one of them.
#
#   android_harness/build_rootfs.sh [ROOT]     (prints ROOT; a finished ROOT is reused at once)
#
# ROOT defaults to $EFLD_QEMU_ROOT, else ~/.cache/efld/qemu-aarch64-bookworm. Needs root (debootstrap),
# debootstrap, and a Python with pip for the wheels ($PYTHON, default python3).
set -euo pipefail

ROOT=${1:-${EFLD_QEMU_ROOT:-$HOME/.cache/efld/qemu-aarch64-bookworm}}
SUITE=${EFLD_QEMU_SUITE:-bookworm}   # Python 3.11, matching the cp311 wheels below
MIRROR=${EFLD_QEMU_MIRROR:-http://deb.debian.org/debian}
RUNTIME=${EFLD_QEMU_RUNTIME:-ai-edge-litert==2.1.0}   # 2.3 crashes under QEMU; tflite-runtime==2.14.0 also works
NUMPY=${EFLD_QEMU_NUMPY:-numpy==1.26.4}
PYTHON=${PYTHON:-python3}
STAMP="$ROOT/.efld-ready"

if [ -f "$STAMP" ]; then
    echo "$ROOT"
    exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 2; }

PARTIAL="$ROOT.partial"
rm -rf "$PARTIAL"
mkdir -p "$(dirname "$ROOT")"
echo "building the aarch64 root filesystem in $ROOT (one time)" >&2
debootstrap --foreign --arch=arm64 --variant=minbase --include=python3 "$SUITE" "$PARTIAL" "$MIRROR" >&2
# --foreign unpacked only the 'required' set: unpack the rest (python3 and its libraries) too.
for deb in "$PARTIAL"/var/cache/apt/archives/*.deb; do
    dpkg -x "$deb" "$PARTIAL"
done
rm -f "$PARTIAL"/var/cache/apt/archives/*.deb

# Wheels for aarch64 (no dependencies: the runner needs numpy and the interpreter only).
platforms=()
for tag in manylinux2014_aarch64 manylinux_2_17_aarch64 manylinux_2_27_aarch64 manylinux_2_28_aarch64 \
           manylinux_2_34_aarch64; do
    platforms+=(--platform "$tag")
done
"$PYTHON" -m pip install -q --target "$PARTIAL/opt/efld/site" --no-deps --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 "${platforms[@]}" "$RUNTIME" "$NUMPY" >&2

touch "$PARTIAL/.efld-ready"
rm -rf "$ROOT"
mv "$PARTIAL" "$ROOT"
echo "$ROOT"
