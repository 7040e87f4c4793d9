#!/usr/bin/env bash
# Tables 2-5, 7 and 8 of the W-PCA paper: distil every searched NLU architecture and evaluate
# it on the GLUE tasks in the data directory and SQuAD v1.1 (bench train + bench evaluate).
#
# Inputs: the search results results/search/<space>-<method>/best_arch.json (bench search);
# a missing one is reported and skipped. Outputs:
#   runs/train/<space>-<method>-<scale>/    checkpoints and final weights (large; not committed)
#   runs/train/teachers/                    fine-tuned teachers, one per task, shared by all models
#   results/eval/<space>-<method>/          manifest.json + metrics.csv (committed; read by the report)
#   results/eval/teacher/                   the fine-tuned teachers' own scores (the "ours" teacher row)
# Every command resumes where it stopped: rerun the script after an interruption.
#
# Environment:
#   SCALE=cpu          smoke | cpu | paper (paper: --teacher bert-base-uncased, needs `datasets` and a GPU)
#   DEVICE=cpu         cpu | cuda (W-PCA-Large is trained only with cuda)
#   MAX_STEPS=         at most N steps per stage: a shorter budget (results/eval-100steps used
#                      MAX_STEPS=100 with RESULTS=results/eval-100steps), or with MAX_STEPS=2 a check
#                      of the commands (then use a scratch RESULTS/RUNS so that real runs are not
#                      mixed with it)
#   ONLY=              space-separated <space>/<method> keys to train, e.g. "nlu-small/w-pca nlu-small/params"
#                      (default: every paper row)
#   EVAL_LIMIT=        evaluate on the first N examples of each dev set only (with MAX_STEPS)
#   THREADS=1          CPU threads (OMP_NUM_THREADS): on a shared 2-core machine one thread is ~3x faster than two
#   TASKS=all          the tasks in training order (all: every GLUE task and SQuAD; absent ones are
#                      reported missing). Two runs side by side (one per core) share the teacher cache;
#                      opposite task orders let each fine-tune different teachers while the other trains
#   RUNS=runs/train    RESULTS=results/eval    SEARCH=results/search    BENCH=.venv/bin/bench    SEED=0
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.venv/bin/bench}
SCALE=${SCALE:-cpu}
DEVICE=${DEVICE:-cpu}
SEED=${SEED:-0}
export OMP_NUM_THREADS=${THREADS:-1}
RUNS=${RUNS:-runs/train}
RESULTS=${RESULTS:-results/eval}
SEARCH=${SEARCH:-results/search}
EXTRA=()
[ -n "${MAX_STEPS:-}" ] && EXTRA+=(--max-steps "$MAX_STEPS")
LIMIT=()
[ -n "${EVAL_LIMIT:-}" ] && LIMIT+=(--limit "$EVAL_LIMIT")
TEACHER=()
if [ "$SCALE" = paper ]; then
  TEACHER+=(--teacher bert-base-uncased)
  export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-0}  # the paper scale downloads its teacher and data
fi
TASKS=${TASKS:-all}

# <space>/<method> of each paper row (Tables 2, 3, 5: nlu-small proxies; Table 7: nlu-large; Table 8: SPOS);
# the model is named <space>-<method> in the rows, as the report looks it up
MODELS=(
  nlu-small/w-pca nlu-tiny/w-pca nlu-small/v-pca nlu-small/params
  nlu-small/synaptic-saliency nlu-small/activation-distance nlu-small/synaptic-diversity
  nlu-small/head-confidence nlu-small/softmax-confidence
  nlu-small/spos nlu-tiny/spos
)
[ "$DEVICE" != cpu ] && MODELS+=(nlu-large/w-pca)
[ -n "${ONLY:-}" ] && read -r -a MODELS <<< "$ONLY"

trained=()
for key in "${MODELS[@]}"; do
  space=${key%%/*}; method=${key#*/}; name="$space-$method"
  arch="$SEARCH/$space-$method/best_arch.json"
  if [ ! -f "$arch" ]; then
    echo "skip $name: no search result at $arch (run the search for $key first)" >&2
    continue
  fi
  train_dir="$RUNS/$space-$method-$SCALE"
  echo "== $name ($key)" >&2
  "$BENCH" train --space "$space" --arch "$arch" --name "$name" --scale "$SCALE" --seed "$SEED" --tasks "$TASKS" \
    --device "$DEVICE" --teacher-cache "$RUNS/teachers" --out "$train_dir" --no-progress ${TEACHER[@]+"${TEACHER[@]}"} ${EXTRA[@]+"${EXTRA[@]}"}
  "$BENCH" evaluate "$train_dir" --out "$RESULTS/$space-$method" --tasks "$TASKS" --device "$DEVICE" --no-progress ${LIMIT[@]+"${LIMIT[@]}"}
  trained+=("$train_dir")
done

# the fine-tuned teachers (Table 2's "BERT-base (ours)" row; MiniLM-L6 below the paper scale)
if [ ${#trained[@]} -gt 0 ]; then
  "$BENCH" evaluate "${trained[0]}" --out "$RESULTS/teacher" --tasks "$TASKS" --teachers only --device "$DEVICE" --no-progress ${LIMIT[@]+"${LIMIT[@]}"}
fi
