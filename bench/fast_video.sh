#!/usr/bin/env bash
# Frame rate and steadiness of one-pass video: a 640×360 pan (4 s at 25 fps, 100 frames) made
# with ffmpeg from a development photo, stylised by a trained model. Two JSON reports: the
# plain run (its frames_per_second is the end-to-end rate; timing_seconds say where the time
# went), then the same with `--compare-independent` (steadied against frame-by-frame
# warping error).
#
#   bench/fast_video.sh MODEL [PHOTO] [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?give a model file}
photo=${2:-../shared/data/images/content/landscape_mountains.jpg}
out=${3:-target/fast_video}
mkdir -p "$out"
cargo build --release -q -p impasto-cli
clip="$out/pan_640x360.mp4"
if [ ! -f "$clip" ]; then
  ffmpeg -loglevel error -y -loop 1 -i "$photo" \
    -vf "scale=1280:-2,crop=640:360:x='t*120':y='(ih-360)/2'" \
    -t 4 -r 25 -pix_fmt yuv420p "$clip"
fi
for extra in "" --compare-independent; do
  ./target/release/impasto video "$clip" --model "$model" -o "$out/pan_styled.mp4" \
    --size 640 --json $extra
done
