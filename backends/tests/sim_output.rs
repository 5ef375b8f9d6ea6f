//! Chrome trace and SVG Gantt output.

use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
use spikepipe_backends::sim::{gantt, simulate, LinkModel, SimConfig};

fn run(iterations: u32, links: LinkModel) -> (spikepipe_ir::Schedule, spikepipe_backends::sim::SimReport) {
    let s = pipeline_schedule(&SyntheticSpec {
        layers: 3,
        processors: 3,
        split: 2,
        spread: true,
        ..Default::default()
    });
    let r = simulate(&s, &SimConfig { iterations, links, record_trace: true }).expect("simulates");
    (s, r)
}

fn chunk_count(s: &spikepipe_ir::Schedule) -> usize {
    s.tasks.iter().map(|t| t.chunks.len()).sum()
}

#[test]
fn trace_has_one_complete_event_per_chunk_instance() {
    let (s, r) = run(7, LinkModel::Dedicated);
    let trace = r.trace.as_ref().expect("recorded");
    let text = trace.to_chrome_json(&s);
    let v: serde_json::Value = serde_json::from_str(&text).expect("trace JSON parses");
    let events = v["traceEvents"].as_array().expect("traceEvents array");
    let p = s.processors() as u64;
    let on_procs =
        events.iter().filter(|e| e["ph"] == "X" && e["tid"].as_u64().is_some_and(|t| t < p)).count();
    assert_eq!(on_procs, chunk_count(&s) * 7);
    let on_links =
        events.iter().filter(|e| e["ph"] == "X" && e["tid"].as_u64().is_some_and(|t| t >= p)).count();
    assert_eq!(on_links as u64, r.transfer_instances);
    let names = events.iter().filter(|e| e["ph"] == "M" && e["name"] == "thread_name").count();
    assert_eq!(names, p as usize + r.link_usage.len());
    // Names carry the task, chunk and iteration; times are µs at the clock.
    let first = events.iter().find(|e| e["ph"] == "X" && e["name"] == "F1[0] it3").expect("F1[0] it3");
    let start = first["args"]["start_cycle"].as_u64().expect("start_cycle");
    let ts = first["ts"].as_f64().expect("ts");
    assert!((ts - start as f64 / s.hardware.clock_mhz).abs() < 1e-9);
    // Deterministic.
    let (s2, r2) = run(7, LinkModel::Dedicated);
    assert_eq!(r2.trace.as_ref().expect("recorded").to_chrome_json(&s2), text);
}

#[test]
fn gantt_has_a_legend_and_one_rect_per_drawn_chunk_instance() {
    let (s, r) = run(10, LinkModel::Shared);
    let trace = r.trace.as_ref().expect("recorded");
    let svg = gantt::render_svg(&s, trace, 3);
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("class=\"legend\"").count(), 7, "six task kinds and transfers");
    for label in ["F forward GEMM", "U update", "transfer"] {
        assert!(svg.contains(label), "legend lacks {label}");
    }
    assert_eq!(svg.matches("class=\"chunk\"").count(), chunk_count(&s) * 3);
    let drawn_transfers = trace.transfers.iter().filter(|t| t.iteration < 3).count();
    assert_eq!(svg.matches("class=\"transfer\"").count(), drawn_transfers);
    assert!(svg.contains("time (cycles)"));
    assert!(gantt::render_report_svg(&s, &r, 3).is_some());
}
