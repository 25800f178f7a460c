#!/usr/bin/env bash
# Times NCNN graphs on uprez's NCNN runtime against the same networks as PyTorch model files, run by uprez's
# `upscaler` path and by PyTorch itself (Debian python3-torch): same threads, fp32, untiled, output MP/s.
#   realesr-animevideov3-x4.param/.bin  = Compact 64x16 x4
#   realesrgan-x4plus.param/.bin        = ESRGAN 64x23 x4
# NCNN files come from $UPREZ_MODELS/ncnn (default ../shared/models/ncnn); the PyTorch files are the same
# architectures with seeded random weights (timing does not depend on the weights' values). The NCNN graph also
# runs with Winograd off (oneDNN direct only) and as im2col + GEMM only (UPREZ_FAST_CONV=direct / sgemm).
# Usage: bench/ncnn_compare.sh [THREADS] [ITERATIONS] [SIZE...]   (defaults: nproc, 3, 256 512; run scripts/setup first)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-$(nproc)}
iterations=${2:-3}
sizes=("${@:3}")
[ ${#sizes[@]} -gt 0 ] || sizes=(256 512)
models="${UPREZ_MODELS:-../shared/models}/ncnn"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for pair in realesr-animevideov3-x4:compact realesrgan-x4plus:esrgan; do
  ncnn=${pair%%:*}
  arch=${pair##*:}
  for size in "${sizes[@]}"; do
    pytorch=$(/usr/bin/python3 bench/pytorch_reference.py "$arch" --save "$work/$arch.pth" --size "$size" \
      --threads "$threads" --iterations "$iterations")
    upscaler=$(build/bench/uprez-bench --model "$work/$arch.pth" --size "$size" --threads "$threads" \
      --iterations "$iterations")
    graph=$(build/bench/uprez-bench --model "$models/$ncnn.bin" --param "$models/$ncnn.param" --size "$size" \
      --threads "$threads" --iterations "$iterations")
    printf '%s\n%s\n%s\n' "$pytorch" "$upscaler" "$graph"
    # The NCNN graph with one convolution algorithm each (ncnn's winograd=false, and sgemm=true with it).
    for algorithm in direct sgemm; do
      printf '%s (%s only)\n' "$(UPREZ_FAST_CONV=$algorithm build/bench/uprez-bench --model "$models/$ncnn.bin" \
        --param "$models/$ncnn.param" --size "$size" --threads "$threads" --iterations "$iterations")" "$algorithm"
    done
    awk -v p="$pytorch" -v u="$upscaler" -v g="$graph" -v name="$ncnn $size" 'BEGIN {
      split(p, pp, "output_MPps="); split(u, pu, "output_MPps="); split(g, pg, "output_MPps=");
      printf "%s: ncnn/upscaler = %.2fx, ncnn/pytorch = %.2fx\n", name, pg[2] / pu[2], pg[2] / pp[2] }'
  done
done
