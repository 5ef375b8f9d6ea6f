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
//! under the smaller caps that could still win, and keeps the schedule with the smallest
//! estimate. c comes from training: `spikepipe tune` measures it
//! (docs/time-to-accuracy.md).
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

/// Compiles with `opts` (whose `staleness_cost` is `Some(cost)`) and under caps below the
/// result's staleness, and returns the schedule with the smallest [`estimated_time`];
/// equal estimates go to the fresher, then the faster schedule.
///
/// The caps are tried from 0 upward, two at a time (in parallel), while a schedule as
/// stale as the cap could still be cheaper than the best so far even at the lower bound:
/// `LB × (1 + cost × cap) < best estimate`. A cap past that is skipped, and so is every
/// larger one. Which caps run depends only on earlier results, so a run repeats exactly.
pub fn compile_priced(specs: &Specs, opts: &CompileOptions, cost: f64) -> Result<Schedule, ScheduleError> {
    let base = CompileOptions { staleness_cost: None, ..opts.clone() };
    choose(opts.max_staleness, cost, |cap| match cap {
        None => compile(specs, &base),
        cap => compile(specs, &base.clone().with_max_staleness(cap)),
    })
}

/// [`compile_priced`]'s search, over `compile_at(cap)` (`None`: the user's own cap,
/// `user_cap`, or none): the schedule under the user's cap first, then the smaller caps.
fn choose<F>(user_cap: Option<u64>, cost: f64, compile_at: F) -> Result<Schedule, ScheduleError>
where
    F: Fn(Option<u64>) -> Result<Schedule, ScheduleError> + Sync,
{
    let capped = |cap: u64| compile_at(Some(cap));
    // Cap 0 is the freshest answer and usually the one that bounds the rest: it compiles
    // alongside the uncapped (or user-capped) schedule.
    let (first, cap0) = if user_cap == Some(0) {
        (compile_at(None), None)
    } else {
        let (first, cap0) = rayon::join(|| compile_at(None), || capped(0));
        (first, Some(cap0))
    };
    let mut misfits: Vec<String> = Vec::new();
    let (first, cap0) = match (first, cap0) {
        (Ok(first), cap0) => (first, cap0.map(|r| fitting(&mut misfits, 0, r)).transpose()?.flatten()),
        // Nothing fits uncapped: the staleness-0 schedule may (it keeps no weight versions).
        (Err(ScheduleError::Memory(_)), Some(Ok(cap0))) => {
            misfits.push(user_cap.map_or("no cap".into(), |c| format!("cap {c}")));
            (cap0, None)
        }
        (Err(e), _) => return Err(e),
    };
    let (first_period, first_stale) = (first.period_cycles, first.max_staleness());
    let key = |s: &Schedule| (s.period_cycles, s.max_staleness());
    let mut lower_bound = first.lower_bound_cycles;
    let mut best = first;
    let consider = |s: Schedule, best: &mut Schedule, lower_bound: &mut u64| {
        *lower_bound = (*lower_bound).min(s.lower_bound_cycles);
        if cheaper(key(&s), key(best), cost).is_lt() {
            *best = s;
        }
    };
    if let Some(s) = cap0.filter(|_| first_stale > 0) {
        consider(s, &mut best, &mut lower_bound);
    }
    // Caps 0 to next − 1 have been compiled (cap 0 above).
    let mut next = 1;
    let could_win = |cap: u64, best: &Schedule, lower_bound: u64| {
        cap < first_stale
            && estimated_time(lower_bound, cap, cost)
                < estimated_time(best.period_cycles, best.max_staleness(), cost)
    };
    while could_win(next, &best, lower_bound) {
        // Two caps at a time: the second only if it could win against the best so far.
        let pair: Vec<u64> =
            [next, next + 1].into_iter().filter(|&c| could_win(c, &best, lower_bound)).collect();
        let results: Vec<Result<Schedule, ScheduleError>> = pair.par_iter().map(|&c| capped(c)).collect();
        for (&cap, r) in pair.iter().zip(results) {
            if let Some(s) = fitting(&mut misfits, cap, r)? {
                consider(s, &mut best, &mut lower_bound);
            }
        }
        next += pair.len() as u64;
    }
    let skipped = first_stale.saturating_sub(next);
    let mut unused = String::new();
    if skipped > 0 {
        let caps =
            if skipped == 1 { format!("cap {next}") } else { format!("caps {next} to {}", first_stale - 1) };
        unused += &format!("; {caps} not compiled: even at the lower bound {lower_bound} no faster estimate");
    }
    if !misfits.is_empty() {
        unused += &format!("; nothing fits the memory under {}", misfits.join(", "));
    }
    let what = choice_note(cost, &best, (first_period, first_stale), user_cap.is_some(), &unused);
    best.solver.note = crate::pipeline::join_notes(best.solver.note.take().filter(|n| !n.is_empty()), what);
    Ok(best)
}

/// A capped compile's result for the choice: a cap whose schedules do not fit the memory
/// per processor drops out (and is named in `misfits`); every other error is the compile's.
fn fitting(
    misfits: &mut Vec<String>,
    cap: u64,
    r: Result<Schedule, ScheduleError>,
) -> Result<Option<Schedule>, ScheduleError> {
    match r {
        Err(ScheduleError::Memory(_)) => {
            misfits.push(format!("cap {cap}"));
            Ok(None)
        }
        other => other.map(Some),
    }
}

