#!/usr/bin/env bash
# Times the SD x4 upscaler's networks (real configs, seeded random weights, fp32) in uprez against diffusers 0.32.2
# on Debian's PyTorch 1.13, on this machine in one run with the same thread count: diffusers with netlib reference
# BLAS (Debian's default libblas.so.3) and with OpenBLAS (LD_LIBRARY_PATH), then build/bench/uprez-diffusion-bench.
# Prints per UNet call (batch 2 = guidance) at each latent size, VAE decode, text encoder, peak RSS, and uprez's
# speed-up against the faster diffusers.
# Usage: bench/diffusion_compare.sh [THREADS] [STEPS] [SIZE[:STEPS]...]   (defaults: 2, 3, 64 128)
#   SIZE is the latent size (= bench_x4.py's --size, the input image side); STEPS the UNet calls per size (>= 2:
#   the first call is warm-up and left out of the mean; SIZE:STEPS overrides it for one size, e.g. 128:2).
# Environment: UPREZ_DIFFREF   the diffusers reference environment (default /tmp/diffref), built by the kit's recipe
#                              in ../shared/reference/diffusers/README.md ("Rebuild on a fresh Debian 12 machine"):
#                                DIFFUSERS_GIT=… HUB_GIT=… TRANSFORMERS_GIT=… WITH_OPENBLAS=1 \
#                                  bash ../shared/reference/diffusers/setup_site.sh   # DEST=/tmp/diffref/site
#              UPREZ_COMPARE_RUNS  which columns to measure (default "netlib openblas uprez"; "": only print the
#                                  table of the logs already in UPREZ_COMPARE_LOGS)
#              UPREZ_WAIT_QUIET=1  before each measurement, wait until no compiler (cc1plus) runs on this machine and
#                                  its CPUs are at least 90 % idle over 5 s
#              UPREZ_COMPARE_LOGS  folder for the raw outputs (default: a new folder under /tmp, printed at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}
default_steps=${2:-3}
shift $(( $# < 2 ? $# : 2 ))
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(64 128)
diffref=${UPREZ_DIFFREF:-/tmp/diffref}
runs=${UPREZ_COMPARE_RUNS-netlib openblas uprez}
logs=${UPREZ_COMPARE_LOGS:-$(mktemp -d /tmp/diffusion_compare.XXXXXX)}
openblas=$diffref/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread
uprez_bench=build/bench/uprez-diffusion-bench
mkdir -p "$logs"

fail() { echo "diffusion_compare.sh: $*" >&2; exit 1; }

bench_x4=$diffref/bench_x4.py
[ -f "$bench_x4" ] || bench_x4=$diffref/kit/bench_x4.py
if [[ " $runs " == *" netlib "* || " $runs " == *" openblas "* ]]; then
  [ -f "$bench_x4" ] && [ -d "$diffref/site" ] ||
    fail "$diffref: no diffusers reference environment (bench_x4.py, site/); build it as ../shared/reference/diffusers/README.md says, with WITH_OPENBLAS=1"
fi
if [[ " $runs " == *" openblas "* ]]; then
  [ -f "$openblas/libblas.so.3" ] || fail "$openblas: no OpenBLAS; rerun the kit's setup_site.sh with WITH_OPENBLAS=1"
fi
if [[ " $runs " == *" uprez "* && ! -x $uprez_bench ]]; then
  echo "note: $uprez_bench is not built (cmake --build build --target uprez-diffusion-bench); uprez left out" >&2
  runs=${runs//uprez/}
fi

# Per cent of CPU time busy over the next 5 s (all CPUs, from /proc/stat).
cpu_busy() {
  local a b
  a=$(head -1 /proc/stat); sleep 5; b=$(head -1 /proc/stat)
  echo "$a $b" | awk '{ for (i = 2; i <= 11; i++) { t += $(i + 11) - $i } idle = $(16) + $(17) - $5 - $6
    printf "%d\n", 100 * (t - idle) / t }'
}

# Prints the load as a comment line; first, with "start" and UPREZ_WAIT_QUIET=1, waits until no compiler runs and
# the CPUs are idle.
note_load() {
  if [ "$1" = start ] && [ "${UPREZ_WAIT_QUIET:-0}" = 1 ]; then
    while [ "$(pgrep -c cc1plus || true)" != 0 ] || [ "$(cpu_busy)" -ge 10 ]; do sleep 10; done
  fi
  echo "# $2, $1: load average $(cut -d' ' -f1-3 /proc/loadavg), compilers running $(pgrep -c cc1plus || true)"
}

# diffusers' whole pipeline at one latent size: run NAME SIZE STEPS; raw output in $logs/NAME_SIZE.log.
run_diffusers() {
  local library_path=${LD_LIBRARY_PATH:-}
  [ "$1" = openblas ] && library_path=$openblas${library_path:+:$library_path}
  (cd /tmp && LD_LIBRARY_PATH=$library_path PYTHONPATH=$diffref/site /usr/bin/python3 "$bench_x4" \
    --size "$2" --steps "$3" --threads "$threads") > "$logs/$1_$2.log" 2>&1 ||
    fail "diffusers ($1, latent $2) failed: $logs/$1_$2.log"
  if [ "$1" = openblas ] && ! grep -q "BLAS loaded:.*openblas" "$logs/$1_$2.log"; then
    fail "diffusers ($1) did not load OpenBLAS: $logs/$1_$2.log"
  fi
}

# uprez's networks at one latent size, as many UNet calls as diffusers makes; raw output in $logs/uprez_SIZE.log.
run_uprez() {
  "$uprez_bench" --threads "$threads" --calls "$3" --unet "$2" --vae "$2" > "$logs/uprez_$2.log" 2>&1 ||
    fail "uprez (latent $2) failed: $logs/uprez_$2.log"
}

# The figures of one log as "key value" lines: unet SIZE, vae SIZE (first call), warm SIZE (VAE decode, a later
# call), text, total SIZE, rss SIZE.
figures() {
  local name=$1 size=$2 log=$logs/$1_$2.log
  if [ "$name" = uprez ]; then
    awk -v s="$size" '$1 == "unet_call_s" { print "unet " s, $3 } $1 == "vae_decode_s" { print "warm " s, $3
      f = $0; if (sub(/.*\(first /, "", f)) { sub(/[,)].*/, "", f); print "vae " s, f } }
      $1 == "text_encoder_s" { print "text", $2 } $1 == "peak_rss_mib" { print "rss " s, $2 }' "$log"
  else
    # UNet: the mean without the first call; text encoder: the second (warm) of its two calls.
    awk -v s="$size" '
      /^UNet / { m = $0; sub(/.*mean excl\. 1st /, "", m); sub(/ s.*/, "", m); print "unet " s, m }
      /^text encoding / { split($0, c, ", "); sub(/\).*/, "", c[2]); print "text", c[2] }
      /^VAE decode / { print "vae " s, $4 } /^total / { print "total " s, $3 } /^peak RSS / { print "rss " s, $4 }
      /output finite: False/ { print "diffusers output not finite" > "/dev/stderr" }' "$log"
  fi
}

