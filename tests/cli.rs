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
    assert!(out.contains(&format!("period II     {} cycles", s.period_cycles)), "{out}");
    assert!(out.contains(&format!("lower bound   {} cycles", s.lower_bound_cycles)), "{out}");
    // One convention for comm overhead in tables: a percentage, as compare prints it.
    let pct = format!("comm overhead {:.1} %", 100.0 * s.metrics.comm_overhead);
    assert!(out.contains(&pct), "{pct} in:\n{out}");
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
    // Counts whose size is the attack: each would run for hours, not fail.
    let err = rejected(&["train", MODEL, "--threads", "100000"]);
    assert!(err.contains("--threads") && err.contains("1024"), "{err}");
    let err = rejected(&["compare", MODEL, "--hardware", HW, "--front", "--front-caps", "100000"]);
    assert!(err.contains("--front-caps") && err.contains("0..=64"), "{err}");
    let err = rejected(&["tune", MODEL, "--hardware", HW, "-p", "2", "--max-cap", "65"]);
    assert!(err.contains("--max-cap"), "{err}");
    let err = rejected(&["simulate", "schedule.json", "--iterations", "4000000000"]);
    assert!(err.contains("--iterations"), "{err}");
}

#[test]
fn max_memory_caps_every_processor_and_rejects_bad_values() {
    // The fastest schedule, a pipeline: its memory can be traded for period.
    let free = Schedule::from_json(&compile_json(&["--method", "heuristic", "--staleness-cost", "none"]))
        .expect("schedule");
    let need = *free.metrics.peak_memory_bytes.iter().max().expect("one per processor");
    assert_eq!(free.metrics.peak_memory_bytes.len(), 4);
    let cap = (need * 3 / 4).to_string();
    let s = Schedule::from_json(&compile_json(&[
        "--method",
        "heuristic",
        "--staleness-cost",
        "none",
        "--max-memory",
        &cap,
    ]))
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

// ---------------------------------------------------------------------------------------
// The edges of issue 13: every case exits with status 2 and one message, snapshotted.

/// Runs a command that must be rejected: exit 2, no panic, nothing on stdout, one
/// `error:` message with no repeated OS error; returns the message with the scratch
/// directory (which holds the process id) written as `<tmp>`.
fn refused(args: &[&str], tmp: Option<&std::path::Path>) -> String {
    let err = rejected(args);
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("use '-- "), "no misleading clap tip: {err}");
    assert!(!err.contains("os error"), "OS errors in words, once: {err}");
    match tmp {
        Some(d) => err.replace(d.to_str().expect("utf-8"), "<tmp>"),
        None => err,
    }
}

#[test]
fn huge_or_negative_time_limits_are_rejected_before_any_work() {
    for sub in ["compile", "compare", "train"] {
        let err = refused(&[sub, MODEL, "--hardware", HW, "--time-limit", "1e20"], None);
        assert!(err.contains("--time-limit"), "{err}");
        if sub == "compile" {
            insta::assert_snapshot!("time_limit_huge", err);
        }
    }
    let err = refused(&["report", "--time-limit", "1e20"], None);
    assert!(err.contains("--time-limit"), "{err}");
    let err = refused(&["compile", MODEL, "--hardware", HW, "--time-limit", "-1"], None);
    insta::assert_snapshot!("time_limit_negative", err);
    let err = refused(&["compare", MODEL, "--hardware", HW, "--time-limit", "-0.5"], None);
    assert!(err.contains("out of range"), "{err}");
}

#[test]
fn unknown_solver_and_bad_processor_counts_are_rejected_while_reading_flags() {
    let err =
        refused(&["compile", MODEL, "--hardware", HW, "--method", "heuristic", "--solver", "foo"], None);
    insta::assert_snapshot!("solver_unknown", err);
    let err = refused(&["report", "-p", "2,300"], None);
    assert!(err.contains("1 to 256"), "{err}");
    let err = refused(&["train", MODEL, "--method", "heuristic", "-p", "0"], None);
    assert!(err.contains("1 to 256"), "{err}");
}

/// A heuristic schedule of mlp-digits at P = 4, as JSON.
fn digits_schedule() -> Value {
    let text =
        ok(&["compile", MODEL, "--hardware", HW, "-p", "4", "--method", "heuristic", "--format", "json"]);
    serde_json::from_str(&text).expect("schedule JSON")
}

fn write_json(dir: &std::path::Path, name: &str, v: &Value) -> String {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).expect("json")).expect("write");
    p.to_str().expect("utf-8").to_string()
}

const TRAIN_SMALL: [&str; 6] = ["--epochs", "1", "--train-limit", "32", "--test-limit", "32"];

fn train_with(schedule: &str, model: &str) -> Vec<String> {
    let mut a: Vec<String> = ["train", model, "--schedule", schedule].iter().map(|s| s.to_string()).collect();
    a.extend(TRAIN_SMALL.iter().map(|s| s.to_string()));
    a
}

