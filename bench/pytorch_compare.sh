#!/usr/bin/env bash
# Times uprez against PyTorch (Debian python3-torch) on Compact 64x16 x4 and ESRGAN 64x23 x4 at 256x256 input:
# same seeded weights, same thread count, fp32. Prints output megapixels/s for both and the ratio.
# Usage: bench/pytorch_compare.sh [THREADS] [ITERATIONS]   (run scripts/setup first)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
iterations=${2:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for arch in compact esrgan; do
  py=$(/usr/bin/python3 bench/pytorch_reference.py "$arch" --save "$work/$arch.pth" --threads "$threads" --iterations "$iterations")
  ours=$(build/bench/uprez-bench --model "$work/$arch.pth" --size 256 --threads "$threads" --iterations "$iterations")
  echo "$py"
  echo "$ours"
  awk -v a="$py" -v b="$ours" -v arch="$arch" 'BEGIN {
    split(a, pa, "output_MPps="); split(b, pb, "output_MPps=");
    printf "%s: uprez/pytorch = %.2fx\n", arch, pb[2] / pa[2] }'
done
