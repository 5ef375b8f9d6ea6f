//! Pass 4: schedule. Every method turns the costed task graph into a [`Placement`]
//! (which chunk runs on which processor); [`timing`] then finds the period and the start
//! of every chunk and transfer on its [`timed::draft`], and [`crate::emit`] (which nothing here
//! imports) finishes that into the schedule file.
//!
//! Methods, one module each behind [`Scheduler`]: the standard ones [`data_parallel`],
//! [`pipedream`] (with replicated stages) and [`gpipe`] (tuned micro-batches), the old
//! [`layerwise`], and ours, [`heuristic`] and [`ilp`], which choose among
//! [`candidates`] (fine-grained GEMM cuts, data parallelism, replicated stages and
//! their hybrids) the fastest that keeps a staleness cap.

pub mod candidates;
pub mod cyclic;
pub mod data_parallel;
pub mod gpipe;
pub mod heuristic;
pub mod ilp;
pub mod layerwise;
pub mod pipedream;
pub mod refine;
pub mod reservations;
pub mod split;
pub mod spread;
pub mod stages;
pub mod timed;
pub mod timing;

use std::fmt;
use std::str::FromStr;

use spikepipe_ir::{ChunkRange, HardwareSpec, Network, SolverInfo, SolverStatus, TaskGraph, TaskKind};

use crate::cost::CostModel;
use crate::ScheduleError;

/// A scheduling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Assignment + splitting ILP, then ordering (good_lp + microlp), heuristic fallback.
    Ilp,
    /// The fastest of fine-grained GEMM cuts, data parallelism and replicated stages
    /// (and their hybrids) within the staleness cap.
    Heuristic,
    /// Every task split by samples over all processors, weights all-reduced; staleness 0.
    DataParallel,
    /// PipeDream's planner: contiguous stages of whole layers, replicated where it pays.
    Pipedream,
    /// Equal numbers of whole layers per processor.
    Layerwise,
    /// Synchronous pipeline with micro-batches (count tuned) and a flush (no staleness).
    Gpipe,
}

impl Method {
    /// Every method, best first.
    pub const ALL: [Method; 6] = [
        Method::Ilp,
        Method::Heuristic,
        Method::DataParallel,
        Method::Pipedream,
        Method::Layerwise,
        Method::Gpipe,
    ];

    /// The standard methods a user would pick instead of ours, as their papers describe
    /// them; speedups are stated against the fastest of these.
    pub const STANDARD: [Method; 3] = [Method::DataParallel, Method::Pipedream, Method::Gpipe];

    /// Whether the method is one of [`Method::STANDARD`].
    pub fn is_standard(self) -> bool {
        Method::STANDARD.contains(&self)
    }

    /// Whether the method's schedules are synchronous (staleness 0 by construction).
    pub fn is_synchronous(self) -> bool {
        matches!(self, Method::DataParallel | Method::Gpipe)
    }

    /// The CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Method::Ilp => "ilp",
            Method::Heuristic => "heuristic",
            Method::DataParallel => "data-parallel",
            Method::Pipedream => "pipedream",
            Method::Layerwise => "layerwise",
            Method::Gpipe => "gpipe",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Method, String> {
        Method::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let known: Vec<&str> = Method::ALL.iter().map(|m| m.name()).collect();
            format!("unknown method `{s}` (known: {})", known.join(", "))
        })
    }
}

/// Everything a scheduler reads.
pub struct Problem<'a> {
    /// The costed task graph.
    pub graph: &'a TaskGraph,
    /// Shapes (to map chunk ranges to samples).
    pub network: &'a Network,
    /// The hardware, with the P to schedule for.
    pub hardware: &'a HardwareSpec,
    /// The cost model.
    pub cost: &'a dyn CostModel,
}

impl Problem<'_> {
    /// Number of processors P.
    pub fn processors(&self) -> u32 {
        self.hardware.processors as u32
    }
    /// Tasks in node order.
    pub fn tasks(&self) -> impl Iterator<Item = &spikepipe_ir::Task> {
        self.graph.graph.node_weights()
    }
}

/// A chunk placed on a processor, not yet timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedChunk {
    /// Processor.
    pub processor: u32,
    /// Part of the task.
    pub range: ChunkRange,
    /// Cycles.
    pub cycles: u64,
}

/// Where every task's chunks run, indexed like the graph's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Chunks per task.
    pub chunks: Vec<Vec<PlacedChunk>>,
}

impl Placement {
    /// Every task whole on the processor `proc_of(task index)`.
    pub fn whole_tasks(p: &Problem, proc_of: impl Fn(usize) -> u32) -> Placement {
        let chunks = p
            .tasks()
            .enumerate()
            .map(|(i, t)| {
                vec![PlacedChunk { processor: proc_of(i), range: split::whole(), cycles: t.cycles }]
            })
            .collect();
        Placement { chunks }
    }

    /// The placement of a timed (or drafted) placement; reduction work is left out of
    /// the chunks' cycles (drafting adds it again).
    pub fn of_timed(s: &timed::Timed) -> Placement {
        let chunks = s
            .tasks
            .iter()
            .map(|t| {
                t.chunks
                    .iter()
                    .map(|c| PlacedChunk {
                        processor: c.processor,
                        range: c.range,
                        cycles: c.cycles - c.reduce_cycles,
                    })
                    .collect()
            })
            .collect();
        Placement { chunks }
    }

