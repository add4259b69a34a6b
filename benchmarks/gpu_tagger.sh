#!/usr/bin/env bash
# The quote tagger on a GPU (issue 13; not run in CI): trains the bundled MiniLM and the all-mpnet-base-v2
# copy on PolNeAR train with --device cuda, scores each on PolNeAR dev in both protocols (document level
# and CofeNet's sentence level), and appends the numbers, the training time per epoch and the card's name to
# benchmarks/RESULTS.md (JSON in benchmarks/results/). PolNeAR has no licence for redistribution: the
# trained folders stay in models/ (git-ignored) and are never committed.
#
# Usage: benchmarks/gpu_tagger.sh [MINILM_EPOCHS] [MPNET_EPOCHS]        (defaults: 6 and 4)
# Environment:
#   EVAL_DATA  folder with polnear/{train,dev} and polnear-cofenet-bio/valid.txt (default ../shared/eval-data;
#              on a lent GPU machine copy them into a git-ignored folder of the checkout that travels with it)
#   DEVICE     cuda (default); DEVICE=cpu LIMIT=3 runs the same commands on 3 documents (training and scoring), to check them
#   BASES      which bases to train (default "minilm mpnet"; mpnet needs `pip install -e ".[mpnet]"`)
#   TRAIN_ARGS more arguments for both trainings, e.g. "--paragraphs" (each paragraph also alone)
#   PYTHON     default .venv/bin/python, else python3
set -euo pipefail
cd "$(dirname "$0")/.."
MINILM_EPOCHS="${1:-6}"
MPNET_EPOCHS="${2:-4}"
E="${EVAL_DATA:-../shared/eval-data}"
DEVICE="${DEVICE:-cuda}"
BASES="${BASES:-minilm mpnet}"
PY="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
SK=("$PY" -m stancekit.cli)

for f in "$E/polnear/train" "$E/polnear/dev" "$E/polnear-cofenet-bio/valid.txt"; do
  [ -e "$f" ] || { echo "gpu_tagger.sh: $f not found (set EVAL_DATA)" >&2; exit 2; }
done
if [ "$DEVICE" = cuda ]; then
  if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1 \
      || ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_tagger.sh: no CUDA device for torch here; nothing run (DEVICE=cpu LIMIT=3 checks the commands)" >&2
    exit 3
  fi
  CARD="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
else
  CARD="CPU dry run: $(nproc) cores"
fi
LIMIT_ARG=()
[ -n "${LIMIT:-}" ] && LIMIT_ARG=(--limit "$LIMIT")
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
RES="benchmarks/results"
mkdir -p "$RES" models

declare -A BASE=([minilm]=all-MiniLM-L6-v2 [mpnet]=all-mpnet-base-v2)
declare -A LR=([minilm]=1e-4 [mpnet]=5e-5)
declare -A EPOCHS=([minilm]=$MINILM_EPOCHS [mpnet]=$MPNET_EPOCHS)
ROWS=()
for b in $BASES; do
  out="models/quotes-$b-$DEVICE"
  "${SK[@]}" train quotes --data "$E/polnear/train" --format polnear --base "${BASE[$b]}" --dev "$E/polnear/dev" \
      --out "$out" --epochs "${EPOCHS[$b]}" --stride 32 --lr "${LR[$b]}" --device "$DEVICE" "${LIMIT_ARG[@]}" ${TRAIN_ARGS:-} \
      > "$RES/tagger_train_${b}_${DEVICE}_$STAMP.json"
  "${SK[@]}" eval quotes "$E/polnear-cofenet-bio/valid.txt" --format cofenet --model "$out" --device "$DEVICE" \
      "${LIMIT_ARG[@]}" --json "$RES/tagger_cofenet_${b}_${DEVICE}_$STAMP.json" > /dev/null
  "${SK[@]}" eval quotes "$E/polnear/dev" --format polnear --model "$out" --device "$DEVICE" \
      "${LIMIT_ARG[@]}" --json "$RES/tagger_polnear_${b}_${DEVICE}_$STAMP.json" > /dev/null
  ROWS+=("$("$PY" - "$out" "$RES" "$b" "$DEVICE" "$STAMP" <<'PYEOF'
import json, sys
out, res, b, device, stamp = sys.argv[1:]
card = json.load(open(f"{out}/stancekit_tagger.json"))
tr, dev = card["training"], card.get("dev", {})
c = json.load(open(f"{res}/tagger_cofenet_{b}_{device}_{stamp}.json"))
p = json.load(open(f"{res}/tagger_polnear_{b}_{device}_{stamp}.json"))
cof = " / ".join(f"{100 * c['exact'][r]['f1']:.1f}" for r in ("source", "cue", "content"))
print(f"| {card['base']} | {tr['epochs']} | {tr['seconds_per_epoch']} | {tr['tokens_per_s']} | "
      f"{dev.get('tokens_per_s', '')} | {cof} | {p['attribution']['f1']:.3f} | {p['content_overlap']['f1']:.3f} |")
PYEOF
)")
done

{
  echo
  echo "## Quote tagger on $CARD"
  echo
  echo "Date: $(date -u '+%Y-%m-%d %H:%M UTC'). Host: $(uname -srm), $(nproc) CPUs. torch $("$PY" -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'). Command: \`benchmarks/gpu_tagger.sh $MINILM_EPOCHS $MPNET_EPOCHS\` (DEVICE=$DEVICE${LIMIT:+, LIMIT=$LIMIT}${TRAIN_ARGS:+, TRAIN_ARGS=$TRAIN_ARGS}); JSON: \`$RES/tagger_*_$STAMP.json\`."
  echo
  echo "| base | epochs | s per epoch | training pieces/s | dev inference pieces/s | CofeNet source / cue / content | dev attribution F1 | dev content F1 |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
} >> benchmarks/RESULTS.md
echo "gpu_tagger.sh: results appended to benchmarks/RESULTS.md" >&2
