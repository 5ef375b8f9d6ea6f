//! The search space of `heuristic` and `ilp`: period and staleness as one objective.
//!
//! Candidate placements, each a different trade between period, staleness and traffic:
//! - the fine-grained placement (GEMMs cut along M or N, tasks placed one by one:
//!   shortest period, longest iterations, so the most staleness), and a second one that
//!   may also cut element-wise tasks by samples and weight gradients along K, per task
//!   ([`Cuts::All`]), when it differs;
//! - data parallelism (every task split by samples: no staleness, all-reduce traffic);
//! - PipeDream's plans with replicated stages, one per stage count (hybrids of the two:
//!   fewer stages, less staleness), and its plain partition;
//! - GPipe with its best micro-batch count (synchronous: staleness 0);
//! - every task over all processors with each GEMM cut along samples, M or N, whichever
//!   times best ([`super::spread`]).
//!
//! Each is timed at the smallest period that keeps every layer's staleness within the
//! cap ([`timing::time_modulo_capped`]); the best is the one that keeps the cap with
//! the smallest period (then the least staleness, then the least traffic), and the
//! winner the freshest within 0.1 % of it ([`super::refine::NEAR_PERIOD`]) but never
//! slower than a standard method's candidate ([`Candidate::is_standard`]), so
//! `heuristic` is never slower than the best of them at the same staleness cap.
//!
//! The capped timing raises a placement's period *before* anything reorders its work
//! within the period, so a placement whose reordering ([`cyclic::reorder`]) alone keeps
//! the cap at its own minimum period would be missed. [`field`] therefore also tries the
//! placements' minimum-period timings, reordered, where that period beats every capped
//! candidate ([`reordered_within_cap`]).

use spikepipe_ir::SolverInfo;

use super::gpipe::Gpipe;
use super::heuristic::{best_plan, placement_of, Cuts};
use super::pipedream::{plain_placement, replicated_plans};
use super::timed::{draft, Timed};
use super::timing::Packing;
use super::{cyclic, stages, timing, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// What data parallelism's candidate is called.
pub const DATA_PARALLEL: &str = "data-parallel";
/// What PipeDream's plain partition is called.
const PIPEDREAM: &str = "pipedream";
/// How a stage plan's name starts (PipeDream's planner with replicated stages).
const STAGES: &str = "stages ";
/// The fine-grained plan that may also cut element-wise tasks by samples and weight
/// gradients along K ([`Cuts::All`]).
const FINE_ALL: &str = "fine-grained with sample and reduction cuts";
/// How GPipe's candidate's name starts (then its micro-batch count).
const GPIPE: &str = "gpipe ×";

/// A timed candidate and what it is.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Short description (`fine-grained`, `data-parallel`, `stages 2×4+1×2`, …).
    pub what: String,
    /// The timed placement.
    pub schedule: Timed,
}

impl Candidate {
    /// Largest staleness of any layer, recomputed from the starts.
    pub fn max_staleness(&self) -> u64 {
        spikepipe_ir::staleness_of(&self.schedule).0
    }
    /// Whether this is a standard method's own schedule, unchanged: data parallelism, a
    /// PipeDream plan (plain or with replicated stages) or GPipe's.
    pub fn is_standard(&self) -> bool {
        [DATA_PARALLEL, PIPEDREAM].contains(&self.what.as_str())
            || self.what.starts_with(STAGES)
            || self.what.starts_with(GPIPE)
    }
    /// Ordering key under a cap: (misses the cap, period, max staleness, bytes moved).
    pub fn key(&self, cap: Option<u64>) -> (bool, u64, u64, u64) {
        let stale = self.max_staleness();
        let bytes = self.schedule.transfers.iter().map(|t| t.bytes).sum();
        (cap.is_some_and(|c| stale > c), self.schedule.period_cycles, stale, bytes)
    }
}

/// Describes a stage plan: `stages 1×8` is data parallelism on 8 processors, `stages 1+2×3` a
/// plain stage followed by one replicated over three processors.
fn describe(plan: &[stages::Stage]) -> String {
    let parts: Vec<String> = plan
        .iter()
        .map(|s| match s.processors.len() {
            1 => format!("L{}-{}", s.first_layer, s.last_layer),
            r => format!("L{}-{}×{r}", s.first_layer, s.last_layer),
        })
        .collect();
    format!("{STAGES}{}", parts.join("|"))
}

