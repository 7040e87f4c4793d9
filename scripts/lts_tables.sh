#!/usr/bin/env bash
# Score every proxy on LTS benchmarks at the cpu scale into results/lts-<set>-cpu (resumable:
# rerun the same command after an interruption), then store Kendall tau / Spearman rho, the
# stratified tau and the noise-ceiling sensitivity of each.
#   bash scripts/lts_tables.sh                      # all five sets, one after the other
#   bash scripts/lts_tables.sh gpt2-wt103 gpt2-lm1b # some of them
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.venv/bin/bench}
SETS=("$@")
[ ${#SETS[@]} -gt 0 ] || SETS=(gpt2-wt103 transxl-wt103 gpt2-lm1b transxl-lm1b transxl-wt103-homogeneous)
for set in "${SETS[@]}"; do
  out=results/lts-$set-cpu
  "$BENCH" run --space lts --archs "benchmark:$set" --proxies all --scale cpu --jobs "${JOBS:-1}" --out "$out" --no-progress
  "$BENCH" correlate "$out" --tasks all --metrics all --bootstrap 1000
  "$BENCH" stratify "$out" --bootstrap 1000
  "$BENCH" ceiling "$out"
  "$BENCH" predictor "$out"
done
