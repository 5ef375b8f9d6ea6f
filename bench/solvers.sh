#!/usr/bin/env bash
# microlp vs HiGHS on the bundled models (sa128-ws, P = 4 and 8, default time limit).
# Needs a binary built with `cargo build --release --features highs` (path in $BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/spikepipe}
echo "model,processors,solver,period_cycles,lower_bound_cycles,status,gap,seconds"
for m in models/*.yaml; do
  for p in 4 8; do
    for solver in microlp highs; do
      "$bin" compile "$m" --hardware models/hw/sa128-ws.yaml -p "$p" --solver "$solver" --staleness-cost none --format json |
        python3 -c "import json,sys; s=json.load(sys.stdin); v=s['solver']; print(f\"{s['model']['name']},$p,$solver,{s['period_cycles']},{s['lower_bound_cycles']},{v['status']},{v['gap']},{v['seconds']}\")"
    done
  done
done
