//! The schedule file `spikepipe-schedule/2` (docs/design.md §8): the one contract between the
//! compiler and both backends.
//!
//! A schedule is periodic: chunk `c` starts at `start + i·period_cycles` in iteration
//! (minibatch) `i`. Every field is plain data written in a fixed order, so the same
//! inputs give a byte-identical file (see [`Schedule::to_json`]).
//!
//! ```
//! use spikepipe_ir::{Schedule, SCHEDULE_FORMAT};
//! let text = include_str!("../tests/data/two-tasks.json");
//! let s = Schedule::from_json(text).unwrap();
//! assert_eq!(s.format, SCHEDULE_FORMAT);
//! assert_eq!(s.to_json(), text.trim_end());
//! ```

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::staleness::staleness_summary;
use crate::{AsTimetable, EdgeKind, HardwareSpec, TaskKind, Timetable, Work};

/// The `format` value of files this crate reads and writes.
pub const SCHEDULE_FORMAT: &str = "spikepipe-schedule/2";

/// A complete periodic schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Always [`SCHEDULE_FORMAT`].
    pub format: String,
    /// Which model this schedules.
    pub model: ModelInfo,
    /// The hardware, with `processors` = the P actually used.
    pub hardware: HardwareSpec,
    /// Scheduling method (`ilp`, `heuristic`, `pipedream`, `layerwise`, `gpipe`).
    pub method: String,
    /// Micro-batches per minibatch (`gpipe` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub micro_batches: Option<u64>,
    /// How the schedule was found.
    pub solver: SolverInfo,
    /// The period II: cycles per minibatch in steady state.
    pub period_cycles: u64,
    /// `max(ceil(total work / P), largest indivisible chunk)`.
    pub lower_bound_cycles: u64,
    /// Every task with its chunks.
    pub tasks: Vec<ScheduledTask>,
    /// Every edge of the task graph (distance-0 data edges and weight feedback).
    pub edges: Vec<ScheduleEdge>,
    /// Every inter-processor transfer of a distance-0 edge, with its start time.
    pub transfers: Vec<Transfer>,
    /// Staleness per weight layer, derived from the starts (DESIGN §6).
    pub staleness: Vec<LayerStaleness>,
    /// Summary metrics.
    pub metrics: Metrics,
}

/// Model identity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    /// Model name.
    pub name: String,
    /// FNV-1a 64-bit hash (hex) of the canonical model and hardware specs.
    pub spec_hash: String,
    /// Number of weight layers L.
    pub layers: u32,
    /// Minibatch size B (chunk sample ranges are within `0..batch`).
    pub batch: u64,
    /// The optimizer, whose state (Adam's two moments) counts in the memory a schedule
    /// needs. `None` in files written before it was recorded: no optimizer state counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<crate::Optimizer>,
}

/// Solver outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverInfo {
    /// Solver or algorithm name (`microlp`, `heuristic`, `dynamic-programming`, …).
    pub name: String,
    /// Outcome.
    pub status: SolverStatus,
    /// Wall-clock seconds spent (0 with `--reproducible`).
    pub seconds: f64,
    /// Relative gap to the best proven bound of the period, if known.
    pub gap: Option<f64>,
    /// Human-readable remark (why a fallback happened, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a schedule's optimality stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolverStatus {
    /// Proven optimal for its objective.
    Optimal,
    /// Valid, optimality not proven (heuristics, baselines).
    Feasible,
    /// The solver hit its time limit and returned its best incumbent.
    TimeLimit,
    /// The solver failed or timed out without an incumbent; the heuristic's schedule is used.
    Fallback,
}

impl SolverStatus {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            SolverStatus::Optimal => "optimal",
            SolverStatus::Feasible => "feasible",
            SolverStatus::TimeLimit => "time_limit",
            SolverStatus::Fallback => "fallback",
        }
    }
}

