#!/usr/bin/env bash
# Accuracy and time to accuracy under staleness on full Fashion-MNIST (mlp-fmnist):
# no delays vs the staleness of the fastest uncapped schedules at P = 4 and 8 on sa32-ws
# (METHOD, default ilp: the fastest there), with each mitigation; several seeds. About
# 45 CPU-seconds per epoch on a quiet machine.
# Env: EPOCHS (5), SEEDS ("0 1 2"), MITIGATIONS ("none stash predict lr-scale delay-comp
# momentum warmup"), INIT ("": default init; e.g. "--init-rate 0.1", applied to the
# delayed runs only), METHOD (ilp), THREADS (1), OUT (target/tta); MITIGATIONS4 and
# MITIGATIONS8 override MITIGATIONS at one P; LOSS (e.g. membrane_ce) and LR_SCHEDULE
# (e.g. cosine) train a copy of the model with that `training.loss` / `lr_schedule`
# (no-delay run included).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/spikepipe
out=${OUT:-target/tta}; mkdir -p "$out"
data=idx:/usr/share/datasets/fashion-mnist
model=models/mlp-fmnist.yaml
if [ -n "${LOSS:-}${LR_SCHEDULE:-}" ]; then
    copy=$out/model-${LOSS:-default}-${LR_SCHEDULE:-constant}.yaml
    sed -e "s/loss: [a-z_]*/loss: ${LOSS:-spike_count_ce}/" \
        -e "/^training/s/}\$/${LR_SCHEDULE:+, lr_schedule: $LR_SCHEDULE}}/" "$model" > "$copy"
    model=$copy
fi
common=("$model" --dataset "$data" --epochs "${EPOCHS:-5}" --threads "${THREADS:-1}" -q --format json)
for p in 4 8; do
    "$bin" compile "$model" --hardware models/hw/sa32-ws.yaml -p $p --method "${METHOD:-ilp}" -o "$out/s$p.json" > /dev/null
done
for seed in ${SEEDS:-0 1 2}; do
    "$bin" train "${common[@]}" --seed "$seed" > "$out/none-s$seed.json"
    for p in 4 8; do
        var=MITIGATIONS$p
        for m in ${!var:-${MITIGATIONS:-none stash predict lr-scale delay-comp momentum warmup}}; do
            "$bin" train "${common[@]}" ${INIT:-} --seed "$seed" --schedule "$out/s$p.json" --mitigation "$m" \
                > "$out/p$p-$m-s$seed.json"
        done
    done
done
for f in "$out"/*-s*.json; do
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1], d['final_test_accuracy'], [round(e['test_accuracy'],4) for e in d['epochs']], d['time_to_accuracy'])" "$f"
done
