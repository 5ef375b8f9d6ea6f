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
mod progress;
mod svg;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use spikepipe_backends::exec::{self, DatasetSpec, ExecConfig};
use spikepipe_backends::sim::{self, gantt, LinkModel, SimConfig, SimReport};
use spikepipe_compiler::compare::{compare, mean_staleness, ratio};
use spikepipe_compiler::{load_specs, CompileOptions, Method};
use spikepipe_ir::Schedule;

use super::compile::parse_method;
use super::{bad_input, print, Table};

use progress::RunBar;

/// Where `--train` finds Fashion-MNIST (Debian's `dataset-fashion-mnist`).
pub const FMNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Arguments of `spikepipe report`.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  spikepipe report\n  \
spikepipe report --models 'models/{mlp-digits,cnn-fmnist}.yaml' --hardware models/hw/sa32-ws.yaml -p 2,4 --reproducible --out /tmp/r\n  \
spikepipe report --train --processors 4 --hardware models/hw/sa32-ws.yaml --models models/mlp-digits.yaml --out target/report-train\n  \
spikepipe report --models models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 8 --max-memory 256MiB --out /tmp/r-mem")]
pub struct ReportArgs {
    /// Model specs: a path or pattern (`*`, `?` in the file name, `{a,b}` alternatives); repeatable.
    #[arg(long, value_name = "GLOB", default_value = "models/*.yaml")]
    pub models: Vec<String>,
    /// Hardware specs: a path or pattern; repeatable. One report section each.
    #[arg(long, value_name = "FILE", default_value = "models/hw/*.yaml")]
    pub hardware: Vec<String>,
    /// Processor counts, comma-separated.
    #[arg(long, short = 'p', value_delimiter = ',', default_value = "2,4,8,16")]
    pub processors: Vec<u64>,
    /// Wall-clock limit of each ILP solve, all phases together, in seconds (small, so the default run stays under 10 minutes).
    #[arg(long, default_value_t = 2.0, value_name = "SECS")]
    pub time_limit: f64,
    /// Iterations to simulate (default: 20, or more if the pipeline holds more iterations
    /// than a 20-iteration run can measure in steady state).
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(2..))]
    pub iterations: Option<u32>,
    /// P of the Gantt charts (default: 4 if listed, else the first count).
    #[arg(long, value_name = "P")]
    pub gantt_processors: Option<u64>,
    /// Also train models whose data is available (mlp-digits: built in; *-fmnist: the
    /// Debian dataset-fashion-mnist files) with the schedules' staleness and without.
    #[arg(long)]
    pub train: bool,
    /// Methods whose staleness `--train` applies, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_method, default_value = "ilp")]
    pub train_methods: Vec<Method>,
    /// Epochs of each training run (default: the model's `training.epochs`).
    #[arg(long, value_name = "E")]
    pub epochs: Option<u64>,
    /// Use only the first N training samples.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Output directory.
    #[arg(long, value_name = "DIR", default_value = "target/report")]
    pub out: PathBuf,
    /// Record 0 solver seconds and no wall times, so equal inputs give equal files.
    #[arg(long)]
    pub reproducible: bool,
    /// Keep every layer's staleness at or below N in every schedule (raises periods;
    /// see `compile --help`). The report then shows the speed this gradient freshness costs.
    #[arg(long, value_name = "N")]
    pub max_staleness: Option<u64>,
    /// Memory per processor in bytes for every schedule (overrides the hardware's
    /// `memory_bytes`; see `compile --help`).
    #[arg(long, value_name = "BYTES", value_parser = super::compile::parse_bytes)]
    pub max_memory: Option<u64>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// One (hardware, model, method, P) line of the report: the schedule's figures and the
/// simulation's.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Hardware file stem, e.g. `sa32-ws`.
    pub hardware: String,
    /// Model name.
    pub model: String,
    /// Method.
    pub method: String,
    /// P.
    pub processors: u64,
    /// Period II (cycles).
    pub period_cycles: u64,
    /// Lower bound (cycles).
    pub lower_bound_cycles: u64,
    /// II / LB.
    pub period_over_lb: f64,
    /// pipedream's II / this II.
    pub speedup_vs_pipedream: f64,
    /// layerwise's II / this II.
    pub speedup_vs_layerwise: f64,
    /// gpipe's II / this II.
    pub speedup_vs_gpipe: f64,
    /// min(pipedream, layerwise, gpipe) II / this II.
    pub speedup_vs_best_standard: f64,
    /// Mean busy cycles per period over processors.
    pub utilization: f64,
    /// Bytes per iteration between processors.
    pub bytes_between_processors: u64,
    /// Bytes per iteration between tasks in all.
    pub bytes_total: u64,
    /// bytes between processors / bytes total.
    pub comm_overhead: f64,
    /// Largest staleness of any layer.
    pub max_staleness: u64,
    /// Mean forward staleness.
    pub mean_staleness: f64,
    /// Solver status.
    pub status: String,
    /// Solver seconds (0 with --reproducible).
    pub solve_seconds: f64,
    /// Iterations simulated.
    pub sim_iterations: u32,
    /// Simulated achieved period.
    pub sim_achieved_period_cycles: Option<f64>,
    /// Achieved / scheduled.
    pub sim_period_ratio: Option<f64>,
    /// Whether the simulation measured in steady state.
    pub sim_steady_state: bool,
    /// Most iterations in flight.
    pub sim_max_in_flight: u32,
    /// Mean busy % over processors in the simulation.
    pub sim_mean_busy_percent: f64,
    /// Largest predicted peak memory over processors (bytes).
    pub peak_memory_bytes: u64,
}

