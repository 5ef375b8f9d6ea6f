//! `spikepipe tune`: pick the schedule and staleness mitigation with the smallest
//! simulated time to accuracy (docs/time-to-accuracy.md).
//!
//! [`tune`] is the experiment (schedules × mitigations → serde rows); [`run`] renders it.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use spikepipe_backends::exec::{
    self, time_to_accuracy, Dataset, DatasetSpec, ExecConfig, Mitigation, PipelineTiming, TimeToAccuracy,
};
use spikepipe_compiler::front::caps_below;
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method, Specs};
use spikepipe_ir::{LayerStaleness, Schedule};

use super::train::parse_mitigation;
use super::{bad_input, outputs, print, Format, Table};

/// Arguments of `spikepipe tune`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
spikepipe tune models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml -p 4\n  \
spikepipe tune models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 \
--dataset idx:/usr/share/datasets/fashion-mnist --train-limit 6400 --test-limit 2000 -o best.json\n\n\
For every method and staleness cap (none, 0..=--max-cap) the schedule is compiled; for every\n\
distinct staleness and every mitigation a short probe is trained; the simulated time to the\n\
target is fill + (iterations − 1) × period of that schedule. Schedules with equal staleness\n\
share their probes (training depends only on the staleness and the mitigation). `cost/update`\n\
is the staleness cost a stale probe implies, (its iterations ÷ the no-delay probe's − 1) ÷ its\n\
largest staleness: give it to `compile --staleness-cost` to price staleness without training.")]
pub struct TuneArgs {
    /// Model spec (YAML).
    pub model: PathBuf,
    /// Hardware spec (YAML).
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<PathBuf>,
    /// Processors P (overrides the hardware's).
    #[arg(long, short = 'p', value_name = "N")]
    pub processors: Option<u64>,
    /// Methods, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_parser = super::flags::method)]
    pub methods: Vec<Method>,
    /// Staleness caps tried besides none: 0..=K, 0 to 64 (caps at or above a method's
    /// uncapped staleness are skipped: its uncapped schedule keeps them).
    #[arg(long, default_value_t = 2, value_name = "K", value_parser = clap::value_parser!(u64).range(0..=64))]
    pub max_cap: u64,
    /// Mitigations tried, `;`-separated sets (default: none and each single one).
    #[arg(long, value_delimiter = ';', value_parser = parse_mitigation, value_name = "SETS")]
    pub mitigations: Vec<Mitigation>,
    /// Probe length in epochs.
    #[arg(long, default_value_t = 1, value_name = "E")]
    pub epochs: u64,
    /// Dataset: `digits` (built in) or `idx:DIR`.
    #[arg(long, default_value = "digits", value_name = "digits|idx:DIR")]
    pub dataset: String,
    /// Use only the first N training samples.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples.
    #[arg(long, value_name = "N")]
    pub test_limit: Option<usize>,
    /// Evaluate every N iterations (default: 8 times per epoch).
    #[arg(long, value_name = "N")]
    pub eval_every: Option<usize>,
    /// Target test accuracy (default: the no-delay probe's final accuracy − 0.005).
    #[arg(long, value_name = "X")]
    pub target_accuracy: Option<f64>,
    /// Calibrate the initial weights to this firing rate per layer (see `train --help`).
    #[arg(long, value_name = "R")]
    pub init_rate: Option<f64>,
    /// Seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Worker threads (0: all cores; at most 1024).
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = super::flags::threads)]
    pub threads: usize,
    /// Time limit of each ILP solve in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS", value_parser = super::flags::time_limit, allow_negative_numbers = true)]
    pub time_limit: f64,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Write the winning schedule's file here (train it with `train --schedule FILE
    /// --mitigation M`, M the winner's mitigation).
    #[arg(long, short = 'o', value_name = "SCHEDULE.json")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// One schedule (method, cap) with one mitigation.
#[derive(Debug, Clone, Serialize)]
pub struct TuneRow {
    /// Scheduling method.
    pub method: String,
    /// Whether it is a standard method (what a user would pick instead of ours).
    pub standard: bool,
    /// Staleness cap (`None`: uncapped).
    pub cap: Option<u64>,
    /// Period in cycles.
    pub period_cycles: u64,
    /// Fill (iteration 0's makespan) in cycles.
    pub fill_cycles: u64,
    /// Largest staleness of any layer.
    pub max_staleness: u64,
    /// Staleness per layer.
    pub staleness: Vec<LayerStaleness>,
    /// Mitigation.
    pub mitigation: String,
    /// Final test accuracy of the probe.
    pub final_accuracy: f64,
    /// Time to the target.
    pub time_to_accuracy: TimeToAccuracy,
    /// The staleness cost this probe implies, for `compile --staleness-cost`: (its
    /// iterations to the target ÷ the no-delay probe's − 1) ÷ its largest staleness; `None`
    /// at staleness 0 or when either probe missed the target.
    pub staleness_cost: Option<f64>,
}

