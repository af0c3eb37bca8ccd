#!/usr/bin/env bash
# Several gpu_train.py runs side by side on the lent GPU machine, each stopped at a deadline; their last.pt
# and a tar of their logs and metrics land in $OUT. Usage (from the repo root):
#   PACK=/tmp/devdata benchmarks/gpu/run_device.sh SECONDS CONFIG NAME "KEY=V ... [--seconds S]" [NAME "..."]...
# A call carries at most 64 MiB and the machine removes every ignored path a call does not carry, so a pack
# larger than one call travels shard by shard, each call copying its shard to /tmp/devdata (which stays while
# the machine is warm, 30 s after a call), the last one running this. `--seconds` fits the epochs to the time
# from a probe run; probes started together under-read the rate (2026-12-04: 640 img/s read, 1,100-1,450
# reached), so fixed epochs sized from an earlier run's rate use the time better.
set -uo pipefail
deadline=$1 config=$2; shift 2
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi -L; nproc; python3 -c "import torch, numpy, cv2; print(torch.__version__, numpy.__version__, cv2.__version__)"
names=()
while [ $# -ge 2 ]; do
    name=$1 keys=$2; shift 2
    names+=("$name")
    # shellcheck disable=SC2086
    timeout "$deadline" python3 benchmarks/gpu/gpu_train.py "${PACK:-.devdata}" "$config" $keys out=/tmp/runs/$name \
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