/// CSV header of `report.csv`, the fields of [`Row`] in order.
pub const CSV_COLUMNS: [&str; 26] = [
    "hardware",
    "model",
    "method",
    "processors",
    "period_cycles",
    "lower_bound_cycles",
    "period_over_lb",
    "speedup_vs_pipedream",
    "speedup_vs_layerwise",
    "speedup_vs_gpipe",
    "speedup_vs_best_standard",
    "utilization",
    "bytes_between_processors",
    "bytes_total",
    "comm_overhead",
    "max_staleness",
    "mean_staleness",
    "status",
    "solve_seconds",
    "sim_iterations",
    "sim_achieved_period_cycles",
    "sim_period_ratio",
    "sim_steady_state",
    "sim_max_in_flight",
    "sim_mean_busy_percent",
    "peak_memory_bytes",
];

fn opt_num(x: Option<f64>) -> String {
    x.map(|v| v.to_string()).unwrap_or_default()
}

impl Row {
    /// The CSV cells: integers as integers, floats in Rust's shortest round-trip form
    /// (so they parse back to exactly the values `compile`/`simulate` print in JSON).
    pub fn csv_cells(&self) -> Vec<String> {
        vec![
            self.hardware.clone(),
            self.model.clone(),
            self.method.clone(),
            self.processors.to_string(),
            self.period_cycles.to_string(),
            self.lower_bound_cycles.to_string(),
            self.period_over_lb.to_string(),
            self.speedup_vs_pipedream.to_string(),
            self.speedup_vs_layerwise.to_string(),
            self.speedup_vs_gpipe.to_string(),
            self.speedup_vs_best_standard.to_string(),
            self.utilization.to_string(),
            self.bytes_between_processors.to_string(),
            self.bytes_total.to_string(),
            self.comm_overhead.to_string(),
            self.max_staleness.to_string(),
            self.mean_staleness.to_string(),
            self.status.clone(),
            self.solve_seconds.to_string(),
            self.sim_iterations.to_string(),
            opt_num(self.sim_achieved_period_cycles),
            opt_num(self.sim_period_ratio),
            self.sim_steady_state.to_string(),
            self.sim_max_in_flight.to_string(),
            self.sim_mean_busy_percent.to_string(),
            self.peak_memory_bytes.to_string(),
        ]
    }

    /// Whether the simulated period equals the schedule's exactly.
    pub fn sim_matches(&self) -> bool {
        self.sim_achieved_period_cycles == Some(self.period_cycles as f64)
    }
}

