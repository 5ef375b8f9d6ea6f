//! The evaluation experiment: for one model on one machine, every method at every
//! processor count is compiled ([`spikepipe_compiler::compare`]) and simulated on
//! dedicated links, giving one [`Row`] each; [`accuracy`] trains a model with schedules'
//! staleness and without, and measures each schedule's simulated time to accuracy
//! ([`TtaRow`], [`Curve`]; docs/time-to-accuracy.md). Rows are plain serde data;
//! rendering them (Markdown, CSV, plots) is the command line's job.
//!
//! Every number is the one `spikepipe compile` / `spikepipe simulate` print for the same
//! inputs: the schedules come from the same `compile` call, the simulations from the same
//! `simulate` call.

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use spikepipe_backends::exec::{
    self, default_target, time_to_accuracy, DataError, DatasetSpec, ExecConfig, ExecError, PipelineTiming,
};
use spikepipe_backends::sim::{self, LinkModel, SimConfig, SimError, SimReport};
use spikepipe_compiler::compare::{compare, mean_staleness, ratio};
use spikepipe_compiler::{CompileOptions, Method, ScheduleError, Specs};
use spikepipe_ir::{LayerSpec, LayerStaleness, ModelSpec, Network, Schedule};

/// Where [`dataset_for`] finds Fashion-MNIST (Debian's `dataset-fashion-mnist`).
pub const FMNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// What can go wrong in the experiment; each keeps its cause's type.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// Compiling failed.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// Simulating a schedule failed.
    #[error("simulating {what}")]
    Sim {
        /// Which schedule.
        what: String,
        /// Why.
        #[source]
        source: SimError,
    },
    /// Loading a data set failed.
    #[error("data for {model}")]
    Data {
        /// Model.
        model: String,
        /// Why.
        #[source]
        source: DataError,
    },
    /// Training failed.
    #[error("training {what}")]
    Train {
        /// Which run.
        what: String,
        /// Why.
        #[source]
        source: ExecError,
    },
}

/// A value as one CSV cell: integers as integers, floats in Rust's shortest round-trip
/// form (so they parse back to exactly the values `compile`/`simulate` print in JSON).
pub trait Cell {
    /// The cell text.
    fn cell(&self) -> String;
}

macro_rules! cell_by_display {
    ($($t:ty),*) => {$(impl Cell for $t { fn cell(&self) -> String { self.to_string() } })*};
}
cell_by_display!(String, u32, u64, f64, bool);

impl Cell for Option<f64> {
    fn cell(&self) -> String {
        self.map(|v| v.to_string()).unwrap_or_default()
    }
}

impl Cell for Option<u64> {
    fn cell(&self) -> String {
        self.map(|v| v.to_string()).unwrap_or_default()
    }
}

/// Declares the row struct once; its CSV header and cells follow from the declaration,
/// in field order, so no column list is written by hand.
macro_rules! row {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[doc = $doc:literal])* pub $field:ident : $ty:ty,)* }) => {
        $(#[$meta])*
        pub struct $name { $($(#[doc = $doc])* pub $field: $ty,)* }
        impl $name {
            /// CSV header: the field names in order.
            pub const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),*];
            /// CSV cells, in [`Self::COLUMNS`] order.
            pub fn csv_cells(&self) -> Vec<String> {
                vec![$(Cell::cell(&self.$field)),*]
            }
        }
    };
}

row! {
    /// One (hardware, model, method, P) line of the report: the schedule's figures and the
    /// simulation's.
    #[derive(Debug, Clone, PartialEq, Serialize)]
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
        /// Lower bound LB (cycles).
        pub lower_bound_cycles: u64,
        /// II / LB.
        pub period_over_lb: f64,
        /// pipedream's II / this II.
        pub speedup_vs_pipedream: f64,
        /// layerwise's II / this II.
        pub speedup_vs_layerwise: f64,
        /// gpipe's II / this II.
        pub speedup_vs_gpipe: f64,
        /// II of the fastest standard method (data-parallel, pipedream, gpipe) whose
        /// staleness is at most this row's, ÷ this II.
        pub speedup_vs_best_standard: f64,
        /// Mean busy cycles per period over processors.
        pub utilization: f64,
        /// Bytes per iteration between processors.
        pub bytes_between_processors: u64,
        /// Bytes per iteration between tasks in all.
        pub bytes_total: u64,
        /// bytes between processors / bytes total (a fraction).
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
        /// Peak bytes live on the fullest processor (predicted from the schedule; the
        /// simulator measures the same, `tests/memory.rs`).
        pub peak_memory_bytes: u64,
    }
}

