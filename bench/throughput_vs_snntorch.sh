#!/usr/bin/env bash
# Training throughput of `spikepipe train` and snnTorch on mlp-fmnist's network
# (784-500-500-10, iir2/Synaptic neurons, T = 25, batch 128, Adam), side by side in one
# run: ROUNDS rounds, each timing ours then snnTorch, so both see the same machine load.
# Prints every measurement and the medians.
#
# Usage: bench/throughput_vs_snntorch.sh   Env: THREADS (2), ROUNDS (5), BATCHES (40),
#        VENV (/work/venv: python with torch and snntorch), BIN (target/release/spikepipe),
#        DATA (/usr/share/datasets/fashion-mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-2}; rounds=${ROUNDS:-5}; batches=${BATCHES:-40}
venv=${VENV:-/work/venv}; bin=${BIN:-target/release/spikepipe}
data=${DATA:-/usr/share/datasets/fashion-mnist}
ours=(); theirs=()
for r in $(seq "$rounds"); do
    o=$("$bin" train models/mlp-fmnist.yaml --dataset "idx:$data" --epochs 1 \
        --train-limit $((batches * 128)) --test-limit 16 --threads "$threads" -q --format json \
        | python3 -c "import json,sys; print(round(json.load(sys.stdin)['epochs'][0]['samples_per_second']))")
    t=$("$venv/bin/python" bench/snntorch_mlp_fmnist.py --threads "$threads" --batches "$batches" --data "$data" \
        | sed -n 's/.*samples\/s=\([0-9]*\).*/\1/p')
    echo "round $r: spikepipe $o samples/s, snntorch $t samples/s"
    ours+=("$o"); theirs+=("$t")
done
python3 - "${ours[*]}" "${theirs[*]}" <<'PY'
import statistics, sys
o = [float(x) for x in sys.argv[1].split()]; t = [float(x) for x in sys.argv[2].split()]
mo, mt = statistics.median(o), statistics.median(t)
print(f"median: spikepipe {mo:.0f} samples/s, snntorch {mt:.0f} samples/s, ratio {mo / mt:.2f}x")
print("per-round ratios:", " ".join(f"{a / b:.2f}" for a, b in zip(o, t)))
PY
