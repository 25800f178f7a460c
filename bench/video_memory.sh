#!/usr/bin/env bash
# Peak memory of image-process on a video is flat in its length: a 300-frame and a 3000-frame 320x240 clip
# (testsrc2, h264 + AAC sound) through a tiny Compact x2 into h264 mp4. Target: the peaks differ by < 10 %.
# Usage: bench/video_memory.sh [SHORT_FRAMES LONG_FRAMES]   (run scripts/setup first; needs /usr/bin/time, ffmpeg)
set -euo pipefail
cd "$(dirname "$0")/.."
short=${1:-300}
long=${2:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
build/tests/uprez-test-assets --model "$work/x2.safetensors" --scale 2

# Peak RSS (KiB) and wall seconds of one clip of $1 frames.
measure() {
  local seconds
  seconds=$(awk -v f="$1" 'BEGIN {print f / 30}')
  ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc2=size=320x240:rate=30:duration=$seconds" \
    -f lavfi -i "sine=frequency=440:duration=$seconds" -c:v libx264 -pix_fmt yuv420p -c:a aac "$work/clip.mp4"
  /usr/bin/time -f "peak_rss_kb=%M wall_s=%e" build/uprez image-process "$work/clip.mp4" -ox -o "$work/out.mp4" \
    -p "upscaler;model=$work/x2.safetensors" > /dev/null 2> "$work/time.log"
  echo "$(grep -o 'peak_rss_kb=[0-9]*' "$work/time.log" | cut -d= -f2) $(grep -o 'wall_s=[0-9.]*' "$work/time.log" | cut -d= -f2)"
}
read -r short_kb short_s < <(measure "$short")
read -r long_kb long_s < <(measure "$long")
echo "320x240 -> 640x480: $short frames peak RSS $((short_kb / 1024)) MiB (${short_s} s), $long frames peak RSS $((long_kb / 1024)) MiB (${long_s} s)"
awk -v a="$short_kb" -v b="$long_kb" 'BEGIN {printf "difference %.1f %%\n", 100 * (b - a) / a}'
