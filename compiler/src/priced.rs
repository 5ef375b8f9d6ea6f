//! Period and staleness as one objective: a *staleness cost* c says how many more
//! iterations training needs per update of staleness (0.05: each update of the largest
//! staleness costs 5 % more iterations to the same accuracy), so a schedule of period II
//! and largest staleness s is expected to reach an accuracy in time proportional to
//!
//! ```text
//! II · (1 + c · s)
//! ```
//!
//! [`compile_priced`] compiles the method without a cap (or under the user's cap) and then
//! under every smaller cap, and keeps the schedule with the smallest estimate. c comes
//! from training: `spikepipe tune` measures it (docs/time-to-accuracy.md).
//!
//! ```
//! use spikepipe_compiler::priced::estimated_time;
//! // One update less is worth 0.16 % of the period when an update costs 8 % of iterations.
//! assert!(estimated_time(827_553, 4, 0.08) < estimated_time(826_237, 5, 0.08));
//! // Not when it costs nothing.
//! assert!(estimated_time(827_553, 4, 0.0) > estimated_time(826_237, 5, 0.0));
//! ```

use rayon::prelude::*;
use spikepipe_ir::Schedule;

use crate::{compile, CompileOptions, ScheduleError, Specs};

/// Largest staleness cost accepted: 100 means one update of staleness costs 100 times the
/// iterations, far past the point where every method picks its freshest schedule.
pub const MAX_STALENESS_COST: f64 = 100.0;

/// Period × (1 + c · staleness): time to accuracy up to a constant factor.
pub fn estimated_time(period_cycles: u64, max_staleness: u64, cost: f64) -> f64 {
    period_cycles as f64 * (1.0 + cost * max_staleness as f64)
}

/// The order of [`compile_priced`]'s choice between (period, largest staleness) pairs:
/// the smaller [`estimated_time`], then the fresher, then the faster.
pub fn cheaper(a: (u64, u64), b: (u64, u64), cost: f64) -> std::cmp::Ordering {
    let est = |(period, staleness): (u64, u64)| estimated_time(period, staleness, cost);
    est(a).total_cmp(&est(b)).then(a.1.cmp(&b.1)).then(a.0.cmp(&b.0))
}

/// Compiles with `opts` (whose `staleness_cost` is `Some(cost)`) and under every cap below
/// the result's staleness, and returns the schedule with the smallest
/// [`estimated_time`]; equal estimates go to the fresher, then the faster schedule.
pub fn compile_priced(specs: &Specs, opts: &CompileOptions, cost: f64) -> Result<Schedule, ScheduleError> {
    let base = CompileOptions { staleness_cost: None, ..opts.clone() };
    let first = compile(specs, &base)?;
    let (first_period, first_stale) = (first.period_cycles, first.max_staleness());
    let key = |s: &Schedule| (s.period_cycles, s.max_staleness());
    // The caps compile in parallel (rayon); the choice runs in cap order, so it is the
    // same as a serial run's.
    let capped: Vec<Result<Schedule, ScheduleError>> = (0..first_stale)
        .rev()
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|cap| compile(specs, &base.clone().with_max_staleness(Some(cap))))
        .collect();
    let mut best = first;
    for s in capped {
        let s = s?;
        if cheaper(key(&s), key(&best), cost).is_lt() {
            best = s;
        }
    }
    let (period, stale) = (best.period_cycles, best.max_staleness());
    let what = if period == first_period && stale == first_stale {
        format!(
            "staleness cost {cost}: kept (period {period}, staleness {stale}; period × (1 + cost × staleness) = {:.0}); no smaller staleness cap estimates faster",
            estimated_time(period, stale, cost)
        )
    } else {
        format!(
            "staleness cost {cost}: period {period} at staleness {stale} (period × (1 + cost × staleness) = {:.0}) chosen over the {} schedule's {first_period} at staleness {first_stale} ({:.0})",
            estimated_time(period, stale, cost),
            if opts.max_staleness.is_some() { "capped" } else { "uncapped" },
            estimated_time(first_period, first_stale, cost)
        )
    };
    best.solver.note = crate::pipeline::join_notes(best.solver.note.take().filter(|n| !n.is_empty()), what);
    Ok(best)
}
