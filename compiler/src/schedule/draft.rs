//! The schedule passes' working copy: a placement drafted as an `ir::Schedule` (every
//! chunk at start 0, its samples and reduction work filled in) for [`super::timing`]
//! to time. Only [`crate::emit`] finishes one into a file (spec hash, staleness,
//! metrics, verification), so the schedule passes never depend on emit.

use spikepipe_ir::{
    expected_reduce_cycles, Chunk, Metrics, ModelInfo, Schedule, ScheduleEdge, ScheduledTask, SolverInfo,
    SCHEDULE_FORMAT,
};

use super::{split, Placement, Problem};

/// A schedule with every chunk placed at start 0, no transfers and no spec hash yet.
pub fn draft(p: &Problem, placement: &Placement, method: &str, solver: SolverInfo) -> Schedule {
    let g = &p.graph.graph;
    let tasks = g
        .node_indices()
        .zip(&placement.chunks)
        .map(|(i, chunks)| {
            let t = &g[i];
            ScheduledTask {
                id: t.id(),
                layer: t.layer,
                kind: t.kind,
                work: t.work,
                cycles: t.cycles,
                chunks: chunks
                    .iter()
                    .map(|c| Chunk {
                        processor: c.processor,
                        start: 0,
                        cycles: c.cycles,
                        range: c.range,
                        samples: split::chunk_samples(p, t, c.range),
                        reduce_cycles: 0,
                    })
                    .collect(),
            }
        })
        .collect();
    let edges = g
        .raw_edges()
        .iter()
        .map(|e| ScheduleEdge {
            from: g[e.source()].id(),
            to: g[e.target()].id(),
            kind: e.weight.kind,
            bytes: e.weight.bytes,
            sliced_by: e.weight.sliced_by,
        })
        .collect();
    let mut s = Schedule {
        format: SCHEDULE_FORMAT.to_string(),
        model: ModelInfo {
            name: p.graph.model.clone(),
            spec_hash: String::new(),
            layers: p.graph.layers(),
            batch: p.network.batch,
            optimizer: None,
        },
        hardware: p.hardware.clone(),
        method: method.to_string(),
        micro_batches: None,
        solver,
        period_cycles: 1,
        lower_bound_cycles: super::lower_bound(p),
        tasks,
        edges,
        transfers: Vec::new(),
        staleness: Vec::new(),
        metrics: Metrics::default(),
    };
    add_reductions(&mut s);
    s
}

/// Charges every consumer of partial sums from several processors the vector-unit work
/// of summing them (`reduce_cycles`, included in its `cycles`).
fn add_reductions(s: &mut Schedule) {
    let owed: Vec<Vec<u64>> =
        s.tasks.iter().map(|t| t.chunks.iter().map(|c| expected_reduce_cycles(s, t, c)).collect()).collect();
    for (t, owed) in s.tasks.iter_mut().zip(owed) {
        for (c, r) in t.chunks.iter_mut().zip(owed) {
            c.reduce_cycles = r;
            c.cycles += r;
        }
    }
}
