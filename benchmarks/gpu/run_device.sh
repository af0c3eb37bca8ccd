#!/usr/bin/env bash
# Several gpu_train.py runs side by side on the lent GPU machine, each stopped at a deadline; their last.pt
# and a tar of their logs and metrics land in $OUT. Usage (from the repo root, the pack in .devdata):
#   benchmarks/gpu/run_device.sh SECONDS CONFIG NAME "KEY=V KEY=V" [NAME "KEY=V ..."]...
set -uo pipefail
deadline=$1 config=$2; shift 2
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi -L; nproc; python3 -c "import torch, numpy, cv2; print(torch.__version__, numpy.__version__, cv2.__version__)"
names=()
while [ $# -ge 2 ]; do
    name=$1 keys=$2; shift 2
    names+=("$name")
    # shellcheck disable=SC2086
    timeout "$deadline" python3 benchmarks/gpu/gpu_train.py .devdata "$config" $keys out=/tmp/runs/$name \
        > "/tmp/runs_$name.log" 2>&1 &
done
wait
mkdir -p /tmp/logs
for name in "${names[@]}"; do
    cp "/tmp/runs_$name.log" /tmp/logs/ 2>/dev/null
    cp "/tmp/runs/$name/metrics.jsonl" "/tmp/logs/${name}_metrics.jsonl" 2>/dev/null
    cp "/tmp/runs/$name/last.pt" "$OUT/$name.pt" 2>/dev/null
    tail -3 "/tmp/runs_$name.log"
done
tar -C /tmp/logs -cf "$OUT/logs.tar" .
