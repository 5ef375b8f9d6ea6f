//! An SVG Gantt chart of a simulated run: one row per processor, the links below (a thin
//! row per link that carried data when there are few, else one band holding every
//! transfer, so 16 processors do not drown in 60 mostly empty link rows; then a memory
//! row: bytes live per processor as step lines), one rectangle
//! per chunk instance coloured by task kind and labelled as far as its width allows, a
//! legend, a time axis in cycles with labelled ticks, and dashed lines at multiples of the
//! scheduled period II. Charts meant to be compared take a common time span
//! ([`render_svg_span`]), so equal widths mean equal cycles.
//!
//! Chunk rectangles carry `class="chunk"`, transfer rectangles `class="transfer"`,
//! legend swatches `class="legend"`; each chunk/transfer rectangle has a `<title>`
//! tooltip. The chart is self-contained (no scripts, no external fonts), so two of them
//! can be placed side by side in an HTML report.

use std::fmt::Write as _;

use spikepipe_ir::{Schedule, TaskKind};

use super::trace::Trace;
use super::SimReport;
use crate::svg::{self, esc};

const WIDTH: f64 = 1400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 24.0;
const ROW_H: f64 = 34.0;
const LINK_H: f64 = 16.0;
const GAP: f64 = 6.0;
const TOP: f64 = 86.0;
/// Above this many busy links, transfers share one band instead of a row per link.
const MAX_LINK_ROWS: usize = 6;

const KINDS: [TaskKind; 7] = [
    TaskKind::Forward,
    TaskKind::Neuron,
    TaskKind::NeuronBackward,
    TaskKind::InputGrad,
    TaskKind::WeightGrad,
    TaskKind::Update,
    TaskKind::Recompute,
];

/// Fill colour of a task kind.
pub fn kind_colour(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Forward => "#4e79a7",
        TaskKind::Neuron => "#59a14f",
        TaskKind::NeuronBackward => "#f28e2b",
        TaskKind::InputGrad => "#e15759",
        TaskKind::WeightGrad => "#b07aa1",
        TaskKind::Update => "#9c755f",
        TaskKind::Recompute => "#76b7b2",
    }
}

const TRANSFER_COLOUR: &str = "#8c8c8c";

fn kind_label(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Forward => "F forward GEMM",
        TaskKind::Neuron => "S neuron",
        TaskKind::NeuronBackward => "E neuron backward",
        TaskKind::InputGrad => "G input gradient",
        TaskKind::WeightGrad => "W weight gradient",
        TaskKind::Update => "U update",
        TaskKind::Recompute => "R recompute",
    }
}

/// `12000` → `12k`, `1500000` → `1.5M` (exact multiples of 0.1k / 0.1M only).
fn fmt_cycles(c: u64) -> String {
    for (unit, suffix) in [(1_000_000u64, "M"), (1000, "k")] {
        let tenths = c / (unit / 10);
        if c >= unit && tenths * (unit / 10) == c {
            let s = format!("{}.{}", tenths / 10, tenths % 10);
            return format!("{}{suffix}", s.trim_end_matches(".0"));
        }
    }
    c.to_string()
}

/// A "nice" tick step (1, 2, 2.5 or 5 × 10^k cycles) giving about `target` ticks over `span`.
fn tick_step(span: u64, target: u64) -> u64 {
    (svg::nice_step(span as f64, target as f64).round() as u64).max(1)
}

/// The last cycle of the first `iterations` iterations of a recorded run: the time span
/// [`render_svg`] draws. Take the largest of several to draw them on one scale.
pub fn span(trace: &Trace, iterations: u32) -> u64 {
    let iters = iterations.max(1);
    let chunks = trace.chunks.iter().filter(|e| e.iteration < iters).map(|e| e.end);
    let transfers = trace.transfers.iter().filter(|e| e.iteration < iters).map(|e| e.end);
    chunks.chain(transfers).max().unwrap_or(1).max(1)
}

/// Renders the first `iterations` iterations of a recorded run (see module docs).
pub fn render_svg(schedule: &Schedule, trace: &Trace, iterations: u32) -> String {
    render_svg_span(schedule, trace, iterations, span(trace, iterations))
}

