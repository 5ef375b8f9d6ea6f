//! The command line: help texts, JSON outputs that parse as documented, `-o`, and bad
//! flags exiting with status 2.

mod common;

use common::{ok, scratch, spikepipe, stderr, stdout};
use serde_json::Value;
use spikepipe_ir::{verify_schedule, Schedule};

const MODEL: &str = "models/mlp-digits.yaml";
const HW: &str = "models/hw/sa32-ws.yaml";

const SUBCOMMANDS: [&str; 6] = ["tasks", "compile", "compare", "simulate", "train", "report"];

fn help_shows_an_example(sub: &str) {
    let out = ok(&[sub, "--help"]);
    assert!(out.contains("Usage:"), "{sub} --help:\n{out}");
    assert!(out.contains("Examples:"), "{sub} --help shows examples:\n{out}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with(&format!("spikepipe {sub}"))),
        "{sub} --help has a `spikepipe {sub} …` example line:\n{out}"
    );
}

#[test]
fn top_level_help_lists_every_subcommand() {
    let top = ok(&["--help"]);
    for sub in SUBCOMMANDS {
        assert!(top.contains(&format!("  {sub} ")), "top-level help lists {sub}:\n{top}");
    }
}

#[test]
fn tasks_help_shows_an_example() {
    help_shows_an_example("tasks");
}

#[test]
fn compile_help_shows_an_example() {
    help_shows_an_example("compile");
}

#[test]
fn compare_help_shows_an_example() {
    help_shows_an_example("compare");
}

#[test]
fn simulate_help_shows_an_example() {
    help_shows_an_example("simulate");
}

#[test]
fn train_help_shows_an_example() {
    help_shows_an_example("train");
}

#[test]
fn report_help_shows_an_example() {
    help_shows_an_example("report");
}

#[test]
fn help_examples_name_files_that_exist() {
    // Every `models/...yaml` an example names is bundled, so the examples run as written.
    for sub in SUBCOMMANDS {
        let out = ok(&[sub, "--help"]);
        for word in out.split_whitespace().filter(|w| w.starts_with("models/") && w.ends_with(".yaml")) {
            assert!(common::root().join(word).is_file(), "{sub} --help names {word}, which does not exist");
        }
    }
}

fn compile_json(extra: &[&str]) -> String {
    let mut args = vec!["compile", MODEL, "--hardware", HW, "-p", "4", "--format", "json"];
    args.extend_from_slice(extra);
    ok(&args)
}

#[test]
fn compile_json_is_a_valid_schedule() {
    for method in ["heuristic", "pipedream", "layerwise", "gpipe"] {
        let out = compile_json(&["--method", method]);
        let s = Schedule::from_json(&out).unwrap_or_else(|e| panic!("{method}: not a schedule: {e}"));
        verify_schedule(&s).unwrap_or_else(|v| panic!("{method}: {v}"));
        assert_eq!(s.method, method);
        assert_eq!(s.hardware.processors, 4);
        assert_eq!(s.model.name, "mlp-digits");
        assert!(s.period_cycles >= s.lower_bound_cycles);
    }
}

#[test]
fn compile_output_file_holds_the_same_json() {
    let d = scratch("cli-out");
    let file = d.join("s.json");
    let path = file.to_str().expect("utf-8 path");
    let printed = compile_json(&["--method", "heuristic", "--reproducible", "-o", path]);
    let written = std::fs::read_to_string(&file).expect("compile -o wrote the file");
    assert_eq!(written.trim_end(), printed.trim_end(), "-o writes what --format json prints");
    let s = Schedule::from_json(&written).expect("the file is a schedule");
    verify_schedule(&s).expect("valid");

    // With the table format, -o still writes the JSON.
    let file2 = d.join("t.json");
    let table = ok(&[
        "compile",
        MODEL,
        "--hardware",
        HW,
        "-p",
        "4",
        "--method",
        "heuristic",
        "--reproducible",
        "-o",
        file2.to_str().expect("utf-8 path"),
    ]);
    assert!(table.contains("period"), "{table}");
    assert_eq!(std::fs::read_to_string(&file2).expect("written"), written);
}

#[test]
fn compile_table_summarises_the_schedule() {
    let out = ok(&["compile", MODEL, "--hardware", HW, "-p", "2", "--method", "pipedream", "--reproducible"]);
    let json =
        ok(&["compile", MODEL, "--hardware", HW, "-p", "2", "--method", "pipedream", "--format", "json"]);
    let s = Schedule::from_json(&json).expect("schedule");
    assert!(out.starts_with("model mlp-digits  method pipedream  P = 2"), "{out}");
    assert!(out.contains(&format!("period        {} cycles", s.period_cycles)), "{out}");
    assert!(out.contains(&format!("lower bound   {} cycles", s.lower_bound_cycles)), "{out}");
}

const ROW_KEYS: [&str; 14] = [
    "method",
    "processors",
    "period_cycles",
    "lower_bound_cycles",
    "period_over_lb",
    "speedup_vs_pipedream",
    "speedup_vs_layerwise",
    "max_staleness",
    "mean_staleness",
    "bytes_between_processors",
    "comm_overhead",
    "peak_memory_bytes",
    "solve_seconds",
    "status",
];