impl Row {
    /// Whether the simulated period equals the schedule's exactly.
    pub fn sim_matches(&self) -> bool {
        self.sim_achieved_period_cycles == Some(self.period_cycles as f64)
    }
}

/// The rows of one model on one machine and their schedules, keyed by (method, P).
pub struct Rows {
    /// One per method and P, in the order of `processors` then [`Method::ALL`].
    pub rows: Vec<Row>,
    /// The schedule behind each row.
    pub schedules: BTreeMap<(String, u64), Schedule>,
}

/// The simulation the report uses for a schedule: dedicated links, `iterations` or 20,
/// raised to the recommended count when the pipeline holds more iterations than 20 can
/// measure in steady state.
pub fn simulate(s: &Schedule, iterations: Option<u32>, record: bool) -> Result<SimReport, ExperimentError> {
    let run = |n: u32| {
        let cfg = SimConfig { iterations: n, links: LinkModel::Dedicated, record_trace: record };
        sim::simulate(s, &cfg).map_err(|source| ExperimentError::Sim {
            what: format!("{} {} at P = {}", s.model.name, s.method, s.hardware.processors),
            source,
        })
    };
    let n = iterations.unwrap_or(20);
    let r = run(n)?;
    if iterations.is_none() && !r.steady_state_reached && r.recommended_iterations > n {
        return run(r.recommended_iterations);
    }
    Ok(r)
}

