//! `ilp`: the optimization-based scheduler (DESIGN §6), on good_lp + microlp.
//!
//! 1. [`assign`]: assignment + splitting minimising the period (then traffic), warm-started
//!    from the heuristic. On time-out without an incumbent, or a solver error, the
//!    heuristic's schedule is the fallback and the file says `fallback`.
//! 2. The better of the ILP's and the heuristic's placements (by the exact period, with
//!    every directed link counted) is timed by modulo list scheduling.
//! 3. [`order`]: at that period, start times and per-resource order minimising total
//!    staleness; kept only if it lowers staleness.
//!
//! Budgets: phase 1 gets the time limit, its traffic refinement a quarter of it, phase 2
//! half of it, so one compilation takes at most 1.75× `--time-limit` in the solver.

mod assign;
mod order;
mod solve;

use spikepipe_ir::{SolverInfo, SolverStatus};

use super::heuristic::{best_plan, placement_of, Evaluator};
use super::{timing, Outcome, Problem, Scheduler};
use crate::{CompileOptions, ScheduleError};

pub use solve::{Model, Solved};

/// The ILP scheduler.
pub struct Ilp {
    time_limit: f64,
    solver: String,
}

impl Ilp {
    /// An ILP scheduler with the options' time limit and solver.
    pub fn new(opts: &CompileOptions) -> Ilp {
        Ilp { time_limit: opts.time_limit, solver: opts.solver.clone() }
    }
}

impl Scheduler for Ilp {
    fn name(&self) -> &'static str {
        "ilp"
    }

    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let heuristic = best_plan(p)?;
        let ev = Evaluator::new(p);
        let heuristic_period = ev.score(&heuristic).0;
        let (plans, mut solver) = match assign::assign(p, &heuristic, &self.solver, self.time_limit)? {
            Err(reason) => (
                heuristic,
                SolverInfo {
                    name: self.solver.clone(),
                    status: SolverStatus::Fallback,
                    seconds: 0.0,
                    gap: None,
                    note: Some(format!("phase 1 found no solution ({reason}); heuristic schedule used")),
                },
            ),
            Ok(a) => {
                let ilp_period = ev.score(&a.plans).0;
                let status = if a.optimal { SolverStatus::Optimal } else { SolverStatus::TimeLimit };
                let gap = match status {
                    SolverStatus::Optimal => Some(0.0),
                    _ => a.gap,
                };
                if ilp_period <= heuristic_period {
                    (
                        a.plans,
                        SolverInfo { name: self.solver.clone(), status, seconds: a.seconds, gap, note: None },
                    )
                } else {
                    let note = format!(
                        "phase 1 period {ilp_period} (lower bound {:.0}) is above the heuristic's {heuristic_period} once every link is counted; heuristic placement kept",
                        a.period
                    );
                    let status =
                        if status == SolverStatus::Optimal { SolverStatus::Feasible } else { status };
                    (
                        heuristic,
                        SolverInfo {
                            name: self.solver.clone(),
                            status,
                            seconds: a.seconds,
                            gap,
                            note: Some(note),
                        },
                    )
                }
            }
        };
        let placement = placement_of(&plans);
        let mut s = crate::emit::draft(p, "", &placement, "ilp", solver.clone());
        timing::time_modulo(&mut s);
        if solver.status != SolverStatus::Fallback {
            match order::reorder(&s, &self.solver, self.time_limit / 2.0)? {
                order::Reordered::Better(better) => s = *better,
                order::Reordered::NoBetter(why) => {
                    solver.note = Some(match solver.note.take() {
                        Some(n) => format!("{n}; phase 2: {why}"),
                        None => format!("phase 2: {why}"),
                    });
                }
            }
        }
        s.solver = solver.clone();
        Ok(Outcome { placement, solver, timed: Some(s) })
    }
}
