#!/usr/bin/env bash
# GPU-machine check for the GPUs/planner core. Needs python3 ≥ 3.11 and nvidia-ml-py,
# nothing else (no textual/docker/openai/httpx): that is part of what it checks.
#
#   OUT=/some/dir tests/perf/device_gpu_check.sh
#
# Writes to $OUT: gpus.json, gpus.txt, h100.json (an NVML recording: commit it to
# tests/data/nvml/ as a real-hardware fixture), plan.txt/plan.json for the detected
# card, bench.txt/bench.json, env.txt. With WHEELS=<dir> it first installs
# nvidia-ml-py from that folder (no network on the GPU machine).
set -u
OUT=${OUT:-./device-out}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."

if ! "$PY" -c 'import pynvml' 2>/dev/null && [ -n "${WHEELS:-}" ]; then
  "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" nvidia-ml-py >"$OUT/pip.txt" 2>&1 \
    || { "$PY" -m venv /tmp/gpuenv && PY=/tmp/gpuenv/bin/python \
         && "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" nvidia-ml-py >>"$OUT/pip.txt" 2>&1; }
fi

{
  echo "# python"; "$PY" --version
  echo "# nvidia-ml-py"; "$PY" -c 'import pynvml, importlib.metadata as m; print(m.version("nvidia-ml-py"))'
  echo "# blocked-module check (textual, docker, openai, httpx must not be needed)"
  "$PY" -c 'import importlib.util as u; print({m: bool(u.find_spec(m)) for m in ("textual","docker","openai","httpx")})'
  echo "# nvidia-smi"; nvidia-smi --query-gpu=index,name,memory.total,memory.used,driver_version --format=csv 2>&1
} >"$OUT/env.txt" 2>&1

run() { echo "\$ $*" >&2; "$@"; echo "exit $?" >&2; }

# Import with the UI/engine libraries blocked, even where they are installed.
BLOCK='import sys; [sys.modules.__setitem__(m, None) for m in ("textual","docker","openai","httpx","rich")]; from console.cli import main; raise SystemExit(main(sys.argv[1:]))'

run "$PY" -c "$BLOCK" gpus --json >"$OUT/gpus.json" 2>>"$OUT/log.txt"
run "$PY" -c "$BLOCK" gpus >"$OUT/gpus.txt" 2>>"$OUT/log.txt"
run "$PY" -m console gpus --record "$OUT/h100.json" --count 5 --interval 0.5 >"$OUT/record.txt" 2>>"$OUT/log.txt"
run "$PY" -c "$BLOCK" gpus --watch --json --count 3 --interval 0.2 >"$OUT/watch.jsonl" 2>>"$OUT/log.txt"
# plan with no --gpu uses the detected card(s)
run "$PY" -c "$BLOCK" plan >"$OUT/plan.txt" 2>>"$OUT/log.txt"
run "$PY" -c "$BLOCK" plan --json >"$OUT/plan.json" 2>>"$OUT/log.txt"
run "$PY" tests/perf/bench_telemetry.py --json "$OUT/bench.json" >"$OUT/bench.txt" 2>>"$OUT/log.txt"
cat "$OUT/gpus.txt" "$OUT/plan.txt" "$OUT/bench.txt" "$OUT/log.txt"
