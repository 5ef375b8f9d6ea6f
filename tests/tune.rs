//! `spikepipe tune` and the time-to-accuracy output of `spikepipe train`.

mod common;

use common::{ok, spikepipe, stderr};
use serde_json::Value;

const MODEL: &str = "models/mlp-digits.yaml";
const HW: &str = "models/hw/sa32-ws.yaml";

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&ok(args)).expect("JSON output")
}

#[test]
fn tune_help_shows_an_example() {
    let out = ok(&["tune", "--help"]);
    assert!(out.contains("Examples:") && out.contains("spikepipe tune models/"), "{out}");
}

#[test]
fn tune_ranks_schedules_by_simulated_time_to_accuracy() {
    let args = [
        "tune",
        MODEL,
        "--hardware",
        HW,
        "-p",
        "4",
        "--methods",
        "heuristic,pipedream",
        "--max-cap",
        "0",
        "--mitigations",
        "none;stash",
        "--epochs",
        "1",
        "--train-limit",
        "256",
        "--test-limit",
        "64",
        "--eval-every",
        "2",
        "--threads",
        "1",
        "--format",
        "json",
    ];
    let v = json(&args);
    let rows = v["rows"].as_array().expect("rows");
    // 2 methods × 2 caps; the cap-0 schedules (no staleness) get one row, the others two.
    assert!(rows.len() >= 4 && rows.len() <= 8, "{} rows", rows.len());
    let target = v["target"].as_f64().expect("target");
    assert!((target - (v["no_delay_accuracy"].as_f64().expect("base") - 0.005).max(0.0)).abs() < 1e-12);
    for r in rows {
        let t = &r["time_to_accuracy"];
        assert_eq!(t["reached"].as_bool(), Some(t["iterations"].is_u64()));
        if let (Some(k), Some(s)) = (t["iterations"].as_u64(), t["seconds"].as_f64()) {
            let (fill, period) =
                (r["fill_cycles"].as_f64().expect("fill"), r["period_cycles"].as_f64().expect("p"));
            let clock = 500e6; // sa32-ws: clock_mhz 500
            assert_eq!(k % 2, 0, "evaluations every 2 iterations");
            assert!((s - (fill + (k - 1) as f64 * period) / clock).abs() <= 1e-12 * s, "{s}");
        }
        if r["cap"] == 0 {
            assert_eq!(r["max_staleness"], 0);
        }
        match (r["staleness_cost"].as_f64(), t["iterations"].as_u64(), v["no_delay_iterations"].as_u64()) {
            (Some(c), Some(k), Some(k0)) => {
                let s = r["max_staleness"].as_f64().expect("staleness");
                assert!((c - (k as f64 / k0 as f64 - 1.0) / s).abs() < 1e-12, "{r}");
            }
            (None, k, k0) => assert!(r["max_staleness"] == 0 || k.is_none() || k0.is_none(), "{r}"),
            (Some(_), ..) => panic!("a staleness cost without both iteration counts: {r}"),
        }
    }
    if let Some(b) = v["best"].as_u64() {
        let best = rows[b as usize]["time_to_accuracy"]["seconds"].as_f64().expect("best is timed");
        assert!(rows.iter().filter_map(|r| r["time_to_accuracy"]["seconds"].as_f64()).all(|s| s >= best));
    }
    // Deterministic: same inputs, same report.
    assert_eq!(v, json(&args));
}

