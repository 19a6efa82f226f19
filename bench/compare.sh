#!/usr/bin/env bash
# Impasto's step beside PyTorch's on this machine, back to back, one JSON line per run.
#
#   bench/compare.sh [SIZES] [PRECISIONS] [STEPS]    e.g. bench/compare.sh "256 512 1024" "f32 bf16" 3
#
# PyTorch runs ../shared/bench/torch_step.py with $TORCH_PYTHON (default python3): a Python
# with torch, numpy and pillow, installed outside this repository (see that script's
# docstring). Without it, only Impasto's lines are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"256 512 1024"}
precisions=${2:-"f32 bf16"}
steps=${3:-3}
torch_py=${TORCH_PYTHON:-python3}
torch_script=../shared/bench/torch_step.py
cargo build --release -q -p impasto-cli
have_torch=0
if [ -f "$torch_script" ] && "$torch_py" -c "import torch" 2>/dev/null; then have_torch=1; fi
for size in $sizes; do
  for p in $precisions; do
    ./target/release/impasto bench --size "$size" --steps "$steps" --precision "$p" --json |
      sed 's/^/{"tool":"impasto",/; s/^{"tool":"impasto",{/{"tool":"impasto",/'
    if [ "$have_torch" = 1 ]; then
      "$torch_py" "$torch_script" "$size" "$p" "$steps" | sed 's/^{/{"tool":"torch",/' ||
        echo "{\"tool\":\"torch\",\"size\":$size,\"precision\":\"$p\",\"error\":\"exit $?\"}"
    fi
  done
done
