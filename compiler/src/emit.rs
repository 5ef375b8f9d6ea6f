//! Pass 5: emit. Turns the schedule passes' timed placement ([`Timed`]) into a
//! `spikepipe-schedule/2` file: the spec hash, staleness and metrics, derived once here,
//! and finally the verifier, so no invalid schedule ever leaves the compiler. This is
//! the only place a [`Schedule`] is built; emit reads the schedule passes' output and
//! they never call back into it.

use spikepipe_ir::{
    compute_staleness, fnv1a_hex, verify_schedule, Metrics, ModelInfo, Schedule, SCHEDULE_FORMAT,
};

use crate::lower::input_bytes;
use crate::schedule::timed::Timed;
use crate::schedule::Problem;
use crate::{ScheduleError, Specs};

/// Hash of the canonical specs (model + hardware as JSON).
pub fn spec_hash(specs: &Specs) -> String {
    let model = serde_json::to_string(&specs.model).unwrap_or_default();
    let hw = serde_json::to_string(&specs.hardware).unwrap_or_default();
    fnv1a_hex(format!("{model}\n{hw}").as_bytes())
}

/// The schedule file of a timed placement for `specs`: staleness and metrics derived,
/// then verified.
pub fn finish(p: &Problem, specs: &Specs, t: Timed) -> Result<Schedule, ScheduleError> {
    let staleness = compute_staleness(&t);
    let mut s = Schedule {
        format: SCHEDULE_FORMAT.to_string(),
        model: ModelInfo {
            name: p.graph.model.clone(),
            spec_hash: spec_hash(specs),
            layers: t.layers,
            batch: t.batch,
            optimizer: Some(specs.model.training.optimizer),
        },
        hardware: t.hardware,
        method: t.method,
        micro_batches: t.micro_batches,
        solver: t.solver,
        period_cycles: t.period_cycles,
        lower_bound_cycles: t.lower_bound_cycles,
        tasks: t.tasks,
        edges: t.edges,
        transfers: t.transfers,
        staleness,
        metrics: Metrics::default(),
    };
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
            let work = crate::schedule::split::chunk_work(&t.work, c.range);
            sum = sum.saturating_add(p.cost.operand_bytes(&work, bits));
        }
    }
    sum
}

/// Rounds to 6 decimals so JSON output is stable and readable.
pub fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
