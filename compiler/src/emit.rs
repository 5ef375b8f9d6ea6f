//! Pass 5: emit. Turns a placement into a `spikepipe-schedule/1` file: chunks with their
//! sample ranges, every edge, then (after timing) staleness and metrics, and finally
//! runs the verifier so no invalid schedule ever leaves the compiler.

use spikepipe_ir::{
    compute_staleness, expected_reduce_cycles, fnv1a_hex, verify_schedule, Chunk, Metrics, ModelInfo,
    Schedule, ScheduleEdge, ScheduledTask, SolverInfo, SCHEDULE_FORMAT,
};

use crate::lower::input_bytes;
use crate::schedule::{split, Placement, Problem};
use crate::{ScheduleError, Specs};

/// Hash of the canonical specs (model + hardware as JSON).
pub fn spec_hash(specs: &Specs) -> String {
    let model = serde_json::to_string(&specs.model).unwrap_or_default();
    let hw = serde_json::to_string(&specs.hardware).unwrap_or_default();
    fnv1a_hex(format!("{model}\n{hw}").as_bytes())
}

/// A schedule with every chunk placed at start 0 and no transfers yet.
pub fn draft(
    p: &Problem,
    spec_hash: &str,
    placement: &Placement,
    method: &str,
    solver: SolverInfo,
) -> Schedule {
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
            spec_hash: spec_hash.to_string(),
            layers: p.graph.layers(),
            batch: p.network.batch,
            optimizer: None,
        },
        hardware: p.hardware.clone(),
        method: method.to_string(),
        micro_batches: None,
        solver,
        period_cycles: 1,
        lower_bound_cycles: crate::schedule::lower_bound(p),
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

/// Fills staleness and metrics of a timed schedule and verifies it.
pub fn finish(p: &Problem, mut s: Schedule) -> Result<Schedule, ScheduleError> {
    s.staleness = compute_staleness(&s);
    s.metrics = metrics(p, &s);
    verify_schedule(&s)
        .map_err(|violations| ScheduleError::Invalid { method: s.method.clone(), violations })?;
    Ok(s)
}

fn metrics(p: &Problem, s: &Schedule) -> Metrics {
    let procs = s.hardware.processors as usize;
    let mut busy = vec![0u64; procs];
    for c in s.tasks.iter().flat_map(|t| &t.chunks) {
        busy[c.processor as usize] += c.cycles;
    }
    let ii = s.period_cycles.max(1) as f64;
    let processor_utilization: Vec<f64> = busy.iter().map(|&b| round6(b as f64 / ii)).collect();
    let utilization = round6(busy.iter().sum::<u64>() as f64 / (ii * procs.max(1) as f64));
    let between = s.transfers.iter().map(|t| t.bytes).sum::<u64>();
    let total = s.edges.iter().map(|e| e.bytes).sum::<u64>() + input_bytes(p.network, &p.hardware.bits);
    let operands = operand_bytes(p, s);
    Metrics {
        utilization,
        processor_utilization,
        bytes_between_processors: between,
        bytes_total: total,
        comm_overhead: round6(between as f64 / total.max(1) as f64),
        operand_bytes: operands,
        comm_overhead_paper: round6(between as f64 / operands.saturating_add(total).max(1) as f64),
        peak_memory_bytes: spikepipe_ir::peak_memory_bytes(s),
    }
}

/// Operand traffic of every chunk on its own array (the paper's denominator).
fn operand_bytes(p: &Problem, s: &Schedule) -> u64 {
    let mut sum = 0u64;
    for t in &s.tasks {
        let bits = crate::cost::operands::operand_bits(t.kind, &p.hardware.bits);
        for c in &t.chunks {
            let work = crate::schedule::split::chunk_work(&t.work, c.range.dim, c.range.start, c.range.end);
            sum = sum.saturating_add(p.cost.operand_bytes(&work, bits));
        }
    }
    sum
}

/// Rounds to 6 decimals so JSON output is stable and readable.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
