//! `spikepipe report`: the paper's evaluation in one run. For every model, hardware file
//! and processor count it compiles every method (`compare`), simulates every schedule
//! (dedicated links) and writes `report.md`, `report.csv`, one speedup plot per model and
//! hardware, and one Gantt chart (ilp next to pipedream) per model; with `--train` also
//! the accuracy of training with the schedules' staleness against no pipelining, each
//! schedule's simulated time to accuracy (`tta.csv`) and one accuracy-vs-simulated-time
//! plot per model, hardware and P (docs/time-to-accuracy.md).
//!
//! Every number is the one `spikepipe compile` / `spikepipe simulate` print for the same
//! inputs: the schedules come from the same `compile` call, the simulations from the same
//! `simulate` call.

mod glob;
mod render;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use spikepipe::experiment::{self, Row, TrainPlan};

use render::{
    accuracy_table, render_csv, render_markdown, render_tta_csv, speedup_plot, speedup_table, summary_text,
    tta_plot, tta_table, versus_summary, Context,
};
use spikepipe_backends::exec;
use spikepipe_backends::sim::gantt;
use spikepipe_compiler::{load_specs, CompileOptions, Method};
use spikepipe_ir::Schedule;

use super::flags::{self, SolveArgs};
use super::progress::Bar;
use super::{bad_input, outputs, print};

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
    /// ILP time limit (default 2 s per solve here, so the default run stays short), solver
    /// and staleness cap. With `--max-staleness` the report shows the speed that gradient
    /// freshness costs.
    #[command(flatten)]
    pub solve: SolveArgs,
    /// Iterations to simulate (default: 20, or more if the pipeline holds more iterations
    /// than a 20-iteration run can measure in steady state), 2 to 10 000: the report
    /// keeps every schedule's events for its Gantt charts.
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub iterations: Option<u32>,
    /// P of the Gantt charts (default: 4 if listed, else the first count).
    #[arg(long, value_name = "P", value_parser = flags::processors)]
    pub gantt_processors: Option<u64>,
    /// Also train models whose data is available (mlp-digits: built in; mlp-fmnist: the
    /// Debian dataset-fashion-mnist files; convolutional models only with --train-limit)
    /// with the schedules' staleness and without, and report each schedule's simulated
    /// time to accuracy (target: the no-delay run's final accuracy − 0.005).
    #[arg(long)]
    pub train: bool,
    /// Methods whose staleness `--train` applies, comma-separated. Schedules with equal
    /// staleness share one training run; staleness-0 ones (data-parallel, gpipe) share
    /// the no-delay run.
    #[arg(long, value_delimiter = ',', value_parser = flags::method, default_value = "ilp,heuristic,data-parallel,pipedream,gpipe")]
    pub train_methods: Vec<Method>,
    /// With --train: evaluate the test set every N iterations (default: 8 times per
    /// epoch); every epoch's end is evaluated too.
    #[arg(long, value_name = "N", value_parser = flags::samples)]
    pub eval_every: Option<usize>,
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
    /// Memory per processor in bytes for every schedule (overrides the hardware's
    /// `memory_bytes`; see `compile --help`).
    #[arg(long, value_name = "BYTES", value_parser = super::compile::parse_bytes)]
    pub max_memory: Option<u64>,
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
    if args.solve.staleness_cost.is_some() {
        return Err(bad_input(
            "--staleness-cost: not used by report, which compares the methods at each staleness budget instead",
        ));
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
            let mut sp = load_specs(m, Some(hw), None)?;
            if args.max_memory.is_some() {
                sp.hardware.memory_bytes = args.max_memory;
            }
            specs.push((file_stem(hw), sp));
        }
    }
    outputs::prepare_dir("--out", &args.out)?;

    let methods = Method::ALL;
    let steps = specs.len() as u64 * procs.len() as u64 * methods.len() as u64 * 2
        + models.len() as u64
        + specs.len() as u64;
    let bar = Bar::new(steps, args.quiet);
    let t0 = std::time::Instant::now();
    // Each method's fastest schedule, as the report's tables and plots always showed; the
    // headline prices staleness by comparing at each budget instead.
    let opts = CompileOptions { staleness_cost: None, ..args.solve.options(Method::Ilp, 2.0) }
        .reproducible(args.reproducible);

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

    // The headline: heuristic against the best standard method at each staleness budget.
    let mut versus = Vec::new();
    for (hw, sp) in &specs {
        bar.inc(&format!("{} on {hw}: against the best standard method per staleness budget", sp.model.name));
        let rows = experiment::versus(sp, &procs, &opts)?;
        match versus.iter_mut().find(|(h, _): &&mut (String, Vec<_>)| h == hw) {
            Some((_, v)) => v.extend(rows),
            None => versus.push((hw.clone(), rows)),
        }
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
    let mut training = experiment::Training::default();
    let mut skipped = Vec::new();
    if args.train {
        for m in &models {
            let (spec, net) = spikepipe_compiler::load_model(m)?;
            let dataset = match experiment::dataset_for(&spec, args.train_limit) {
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
                eval_every: args.eval_every,
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
            let runs = plan.runs(&net)?.len() as u64;
            bar.add_total(runs * plan.epochs_of(&spec));
            let mut epoch_done = |label: &str, e: &exec::EpochReport| {
                bar.inc(&format!(
                    "training {} ({label}): epoch {} test acc {:.4}",
                    spec.name, e.epoch, e.test_accuracy
                ))
            };
            let got = experiment::accuracy(&spec, &net, &dataset, &plan, &mut epoch_done)?;
            training.accuracy.extend(got.accuracy);
            training.tta.extend(got.tta);
            training.curves.extend(got.curves);
        }
    }
    // One accuracy-vs-simulated-time plot per (model, hardware, P).
    let mut tta_plots = Vec::new();
    for (model, hw, p) in render::tta_groups(&training.tta) {
        let name = format!("tta-{model}-{hw}-p{p}.svg");
        write(&args.out.join(&name), &tta_plot(&training, &model, &hw, p))?;
        tta_plots.push(((model, hw, p), name));
    }
    bar.finish();
    let wall = t0.elapsed().as_secs_f64();

    let csv = render_csv(&rows);
    write(&args.out.join("report.csv"), &csv)?;
    if args.train {
        write(&args.out.join("tta.csv"), &render_tta_csv(&training.tta))?;
    }
    let ctx = Context {
        args: &args,
        procs: &procs,
        hardware: &hardware,
        rows: &rows,
        plots: &plots,
        gantts: &gantts,
        gantt_p,
        training: &training,
        tta_plots: &tta_plots,
        skipped: &skipped,
        wall: if args.reproducible { None } else { Some(wall) },
        versus: &versus,
    };
    let md = render_markdown(&ctx);
    write(&args.out.join("report.md"), &md)?;

    let mut out = String::new();
    for (k, v) in versus_summary(&versus) {
        let _ = writeln!(out, "{k}: {v}");
    }
    out.push_str(&summary_text(&rows));
    out.push('\n');
    out.push_str(&speedup_table(&rows, &procs).to_string());
    if args.train {
        out.push('\n');
        out.push_str(&accuracy_table(&training.accuracy, &skipped).to_string());
        if !training.tta.is_empty() {
            out.push_str("\ntime to accuracy (simulated; target = no-delay final accuracy − 0.005)\n");
            out.push_str(&tta_table(&training.tta).to_string());
        }
    }
    let _ = writeln!(
        out,
        "\nwrote {}/report.md, report.csv, {}{}, {}{}",
        args.out.display(),
        if args.train {
            format!("tta.csv, {}, ", count(tta_plots.len(), "time-to-accuracy plot"))
        } else {
            String::new()
        },
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
