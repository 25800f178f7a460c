#!/usr/bin/env bash
# Peak memory of a 4000x3000 -> 16000x12000 upscale (tiny Compact x4, tile 512) through the uprez program.
# Target: peak RSS under ~2.5 GB (one 8-bit output image plus one float band of tiles).
# Usage: bench/large_image_memory.sh [WIDTH HEIGHT]   (run scripts/setup first; needs /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
width=${1:-4000}
height=${2:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/tests/uprez-test-assets --model "$work/x4.safetensors" --scale 4 --image "$work/in.png" \
  --width "$width" --height "$height"
/usr/bin/time -f "peak_rss_kb=%M wall_s=%e" build/uprez image-process "$work/in.png" -o "$work/out.bmp" \
  -p "upscaler;model=$work/x4.safetensors;tile=512" 2> "$work/time.log"
peak_kb=$(grep -o 'peak_rss_kb=[0-9]*' "$work/time.log" | cut -d= -f2)
wall=$(grep -o 'wall_s=[0-9.]*' "$work/time.log" | cut -d= -f2)
echo "input ${width}x${height} -> output $((width * 4))x$((height * 4)): peak RSS $((peak_kb / 1024)) MiB, wall ${wall} s"