/// Compiles every method at every P for one model on one machine (`hardware` names the
/// machine in the rows) and simulates every schedule, in parallel; the order of the rows
/// does not depend on the threads. `progress` is told what finished.
pub fn rows(
    hardware: &str,
    specs: &Specs,
    processors: &[u64],
    opts: &CompileOptions,
    iterations: Option<u32>,
    progress: &(impl Fn(&str) + Sync),
) -> Result<Rows, ExperimentError> {
    let model = &specs.model.name;
    let compared = compare(specs, processors, &Method::ALL, opts, |m, p| {
        progress(&format!("compiled {model} on {hardware}: {m} at P = {p}"))
    })?;
    let period_of = |method: &str, p: u64| {
        compared
            .iter()
            .find(|(r, _)| r.method == method && r.processors == p)
            .map(|(r, _)| r.period_cycles)
            .unwrap_or(0)
    };
    // The fastest standard method whose staleness is within `stale` (data-parallel and
    // gpipe always are: they are synchronous).
    let best_standard = |p: u64, stale: u64| {
        compared
            .iter()
            .filter(|(r, _)| r.processors == p && r.max_staleness <= stale)
            .filter(|(r, _)| r.method.parse::<Method>().is_ok_and(Method::is_standard))
            .map(|(r, _)| r.period_cycles)
            .min()
            .unwrap_or(0)
    };
    let sims: Vec<Result<SimReport, ExperimentError>> = compared
        .par_iter()
        .map(|(r, s)| {
            let out = simulate(s, iterations, false);
            progress(&format!("simulated {model} on {hardware}: {} at P = {}", r.method, r.processors));
            out
        })
        .collect();
    let mut out = Rows { rows: Vec::new(), schedules: BTreeMap::new() };
    for ((r, s), simr) in compared.iter().zip(sims) {
        let simr = simr?;
        let best_std = best_standard(r.processors, r.max_staleness);
        out.rows.push(Row {
            hardware: hardware.to_string(),
            model: model.clone(),
            method: r.method.clone(),
            processors: r.processors,
            period_cycles: r.period_cycles,
            lower_bound_cycles: r.lower_bound_cycles,
            period_over_lb: r.period_over_lb,
            speedup_vs_pipedream: r.speedup_vs_pipedream,
            speedup_vs_layerwise: r.speedup_vs_layerwise,
            speedup_vs_gpipe: ratio(period_of("gpipe", r.processors), r.period_cycles),
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
        out.schedules.insert((r.method.clone(), r.processors), s.clone());
    }
    Ok(out)
}

/// Our `heuristic` against the best standard method at staleness budgets 0, 1, 2 and
/// unbounded (see [`spikepipe_compiler::versus`]), at every P.
pub fn versus(
    specs: &Specs,
    processors: &[u64],
    opts: &CompileOptions,
) -> Result<Vec<spikepipe_compiler::versus::VersusRow>, ExperimentError> {
    let budgets = [Some(0), Some(1), Some(2), None];
    Ok(spikepipe_compiler::versus::versus_standard(
        specs,
        processors,
        &budgets,
        Method::Heuristic,
        opts,
        |_, _| {},
    )?)
}

/// The data set a model trains on, chosen by its input shape (the executor needs
/// inputs of exactly that size): 64 features are the built-in 8×8 digits; 784 features or
/// `[1, 28, 28]` are Fashion-MNIST from [`FMNIST_DIR`] when installed. A convolutional
/// model trains only on a subset (`train_limit` given): on the full data it takes hours
/// here. `Err` says why not.
pub fn dataset_for(model: &ModelSpec, train_limit: Option<usize>) -> Result<DatasetSpec, String> {
    let elements: u64 = model.input.iter().product();
    let convolutional = model.layers.iter().any(|l| matches!(l, LayerSpec::Conv2d { .. }));
    match elements {
        64 | 784 if convolutional && train_limit.is_none() => {
            Err("convolutional, too slow on the full training set (give --train-limit N)".into())
        }
        64 => Ok(DatasetSpec::Digits),
        784 if Path::new(FMNIST_DIR).is_dir() => {
            format!("idx:{FMNIST_DIR}").parse().map_err(|e: DataError| e.to_string())
        }
        784 => Err(format!("{FMNIST_DIR} not found (install Debian's dataset-fashion-mnist)")),
        _ => Err(format!("no bundled or installed dataset has inputs of shape {:?}", model.input)),
    }
}

/// One training comparison: the same run with a schedule's staleness and without.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// Model name.
    pub model: String,
    /// Data set name.
    pub dataset: String,
    /// Training samples used.
    pub train_samples: usize,
    /// Test samples used.
    pub test_samples: usize,
    /// Epochs.
    pub epochs: u64,
    /// Hardware file stem of the schedule.
    pub hardware: String,
    /// Method of the schedule.
    pub method: String,
    /// P of the schedule.
    pub processors: u64,
    /// Largest staleness of the schedule.
    pub max_staleness: u64,
    /// Mean forward staleness of the schedule.
    pub mean_staleness: f64,
    /// Final test accuracy without pipelining.
    pub baseline: f64,
    /// Final test accuracy with the schedule's staleness.
    pub pipelined: f64,
}

row! {
    /// One (model, hardware, P, method) line of the time-to-accuracy table: the
    /// schedule's timing, the run with its staleness, and its simulated time to the
    /// target (docs/time-to-accuracy.md).
    #[derive(Debug, Clone, PartialEq, Serialize)]
    pub struct TtaRow {
        /// Model name.
        pub model: String,
        /// Hardware file stem.
        pub hardware: String,
        /// P.
        pub processors: u64,
        /// Method of the schedule.
        pub method: String,
        /// Whether the method is a standard one (data-parallel, pipedream, gpipe).
        pub standard: bool,
        /// Period (cycles).
        pub period_cycles: u64,
        /// Fill: makespan of iteration 0 (cycles).
        pub fill_cycles: u64,
        /// Hardware clock (MHz).
        pub clock_mhz: f64,
        /// Largest staleness of any layer.
        pub max_staleness: u64,
        /// Iterations between evaluations (the iterations to target are exact to within it).
        pub eval_every: u64,
        /// Final test accuracy of the run with this schedule's staleness.
        pub final_accuracy: f64,
        /// Final test accuracy of the no-delay run.
        pub no_delay_accuracy: f64,
        /// Target: no-delay final − 0.005.
        pub target: f64,
        /// Whether an evaluation reached the target.
        pub reached: bool,
        /// Iterations of the first evaluation at or above the target.
        pub iterations: Option<u64>,
        /// Simulated seconds of those iterations on this schedule.
        pub seconds: Option<f64>,
        /// The standard method fastest to the target at this (hardware, P) (empty: none
        /// reached it, or none was trained).
        pub best_standard: String,
        /// Seconds of `best_standard` ÷ this row's seconds (empty where either is missing).
        pub ratio_vs_best_standard: Option<f64>,
    }
}

/// Test accuracy against simulated time of one schedule's run: each evaluation after k
/// iterations at `T(k)` seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// Model name.
    pub model: String,
    /// Hardware file stem.
    pub hardware: String,
    /// P.
    pub processors: u64,
    /// Method of the schedule.
    pub method: String,
    /// Largest staleness of the schedule.
    pub max_staleness: u64,
    /// Whether the run is the no-delay run (staleness 0 everywhere).
    pub no_delay: bool,
    /// (simulated seconds, test accuracy), one per evaluation, in order.
    pub points: Vec<(f64, f64)>,
    /// The point where the run first reaches the target.
    pub reached: Option<(f64, f64)>,
}