/// One task and the chunks it was split into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledTask {
    /// Task id (`F1`, `G2`, …).
    pub id: String,
    /// 1-based weight layer.
    pub layer: u32,
    /// Kind.
    pub kind: TaskKind,
    /// The task's whole work.
    pub work: Work,
    /// Cycles of the unsplit task.
    pub cycles: u64,
    /// Chunks; together they cover the work exactly once.
    pub chunks: Vec<Chunk>,
}

impl ScheduledTask {
    /// The distinct processors holding its chunks, in increasing order.
    pub fn processors(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.chunks.iter().map(|c| c.processor).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// A piece of a task placed on one processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chunk {
    /// Processor index `0..P`.
    pub processor: u32,
    /// Start cycle in iteration 0.
    pub start: u64,
    /// Duration in cycles (costed on the array by the same formula as whole tasks).
    pub cycles: u64,
    /// Which part of the work.
    pub range: ChunkRange,
    /// Samples of the minibatch this chunk touches, `[first, end)`.
    pub samples: [u64; 2],
    /// Cycles (included in `cycles`) spent summing partial sums that other processors
    /// sent: non-zero only for a consumer of a task split along `K` over several
    /// processors (see [`reduction_inputs`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reduce_cycles: u64,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

impl Chunk {
    /// End cycle in iteration 0.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.cycles)
    }
}

/// A contiguous range along one dimension of a task's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkRange {
    /// Dimension split.
    pub dim: SplitDim,
    /// First index.
    pub start: u64,
    /// One past the last index.
    pub end: u64,
    /// A GEMM cut along `N` may also be cut along its rows `M`, by whole samples: the
    /// chunk is then the tile of rows `[first, end)` × columns `start..end` (on a wide
    /// array a sample slice pays the array's fill once per weight fold, a column slice
    /// does not shorten the stream, and a tile of both does both). `None`: every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<[u64; 2]>,
}

impl ChunkRange {
    /// The range `start..end` of `dim`, every row.
    pub fn along(dim: SplitDim, start: u64, end: u64) -> ChunkRange {
        ChunkRange { dim, start, end, rows: None }
    }
    /// The rows `[first, end)` of `m` it covers: its `rows`, else all of them.
    pub fn row_span(&self, m: u64) -> [u64; 2] {
        self.rows.unwrap_or([0, m])
    }
    /// Length of the range.
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The dimension a task is split along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitDim {
    /// Not split: the range is `0..1`.
    Whole,
    /// GEMM rows M.
    M,
    /// GEMM columns N.
    N,
    /// GEMM reduction K: every chunk produces a full-size partial sum. Chunks on one
    /// processor accumulate in place; partials from several processors are summed by the
    /// consumer (its `reduce_cycles`), after a reduce-scatter over the links.
    K,
    /// Element-wise work: a range of elements.
    Elements,
}

impl SplitDim {
    /// Size of this dimension for a task's work.
    pub fn size(self, work: &Work) -> Option<u64> {
        match (self, *work) {
            (SplitDim::Whole, _) => Some(1),
            (SplitDim::M, Work::Gemm { m, .. }) => Some(m),
            (SplitDim::N, Work::Gemm { n, .. }) => Some(n),
            (SplitDim::K, Work::Gemm { k, .. }) => Some(k),
            (SplitDim::Elements, Work::Elementwise { elements, .. }) => Some(elements),
            _ => None,
        }
    }
}

/// An edge of the task graph, by task id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleEdge {
    /// Producer task id.
    pub from: String,
    /// Consumer task id.
    pub to: String,
    /// Data (distance 0) or weight feedback.
    pub kind: EdgeKind,
    /// Bytes of the whole tensor.
    pub bytes: u64,
    /// If the consumer is split along this dimension, each of its chunks needs only its
    /// share of the tensor (e.g. `F` split along M reads only its rows of the spikes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sliced_by: Option<SplitDim>,
}

