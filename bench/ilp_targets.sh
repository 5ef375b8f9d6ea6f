#!/usr/bin/env bash
# ILP at the default time limit on every bundled model and both machines, P = 2,4,8,16,
# next to the heuristic and PipeDream (issue 3's targets). Writes CSV to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
[ -x "$bin" ] || cargo build --release
echo "hardware,method,processors,period_cycles,lower_bound_cycles,period_over_lb,speedup_vs_pipedream,speedup_vs_layerwise,max_staleness,mean_staleness,bytes_between_processors,comm_overhead,peak_memory_bytes,solve_seconds,status,model"
for hw in models/hw/*.yaml; do
  for m in models/*.yaml; do
    "$bin" compare "$m" --hardware "$hw" --methods ilp,heuristic,pipedream --staleness-cost none --format csv | tail -n +2 |
      sed "s|^|$(basename "$hw" .yaml),|; s|\$|,$(basename "$m" .yaml)|"
  done
done
