//! Rendering of the report: `report.md`, `report.csv`, the speedup plots and the text
//! printed at the end. Reads rows; computes nothing the experiment did not.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use spikepipe::experiment::{Accuracy, Row, Training, TtaRow};
use spikepipe_compiler::versus::VersusRow;
use spikepipe_compiler::Method;

use spikepipe_backends::svg::{self as chart, HLine, XyPlot, XySeries};

use super::svg;
use super::{ReportArgs, Skipped};
use crate::cli::Table;

/// `report.csv`.
pub fn render_csv(rows: &[Row]) -> String {
    let mut s = Row::COLUMNS.join(",") + "\n";
    for r in rows {
        s.push_str(&r.csv_cells().join(","));
        s.push('\n');
    }
    s
}

/// `tta.csv`: one line per (model, hardware, P, method) of the time-to-accuracy table.
pub fn render_tta_csv(rows: &[TtaRow]) -> String {
    let mut s = TtaRow::COLUMNS.join(",") + "\n";
    for r in rows {
        s.push_str(&r.csv_cells().join(","));
        s.push('\n');
    }
    s
}

/// (model, hardware, P) of the time-to-accuracy rows, in first-seen order.
pub(super) fn tta_groups(rows: &[TtaRow]) -> Vec<(String, String, u64)> {
    let mut g = Vec::new();
    for r in rows {
        let k = (r.model.clone(), r.hardware.clone(), r.processors);
        if !g.contains(&k) {
            g.push(k);
        }
    }
    g
}

/// Seconds in the unit that keeps the numbers readable: (factor, unit name).
fn time_unit(max_seconds: f64) -> (f64, &'static str) {
    if max_seconds < 1e-3 {
        (1e6, "µs")
    } else if max_seconds < 1.0 {
        (1e3, "ms")
    } else {
        (1.0, "s")
    }
}

/// `x` with 4 significant digits (no exponent).
fn sig4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (3 - x.abs().log10().floor() as i64).max(0) as usize;
    format!("{x:.decimals$}")
}

fn tta_cells(r: &TtaRow, unit: (f64, &str)) -> Vec<String> {
    vec![
        r.method.clone(),
        r.period_cycles.to_string(),
        r.max_staleness.to_string(),
        format!("{:.4}", r.final_accuracy),
        r.iterations.map_or("not reached".into(), |k| k.to_string()),
        r.seconds.map_or("–".into(), |s| format!("{} {}", sig4(s * unit.0), unit.1)),
        r.ratio_vs_best_standard.map_or("—".into(), |x| format!("{x:.3}×")),
    ]
}

/// Terminal table of the simulated times to accuracy.
pub(super) fn tta_table(rows: &[TtaRow]) -> Table {
    let mut t = Table::new(&[
        "model",
        "hardware",
        "P",
        "target",
        "method",
        "period",
        "max stale",
        "final acc",
        "iterations",
        "simulated time",
        "best std ÷ this",
    ]);
    let unit = time_unit(rows.iter().filter_map(|r| r.seconds).fold(0.0, f64::max));
    for r in rows {
        let mut cells =
            vec![r.model.clone(), r.hardware.clone(), r.processors.to_string(), format!("{:.4}", r.target)];
        cells.extend(tta_cells(r, unit));
        t.row(cells);
    }
    t
}

