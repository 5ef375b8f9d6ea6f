#!/usr/bin/env bash
# Rate-coded final accuracy of mlp-digits over many seeds, three ways: our executor with
# its accumulate-only spike kernels, our executor with dense GEMMs (--dense-kernels: the
# same arithmetic in another float summation order), and the exported snnTorch train.py.
# Schedule: layerwise P = 2 (staleness 1/0), the model's 30 epochs, one thread each.
# Prints one line per seed and run kind, then mean / median / sd / s.e. per kind.
#
# Usage: bench/export_seeds.sh   Env: SEEDS ("0 1 … 19"), PY_SEEDS (same as SEEDS),
#        VENV (.venv: python with torch and snntorch), BIN (target/release/spikepipe).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${SEEDS:-$(seq -s ' ' 0 19)}; py_seeds=${PY_SEEDS:-$seeds}
venv=${VENV:-.venv}; bin=${BIN:-target/release/spikepipe}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$bin" compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml -p 2 --method layerwise --staleness-cost none -o "$work/s.json" -q >/dev/null
"$bin" export models/mlp-digits.yaml --schedule "$work/s.json" --out "$work/pkg" >/dev/null
acc() { python3 -c "import json,sys; print(json.load(sys.stdin)['final_test_accuracy'])"; }
for s in $seeds; do
    echo "executor $s $("$bin" train models/mlp-digits.yaml --schedule "$work/s.json" --seed "$s" -q --threads 1 --format json | acc)"
    echo "dense $s $("$bin" train models/mlp-digits.yaml --schedule "$work/s.json" --seed "$s" -q --threads 1 --format json --dense-kernels | acc)"
done | tee "$work/ours.txt"
for s in $py_seeds; do
    echo "exported $s $("$venv/bin/python" "$work/pkg/train.py" --seed "$s" -q --threads 1 --format json | acc)"
done | tee "$work/theirs.txt"
cat "$work/ours.txt" "$work/theirs.txt" | python3 -c '
import statistics as st, sys
runs = {}
for line in sys.stdin:
    kind, _, a = line.split(); runs.setdefault(kind, []).append(float(a))
for kind, v in runs.items():
    sd = st.stdev(v) if len(v) > 1 else 0.0
    print(f"{kind:9} n={len(v):2} mean {st.mean(v):.4f} median {st.median(v):.4f} sd {sd:.4f} s.e. {sd / len(v) ** 0.5:.4f} below 0.75: {sum(x < 0.75 for x in v)}")
'