/// Result of [`tune`].
#[derive(Debug, Clone, Serialize)]
pub struct TuneReport {
    /// Model name.
    pub model: String,
    /// Processors.
    pub processors: u64,
    /// Target accuracy.
    pub target: f64,
    /// No-delay probe's final accuracy.
    pub no_delay_accuracy: f64,
    /// Iterations the no-delay probe needed to the target (`None`: not reached).
    pub no_delay_iterations: Option<u64>,
    /// Every (schedule, mitigation).
    pub rows: Vec<TuneRow>,
    /// Index of the fastest row to the target (any method).
    pub best: Option<usize>,
    /// Index of the fastest standard-method row.
    pub best_standard: Option<usize>,
    /// best_standard seconds / best seconds.
    pub speedup_vs_standard: Option<f64>,
    /// The schedule of the `best` row (what `--output` writes).
    #[serde(skip)]
    pub best_schedule: Option<Schedule>,
}

/// Standard methods: the baselines a user would otherwise pick (the compiler's list);
/// every method of `Method::ALL` is probed, so new ones appear automatically.
fn is_standard(m: Method) -> bool {
    m.is_standard()
}

/// Settings of [`tune`] besides the specs and data.
#[derive(Debug, Clone)]
pub struct TuneOptions {
    /// Methods (empty: all).
    pub methods: Vec<Method>,
    /// Caps 0..=max_cap besides uncapped.
    pub max_cap: u64,
    /// Mitigation sets.
    pub mitigations: Vec<Mitigation>,
    /// Training settings of the probes.
    pub exec: ExecConfig,
    /// Target (default: no-delay final − 0.005).
    pub target: Option<f64>,
    /// ILP time limit.
    pub time_limit: f64,
}

struct Point {
    method: Method,
    cap: Option<u64>,
    timing: PipelineTiming,
    schedule: Schedule,
}