#[test]
fn compare_json_rows_have_documented_keys() {
    let out = ok(&[
        "compare",
        MODEL,
        "--hardware",
        HW,
        "-p",
        "2,4",
        "--methods",
        "ilp,heuristic,pipedream,layerwise,gpipe",
        "--time-limit",
        "0.5",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("compare --format json is JSON");
    let rows = v.as_array().expect("an array of rows");
    assert_eq!(rows.len(), 10, "5 methods × 2 processor counts");
    let mut expected: Vec<&str> = ROW_KEYS.to_vec();
    expected.sort_unstable();
    for r in rows {
        let mut keys: Vec<&str> = r.as_object().expect("a row object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, expected, "{r}");
        let period = r["period_cycles"].as_u64().expect("period");
        let lb = r["lower_bound_cycles"].as_u64().expect("lb");
        assert!(period >= lb, "{r}");
        let ratio = r["period_over_lb"].as_f64().expect("ratio");
        assert!((ratio - period as f64 / lb as f64).abs() < 1e-5, "{r}");
        let status = r["status"].as_str().expect("status");
        assert!(["optimal", "feasible", "time_limit", "fallback"].contains(&status), "{r}");
        assert!(r["solve_seconds"].as_f64().expect("seconds") >= 0.0);
        let method = r["method"].as_str().expect("method");
        if method == "pipedream" {
            assert_eq!(r["speedup_vs_pipedream"].as_f64(), Some(1.0), "{r}");
        }
        if method == "layerwise" {
            assert_eq!(r["speedup_vs_layerwise"].as_f64(), Some(1.0), "{r}");
        }
    }
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str().expect("method")).collect();
    for m in ["ilp", "heuristic", "pipedream", "layerwise", "gpipe"] {
        assert_eq!(methods.iter().filter(|&&x| x == m).count(), 2, "{m} once per P");
    }
}

#[test]
fn compare_csv_header_matches_json_keys() {
    let out =
        ok(&["compare", MODEL, "--hardware", HW, "-p", "2", "--methods", "pipedream", "--format", "csv"]);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(ROW_KEYS.join(",").as_str()));
    let row: Vec<&str> = lines.next().expect("one row").split(',').collect();
    assert_eq!(row.len(), ROW_KEYS.len());
    assert_eq!(row[0], "pipedream");
    assert_eq!(row[1], "2");
    assert_eq!(lines.next(), None, "only the methods asked for are listed");
}

fn rejected(args: &[&str]) -> String {
    let o = spikepipe(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "spikepipe {} should exit 2:\n{err}", args.join(" "));
    assert!(!err.contains("panicked"), "{err}");
    assert!(stdout(&o).is_empty(), "nothing on stdout");
    err
}

#[test]
fn bad_method_exits_2() {
    let err = rejected(&["compile", MODEL, "--hardware", HW, "--method", "simulated-annealing"]);
    assert!(err.contains("simulated-annealing"), "{err}");
    assert!(err.contains("heuristic"), "lists the known methods: {err}");
    let err = rejected(&["compare", MODEL, "--hardware", HW, "--methods", "heuristic,magic"]);
    assert!(err.contains("magic"), "{err}");
    let err = rejected(&["train", MODEL, "--hardware", HW, "--method", "magic"]);
    assert!(err.contains("magic"), "{err}");
}

#[test]
fn bad_flags_exit_2() {
    let err = rejected(&["compile", MODEL, "--hardware", HW, "--time-limit", "-1"]);
    assert!(err.contains("time-limit") || err.contains("-1"), "{err}");
    let err = rejected(&["compile", MODEL, "--hardware", HW, "--time-limit", "NaN"]);
    assert!(err.contains("time-limit"), "{err}");
    let err = rejected(&["compile", MODEL, "--hardware", HW, "--method", "gpipe", "--micro-batches", "0"]);
    assert!(err.contains("micro-batches"), "{err}");
    let err = rejected(&["compare", MODEL, "--hardware", HW, "-p", "2,0"]);
    assert!(err.contains("--processors"), "{err}");
    let err = rejected(&["compile", MODEL, "--hardware", HW, "--solver", "cplex"]);
    assert!(err.contains("cplex"), "{err}");
    let err = rejected(&["tasks", MODEL, "--hardware", HW, "--format", "xml"]);
    assert!(err.contains("xml"), "{err}");
    rejected(&["frobnicate"]);
}

#[test]
fn max_memory_caps_every_processor_and_rejects_bad_values() {
    let free = Schedule::from_json(&compile_json(&["--method", "heuristic"])).expect("schedule");
    let need = *free.metrics.peak_memory_bytes.iter().max().expect("one per processor");
    assert_eq!(free.metrics.peak_memory_bytes.len(), 4);
    let cap = (need * 3 / 4).to_string();
    let s = Schedule::from_json(&compile_json(&["--method", "heuristic", "--max-memory", &cap]))
        .expect("schedule");
    assert_eq!(s.hardware.memory_bytes, Some(need * 3 / 4));
    assert!(
        s.metrics.peak_memory_bytes.iter().all(|&b| b <= need * 3 / 4),
        "{:?}",
        s.metrics.peak_memory_bytes
    );
    verify_schedule(&s).expect("valid");
    for bad in ["0", "lots", "12XB"] {
        let o = common::spikepipe(&["compile", MODEL, "--hardware", HW, "--max-memory", bad]);
        assert_eq!(o.status.code(), Some(2), "--max-memory {bad}");
    }
    // Below one layer's weights: a clear message, exit status 2.
    let o = common::spikepipe(&["compile", MODEL, "--hardware", HW, "--max-memory", "1K"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("weights and optimizer state"), "{}", common::stderr(&o));
}