/// Test accuracy against simulated time of one (model, hardware, P): one line per
/// trained method, the target dashed, the point each line reaches it marked.
pub(super) fn tta_plot(t: &Training, model: &str, hw: &str, p: u64) -> String {
    let curves: Vec<_> =
        t.curves.iter().filter(|c| c.model == model && c.hardware == hw && c.processors == p).collect();
    let rows: Vec<&TtaRow> =
        t.tta.iter().filter(|r| r.model == model && r.hardware == hw && r.processors == p).collect();
    let xmax = curves.iter().flat_map(|c| c.points.iter().map(|q| q.0)).fold(0.0, f64::max);
    let (f, unit) = time_unit(xmax);
    // Lines that coincide (equal staleness and timing) are drawn dashed over the first
    // one and say so in the legend, so each stays visible.
    const OVER: [&str; 3] = ["8,5", "3,7", "1,6"];
    let mut series: Vec<XySeries> = Vec::new();
    for (i, c) in curves.iter().enumerate() {
        let tta = rows.iter().find(|r| r.method == c.method).and_then(|r| r.seconds);
        let reached = tta.map_or("not reached".to_string(), |s| format!("{} {unit}", sig4(s * f)));
        let same = curves[..i].iter().position(|d| d.points == c.points);
        let dups = curves[..i].iter().filter(|d| d.points == c.points).count();
        let note = match (same, c.no_delay) {
            (Some(j), _) => format!("; same line as {}", curves[j].method),
            (None, true) => "; the no-delay run".to_string(),
            (None, false) => String::new(),
        };
        series.push(XySeries {
            name: format!("{} (s = {}{note}): {reached}", c.method, c.max_staleness),
            colour: svg::method_colour(c.method.as_str()),
            dash: if dups > 0 { Some(OVER[(dups - 1).min(OVER.len() - 1)]) } else { None },
            points: c.points.iter().map(|&(x, y)| (x * f, y)).collect(),
            mark: c.reached.map(|(x, y)| (x * f, y)),
        });
    }
    let hlines: Vec<HLine> = rows
        .first()
        .map(|r| HLine {
            y: r.target,
            label: format!("target {:.4} = no-delay final {:.4} − 0.005", r.target, r.no_delay_accuracy),
            colour: "#000000",
        })
        .into_iter()
        .collect();
    let title = format!("{model} on {hw}, P = {p}: test accuracy against simulated time");
    let x_label = format!("simulated time ({unit}) = (fill + (k − 1) · period) / clock after k iterations");
    chart::xy_plot(&XyPlot {
        title: &title,
        x_label: &x_label,
        y_label: "test accuracy",
        y_range: Some((0.0, 1.0)),
        series: &series,
        hlines: &hlines,
        legend_title: Some("method (max staleness): time to target"),
    })
}

/// The speedup-over-PipeDream plot of one model on one machine.
pub(super) fn speedup_plot(rows: &[Row], hw: &str, model: &str, procs: &[u64]) -> String {
    let series: Vec<svg::Series> = Method::ALL
        .iter()
        .map(|m| svg::Series {
            name: m.name().to_string(),
            colour: svg::method_colour(m.name()),
            dash: svg::method_dash(m.name()),
            values: procs
                .iter()
                .map(|&p| {
                    rows.iter()
                        .find(|r| {
                            r.hardware == hw && r.model == model && r.method == m.name() && r.processors == p
                        })
                        .map(|r| r.speedup_vs_pipedream)
                })
                .collect(),
        })
        .collect();
    svg::line_plot(
        &format!("{model} on {hw}: speedup over PipeDream"),
        "processors P",
        "speedup over pipedream (period ratio)",
        procs,
        &series,
    )
}

/// Rows of one method.
fn of<'a>(rows: &'a [Row], method: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
    rows.iter().filter(move |r| r.method == method)
}

struct Stat {
    mean: f64,
    max: f64,
    at: String,
}

fn stat<'a>(it: impl Iterator<Item = &'a Row>, f: impl Fn(&Row) -> f64) -> Option<Stat> {
    let v: Vec<(&Row, f64)> = it.map(|r| (r, f(r))).collect();
    if v.is_empty() {
        return None;
    }
    let mean = v.iter().map(|x| x.1).sum::<f64>() / v.len() as f64;
    let (r, max) = v.iter().fold(v[0], |a, b| if b.1 > a.1 { *b } else { a });
    Some(Stat { mean, max, at: format!("{} on {}, P = {}", r.model, r.hardware, r.processors) })
}