/// Every candidate placement, untimed, in a fixed order.
pub fn placements(p: &Problem) -> Result<Vec<(String, Placement)>, ScheduleError> {
    let mut out = vec![
        ("fine-grained".to_string(), placement_of(&best_plan(p, Cuts::Gemms)?)),
        (DATA_PARALLEL.to_string(), stages::placement(p, &stages::data_parallel(p))),
        (PIPEDREAM.to_string(), plain_placement(p)),
    ];
    let mixed = placement_of(&best_plan(p, Cuts::All)?);
    if out[0].1 != mixed {
        out.push((FINE_ALL.to_string(), mixed));
    }
    for plan in replicated_plans(p) {
        let placement = stages::placement(p, &plan);
        if out.iter().all(|(_, q)| *q != placement) {
            out.push((describe(&plan), placement));
        }
    }
    Ok(out)
}

/// Times a placement for `method` under an optional staleness cap.
pub fn timed(
    p: &Problem,
    placement: &Placement,
    method: &str,
    solver: SolverInfo,
    cap: Option<u64>,
) -> Timed {
    time_draft(p, draft(p, placement, method, solver), cap)
}

/// Times a drafted placement ([`draft`]) under an optional staleness cap.
pub fn time_draft(p: &Problem, s: Timed, cap: Option<u64>) -> Timed {
    time_draft_with(p, s, cap, Packing::Any)
}

/// [`time_draft`] with the given packing.
pub fn time_draft_with(p: &Problem, mut s: Timed, cap: Option<u64>, packing: Packing) -> Timed {
    match cap {
        Some(c) => {
            timing::time_modulo_capped_with(&mut s, p.cost, c, packing);
        }
        None => timing::time_modulo_with(&mut s, p.cost, packing),
    }
    s
}

/// Every candidate timed under the cap.
pub fn all(
    p: &Problem,
    method: &str,
    solver: &SolverInfo,
    cap: Option<u64>,
) -> Result<Vec<Candidate>, ScheduleError> {
    timed_all(p, &placements(p)?, method, solver, cap)
}

/// The candidates a scheduler compares: every candidate timed under the cap, and apart
/// from them (under a cap) the one of [`reordered_within_cap`].
#[derive(Debug, Clone)]
pub struct Field {
    /// Every candidate timed under the cap ([`all`]).
    pub timed: Vec<Candidate>,
    /// A placement's minimum-period timing reordered to keep the cap. It is compared
    /// with the *refined* winner of `timed`, not refined itself: a chunk move timed
    /// under the cap loses the order that keeps it there, and a refined capped
    /// candidate can still beat it.
    pub reordered: Option<Candidate>,
}

impl Field {
    /// How many candidates there are.
    pub fn count(&self) -> usize {
        self.timed.len() + self.reordered.is_some() as usize
    }
}

/// [`all`], the spread candidate ([`super::spread`]) and, under a cap,
/// [`reordered_within_cap`].
pub fn field(
    p: &Problem,
    method: &str,
    solver: &SolverInfo,
    cap: Option<u64>,
) -> Result<Field, ScheduleError> {
    let placements = placements(p)?;
    let mut timed = timed_all(p, &placements, method, solver, cap)?;
    timed.extend(super::spread::spread(p, method, solver, cap, super::spread::WORK));
    let reordered = cap.and_then(|c| reordered_within_cap(p, &placements, &timed, method, solver, c));
    Ok(Field { timed, reordered })
}

fn timed_all(
    p: &Problem,
    placements: &[(String, Placement)],
    method: &str,
    solver: &SolverInfo,
    cap: Option<u64>,
) -> Result<Vec<Candidate>, ScheduleError> {
    let mut out: Vec<Candidate> = placements
        .iter()
        .map(|(what, pl)| Candidate {
            schedule: timed(p, pl, method, solver.clone(), cap),
            what: what.clone(),
        })
        .collect();
    if let Some(mut s) = (Gpipe { micro_batches: None }).schedule(p)?.timed {
        s.method = method.to_string();
        s.solver = solver.clone();
        let what = format!("{GPIPE}{}", s.micro_batches.unwrap_or(1));
        out.push(Candidate { what, schedule: s });
    }
    Ok(out)
}

