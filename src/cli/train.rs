//! `spikepipe train`: train the SNN for real (backends::exec) with the staleness a
//! schedule implies, optionally side by side with the unpipelined baseline.

use std::path::PathBuf;

use serde_json::json;
use spikepipe_backends::exec::{
    self, progress::EpochBar, time_to_accuracy, DatasetSpec, ExecConfig, ExecError, ExecReport, Mitigation,
    PipelineTiming, TimeToAccuracy,
};
use spikepipe_compiler::{compile, load_model, load_specs, Method};
use spikepipe_ir::{LayerStaleness, LrSchedule, ModelSpec, Network, Optimizer};

use super::flags::{self, SolveArgs};
use super::{bad_input, outputs, print, schedule_file, Format, Table};

/// Arguments of `spikepipe train`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  spikepipe train models/mlp-digits.yaml\n  \
spikepipe train models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml --method ilp -p 4 --baseline\n  \
spikepipe train models/mlp-fmnist.yaml --dataset idx:/usr/share/datasets/fashion-mnist --epochs 1 --format json\n  \
spikepipe train models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -m ilp -p 8 --lr-schedule cosine --mitigation lr-cap,predict --baseline\n  \
spikepipe train models/mlp-digits.yaml --schedule s.json --target-accuracy 0.8 --eval-every 5\n  \
spikepipe train models/mlp-fmnist.yaml --dataset idx:/usr/share/datasets/fashion-mnist --hardware models/hw/sa32-ws.yaml -m heuristic -p 8 --max-staleness 1 --lr-schedule cosine --baseline\n\n\
Time to accuracy (docs/time-to-accuracy.md): the test set is evaluated every --eval-every\n\
iterations and at every epoch's end; the iterations to the target are those of the first\n\
evaluation at or above it, and with a schedule (--schedule or --method) the simulated time\n\
is fill + (iterations − 1) × period cycles at the hardware clock.")]
pub struct TrainArgs {
    /// Model spec (YAML), e.g. models/mlp-digits.yaml.
    pub model: PathBuf,
    /// Hardware spec (YAML), for --method.
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<PathBuf>,
    /// Take the staleness from this schedule file (from `spikepipe compile -o`). It is
    /// verified as `simulate` verifies it and must have been compiled for MODEL.
    #[arg(long, value_name = "SCHEDULE.json", conflicts_with = "method")]
    pub schedule: Option<PathBuf>,
    /// Compile a schedule with this method (ilp, heuristic, data-parallel, pipedream, layerwise, gpipe) and use its staleness.
    #[arg(long, short = 'm', value_parser = flags::method)]
    pub method: Option<Method>,
    /// Processors P for --method, 1 to 256 (overrides the hardware's).
    #[arg(long, short = 'p', value_name = "N", value_parser = flags::processors)]
    pub processors: Option<u64>,
    /// With --method: ILP time limit, solver and staleness cap.
    #[command(flatten)]
    pub solve: SolveArgs,
    /// Epochs, at least 1 (default: the model's `training.epochs`).
    #[arg(long, value_name = "E", value_parser = flags::at_least_one)]
    pub epochs: Option<u64>,
    /// Dataset: `digits` (built in) or `idx:DIR` (MNIST-format files).
    #[arg(long, default_value = "digits", value_name = "digits|idx:DIR")]
    pub dataset: String,
    /// Use only the first N training samples (N ≥ 1).
    #[arg(long, value_name = "N", value_parser = flags::samples)]
    pub train_limit: Option<usize>,
    /// Use only the first N test samples (N ≥ 1).
    #[arg(long, value_name = "N", value_parser = flags::samples)]
    pub test_limit: Option<usize>,
    /// Seed of initialisation, shuffling and spike encoding.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Learning rate (default: the model's).
    #[arg(long, value_name = "X")]
    pub lr: Option<f64>,
    /// Optimizer (default: the model's).
    #[arg(long, value_parser = ["adam", "sgd"])]
    pub optimizer: Option<String>,
    /// Learning-rate schedule over the run (default: the model's `training.lr_schedule`,
    /// constant if unset): constant, or cosine (decay to 0 over --epochs).
    #[arg(long, value_name = "KIND", value_parser = ["constant", "cosine"])]
    pub lr_schedule: Option<String>,
    /// Staleness mitigations, comma-separated: none, stash (weight stashing), lr-scale
    /// (lr / (1 + s) per layer), lr-sqrt (lr / √(1 + s)), delay-comp (DC-ASGD correction), predict (weights
    /// extrapolated s steps ahead along the optimiser's last step), momentum (Adam's β1
    /// lowered by the staleness), warmup (lr / (1 + s) returning to lr over
    /// --warmup-iterations), lr-cap (the scheduled rate capped at lr / (1 + s), so a
    /// cosine rate runs undamped once it falls below that), accumulate (a layer sums its
    /// gradients over max(s, s′) + 1 iterations and updates once, so what it reads is at
    /// most one of its updates old, as in PipeDream-2BW). See docs/time-to-accuracy.md.
    #[arg(long, default_value = "none", value_name = "LIST", value_parser = parse_mitigation)]
    pub mitigation: Mitigation,
    /// Scale each layer's initial weights, from the input, so that its firing rate on the
    /// first training batch is R (0–1), e.g. 0.1; default: PyTorch's initialisation as is.
    #[arg(long, value_name = "R")]
    pub init_rate: Option<f64>,
    /// Iterations K of the `warmup` mitigation, at least 1 (default: one epoch).
    #[arg(long, value_name = "K", value_parser = super::flags::at_least_one)]
    pub warmup_iterations: Option<u64>,
    /// Same as `--mitigation stash` (kept for older scripts).
    #[arg(long)]
    pub weight_stashing: bool,
    /// Evaluate the test set every N iterations (default: 4 times per epoch); epoch ends always.
    #[arg(long, value_name = "N")]
    pub eval_every: Option<usize>,
    /// Test accuracy (0–1) for the time to accuracy (default with --baseline: the
    /// baseline's final accuracy − 0.005).
    #[arg(long, value_name = "X")]
    pub target_accuracy: Option<f64>,
    /// Add a bias to every weight layer, `y = W x + b` (as snnTorch's nn.Linear);
    /// default `y = W x` (docs/design.md, "Training semantics").
    #[arg(long)]
    pub bias: bool,
    /// Use dense GEMMs for spike inputs too, instead of the accumulate-only spike
    /// kernels. Same arithmetic in another summation order (slower); for benchmarks and
    /// for measuring what float summation order alone changes in a run.
    #[arg(long)]
    pub dense_kernels: bool,
    /// Worker threads (0: all cores; at most 1024); results do not depend on it.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = super::flags::threads)]
    pub threads: usize,
    /// Also train without pipelining (zero staleness) and show both.
    #[arg(long)]
    pub baseline: bool,
    /// Save a checkpoint here after every epoch (resume with --load).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Start from a checkpoint (continues to --epochs; evaluates only if already there).
    #[arg(long, value_name = "FILE")]
    pub load: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Parses `--mitigation`.
pub fn parse_mitigation(s: &str) -> Result<Mitigation, String> {
    s.parse().map_err(|e: exec::UnknownMitigation| e.to_string())
}

/// Staleness, where it came from, and the schedule's timing (for the time to accuracy).
type Staleness = (Vec<LayerStaleness>, String, Option<PipelineTiming>);

/// The staleness to train with: from a verified schedule file compiled for this model, a
/// fresh compilation, or none.
fn staleness(args: &TrainArgs, model: &ModelSpec, net: &Network) -> anyhow::Result<Staleness> {
    if let Some(path) = &args.schedule {
        let s = schedule_file::load_verified(path)?;
        schedule_file::check_belongs(path, &s, &args.model, model, net)?;
        let timing = PipelineTiming::from_schedule(&s);
        return Ok((s.staleness, format!("schedule {}", path.display()), Some(timing)));
    }
    if let Some(method) = args.method {
        let specs = load_specs(&args.model, args.hardware.as_deref(), args.processors)?;
        let s = compile(&specs, &args.solve.options(method, 10.0))?;
        let timing = PipelineTiming::from_schedule(&s);
        return Ok((
            s.staleness,
            format!("{method} on {} processors", specs.hardware.processors),
            Some(timing),
        ));
    }
    Ok((Vec::new(), "none (no pipelining)".into(), None))
}

/// Executor errors keep their type: `main` maps the user's (bad data, files) to exit 2.
fn exec_error(e: ExecError) -> anyhow::Error {
    anyhow::Error::new(e)
}

fn run_one(
    net: &Network,
    cfg: &ExecConfig,
    staleness: &[LayerStaleness],
    data: &exec::Dataset,
    label: &str,
    quiet: bool,
) -> anyhow::Result<ExecReport> {
    let mut bar = EpochBar::new(label, quiet);
    let mut cb = |p: exec::Progress| bar.update(p);
    exec::train_on(net, cfg, staleness, data, &mut cb).map_err(exec_error)
}

fn fmt_staleness(s: &[LayerStaleness]) -> String {
    if s.iter().all(|l| l.forward == 0 && l.input_grad.unwrap_or(0) == 0) {
        return "0 everywhere".into();
    }
    s.iter()
        .map(|l| match l.input_grad {
            Some(g) => format!("L{}: s={} s'={}", l.layer, l.forward, g),
            None => format!("L{}: s={}", l.layer, l.forward),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs the subcommand.
pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let (model, net) = load_model(&args.model)?;
    if let Some(path) = &args.load {
        outputs::check_readable("--load", path)?;
    }
    if let Some(path) = &args.save {
        outputs::check_file("--save", path)?;
    }
    let (stale, source, timing) = staleness(&args, &model, &net)?;
    let dataset: DatasetSpec = args.dataset.parse::<DatasetSpec>().map_err(anyhow::Error::new)?;
    let mut training = model.training.clone();
    if let Some(e) = args.epochs {
        training.epochs = e;
    }
    if let Some(lr) = args.lr {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(bad_input(format!("--lr must be a positive number, got {lr}")));
        }
        training.lr = lr;
    }
    match args.optimizer.as_deref() {
        Some("adam") => training.optimizer = Optimizer::Adam,
        Some("sgd") => training.optimizer = Optimizer::Sgd,
        _ => {}
    }
    match args.lr_schedule.as_deref() {
        Some("constant") => training.lr_schedule = LrSchedule::Constant,
        Some("cosine") => training.lr_schedule = LrSchedule::Cosine,
        _ => {}
    }
    let mut cfg = ExecConfig::new(training);
    cfg.dataset = dataset.clone();
    cfg.train_limit = args.train_limit;
    cfg.test_limit = args.test_limit;
    cfg.seed = args.seed;
    cfg.threads = args.threads;
    cfg.mitigation = args.mitigation;
    if let Some(r) = args.init_rate {
        if !(r > 0.0 && r < 1.0) {
            return Err(bad_input(format!("--init-rate must be between 0 and 1 (exclusive), got {r}")));
        }
    }
    cfg.init_rate = args.init_rate;
    cfg.mitigation.stash |= args.weight_stashing;
    cfg.bias = args.bias;
    cfg.dense_kernels = args.dense_kernels;
    cfg.warmup_iterations = args.warmup_iterations;
    cfg.save = args.save.clone();
    cfg.resume = args.load.clone();
    let data = exec::load_dataset(&dataset, args.train_limit, args.test_limit).map_err(anyhow::Error::new)?;
    if let Some(x) = args.target_accuracy {
        if !(0.0..=1.0).contains(&x) {
            return Err(bad_input(format!("--target-accuracy must be between 0 and 1, got {x}")));
        }
    }
    cfg.eval_every = match args.eval_every {
        Some(0) => return Err(bad_input("--eval-every must be at least 1")),
        Some(n) => Some(n),
        None => Some(data.train.len().div_ceil(net.batch.max(1) as usize).div_ceil(4).max(1)),
    };

    let report = run_one(&net, &cfg, &stale, &data, "train", args.quiet)?;
    let baseline = if args.baseline {
        let mut bcfg = cfg.clone();
        bcfg.mitigation = Mitigation::NONE;
        bcfg.save = None;
        bcfg.resume = None;
        Some(run_one(&net, &bcfg, &[], &data, "baseline", args.quiet)?)
    } else {
        None
    };

    let target = args
        .target_accuracy
        .or_else(|| baseline.as_ref().map(|b| exec::default_target(b.final_test_accuracy)));
    let tta = target.map(|x| time_to_accuracy(&report.evals, x, timing.as_ref()));
    let baseline_tta = target.zip(baseline.as_ref()).map(|(x, b)| time_to_accuracy(&b.evals, x, None));

    match args.format {
        Format::Json => {
            let mut v = serde_json::to_value(&report)?;
            v["model"] = json!(model.name);
            v["staleness_source"] = json!(source);
            v["lr_schedule"] = serde_json::to_value(cfg.training.lr_schedule)?;
            v["timing"] = serde_json::to_value(timing)?;
            v["time_to_accuracy"] = serde_json::to_value(tta)?;
            v["baseline_time_to_accuracy"] = serde_json::to_value(baseline_tta)?;
            if let Some(b) = &baseline {
                v["baseline_final_test_accuracy"] = json!(b.final_test_accuracy);
                v["baseline_epochs"] = serde_json::to_value(&b.epochs)?;
            }
            print(&serde_json::to_string_pretty(&v)?)
        }
        Format::Table => {
            let mut out = format!(
                "model {} on {} ({} train / {} test samples), seed {}\nstaleness: {} [{}]{}{}\n\n",
                model.name,
                report.dataset,
                report.train_samples,
                report.test_samples,
                report.seed,
                fmt_staleness(&report.staleness),
                source,
                if report.mitigation == "none" {
                    String::new()
                } else {
                    format!(", mitigation {}", report.mitigation)
                },
                match cfg.training.lr_schedule {
                    LrSchedule::Constant => String::new(),
                    LrSchedule::Cosine => format!("\nlearning rate: cosine from {} to 0", cfg.training.lr),
                }
            );
            let mut header = vec!["epoch", "train loss", "train acc", "test acc", "seconds", "samples/s"];
            if baseline.is_some() {
                header.extend(["baseline loss", "baseline test acc"]);
            }
            let mut t = Table::new(&header);
            for (i, e) in report.epochs.iter().enumerate() {
                let mut row = vec![
                    e.epoch.to_string(),
                    format!("{:.4}", e.train_loss),
                    format!("{:.4}", e.train_accuracy),
                    format!("{:.4}", e.test_accuracy),
                    format!("{:.2}", e.seconds),
                    format!("{:.0}", e.samples_per_second),
                ];
                if let Some(b) = &baseline {
                    match b.epochs.get(i) {
                        Some(be) => {
                            row.extend([format!("{:.4}", be.train_loss), format!("{:.4}", be.test_accuracy)])
                        }
                        None => row.extend(["-".to_string(), "-".to_string()]),
                    }
                }
                t.row(row);
            }
            out.push_str(&t.to_string());
            out.push_str(&format!("\nfinal test accuracy: {:.4}\n", report.final_test_accuracy));
            if let Some(b) = &baseline {
                out.push_str(&format!(
                    "baseline (no pipelining) final test accuracy: {:.4} (difference {:+.4})\n",
                    b.final_test_accuracy,
                    report.final_test_accuracy - b.final_test_accuracy
                ));
            }
            if let Some(t) = &tta {
                out.push_str(&fmt_tta("time to accuracy", t, timing.as_ref()));
            }
            if let Some(t) = &baseline_tta {
                out.push_str(&fmt_tta("baseline time to accuracy", t, None));
            }
            print(&out)
        }
    }
}

fn fmt_tta(what: &str, t: &TimeToAccuracy, timing: Option<&PipelineTiming>) -> String {
    match (t.iterations, t.seconds) {
        (None, _) => format!("{what} {:.4}: not reached\n", t.target),
        (Some(k), Some(secs)) => format!(
            "{what} {:.4}: {k} iterations, {secs:.4} simulated s (fill {} + {} × period {} cycles)\n",
            t.target,
            timing.map_or(0, |x| x.fill_cycles),
            k - 1,
            timing.map_or(0, |x| x.period_cycles)
        ),
        (Some(k), None) => format!("{what} {:.4}: {k} iterations\n", t.target),
    }
}
