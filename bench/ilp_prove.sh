#!/usr/bin/env bash
# Time for the ILP to prove optimality (issue 10, item 4): mlp-digits and mlp-fmnist on
# both machines at P = 2, 4, 8, with the heuristic's period next to it. `own_proven`:
# phase 1 proved the ILP's own placement optimal (within 10⁻⁴) among the placements its
# model expresses; `proof_seconds`: from the start of the ILP (the heuristic's placement
# it starts from included) to the moment phase 1 first held a placement within 10⁻⁴ of a
# proven bound (empty if never); `phase1_seconds`: to the end of phase 1 (the solver's
# rounds may run on after the proof, for placements as fast and fresher); both read from
# the SPIKEPIPE_TRACE line;
# wall seconds: the whole `compile` (parse, phase 2, every candidate's timing and
# refinement, verification).
# Usage: bench/ilp_prove.sh [TIME_LIMIT [EFFORT]] > bench/ilp_prove.csv
# (defaults: 10 s, --ilp-effort 1; e.g. `bench/ilp_prove.sh 60 20 > bench/ilp_prove_effort20.csv`)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
[ -x "$bin" ] || cargo build --release
limit=${1:-10}
effort=${2:-1}
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
echo "model,hardware,processors,heuristic_period,ilp_period,gain_percent,status,gap_percent,own_proven,proof_seconds,phase1_seconds,wall_seconds,note"
for m in mlp-digits mlp-fmnist; do
  for hw in sa32-ws sa128-ws; do
    for p in 2 4 8; do
      args=(models/$m.yaml --hardware models/hw/$hw.yaml -p "$p" --format json --staleness-cost none)
      h=$("$bin" compile "${args[@]}" -m heuristic | jq .period_cycles)
      t0=$(date +%s.%N)
      s=$(SPIKEPIPE_TRACE=1 "$bin" compile "${args[@]}" -m ilp --time-limit "$limit" \
        --ilp-effort "$effort" 2>"$trace")
      t1=$(date +%s.%N)
      line=$(grep -m1 '^\[ilp\] phase 1 ended after' "$trace")
      phase1=$(echo "$line" | sed 's/.*phase 1 ended after \([0-9.]*\) s.*/\1/')
      proven=$(echo "$line" | sed 's/.*optimal: \([a-z]*\).*/\1/')
      proof=$(echo "$line" | sed 's/.*proof after \([0-9.-]*\) s.*/\1/')
      echo "$s" | jq -r --arg m "$m" --arg hw "$hw" --arg p "$p" --arg h "$h" \
        --arg wall "$(echo "$t1 - $t0" | bc)" --arg proven "$proven" --arg phase1 "$phase1" --arg proof "$proof" \
        '[$m, $hw, $p, $h, .period_cycles,
          ((($h|tonumber) - .period_cycles) * 10000 / ($h|tonumber) | round / 100),
          .solver.status, ((.solver.gap // 0) * 10000 | round / 100),
          $proven, (if $proof == "-" then "" else ($proof|tonumber * 1000 | round / 1000) end),
          ($phase1|tonumber * 100 | round / 100),
          ($wall|tonumber * 100 | round / 100), (.solver.note // "" | gsub(","; ";"))] | @csv'
    done
  done
done
