#!/usr/bin/env bash
# `ilp` against `heuristic` under a staleness cap: mlp-digits, mlp-fmnist and cnn-fmnist,
# both machines, P = 2, 4, 8, `--max-staleness` 0, 1 and 2 (the caps the default
# objective compiles), fastest period within the cap (`--staleness-cost none`).
# Prints CSV on stdout and a summary on stderr. Takes about 7 min on 2 cores.
# Usage: bench/ilp_capped.sh > bench/ilp_capped.csv   Env: BIN (target/release/spikepipe).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/spikepipe}
[ -x "$bin" ] || cargo build --release
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "hardware,model,cap,method,processors,period_cycles,lower_bound_cycles,period_over_lb,max_staleness,solve_seconds" | tee "$out"
for hw in sa32-ws sa128-ws; do
  for m in mlp-digits mlp-fmnist cnn-fmnist; do
    for cap in 0 1 2; do
      "$bin" compare "models/$m.yaml" --hardware "models/hw/$hw.yaml" -p 2,4,8 --methods heuristic,ilp \
        --max-staleness "$cap" --staleness-cost none --format csv | tail -n +2 |
        awk -F, -v hw="$hw" -v m="$m" -v cap="$cap" '{ print hw "," m "," cap "," $1 "," $2 "," $3 "," $4 "," $5 "," $8 "," $13 }' |
        tee -a "$out"
    done
  done
done
python3 - "$out" >&2 <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
by = {(r["hardware"], r["model"], r["cap"], r["processors"], r["method"]): r for r in rows}
keys = sorted({k[:4] for k in by})
better, equal, worse, secs = [], 0, 0, {"heuristic": 0.0, "ilp": 0.0}
for k in keys:
    h, i = by[k + ("heuristic",)], by[k + ("ilp",)]
    secs["heuristic"] += float(h["solve_seconds"])
    secs["ilp"] += float(i["solve_seconds"])
    ph, pi = int(h["period_cycles"]), int(i["period_cycles"])
    if pi < ph:
        better.append(f"{'/'.join(k)}: {ph} -> {pi} ({ph / pi:.4f}x)")
    elif pi == ph:
        equal += 1
    else:
        worse += 1
print(f"{len(keys)} rows: ilp faster in {len(better)}, equal in {equal}, slower in {worse}")
for b in better:
    print("  " + b)
print(f"solve seconds: heuristic {secs['heuristic']:.0f}, ilp {secs['ilp']:.0f}")
PY
