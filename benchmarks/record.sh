#!/usr/bin/env bash
# Re-record every figure in benchmarks/README.md, then rewrite its tables:
#   host: all artifacts of a release + the .pt checkpoint + the same weights exported with the flip test
#   (efld-export --int8 --flip-test; its report in results/export_flip.json) + the peers, 1 thread, one run;
#   QEMU aarch64: the int8 artifact's NME vs the host's, from a fresh root filesystem (cold) and again (cached).
#
#   benchmarks/record.sh [RELEASE_DIR] [CHECKPOINT]
set -euo pipefail
cd "$(dirname "$0")/.."
REL=${1:-$(ls -d models/efld-mnv3s-0.5-v*/ | sort -V | tail -n 1)}   # default: the newest release
REL=${REL%/}
PT=${2:-models/efld-mnv3s-0.5/efld.pt}
OUT=benchmarks/results
mkdir -p "$OUT"

FLIP=$(mktemp -d)
efld-export --int8 --flip-test --weights "$PT" --out "$FLIP/export" >/dev/null
cp "$FLIP/export/efld_int8.tflite" "$FLIP/efld_int8_flip.tflite"
python3 - "$FLIP/export/report.json" "$OUT/export_flip.json" "$PT" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
rep["command"] = f"efld-export --int8 --flip-test --weights {sys.argv[3]} --out EXPORT_DIR"
json.dump(rep, open(sys.argv[2], "w"), indent=2)
PY
efld bench "$PT" "$REL/efld.onnx" "$REL/efld_float32.tflite" "$REL/efld_float16.tflite" "$REL/efld_int8.tflite" \
    "$FLIP/efld_int8_flip.tflite" --threads 1 --json "$OUT/host_bench.json" --chart "$OUT/host_bench.png"
rm -rf "$FLIP"

now() { date +%s.%N; }
ROOT=$(mktemp -d)/qemu-aarch64-bookworm   # cold: a root filesystem built from nothing
t0=$(now); android_harness/build_rootfs.sh "$ROOT" >/dev/null; t1=$(now)
efld arm qemu "$REL/efld_int8.tflite" --root "$ROOT" --json "$OUT/qemu_aarch64.json" --max-diff 0.01; t2=$(now)
android_harness/build_rootfs.sh "$ROOT" >/dev/null; t3=$(now)   # cached: the same call finds it ready
efld arm qemu "$REL/efld_int8.tflite" --root "$ROOT" --json "$OUT/qemu_aarch64_cached.json" --max-diff 0.01; t4=$(now)
rm -rf "$(dirname "$ROOT")"
python3 - "$t0" "$t1" "$t2" "$t3" "$t4" "$OUT/qemu_timing.json" <<'PY'
import json, sys
t = [float(v) for v in sys.argv[1:6]]
json.dump({"command": "benchmarks/record.sh", "cold": {"build_rootfs_s": round(t[1] - t[0], 1),
           "run_s": round(t[2] - t[1], 1), "total_s": round(t[2] - t[0], 1)},
           "cached": {"build_rootfs_s": round(t[3] - t[2], 1), "run_s": round(t[4] - t[3], 1),
           "total_s": round(t[4] - t[2], 1)}, "note": "run_s = efld arm qemu on the whole validation set "
           "(host evaluation included); cold includes downloading the Debian packages and wheels"},
          open(sys.argv[6], "w"), indent=2)
PY
python3 benchmarks/table.py
