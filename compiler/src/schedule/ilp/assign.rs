//! Phase 1: assignment and splitting, minimising the period.
//!
//! Each task is cut as [`super::cut`] says, and [`super::model`] builds the integer
//! program over those cuts: a relaxation of the exact period, so a bound it proves holds
//! for the real period too (among the placements the model expresses).
//!
//! Search over II: the model is solved with `II ≤ H − 1` for the best exact period H
//! found so far (first the heuristic's). Infeasible means H is optimal (among the
//! placements the model expresses), and so does a bound within
//! [`MIP_GAP`](super::MIP_GAP) of H; a solution whose exact period falls short of its
//! model value starts the next round below it. The first round admits the heuristic's
//! period and, when the model can express its plan, starts from it (relabelled); a plan
//! with cuts the model lacks only lends its period as the incumbent bound.
//!
//! After the rounds, the packing walk ([`super::walk`]) moves to packings of the loads
//! below the incumbent, or proves that none exists. It runs once before the rounds too: a
//! bound it proves ends the rounds as soon as they reach it, and the last walk starts
//! from its placement if that is faster than the rounds' best. A last solve at the best
//! period minimises the summed link cycles (traffic).

use super::cut::{cuts_of, packing_is_sound, packing_scale, piece_of};
use super::model::{build, expressed, extract, hint, Shape};
use super::packing::Piece;
use super::solve::{Budget, Failure, Solved, Stop};
use super::walk::{Moves, Packing, Walked};
use crate::schedule::heuristic::{Evaluator, TaskPlan};
use crate::schedule::{lower_bound, trace, Problem};
use crate::ScheduleError;

/// The outcome of phase 1.
pub struct Assignment {
    /// The best plan found (the heuristic's if nothing beat it).
    pub plans: Vec<TaskPlan>,
    /// Whether `plans` came from the model (false: the heuristic's was kept).
    pub from_model: bool,
    /// The best proven lower bound on the exact period.
    pub bound: f64,
    /// Proven optimal among the placements the model expresses.
    pub optimal: bool,
    /// When phase 1 first held a placement within the gap of a proven bound (`None`
    /// unless `optimal`). The solver's rounds may run on after it: their placements, at
    /// periods within the gap, are often fresher.
    pub proven_at: Option<std::time::Instant>,
    /// Whether the wall clock (not the deterministic node budget) cut a solve short.
    pub clock_stopped: bool,
    /// Why a solve failed, if one did and nothing better was found.
    pub failure: Option<Failure>,
    /// The solver's own best placement, when the packing walk replaced it by a faster one
    /// (often staler: under a staleness cap it may still win).
    pub before_packing: Option<Vec<TaskPlan>>,
}

/// Budgets of phase 1 (branch-and-bound nodes, deterministic).
pub struct Limits {
    /// Nodes of all period solves together.
    pub period_nodes: u64,
    /// Nodes of one period solve.
    pub round_nodes: u64,
    /// Nodes of the traffic solve.
    pub traffic_nodes: u64,
    /// Nodes of all packing searches ([`super::packing`]) together.
    pub packing_nodes: u64,
    /// Wall-clock deadline of phase 1.
    pub deadline: std::time::Instant,
    /// Wall-clock deadline of the solver's rounds: earlier, so the packing search after
    /// them still runs when the clock, not the node budget, ends the rounds.
    pub rounds_deadline: std::time::Instant,
}