/// [`render_svg`] with a time axis from 0 to `t_end` cycles (at least the run's own span).
pub fn render_svg_span(schedule: &Schedule, trace: &Trace, iterations: u32, t_end: u64) -> String {
    let iters = iterations.max(1);
    let chunks: Vec<_> = trace.chunks.iter().filter(|e| e.iteration < iters).collect();
    let transfers: Vec<_> = trace.transfers.iter().filter(|e| e.iteration < iters).collect();
    let t_end = t_end.max(span(trace, iterations));
    let mut used_links: Vec<u32> = transfers.iter().map(|e| e.link).collect();
    used_links.sort_unstable();
    used_links.dedup();
    let folded = used_links.len() > MAX_LINK_ROWS;
    let procs = trace.processors as usize;
    let links_h = if folded { ROW_H + GAP } else { used_links.len() as f64 * (LINK_H + GAP) };
    let mem_h = if trace.memory.is_empty() { 0.0 } else { super::memory::TRACK_H + GAP };
    let rows_h = procs as f64 * (ROW_H + GAP) + links_h + mem_h;
    let axis_y = TOP + rows_h + 4.0;
    let height = axis_y + 46.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let x = |t: u64| LEFT + plot_w * t as f64 / t_end as f64;
    let link_row_y = |l: u32| {
        let k = if folded { 0 } else { used_links.iter().position(|&u| u == l).unwrap_or(0) };
        TOP + procs as f64 * (ROW_H + GAP) + k as f64 * (LINK_H + GAP)
    };
    let link_h = if folded { ROW_H } else { LINK_H };

    let mut o = String::with_capacity(4096 + 400 * (chunks.len() + transfers.len()));
    o.push_str(&svg::begin(WIDTH, height, 12.0));
    let _ = writeln!(
        o,
        r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{} — {} on {} processors, period II = {} cycles, iterations 0–{}</text>"#,
        esc(&schedule.model.name),
        esc(&schedule.method),
        trace.processors,
        trace.period_cycles,
        iters - 1
    );
    // Legend.
    let mut lx = LEFT;
    let ly = 40.0;
    // Recompute tasks exist only in schedules that use activation checkpointing.
    let shown =
        KINDS.into_iter().filter(|&k| k != TaskKind::Recompute || schedule.tasks.iter().any(|t| t.kind == k));
    for kind in shown {
        let _ = writeln!(
            o,
            r#"<rect class="legend" x="{lx}" y="{ly}" width="14" height="14" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            kind_colour(kind),
            lx + 19.0,
            ly + 11.5,
            kind_label(kind)
        );
        lx += 28.0 + 7.0 * kind_label(kind).len() as f64;
    }
    let _ = writeln!(
        o,
        r#"<rect class="legend" x="{lx}" y="{ly}" width="14" height="14" fill="{TRANSFER_COLOUR}"/><text x="{}" y="{}">{}</text>"#,
        lx + 19.0,
        ly + 11.5,
        if folded { "transfer (all links in one band)" } else { "transfer (one row per busy link)" }
    );
    let _ = writeln!(
        o,
        r##"<text x="{LEFT}" y="{}" font-size="11" fill="#555">labels: task[chunk] itN (iteration) · dashed lines: multiples of the period II · hover a box for its cycles</text>"##,
        ly + 32.0
    );
    // Row backgrounds and labels.
    for p in 0..procs {
        let y = TOP + p as f64 * (ROW_H + GAP);
        let _ = writeln!(
            o,
            r##"<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{ROW_H}" fill="#f3f3f3"/><text x="{}" y="{}" text-anchor="end" font-weight="bold">p{p}</text>"##,
            LEFT - 8.0,
            y + ROW_H / 2.0 + 4.0
        );
    }
    if folded {
        let y = link_row_y(0);
        let _ = writeln!(
            o,
            r##"<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{ROW_H}" fill="#f8f8f8"/><text x="{}" y="{}" text-anchor="end" font-size="10">{} links</text>"##,
            LEFT - 8.0,
            y + ROW_H / 2.0 + 3.5,
            used_links.len()
        );
    } else {
        for &l in &used_links {
            let y = link_row_y(l);
            let name = trace.links.get(l as usize).map_or("link", |s| s.as_str());
            let _ = writeln!(
                o,
                r##"<rect x="{LEFT}" y="{y}" width="{plot_w}" height="{LINK_H}" fill="#f8f8f8"/><text x="{}" y="{}" text-anchor="end" font-size="10">{}</text>"##,
                LEFT - 8.0,
                y + LINK_H / 2.0 + 3.5,
                esc(name)
            );
        }
    }
    // Period boundaries.
    if trace.period_cycles > 0 && t_end / trace.period_cycles <= 200 {
        let mut k = 1;
        while k * trace.period_cycles <= t_end {
            let xx = x(k * trace.period_cycles);
            let _ = writeln!(
                o,
                r##"<line x1="{xx:.2}" y1="{}" x2="{xx:.2}" y2="{axis_y}" stroke="#333" stroke-width="1" stroke-dasharray="4 3" opacity="0.55"/><text x="{xx:.2}" y="{}" text-anchor="middle" font-size="10" fill="#333">{k}·II</text>"##,
                TOP - 2.0,
                TOP - 5.0
            );
            k += 1;
        }
    }
    // Chunk instances.
    for e in &chunks {
        let t = &schedule.tasks[e.task as usize];
        let y = TOP + e.processor as f64 * (ROW_H + GAP) + 2.0;
        let (x0, x1) = (x(e.start), x(e.end));
        let w = (x1 - x0).max(0.5);
        let name = format!("{}[{}] it{}", t.id, e.chunk, e.iteration);
        let _ = writeln!(
            o,
            r##"<rect class="chunk" x="{x0:.2}" y="{y}" width="{w:.2}" height="{}" fill="{}" stroke="#ffffff" stroke-width="0.8"><title>{} on p{}: cycles {}–{} (slot {}, delay {})</title></rect>"##,
            ROW_H - 4.0,
            kind_colour(t.kind),
            esc(&name),
            e.processor,
            e.start,
            e.end,
            e.slot,
            e.start - e.slot
        );
        if let Some((text, size)) = label(t, e.chunk, e.iteration, w) {
            let _ = writeln!(
                o,
                r##"<text x="{:.2}" y="{}" text-anchor="middle" font-size="{size}" fill="#ffffff" pointer-events="none">{}</text>"##,
                x0 + w / 2.0,
                y + (ROW_H - 4.0) / 2.0 + size / 2.0 - 1.5,
                esc(&text)
            );
        }
    }
    // Transfer instances.
    for e in &transfers {
        let tr = &schedule.transfers[e.transfer as usize];
        let edge = &schedule.edges[tr.edge];
        let y = link_row_y(e.link) + 2.0;
        let (x0, x1) = (x(e.start), x(e.end));
        let w = (x1 - x0).max(0.5);
        let _ = writeln!(
            o,
            r##"<rect class="transfer" x="{x0:.2}" y="{y}" width="{w:.2}" height="{}" fill="{TRANSFER_COLOUR}"{} stroke="#ffffff" stroke-width="0.6"><title>{}[{}]→{} p{}→p{} it{}: {} bytes, cycles {}–{} (waited {})</title></rect>"##,
            link_h - 4.0,
            if folded { r#" fill-opacity="0.45""# } else { "" },
            esc(&edge.from),
            tr.from_chunk,
            esc(&edge.to),
            tr.src,
            tr.dst,
            e.iteration,
            tr.bytes,
            e.start,
            e.end,
            e.start - e.ready
        );
    }
    if !trace.memory.is_empty() {
        o.push_str(&super::memory::gantt_track(
            &trace.memory,
            trace.processors,
            t_end,
            TOP + procs as f64 * (ROW_H + GAP) + links_h,
            LEFT,
            plot_w,
            &x,
        ));
    }
    // Time axis.
    let _ = writeln!(
        o,
        r##"<line x1="{LEFT}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#000" stroke-width="1"/>"##,
        LEFT + plot_w
    );
    let step = tick_step(t_end, 10);
    let mut t = 0;
    while t <= t_end {
        let xx = x(t);
        let _ = writeln!(
            o,
            r##"<line x1="{xx:.2}" y1="{axis_y}" x2="{xx:.2}" y2="{}" stroke="#000"/><text x="{xx:.2}" y="{}" text-anchor="middle" font-size="11">{}</text>"##,
            axis_y + 5.0,
            axis_y + 18.0,
            fmt_cycles(t)
        );
        t += step;
    }
    let _ = writeln!(
        o,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="12">time (cycles)</text>"#,
        LEFT + plot_w / 2.0,
        axis_y + 36.0
    );
    o.push_str(svg::END);
    o
}

/// The longest label that fits a box `w` pixels wide, and its font size: `F1[2] it0`,
/// `F1[2]`, `F1`, then the same at a smaller size, then the kind letter alone.
fn label(t: &spikepipe_ir::ScheduledTask, chunk: u32, iteration: u32, w: f64) -> Option<(String, f64)> {
    let id = if t.chunks.len() > 1 { format!("{}[{chunk}]", t.id) } else { t.id.clone() };
    let letter: String = t.id.chars().take(1).collect();
    let fits = |l: &str, size: f64| w >= 0.62 * size * l.chars().count() as f64 + 3.0;
    let candidates = [
        (format!("{id} it{iteration}"), 11.0),
        (id.clone(), 11.0),
        (t.id.clone(), 11.0),
        (id, 8.5),
        (t.id.clone(), 8.5),
        (letter, 8.5),
    ];
    candidates.into_iter().find(|(l, size)| fits(l, *size))
}

/// [`render_svg`] of a report's recorded trace; `None` if the run was not recorded
/// (set [`super::SimConfig::record_trace`]).
pub fn render_report_svg(schedule: &Schedule, report: &SimReport, iterations: u32) -> Option<String> {
    report.trace.as_ref().map(|t| render_svg(schedule, t, iterations))
}

#[cfg(test)]
mod tests {
    use super::{fmt_cycles, tick_step};

    #[test]
    fn tick_labels_and_steps() {
        assert_eq!(fmt_cycles(0), "0");
        assert_eq!(fmt_cycles(950), "950");
        assert_eq!(fmt_cycles(5000), "5k");
        assert_eq!(fmt_cycles(12_500), "12.5k");
        assert_eq!(fmt_cycles(12_345), "12345");
        assert_eq!(fmt_cycles(1_500_000), "1.5M");
        assert_eq!(fmt_cycles(2_000_000), "2M");
        assert_eq!(tick_step(39_000, 10), 5000);
        assert_eq!(tick_step(70_000, 10), 10_000);
        assert_eq!(tick_step(7, 10), 1);
    }
}