/// One training comparison.
#[derive(Debug, Clone)]
struct Accuracy {
    model: String,
    dataset: String,
    train_samples: usize,
    test_samples: usize,
    epochs: u64,
    hardware: String,
    method: String,
    processors: u64,
    max_staleness: u64,
    mean_staleness: f64,
    baseline: f64,
    pipelined: f64,
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

/// The simulation the report uses for a schedule: dedicated links, `--iterations` or
/// 20, raised to the recommended count when the pipeline holds more iterations.
fn simulate(s: &Schedule, iterations: Option<u32>, record: bool) -> anyhow::Result<SimReport> {
    let run = |n: u32| {
        let cfg = SimConfig { iterations: n, links: LinkModel::Dedicated, record_trace: record };
        sim::simulate(s, &cfg).map_err(|e| {
            anyhow::anyhow!("simulating {} {} at P = {}: {e}", s.model.name, s.method, s.hardware.processors)
        })
    };
    let n = iterations.unwrap_or(20);
    let r = run(n)?;
    if iterations.is_none() && !r.steady_state_reached && r.recommended_iterations > n {
        return run(r.recommended_iterations);
    }
    Ok(r)
}

fn check_args(args: &ReportArgs) -> anyhow::Result<()> {
    if args.processors.is_empty()
        || args.processors.iter().any(|&p| p == 0 || p > spikepipe_compiler::parse::MAX_PROCESSORS)
    {
        return Err(bad_input(format!(
            "--processors: every count must be 1..={}, got {:?}",
            spikepipe_compiler::parse::MAX_PROCESSORS,
            args.processors
        )));
    }
    if !(args.time_limit.is_finite() && args.time_limit >= 0.0) {
        return Err(bad_input(format!(
            "--time-limit must be a non-negative number of seconds, got {}",
            args.time_limit
        )));
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
    if args.epochs == Some(0) {
        return Err(bad_input("--epochs must be at least 1"));
    }
    Ok(())
}

/// The dataset `--train` uses for a model, or why it cannot train it.
fn dataset_for(model: &str) -> Result<DatasetSpec, String> {
    if model.contains("digits") {
        return Ok(DatasetSpec::Digits);
    }
    if model.contains("fmnist") {
        if Path::new(FMNIST_DIR).is_dir() {
            return format!("idx:{FMNIST_DIR}").parse().map_err(|e: exec::DataError| e.to_string());
        }
        return Err(format!("{FMNIST_DIR} not found (install Debian's dataset-fashion-mnist)"));
    }
    Err("no bundled or installed dataset for this model".into())
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
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;

    let methods = Method::ALL;
    let steps = specs.len() as u64 * procs.len() as u64 * methods.len() as u64 * 2 + models.len() as u64;
    let mut bar = RunBar::new(steps, args.quiet);
    let t0 = std::time::Instant::now();

    let mut opts = CompileOptions::new(Method::Ilp).reproducible(args.reproducible);
    opts.time_limit = args.time_limit;
    opts.max_staleness = args.max_staleness;

    let mut rows: Vec<Row> = Vec::new();
    // (hardware, model, method, P) → schedule, for training and Gantt charts.
    let mut schedules: BTreeMap<(String, String, String, u64), Schedule> = BTreeMap::new();
    let mut plots = Vec::new();
    for (hw, sp) in &specs {
        let model = sp.model.name.clone();
        let compared = {
            let bar = &mut bar;
            compare(sp, &procs, &methods, &opts, |m, p| {
                bar.inc(&format!("compiling {model} on {hw}: {m} at P = {p}"))
            })?
        };
        let period_of = |method: &str, p: u64| {
            compared
                .iter()
                .find(|(r, _)| r.method == method && r.processors == p)
                .map(|(r, _)| r.period_cycles)
                .unwrap_or(0)
        };
        for (r, s) in &compared {
            bar.inc(&format!("simulating {model} on {hw}: {} at P = {}", r.method, r.processors));
            let simr = simulate(s, args.iterations, false)?;
            let gpipe = period_of("gpipe", r.processors);
            let best_std = ["pipedream", "layerwise", "gpipe"]
                .iter()
                .map(|m| period_of(m, r.processors))
                .min()
                .unwrap_or(0);
            rows.push(Row {
                hardware: hw.clone(),
                model: model.clone(),
                method: r.method.clone(),
                processors: r.processors,
                period_cycles: r.period_cycles,
                lower_bound_cycles: r.lower_bound_cycles,
                period_over_lb: r.period_over_lb,
                speedup_vs_pipedream: r.speedup_vs_pipedream,
                speedup_vs_layerwise: r.speedup_vs_layerwise,
                speedup_vs_gpipe: ratio(gpipe, r.period_cycles),
                speedup_vs_best_standard: ratio(best_std, r.period_cycles),
                utilization: s.metrics.utilization,
                bytes_between_processors: r.bytes_between_processors,
                bytes_total: s.metrics.bytes_total,
                comm_overhead: r.comm_overhead,
                max_staleness: r.max_staleness,
                mean_staleness: r.mean_staleness,
                status: r.status.clone(),
                solve_seconds: r.solve_seconds,
                sim_iterations: simr.iterations,
                sim_achieved_period_cycles: simr.achieved_period_cycles,
                sim_period_ratio: simr.period_ratio,
                sim_steady_state: simr.steady_state_reached,
                sim_max_in_flight: simr.max_in_flight,
                sim_mean_busy_percent: simr.mean_busy_percent,
                peak_memory_bytes: s.metrics.peak_memory_bytes.iter().copied().max().unwrap_or(0),
            });
            schedules.insert((hw.clone(), model.clone(), r.method.clone(), r.processors), s.clone());
        }
        // Speedup plot.
        let series: Vec<svg::Series> = methods
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
                                &r.hardware == hw
                                    && r.model == model
                                    && r.method == m.name()
                                    && r.processors == p
                            })
                            .map(|r| r.speedup_vs_pipedream)
                    })
                    .collect(),
            })
            .collect();
        let name = format!("speedup-{model}-{hw}.svg");
        let plot = svg::line_plot(
            &format!("{model} on {hw}: speedup over PipeDream"),
            "processors P",
            "speedup over pipedream (period ratio)",
            &procs,
            &series,
        );
        write(&args.out.join(&name), &plot)?;
        plots.push((hw.clone(), model.clone(), name));
    }

    // Gantt charts: ilp next to pipedream, first hardware file, P = gantt_p.
    let mut gantts = Vec::new();
    let first_hw = file_stem(&hardware[0]);
    for (hw, sp) in specs.iter().filter(|(h, _)| *h == first_hw) {
        let model = &sp.model.name;
        bar.inc(&format!("Gantt chart of {model}"));
        let mut parts = Vec::new();
        for m in ["ilp", "pipedream"] {
            let s = &schedules[&(hw.clone(), model.clone(), m.to_string(), gantt_p)];
            let r = simulate(s, args.iterations, true)?;
            parts.push(gantt::render_report_svg(s, &r, 3).context("simulation recorded no trace")?);
        }
        let name = format!("gantt-{model}.svg");
        let title =
            format!("{model} on {hw}, P = {gantt_p}: ilp (left) and pipedream (right), first 3 iterations");
        write(&args.out.join(&name), &svg::side_by_side(&title, &parts))?;
        gantts.push((model.clone(), name));
    }

    // Training.
    let mut accuracy = Vec::new();
    let mut skipped = Vec::new();
    if args.train {
        for m in &models {
            let (spec, net) = spikepipe_compiler::load_model(m)?;
            let dataset = match dataset_for(&spec.name) {
                Ok(d) => d,
                Err(reason) => {
                    skipped.push(Skipped { model: spec.name.clone(), reason });
                    continue;
                }
            };
            let data = exec::load_dataset(&dataset, args.train_limit, args.test_limit)
                .map_err(|e| anyhow::anyhow!("{}: {e}", spec.name))?;
            let mut training = spec.training.clone();
            if let Some(e) = args.epochs {
                training.epochs = e;
            }
            let mut cfg = ExecConfig::new(training.clone());
            cfg.dataset = dataset.clone();
            cfg.train_limit = args.train_limit;
            cfg.test_limit = args.test_limit;
            cfg.threads = 0;
            let mut runs: Vec<(String, String, u64)> = Vec::new();
            for h in &hardware {
                for &p in &procs {
                    for mm in &args.train_methods {
                        runs.push((file_stem(h), mm.name().to_string(), p));
                    }
                }
            }
            bar.add_total((runs.len() as u64 + 1) * training.epochs);
            let mut train_one = |stale: &[spikepipe_ir::LayerStaleness], label: &str| {
                let mut cb = |p: exec::Progress| {
                    if let exec::Progress::EpochEnd(e) = p {
                        bar.inc(&format!(
                            "training {} ({label}): epoch {} test acc {:.4}",
                            spec.name, e.epoch, e.test_accuracy
                        ));
                    }
                };
                exec::train_on(&net, &cfg, stale, &data, &mut cb)
                    .map_err(|e| anyhow::anyhow!("training {} ({label}): {e}", spec.name))
            };
            let base = train_one(&[], "no pipelining")?;
            for (h, method, p) in runs {
                let s = &schedules[&(h.clone(), spec.name.clone(), method.clone(), p)];
                let rep = train_one(&s.staleness, &format!("{method} P = {p} on {h}"))?;
                accuracy.push(Accuracy {
                    model: spec.name.clone(),
                    dataset: base.dataset.clone(),
                    train_samples: base.train_samples,
                    test_samples: base.test_samples,
                    epochs: training.epochs,
                    hardware: h,
                    method,
                    processors: p,
                    max_staleness: s.max_staleness(),
                    mean_staleness: mean_staleness(s),
                    baseline: base.final_test_accuracy,
                    pipelined: rep.final_test_accuracy,
                });
            }
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
        "\nwrote {}/report.md, report.csv, {} speedup plots, {} Gantt charts{}",
        args.out.display(),
        plots.len(),
        gantts.len(),
        if args.reproducible { String::new() } else { format!(" in {wall:.1} s") }
    );
    print(&out)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// `report.csv`.
pub fn render_csv(rows: &[Row]) -> String {
    let mut s = CSV_COLUMNS.join(",") + "\n";
    for r in rows {
        s.push_str(&r.csv_cells().join(","));
        s.push('\n');
    }
    s
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
        c.args.time_limit,
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