/// The note's account of the choice: what won, at what estimate, over what.
fn choice_note(
    cost: f64,
    best: &Schedule,
    (first_period, first_stale): (u64, u64),
    user_cap: bool,
    unused: &str,
) -> String {
    let (period, stale) = (best.period_cycles, best.max_staleness());
    if period == first_period && stale == first_stale {
        format!(
            "staleness cost {cost}: kept (period {period}, staleness {stale}; period × (1 + cost × staleness) = {:.0}); no smaller staleness cap estimates faster{unused}",
            estimated_time(period, stale, cost)
        )
    } else {
        format!(
            "staleness cost {cost}: period {period} at staleness {stale} (period × (1 + cost × staleness) = {:.0}) chosen over the {} schedule's {first_period} at staleness {first_stale} ({:.0}){unused}",
            estimated_time(period, stale, cost),
            if user_cap { "capped" } else { "uncapped" },
            estimated_time(first_period, first_stale, cost)
        )
    }
}

#[cfg(test)]
mod tests {
    //! [`choose`] over made-up per-cap results: one real schedule, relabelled with the
    //! period and staleness each cap is said to give.

    use super::*;
    use crate::memory_fit::MemoryError;
    use std::sync::Mutex;

    fn real() -> Schedule {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (m, h) = (root.join("models/mlp-digits.yaml"), root.join("models/hw/sa32-ws.yaml"));
        let specs = crate::load_specs(&m, Some(&h), Some(2)).expect("bundled specs load");
        compile(&specs, &CompileOptions::new(crate::Method::Layerwise)).expect("compiles")
    }

    /// `real` with this period and every layer's staleness at `stale`.
    fn labelled(real: &Schedule, period: u64, stale: u64) -> Schedule {
        let mut s = real.clone();
        s.period_cycles = period;
        s.lower_bound_cycles = 1000;
        for l in &mut s.staleness {
            l.forward = stale;
            l.input_grad = l.input_grad.map(|_| stale);
        }
        s
    }

    fn misfit() -> ScheduleError {
        ScheduleError::Memory(MemoryError::LayerTooLarge { layer: 1, need: 2, cap: 1 })
    }

    /// Runs `choose` at cost 0.1 over `at(cap)`; returns the winner and the caps compiled.
    fn run(
        at: impl Fn(Option<u64>) -> Result<Schedule, ScheduleError> + Sync,
    ) -> (Schedule, Vec<Option<u64>>) {
        let asked = Mutex::new(Vec::new());
        let s = choose(None, 0.1, |cap| {
            asked.lock().expect("lock").push(cap);
            at(cap)
        })
        .expect("a schedule");
        let mut asked = asked.into_inner().expect("lock");
        asked.sort();
        (s, asked)
    }

    #[test]
    fn caps_stop_where_even_the_lower_bound_cannot_win() {
        let r = real();
        // Uncapped: 1000 at s = 6 (estimate 1600); cap 0: 1250 (1250). Caps 1 and 2 could
        // still win at the bound LB = 1000 (1100, 1200 < 1250), so they compile as a pair;
        // both give 1040 at s = 1 (1144). Cap 3 could not (1300 > 1144), nor any above.
        let (s, asked) = run(|cap| {
            Ok(match cap {
                None => labelled(&r, 1000, 6),
                Some(0) => labelled(&r, 1250, 0),
                Some(c) => labelled(&r, 1040, c.min(1)),
            })
        });
        assert_eq!((s.period_cycles, s.max_staleness()), (1040, 1));
        assert_eq!(asked, vec![None, Some(0), Some(1), Some(2)]);
        let note = s.solver.note.as_deref().unwrap_or("");
        assert!(note.contains("caps 3 to 5 not compiled"), "{note}");
        // Cap 0 within 10 % of the bound rules out every other cap.
        let (s, asked) =
            run(|cap| Ok(if cap == Some(0) { labelled(&r, 1090, 0) } else { labelled(&r, 1000, 6) }));
        assert_eq!((s.period_cycles, asked), (1090, vec![None, Some(0)]));
    }

    #[test]
    fn a_cap_that_does_not_fit_the_memory_drops_out_and_other_errors_do_not() {
        let r = real();
        let (s, _) = run(|cap| match cap {
            None => Ok(labelled(&r, 1000, 3)),
            Some(0) => Err(misfit()),
            Some(c) => Ok(labelled(&r, 1000 + 10 * (3 - c), c)),
        });
        assert_eq!((s.period_cycles, s.max_staleness()), (1020, 1));
        let note = s.solver.note.as_deref().unwrap_or("");
        assert!(note.contains("nothing fits the memory under cap 0"), "{note}");
        // Nothing fits uncapped: the staleness-0 schedule, if it fits, is the answer.
        let (s, _) = run(|cap| match cap {
            None => Err(misfit()),
            _ => Ok(labelled(&r, 1200, 0)),
        });
        assert_eq!((s.period_cycles, s.max_staleness()), (1200, 0));
        assert!(s.solver.note.as_deref().unwrap_or("").contains("nothing fits the memory under no cap"));
        // Any other error is the compile's.
        let err = choose(None, 0.1, |cap| match cap {
            Some(0) => Err(ScheduleError::UnknownSolver("x".into())),
            _ => Ok(labelled(&r, 1000, 3)),
        });
        assert!(matches!(err, Err(ScheduleError::UnknownSolver(_))));
    }
}