/// Runs phase 1: the search over II from the heuristic's period. `solver` is `microlp`
/// or `highs`.
pub fn assign(
    p: &Problem,
    heuristic: &[TaskPlan],
    solver: &str,
    limits: &Limits,
) -> Result<Assignment, ScheduleError> {
    let ev = Evaluator::new(p);
    let cuts = cuts_of(p);
    let lb = lower_bound(p) as f64;
    let scale = (lb / 1000.0).max(1.0);
    let exact = |plans: &[TaskPlan]| ev.score(plans).0;

    let mut best = (heuristic.to_vec(), exact(heuristic), false);
    let mut bound = lb;
    let mut nodes_left = limits.period_nodes;
    let mut clock_stopped = false;
    let mut failure = None;
    let mut retried = false;
    let mut first = true;
    let procs = p.processors() as usize;
    // Whether the incumbent is one of the model's placements: only then does a bound the
    // model proves hold for it too.
    let mut expressible = expressed(&cuts, procs, heuristic).is_some();
    let per_cycle = packing_scale(&cuts);
    let pieces: Vec<Piece> = p.tasks().zip(&cuts).map(|(t, c)| piece_of(t, c.as_ref(), per_cycle)).collect();
    // The packing reasons with the linear chunk costs; where the cost model breaks them
    // (a chunk cheaper than its share, as when every chunk picks its own dataflow under
    // `dataflow: best`) it would prove wrong bounds, so it is not used at all.
    let sound = packing_is_sound(p, &cuts, per_cycle);
    trace(format_args!("packing sound: {sound}; cycles ×{per_cycle}; pieces {pieces:?}"));
    let mut packing = Packing {
        pieces: &pieces,
        scale: per_cycle,
        procs,
        nodes_left: if sound { limits.packing_nodes } else { 0 },
        deadline: limits.deadline,
        late: false,
    };

    // The walk alone first, on its own budget: a bound it proves lets the solver's
    // rounds stop as soon as they reach it (mlp-digits, sa32-ws, P = 4: one round
    // instead of two). Its placement is set aside until the rounds are done, so the
    // solver's path is the same as without it (nor does the bound enter the model: a
    // tighter bound on II changes that path too); the last walk then starts from
    // whichever is faster.
    let mut walk_bound = 0.0f64;
    let mut walked_first = None;
    if expressible {
        // At most a quarter of the time before the rounds' deadline: with the links, a
        // node of a large model costs an exact evaluation, and the rounds must still run
        // (vgg11-cifar10, sa128-ws, P = 16).
        let now = std::time::Instant::now();
        let deadline = now + limits.rounds_deadline.saturating_duration_since(now) / 4;
        let mut first_walk = Packing { nodes_left: packing.nodes_left, deadline, ..packing };
        let start = Walked { plans: best.0.clone(), period: best.1, proven: None };
        let walk = first_walk.walk(p, &cuts, &ev, start, bound, Moves::LoadsAndLinks);
        packing.late |= first_walk.late;
        if let Some(b) = walk.proven {
            trace(format_args!("phase 1: the walk alone reaches period {} and proves {b}", walk.period));
            walk_bound = b.min(best.1 as f64);
        }
        walked_first = Some(walk).filter(|w| w.period < best.1);
    }
    let walked_period = walked_first.as_ref().map_or(u64::MAX, |w| w.period);
    let mut proven_at = None;
    mark_proof(&mut proven_at, best.1.min(walked_period), bound.max(walk_bound));

    while !within_gap(best.1, bound.max(walk_bound)) && nodes_left > 0 {
        // The first round admits the heuristic's period and starts from its plan when the
        // model can express it (an incumbent to prune with); later rounds search below.
        let ub = best.1 as f64 - if first { 0.0 } else { 1.0 };
        let shape = Shape { cuts: &cuts, lb: bound, ub, scale: if retried { scale * 1.37 } else { scale } };
        let (mut m, vars) = build(p, &shape);
        if first {
            let values = hint(p, &cuts, &vars, &best.0);
            for (v, x) in values.filter(|_| !retried).unwrap_or_default() {
                m.warm(v, x);
            }
        }
        let was_first = std::mem::replace(&mut first, false);
        // A round gets part of the nodes: an improved incumbent restarts the search with
        // a tighter model sooner than the solver's own pruning would tighten it.
        let budget = Budget { nodes: nodes_left.min(limits.round_nodes), deadline: limits.rounds_deadline };
        let solved = m.minimise(&vars.ii.into(), solver, budget)?;
        match solved {
            Solved::Failed { failure: Failure::Infeasible, .. } => {
                trace(format_args!("II ≤ {ub}: infeasible (heuristic expressible: {expressible})"));
                if expressible {
                    bound = best.1 as f64;
                }
                break;
            }
            Solved::Failed { failure: f, stop, seconds, .. } => {
                trace(format_args!("II ≤ {ub}: {} after {seconds:.3} s", f.describe()));
                clock_stopped |= stop == Stop::Clock;
                // microlp's LU occasionally reports a singular basis; the same model at
                // another scale usually solves.
                if f == Failure::Numerical && !retried {
                    retried = true;
                    continue;
                }
                failure = Some(f);
                break;
            }
            Solved::Solution { values, stop, bound: model_bound, seconds, nodes } => {
                let plans = extract(p, &cuts, &vars, &values);
                let e = exact(&plans);
                let v = values.get(&vars.ii).copied().unwrap_or(f64::INFINITY) * shape.scale;
                trace(format_args!(
                    "II ≤ {ub}: model {v:.1} exact {e} stop {stop:?} bound {model_bound:?} in {seconds:.3} s, {nodes} nodes"
                ));
                nodes_left = nodes_left.saturating_sub(nodes);
                let proven_bound =
                    if stop == Stop::Proven { Some(v) } else { model_bound.map(|b| b * shape.scale) };
                if let Some(mb) = proven_bound.filter(|_| expressible) {
                    bound = bound.max(mb);
                }
                let improved = e < best.1;
                if improved {
                    best = (plans, e, true);
                }
                clock_stopped |= stop == Stop::Clock;
                mark_proof(&mut proven_at, best.1.min(walked_period), bound.max(walk_bound));
                // Not improved: the first round's optimum may still sit above the bound (a
                // later round below it settles that); any other round would repeat itself.
                if !(improved || was_first && stop == Stop::Proven) || stop == Stop::Clock {
                    break;
                }
            }
        }
    }
    // Then the loads alone: a packing below the incumbent is a placement of the model
    // (taken if its exact period, links counted, is lower too); none proves that nothing
    // in the model beats the incumbent.
    bound = bound.max(walk_bound);
    let solvers_own = best.2.then(|| best.0.clone());
    let start = match walked_first {
        Some(w) if w.period < best.1 => Walked { proven: None, ..w },
        _ => Walked { plans: best.0.clone(), period: best.1, proven: None },
    };
    let walk = packing.walk(p, &cuts, &ev, start, bound, Moves::Loads);
    let walked = walk.period < best.1;
    if walked {
        best = (walk.plans, walk.period, true);
        expressible = true;
    }
    if let Some(b) = walk.proven.filter(|_| expressible) {
        bound = bound.max(b);
    }

    clock_stopped |= packing.late;
    let optimal = within_gap(best.1, bound);
    mark_proof(&mut proven_at, best.1, bound);
    let proven_at = proven_at.filter(|_| optimal);
    trace(format_args!("phase 1: period {} bound {bound:.1} optimal {optimal}", best.1));

    // Least traffic at that period (kept only if the exact period does not grow).
    let (mut plans, period, from_model) = best;
    if from_model && limits.traffic_nodes > 0 {
        let shape = Shape { cuts: &cuts, lb: bound.min(period as f64), ub: period as f64, scale };
        let (mut m, vars) = build(p, &shape);
        for (v, x) in hint(p, &cuts, &vars, &plans).unwrap_or_default() {
            m.warm(v, x);
        }
        let budget = Budget { nodes: limits.traffic_nodes, deadline: limits.deadline };
        if let Solved::Solution { values, stop, .. } = m.minimise(&vars.link_total, solver, budget)? {
            clock_stopped |= stop == Stop::Clock;
            let lean = extract(p, &cuts, &vars, &values);
            trace(format_args!(
                "traffic solve: (period, bytes) {:?} → {:?}",
                ev.score(&plans),
                ev.score(&lean)
            ));
            if ev.score(&lean) < ev.score(&plans) {
                plans = lean;
            }
        }
    }
    let before_packing = solvers_own.filter(|_| walked);
    Ok(Assignment { plans, from_model, bound, optimal, proven_at, clock_stopped, failure, before_packing })
}

/// The relative gap `(H − bound) / H` that `bound` proves for period H: 0 when
/// H ≤ ⌈bound⌉ (periods are whole cycles, so nothing shorter exists).
pub fn proven_gap(h: u64, bound: f64) -> f64 {
    let hf = h as f64;
    if hf <= (bound - 1e-6).ceil() {
        0.0
    } else {
        (hf - bound) / hf.max(1.0)
    }
}

/// Records now as the moment of the proof, if `bound` proves `period` and none was yet.
fn mark_proof(at: &mut Option<std::time::Instant>, period: u64, bound: f64) {
    if at.is_none() && within_gap(period, bound) {
        *at = Some(std::time::Instant::now());
    }
}

/// Whether `bound` proves period H optimal: within the relative [`MIP_GAP`](super::MIP_GAP).
fn within_gap(h: u64, bound: f64) -> bool {
    proven_gap(h, bound) <= super::MIP_GAP
}