/// Headline numbers, one per line.
fn summary_lines(rows: &[Row]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut sp = |label: &str, s: Option<Stat>, pct: bool| {
        if let Some(s) = s {
            let v = if pct {
                format!("mean {:.2} %, max {:.2} % ({})", 100.0 * s.mean, 100.0 * s.max, s.at)
            } else {
                format!("mean {:.3}×, max {:.3}× ({})", s.mean, s.max, s.at)
            };
            out.push((label.to_string(), v));
        }
    };
    sp("ilp over pipedream", stat(of(rows, "ilp"), |r| r.speedup_vs_pipedream), false);
    sp(
        "ilp over best standard (data-parallel, pipedream, gpipe; equal or lower staleness)",
        stat(of(rows, "ilp"), |r| r.speedup_vs_best_standard),
        false,
    );
    sp("ilp over layerwise", stat(of(rows, "ilp"), |r| r.speedup_vs_layerwise), false);
    sp("heuristic over pipedream", stat(of(rows, "heuristic"), |r| r.speedup_vs_pipedream), false);
    sp("ilp period / lower bound", stat(of(rows, "ilp"), |r| r.period_over_lb), false);
    sp("pipedream period / lower bound", stat(of(rows, "pipedream"), |r| r.period_over_lb), false);
    sp("comm overhead, ilp", stat(of(rows, "ilp"), |r| r.comm_overhead), true);
    sp("comm overhead, pipedream", stat(of(rows, "pipedream"), |r| r.comm_overhead), true);
    sp("comm overhead, any method", stat(rows.iter(), |r| r.comm_overhead), true);
    if let Some(s) = stat(of(rows, "ilp"), |r| r.max_staleness as f64) {
        let mean_mean =
            of(rows, "ilp").map(|r| r.mean_staleness).sum::<f64>() / of(rows, "ilp").count().max(1) as f64;
        out.push((
            "ilp staleness".into(),
            format!("max {} ({}), mean over rows of the mean per layer {:.2}", s.max, s.at, mean_mean),
        ));
    }
    if let Some(s) = stat(of(rows, "pipedream"), |r| r.max_staleness as f64) {
        let mean_mean = of(rows, "pipedream").map(|r| r.mean_staleness).sum::<f64>()
            / of(rows, "pipedream").count().max(1) as f64;
        out.push(("pipedream staleness".into(), format!("max {} ({}), mean {:.2}", s.max, s.at, mean_mean)));
    }
    let mut status: BTreeMap<&str, usize> = BTreeMap::new();
    for r in of(rows, "ilp") {
        *status.entry(r.status.as_str()).or_default() += 1;
    }
    out.push((
        "ilp solver status".into(),
        status.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
    ));
    let matched = rows.iter().filter(|r| r.sim_matches()).count();
    let mut sim = format!("{matched} of {} schedules", rows.len());
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !r.sim_matches())
        .map(|r| format!("{} {} {} P={}", r.hardware, r.model, r.method, r.processors))
        .collect();
    if !bad.is_empty() {
        let _ = write!(sim, " (differs: {})", bad.join("; "));
    }
    out.push(("simulated period = scheduled period".into(), sim));
    out
}

pub(super) fn summary_text(rows: &[Row]) -> String {
    let lines = summary_lines(rows);
    let w = lines.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    lines.into_iter().map(|(k, v)| format!("{k:<w$}  {v}\n")).collect()
}

