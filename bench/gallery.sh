#!/usr/bin/env bash
# The README's gallery of a fast model: for each photo, the optimisation (`impasto stylize`,
# defaults, 512 px) and one pass of the model at 512 px, as JPEGs in docs/gallery/, with one
# JSON line per result (its seconds, or pass_ms for the model; Gram cosine and SSIM).
#
#   bench/gallery.sh MODEL PAINTING
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?give a model file}
painting=${2:?give the painting the model learned}
out=docs/gallery
work=target/gallery
mkdir -p "$out" "$work"
cargo build --release -q -p impasto-cli
name=$(basename "$painting" .jpg)
ffmpeg -loglevel error -y -i "$painting" -vf "scale=512:-2" -q:v 3 "$out/$name.jpg"
for photo in examples/portrait_astronaut.jpg \
  ../shared/data/images/content/city_bridge_night.jpg \
  ../shared/data/images/content/architecture_colosseum.jpg; do
  stem=$(basename "$photo" .jpg)
  ffmpeg -loglevel error -y -i "$photo" -vf "scale=512:-2" -q:v 3 "$out/$stem.jpg"
  ./target/release/impasto stylize "$photo" --style "$painting" -o "$work/$stem.gatys.png" --json |
    sed "s/^{/{\"photo\":\"$stem\",\"how\":\"optimisation\",/"
  ./target/release/impasto stylize "$photo" --model "$model" --style "$painting" \
    -o "$work/$stem.fast.png" --json | sed "s/^{/{\"photo\":\"$stem\",\"how\":\"model\",/"
  for how in gatys fast; do
    ffmpeg -loglevel error -y -i "$work/$stem.$how.png" -q:v 4 "$out/$stem.$how.jpg"
  done
done
