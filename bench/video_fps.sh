#!/usr/bin/env bash
# Frames per second of image-process on a 640x360 30 fps clip (testsrc2, h264 + AAC sound) with the built-in
# model (Compact x4, 2560x1440 out, h264 CRF 18) or a given processor URI, and the share of wall time spent outside
# inference. Inference alone is timed by a second run that writes the frames as BMP images instead of a video (no
# encoder competing for the cores): share = 1 - inference seconds / wall seconds of the video run. Target: < 15 %.
# Usage: bench/video_fps.sh [SECONDS] [THREADS] [PROCESSOR_URI] [UPREZ_OPTIONS...]   (e.g. --preset veryfast;
# run scripts/setup first; needs ffmpeg)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
threads=${2:-$(nproc)}
processor=${3:-upscaler}
shift $(($# < 3 ? $# : 3))
extra=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=640x360:rate=30:duration=$seconds" \
  -f lavfi -i "sine=frequency=440:duration=$seconds" -c:v libx264 -pix_fmt yuv420p -c:a aac "$work/clip.mp4"
# Wall seconds of a run, and its processors' seconds (from uprez's "(N frames, WxH; R frames/s, P% of the time in
# the processors)" line).
run() {
  local start end report
  start=$(date +%s.%N)
  report=$(build/uprez image-process "$work/clip.mp4" --threads "$threads" -p "$processor" "$@" | head -1)
  end=$(date +%s.%N)
  echo "$report" >&2
  local share
  share=$(echo "$report" | grep -o '[0-9]*% of the time in the processors' | grep -o '^[0-9]*')
  awk -v s="$start" -v e="$end" -v p="$share" 'BEGIN {printf "%.3f %.3f\n", e - s, (e - s) * p / 100}'
}
read -r video_wall _ < <(run -o "$work/out.mp4" "${extra[@]}")
read -r _ inference < <(run -o "$work/frames/out.mp4" -naf -ff bmp)
frames=$((seconds * 30))
awk -v w="$video_wall" -v i="$inference" -v f="$frames" -v t="$threads" -v p="$processor" 'BEGIN {
  printf "640x360 30 fps, %d frames, %d threads, %s: %.2f frames/s end to end (%.1f s), inference alone %.1f s: " \
         "outside inference %.1f %% of the wall time\n", f, t, p, f / w, w, i, 100 * (1 - i / w) }'
