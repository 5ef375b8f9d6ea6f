//! SpikePipe IR: the plain data every pass and backend agrees on.
//!
//! - [`ModelSpec`], [`HardwareSpec`]: what users write in YAML (DESIGN §2).
//! - [`Network`]: the model after shape inference, one entry per weight layer.
//! - [`TaskGraph`]: training tasks `F S E G W U` per layer and their edges (DESIGN §4).
//! - [`Schedule`]: the versioned periodic schedule file (DESIGN §7), and
//!   [`verify_schedule`], which checks every rule a schedule must keep.
//! - [`Timetable`]: the chunks, transfers and period of a schedule or of a timed
//!   placement that is not a file yet; staleness, traffic, memory and the verifier's
//!   timing rules read it, so both are judged by one copy of each rule.
//!
//! No algorithms beyond the verifier live here; no solver, CLI or numeric dependency.
#![deny(missing_docs)]

mod hardware;
mod memory;
mod model;
mod network;
mod schedule;
mod staleness;
mod task_graph;
mod timetable;
mod traffic;
mod verify;

pub use hardware::{ArraySpec, BitsSpec, Dataflow, HardwareSpec, LinkSpec};
pub use memory::{
    buffers, memory_span_periods, peak_memory, peak_memory_bytes, point_times, static_memory,
    static_memory_bytes, Buffer, MemoryKind, MemoryOptions, Point, ProcessorMemory,
};
pub use model::{
    Encoding, LayerSpec, Loss, LrSchedule, ModelSpec, NeuronKind, NeuronOverride, NeuronSpec, Optimizer,
    PoolKind, Reset, Surrogate, SurrogateKind, TrainingSpec,
};
pub use network::{LayerOp, Network, Pool, WeightLayer};
pub use schedule::{
    chunk_elements, expected_reduce_cycles, expected_reduce_cycles_per_chunk, partial_sums, partials,
    range_elements, reduction_inputs, samples_overlap, Chunk, ChunkRange, LayerStaleness, Metrics, ModelInfo,
    Schedule, ScheduleEdge, ScheduledTask, SolverInfo, SolverStatus, SplitDim, Transfer, SCHEDULE_FORMAT,
};
pub use staleness::{
    arrivals, compute_staleness, staleness_between, staleness_of, staleness_summary, weights_ready, Arrivals,
};
pub use task_graph::{Dependence, EdgeKind, Task, TaskGraph, TaskKind, Work};
pub use timetable::{AsTimetable, TaskIndex, Timetable};
pub use traffic::{
    consumer_share, edge_transfers, range_share, required_transfers, scale_bytes, share, PlacedSite, Share,
    Side, Site,
};
pub use verify::{verify_schedule, verify_timetable, Violation, Violations};

/// FNV-1a 64-bit hash, as 16 hex digits; used for `spec_hash` (stable across platforms).
///
/// ```
/// assert_eq!(spikepipe_ir::fnv1a_hex(b""), "cbf29ce484222325");
/// ```
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
