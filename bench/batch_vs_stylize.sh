#!/usr/bin/env bash
# Per-item time of `impasto batch` against one `impasto stylize` call per photo, back to back:
# the same N training photos, the same look, two rounds of (single calls, batch --jobs 1,
# batch with its default --jobs). Prints one line per round.
#
#   bench/batch_vs_stylize.sh SIZE N [model]
#
# Needs a release build (cargo build --release), the weights ($IMPASTO_WEIGHTS or the cache)
# and ../shared/data/train beside the checkout. With `model`, models/starry_night.safetensors
# paints instead of an optimisation.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:?SIZE}; N=${2:?N}; MODEL=${3:-}
B=$PWD/target/release/impasto
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/set"
find ../shared/data/train -name '*.jpg' | sort | sed -n "20,$((19 + N))p" | xargs -I{} cp {} "$work/set/"
if [ -n "$MODEL" ]; then look=(--model models/starry_night.safetensors); else look=(--style examples/starry_night.jpg); fi
for round in 1 2; do
  rm -rf "$work/single" "$work/b1" "$work/b2"; mkdir "$work/single"
  t0=$(date +%s.%N)
  for f in "$work"/set/*.jpg; do
    "$B" stylize "$f" "${look[@]}" -o "$work/single/$(basename "$f" .jpg).png" --size "$SIZE" --json >/dev/null
  done
  t1=$(date +%s.%N)
  "$B" batch "$work/set" "${look[@]}" -o "$work/b1" --size "$SIZE" --jobs 1 --json >"$work/b1.json"
  t2=$(date +%s.%N)
  "$B" batch "$work/set" "${look[@]}" -o "$work/b2" --size "$SIZE" --json >"$work/b2.json"
  t3=$(date +%s.%N)
  python3 - "$t0" "$t1" "$t2" "$t3" "$N" "$SIZE" "$round" "$work" <<'PY'
import json, sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
n, size, rnd, work = int(sys.argv[5]), sys.argv[6], sys.argv[7], sys.argv[8]
b1, b2 = (json.load(open(f"{work}/{b}.json")) for b in ("b1", "b2"))
print(f"round {rnd}, {size} px, {n} photos: stylize {(t1 - t0) / n:.2f} s/item | "
      f"batch --jobs 1 {(t2 - t1) / n:.2f} s/item (cores busy {b1['cpu_busy']:.2f}) | "
      f"batch {(t3 - t2) / n:.2f} s/item (cores busy {b2['cpu_busy']:.2f})")
PY
done