#[test]
fn train_reports_time_to_accuracy_on_the_schedule() {
    let v = json(&[
        "train",
        MODEL,
        "--hardware",
        HW,
        "-m",
        "heuristic",
        "-p",
        "4",
        "--epochs",
        "1",
        "--train-limit",
        "512",
        "--test-limit",
        "64",
        "--eval-every",
        "4",
        "--target-accuracy",
        "0.05",
        "--mitigation",
        "predict,stash",
        "--threads",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(v["mitigation"], "stash,predict");
    let t = &v["time_to_accuracy"];
    assert_eq!(t["reached"], true, "{t}");
    let timing = &v["timing"];
    let k = t["iterations"].as_u64().expect("iterations");
    assert_eq!(k, 4, "the first evaluation (iteration 4) is above 5 %");
    let want = (timing["fill_cycles"].as_f64().expect("fill")
        + 3.0 * timing["period_cycles"].as_f64().expect("p"))
        / timing["clock_hz"].as_f64().expect("clock");
    assert!((t["seconds"].as_f64().expect("seconds") - want).abs() < 1e-12);
    let its: Vec<u64> =
        v["evals"].as_array().expect("evals").iter().map(|e| e["iteration"].as_u64().expect("it")).collect();
    assert_eq!(its, [4, 8]); // 512 samples / batch 64: every 4 iterations and the epoch's end
}

#[test]
fn unreached_target_says_so() {
    let out = ok(&[
        "train",
        MODEL,
        "--hardware",
        HW,
        "-m",
        "pipedream",
        "-p",
        "2",
        "--epochs",
        "1",
        "--train-limit",
        "128",
        "--test-limit",
        "32",
        "--target-accuracy",
        "1.0",
        "--threads",
        "1",
    ]);
    assert!(out.contains("time to accuracy 1.0000: not reached"), "{out}");
}

#[test]
fn bad_mitigation_and_target_exit_2() {
    for args in [
        &["train", MODEL, "--mitigation", "stash,magic"][..],
        &["train", MODEL, "--target-accuracy", "1.5"][..],
        &["train", MODEL, "--eval-every", "0"][..],
        &["train", MODEL, "--init-rate", "1"][..],
    ] {
        let out = spikepipe(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    }
    let out = spikepipe(&["train", MODEL, "--mitigation", "stash,,predict"]);
    assert!(stderr(&out).contains("an empty name in the list"), "{}", stderr(&out));
    let out = spikepipe(&["train", MODEL, "--mitigation", "stash,magic"]);
    assert!(stderr(&out).contains("unknown mitigation 'magic'"), "{}", stderr(&out));
}

#[test]
fn tune_writes_the_winners_schedule_and_says_how_to_train_it() {
    let dir = common::scratch("tune-output");
    let file = dir.join("best.json");
    let file = file.to_str().expect("utf-8 path");
    // The probe's training settings, which `train` repeats below.
    let training = [
        "--epochs",
        "1",
        "--train-limit",
        "512",
        "--test-limit",
        "128",
        "--eval-every",
        "2",
        "--threads",
        "1",
    ];
    let mut args =
        vec!["tune", MODEL, "-o", file, "--hardware", HW, "-p", "4", "--methods", "heuristic,data-parallel"];
    args.extend(["--max-cap", "1", "--mitigations", "lr-cap,predict", "--target-accuracy", "0.05"]);
    args.extend(training);
    let table = ok(&args);
    let train_line = table.lines().find(|l| l.trim_start().starts_with("spikepipe train")).expect(&table);
    args.extend(["--format", "json"]);
    let v = json(&args);
    // Staleness-0 schedules get their (no-delay) row even without `none` in the list.
    let dp = v["rows"].as_array().expect("rows").iter().find(|r| r["method"] == "data-parallel");
    assert_eq!(dp.expect("a data-parallel row")["mitigation"], "none");
    let best = &v["rows"][v["best"].as_u64().expect("a row reaches 5 %") as usize];
    let schedule: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("written")).expect("JSON");
    assert_eq!(schedule["period_cycles"], best["period_cycles"]);
    let mitigation = best["mitigation"].as_str().expect("mitigation");
    assert!(train_line.ends_with(&format!("--schedule {file} --mitigation {mitigation}")), "{train_line}");
    // Training the written schedule with the winner's mitigation repeats the winner's probe.
    let mut train = vec!["train", MODEL, "--schedule", file, "--mitigation", mitigation, "--format", "json"];
    train.extend(training);
    let trained = json(&train);
    assert_eq!(trained["final_test_accuracy"], best["final_accuracy"]);
    assert_eq!(trained["timing"]["fill_cycles"], best["fill_cycles"]);
}