/// What [`accuracy`] measured for one model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Training {
    /// Final accuracy per schedule against the no-delay run.
    pub accuracy: Vec<Accuracy>,
    /// Time to accuracy per schedule.
    pub tta: Vec<TtaRow>,
    /// Accuracy against simulated time per schedule.
    pub curves: Vec<Curve>,
}

/// What one model's training comparison runs: limits, epochs and evaluations, and the
/// schedules (hardware stem, schedule) whose staleness to apply.
pub struct TrainPlan<'a> {
    /// Epochs (the model's own if `None`).
    pub epochs: Option<u64>,
    /// Training samples used (all if `None`).
    pub train_limit: Option<usize>,
    /// Test samples used (all if `None`).
    pub test_limit: Option<usize>,
    /// Iterations between evaluations (`None`: [`EVALS_PER_EPOCH`] per epoch).
    pub eval_every: Option<usize>,
    /// The schedules to train with.
    pub schedules: Vec<(String, &'a Schedule)>,
}

/// Evaluations per epoch of [`accuracy`]'s runs by default (as `spikepipe tune`).
pub const EVALS_PER_EPOCH: usize = 8;

impl TrainPlan<'_> {
    /// Epochs of every run for this model.
    pub fn epochs_of(&self, model: &ModelSpec) -> u64 {
        self.epochs.unwrap_or(model.training.epochs)
    }

    /// The training runs this plan needs: one per distinct staleness (training depends
    /// only on it), the no-delay run first.
    pub fn runs(&self, net: &Network) -> Result<Vec<Run>, ExecError> {
        let key = |st: &[LayerStaleness]| -> Result<Vec<(u64, Option<u64>)>, ExecError> {
            Ok(exec::check_staleness(net, st)?.iter().map(|l| (l.forward, l.input_grad)).collect())
        };
        let mut keys = vec![key(&[])?];
        let mut runs = vec![Run { staleness: Vec::new(), schedules: Vec::new() }];
        for (i, (_, s)) in self.schedules.iter().enumerate() {
            let k = key(&s.staleness)?;
            match keys.iter().position(|q| *q == k) {
                Some(r) => runs[r].schedules.push(i),
                None => {
                    keys.push(k);
                    runs.push(Run { staleness: s.staleness.clone(), schedules: vec![i] });
                }
            }
        }
        Ok(runs)
    }
}

/// One training run of a [`TrainPlan`].
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Staleness to train with (empty: none).
    pub staleness: Vec<LayerStaleness>,
    /// Indices of the planned schedules whose staleness this is.
    pub schedules: Vec<usize>,
}

/// A run's label for progress: the schedules it serves.
fn run_label(plan: &TrainPlan, users: &[usize], no_delay: bool) -> String {
    let names: Vec<String> = users
        .iter()
        .map(|&i| {
            let (hw, s) = &plan.schedules[i];
            format!("{} P = {} on {hw}", s.method, s.hardware.processors)
        })
        .collect();
    match (no_delay, names.is_empty()) {
        (true, true) => "no pipelining".into(),
        (true, false) => format!("no pipelining = {}", names.join(", ")),
        (false, _) => names.join(", "),
    }
}