fn refused_owned(args: &[String], tmp: &std::path::Path) -> String {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    refused(&refs, Some(tmp))
}

#[test]
fn train_verifies_its_schedule_like_simulate() {
    let d = scratch("edges-train-verify");
    let good = digits_schedule();

    let mut deleted = good.clone();
    let tasks = deleted["tasks"].as_array_mut().expect("tasks");
    let w1 = tasks.iter().position(|t| t["id"] == "W1").expect("W1");
    tasks.remove(w1);
    let path = write_json(&d, "deleted.json", &deleted);
    let err = refused_owned(&train_with(&path, MODEL), &d);
    assert!(err.contains("unknown task W1"), "{err}");
    insta::assert_snapshot!("train_schedule_task_deleted", err);
    let sim = refused(&["simulate", &path], Some(&d));
    assert_eq!(sim, err, "train and simulate reject the file alike");

    let mut stale = good.clone();
    let s1 = stale["staleness"][0]["forward"].as_u64().expect("s1");
    stale["staleness"][0]["forward"] = Value::from(s1 + 1);
    let path = write_json(&d, "stale.json", &stale);
    let err = refused_owned(&train_with(&path, MODEL), &d);
    assert!(err.contains("layer 1: staleness in the file"), "{err}");
    assert!(!err.contains("None") && !err.contains("input_grad"), "speaks the file's words: {err}");
    insta::assert_snapshot!("train_schedule_staleness_edited", err);

    // The untouched file trains.
    let path = write_json(&d, "good.json", &good);
    let args = train_with(&path, MODEL);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(ok(&refs).contains("final test accuracy"));
}

#[test]
fn train_rejects_a_schedule_of_another_model() {
    let d = scratch("edges-train-model");
    let path = write_json(&d, "digits.json", &digits_schedule());
    // Another model with the same number of weight layers (2) and another name.
    let yaml = std::fs::read_to_string(common::root().join(MODEL)).expect("model");
    let other = d.join("other.yaml");
    std::fs::write(&other, yaml.replace("name: mlp-digits", "name: mlp-other")).expect("write");
    let err = refused_owned(&train_with(&path, other.to_str().expect("utf-8")), &d);
    assert!(err.contains("compiled for model `mlp-digits`"), "{err}");
    insta::assert_snapshot!("train_schedule_other_model", err);
    // The same name, but an edited spec: the spec hash differs.
    let edited = d.join("edited.yaml");
    std::fs::write(&edited, yaml.replace("out: 128", "out: 96")).expect("write");
    let err = refused_owned(&train_with(&path, edited.to_str().expect("utf-8")), &d);
    assert!(err.contains("spec_hash"), "{err}");
}

#[test]
fn edited_chunk_cycles_are_caught() {
    let d = scratch("edges-cycles");
    let mut s = digits_schedule();
    // Shorten a chunk: nothing else in the file contradicts it, only its cost does.
    let c = s["tasks"][0]["chunks"][0]["cycles"].as_u64().expect("cycles");
    s["tasks"][0]["chunks"][0]["cycles"] = Value::from(c - 1);
    let path = write_json(&d, "cycles.json", &s);
    let err = refused(&["simulate", &path], Some(&d));
    assert!(err.contains("F1[0]: cycles is"), "names the chunk: {err}");
    insta::assert_snapshot!("chunk_cycles_edited", err);
    let err = refused_owned(&train_with(&path, MODEL), &d);
    assert!(err.contains("F1[0]: cycles is"), "{err}");
}

#[test]
fn zero_epochs_or_samples_are_rejected() {
    let err = refused(&["train", MODEL, "--epochs", "0"], None);
    insta::assert_snapshot!("train_zero_epochs", err);
    let err = refused(&["train", MODEL, "--train-limit", "0"], None);
    assert!(err.contains("--train-limit"), "{err}");
    let err = refused(&["train", MODEL, "--test-limit", "0"], None);
    assert!(err.contains("--test-limit"), "{err}");
    let err = refused(&["report", "--train", "--epochs", "0"], None);
    assert!(err.contains("--epochs"), "{err}");
    let d = scratch("edges-epochs");
    let yaml = std::fs::read_to_string(common::root().join(MODEL)).expect("model");
    let m = d.join("zero.yaml");
    std::fs::write(&m, yaml.replace("epochs: 30", "epochs: 0")).expect("write");
    let err = refused(&["train", m.to_str().expect("utf-8")], Some(&d));
    assert!(
        err.contains("training.epochs") && err.contains("at least 1"),
        "the spec check names the field: {err}"
    );
}