/// Plain-text speedup table: ilp (heuristic) over pipedream per hardware, model and P.
pub(super) fn speedup_table(rows: &[Row], procs: &[u64]) -> Table {
    let mut header = vec!["hardware".to_string(), "model".to_string()];
    header.extend(procs.iter().map(|p| format!("P={p} ilp (heur)")));
    let h: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    let mut t = Table::new(&h);
    for (hw, model) in groups(rows) {
        let mut cells = vec![hw.clone(), model.clone()];
        for &p in procs {
            let get = |m: &str| {
                rows.iter()
                    .find(|r| r.hardware == hw && r.model == model && r.method == m && r.processors == p)
                    .map(|r| r.speedup_vs_pipedream)
            };
            cells.push(match (get("ilp"), get("heuristic")) {
                (Some(i), Some(hh)) => format!("{i:.3} ({hh:.3})"),
                _ => "-".into(),
            });
        }
        t.row(cells);
    }
    t
}

pub(super) fn accuracy_table(acc: &[Accuracy], skipped: &[Skipped]) -> Table {
    let mut t = Table::new(&[
        "model",
        "dataset",
        "epochs",
        "schedule",
        "staleness max/mean",
        "acc no pipelining",
        "acc pipelined",
        "difference",
    ]);
    for a in acc {
        t.row(vec![
            a.model.clone(),
            format!("{} ({}/{})", a.dataset, a.train_samples, a.test_samples),
            a.epochs.to_string(),
            format!("{} P={} {}", a.method, a.processors, a.hardware),
            format!("{}/{:.2}", a.max_staleness, a.mean_staleness),
            format!("{:.4}", a.baseline),
            format!("{:.4}", a.pipelined),
            format!("{:+.4}", a.pipelined - a.baseline),
        ]);
    }
    for s in skipped {
        t.row(vec![s.model.clone(), format!("skipped: {}", s.reason)]);
    }
    t
}

/// (hardware, model) in first-seen order.
fn groups(rows: &[Row]) -> Vec<(String, String)> {
    let mut g: Vec<(String, String)> = Vec::new();
    for r in rows {
        let k = (r.hardware.clone(), r.model.clone());
        if !g.contains(&k) {
            g.push(k);
        }
    }
    g
}

pub(super) struct Context<'a> {
    pub(super) args: &'a ReportArgs,
    pub(super) procs: &'a [u64],
    pub(super) hardware: &'a [PathBuf],
    pub(super) rows: &'a [Row],
    pub(super) plots: &'a [(String, String, String)],
    pub(super) gantts: &'a [(String, String)],
    pub(super) gantt_p: u64,
    pub(super) training: &'a Training,
    /// ((model, hardware, P), file) of the time-to-accuracy plots.
    pub(super) tta_plots: &'a [((String, String, u64), String)],
    pub(super) skipped: &'a [Skipped],
    pub(super) wall: Option<f64>,
    /// (hardware stem, rows) of heuristic vs the best standard method per budget.
    pub(super) versus: &'a [(String, Vec<VersusRow>)],
}

fn budget_name(b: Option<u64>) -> String {
    b.map_or("unbounded".into(), |b| format!("≤ {b}"))
}

/// Mean and max speedup over the best standard method per staleness budget, one line each.
pub(super) fn versus_summary(versus: &[(String, Vec<VersusRow>)]) -> Vec<(String, String)> {
    let all: Vec<&VersusRow> = versus.iter().flat_map(|(_, v)| v).collect();
    let mut out = Vec::new();
    for b in [Some(0), Some(1), Some(2), None] {
        let rows: Vec<VersusRow> = all.iter().filter(|r| r.budget == b).map(|r| (*r).clone()).collect();
        if rows.is_empty() {
            continue;
        }
        let (mean, max) = spikepipe_compiler::versus::summary(&rows);
        let slower = rows.iter().filter(|r| r.speedup < 1.0).count();
        let ceiling = spikepipe_compiler::versus::ceiling(&rows);
        out.push((
            format!("heuristic over the best standard method, staleness {}", budget_name(b)),
            format!(
                "mean {mean:.3}×, max {max:.3}× over {} rows ({slower} slower); a schedule at the lower bound in every row: mean {ceiling:.3}×",
                rows.len()
            ),
        ));
    }
    let capped: Vec<VersusRow> = all.iter().filter(|r| r.budget.is_some()).map(|r| (*r).clone()).collect();
    if !capped.is_empty() {
        let (mean, max) = spikepipe_compiler::versus::summary(&capped);
        let ceiling = spikepipe_compiler::versus::ceiling(&capped);
        out.push((
            "… at staleness ≤ 2 (budgets 0, 1, 2 together)".into(),
            format!("mean {mean:.3}×, max {max:.3}×; at the lower bound: mean {ceiling:.3}×"),
        ));
    }
    out
}

