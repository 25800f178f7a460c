#!/usr/bin/env bash
# Times a 1920x1080 -> 4x upscale through `uprez image-process` with the built-in model and with a Compact of
# realesr-animevideov3's size (64 features x 16 convs, x4, seeded random weights), same threads, default tiling.
# Prints both times and the ratio (issue 3's budget: the built-in model at most ~1.5x the larger one).
# Usage: bench/builtin_model_speed.sh [THREADS] [RUNS]   (run scripts/setup first)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/tests/uprez-test-assets --image "$work/frame.png" --width 1920 --height 1080
/usr/bin/python3 bench/pytorch_reference.py compact --save "$work/animevideov3-sized.pth" --threads "$threads" \
  --iterations 1 --size 16 >/dev/null

# The best of `runs` wall-clock times of one upscale, in seconds.
best_time() {
  local best=""
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    build/uprez image-process "$work/frame.png" -ox -o "$work/out.png" --threads "$threads" -p "$1" >/dev/null
    end=$(date +%s.%N)
    best=$(awk -v a="$best" -v b="$(awk -v s="$start" -v e="$end" 'BEGIN {print e - s}')" \
      'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}
builtin=$(best_time upscaler)
reference=$(best_time "upscaler;model=$work/animevideov3-sized.pth")
echo "1920x1080 -> 4x, $threads threads: built-in ${builtin}s, Compact 64x16 ${reference}s"
awk -v a="$builtin" -v b="$reference" 'BEGIN {printf "built-in / Compact 64x16 = %.2fx the time\n", a / b}'