/// Trains `model` without pipelining and then with each planned schedule's staleness,
/// on `dataset`, evaluating the test set every `eval_every` iterations; schedules with
/// equal staleness share one run (zero-staleness ones share the no-delay run). Gives the
/// final accuracies, and each schedule's simulated time to the default target (the
/// no-delay run's final accuracy − 0.005, [`default_target`]) and accuracy-vs-time curve.
/// `epoch_done` is told after every epoch of every run.
pub fn accuracy(
    model: &ModelSpec,
    net: &Network,
    dataset: &DatasetSpec,
    plan: &TrainPlan,
    epoch_done: &mut dyn FnMut(&str, &exec::EpochReport),
) -> Result<Training, ExperimentError> {
    let data = exec::load_dataset(dataset, plan.train_limit, plan.test_limit)
        .map_err(|source| ExperimentError::Data { model: model.name.clone(), source })?;
    let mut training = model.training.clone();
    training.epochs = plan.epochs_of(model);
    let eval_every =
        plan.eval_every.unwrap_or_else(|| exec::eval_interval(data.train.len(), net.batch, EVALS_PER_EPOCH));
    let mut cfg = ExecConfig::new(training.clone());
    cfg.dataset = dataset.clone();
    cfg.train_limit = plan.train_limit;
    cfg.test_limit = plan.test_limit;
    cfg.threads = 0;
    cfg.eval_every = Some(eval_every);
    let train_err = |label: &str, source: ExecError| ExperimentError::Train {
        what: format!("{} ({label})", model.name),
        source,
    };
    let runs = plan.runs(net).map_err(|e| train_err("staleness", e))?;
    // reports[i]: the run of planned schedule i; the no-delay run first.
    let mut reports: Vec<Option<usize>> = vec![None; plan.schedules.len()];
    let mut done = Vec::new();
    for (ri, run) in runs.iter().enumerate() {
        let label = run_label(plan, &run.schedules, ri == 0);
        let mut cb = |p: exec::Progress| {
            if let exec::Progress::EpochEnd(e) = p {
                epoch_done(&label, e);
            }
        };
        let rep =
            exec::train_on(net, &cfg, &run.staleness, &data, &mut cb).map_err(|e| train_err(&label, e))?;
        for &i in &run.schedules {
            reports[i] = Some(ri);
        }
        done.push(rep);
    }
    let base = &done[0];
    let target = default_target(base.final_test_accuracy);
    let mut out = Training::default();
    for (i, (hw, s)) in plan.schedules.iter().enumerate() {
        let ri = reports[i].unwrap_or(0);
        let rep = &done[ri];
        out.accuracy.push(Accuracy {
            model: model.name.clone(),
            dataset: base.dataset.clone(),
            train_samples: base.train_samples,
            test_samples: base.test_samples,
            epochs: training.epochs,
            hardware: hw.clone(),
            method: s.method.clone(),
            processors: s.hardware.processors,
            max_staleness: s.max_staleness(),
            mean_staleness: mean_staleness(s),
            baseline: base.final_test_accuracy,
            pipelined: rep.final_test_accuracy,
        });
        let timing = PipelineTiming::from_schedule(s);
        let tta = time_to_accuracy(&rep.evals, target, Some(&timing));
        out.tta.push(TtaRow {
            model: model.name.clone(),
            hardware: hw.clone(),
            processors: s.hardware.processors,
            method: s.method.clone(),
            standard: s.method.parse::<Method>().is_ok_and(Method::is_standard),
            period_cycles: timing.period_cycles,
            fill_cycles: timing.fill_cycles,
            clock_mhz: s.hardware.clock_mhz,
            max_staleness: s.max_staleness(),
            eval_every: eval_every as u64,
            final_accuracy: rep.final_test_accuracy,
            no_delay_accuracy: base.final_test_accuracy,
            target,
            reached: tta.reached,
            iterations: tta.iterations,
            seconds: tta.seconds,
            best_standard: String::new(),
            ratio_vs_best_standard: None,
        });
        let points: Vec<(f64, f64)> =
            rep.evals.iter().map(|e| (timing.seconds(e.iteration), e.test_accuracy)).collect();
        let reached = tta.iterations.and_then(|k| {
            rep.evals.iter().find(|e| e.iteration == k).map(|e| (timing.seconds(k), e.test_accuracy))
        });
        out.curves.push(Curve {
            model: model.name.clone(),
            hardware: hw.clone(),
            processors: s.hardware.processors,
            method: s.method.clone(),
            max_staleness: s.max_staleness(),
            no_delay: ri == 0,
            points,
            reached,
        });
    }
    rank_against_best_standard(&mut out.tta);
    Ok(out)
}

