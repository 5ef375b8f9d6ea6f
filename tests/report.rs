//! `spikepipe report` end to end on two models, P = 2 and 4, one hardware file: every
//! file is written, the CSV parses, and its numbers are exactly those `spikepipe compile
//! --format json` and `spikepipe simulate --format json` give for the same inputs.
//!
//! The ILP has a wall-clock time limit, so two runs can stop at different incumbents
//! when the limit is hit. For `ilp` rows the test therefore compiles again with the same
//! limit and compares the period only when both runs proved optimality (the optimal
//! period is unique); otherwise it checks `LB ≤ ilp period ≤ heuristic period` (the ILP
//! is seeded with, and falls back to, the heuristic's schedule). Every other method is
//! deterministic and compared field by field, including the simulation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spikepipe_ir::Schedule;

const TIME_LIMIT: &str = "1";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spikepipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepipe"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("runs the spikepipe binary")
}

fn ok(o: Output, what: &str) -> String {
    assert!(o.status.success(), "{what} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikepipe-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn run_report(out: &Path, models: &str, procs: &str) -> String {
    run_report_limit(out, models, procs, TIME_LIMIT)
}

/// [`run_report`] with another ILP time limit per phase.
fn run_report_limit(out: &Path, models: &str, procs: &str, limit: &str) -> String {
    let out = out.to_string_lossy();
    ok(
        spikepipe(&[
            "report",
            "--models",
            models,
            "--hardware",
            "models/hw/sa32-ws.yaml",
            "--processors",
            procs,
            "--time-limit",
            limit,
            "--reproducible",
            "--quiet",
            "--out",
            &out,
        ]),
        "spikepipe report",
    )
}

/// Parses report.csv into maps from column name to cell.
fn parse_csv(text: &str) -> Vec<HashMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            assert_eq!(cells.len(), header.len(), "row has {} cells: {l}", cells.len());
            header.iter().zip(cells).map(|(h, c)| (h.to_string(), c.to_string())).collect()
        })
        .collect()
}

fn f(row: &HashMap<String, String>, k: &str) -> f64 {
    row[k].parse().unwrap_or_else(|_| panic!("{k} = {:?} is not a number", row[k]))
}

fn u(row: &HashMap<String, String>, k: &str) -> u64 {
    row[k].parse().unwrap_or_else(|_| panic!("{k} = {:?} is not an integer", row[k]))
}

