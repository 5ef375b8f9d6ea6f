#!/usr/bin/env bash
# The time-to-accuracy table: `spikepipe tune` for mlp-fmnist at P = 4 and 8 on both
# bundled machines (every method, staleness caps none/0/1, mitigations none and
# lr-scale), probes of 20 000 Fashion-MNIST training samples (157 iterations) tested on
# 2 000. Prints, per machine and P, the winner, the best standard method and their ratio.
#
# Usage: bench/tta_table.sh   Env: BIN (target/release/spikepipe),
#        DATA (/usr/share/datasets/fashion-mnist), LIMIT (20000), OUT (a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/spikepipe}; data=${DATA:-/usr/share/datasets/fashion-mnist}
limit=${LIMIT:-20000}; out=${OUT:-$(mktemp -d)}
for hw in sa32-ws sa128-ws; do
    for p in 4 8; do
        "$bin" tune models/mlp-fmnist.yaml --hardware "models/hw/$hw.yaml" -p "$p" \
            --dataset "idx:$data" --train-limit "$limit" --test-limit 2000 --max-cap 1 \
            --mitigations "none;lr-scale" --threads 1 -q --format json > "$out/$hw-$p.json"
    done
done
python3 - "$out" <<'PY'
import json, sys, pathlib
print("| machine | P | winner (method, cap, mitigation) | period | s | iterations | simulated s | best standard | its s | ratio |")
print("|---|---:|---|---:|---:|---:|---:|---|---:|---:|")
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    d = json.loads(f.read_text()); rows = d["rows"]
    b = rows[d["best"]]; s = rows[d["best_standard"]] if d["best_standard"] is not None else None
    hw, p = f.stem.rsplit("-", 1)
    t = b["time_to_accuracy"]
    std = f"{s['method']} ({s['period_cycles']})" if s else "—"
    ssec = f"{s['time_to_accuracy']['seconds']:.4f}" if s and s["time_to_accuracy"]["reached"] else "—"
    ratio = f"{d['speedup_vs_standard']:.2f}×" if d["speedup_vs_standard"] else "—"
    print(f"| {hw} | {p} | {b['method']}, cap {b['cap']}, {b['mitigation']} | {b['period_cycles']} | {b['max_staleness']} "
          f"| {t['iterations']} | {t['seconds']:.4f} | {std} | {ssec} | {ratio} |")
    stale = [r for r in rows if r["max_staleness"] > 0]
    if stale:
        best_stale = max(stale, key=lambda r: r["final_accuracy"])
        print(f"|   | | best stale schedule: {best_stale['method']}, cap {best_stale['cap']}, {best_stale['mitigation']}, "
              f"s = {best_stale['max_staleness']}: final {best_stale['final_accuracy']:.3f}, target {d['target']:.4f} "
              f"{'reached' if best_stale['time_to_accuracy']['reached'] else 'not reached'} | | | | | | | |")
PY