#[test]
fn unreadable_and_unwritable_paths_exit_2_before_any_work() {
    let d = scratch("edges-io");
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "io_load_missing",
            vec!["train".into(), MODEL.into(), "--load".into(), "/nonexistent/ck.bin".into()],
        ),
        (
            "io_save_missing_dir",
            vec!["train".into(), MODEL.into(), "--save".into(), "/nonexistent/ck.bin".into()],
        ),
        // ilp with a long limit: only an up-front check returns at once.
        (
            "io_output_missing_dir",
            [
                "compile",
                "models/vgg16-cifar100.yaml",
                "--hardware",
                HW,
                "-p",
                "16",
                "--time-limit",
                "600",
                "-o",
                "/nonexistent/x.json",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ),
        (
            "io_output_is_dir",
            vec!["compile".into(), MODEL.into(), "--hardware".into(), HW.into(), "-o".into(), "tests".into()],
        ),
        ("io_report_out_is_file", vec!["report".into(), "--out".into(), "README.md".into()]),
        ("io_model_missing", vec!["tasks".into(), "models/nope.yaml".into(), "--hardware".into(), HW.into()]),
    ];
    for (name, args) in cases {
        let err = refused_owned(&args, &d);
        insta::assert_snapshot!(name, err);
    }
    // --gantt into a missing directory: checked before simulating.
    let path = write_json(&d, "s.json", &digits_schedule());
    let err = refused(&["simulate", &path, "--gantt", "/nonexistent/g.svg"], Some(&d));
    insta::assert_snapshot!("io_gantt_missing_dir", err);
    // A data set that is not there is the user's input too.
    let err = refused(&["train", MODEL, "--dataset", "idx:/nonexistent"], None);
    assert!(err.contains("/nonexistent"), "{err}");
}

#[test]
fn compare_table_is_compact_and_wide_has_every_column() {
    let args = ["compare", MODEL, "--hardware", HW, "-p", "2,4", "--methods", "heuristic,pipedream,gpipe"];
    let out = ok(&args);
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 100, "default table fits 100 columns ({widest}):\n{out}");
    assert!(out.lines().next().is_some_and(|h| h.contains("comm %") && h.contains("period II")), "{out}");
    let mut wide_args = args.to_vec();
    wide_args.push("--wide");
    let wide = ok(&wide_args);
    for col in ["LB", "mean s", "bytes between procs", "solver s"] {
        assert!(wide.lines().next().is_some_and(|h| h.contains(col)), "--wide has {col}:\n{wide}");
    }
    // comm % in the table is the JSON fraction × 100.
    let json: Value = serde_json::from_str(&ok(&[
        "compare",
        MODEL,
        "--hardware",
        HW,
        "-p",
        "2",
        "--methods",
        "pipedream",
        "--format",
        "json",
    ]))
    .expect("json");
    let pct = format!("{:.1}", 100.0 * json[0]["comm_overhead"].as_f64().expect("fraction"));
    let table = ok(&["compare", MODEL, "--hardware", HW, "-p", "2", "--methods", "pipedream"]);
    assert!(table.lines().nth(1).is_some_and(|l| l.split_whitespace().any(|c| c == pct)), "{pct}:\n{table}");
}

#[test]
fn compile_summary_stays_readable_at_256_processors() {
    let out = ok(&["compile", MODEL, "--hardware", HW, "-p", "256", "--method", "layerwise"]);
    let widest = out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 160, "no line of 256 utilisations ({widest} chars)");
    // A processor with many chunks lists the first ones and counts the rest.
    let vgg =
        ok(&["compile", "models/vgg11-cifar10.yaml", "--hardware", HW, "-p", "16", "--method", "pipedream"]);
    let widest = vgg.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    assert!(widest <= 160, "chunk lists are cut ({widest} chars):\n{vgg}");
    assert!(out.contains("per processor 0–100 %"), "{out}");
    assert!(out.contains(" ms at 500 MHz") || out.contains(" µs at 500 MHz"), "period in a time unit: {out}");
}

#[test]
fn progress_stays_out_of_pipes() {
    // stderr is a pipe here: no progress line, so logs stay clean.
    let o = spikepipe(&["compile", MODEL, "--hardware", HW, "-p", "2", "--method", "heuristic"]);
    assert!(o.status.success());
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn progress_shows_on_a_terminal() {
    // util-linux `script` gives the command a terminal; without it there is nothing to test.
    if std::process::Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` to provide a terminal");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_spikepipe");
    let cmd = format!(
        "{bin} compile models/mlp-fmnist.yaml --hardware {HW} -p 4 --method ilp --time-limit 1 > /dev/null"
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(common::root())
        .output()
        .expect("runs script");
    assert!(o.status.success(), "{}", stderr(&o));
    let seen = String::from_utf8_lossy(&o.stdout);
    assert!(seen.contains("compiling mlp-fmnist with ilp on 4 processors"), "a progress line: {seen:?}");
}