/// Fills `best_standard` and `ratio_vs_best_standard`: per (model, hardware, P), the
/// standard method with the smallest simulated time to the target, and its seconds ÷
/// each row's.
pub fn rank_against_best_standard(rows: &mut [TtaRow]) {
    let groups: Vec<(String, String, u64)> =
        rows.iter().map(|r| (r.model.clone(), r.hardware.clone(), r.processors)).collect();
    for (model, hw, p) in groups {
        let same = |r: &TtaRow| r.model == model && r.hardware == hw && r.processors == p;
        let best = rows
            .iter()
            .filter(|r| same(r) && r.standard)
            .filter_map(|r| r.seconds.map(|s| (r.method.clone(), s)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        for r in rows.iter_mut().filter(|r| same(r)) {
            r.best_standard = best.as_ref().map(|b| b.0.clone()).unwrap_or_default();
            r.ratio_vs_best_standard = best.as_ref().zip(r.seconds).map(|(b, s)| b.1 / s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(method: &str, standard: bool, seconds: Option<f64>) -> TtaRow {
        TtaRow {
            model: "m".into(),
            hardware: "h".into(),
            processors: 4,
            method: method.into(),
            standard,
            period_cycles: 1,
            fill_cycles: 1,
            clock_mhz: 1.0,
            max_staleness: 0,
            eval_every: 1,
            final_accuracy: 0.9,
            no_delay_accuracy: 0.9,
            target: 0.895,
            reached: seconds.is_some(),
            iterations: seconds.map(|_| 1),
            seconds,
            best_standard: String::new(),
            ratio_vs_best_standard: None,
        }
    }

    #[test]
    fn best_standard_is_the_fastest_standard_method_to_the_target() {
        let mut rows = vec![
            row("ilp", false, Some(1.0)),
            row("data-parallel", true, Some(3.0)),
            row("pipedream", true, Some(2.0)),
            row("gpipe", true, None),
            row("heuristic", false, None),
        ];
        rank_against_best_standard(&mut rows);
        assert!(rows.iter().all(|r| r.best_standard == "pipedream"));
        let ratios: Vec<Option<f64>> = rows.iter().map(|r| r.ratio_vs_best_standard).collect();
        assert_eq!(ratios, [Some(2.0), Some(2.0 / 3.0), Some(1.0), None, None]);
        // Another P is its own group; where no standard method reached the target there
        // is no best standard and no ratio, however fast the row.
        let mut other = row("ilp", false, Some(0.5));
        other.processors = 8;
        let mut rows = vec![other, row("gpipe", true, None)];
        rows[1].processors = 8;
        rank_against_best_standard(&mut rows);
        assert!(rows.iter().all(|r| r.best_standard.is_empty() && r.ratio_vs_best_standard.is_none()));
    }

    #[test]
    fn convolutional_models_train_only_on_a_subset() {
        let (cnn, _) = spikepipe_compiler::load_model(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/cnn-fmnist.yaml"
        )))
        .expect("cnn-fmnist");
        let why = dataset_for(&cnn, None).expect_err("full data is refused");
        assert!(why.contains("--train-limit"), "{why}");
        if Path::new(FMNIST_DIR).is_dir() {
            assert!(dataset_for(&cnn, Some(640)).is_ok());
        }
        let (mlp, _) = spikepipe_compiler::load_model(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/models/mlp-digits.yaml"
        )))
        .expect("mlp-digits");
        assert_eq!(dataset_for(&mlp, None), Ok(DatasetSpec::Digits));
    }
}
