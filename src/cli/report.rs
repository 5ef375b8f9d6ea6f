//! `spikepipe report`: the paper's evaluation in one run. For every model, hardware file
//! and processor count it compiles every method (`compare`), simulates every schedule
//! (dedicated links) and writes `report.md`, `report.csv`, one speedup plot per model and
//! hardware, and one Gantt chart (ilp next to pipedream) per model; with `--train` also
//! the accuracy of training with the ilp schedule's staleness against no pipelining.
//!
//! Every number is the one `spikepipe compile` / `spikepipe simulate` print for the same
//! inputs: the schedules come from the same `compile` call, the simulations from the same
//! `simulate` call.

mod glob;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use spikepipe::experiment::{self, Accuracy, Row, TrainPlan};
use spikepipe_backends::exec;
use spikepipe_backends::sim::gantt;
use spikepipe_compiler::{load_specs, CompileOptions, Method};
use spikepipe_ir::Schedule;

use super::flags::{self, SolveArgs};
use super::progress::Bar;
use super::{bad_input, outputs, print, Table};

/// Arguments of `spikepipe report`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  spikepipe report\n  \
spikepipe report --models 'models/{mlp-digits,cnn-fmnist}.yaml' --hardware models/hw/sa32-ws.yaml -p 2,4 --reproducible --out /tmp/r\n  \
spikepipe report --train --processors 4 --hardware models/hw/sa32-ws.yaml --models models/mlp-digits.yaml --out target/report-train")]
pub struct ReportArgs {
    /// Model specs: a path or pattern (`*`, `?` in the file name, `{a,b}` alternatives); repeatable.
    #[arg(long, value_name = "GLOB", default_value = "models/*.yaml")]
    pub models: Vec<String>,
    /// Hardware specs: a path or pattern; repeatable. One report section each.
    #[arg(long, value_name = "FILE", default_value = "models/hw/*.yaml")]
    pub hardware: Vec<String>,
    /// Processor counts, comma-separated, each 1 to 256.
    #[arg(long, short = 'p', value_delimiter = ',', default_value = "2,4,8,16", value_parser = flags::processors)]
    pub processors: Vec<u64>,
    /// ILP time limit (default 2 s per phase here, so the default run stays short), solver
    /// and staleness cap. With `--max-staleness` the report shows the speed that gradient
    /// freshness costs.
    #[command(flatten)]
    pub solve: SolveArgs,
    /// Iterations to simulate (default: 20, or more if the pipeline holds more iterations
    /// than a 20-iteration run can measure in steady state).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub iterations: Option<u32>,
    /// P of the Gantt charts (default: 4 if listed, else the first count).
    #[arg(long, value_name = "P", value_parser = flags::processors)]
    pub gantt_processors: Option<u64>,
    /// Also train models whose data is available (mlp-digits: built in; *-fmnist: the
    /// Debian dataset-fashion-mnist files) with the schedules' staleness and without.
    #[arg(long)]
    pub train: bool,
    /// Methods whose staleness `--train` applies, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = flags::method, default_value = "ilp")]
    pub train_methods: Vec<Method>,
    /// Epochs of each training run, at least 1 (default: the model's `training.epochs`).
    #[arg(long, value_name = "E", value_parser = flags::at_least_one)]
    pub epochs: Option<u64>,
    /// Use only the first N training samples (N ≥ 1).
    #[arg(long, value_name = "N", value_parser = flags::samples)]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples (N ≥ 1).
    #[arg(long, value_name = "N", value_parser = flags::samples)]
    pub test_limit: Option<usize>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "target/report")]
    pub out: PathBuf,
    /// Record 0 solver seconds and no wall times, so equal inputs give equal files.
    #[arg(long)]
    pub reproducible: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// A model the run could not train, and why.
#[derive(Debug, Clone)]
struct Skipped {
    model: String,
    reason: String,
}

