#!/usr/bin/env bash
# Solver scaling: ILP (default 10 s limit) on VGG-16 at P = 16 and a 50-layer chain at
# P = 4…32; prints period, lower bound, status, gap and seconds of each.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
[ -x "$bin" ] || cargo build --release
hw=models/hw/sa128-ws.yaml
echo "model,processors,period_cycles,lower_bound_cycles,status,gap,solver_seconds,wall_seconds"
run() {
  local model=$1 p=$2 start end
  start=$(date +%s.%N)
  "$bin" compile "$model" --hardware "$hw" -p "$p" --staleness-cost none --format json > /tmp/scaling.json
  end=$(date +%s.%N)
  python3 - "$model" "$p" "$start" "$end" <<'PY'
import json, sys
s = json.load(open("/tmp/scaling.json"))
m, p, t0, t1 = sys.argv[1:]
print(f"{s['model']['name']},{p},{s['period_cycles']},{s['lower_bound_cycles']},{s['solver']['status']},{s['solver']['gap']},{s['solver']['seconds']},{float(t1)-float(t0):.1f}")
PY
}
run models/vgg16-cifar100.yaml 16
for p in 4 8 16 32; do run bench/models/chain50.yaml "$p"; done