/// A transfer of part of an edge's tensor from one chunk to another processor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Index into `edges`.
    pub edge: usize,
    /// Index of the producing chunk in the producer task's `chunks`.
    pub from_chunk: usize,
    /// Source processor (the producing chunk's).
    pub src: u32,
    /// Destination processor.
    pub dst: u32,
    /// Bytes moved: the edge's bytes times the producing chunk's share, rounded up.
    pub bytes: u64,
    /// Start cycle in iteration 0 (after the producing chunk ends).
    pub start: u64,
    /// `latency + ceil(bytes / bandwidth)`.
    pub cycles: u64,
}

impl Transfer {
    /// Arrival cycle in iteration 0.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.cycles)
    }
}

/// Staleness of one weight layer (DESIGN §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerStaleness {
    /// 1-based weight layer.
    pub layer: u32,
    /// s_l: forward pass of iteration i uses updates of iterations ≤ i − 1 − s_l.
    pub forward: u64,
    /// s'_l for the input-gradient GEMM (`null` for layer 1, which has none).
    pub input_grad: Option<u64>,
}

impl LayerStaleness {
    /// The larger of the forward and input-gradient staleness.
    pub fn max(&self) -> u64 {
        self.forward.max(self.input_grad.unwrap_or(0))
    }
    /// Forward plus input-gradient staleness.
    pub fn total(&self) -> u64 {
        self.forward + self.input_grad.unwrap_or(0)
    }
}

/// Summary metrics of a schedule (all zero by default, before they are computed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Mean over processors of busy cycles per period.
    pub utilization: f64,
    /// Busy cycles per period of each processor.
    pub processor_utilization: Vec<f64>,
    /// Bytes per iteration crossing between processors: every transfer of the schedule
    /// (activations and gradients, partial sums, and updated weights sent to `F`/`G`
    /// chunks on other processors).
    pub bytes_between_processors: u64,
    /// Bytes one iteration moves in all: every edge's tensor plus the input minibatch.
    pub bytes_total: u64,
    /// `bytes_between_processors / bytes_total`.
    pub comm_overhead: f64,
    /// Operand traffic of every chunk on its own array in one iteration: SCALE-Sim's SRAM
    /// reads and writes of ifmap, filter and ofmap (element-wise chunks: their elements
    /// read and written), in bytes (docs/comm-metric.md).
    #[serde(default)]
    pub operand_bytes: u64,
    /// The paper's figure: `bytes_between_processors / (operand_bytes + bytes_total)`.
    #[serde(default)]
    pub comm_overhead_paper: f64,
    /// Peak bytes live on each processor in steady state ([`crate::peak_memory_bytes`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub peak_memory_bytes: Vec<u64>,
}

impl Schedule {
    /// Reads a schedule from JSON (no validation beyond the types; see [`crate::verify_schedule`]).
    pub fn from_json(text: &str) -> Result<Schedule, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Pretty JSON in a fixed field order; byte-identical for equal schedules.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&ScheduledTask> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Number of processors P.
    pub fn processors(&self) -> u32 {
        self.hardware.processors as u32
    }

    /// Maximum forward and input-gradient staleness.
    pub fn max_staleness(&self) -> u64 {
        staleness_summary(&self.staleness).0
    }
}

/// Whether two sample ranges `[a0,a1)` and `[b0,b1)` intersect.
pub fn samples_overlap(a: [u64; 2], b: [u64; 2]) -> bool {
    a[0] < b[1] && b[0] < a[1]
}

/// Every `K`-split producer feeding `v` whose chunks sit on more than one processor,
/// with the number of partial sums (distinct processors) it sends: `(task, partials)`.
/// Each chunk of `v` sums them (see [`Chunk::reduce_cycles`]).
pub fn reduction_inputs<'a>(s: &'a impl AsTimetable, v: &ScheduledTask) -> Vec<(&'a ScheduledTask, u64)> {
    let s = s.timetable();
    s.edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Data && e.to == v.id)
        .filter_map(|e| s.task(&e.from))
        .filter_map(|u| {
            let parts = partials(u);
            (parts > 1).then_some((u, parts))
        })
        .collect()
}

