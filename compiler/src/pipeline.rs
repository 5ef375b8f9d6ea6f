//! The driver: runs the passes in order, like a recipe.

use std::time::Instant;

use spikepipe_ir::{Schedule, TaskGraph};

use crate::cost::{annotate, Systolic};
use crate::emit;
use crate::schedule::pipedream::Pipedream;
use crate::schedule::{scheduler, timing, Method, Problem, Scheduler};
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
    /// Largest staleness any layer may have: the period is raised (and PipeDream's
    /// placement tried too) until the schedule keeps it. `None`: no limit.
    pub max_staleness: Option<u64>,
    /// Activation checkpointing (which layers recompute their forward during backward).
    pub recompute: crate::memory_fit::Recompute,
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
            max_staleness: None,
            recompute: Default::default(),
        }
    }
    /// Limits every layer's staleness (see [`CompileOptions::max_staleness`]).
    pub fn with_max_staleness(mut self, cap: Option<u64>) -> Self {
        self.max_staleness = cap;
        self
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
    lower_and_cost_with(specs, &[])
}

/// [`lower_and_cost`] with activation checkpointing on the given layers.
pub fn lower_and_cost_with(specs: &Specs, recompute: &[u32]) -> TaskGraph {
    let mut graph = crate::lower::lower_with(
        &specs.model.name,
        &specs.network,
        &specs.hardware.bits,
        specs.model.training.optimizer,
        recompute,
    );
    annotate(&mut graph, &Systolic::new(&specs.hardware));
    graph
}

/// Compiles specs to a verified schedule: lower, cost, schedule, time, emit (and, under
/// a memory cap, choose the layers to recompute: [`crate::memory_fit::with_recompute`]).
pub fn compile(specs: &Specs, opts: &CompileOptions) -> Result<Schedule, ScheduleError> {
    crate::memory_fit::with_recompute(specs, opts, compile_with)
}

/// [`compile`] with activation checkpointing on exactly the layers `recompute`.
fn compile_with(specs: &Specs, opts: &CompileOptions, recompute: &[u32]) -> Result<Schedule, ScheduleError> {
    let graph = lower_and_cost_with(specs, recompute);
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
    if let (Some(cap), false) = (opts.max_staleness, opts.method == Method::Gpipe) {
        schedule = cap_staleness(&problem, schedule, cap)?;
    }
    schedule.model.spec_hash = emit::spec_hash(specs);
    schedule.model.optimizer = Some(specs.model.training.optimizer);
    if let Some(cap) = specs.hardware.memory_bytes {
        schedule = crate::memory_fit::fit_memory(&problem, schedule, cap, opts.max_staleness)?;
    }
    schedule.solver.seconds =
        if opts.reproducible { 0.0 } else { emit::round6(started.elapsed().as_secs_f64()) };
    emit::finish(&problem, schedule)
}

/// Re-times a schedule's placement (and PipeDream's, as an alternative) at the smallest
/// period that keeps every staleness ≤ `cap`, and records what that cost.
fn cap_staleness(problem: &Problem, schedule: Schedule, cap: u64) -> Result<Schedule, ScheduleError> {
    // Staleness is only stored by `emit::finish`; recompute it from the starts here.
    let max_staleness = |s: &Schedule| spikepipe_ir::staleness_summary(&spikepipe_ir::compute_staleness(s)).0;
    if max_staleness(&schedule) <= cap {
        return Ok(schedule);
    }
    let free_period = schedule.period_cycles;
    let mut own = schedule.clone();
    let own_ok = timing::time_modulo_capped(&mut own, cap);
    let pipedream = Pipedream.schedule(problem)?;
    let mut alt = emit::draft(problem, "", &pipedream.placement, &schedule.method, schedule.solver.clone());
    let alt_ok = timing::time_modulo_capped(&mut alt, cap);
    let key =
        |ok: bool, s: &Schedule| (!ok, if ok { s.period_cycles } else { max_staleness(s) }, s.period_cycles);
    let (mut chosen, ok, from) = if key(alt_ok, &alt) < key(own_ok, &own) {
        (alt, alt_ok, "PipeDream's")
    } else {
        (own, own_ok, "its own")
    };
    let what = if ok {
        format!(
            "period raised from {free_period} to {} ({from} placement) to keep staleness ≤ {cap}",
            chosen.period_cycles
        )
    } else {
        format!(
            "staleness ≤ {cap} not reached (best: {}); period {}",
            max_staleness(&chosen),
            chosen.period_cycles
        )
    };
    chosen.solver.note = Some(match chosen.solver.note.take() {
        Some(n) => format!("{n}; {what}"),
        None => what,
    });
    Ok(chosen)
}
