#!/usr/bin/env bash
# Every GPU benchmark and the gpu-marked tests, one summary table, under 8 minutes on one GPU.
# Without a CUDA device: says so and exits 0. Usage: bench/gpu.sh [--quick]
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python; fi
fi
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 470 "$PY" bench/gpu.py "$@"
rc=$?
[ "$rc" -eq 124 ] && echo "bench/gpu.sh: stopped at the 8-minute limit"
exit "$rc"