#[test]
fn report_matches_compile_and_simulate() {
    let dir = scratch("match");
    let stdout = run_report(&dir, "models/{mlp-digits,cnn-fmnist}.yaml", "2,4");
    assert!(stdout.contains("ilp over pipedream"), "{stdout}");

    for f in [
        "report.md",
        "report.csv",
        "speedup-mlp-digits-sa32-ws.svg",
        "speedup-cnn-fmnist-sa32-ws.svg",
        "gantt-mlp-digits.svg",
        "gantt-cnn-fmnist.svg",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        if f.ends_with(".svg") {
            assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{f} is not an SVG");
            assert_eq!(text.matches("<svg").count(), text.matches("</svg>").count(), "{f}: unbalanced <svg>");
        }
    }
    let gantt = std::fs::read_to_string(dir.join("gantt-mlp-digits.svg")).expect("gantt");
    assert!(gantt.contains("ilp on 4 processors") && gantt.contains("pipedream on 4 processors"));
    let md = std::fs::read_to_string(dir.join("report.md")).expect("md");
    assert!(md.contains("## Summary") && md.contains("### `cnn-fmnist` on `sa32-ws`"), "{md}");

    let rows = parse_csv(&std::fs::read_to_string(dir.join("report.csv")).expect("csv"));
    let methods = spikepipe_compiler::Method::ALL.len();
    assert_eq!(rows.len(), 2 * 2 * methods, "2 models × 2 P × every method");

    let sched_dir = scratch("match-schedules");
    for r in &rows {
        let model = match r["model"].as_str() {
            "mlp-digits" => "models/mlp-digits.yaml",
            "cnn-fmnist" => "models/cnn-fmnist.yaml",
            other => panic!("unexpected model {other}"),
        };
        let (method, p) = (r["method"].as_str(), r["processors"].as_str());
        let what = format!("{model} {method} P={p}");
        assert_eq!(r["hardware"], "sa32-ws");
        assert_eq!(r["solve_seconds"], "0", "{what}: --reproducible records 0 s");
        assert_eq!(r["sim_achieved_period_cycles"], r["period_cycles"], "{what}: simulated period");
        assert_eq!(f(r, "sim_period_ratio"), 1.0, "{what}");
        let pipedream = rows
            .iter()
            .find(|q| {
                q["model"] == r["model"] && q["processors"] == r["processors"] && q["method"] == "pipedream"
            })
            .expect("pipedream row");
        let expect =
            ((u(pipedream, "period_cycles") as f64 / u(r, "period_cycles") as f64) * 1e6).round() / 1e6;
        assert_eq!(f(r, "speedup_vs_pipedream"), expect, "{what}");

        let path = sched_dir.join(format!("{}-{method}-{p}.json", r["model"]));
        let path_s = path.to_string_lossy().into_owned();
        let json = ok(
            spikepipe(&[
                "compile",
                model,
                "--hardware",
                "models/hw/sa32-ws.yaml",
                "-p",
                p,
                "--method",
                method,
                "--time-limit",
                TIME_LIMIT,
                // The report shows each method's fastest schedule.
                "--staleness-cost",
                "none",
                "--reproducible",
                "--format",
                "json",
                "-o",
                &path_s,
            ]),
            &what,
        );
        let s = Schedule::from_json(&json).expect("schedule JSON");
        if method == "ilp" {
            let heuristic = rows
                .iter()
                .find(|q| {
                    q["model"] == r["model"]
                        && q["processors"] == r["processors"]
                        && q["method"] == "heuristic"
                })
                .expect("heuristic row");
            assert!(
                u(r, "period_cycles") <= u(heuristic, "period_cycles"),
                "{what}: ilp slower than heuristic"
            );
            assert!(u(r, "period_cycles") >= u(r, "lower_bound_cycles"), "{what}: below the lower bound");
            assert_eq!(u(r, "lower_bound_cycles"), s.lower_bound_cycles, "{what}");
            if r["status"] == "optimal" && s.solver.status.name() == "optimal" {
                assert_eq!(u(r, "period_cycles"), s.period_cycles, "{what}: two optimal periods differ");
            }
            continue;
        }
        assert_eq!(u(r, "period_cycles"), s.period_cycles, "{what}");
        assert_eq!(u(r, "lower_bound_cycles"), s.lower_bound_cycles, "{what}");
        assert_eq!(f(r, "utilization"), s.metrics.utilization, "{what}");
        assert_eq!(u(r, "bytes_between_processors"), s.metrics.bytes_between_processors, "{what}");
        assert_eq!(u(r, "bytes_total"), s.metrics.bytes_total, "{what}");
        assert_eq!(f(r, "comm_overhead"), s.metrics.comm_overhead, "{what}");
        assert_eq!(u(r, "max_staleness"), s.max_staleness(), "{what}");
        assert_eq!(r["status"], s.solver.status.name(), "{what}");

        let sim = ok(
            spikepipe(&["simulate", &path_s, "--iterations", &r["sim_iterations"], "--format", "json"]),
            &format!("simulate {what}"),
        );
        let v: serde_json::Value = serde_json::from_str(&sim).expect("simulate JSON");
        assert_eq!(v["achieved_period_cycles"].as_f64(), Some(f(r, "sim_achieved_period_cycles")), "{what}");
        assert_eq!(v["period_ratio"].as_f64(), Some(f(r, "sim_period_ratio")), "{what}");
        assert_eq!(v["max_in_flight"].as_u64(), Some(u(r, "sim_max_in_flight")), "{what}");
        assert_eq!(v["mean_busy_percent"].as_f64(), Some(f(r, "sim_mean_busy_percent")), "{what}");
        assert_eq!(v["steady_state_reached"].as_bool(), Some(r["sim_steady_state"] == "true"), "{what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&sched_dir);
}

#[test]
fn reproducible_report_is_byte_identical() {
    // mlp-digits at P = 2: the ILP proves optimality in well under a second on an idle
    // machine; the generous limit keeps a loaded one (tests run side by side, on a shared
    // 2-core machine) from stopping it early with a different incumbent.
    let (a, b) = (scratch("repro-a"), scratch("repro-b"));
    run_report_limit(&a, "models/mlp-digits.yaml", "2", "60");
    run_report_limit(&b, "models/mlp-digits.yaml", "2", "60");
    for f in ["report.csv", "speedup-mlp-digits-sa32-ws.svg", "gantt-mlp-digits.svg"] {
        let (x, y) = (std::fs::read(a.join(f)).expect("a"), std::fs::read(b.join(f)).expect("b"));
        assert!(x == y, "{f} differs between two --reproducible runs");
    }
    // report.md names the --out directory in its command line; the rest must match.
    let strip = |d: &Path| {
        std::fs::read_to_string(d.join("report.md")).expect("md").replace(&*d.to_string_lossy(), "OUT")
    };
    assert_eq!(strip(&a), strip(&b));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}

#[test]
fn bad_models_pattern_exits_2() {
    let o =
        spikepipe(&["report", "--models", "models/no-such-*.yaml", "--quiet", "--out", "/nonexistent-dir"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("matches no file"));
}

/// The axis tick labels of each chart nested in a side-by-side SVG.
fn axis_ticks_per_part(svg: &str) -> Vec<Vec<String>> {
    svg.split("<svg x=")
        .skip(1)
        .map(|part| {
            part.split(r#"text-anchor="middle" font-size="11">"#)
                .skip(1)
                .filter_map(|t| t.split("</text>").next())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn side_by_side_gantt_charts_share_one_time_axis_and_counts_read_well() {
    let dir = scratch("gantt-axis");
    let stdout = run_report(&dir, "models/mlp-digits.yaml", "4");
    assert!(
        stdout.contains("1 speedup plot, 1 Gantt chart in")
            || stdout.contains("1 speedup plot, 1 Gantt chart\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("1 Gantt charts"), "{stdout}");
    let svg = std::fs::read_to_string(dir.join("gantt-mlp-digits.svg")).expect("gantt");
    let parts = axis_ticks_per_part(&svg);
    assert_eq!(parts.len(), 2, "ilp and pipedream");
    assert!(parts[0].len() >= 3, "{:?}", parts[0]);
    assert_eq!(parts[0], parts[1], "both charts have the same time axis");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `report --train` on mlp-digits, one hardware, P = 2, 3 epochs: the time-to-accuracy
/// table (terminal and report.md), tta.csv (one row per method, numbers consistent with
/// docs/time-to-accuracy.md's definitions), the plot (one polyline per method, the target
/// dashed), and two `--reproducible` runs giving the same files.
#[test]
fn report_train_shows_time_to_accuracy() {
    const METHODS: [&str; 5] = ["ilp", "heuristic", "data-parallel", "pipedream", "gpipe"];
    let run = |dir: &Path| {
        let out = dir.to_string_lossy();
        ok(
            spikepipe(&[
                "report",
                "--train",
                "--models",
                "models/mlp-digits.yaml",
                "--hardware",
                "models/hw/sa32-ws.yaml",
                "-p",
                "2",
                "--epochs",
                "3",
                // mlp-digits at P = 2 is proved optimal in well under a second; the
                // generous limit keeps a loaded machine from stopping at another incumbent.
                "--time-limit",
                "60",
                "--reproducible",
                "--quiet",
                "--out",
                &out,
            ]),
            "spikepipe report --train",
        )
    };
    let (a, b) = (scratch("tta-a"), scratch("tta-b"));
    let stdout = run(&a);
    run(&b);

    // tta.csv: one row per method, in --train-methods order.
    let rows = parse_csv(&std::fs::read_to_string(a.join("tta.csv")).expect("tta.csv"));
    let methods: Vec<&str> = rows.iter().map(|r| r["method"].as_str()).collect();
    assert_eq!(methods, METHODS, "one row per default --train-methods method");
    let report = parse_csv(&std::fs::read_to_string(a.join("report.csv")).expect("report.csv"));
    let no_delay = f(&rows[0], "no_delay_accuracy");
    for r in &rows {
        let what = &r["method"];
        assert_eq!(
            (r["model"].as_str(), r["hardware"].as_str(), u(r, "processors")),
            ("mlp-digits", "sa32-ws", 2)
        );
        let sched =
            report.iter().find(|q| q["method"] == *what && q["processors"] == "2").expect("report row");
        assert_eq!(r["period_cycles"], sched["period_cycles"], "{what}: the report's schedule");
        assert_eq!(r["max_staleness"], sched["max_staleness"], "{what}");
        assert_eq!(
            r["standard"],
            if ["data-parallel", "pipedream", "gpipe"].contains(&what.as_str()) { "true" } else { "false" }
        );
        assert_eq!(f(r, "no_delay_accuracy"), no_delay);
        assert_eq!(f(r, "target"), no_delay - 0.005, "{what}: target = no-delay final − 0.005");
        assert!(u(r, "fill_cycles") >= u(r, "period_cycles"), "{what}: fill is at least one period");
        match r["reached"].as_str() {
            "true" => {
                let k = u(r, "iterations");
                let expect = (u(r, "fill_cycles") as f64 + (k - 1) as f64 * u(r, "period_cycles") as f64)
                    / (f(r, "clock_mhz") * 1e6);
                assert!((f(r, "seconds") - expect).abs() <= 1e-12 * expect, "{what}: T(k)");
            }
            "false" => assert!(r["iterations"].is_empty() && r["seconds"].is_empty(), "{what}"),
            other => panic!("{what}: reached = {other}"),
        }
    }
    // Staleness-0 schedules train as the no-delay run itself.
    for m in ["data-parallel", "gpipe"] {
        let r = rows.iter().find(|r| r["method"] == m).expect("row");
        assert_eq!(f(r, "final_accuracy"), no_delay, "{m} is the no-delay run");
        assert_eq!(r["iterations"], rows[2]["iterations"], "{m}");
    }
    // Best standard = the standard method fastest to the target; ratio = its seconds ÷ the row's.
    let best = rows
        .iter()
        .filter(|r| r["standard"] == "true" && r["reached"] == "true")
        .min_by(|x, y| f(x, "seconds").total_cmp(&f(y, "seconds")));
    for r in &rows {
        match (best, r["reached"].as_str()) {
            (Some(b), "true") => {
                assert_eq!(r["best_standard"], b["method"]);
                assert_eq!(
                    f(r, "ratio_vs_best_standard"),
                    f(b, "seconds") / f(r, "seconds"),
                    "{}",
                    r["method"]
                );
            }
            _ => assert!(r["ratio_vs_best_standard"].is_empty(), "{}", r["method"]),
        }
    }
    assert!(best.is_some(), "data-parallel (the no-delay run) reaches no-delay final − 0.005");

    // The terminal table and report.md's.
    assert!(stdout.contains("time to accuracy (simulated"), "{stdout}");
    for col in ["method", "period", "max stale", "iterations", "simulated time", "best std ÷ this"] {
        assert!(stdout.contains(col), "terminal table lacks {col}: {stdout}");
    }
    let md = std::fs::read_to_string(a.join("report.md")).expect("report.md");
    let section = md.split("## Time to accuracy").nth(1).expect("report.md has a time-to-accuracy section");
    assert!(section.contains("### `mlp-digits` on `sa32-ws`, P = 2"), "{section}");
    assert!(section.contains(
        "| method | period (cycles) | max staleness | final acc | iterations to target | simulated time | best std ÷ this |"
    ));
    for r in &rows {
        let line = section
            .lines()
            .find(|l| l.starts_with(&format!("| {} | {} |", r["method"], r["period_cycles"])))
            .unwrap_or_else(|| panic!("no table row for {}: {section}", r["method"]));
        assert_eq!(line.matches(" | ").count(), 6, "{line}");
        let cell_k = if r["reached"] == "true" { r["iterations"].clone() } else { "not reached".into() };
        assert!(line.contains(&format!(" | {cell_k} | ")), "{line}");
        let ratio = r["ratio_vs_best_standard"].parse::<f64>().map_or("—".into(), |x| format!("{x:.3}×"));
        assert!(line.ends_with(&format!("| {ratio} |")), "{line}");
    }
    let plot = "tta-mlp-digits-sa32-ws-p2.svg";
    assert!(section.contains(&format!("]({plot})")), "report.md links the plot");
    assert!(section.contains("[tta.csv](tta.csv)"));

    // The plot: one polyline per method, the target as one dashed line, a legend entry each.
    let svg = std::fs::read_to_string(a.join(plot)).expect("plot");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), METHODS.len(), "one polyline per method");
    for m in METHODS {
        assert!(svg.contains(&format!("<title>{m} (s = ")), "{m} line");
    }
    assert_eq!(svg.matches(r#"class="hline""#).count(), 1, "the target line");
    assert!(svg.contains(&format!("target {:.4}", no_delay - 0.005)));
    assert_eq!(svg.matches(r#"class="legend""#).count(), METHODS.len() + 1);

    for f in ["tta.csv", plot, "report.csv"] {
        assert!(
            std::fs::read(a.join(f)).ok() == std::fs::read(b.join(f)).ok(),
            "{f} differs between two runs"
        );
    }
    let strip = |d: &Path| {
        std::fs::read_to_string(d.join("report.md")).expect("md").replace(&*d.to_string_lossy(), "OUT")
    };
    assert_eq!(strip(&a), strip(&b));
    let _ = std::fs::remove_dir_all(&a);
    let _ = std::fs::remove_dir_all(&b);
}