/// Distinct processors holding chunks of a `K`-split task (1 for any other split).
pub fn partials(u: &ScheduledTask) -> u64 {
    let dim = u.chunks.first().map_or(SplitDim::Whole, |c| c.range.dim);
    partial_sums(dim, u.chunks.iter().map(|c| c.processor))
}

/// The rule of [`partials`] for a task cut along `dim` with chunks on `processors`
/// (repeats allowed), so a placement that is not yet a schedule counts the same way.
pub fn partial_sums(dim: SplitDim, processors: impl IntoIterator<Item = u32>) -> u64 {
    if dim != SplitDim::K {
        return 1;
    }
    let mut procs: Vec<u32> = processors.into_iter().collect();
    procs.sort_unstable();
    procs.dedup();
    procs.len() as u64
}

/// Elements of a chunk of element-wise work (its range, or the whole task).
pub fn chunk_elements(task: &ScheduledTask, chunk: &Chunk) -> u64 {
    range_elements(&task.work, chunk.range)
}

/// Elements of the part `range` of `work` that a reduction sums over: an element range's
/// length, else the whole output (an element-wise task's elements, a GEMM's `m·n`).
pub fn range_elements(work: &Work, range: ChunkRange) -> u64 {
    match (range.dim, *work) {
        (SplitDim::Elements, _) => range.len(),
        (_, Work::Elementwise { elements, .. }) => elements,
        (_, Work::Gemm { m, n, .. }) => m.saturating_mul(n),
    }
}

/// The reduction cycles a chunk of `v` owes: summing every multi-processor partial sum
/// it receives, over its own elements.
pub fn expected_reduce_cycles(s: &impl AsTimetable, v: &ScheduledTask, chunk: &Chunk) -> u64 {
    let s = s.timetable();
    reduce_cycles_with(&s, v, chunk, &reduction_inputs(&s, v))
}

/// [`expected_reduce_cycles`] of every chunk of every task, `[task][chunk]`: one pass
/// over the edges with the tasks indexed, where asking task by task would scan every
/// edge for each (the heuristic drafts thousands of placements of VGG-16's 83 tasks).
pub fn expected_reduce_cycles_per_chunk(s: &impl AsTimetable) -> Vec<Vec<u64>> {
    let s = s.timetable();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, t) in s.tasks.iter().enumerate() {
        index.entry(t.id.as_str()).or_insert(i);
    }
    let parts: Vec<u64> = s.tasks.iter().map(partials).collect();
    let mut owed: Vec<Vec<u64>> = s.tasks.iter().map(|t| vec![0; t.chunks.len()]).collect();
    // A repeated task id (which the verifier reports) is charged at its first task.
    for e in s.edges.iter().filter(|e| e.kind == EdgeKind::Data) {
        let (Some(&u), Some(&v)) = (index.get(e.from.as_str()), index.get(e.to.as_str())) else { continue };
        if parts[u] < 2 {
            continue;
        }
        let task = &s.tasks[v];
        for (c, chunk) in task.chunks.iter().enumerate() {
            let add = s.hardware.reduce_cycles(chunk_elements(task, chunk), parts[u]);
            // Saturating: a schedule file may hold any element counts.
            owed[v][c] = owed[v][c].saturating_add(add);
        }
    }
    owed
}

fn reduce_cycles_with(
    s: &Timetable<'_>,
    v: &ScheduledTask,
    chunk: &Chunk,
    inputs: &[(&ScheduledTask, u64)],
) -> u64 {
    inputs.iter().map(|&(_, parts)| s.hardware.reduce_cycles(chunk_elements(v, chunk), parts)).sum()
}