/// How many placements [`reordered_within_cap`] reorders at most: each reordering costs
/// up to [`cyclic::WORK`] visits, and the shortest minimum periods are tried first.
/// Four since the mixed fine-grained candidate joined the field: it is often among the
/// shortest and fails the cap when reordered, and with three tries it pushed out the
/// one that kept it (mlp-fmnist, sa128-ws, P = 16, s ≤ 2: the stage plan reordered at
/// its own period, 67 034 cycles, where the best without it is 67 369).
const REORDER_TRIES: usize = 4;

/// Under the cap `cap`, the first placement (by its minimum period, shortest first; ties
/// in the order of `placements`) whose minimum-period timing, reordered within the
/// period, keeps the cap — among those whose minimum period is shorter than every
/// `capped` candidate's that keeps it, so only a candidate that can win is added. At
/// most [`REORDER_TRIES`] placements are reordered.
fn reordered_within_cap(
    p: &Problem,
    placements: &[(String, Placement)],
    capped: &[Candidate],
    method: &str,
    solver: &SolverInfo,
    cap: u64,
) -> Option<Candidate> {
    let to_beat = capped
        .iter()
        .filter(|c| c.max_staleness() <= cap)
        .map(|c| c.schedule.period_cycles)
        .min()
        .unwrap_or(u64::MAX);
    // `capped` starts with one candidate per placement, in order; its minimum period is
    // the placement's (the loads do not depend on the timing), so only the placements
    // that can win are timed again without the cap.
    let mut own: Vec<(u64, usize)> = capped
        .iter()
        .take(placements.len())
        .map(|c| timing::min_period(&c.schedule, p.cost))
        .enumerate()
        .filter(|&(_, period)| period < to_beat)
        .map(|(i, period)| (period, i))
        .collect();
    own.sort_unstable();
    own.into_iter()
        .map(|(_, i)| (i, timed(p, &placements[i].1, method, solver.clone(), None)))
        .filter(|(_, s)| spikepipe_ir::staleness_of(s).0 > cap)
        .take(REORDER_TRIES)
        .find_map(|(i, s)| {
            let r = cyclic::reorder(&s, p.cost, cyclic::WORK)?;
            (spikepipe_ir::staleness_of(&r).0 <= cap).then(|| Candidate {
                what: format!("{}, reordered at its own period", placements[i].0),
                schedule: r,
            })
        })
}

/// The best candidate under the cap (the first of equals, so the order above breaks ties).
pub fn best(candidates: Vec<Candidate>, cap: Option<u64>) -> Option<Candidate> {
    candidates.into_iter().min_by_key(|c| c.key(cap))
}

/// The candidates worth refining: the best under the cap and, when that is the spread
/// one ([`super::spread`]), data parallelism and the best of the others too. Spreading
/// and refining are both local searches, and either can end where the other cannot
/// reach: at s ≤ 0 on mlp-digits, sa32-ws, P = 4, data parallelism refined gives 35 690
/// cycles and the spread candidate refined 35 708; uncapped on mlp-fmnist, sa128-ws,
/// P = 4, the fine-grained candidate refined gives 184 846 and both of those 186 430.
///
/// When the best is the mixed fine-grained plan ([`Cuts::All`]), the candidates that
/// would be refined without it are refined too: it is fastest before refinement on more
/// rows than after (mlp-fmnist, sa128-ws, P = 8: refined alone it ends at 102 908
/// cycles; the GEMM-only fine-grained candidate it displaced refines to 102 694).
pub fn best_to_refine(candidates: &[Candidate], cap: Option<u64>) -> Vec<Candidate> {
    let is_spread = |c: &Candidate| c.what.starts_with(super::spread::NAME);
    let Some(best) = candidates.iter().min_by_key(|c| c.key(cap)) else { return vec![] };
    if best.what == FINE_ALL {
        let rest: Vec<Candidate> = candidates.iter().filter(|c| c.what != FINE_ALL).cloned().collect();
        return std::iter::once(best.clone()).chain(best_to_refine(&rest, cap)).collect();
    }
    if !is_spread(best) {
        return vec![best.clone()];
    }
    let data_parallel = candidates.iter().find(|c| c.what == DATA_PARALLEL);
    let other = candidates.iter().filter(|c| !is_spread(c)).min_by_key(|c| c.key(cap));
    let other = other.filter(|o| data_parallel.is_none_or(|d| d.schedule != o.schedule));
    std::iter::once(best).chain(data_parallel).chain(other).cloned().collect()
}