/// Compiles every (method, cap), trains one probe per distinct (staleness, mitigation),
/// and ranks them by simulated time to the target. `tick(done, total, what)` reports progress.
pub fn tune(
    specs: &Specs,
    data: &Dataset,
    opts: &TuneOptions,
    tick: &mut dyn FnMut(usize, usize, &str),
) -> anyhow::Result<TuneReport> {
    let methods: Vec<Method> =
        if opts.methods.is_empty() { Method::ALL.to_vec() } else { opts.methods.clone() };
    let mut points = Vec::new();
    for &method in &methods {
        // Uncapped first: it decides which caps are worth compiling.
        let compile_at = |cap: Option<u64>| {
            let mut co = CompileOptions::new(method).with_time_limit(opts.time_limit);
            co.max_staleness = cap;
            co.reproducible = true;
            let s = compile(specs, &co)?;
            let stale = s.max_staleness();
            let timing = PipelineTiming::from_schedule(&s);
            anyhow::Ok((Point { method, cap, timing, schedule: s }, stale))
        };
        let (uncapped, stale) = compile_at(None)?;
        points.push(uncapped);
        for cap in caps_below(method, stale, opts.max_cap) {
            points.push(compile_at(Some(cap))?.0);
        }
    }
    let zero = |st: &[LayerStaleness]| st.iter().all(|l| l.max() == 0);
    // Training depends only on (staleness, mitigation); at zero staleness every
    // mitigation is the identity, so one probe serves them all.
    let key = |st: &[LayerStaleness], m: Mitigation| {
        let m = if zero(st) { Mitigation::NONE } else { m };
        (st.iter().map(|l| (l.forward, l.input_grad)).collect::<Vec<_>>(), m)
    };
    let mut jobs: Vec<(Vec<LayerStaleness>, Mitigation)> = vec![(Vec::new(), Mitigation::NONE)];
    let mut seen = std::collections::BTreeSet::new();
    seen.insert(key(&exec::check_staleness(&specs.network, &[])?, Mitigation::NONE));
    for p in &points {
        for &m in &opts.mitigations {
            if seen.insert(key(&p.schedule.staleness, m)) {
                jobs.push((p.schedule.staleness.clone(), m));
            }
        }
    }
    let mut probes: BTreeMap<_, exec::ExecReport> = BTreeMap::new();
    let total = jobs.len();
    for (i, (st, m)) in jobs.iter().enumerate() {
        let what = format!("staleness {} / {m}", fmt_short(st));
        tick(i, total, &what);
        let mut cfg = opts.exec.clone();
        cfg.mitigation = *m;
        let r = exec::train_on(&specs.network, &cfg, st, data, &mut |_| {})?;
        let st_full = exec::check_staleness(&specs.network, st)?;
        probes.insert(key(&st_full, *m), r);
    }
    tick(total, total, "done");
    let base = &probes[&key(&exec::check_staleness(&specs.network, &[])?, Mitigation::NONE)];
    let target = opts.target.unwrap_or_else(|| exec::default_target(base.final_test_accuracy));
    let no_delay_iterations = time_to_accuracy(&base.evals, target, None).iterations;
    let mut rows = Vec::new();
    let mut row_points = Vec::new();
    for (pi, p) in points.iter().enumerate() {
        // At staleness 0 every mitigation is the identity: one row, the no-delay probe's,
        // whether or not `none` is among the mitigations.
        let mitigations =
            if zero(&p.schedule.staleness) { vec![Mitigation::NONE] } else { opts.mitigations.clone() };
        let max_staleness = p.schedule.max_staleness();
        for m in mitigations {
            let r = &probes[&key(&p.schedule.staleness, m)];
            let tta = time_to_accuracy(&r.evals, target, Some(&p.timing));
            let staleness_cost = match (tta.iterations, no_delay_iterations) {
                (Some(k), Some(k0)) if max_staleness > 0 && k0 > 0 => {
                    Some((k as f64 / k0 as f64 - 1.0) / max_staleness as f64)
                }
                _ => None,
            };
            rows.push(TuneRow {
                method: p.method.name().to_string(),
                standard: is_standard(p.method),
                cap: p.cap,
                period_cycles: p.timing.period_cycles,
                fill_cycles: p.timing.fill_cycles,
                max_staleness,
                staleness: p.schedule.staleness.clone(),
                mitigation: m.to_string(),
                final_accuracy: r.final_test_accuracy,
                time_to_accuracy: tta,
                staleness_cost,
            });
            row_points.push(pi);
        }
    }
    let fastest = |pred: &dyn Fn(&TuneRow) -> bool| {
        rows.iter()
            .enumerate()
            .filter(|(_, r)| pred(r))
            .filter_map(|(i, r)| r.time_to_accuracy.seconds.map(|s| (i, s)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    };
    let best = fastest(&|_| true);
    // A standard method comes as its paper describes it: uncapped, no mitigation
    // besides the weight stashing PipeDream itself uses.
    let best_standard = fastest(&|r| r.standard);
    let secs = |i: Option<usize>| i.and_then(|i| rows[i].time_to_accuracy.seconds);
    let speedup_vs_standard = secs(best_standard).zip(secs(best)).map(|(s, b)| s / b);
    Ok(TuneReport {
        model: specs.model.name.clone(),
        processors: specs.hardware.processors,
        target,
        no_delay_accuracy: base.final_test_accuracy,
        no_delay_iterations,
        rows,
        best,
        best_standard,
        speedup_vs_standard,
        best_schedule: best.map(|i| points[row_points[i]].schedule.clone()),
    })
}

fn fmt_short(st: &[LayerStaleness]) -> String {
    if st.iter().all(|l| l.max() == 0) {
        return "0".into();
    }
    st.iter()
        .map(|l| match l.input_grad {
            Some(g) => format!("{}/{}", l.forward, g),
            None => l.forward.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the subcommand.
pub fn run(args: TuneArgs) -> anyhow::Result<()> {
    let specs = load_specs(&args.model, args.hardware.as_deref(), args.processors)?;
    if !(args.time_limit.is_finite() && args.time_limit >= 0.0 && args.time_limit < 1e6) {
        return Err(bad_input("--time-limit must be a number of seconds between 0 and 1e6"));
    }
    if args.epochs == 0 {
        return Err(bad_input("--epochs must be at least 1"));
    }
    if let Some(x) = args.target_accuracy {
        if !(0.0..=1.0).contains(&x) {
            return Err(bad_input(format!("--target-accuracy must be between 0 and 1, got {x}")));
        }
    }
    if args.init_rate.is_some_and(|r| !(r > 0.0 && r < 1.0)) {
        return Err(bad_input("--init-rate must be between 0 and 1 (exclusive)"));
    }
    if let Some(path) = &args.output {
        outputs::check_file("-o", path)?;
    }
    let dataset: DatasetSpec = args.dataset.parse().map_err(|e: exec::DataError| bad_input(e.to_string()))?;
    let data = exec::load_dataset(&dataset, args.train_limit, args.test_limit)
        .map_err(|e| bad_input(e.to_string()))?;
    let mut cfg = ExecConfig::new(specs.model.training.clone());
    cfg.training.epochs = args.epochs;
    cfg.dataset = dataset;
    cfg.seed = args.seed;
    cfg.threads = args.threads;
    cfg.init_rate = args.init_rate;
    cfg.eval_every = match args.eval_every {
        Some(0) => return Err(bad_input("--eval-every must be at least 1")),
        Some(n) => Some(n),
        None => Some(exec::eval_interval(data.train.len(), specs.network.batch, 8)),
    };
    let mitigations =
        if args.mitigations.is_empty() { Mitigation::singles() } else { args.mitigations.clone() };
    let opts = TuneOptions {
        methods: args.methods.clone(),
        max_cap: args.max_cap,
        mitigations,
        exec: cfg,
        target: args.target_accuracy,
        time_limit: args.time_limit,
    };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "tune {bar:30.cyan/blue} {pos}/{len} probes {msg} [{elapsed_precise}]",
        ) {
            b.set_style(style);
        }
        b
    });
    let mut tick = |done: usize, total: usize, what: &str| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
            b.set_message(what.to_string());
        }
    };
    let report = tune(&specs, &data, &opts, &mut tick)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(path) = &args.output {
        match &report.best_schedule {
            Some(s) => outputs::write("schedule", path, &(s.to_json() + "\n"))?,
            None => eprintln!("note: no schedule reached the target; {} not written", path.display()),
        }
    }
    match args.format {
        Format::Json => print(&serde_json::to_string_pretty(&report)?),
        Format::Table => print(&(render(&report) + &how_to_use(&args, &report))),
    }
}