    /// Busy cycles per processor.
    pub fn loads(&self, processors: u32) -> Vec<u64> {
        let mut loads = vec![0; processors as usize];
        for c in self.chunks.iter().flatten() {
            loads[c.processor as usize] += c.cycles;
        }
        loads
    }
}

/// What a scheduler returns: a placement (or a timed one, for methods that time their
/// own chunks) plus how it was found.
pub struct Outcome {
    /// The placement.
    pub placement: Placement,
    /// Solver record for the schedule file.
    pub solver: SolverInfo,
    /// A fixed period and starts, when the method times chunks itself (gpipe).
    pub timed: Option<timed::Timed>,
    /// Other placements worth timing under a staleness cap, where the fastest uncapped
    /// placement may be too stale (the ILP's solver placement when its packing walk
    /// found a faster one).
    pub alternatives: Vec<Placement>,
}

impl Outcome {
    /// A placement found by an algorithm with no optimality claim.
    pub fn feasible(placement: Placement, name: &str) -> Outcome {
        Outcome {
            placement,
            solver: SolverInfo {
                name: name.into(),
                status: SolverStatus::Feasible,
                seconds: 0.0,
                gap: None,
                note: None,
            },
            timed: None,
            alternatives: vec![],
        }
    }
}

/// A scheduling method.
pub trait Scheduler {
    /// The method's name.
    fn name(&self) -> &'static str;
    /// Places (and possibly times) every task.
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError>;
}

/// The largest chunk no method can avoid for a task: GEMMs cut P ways along their best
/// dimension (M, N, or samples), element-wise tasks P ways along their elements (whole
/// samples for neuron tasks, whose recurrence runs over time within a sample).
fn smallest_largest_chunk(p: &Problem, t: &spikepipe_ir::Task) -> u64 {
    let procs = p.processors() as u64;
    let by_samples =
        stages::split_by_samples(p, t, &(0..procs.min(u32::MAX as u64) as u32).collect::<Vec<_>>());
    let sampled = by_samples.iter().map(|c| c.cycles).max().unwrap_or(t.cycles);
    match t.kind {
        TaskKind::Update | TaskKind::Neuron | TaskKind::NeuronBackward => sampled,
        _ => split::best_split(p, t, procs).1.min(sampled),
    }
}

/// The least cycles a task's chunks can add up to, however it is cut. With a fixed
/// dataflow that is the whole task's cycles (every chunk pays its own fill). Under
/// `dataflow: best` each chunk picks its own dataflow, so two chunks can cost less than
/// the whole; there only the array's peak rate and one fill are certain:
/// `⌈m·k·n / (R·C)⌉ + R + C − 2` cycles (every fold streams at most R·C MACs a cycle, and
/// some chunk pays the array's fill).
fn least_total_cycles(p: &Problem, t: &spikepipe_ir::Task) -> u64 {
    match (p.hardware.array.dataflow, t.work) {
        (spikepipe_ir::Dataflow::Best, spikepipe_ir::Work::Gemm { m, k, n }) => {
            let (r, c) = (p.hardware.array.rows.max(1) as u128, p.hardware.array.cols.max(1) as u128);
            let macs = (m as u128) * (k as u128) * (n as u128);
            let least = macs.div_ceil(r * c) + r + c - 2;
            t.cycles.min(least.min(u64::MAX as u128) as u64)
        }
        _ => t.cycles,
    }
}

/// `LB = max(ceil(total work / P), largest indivisible chunk)` (DESIGN §6); the total
/// counts each task at [`least_total_cycles`].
pub fn lower_bound(p: &Problem) -> u64 {
    let total: u64 = p.tasks().map(|t| least_total_cycles(p, t)).sum();
    let spread = total.div_ceil(p.processors().max(1) as u64);
    let chunk = p.tasks().map(|t| smallest_largest_chunk(p, t)).max().unwrap_or(0);
    spread.max(chunk).max(1)
}

/// Prints the schedulers' progress to stderr when `SPIKEPIPE_TRACE` is set (the ILP's
/// rounds and walk, the reordering and the refinement; `bench/ilp_prove.sh` reads the
/// line that ends phase 1).
pub fn trace(args: std::fmt::Arguments) {
    if std::env::var_os("SPIKEPIPE_TRACE").is_some() {
        eprintln!("[ilp] {args}");
    }
}

/// The scheduler of a method.
pub fn scheduler(method: Method, opts: &crate::CompileOptions) -> Box<dyn Scheduler> {
    match method {
        Method::Ilp => Box::new(ilp::Ilp::new(opts)),
        Method::Heuristic => Box::new(heuristic::Heuristic { max_staleness: opts.max_staleness }),
        Method::DataParallel => Box::new(data_parallel::DataParallel),
        Method::Pipedream => Box::new(pipedream::Pipedream),
        Method::Layerwise => Box::new(layerwise::Layerwise),
        Method::Gpipe => Box::new(gpipe::Gpipe { micro_batches: opts.micro_batches }),
    }
}
