#!/usr/bin/env bash
# GPU-machine check of what issue 16 added on the NVML side: per-process utilisation (a real
# process running kernels when torch is there, else one holding memory), a real recording with
# it, the sampler + history recorder on real NVML, and the history benchmark's CPU ratio there.
#
#   OUT=/some/dir WHEELS=.cache/wheels tests/perf/device_history_check.sh
set -u
OUT=${OUT:-./device-out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
if ! "$PY" -c 'import pynvml' 2>/dev/null; then
  "$PY" -m venv /tmp/gpuenv && PY=/tmp/gpuenv/bin/python
  "$PY" -m pip install --quiet --no-index --find-links "${WHEELS:-.cache/wheels}" nvidia-ml-py >"$OUT/pip.txt" 2>&1
fi
export XDG_STATE_HOME=/tmp/state
BLOCK='import sys; [sys.modules.__setitem__(m, None) for m in ("textual","docker","openai","httpx","rich")]; from console.cli import main; raise SystemExit(main(sys.argv[1:]))'
{
  echo "# torch?"; "$PY" -c 'import torch; print(torch.__version__)' 2>&1 | tail -1
  nvidia-smi --query-gpu=index,name,memory.used --format=csv
} >"$OUT/env.txt" 2>&1
# A process that runs kernels (torch if present), else one that holds 2 GiB.
if "$PY" -c 'import torch' 2>/dev/null; then
  "$PY" -c 'import torch,time; x=torch.randn(8192,8192,device="cuda"); t=time.time()
while time.time()-t<40: y=x@x; torch.cuda.synchronize()' &
else
  "$PY" tests/data/nvml/cuda_hold.py 2 40 >"$OUT/hold.txt" 2>&1 &
fi
HOLD=$!
sleep 8
"$PY" -c "$BLOCK" gpus --record "$OUT/h200-process.json" --count 5 --interval 0.5 >"$OUT/record.txt" 2>&1
"$PY" -c "$BLOCK" gpus --watch --json --count 3 --interval 0.5 >"$OUT/watch.jsonl" 2>&1
"$PY" -c "$BLOCK" gpus --watch --record-history --count 10 --interval 0.5 >"$OUT/history-watch.txt" 2>&1
"$PY" -c "$BLOCK" history --since 5m --json >"$OUT/history.json" 2>&1
echo "exit $?" >>"$OUT/history-watch.txt"
wait $HOLD
"$PY" - >"$OUT/putil.txt" 2>&1 <<'PYEOF'
import time
from console.gpu.nvml import RealNvml
b = RealNvml(); b.init(); h = b.handle(0)
print("first call:", b.process_utilization(h))
time.sleep(1)
print("after the process ended:", b.process_utilization(h))
PYEOF