fn file_stem(p: &Path) -> String {
    p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

fn expand(patterns: &[String], what: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in patterns {
        let found = glob::glob(p).map_err(|e| bad_input(format!("--{what}: {e}")))?;
        if found.is_empty() {
            return Err(bad_input(format!("--{what}: {p} matches no file")));
        }
        for f in found {
            if !out.contains(&f) {
                out.push(f);
            }
        }
    }
    Ok(out)
}

fn check_args(args: &ReportArgs) -> anyhow::Result<()> {
    if args.processors.is_empty() {
        return Err(bad_input("--processors: give at least one count"));
    }
    if let Some(g) = args.gantt_processors {
        if !args.processors.contains(&g) {
            return Err(bad_input(format!(
                "--gantt-processors {g} is not one of --processors {:?}",
                args.processors
            )));
        }
    }
    if args.train && args.train_methods.is_empty() {
        return Err(bad_input("--train-methods: name at least one method"));
    }
    Ok(())
}

/// Runs the subcommand.
pub fn run(args: ReportArgs) -> anyhow::Result<()> {
    check_args(&args)?;
    let models = expand(&args.models, "models")?;
    let hardware = expand(&args.hardware, "hardware")?;
    let mut procs = args.processors.clone();
    procs.dedup();
    let gantt_p = args.gantt_processors.unwrap_or(if procs.contains(&4) { 4 } else { procs[0] });

    // Load everything first, so bad input fails before any work.
    let mut specs = Vec::new();
    for hw in &hardware {
        for m in &models {
            specs.push((file_stem(hw), load_specs(m, Some(hw), None)?));
        }
    }
    outputs::prepare_dir("--out", &args.out)?;

    let methods = Method::ALL;
    let steps = specs.len() as u64 * procs.len() as u64 * methods.len() as u64 * 2 + models.len() as u64;
    let bar = Bar::new(steps, args.quiet);
    let t0 = std::time::Instant::now();
    let opts: CompileOptions = args.solve.options(Method::Ilp, 2.0).reproducible(args.reproducible);

    let mut rows: Vec<Row> = Vec::new();
    // (hardware, model, method, P) → schedule, for training and Gantt charts.
    let mut schedules: BTreeMap<(String, String, String, u64), Schedule> = BTreeMap::new();
    let mut plots = Vec::new();
    for (hw, sp) in &specs {
        let model = sp.model.name.clone();
        let got = experiment::rows(hw, sp, &procs, &opts, args.iterations, &|msg: &str| bar.inc(msg))?;
        for ((method, p), s) in got.schedules {
            schedules.insert((hw.clone(), model.clone(), method, p), s);
        }
        rows.extend(got.rows);
        let name = format!("speedup-{model}-{hw}.svg");
        write(&args.out.join(&name), &speedup_plot(&rows, hw, &model, &procs))?;
        plots.push((hw.clone(), model.clone(), name));
    }

    // Gantt charts: ilp next to pipedream, first hardware file, P = gantt_p.
    let mut gantts = Vec::new();
    let first_hw = file_stem(&hardware[0]);
    for (hw, sp) in specs.iter().filter(|(h, _)| *h == first_hw) {
        let model = &sp.model.name;
        bar.inc(&format!("Gantt chart of {model}"));
        let mut runs = Vec::new();
        for m in ["ilp", "pipedream"] {
            let s = &schedules[&(hw.clone(), model.clone(), m.to_string(), gantt_p)];
            let r = experiment::simulate(s, args.iterations, true)?;
            let trace = r.trace.context("simulation recorded no trace")?;
            runs.push((s, trace));
        }
        // One time axis for both, so the faster schedule's shorter bars show its speed.
        let t_end = runs.iter().map(|(_, t)| gantt::span(t, 3)).max().unwrap_or(1);
        let parts: Vec<String> = runs.iter().map(|(s, t)| gantt::render_svg_span(s, t, 3, t_end)).collect();
        let name = format!("gantt-{model}.svg");
        let title = format!(
            "{model} on {hw}, P = {gantt_p}: ilp (left) and pipedream (right), first 3 iterations, same time scale"
        );
        write(&args.out.join(&name), &svg::side_by_side(&title, &parts))?;
        gantts.push((model.clone(), name));
    }

    // Training.
    let mut accuracy = Vec::new();
    let mut skipped = Vec::new();
    if args.train {
        for m in &models {
            let (spec, net) = spikepipe_compiler::load_model(m)?;
            let dataset = match experiment::dataset_for(&spec) {
                Ok(d) => d,
                Err(reason) => {
                    skipped.push(Skipped { model: spec.name.clone(), reason });
                    continue;
                }
            };
            let mut plan = TrainPlan {
                epochs: args.epochs,
                train_limit: args.train_limit,
                test_limit: args.test_limit,
                schedules: Vec::new(),
            };
            for h in &hardware {
                for &p in &procs {
                    for mm in &args.train_methods {
                        let key = (file_stem(h), spec.name.clone(), mm.name().to_string(), p);
                        plan.schedules.push((file_stem(h), &schedules[&key]));
                    }
                }
            }
            bar.add_total((plan.schedules.len() as u64 + 1) * plan.epochs_of(&spec));
            let mut epoch_done = |label: &str, e: &exec::EpochReport| {
                bar.inc(&format!(
                    "training {} ({label}): epoch {} test acc {:.4}",
                    spec.name, e.epoch, e.test_accuracy
                ))
            };
            accuracy.extend(experiment::accuracy(&spec, &net, &dataset, &plan, &mut epoch_done)?);
        }
    }
    bar.finish();
    let wall = t0.elapsed().as_secs_f64();

    let csv = render_csv(&rows);
    write(&args.out.join("report.csv"), &csv)?;
    let ctx = Context {
        args: &args,
        procs: &procs,
        hardware: &hardware,
        rows: &rows,
        plots: &plots,
        gantts: &gantts,
        gantt_p,
        accuracy: &accuracy,
        skipped: &skipped,
        wall: if args.reproducible { None } else { Some(wall) },
    };
    let md = render_markdown(&ctx);
    write(&args.out.join("report.md"), &md)?;

    let mut out = String::new();
    out.push_str(&summary_text(&rows));
    out.push('\n');
    out.push_str(&speedup_table(&rows, &procs).to_string());
    if args.train {
        out.push('\n');
        out.push_str(&accuracy_table(&accuracy, &skipped).to_string());
    }
    let _ = writeln!(
        out,
        "\nwrote {}/report.md, report.csv, {}, {}{}",
        args.out.display(),
        count(plots.len(), "speedup plot"),
        count(gantts.len(), "Gantt chart"),
        if args.reproducible { String::new() } else { format!(" in {wall:.1} s") }
    );
    print(&out)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    outputs::write("report file", path, text)
}

/// `1 Gantt chart`, `2 Gantt charts`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `report.csv`.
pub fn render_csv(rows: &[Row]) -> String {
    let mut s = Row::COLUMNS.join(",") + "\n";
    for r in rows {
        s.push_str(&r.csv_cells().join(","));
        s.push('\n');
    }
    s
}

/// The speedup-over-PipeDream plot of one model on one machine.
fn speedup_plot(rows: &[Row], hw: &str, model: &str, procs: &[u64]) -> String {
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
        "ilp over best standard (min of pipedream, layerwise, gpipe)",
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

fn summary_text(rows: &[Row]) -> String {
    let lines = summary_lines(rows);
    let w = lines.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
    lines.into_iter().map(|(k, v)| format!("{k:<w$}  {v}\n")).collect()
}

/// Plain-text speedup table: ilp (heuristic) over pipedream per hardware, model and P.
fn speedup_table(rows: &[Row], procs: &[u64]) -> Table {
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

fn accuracy_table(acc: &[Accuracy], skipped: &[Skipped]) -> Table {
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

struct Context<'a> {
    args: &'a ReportArgs,
    procs: &'a [u64],
    hardware: &'a [PathBuf],
    rows: &'a [Row],
    plots: &'a [(String, String, String)],
    gantts: &'a [(String, String)],
    gantt_p: u64,
    accuracy: &'a [Accuracy],
    skipped: &'a [Skipped],
    wall: Option<f64>,
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

fn render_markdown(c: &Context) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# SpikePipe report\n");
    let _ = writeln!(o, "Generated by `{}`.\n", command_line());
    let _ = writeln!(
        o,
        "Hardware: {}. Processors P = {}. ILP time limit {} s per phase (on time-out the best \
         incumbent, or the heuristic's schedule, is used: status `time_limit` / `fallback`). \
         Every schedule is simulated on dedicated links for {} iterations (more when the \
         pipeline holds more iterations than that run can measure). Speedup over a method = that \
         method's period ÷ this period; *best standard* = the smallest period of pipedream, \
         layerwise and gpipe. Communication overhead = bytes per iteration moved between \
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
