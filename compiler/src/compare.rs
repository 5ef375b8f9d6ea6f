//! Compares scheduling methods over processor counts: one row per (method, P), with
//! speedups over the standard-pipelining baselines.

use rayon::prelude::*;
use serde::Serialize;
use spikepipe_ir::Schedule;

use crate::{compile, CompileOptions, Method, ScheduleError, Specs};

/// One line of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// Method name.
    pub method: String,
    /// P.
    pub processors: u64,
    /// Period II.
    pub period_cycles: u64,
    /// Lower bound.
    pub lower_bound_cycles: u64,
    /// II / LB.
    pub period_over_lb: f64,
    /// pipedream's II / this II.
    pub speedup_vs_pipedream: f64,
    /// layerwise's II / this II.
    pub speedup_vs_layerwise: f64,
    /// Largest staleness of any layer.
    pub max_staleness: u64,
    /// Mean forward staleness over layers.
    pub mean_staleness: f64,
    /// Bytes per iteration between processors.
    pub bytes_between_processors: u64,
    /// bytes between processors / all bytes moved.
    pub comm_overhead: f64,
    /// Peak bytes live per processor (the table and CSV show the largest).
    pub peak_memory_bytes: Vec<u64>,
    /// Solver wall time.
    pub solve_seconds: f64,
    /// Solver status.
    pub status: String,
}

/// `a / b` rounded to 6 decimals (`b` taken as at least 1): how speedups are reported.
pub fn ratio(a: u64, b: u64) -> f64 {
    crate::emit::round6(a as f64 / b.max(1) as f64)
}

/// Mean forward staleness over layers.
pub fn mean_staleness(s: &Schedule) -> f64 {
    let n = s.staleness.len().max(1) as f64;
    crate::emit::round6(s.staleness.iter().map(|l| l.forward as f64).sum::<f64>() / n)
}

/// Compiles `specs` with every method at every P and returns the rows plus the schedules,
/// in the order of `processors` then `methods`. pipedream and layerwise are always compiled
/// (for the speedups) but only listed if asked. Processor counts are compiled in parallel
/// (rayon); `progress` is called after each row, from whichever thread made it.
pub fn compare(
    specs: &Specs,
    processors: &[u64],
    methods: &[Method],
    base: &CompileOptions,
    progress: impl Fn(Method, u64) + Sync,
) -> Result<Vec<(CompareRow, Schedule)>, ScheduleError> {
    let per_p: Vec<Result<Vec<(CompareRow, Schedule)>, ScheduleError>> =
        processors.par_iter().map(|&p| compare_at(specs, p, methods, base, &progress)).collect();
    let mut rows = Vec::new();
    for r in per_p {
        rows.extend(r?);
    }
    Ok(rows)
}

/// The rows of one processor count.
fn compare_at(
    specs: &Specs,
    p: u64,
    methods: &[Method],
    base: &CompileOptions,
    progress: &(impl Fn(Method, u64) + Sync),
) -> Result<Vec<(CompareRow, Schedule)>, ScheduleError> {
    let mut specs_p = specs.clone();
    specs_p.hardware.processors = p;
    let run = |m: Method| {
        let opts = CompileOptions { method: m, ..base.clone() };
        compile(&specs_p, &opts)
    };
    let pipedream = run(Method::Pipedream)?;
    let layerwise = run(Method::Layerwise)?;
    let mut rows = Vec::new();
    for &m in methods {
        let s = match m {
            Method::Pipedream => pipedream.clone(),
            Method::Layerwise => layerwise.clone(),
            _ => run(m)?,
        };
        let row = CompareRow {
            method: m.name().into(),
            processors: p,
            period_cycles: s.period_cycles,
            lower_bound_cycles: s.lower_bound_cycles,
            period_over_lb: ratio(s.period_cycles, s.lower_bound_cycles),
            speedup_vs_pipedream: ratio(pipedream.period_cycles, s.period_cycles),
            speedup_vs_layerwise: ratio(layerwise.period_cycles, s.period_cycles),
            max_staleness: s.max_staleness(),
            mean_staleness: mean_staleness(&s),
            bytes_between_processors: s.metrics.bytes_between_processors,
            comm_overhead: s.metrics.comm_overhead,
            peak_memory_bytes: s.metrics.peak_memory_bytes.clone(),
            solve_seconds: s.solver.seconds,
            status: s.solver.status.name().into(),
        };
        progress(m, p);
        rows.push((row, s));
    }
    Ok(rows)
}
