#!/usr/bin/env bash
# Does the default objective (staleness priced at C = 0.1) train faster than the fastest
# period? For mlp-digits rows (ROWS, default "sa32-ws:4 sa128-ws:8"), compiles
# `heuristic` with `--staleness-cost none` and with the default, and trains both on the
# digits for seeds 0-4 (30 epochs, one thread), target = the same seed's no-delay final
# accuracy - 0.005, evaluated every 5 epochs. CSV on stdout, summary on stderr; about
# 3 minutes. Usage: bench/tta_default.sh > out.csv   Env: BIN, ROWS, SEEDS.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/spikepipe}
[ -x "$bin" ] || cargo build --release
model=models/mlp-digits.yaml
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=${ROWS:-sa32-ws:4 sa128-ws:8}
names=()
for row in $rows; do
  hw=${row%%:*} p=${row##*:}
  "$bin" compile $model --hardware "models/hw/$hw.yaml" -p "$p" -m heuristic --staleness-cost none \
    --reproducible -q -o "$work/fastest-$hw-p$p.json" > /dev/null
  "$bin" compile $model --hardware "models/hw/$hw.yaml" -p "$p" -m heuristic \
    --reproducible -q -o "$work/default-$hw-p$p.json" > /dev/null
  names+=("fastest-$hw-p$p" "default-$hw-p$p")
done
echo "seed,schedule,period_cycles,max_staleness,final_accuracy,reached,iterations,simulated_ms" | tee "$work/out.csv"
for seed in ${SEEDS:-0 1 2 3 4}; do
  nd=$("$bin" train $model --seed "$seed" --threads 1 --format json -q | jq .final_test_accuracy)
  echo "$seed,no-delay,,0,$nd,,," | tee -a "$work/out.csv"
  target=$(awk "BEGIN { print $nd - 0.005 }")
  for name in "${names[@]}"; do
    "$bin" train $model --schedule "$work/$name.json" --seed "$seed" --threads 1 \
      --target-accuracy "$target" --eval-every 5 --format json -q |
      jq -r --arg s "$seed" --arg n "$name" --slurpfile f "$work/$name.json" '
        [$s, $n, $f[0].period_cycles,
         ([.staleness[] | .forward, (.input_grad // 0)] | max), .final_test_accuracy,
         .time_to_accuracy.reached,
         (if .time_to_accuracy.reached then .time_to_accuracy.iterations else "" end),
         (if .time_to_accuracy.reached then .time_to_accuracy.seconds * 1000 else "" end)] | @csv' |
      tr -d '"' | tee -a "$work/out.csv"
  done
done
python3 - "$work/out.csv" >&2 <<'PY'
import csv, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1])))
for name in dict.fromkeys(r["schedule"] for r in rows):
    r = [x for x in rows if x["schedule"] == name]
    reached = [float(x["simulated_ms"]) for x in r if x["reached"] == "true"]
    print(f"{name}: period {r[0]['period_cycles'] or '-'}, staleness {r[0]['max_staleness']}, "
          f"final {st.mean(float(x['final_accuracy']) for x in r):.4f}, target reached "
          f"{sum(x['reached'] == 'true' for x in r)} of {len(r)}"
          + (f", simulated ms to target {' '.join(f'{v:.2f}' for v in reached)}" if reached else ""))
PY
