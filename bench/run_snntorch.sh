#!/usr/bin/env bash
# Trains the mlp-fmnist network with snnTorch for a fixed number of batches and prints
# samples/s, for comparison with `spikepipe train models/mlp-fmnist.yaml`.
#
# Usage: bench/run_snntorch.sh [THREADS...]   (default: 1 2)
# Env:   VENV (default /tmp/snntorch-venv), BATCHES (default 40), DATA (default
#        /usr/share/datasets/fashion-mnist), EPOCHS (default 0 = speed only; >0 also
#        trains that many full epochs and prints the test accuracy).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
VENV="${VENV:-/tmp/snntorch-venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet snntorch torch numpy
fi
threads=("$@")
[ ${#threads[@]} -eq 0 ] && threads=(1 2)
for n in "${threads[@]}"; do
    "$VENV/bin/python" "$here/snntorch_mlp_fmnist.py" --threads "$n" \
        --batches "${BATCHES:-40}" --data "${DATA:-/usr/share/datasets/fashion-mnist}" \
        --epochs "${EPOCHS:-0}"
done