/// The commands that give the winner's schedule and train with its mitigation.
fn how_to_use(args: &TuneArgs, r: &TuneReport) -> String {
    let Some(w) = r.best.map(|i| &r.rows[i]) else { return String::new() };
    let model = args.model.display();
    let file = args.output.as_ref().map_or("S.json".to_string(), |p| p.display().to_string());
    let mut compile = format!("spikepipe compile {model}");
    if let Some(h) = &args.hardware {
        compile += &format!(" --hardware {}", h.display());
    }
    compile += &format!(" -p {} --method {}", r.processors, w.method);
    if let Some(c) = w.cap {
        compile += &format!(" --max-staleness {c}");
    }
    if args.time_limit != 10.0 {
        compile += &format!(" --time-limit {}", args.time_limit);
    }
    // The probe trained the method's fastest schedule under its cap, not a priced choice.
    compile += &format!(" --staleness-cost none --reproducible -o {file}");
    let mut out = String::from("\nto use the best:\n");
    if args.output.is_none() {
        out += &format!("  {compile}\n");
    }
    out + &format!("  spikepipe train {model} --schedule {file} --mitigation {}\n", w.mitigation)
}

fn render(r: &TuneReport) -> String {
    let mut out = format!(
        "model {} on {} processors: target test accuracy {:.4} (no delays: {:.4})\n\n",
        r.model, r.processors, r.target, r.no_delay_accuracy
    );
    let mut t = Table::new(&[
        "method",
        "cap",
        "period",
        "fill",
        "staleness",
        "mitigation",
        "final acc",
        "iterations",
        "TTA (s)",
        "cost/update",
    ]);
    for row in &r.rows {
        let tta = &row.time_to_accuracy;
        t.row(vec![
            format!("{}{}", row.method, if row.standard { " (standard)" } else { "" }),
            row.cap.map_or("none".into(), |c| c.to_string()),
            row.period_cycles.to_string(),
            row.fill_cycles.to_string(),
            fmt_short(&row.staleness),
            row.mitigation.clone(),
            format!("{:.4}", row.final_accuracy),
            tta.iterations.map_or("not reached".into(), |k| k.to_string()),
            tta.seconds.map_or("-".into(), |s| format!("{s:.5}")),
            row.staleness_cost.map_or("-".into(), |c| format!("{c:.3}")),
        ]);
    }
    out.push_str(&t.to_string());
    let describe = |i: Option<usize>| match i {
        Some(i) => {
            let w = &r.rows[i];
            format!(
                "{} (cap {}) + {}: {:.5} s",
                w.method,
                w.cap.map_or("none".into(), |c| c.to_string()),
                w.mitigation,
                w.time_to_accuracy.seconds.unwrap_or(f64::NAN)
            )
        }
        None => "none reached the target".into(),
    };
    out.push_str(&format!("\nbest: {}\nbest standard: {}\n", describe(r.best), describe(r.best_standard)));
    if let Some(x) = r.speedup_vs_standard {
        out.push_str(&format!("time to accuracy, best standard / best: {x:.3}×\n"));
    }
    out
}
