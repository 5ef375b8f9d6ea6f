#!/usr/bin/env bash
# The default objective against the fastest period: `compile -m METHOD` (staleness priced
# at the default C = 0.1) and `compile -m METHOD --staleness-cost none`, on every bundled
# model, both machines, P = 2, 4, 8, 16. Prints one CSV row per compile, then a summary
# on stderr. Usage: bench/default_objective.sh [METHOD (heuristic)] > out.csv
# Env: BIN (target/release/spikepipe), MODELS and PS to run fewer rows.
# Takes about 10 min for heuristic and 25 min for ilp on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/spikepipe}
[ -x "$bin" ] || cargo build --release
method=${1:-heuristic}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "objective,model,hardware,processors,period_cycles,lower_bound_cycles,max_staleness,wall_seconds" | tee "$out"
for objective in none default; do
  flags=()
  [ "$objective" = none ] && flags=(--staleness-cost none)
  for m in ${MODELS:-mlp-digits mlp-fmnist cnn-fmnist vgg11-cifar10 vgg16-cifar100}; do
    for hw in sa32-ws sa128-ws; do
      for p in ${PS:-2 4 8 16}; do
        t0=$(date +%s.%N)
        json=$("$bin" compile "models/$m.yaml" --hardware "models/hw/$hw.yaml" -p "$p" -m "$method" \
          --reproducible --format json -q ${flags[@]+"${flags[@]}"})
        t1=$(date +%s.%N)
        echo "$json" | jq -r --arg o "$objective" --arg m "$m" --arg h "$hw" --arg t "$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")" \
          '[$o, $m, $h, .hardware.processors, .period_cycles, .lower_bound_cycles,
            ([.staleness[] | (.forward // 0), (.input_grad // 0)] | max), $t] | @csv' |
          tr -d '"' | tee -a "$out"
      done
    done
  done
done
python3 - "$out" >&2 <<'PY'
import csv, statistics as st, sys
from collections import Counter
rows = list(csv.DictReader(open(sys.argv[1])))
key = lambda r: (r["model"], r["hardware"], r["processors"])
fast = {key(r): r for r in rows if r["objective"] == "none"}
pairs = [(fast[key(r)], r) for r in rows if r["objective"] == "default"]
n = lambda r, f: float(r[f])
est = lambda r: n(r, "period_cycles") * (1 + 0.1 * n(r, "max_staleness"))
print(f"{len(pairs)} rows")
print("largest staleness, fastest: mean %.2f, max %d; default: mean %.2f, max %d; default's histogram %s" % (
    st.mean(n(f, "max_staleness") for f, _ in pairs), max(n(f, "max_staleness") for f, _ in pairs),
    st.mean(n(d, "max_staleness") for _, d in pairs), max(n(d, "max_staleness") for _, d in pairs),
    dict(sorted(Counter(int(n(d, "max_staleness")) for _, d in pairs).items()))))
ratio = [n(d, "period_cycles") / n(f, "period_cycles") for f, d in pairs]
print("period, default / fastest: mean %.4f, max %.4f; rows the same: %d" % (
    st.mean(ratio), max(ratio), sum(r == 1 for r in ratio)))
print("period / LB, default: mean %.4f, max %.4f" % (
    st.mean(n(d, "period_cycles") / n(d, "lower_bound_cycles") for _, d in pairs),
    max(n(d, "period_cycles") / n(d, "lower_bound_cycles") for _, d in pairs)))
gain = [est(f) / est(d) for f, d in pairs]
print("estimated time at C = 0.1, fastest / default: mean %.4f, min %.4f, max %.4f" % (st.mean(gain), min(gain), max(gain)))
print("compile wall seconds, fastest: total %.1f, max %.1f; default: total %.1f, max %.1f" % (
    sum(n(f, "wall_seconds") for f, _ in pairs), max(n(f, "wall_seconds") for f, _ in pairs),
    sum(n(d, "wall_seconds") for _, d in pairs), max(n(d, "wall_seconds") for _, d in pairs)))
PY
