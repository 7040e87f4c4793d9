#!/usr/bin/env bash
# Table 1 ablations and sensitivity sweeps on FlexiBERT benchmark architectures (cpu scale
# unless stated): LIMIT architectures (default 100) spread evenly over the GLUE ranking, to fit
# a 2-core machine; LIMIT=500 runs them on every architecture. The most expensive sweeps
# (sequence length 256, batch 128) come last. Each run is resumable: rerun
# this script after an interruption. The reference is results/table1-trained-cpu (variant
# trained, eval mode, token-ce loss, batch 32 x 128, eta 0.99, default init, WikiText-2);
# `bench ablation` compares every run on the architectures all of them scored:
#   bench ablation results/table1-trained-cpu results/ablation/*/ --out results/ablation/table1-ablation.csv
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.venv/bin/bench}
JOBS=${JOBS:-2}
LIMIT=${LIMIT:-100}
FREE=params,v-pca,w-pca,activation-distance,head-confidence,softmax-confidence
GRAD=synaptic-saliency,synaptic-diversity,jacobian-cosine,head-importance
run() { local out=$1; shift; "$BENCH" run --space flexibert --archs benchmark --limit "$LIMIT" --scale cpu --jobs "$JOBS" --no-progress --out "results/ablation/$out" "$@"; }

# the setting of the benchmark's published proxy values: their models, train mode, ones loss
run published-train-ones --proxies all --variant published --mode train --loss ones
# the architectures' named operations (SDP/WMA, DFT/DCT, DSC) instead of what was trained
run variant-flexibert --proxies all --variant flexibert
# dropout active during the pass
run mode-train --proxies all --mode train
# the published code's loss for the gradient-based proxies
run loss-ones --proxies "$GRAD" --loss ones
# V-PCA / W-PCA threshold and layer reduction
run eta-0.9 --proxies v-pca,w-pca --proxy-option v-pca.eta=0.9 --proxy-option w-pca.eta=0.9
run eta-0.999 --proxies v-pca,w-pca --proxy-option v-pca.eta=0.999 --proxy-option w-pca.eta=0.999
run reduce-mean --proxies v-pca,w-pca --proxy-option v-pca.reduce=mean --proxy-option w-pca.reduce=mean
# input size
run batch-8 --proxies "$FREE" --batch-size 8
run seq-64 --proxies "$FREE" --seq-len 64
# initialisation scheme and input text source
run init-xavier --proxies "$FREE" --init xavier-uniform
run init-kaiming --proxies "$FREE" --init kaiming-normal
run init-torch --proxies "$FREE" --init torch-default
run text-glue-sst2 --proxies "$FREE" --text glue-sst2
run seq-256 --proxies "$FREE" --seq-len 256
run batch-128 --proxies "$FREE" --batch-size 128
