#!/usr/bin/env bash
# Trains uprez's built-in model, models/uprez-compact-x4.safetensors, from Debian's wallpaper photos and benchmarks
# it on scikit-image's photos (never trained on). Only the package installation uses the network.
#
#   tools/train/recipe.sh           the full recipe (~30 minutes on one core; rerunning it resumes from the checkpoint)
#   tools/train/recipe.sh --smoke   the same pipeline for 20 steps on 3 photos, written to <build>/recipe-smoke/
#
# UPREZ_RECIPE_ROOT=DIR reads the packages from DIR (where their .debs were unpacked with dpkg-deb -x) instead of
# installing them. UPREZ_RECIPE_THREADS sets the CPU threads (default 2; the shipped model was trained with 1),
# UPREZ_RECIPE_STEPS the optimizer steps (default 15000, the shipped model's), UPREZ_BUILD_DIR the build folder
# (default build).
set -euo pipefail
cd "$(dirname "$0")/../.."

smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true
root="${UPREZ_RECIPE_ROOT:-}"
threads="${UPREZ_RECIPE_THREADS:-2}"
build="${UPREZ_BUILD_DIR:-build}"

# --- data: Debian 12 packages (licences: see the model card, models/README.md) ---
training_packages=(gnome-backgrounds mate-backgrounds plasma-workspace-wallpapers)
skimage_data=/usr/lib/python3/dist-packages/skimage/data  # python3-skimage ships these photos itself
skimage_root="$root"
if [ -z "$root" ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  missing=()
  for p in "${training_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "recipe: installing ${missing[*]}"
    "${sudo_cmd[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  # Installing python3-skimage would pull in SciPy, Matplotlib …; only its data folder is needed, so unpack it.
  if [ ! -d "$skimage_data" ]; then
    skimage_root="$build/recipe-packages"
    mkdir -p "$skimage_root"
    if [ ! -d "$skimage_root$skimage_data" ]; then
      (cd "$skimage_root" && apt-get download python3-skimage && dpkg-deb -x python3-skimage_*.deb .)
    fi
  fi
fi

# Plasma ships each wallpaper at many resolutions: only the largest of each folder is used. MATE ships Elephants
# three times: only the largest is used. Images with transparent pixels are skipped by uprez-train.
training_data=("$root/usr/share/backgrounds/gnome")
while IFS= read -r -d '' folder; do
  largest=$(find "$folder" -maxdepth 1 -type f -printf '%f\n' | awk -F'[x.]' '$1 ~ /^[0-9]+$/ {print $1 * $2, $0}' |
    sort -n | tail -1 | cut -d' ' -f2-)
  [ -n "$largest" ] && training_data+=("$folder/$largest")
done < <(find "$root/usr/share/wallpapers" -type d \( -name images -o -name images_dark \) -print0 | sort -z)
while IFS= read -r -d '' file; do
  training_data+=("$file")
done < <(find "$root/usr/share/backgrounds/mate" -type f ! -name Elephants.jpg ! -name 'Elephants_3840x2160.jpg' -print0 | sort -z)
evaluation_images=()
for name in astronaut.png camera.png chelsea.png coffee.png motorcycle_left.png rocket.jpg; do
  evaluation_images+=("$skimage_root$skimage_data/$name")
done

# --- the recipe ---
recipe=(
  --features 32 --convs 8 --scale 4        # Compact 32x8: ~0.2x the time of realesr-animevideov3 (64x16)
  --patch 128 --batch 16 --max-side 2048   # HR 128x128 -> LR 32x32; photos shrunk to <= 2048 px (cleaner HR)
  --min-patch-std 0.01                     # redraw flat crops (skies, gradients), at most 10 draws
  --blur-prob 0.1 --blur-sigma 1.0         # mild degradations so that real photos work too
  --noise-prob 0.1 --noise-sigma 2
  --jpeg-prob 0.1 --jpeg-quality 85
  --lr 5e-4 --min-lr 1e-6 --edge-weight 0  # L1 loss, Adam, cosine decay
  --seed 1
)
out=models
steps=(--steps "${UPREZ_RECIPE_STEPS:-15000}" --log-every 500 --checkpoint-every 5000)
if $smoke; then
  out="$build/recipe-smoke"
  nature="$root/usr/share/backgrounds/mate/nature"
  training_data=("$nature/Aqua.jpg" "$nature/Garden.jpg" "$nature/LadyBird.jpg")
  steps=(--steps 20 --log-every 5 --checkpoint-every 10)
fi
mkdir -p "$out" "$build/recipe"

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${UPREZ_CMAKE_ARGS:-}
cmake --build "$build" --target uprez-train uprez-evaluate -j"$threads"

model="$out/uprez-compact-x4.safetensors"
checkpoint="$build/recipe/$(basename "$out")-uprez-compact-x4.ckpt"
"$build/tools/train/uprez-train" "${training_data[@]}" -o "$model" --fp16 --threads "$threads" \
  --checkpoint "$checkpoint" --resume "${recipe[@]}" "${steps[@]}"
"$build/tools/train/uprez-evaluate" --model "$model" --threads "$threads" --markdown "$out/uprez-compact-x4-evaluation.md" \
  "${evaluation_images[@]}"
echo "recipe: wrote $model and $out/uprez-compact-x4-evaluation.md"
