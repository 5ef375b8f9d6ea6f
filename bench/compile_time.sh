#!/usr/bin/env bash
# Compile time of two builds side by side, and whether they give the same schedule:
# the VGGs (where compile time matters) × both machines × P = 8, 16, `heuristic` at
# `--max-staleness 0 --staleness-cost none` and at the default objective. The two
# binaries run alternately, one compile at a time, so machine noise hits both alike.
# Prints CSV on stdout and the totals on stderr. Takes about 11 min on 2 cores.
# Usage: OLD=path/to/spikepipe NEW=path/to/spikepipe bench/compile_time.sh > times.csv
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD:?set OLD to the binary to compare against}"
new=${NEW:-target/release/spikepipe}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "model,hardware,processors,variant,old_seconds,new_seconds,same_schedule"
for m in vgg11-cifar10 vgg16-cifar100; do
  for hw in sa32-ws sa128-ws; do
    for p in 8 16; do
      for v in "cap0:--max-staleness 0 --staleness-cost none" "default:"; do
        tag=${v%%:*}
        read -r -a extra <<< "${v#*:}"
        secs=()
        for b in old new; do
          bin=$OLD; [ "$b" = new ] && bin=$new
          s=$(date +%s.%N)
          "$bin" compile "models/$m.yaml" --hardware "models/hw/$hw.yaml" -p "$p" -m heuristic \
            ${extra[@]+"${extra[@]}"} --reproducible --format json -q > "$tmp/$b.json"
          e=$(date +%s.%N)
          secs+=("$(echo "$e - $s" | bc)")
        done
        same=no; cmp -s "$tmp/old.json" "$tmp/new.json" && same=yes
        printf '%s,%s,%s,%s,%.2f,%.2f,%s\n' "$m" "$hw" "$p" "$tag" "${secs[0]}" "${secs[1]}" "$same"
      done
    done
  done
done | tee "$tmp/rows.csv"
awk -F, '{o += $5; n += $6; s += ($7 == "yes")} END {printf "old %.0f s, new %.0f s (%.2f×), %d of %d schedules the same\n", o, n, n / o, s, NR}' "$tmp/rows.csv" >&2