/// The headline table: per machine, model and P, the speedup at each budget with the
/// best standard method in parentheses.
fn versus_markdown(versus: &[(String, Vec<VersusRow>)]) -> String {
    let mut o = String::new();
    let budgets = [Some(0), Some(1), Some(2), None];
    let mut header = vec!["hardware".to_string(), "model".to_string(), "P".to_string()];
    header.extend(budgets.iter().map(|&b| format!("s {}", budget_name(b))));
    let h: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    let mut trs = Vec::new();
    for (hw, rows) in versus {
        let mut keys: Vec<(String, u64)> = rows.iter().map(|r| (r.model.clone(), r.processors)).collect();
        keys.dedup();
        for (model, p) in keys {
            let mut cells = vec![format!("`{hw}`"), format!("`{model}`"), p.to_string()];
            for &b in &budgets {
                cells.push(
                    rows.iter()
                        .find(|r| r.model == model && r.processors == p && r.budget == b)
                        .map_or("–".into(), |r| format!("{:.3}× ({})", r.speedup, r.best_standard)),
                );
            }
            trs.push(cells);
        }
    }
    o.push_str(&md_table(&h, &trs));
    o
}

fn md_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!("| {} |\n|", header.join(" | "));
    for (i, _) in header.iter().enumerate() {
        s.push_str(if i < 2 { "---|" } else { "---:|" });
    }
    s.push('\n');
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s
}

