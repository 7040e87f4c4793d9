#!/usr/bin/env bash
# The paper's NLU searches (Tables 2, 3, 5, 7, 8) at the cpu scale, into results/search/.
#
#   bash scripts/searches.sh [check|zero-shot|random|spos|all] [ONLY...]
#
#   check      every command below on a tiny budget (population 4, 2 generations, batch 2 x 8,
#              smoke supernets) into a temporary directory: minutes; verifies that they run.
#   zero-shot  W-PCA, V-PCA, #params, synaptic saliency, activation distance, synaptic
#              diversity, head confidence, softmax confidence on nlu-small; W-PCA on nlu-tiny
#              and nlu-large (cpu scale: proxy batch 32 x 128; GA budget POPULATION x
#              GENERATIONS, default the paper's 50 x 40).
#   random     the random-search baseline of W-PCA on nlu-small (same 2,000 evaluations).
#   spos       SPOS supernets (cpu scale, SPOS_STEPS steps, default 500) for nlu-small and
#              nlu-tiny, then their GA searches. Supernet checkpoints (1-2 GB) go to runs/spos/, not results/.
#   all        zero-shot, random and spos (the default).
#   ONLY       restrict to searches whose output name contains one of these words,
#              e.g. `bash scripts/searches.sh zero-shot nlu-small-w-pca nlu-tiny`.
#
# Every command resumes when rerun, so the script can be interrupted and restarted.
# Environment: BENCH (default .venv/bin/bench), JOBS (worker processes, default 1),
# OUT (output root; default results/search, or a temporary directory for `check`),
# POPULATION / GENERATIONS (GA budget, default 50 / 40), SPOS_STEPS (default 500).
# The committed results/search used POPULATION=20 GENERATIONS=10 SPOS_STEPS=120 (docs/search.md).
# OMP_WAIT_POLICY=PASSIVE avoids OpenMP spin-waits on a shared machine (docs/search.md).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-all}"
shift || true
ONLY=("$@")
BENCH="${BENCH:-.venv/bin/bench}"
JOBS="${JOBS:-1}"
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

case "$MODE" in
  check)
    OUT="${OUT:-$(mktemp -d -t proxybench-searches-XXXXXX)}"
    SUPERNETS="$OUT/spos"
    SCALE=(--scale smoke --batch-size 2 --seq-len 8)
    BUDGET=(--population 4 --generations 2)
    SPOS_SCALE=smoke
    SPOS_BUDGET=()
    ;;
  zero-shot|random|spos|all)
    OUT="${OUT:-results/search}"
    SUPERNETS="${SUPERNETS:-runs/spos}"
    SCALE=(--scale cpu)
    BUDGET=(--population "${POPULATION:-50}" --generations "${GENERATIONS:-40}")
    SPOS_SCALE=cpu
    SPOS_BUDGET=(--steps "${SPOS_STEPS:-500}")
    ;;
  *)
    echo "usage: bash scripts/searches.sh [check|zero-shot|random|spos|all] [ONLY...]" >&2
    exit 2
    ;;
esac

wanted() {
  local name="$1"
  [[ ${#ONLY[@]} -eq 0 ]] && return 0
  for word in "${ONLY[@]}"; do
    [[ "$name" == *"$word"* ]] && return 0
  done
  return 1
}

search() {  # search SPACE PROXY NAME [extra flags]
  local space="$1" proxy="$2" name="$3"
  shift 3
  wanted "$name" || return 0
  echo "== bench search $name" >&2
  "$BENCH" search --space "$space" --proxy "$proxy" --seed 0 "${SCALE[@]}" "${BUDGET[@]}" \
    --jobs "$JOBS" --no-progress --out "$OUT/$name" "$@"
}

spos() {  # spos SPACE
  local space="$1"
  wanted "$space-spos" || return 0
  echo "== bench spos train/search $space" >&2
  "$BENCH" spos train --space "$space" --scale "$SPOS_SCALE" --seed 0 ${SPOS_BUDGET[@]+"${SPOS_BUDGET[@]}"} --no-progress --out "$SUPERNETS/$space-$SPOS_SCALE"
  "$BENCH" spos search --supernet "$SUPERNETS/$space-$SPOS_SCALE" --seed 0 "${BUDGET[@]}" --no-progress --out "$OUT/$space-spos"
}

zero_shot() {
  search nlu-small w-pca nlu-small-w-pca
  search nlu-tiny w-pca nlu-tiny-w-pca
  for proxy in params v-pca synaptic-saliency activation-distance synaptic-diversity head-confidence softmax-confidence; do
    search nlu-small "$proxy" "nlu-small-$proxy"
  done
  search nlu-large w-pca nlu-large-w-pca
}

random_baseline() {
  search nlu-small w-pca nlu-small-w-pca-random --method random
}

one_shot() {
  spos nlu-small
  spos nlu-tiny
}

case "$MODE" in
  zero-shot) zero_shot ;;
  random) random_baseline ;;
  spos) one_shot ;;
  check|all) zero_shot; random_baseline; one_shot ;;
esac
echo "searches written under $OUT" >&2
