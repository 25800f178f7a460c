#!/usr/bin/env bash
# Times uprez against PyTorch on spandrel's networks in published sizes (SwinIR-S, HAT-S, DAT-light, OmniSR,
# RealPLKSR; x4, seeded random weights) at 128x128 input: same weights, same thread count, fp32. Prints output
# megapixels/s for both and the ratio (issue 6's target: uprez >= 1.2x PyTorch).
# Usage: bench/spandrel_compare.sh [THREADS] [ITERATIONS] [MODEL...]   (run scripts/setup first)
# The PyTorch side needs spandrel 0.4.2 importable by $PYTHON (default /usr/bin/python3): pip install
# spandrel==0.4.2, or PYTHONPATH=<spandrel source>/libs/spandrel.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
iterations=${2:-5}
shift $(( $# < 2 ? $# : 2 ))
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(swinir-s hat-s dat-light omnisr realplksr)
python=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for model in "${models[@]}"; do
  py=$("$python" bench/spandrel_reference.py "$model" --save "$work/$model.pth" --threads "$threads" \
    --iterations "$iterations" 2>/dev/null)
  ours=$(build/bench/uprez-bench --model "$work/$model.pth" --size 128 --threads "$threads" --iterations "$iterations")
  echo "$py"
  echo "$ours"
  awk -v a="$py" -v b="$ours" -v model="$model" 'BEGIN {
    split(a, pa, "output_MPps="); split(b, pb, "output_MPps=");
    printf "%s: uprez/pytorch = %.2fx\n", model, pb[2] / pa[2] }'
done
