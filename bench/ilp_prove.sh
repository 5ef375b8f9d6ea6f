#!/usr/bin/env bash
# Time for the ILP to prove optimality (issue 10, item 4): mlp-digits and mlp-fmnist on
# both machines at P = 2, 4, 8, with the heuristic's period next to it. Wall seconds are
# the whole `compile` (parse, heuristic, every ILP phase, timing, verification).
# Usage: bench/ilp_prove.sh [TIME_LIMIT [EFFORT]] > bench/ilp_prove.csv
# (defaults: 10 s, --ilp-effort 1; e.g. `bench/ilp_prove.sh 60 20 > bench/ilp_prove_effort20.csv`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
[ -x "$bin" ] || cargo build --release
limit=${1:-10}
effort=${2:-1}
echo "model,hardware,processors,heuristic_period,ilp_period,gain_percent,status,gap_percent,wall_seconds,note"
for m in mlp-digits mlp-fmnist; do
  for hw in sa32-ws sa128-ws; do
    for p in 2 4 8; do
      args=(models/$m.yaml --hardware models/hw/$hw.yaml -p "$p" --format json)
      h=$("$bin" compile "${args[@]}" -m heuristic | jq .period_cycles)
      t0=$(date +%s.%N)
      s=$("$bin" compile "${args[@]}" -m ilp --time-limit "$limit" --ilp-effort "$effort")
      t1=$(date +%s.%N)
      echo "$s" | jq -r --arg m "$m" --arg hw "$hw" --arg p "$p" --arg h "$h" \
        --arg wall "$(echo "$t1 - $t0" | bc)" \
        '[$m, $hw, $p, $h, .period_cycles,
          ((($h|tonumber) - .period_cycles) * 10000 / ($h|tonumber) | round / 100),
          .solver.status, ((.solver.gap // 0) * 10000 | round / 100),
          ($wall|tonumber * 100 | round / 100), (.solver.note // "" | gsub(","; ";"))] | @csv'
    done
  done
done
