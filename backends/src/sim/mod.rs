//! The cycle simulator (DESIGN §8): runs N iterations (minibatches) of a periodic
//! [`Schedule`] on P processors with link contention, event by event.
//!
//! # Semantics
//!
//! * A *chunk instance* is chunk `c` of iteration `i`. It starts at the earliest time at
//!   which (1) its processor is free, (2) its scheduled slot `start_c + i·II` has come,
//!   and (3) every input has arrived. Each processor runs its instances strictly in the
//!   order of their scheduled slots.
//! * Inputs: for every data edge `u→v` and every chunk of `u` whose `samples` overlap the
//!   consumer chunk's, the consumer waits for that chunk's end (same processor) or for the
//!   arrival of the transfer `(edge, from_chunk, dst)` (other processor). Weight-feedback
//!   transfers (updated weights sent to `F`/`G` chunks on other processors) occupy their
//!   links like any transfer, but nothing waits for them: the schedule's staleness says
//!   which iteration's weights a reader uses.
//! * A *transfer instance* becomes ready when its producing chunk instance ends, and not
//!   before its scheduled slot `start_t + i·II`. It then queues FIFO (by ready time; ties
//!   in event order, which is deterministic) on its link and occupies it for
//!   `transfer.cycles`. [`LinkModel::Dedicated`]: one link per ordered processor pair;
//!   [`LinkModel::Shared`]: one bus carries every transfer.
//!
//! # Reported figures (see [`SimReport`])
//!
//! * `finish(i)`: end of the last chunk instance of iteration `i`.
//! * **Achieved period**: with `h = min(⌊N/2⌋, N−2)`,
//!   `(finish(N−1) − finish(h)) / (N−1−h)` cycles — the mean spacing of iteration
//!   completions over the second half of the run (undefined, `null`, for N = 1). A valid
//!   schedule on dedicated links achieves exactly `period_cycles`. The figure is a
//!   steady-state one only if the window starts after the pipeline filled
//!   (`h ≥ max_in_flight`, reported as `steady_state_reached`); before that, a run
//!   delayed by contention may still be catching up, and the measured spacing can even be
//!   below `period_cycles`. Run at least `recommended_iterations` (= 2·max_in_flight + 2).
//! * **Busy %** of a processor: busy cycles / total cycles of the run (fill and drain
//!   included); **bubble %** = 100 − busy %. **Steady-state %**: busy cycles of one
//!   iteration / achieved period.
//! * **In flight**: an iteration is in flight from the start of its first chunk instance
//!   until the end of its last (`[start, finish)`); `max_in_flight` is the largest number
//!   in flight at once — the activation sets that must be stored.
//! * **Peak memory** per processor: the most bytes live at once during the run, counting
//!   the buffers of [`spikepipe_ir::buffers`] at the times the run really allocated and
//!   freed them, plus the static weights and optimizer state
//!   ([`spikepipe_ir::static_memory`]). After the pipeline has filled it equals the
//!   schedule's predicted `metrics.peak_memory_bytes`; `memory_span_periods` says how
//!   many iterations that takes (`recommended_iterations` covers it).
//! * **Observed staleness** of layer l: for `F_l` of iteration i, let `j` be the newest
//!   iteration whose `U_l` (all chunks) had reached the processor of the first chunk of
//!   `F_l(i)` when it started — ended there, or its weights' transfer arrived there
//!   (`j = −1` if none). `F_l(i)` then reads weights carrying the updates of
//!   iterations ≤ j, i.e. staleness `i − 1 − j`. The report gives the maximum over all
//!   iterations (likewise for `G_l`), next to the schedule's `s_l`/`s'_l` (DESIGN §6).
//! * **Bytes between processors**: bytes of all simulated transfer instances (the
//!   activation/gradient traffic, partial sums and updated weights).
//!
//! ```
//! use spikepipe_backends::sim::{simulate, synthetic, SimConfig};
//! let s = synthetic::pipeline_schedule(&synthetic::SyntheticSpec::default());
//! let r = simulate(&s, &SimConfig::default()).unwrap();
//! assert_eq!(r.achieved_period_cycles, Some(s.period_cycles as f64));
//! ```

mod engine;
pub mod gantt;
mod memory;
mod plan;
mod report;
pub mod synthetic;
pub mod trace;

use std::fmt;

use spikepipe_ir::{verify_schedule, Schedule, Violations};

pub use memory::MemorySample;
pub use report::{human_bytes, LinkUsage, ObservedStaleness, ProcessorUtilization, SimReport};
pub use trace::{ChunkEvent, Trace, TransferEvent};

/// How transfers share the interconnect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LinkModel {
    /// One link per ordered pair of processors (`src → dst`).
    #[default]
    Dedicated,
    /// One bus shared by every transfer.
    Shared,
}

impl LinkModel {
    /// `dedicated` or `shared`.
    pub fn name(self) -> &'static str {
        match self {
            LinkModel::Dedicated => "dedicated",
            LinkModel::Shared => "shared",
        }
    }
}

/// Simulation parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Iterations (minibatches) N to run, ≥ 1.
    pub iterations: u32,
    /// Interconnect model.
    pub links: LinkModel,
    /// Record every chunk and transfer instance (for traces and Gantt charts).
    pub record_trace: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { iterations: 20, links: LinkModel::Dedicated, record_trace: false }
    }
}

/// Why a simulation could not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// The schedule breaks rules of the format (every violation listed).
    Invalid(Violations),
    /// A configuration value is out of range.
    Config(String),
    /// No instance could progress (impossible for verified schedules; reported defensively).
    Deadlock {
        /// Time at which progress stopped.
        at_cycle: u64,
        /// The blocked instances at the head of each processor, e.g. `p1: F2[0] it4`.
        blocked: Vec<String>,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Invalid(v) => write!(f, "invalid schedule: {v}"),
            SimError::Config(m) => write!(f, "bad simulation settings: {m}"),
            SimError::Deadlock { at_cycle, blocked } => {
                write!(f, "simulation deadlocked at cycle {at_cycle}; blocked: {}", blocked.join(", "))
            }
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimError::Invalid(v) => Some(v),
            _ => None,
        }
    }
}

/// Verifies `schedule` ([`verify_schedule`]) and simulates `config.iterations` iterations.
pub fn simulate(schedule: &Schedule, config: &SimConfig) -> Result<SimReport, SimError> {
    verify_schedule(schedule).map_err(SimError::Invalid)?;
    let plan = plan::Plan::build(schedule, config)?;
    let mem = memory::Tracker::new(schedule, &plan, config.iterations, config.record_trace);
    let outcome = engine::run(&plan, config, Some(mem))?;
    Ok(report::build(schedule, &plan, config, outcome))
}

/// Simulation without re-running the verifier, for benchmarks that simulate one verified
/// schedule many times. Returns the number of chunk instances simulated and the total cycles.
///
/// The caller must have verified `schedule` (otherwise the result is meaningless, though
/// never unsafe).
pub fn simulate_unverified_counts(schedule: &Schedule, config: &SimConfig) -> Result<(u64, u64), SimError> {
    let plan = plan::Plan::build(schedule, config)?;
    let outcome = engine::run(&plan, config, None)?;
    Ok((outcome.chunk_instances, outcome.total_cycles))
}
