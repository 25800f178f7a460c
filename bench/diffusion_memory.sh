#!/usr/bin/env bash
# Peak memory and wall time of the SD x4 upscaler through the uprez program at its real size (random weights written
# by uprez-diffusion-bench --write-model; tokenizer and schedulers from the tiny fixture folder), per input size.
# Targets (issue 16): 256x256 -> 1024x1024 within 6 GiB peak RSS, 512x512 -> 2048x2048 within 10 GiB.
# Usage: bench/diffusion_memory.sh [STEPS [SIZE...]]   (defaults: 2 steps, sizes 128 256 512; needs /usr/bin/time,
# the build (scripts/test) and $UPREZ_FIXTURES or ../shared/fixtures; writes ~3.5 GB under $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2}
shift || true
sizes=("${@:-128 256 512}")
fixtures=${UPREZ_FIXTURES:-../shared/fixtures}
tiny="$fixtures/diffusion/models/x4_tiny"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
model="$work/x4-real-size"
build/bench/uprez-diffusion-bench --write-model "$model"
cp -r "$tiny/tokenizer" "$tiny/scheduler" "$tiny/low_res_scheduler" "$tiny/model_index.json" "$model/"
for size in ${sizes[@]}; do
  build/tests/uprez-test-assets --image "$work/in_$size.png" --width "$size" --height "$size" > /dev/null
  /usr/bin/time -f "peak_rss_kb=%M wall_s=%e" build/uprez "$model" --model-type torch-upscaler-x4 \
    --prompts "a picture of a white cat" --image-seeds "$work/in_$size.png" --inference-steps "$steps" \
    --seeds 1 --output-path "$work/out" 2> "$work/time_$size.log" > /dev/null
  peak_kb=$(grep -o 'peak_rss_kb=[0-9]*' "$work/time_$size.log" | cut -d= -f2)
  wall=$(grep -o 'wall_s=[0-9.]*' "$work/time_$size.log" | cut -d= -f2)
  note=$(grep -o 'note: [^\n]*' "$work/time_$size.log" | head -1 || true)
  echo "x4 ${size}x${size} -> $((size * 4))x$((size * 4)), $steps steps: peak RSS $((peak_kb / 1024)) MiB, wall ${wall} s ${note:+($note)}"
done
