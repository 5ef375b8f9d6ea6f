//! `ilp`: the optimization-based scheduler (DESIGN §6), on microlp (HiGHS optional).
//!
//! 1. `assign`: assignment + splitting minimising the period, as a search over II
//!    below the heuristic's period (the heuristic's placement is the incumbent, never a
//!    warm start, so it may use cuts the model cannot express). Whichever placement has
//!    the lower exact period (every directed link counted) is kept, so the ILP is never
//!    worse than the heuristic. If the solver finds nothing (out of budget, numerical
//!    failure) the heuristic's schedule is the fallback and the file says `fallback`.
//!    Then [`packing`] works on the processor loads (and, where they fit but the links
//!    do not, on the model's link bounds too): packings below the incumbent are tried as
//!    placements (kept when their exact period is lower); when none fits, the incumbent
//!    is proven optimal among the model's placements.
//! 2. The placement is timed by modulo list scheduling.
//! 3. `order` ([`reorder`]): at that period, start times and per-resource order minimising total
//!    staleness (optionally with every layer's staleness capped); kept only if it lowers
//!    staleness.
//!
//! Budgets: every solve is bounded by a count of branch-and-bound nodes (the constants
//! below times `--ilp-effort`), so the result is the same on every run, and by one
//! wall-clock deadline for the whole compilation (`--time-limit`: phase 1 may use 80 %
//! of it, phase 2 the rest). Only when the clock,
//! not the node count, stops a solve can a rerun differ; the solver note says so.

pub(crate) mod assign;
mod cut;
mod links;
mod model;
mod order;
pub mod packing;
mod solve;
mod walk;

use std::time::{Duration, Instant};

use spikepipe_ir::{SolverInfo, SolverStatus};

use super::heuristic::{best_plan, placement_of, Cuts};
use super::{timing, Outcome, Problem, Scheduler};
use crate::{CompileOptions, ScheduleError};

pub use model::PER_LINK_MAX;
pub use order::{reorder, Reordered};
pub use solve::{Budget, Domain, Failure, Model, Solved, Stop};

/// Branch-and-bound nodes of all period solves of phase 1 together.
pub const PERIOD_NODES: u64 = 6_000;
/// Nodes of one round of phase 1's search over II (a round ends early when it improves
/// the incumbent, so the next round starts from a tighter model).
pub const ROUND_NODES: u64 = 3_000;
/// Nodes of all of phase 1's packing searches together ([`packing`]; each node is a
/// few hundred nanoseconds, so this is well under a second).
pub const PACKING_NODES: u64 = 400_000;
/// Seconds of phase 1 kept from the solver's rounds for the packing search (at most a
/// tenth of phase 1's share of `--time-limit`).
pub const PACKING_RESERVE: f64 = 1.0;
/// Nodes of phase 1's traffic solve.
pub const TRAFFIC_NODES: u64 = 500;
/// Nodes of phase 2.
pub const ORDER_NODES: u64 = 1_000;
/// Relative gap `(period − bound) / period` at which phase 1 counts its period as
/// optimal and stops: 10⁻⁴, the default MIP gap of HiGHS and CPLEX. The file's
/// `solver.gap` always carries the gap actually proven, 0 or not.
pub const MIP_GAP: f64 = 1e-4;

/// The ILP scheduler.
pub struct Ilp {
    time_limit: f64,
    solver: String,
    max_staleness: Option<u64>,
    effort: u64,
}

impl Ilp {
    /// An ILP scheduler with the options' time limit, solver and staleness cap.
    pub fn new(opts: &CompileOptions) -> Ilp {
        Ilp {
            time_limit: opts.time_limit,
            solver: opts.solver.clone(),
            max_staleness: opts.max_staleness,
            effort: opts.ilp_effort.clamp(1, crate::options::MAX_ILP_EFFORT),
        }
    }
}

fn after(start: Instant, seconds: f64) -> Instant {
    start + Duration::from_secs_f64(seconds.clamp(0.0, 1e7))
}

impl Scheduler for Ilp {
    fn name(&self) -> &'static str {
        "ilp"
    }

    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let started = Instant::now();
        let heuristic = best_plan(p, Cuts::Gemms)?;
        let limits = assign::Limits {
            period_nodes: PERIOD_NODES * self.effort,
            round_nodes: ROUND_NODES * self.effort,
            traffic_nodes: TRAFFIC_NODES * self.effort,
            packing_nodes: PACKING_NODES * self.effort,
            deadline: after(started, 0.8 * self.time_limit),
            rounds_deadline: after(
                started,
                0.8 * self.time_limit - PACKING_RESERVE.min(0.08 * self.time_limit),
            ),
        };
        let a = assign::assign(p, &heuristic, &self.solver, &limits)?;
        // bench/ilp_prove.sh reads this line: the time to the proof, and to the end of
        // phase 1, apart from the timing and refinement of the candidates that follow.
        let proof = a.proven_at.map(|t| format!("{:.3}", t.duration_since(started).as_secs_f64()));
        crate::schedule::trace(format_args!(
            "phase 1 ended after {:.3} s, own placement proven optimal: {}, proof after {} s",
            started.elapsed().as_secs_f64(),
            a.optimal,
            proof.as_deref().unwrap_or("-")
        ));
        let mut clock = a.clock_stopped;
        let mut solver = SolverInfo {
            name: self.solver.clone(),
            status: SolverStatus::Optimal,
            seconds: 0.0,
            gap: None,
            note: None,
        };
        let period = super::heuristic::Evaluator::new(p).score(&a.plans).0;
        let gap = assign::proven_gap(period, a.bound);
        match (a.optimal, a.failure, a.from_model) {
            (true, _, _) => solver.gap = Some(gap),
            (false, Some(f), false) => {
                solver.status = SolverStatus::Fallback;
                solver.note =
                    Some(format!("phase 1 found no solution ({}); heuristic schedule used", f.describe()));
            }
            (false, _, from_model) => {
                solver.status = SolverStatus::TimeLimit;
                solver.gap = Some(gap);
                if !from_model {
                    solver.note = Some(
                        "phase 1 found nothing better than the heuristic's placement, which is kept".into(),
                    );
                }
            }
        }
        let placement = placement_of(&a.plans);
        let mut s = super::timed::draft(p, &placement, "ilp", solver.clone());
        timing::time_modulo(&mut s, p.cost);
        if solver.status != SolverStatus::Fallback {
            let budget =
                Budget { nodes: ORDER_NODES * self.effort, deadline: after(started, self.time_limit) };
            let (result, clock2) = order::reorder(&s, &self.solver, budget, self.max_staleness)?;
            clock |= clock2;
            match result {
                Reordered::Better(better) => s = *better,
                Reordered::NoBetter(why) => add_note(&mut solver, &format!("phase 2: {why}")),
            }
        }
        if clock {
            add_note(&mut solver, "the wall-clock limit cut a solve short, so a rerun may differ");
        }
        solver.seconds = started.elapsed().as_secs_f64();
        s.solver = solver.clone();
        let alternatives = a.before_packing.iter().map(|plans| placement_of(plans)).collect();
        Ok(Outcome { placement, solver, timed: Some(s), alternatives })
    }
}

fn add_note(solver: &mut SolverInfo, text: &str) {
    solver.note = Some(match solver.note.take() {
        Some(n) => format!("{n}; {text}"),
        None => text.to_string(),
    });
}
