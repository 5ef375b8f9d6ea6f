//! The driver: runs the passes in order, like a recipe.

use std::time::Instant;

use spikepipe_ir::{Schedule, TaskGraph};

use crate::cost::{annotate, Systolic};
use crate::emit;
use crate::lower::lower;
use crate::schedule::{scheduler, timing, Method, Problem};
use crate::{ScheduleError, Specs};

/// Options of one compilation.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Scheduling method.
    pub method: Method,
    /// Time limit of each ILP phase, seconds.
    pub time_limit: f64,
    /// Micro-batches for gpipe (default 4·P).
    pub micro_batches: Option<u64>,
    /// ILP solver backend: `microlp` (default) or `highs` (with the `highs` feature).
    pub solver: String,
    /// Write 0 as solver seconds so the file is byte-identical across runs.
    pub reproducible: bool,
}

impl CompileOptions {
    /// Defaults for a method: 10 s time limit, microlp, gpipe with 4·P micro-batches.
    pub fn new(method: Method) -> CompileOptions {
        CompileOptions {
            method,
            time_limit: 10.0,
            micro_batches: None,
            solver: "microlp".into(),
            reproducible: false,
        }
    }
    /// Sets the ILP time limit in seconds.
    pub fn with_time_limit(mut self, seconds: f64) -> Self {
        self.time_limit = seconds;
        self
    }
    /// Writes 0 solver seconds.
    pub fn reproducible(mut self, yes: bool) -> Self {
        self.reproducible = yes;
        self
    }
}

/// Lowers a model to its task graph and costs every task (passes 2 and 3).
pub fn lower_and_cost(specs: &Specs) -> TaskGraph {
    let mut graph =
        lower(&specs.model.name, &specs.network, &specs.hardware.bits, specs.model.training.optimizer);
    annotate(&mut graph, &Systolic::new(&specs.hardware));
    graph
}

/// Compiles specs to a verified schedule: lower, cost, schedule, time, emit.
pub fn compile(specs: &Specs, opts: &CompileOptions) -> Result<Schedule, ScheduleError> {
    let graph = lower_and_cost(specs);
    let cost = Systolic::new(&specs.hardware);
    let problem = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
    let started = Instant::now();
    let outcome = scheduler(opts.method, opts).schedule(&problem)?;
    let mut schedule = match outcome.timed {
        Some(s) => s,
        None => {
            let hash = emit::spec_hash(specs);
            let mut s = emit::draft(&problem, &hash, &outcome.placement, opts.method.name(), outcome.solver);
            timing::time_modulo(&mut s);
            s
        }
    };
    schedule.model.spec_hash = emit::spec_hash(specs);
    schedule.solver.seconds =
        if opts.reproducible { 0.0 } else { emit::round6(started.elapsed().as_secs_f64()) };
    emit::finish(&problem, schedule)
}
