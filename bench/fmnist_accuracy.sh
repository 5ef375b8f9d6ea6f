#!/usr/bin/env bash
# Fashion-MNIST (Debian's dataset-fashion-mnist), mlp-fmnist, 5 epochs, full 60k/10k:
# test accuracy without pipelining and with the staleness of ilp schedules on sa32-ws.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
data=idx:/usr/share/datasets/fashion-mnist
common=(models/mlp-fmnist.yaml --dataset "$data" --epochs "${EPOCHS:-5}" --threads "${THREADS:-2}" -q --format json)
hw=(--hardware models/hw/sa32-ws.yaml --time-limit 5 --staleness-cost none)
run() { local name=$1; shift; "$bin" train "${common[@]}" "$@" > "target/fmnist-$name.json"; echo "$name done"; }
mkdir -p target
run none
run ilp-p4 --method ilp -p 4 "${hw[@]}"
run ilp-p8 --method ilp -p 8 "${hw[@]}"
run ilp-p4-cap2 --method ilp -p 4 "${hw[@]}" --max-staleness 2
run ilp-p8-cap2 --method ilp -p 8 "${hw[@]}" --max-staleness 2
for f in target/fmnist-*.json; do
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1], d['final_test_accuracy'], [round(e['test_accuracy'],4) for e in d['epochs']], round(sum(e['seconds'] for e in d['epochs'])), d['staleness'])" "$f"
done