table_rows() {
  local spec size
  for spec in "${specs[@]}"; do echo "unet ${spec%%:*}|UNet call, latent ${spec%%:*} (s)"; done
  for spec in "${specs[@]}"; do echo "vae ${spec%%:*}|VAE decode, latent ${spec%%:*} (s)"; done
  for spec in "${specs[@]}"; do echo "warm ${spec%%:*}|VAE decode again, latent ${spec%%:*} (s)"; done
  echo "text|text encoder, per call, best (s)"
  for spec in "${specs[@]}"; do echo "total ${spec%%:*}|pipeline total, latent ${spec%%:*} (s)"; done
  for spec in "${specs[@]}"; do echo "rss ${spec%%:*}|peak RSS, latent ${spec%%:*} (MiB)"; done
}

# One table: a row per figure, a column per run, and the better diffusers figure over uprez's (> 1: uprez is faster or
# smaller). The text encoder, the same work at every size, shows the best of the sizes' runs.
print_table() {
  {
    for name in netlib openblas uprez; do
      for spec in "${specs[@]}"; do
        [ -f "$logs/${name}_${spec%%:*}.log" ] && figures "$name" "${spec%%:*}" | sed "s/^/$name /"
      done
    done
    table_rows | sed 's/^/row /'
  } | awk '
    $1 == "row" { sub(/^row /, ""); split($0, r, "|"); rows[++n] = r[1]; label[n] = r[2]; next }
    { key = $2 " " $3; if ($2 == "text") key = "text"; value = (($2 == "text") ? $3 : $4)
      if (!(($1, key) in v) || (key == "text" && value + 0 < v[$1, key] + 0)) v[$1, key] = value }
    END {
      printf "%-34s %17s %19s %10s %23s\n", "", "diffusers-netlib", "diffusers-openblas", "uprez", "best diffusers / uprez"
      for (i = 1; i <= n; i++) {
        k = rows[i]; a = v["netlib", k]; b = v["openblas", k]; u = v["uprez", k]
        best = (a == "" ? b : (b == "" || a + 0 < b + 0 ? a : b))
        ratio = (best != "" && u != "" && u + 0 > 0) ? sprintf("%.2fx", best / u) : "-"
        printf "%-34s %17s %19s %10s %23s\n", label[i], fmt(a), fmt(b), fmt(u), ratio
      }
    }
    function fmt(x) { return x == "" ? "-" : (x + 0 >= 100 ? sprintf("%.0f", x) : sprintf("%.3f", x)) }'
}

for spec in "${specs[@]}"; do
  size=${spec%%:*}
  steps=$default_steps
  [[ $spec == *:* ]] && steps=${spec##*:}
  [ "$steps" -ge 2 ] || fail "latent $size: steps $steps; at least 2 (the first UNet call is warm-up)"
  for name in $runs; do
    note_load start "$name, latent $size, $steps steps, $threads threads"
    if [ "$name" = uprez ]; then run_uprez "$name" "$size" "$steps"; else run_diffusers "$name" "$size" "$steps"; fi
    note_load end "$name, latent $size"
  done
done

echo "SD x4 upscaler networks, fp32, random weights, $threads threads; $(lscpu | sed -n 's/^Model name: *//p')"
for spec in "${specs[@]}"; do
  steps=$default_steps
  [[ $spec == *:* ]] && steps=${spec##*:}
  echo "latent ${spec%%:*}: $steps UNet calls (batch 2), mean without the first$([ "$steps" = 2 ] && echo \
    ": the second call alone (2 steps only, to keep the netlib run short)")"
done
echo "diffusers: bench_x4.py, the whole pipeline (text encoder = its 2nd call; VAE decode = its one call)"
echo "uprez: $uprez_bench, each network alone, one process per size (VAE decode = its first call, as in a" \
  "pipeline; 'again' = its second); peak RSS is that process's"
print_table
echo "raw outputs: $logs"
