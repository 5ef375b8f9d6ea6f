#!/usr/bin/env bash
# Accuracy and time to accuracy under staleness on full Fashion-MNIST (mlp-fmnist):
# no delays vs the staleness of the fastest schedules at P = 4 and 8 on sa32-ws
# (METHOD, default ilp: the fastest there; CAP: compile with --max-staleness CAP), with
# each mitigation; several seeds. About 45–70 CPU-seconds per epoch.
# Env: EPOCHS (5), SEEDS ("0 1 2"), PS ("4 8"), MITIGATIONS ("none stash predict lr-scale
# delay-comp momentum warmup"), INIT ("": default init; e.g. "--init-rate 0.1", applied
# to the delayed runs only), METHOD (ilp), CAP (none), HW (models/hw/sa32-ws.yaml),
# THREADS (1), EVAL_EVERY (117),
# OUT (target/tta); MITIGATIONS4 and MITIGATIONS8 override MITIGATIONS at one P; LOSS
# (e.g. membrane_ce) and LR_SCHEDULE (e.g. cosine) train a copy of the model with that
# `training.loss` / `lr_schedule` (no-delay run included); SCHEDULE4 and SCHEDULE8 train
# with a given schedule file at that P instead of compiling one (e.g. the schedules of an
# earlier compiler kept in bench/schedules/).
# The summary gives, per run, the final accuracy and the simulated time to accuracy
# (target: the same seed's no-delay final accuracy − 0.005, docs/time-to-accuracy.md)
# on its schedule, and the no-delay run's on the data-parallel schedule (staleness 0, so
# it trains exactly like the no-delay run).
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
common=("$model" --dataset "$data" --epochs "${EPOCHS:-5}" --threads "${THREADS:-1}" -q --format json
    --eval-every "${EVAL_EVERY:-117}")
ps=${PS:-4 8}
hw=${HW:-models/hw/sa32-ws.yaml}
for p in $ps; do
    given=SCHEDULE$p
    if [ -n "${!given:-}" ]; then
        cp "${!given}" "$out/s$p.json"
    else
        "$bin" compile "$model" --hardware "$hw" -p "$p" --method "${METHOD:-ilp}" --staleness-cost none \
            ${CAP:+--max-staleness "$CAP"} -o "$out/s$p.json" -q > /dev/null
    fi
    "$bin" compile "$model" --hardware "$hw" -p "$p" --method data-parallel \
        -o "$out/dp$p.json" -q > /dev/null
    # Each schedule's timing (fill, period, clock) and staleness as `train` derives them:
    # a one-sample run, so the summary below does not redefine them.
    for s in s dp; do
        "$bin" train "$model" --dataset "$data" --schedule "$out/$s$p.json" --epochs 1 \
            --train-limit 1 --test-limit 1 -q --format json > "$out/timing-$s$p.json"
    done
done
for seed in ${SEEDS:-0 1 2}; do
    "$bin" train "${common[@]}" --seed "$seed" > "$out/none-s$seed.json"
    for p in $ps; do
        var=MITIGATIONS$p
        for m in ${!var:-${MITIGATIONS:-none stash predict lr-scale delay-comp momentum warmup}}; do
            "$bin" train "${common[@]}" ${INIT:-} --seed "$seed" --schedule "$out/s$p.json" --mitigation "$m" \
                > "$out/p$p-$m-s$seed.json"
        done
    done
done
python3 - "$out" $ps <<'PY'
import glob, json, os, sys
out, ps = sys.argv[1], sys.argv[2:]

def timing(path):
    d = json.load(open(path))
    return d["timing"], d["staleness"]

def tta(evals, target, t):
    # T(k) = (fill + (k − 1) · period) / clock, as `spikepipe train` reports it.
    k = next((e["iteration"] for e in evals if e["test_accuracy"] >= target), None)
    return None if k is None else (k, (t["fill_cycles"] + (k - 1) * t["period_cycles"]) / t["clock_hz"])

print("run,seed,staleness,final_accuracy,target,iterations_to_target,simulated_seconds,data_parallel_seconds,ratio_vs_data_parallel")
for none in sorted(glob.glob(os.path.join(out, "none-s*.json"))):
    seed = none.rsplit("-s", 1)[1][:-5]
    base = json.load(open(none))
    target = base["final_test_accuracy"] - 0.005
    for p in ps:
        dp = tta(base["evals"], target, timing(os.path.join(out, f"timing-dp{p}.json"))[0])
        t, st = timing(os.path.join(out, f"timing-s{p}.json"))
        stale = "/".join(str(x["forward"]) for x in st)
        row = lambda name, r, acc, s: print(f"{name},{seed},{s},{acc:.4f},{target:.4f},"
            f"{r[0] if r else 'not reached'},{f'{r[1]:.4f}' if r else ''},{f'{dp[1]:.4f}' if dp else ''},"
            f"{f'{dp[1] / r[1]:.3f}' if r and dp else ''}")
        row(f"no delay on data-parallel P={p}", dp, base["final_test_accuracy"], "0")
        for f in sorted(glob.glob(os.path.join(out, f"p{p}-*-s{seed}.json"))):
            d = json.load(open(f))
            m = os.path.basename(f)[len(f"p{p}-"):-len(f"-s{seed}.json")]
            row(f"P={p} {m}", tta(d["evals"], target, t), d["final_test_accuracy"], stale)
PY
