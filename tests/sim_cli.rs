//! `spikepipe simulate` end to end: outputs, determinism, and exit status 2 with a
//! message naming the problem for bad schedule files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
use spikepipe_ir::Schedule;

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikepipe-sim-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn spikepipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepipe")).args(args).output().expect("runs spikepipe")
}

fn schedule() -> Schedule {
    pipeline_schedule(&SyntheticSpec {
        layers: 3,
        processors: 3,
        split: 2,
        spread: true,
        ..Default::default()
    })
}

fn write(d: &Path, name: &str, text: &str) -> String {
    let p = d.join(name);
    std::fs::write(&p, text).expect("write");
    p.to_string_lossy().into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn simulate_writes_report_trace_and_gantt() {
    let d = dir();
    let s = schedule();
    let path = write(&d, "ok.json", &s.to_json());
    let trace = d.join("t.json").to_string_lossy().into_owned();
    let svg = d.join("g.svg").to_string_lossy().into_owned();
    let o = spikepipe(&[
        "simulate",
        &path,
        "--iterations",
        "8",
        "--format",
        "json",
        "--trace",
        &trace,
        "--gantt",
        &svg,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    assert_eq!(v["iterations"], 8);
    assert_eq!(v["achieved_period_cycles"].as_f64(), Some(s.period_cycles as f64));
    let t: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("trace written")).expect("trace parses");
    assert!(t["traceEvents"].as_array().is_some_and(|e| !e.is_empty()));
    assert!(std::fs::read_to_string(&svg).expect("svg written").contains("class=\"legend\""));
    let again = spikepipe(&["simulate", &path, "--iterations", "8", "--format", "json"]);
    assert_eq!(again.stdout, o.stdout, "same input, same report");
    let table = spikepipe(&["simulate", &path, "--links", "shared"]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(String::from_utf8_lossy(&table.stdout).contains("shared links"));
}

/// A trace of a million iterations would take gigabytes: refused before simulating,
/// with the largest count that is allowed.
#[test]
fn a_trace_too_long_to_hold_is_refused_with_the_count_that_fits() {
    let d = dir();
    let s = schedule();
    let chunks: u64 = s.tasks.iter().map(|t| t.chunks.len() as u64).sum();
    let path = write(&d, "long.json", &s.to_json());
    let trace = d.join("long-trace.json").to_string_lossy().into_owned();
    let o = spikepipe(&["simulate", &path, "--iterations", "1000000", "--trace", &trace]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let most = 1_000_000 / chunks;
    assert!(stderr(&o).contains(&format!("--iterations {most} or fewer")), "{}", stderr(&o));
    assert!(!Path::new(&trace).exists(), "nothing written");
}

fn assert_bad(path: &str, needles: &[&str]) {
    let o = spikepipe(&["simulate", path]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

#[test]
fn bad_schedule_files_exit_2_naming_the_problem() {
    let d = dir();
    let text = schedule().to_json();
    assert_bad(&write(&d, "half.json", &text[..text.len() / 2]), &["not valid JSON", "EOF"]);
    assert_bad(&d.join("missing.json").to_string_lossy(), &["cannot read schedule"]);
    assert_bad(&write(&d, "other.json", r#"{"format": "something/9"}"#), &["unsupported schedule format"]);
    // A file of the first format (its transfers were counted without shared blocks).
    let old = text.replace("spikepipe-schedule/2", "spikepipe-schedule/1");
    assert_bad(&write(&d, "format1.json", &old), &["spikepipe-schedule/1 file", "Compile the model again"]);

    let mut s = schedule();
    let i = s.tasks.iter().position(|t| t.id == "S2").expect("S2");
    s.tasks[i].chunks[0].start = 0;
    assert_bad(&write(&d, "dep.json", &s.to_json()), &["dependence", "S2[0]"]);

    let mut s = schedule();
    let i = s.tasks.iter().position(|t| t.id == "U1").expect("U1");
    s.tasks[i].chunks[0].processor = 9;
    assert_bad(&write(&d, "proc.json", &s.to_json()), &["processor 9 out of range", "U1[0]"]);

    let mut s = schedule();
    let i = s.tasks.iter().position(|t| t.id == "W3").expect("W3");
    s.tasks[i].chunks.clear();
    assert_bad(&write(&d, "nochunk.json", &s.to_json()), &["W3", "no chunks"]);

    let mut s = schedule();
    let f = s.task("F1").expect("F1").chunks[0].clone();
    let i = s.tasks.iter().position(|t| t.id == "S1").expect("S1");
    s.tasks[i].chunks[0].processor = f.processor;
    s.tasks[i].chunks[0].start = f.start + s.period_cycles;
    assert_bad(&write(&d, "overlap.json", &s.to_json()), &["overlap", "S1[0]"]);

    let o = spikepipe(&["simulate", &write(&d, "ok2.json", &text), "--iterations", "0"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn simulate_reports_peak_memory_and_a_memory_counter_track() {
    let d = dir();
    let s = schedule();
    let path = write(&d, "mem.json", &s.to_json());
    let trace = d.join("mem-trace.json").to_string_lossy().into_owned();
    let n = (2 * spikepipe_ir::memory_span_periods(&s) + 2).to_string();
    let o = spikepipe(&["simulate", &path, "--iterations", &n, "--format", "json", "--trace", &trace]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON report");
    let peak: Vec<u64> =
        v["peak_memory_bytes"].as_array().expect("array").iter().map(|x| x.as_u64().unwrap()).collect();
    assert_eq!(peak.len(), s.processors() as usize);
    assert_eq!(peak, spikepipe_ir::peak_memory_bytes(&s), "measured = predicted");
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let counters: Vec<&serde_json::Value> =
        t["traceEvents"].as_array().unwrap().iter().filter(|e| e["ph"] == "C").collect();
    assert!(!counters.is_empty(), "memory counter events");
    let max0 = counters
        .iter()
        .filter(|e| e["name"] == "memory p0")
        .map(|e| e["args"]["bytes"].as_u64().unwrap())
        .max();
    assert_eq!(max0, Some(peak[0]), "the p0 track peaks at p0's peak");
}

#[test]
fn gantt_at_16_processors_folds_links_and_labels_narrow_boxes() {
    let d = dir();
    let sched = d.join("p16.json").to_string_lossy().into_owned();
    let o = spikepipe(&[
        "compile",
        "models/mlp-fmnist.yaml",
        "--hardware",
        "models/hw/sa32-ws.yaml",
        "-p",
        "16",
        "--method",
        "heuristic",
        "-o",
        &sched,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg_path = d.join("p16.svg").to_string_lossy().into_owned();
    let o = spikepipe(&["simulate", &sched, "--gantt", &svg_path]);
    assert!(o.status.success(), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&svg_path).expect("svg");
    // Many busy links: one band, not a row each.
    assert!(svg.contains(" links</text>"), "a folded link band");
    assert!(!svg.contains(r#"font-size="10">p0→"#), "no per-link rows");
    let height: f64 = svg
        .split("height=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .and_then(|h| h.parse().ok())
        .expect("height");
    assert!(height < 1000.0, "16 processor rows and one link band fit ({height} px)");
    // Every chunk box at least 10 px wide carries a label.
    let wide_boxes = svg
        .split(r#"<rect class="chunk""#)
        .skip(1)
        .filter_map(|r| {
            r.split("width=\"").nth(1).and_then(|w| w.split('"').next()).and_then(|w| w.parse::<f64>().ok())
        })
        .filter(|&w| w >= 10.0)
        .count();
    let labels = svg.matches(r##"fill="#ffffff" pointer-events="none""##).count();
    assert!(labels >= wide_boxes, "{labels} labels for {wide_boxes} boxes ≥ 10 px");
}
