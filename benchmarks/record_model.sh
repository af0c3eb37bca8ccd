#!/usr/bin/env bash
# Re-record the shipped model's core figures (issue 2 and 4): eval of the .pt, the .onnx and the int8
# .tflite on aflw2000-3d-val, training throughput on 2 cores, and a timed export with its report.
#
#   benchmarks/record_model.sh [CHECKPOINT] [RELEASE_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PT=${1:-models/efld-mnv3s-0.5/efld.pt}
REL=${2:-$(ls -d models/efld-mnv3s-0.5-v*/ | sort -V | tail -n 1)}   # default: the newest release
REL=${REL%/}
DATA=${EFLD_DATA:-../shared/data}
OUT=benchmarks/results
mkdir -p "$OUT"

efld eval "$PT" "$DATA/aflw2000-3d-val" --json "$OUT/eval_pt.json" --ced "$OUT/ced_pt.png" --grid "$OUT/grid_pt.jpg" >/dev/null
efld eval "$REL/efld.onnx" "$DATA/aflw2000-3d-val" --json "$OUT/eval_onnx.json" >/dev/null
efld eval "$REL/efld_int8.tflite" "$DATA/aflw2000-3d-val" --json "$OUT/eval_int8.json" >/dev/null

# Training throughput: one epoch of a 3200-image subset of the default recipe, 2 cores, no other load.
efld train --max-samples 3200 --epochs 1 --out /tmp/efld_throughput --no-progress 2>/dev/null >/dev/null
python3 - "$OUT/train_throughput.json" <<'PY'
import json, os, sys
import yaml
m = json.loads(open("/tmp/efld_throughput/metrics.jsonl").read().splitlines()[-1])
m_cfg = yaml.safe_load(open("/tmp/efld_throughput/config.yaml"))
json.dump({"command": "efld train --max-samples 3200 --epochs 1 --out /tmp/efld_throughput --no-progress",
           "cores": os.cpu_count(), "train_img_per_s": m["train_img_per_s"], "epoch_seconds": m["seconds"],
           "note": f"default recipe (model {m_cfg['model']}, batch {m_cfg['batch_size']}, augmentation on, "
                   f"{m_cfg['workers']} loader worker)"},
          open(sys.argv[1], "w"), indent=2)
PY
rm -rf /tmp/efld_throughput

# The README's main command, timed (export of the shipped model with its report).
/usr/bin/time -f "%e" -o /tmp/efld_export_time efld-export --int8 --out /tmp/efld_export_check > "$OUT/export_stdout.txt"
python3 - "$OUT/export.json" <<'PY'
import json, sys
rep = json.load(open("/tmp/efld_export_check/report.json"))
rep["command"] = "efld-export --int8 --out /tmp/efld_export_check"
rep["wall_seconds"] = float(open("/tmp/efld_export_time").read().split()[-1])
json.dump(rep, open(sys.argv[1], "w"), indent=2)
PY
rm -rf /tmp/efld_export_check
