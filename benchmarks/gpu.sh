#!/usr/bin/env bash
# GPU benchmarks, for a machine with a CUDA card (not run in CI):
#   bench stance (engine vs naive loop vs transformers pipeline) and bench pipeline (whole runs,
#   workers 1 and 2) with --device cuda; the numbers and the card's name are appended to
#   benchmarks/RESULTS.md, the JSON kept in benchmarks/results/.
# Usage: benchmarks/gpu.sh [DOCS] [PAIRS]      (defaults: 1000 documents, 2048 pairs)
# Environment: PYTHON (default .venv/bin/python, else python3), STANCEKIT_GPU_WORKERS (default "1 2").
set -euo pipefail
cd "$(dirname "$0")/.."
DOCS="${1:-1000}"
PAIRS="${2:-2048}"
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
WORKERS="${STANCEKIT_GPU_WORKERS:-1 2}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu.sh: no NVIDIA GPU here (nvidia-smi -L fails); nothing run" >&2
  exit 3
fi
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu.sh: torch sees no CUDA device (a CPU-only torch build?); nothing run" >&2
  exit 3
fi
CARD="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
mkdir -p benchmarks/results
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
STANCE_JSON="benchmarks/results/bench_stance_cuda_${STAMP}.json"

"$PY" -m stancekit.cli bench stance --n "$PAIRS" --device cuda --json "$STANCE_JSON" >/dev/null

{
  echo
  echo "## GPU: $CARD"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Host: $(uname -srm), $(nproc) CPUs. torch $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)')."
  echo
  echo "### bench stance"
  echo
  echo "    stancekit bench stance --n $PAIRS --device cuda --json $STANCE_JSON"
  echo
  "$PY" - "$STANCE_JSON" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
flat = {k: v for k, v in r.items() if not isinstance(v, (dict, list))}
print("| key | value |\n|---|---|")
for k, v in flat.items():
    print(f"| {k} | {v} |")
for k, v in r.items():
    if isinstance(v, dict):
        print(f"| {k} | {json.dumps(v)} |")
PYEOF
  echo
} >> benchmarks/RESULTS.md

# shellcheck disable=SC2086
"$PY" benchmarks/bench_pipeline.py --docs "$DOCS" --workers $WORKERS --device cuda \
  --out-dir benchmarks/results --append benchmarks/RESULTS.md \
  --title "bench pipeline on $CARD, $DOCS synthetic documents"
echo "gpu.sh: results appended to benchmarks/RESULTS.md" >&2