/// The command line that produced the report (argv with the program name as `spikepipe`).
fn command_line() -> String {
    let mut a: Vec<String> = std::env::args().skip(1).collect();
    a.insert(0, "spikepipe".into());
    a.iter()
        .map(|s| {
            if s.contains(|c: char| c.is_whitespace() || "*?{}".contains(c)) {
                format!("'{s}'")
            } else {
                s.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn render_markdown(c: &Context) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# SpikePipe report\n");
    let _ = writeln!(o, "Generated by `{}`.\n", command_line());
    let _ = writeln!(
        o,
        "Hardware: {}. Processors P = {}. ILP time limit {} s per phase (on time-out the best \
         incumbent, or the heuristic's schedule, is used: status `time_limit` / `fallback`). \
         Every schedule is simulated on dedicated links for {} iterations (more when the \
         pipeline holds more iterations than that run can measure). Speedup over a method = that \
         method's period ÷ this period; *best standard* = the smallest period of \
         data-parallel and gpipe, and of pipedream when its staleness is at most the row's. \
         Communication overhead = bytes per iteration moved between \
         processors ÷ all bytes one training iteration moves between tasks (and to/from weight \
         memory).{}\n",
        c.hardware.iter().map(|h| format!("`{}`", h.display())).collect::<Vec<_>>().join(", "),
        c.procs.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
        c.args.solve.time_limit.unwrap_or(2.0),
        c.args.iterations.unwrap_or(20),
        match c.wall {
            Some(w) => format!(" Wall time {w:.1} s."),
            None => " Reproducible run: solver seconds recorded as 0.".into(),
        }
    );

    if !c.versus.is_empty() {
        let _ = writeln!(o, "## Against the best standard method, at equal staleness\n");
        let _ = writeln!(
            o,
            "Period of the fastest standard method (data-parallel, replicated PipeDream, tuned \
             GPipe) whose largest staleness is within the budget ÷ period of `heuristic` \
             compiled with `--max-staleness` = the budget (the winning standard method in \
             parentheses). `ilp` competes with the same candidates, so it is never slower than \
             `heuristic`.\n"
        );
        let srows: Vec<Vec<String>> = versus_summary(c.versus).into_iter().map(|(k, v)| vec![k, v]).collect();
        o.push_str(&md_table(&["figure", "value"], &srows));
        o.push('\n');
        o.push_str(&versus_markdown(c.versus));
        o.push('\n');
    }

    let _ = writeln!(o, "## Summary\n");
    let srows: Vec<Vec<String>> = summary_lines(c.rows).into_iter().map(|(k, v)| vec![k, v]).collect();
    o.push_str(&md_table(&["figure", "value"], &srows));

    let _ = writeln!(o, "\n## Speedup over PipeDream\n");
    let _ = writeln!(o, "Period of pipedream ÷ period of the method, `ilp` (`heuristic`), per P.\n");
    let mut header = vec!["hardware".to_string(), "model".to_string()];
    header.extend(c.procs.iter().map(|p| format!("P = {p}")));
    let h: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    let mut trs = Vec::new();
    for (hw, model) in groups(c.rows) {
        let mut cells = vec![format!("`{hw}`"), format!("`{model}`")];
        for &p in c.procs {
            let get = |m: &str| {
                c.rows
                    .iter()
                    .find(|r| r.hardware == hw && r.model == model && r.method == m && r.processors == p)
                    .map(|r| r.speedup_vs_pipedream)
            };
            cells.push(match (get("ilp"), get("heuristic")) {
                (Some(i), Some(hh)) => format!("{i:.3}× ({hh:.3}×)"),
                _ => "–".into(),
            });
        }
        trs.push(cells);
    }
    o.push_str(&md_table(&h, &trs));

    if c.args.train {
        let _ = writeln!(o, "\n## Accuracy with delayed gradients\n");
        let _ = writeln!(
            o,
            "Final test accuracy after the same number of epochs (same seed, data and \
             hyper-parameters) without pipelining and with the per-layer staleness of the \
             named schedule.\n"
        );
        let arows: Vec<Vec<String>> = c
            .training
            .accuracy
            .iter()
            .map(|a| {
                vec![
                    format!("`{}`", a.model),
                    format!("{} ({} train / {} test)", a.dataset, a.train_samples, a.test_samples),
                    a.epochs.to_string(),
                    format!("{} P = {} `{}`", a.method, a.processors, a.hardware),
                    format!("{} / {:.2}", a.max_staleness, a.mean_staleness),
                    format!("{:.4}", a.baseline),
                    format!("{:.4}", a.pipelined),
                    format!("{:+.2} pp", 100.0 * (a.pipelined - a.baseline)),
                ]
            })
            .collect();
        o.push_str(&md_table(
            &[
                "model",
                "dataset",
                "epochs",
                "schedule",
                "staleness max / mean",
                "no pipelining",
                "pipelined",
                "difference",
            ],
            &arows,
        ));
        for s in c.skipped {
            let _ = writeln!(o, "\n`{}` not trained: {}.", s.model, s.reason);
        }
        tta_markdown(&mut o, c);
    }

    if !c.gantts.is_empty() {
        let _ = writeln!(o, "\n## Gantt charts\n");
        let _ = writeln!(o, "First hardware file, P = {}, ilp (left) and pipedream (right).\n", c.gantt_p);
        for (model, name) in c.gantts {
            let _ = writeln!(o, "- `{model}`: [{name}]({name})");
        }
    }

    let mut last_hw = String::new();
    for (hw, model) in groups(c.rows) {
        if hw != last_hw {
            let _ = writeln!(o, "\n## `{hw}`\n");
            last_hw = hw.clone();
        }
        let _ = writeln!(o, "\n### `{model}` on `{hw}`\n");
        if let Some((_, _, plot)) = c.plots.iter().find(|(h, m, _)| *h == hw && *m == model) {
            let _ = writeln!(o, "![speedup of {model} on {hw}]({plot})\n");
        }
        let trs: Vec<Vec<String>> = c
            .rows
            .iter()
            .filter(|r| r.hardware == hw && r.model == model)
            .map(|r| {
                vec![
                    r.processors.to_string(),
                    r.method.clone(),
                    r.period_cycles.to_string(),
                    r.lower_bound_cycles.to_string(),
                    format!("{:.4}", r.period_over_lb),
                    format!("{:.3}", r.speedup_vs_pipedream),
                    format!("{:.3}", r.speedup_vs_layerwise),
                    format!("{:.3}", r.speedup_vs_gpipe),
                    format!("{:.1}", 100.0 * r.utilization),
                    format!("{:.3}", 100.0 * r.comm_overhead),
                    format!("{} / {:.2}", r.max_staleness, r.mean_staleness),
                    r.status.clone(),
                    format!("{:.2}", r.solve_seconds),
                    r.sim_achieved_period_cycles.map_or("–".into(), |v| format!("{v}")),
                    r.sim_period_ratio.map_or("–".into(), |v| format!("{v:.4}")),
                    r.sim_max_in_flight.to_string(),
                ]
            })
            .collect();
        o.push_str(&md_table(
            &[
                "P",
                "method",
                "period",
                "LB",
                "period/LB",
                "× pipedream",
                "× layerwise",
                "× gpipe",
                "util %",
                "comm %",
                "staleness max / mean",
                "status",
                "solver s",
                "sim period",
                "sim / sched",
                "in flight",
            ],
            &trs,
        ));
    }
    o
}

/// The time-to-accuracy section: one table and one plot per (model, hardware, P).
fn tta_markdown(o: &mut String, c: &Context) {
    let rows = &c.training.tta;
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n## Time to accuracy\n");
    let _ = writeln!(
        o,
        "Each schedule's run (its staleness; equal staleness shares a run, staleness 0 is the \
         no-delay run) is evaluated on the test set every N iterations and at every epoch's \
         end. Target = the no-delay run's final test accuracy − 0.005; *iterations* = those of \
         the first evaluation at or above it (exact to within N); *simulated time* = \
         (fill + (iterations − 1) · period) / clock on the schedule's hardware; *best std ÷ \
         this* = the simulated time of the standard method (data-parallel, pipedream, gpipe) \
         fastest to the target ÷ this method's (— where either did not reach it). \
         Definitions: docs/time-to-accuracy.md. Machine-readable: [tta.csv](tta.csv).\n"
    );
    let unit = time_unit(rows.iter().filter_map(|r| r.seconds).fold(0.0, f64::max));
    for (model, hw, p) in tta_groups(rows) {
        let group: Vec<&TtaRow> =
            rows.iter().filter(|r| r.model == model && r.hardware == hw && r.processors == p).collect();
        let first = group[0];
        let _ = writeln!(o, "### `{model}` on `{hw}`, P = {p}\n");
        let _ = writeln!(
            o,
            "Target {:.4} (no delay: {:.4}); evaluations every {} iterations; best standard \
             method to the target: {}.\n",
            first.target,
            first.no_delay_accuracy,
            first.eval_every,
            if first.best_standard.is_empty() { "none reached it" } else { first.best_standard.as_str() }
        );
        let trs: Vec<Vec<String>> = group.iter().map(|r| tta_cells(r, unit)).collect();
        o.push_str(&md_table(
            &[
                "method",
                "period (cycles)",
                "max staleness",
                "final acc",
                "iterations to target",
                "simulated time",
                "best std ÷ this",
            ],
            &trs,
        ));
        if let Some((_, name)) = c.tta_plots.iter().find(|(k, _)| *k == (model.clone(), hw.clone(), p)) {
            let _ =
                writeln!(o, "\n![test accuracy against simulated time, {model} on {hw}, P = {p}]({name})\n");
        }
    }
}
