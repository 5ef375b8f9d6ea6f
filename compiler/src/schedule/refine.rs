//! Refinement under the staleness cap: chunk moves scored by the *capped* period.
//!
//! Every candidate of [`super::candidates`] is placed for its own objective (the
//! fine-grained one for the shortest uncapped period, the stage plans for PipeDream's)
//! and only then timed under the cap, which raises the period until one iteration spans
//! few enough periods. A placement built for the cap can do better: moving a chunk onto
//! the processor that runs its producer or consumer removes a hop from an iteration's
//! critical path, so the cap holds at a shorter period. [`refine`] searches exactly
//! that: single-chunk moves to another processor and swaps of two chunks on different
//! processors, each timed the way the candidate would be
//! ([`super::candidates::time_draft`]), kept when it lowers (period, largest
//! staleness, summed staleness, bytes between processors). Moves that cannot shorten
//! the period (the busiest processor or link would be busier than the current period)
//! and do not keep it are skipped before timing. The scan order is fixed and the budget
//! counts chunk visits, not seconds, so the result is deterministic.
//!
//! ```
//! use spikepipe_compiler::schedule::{candidates, refine, Problem};
//! use spikepipe_compiler::{cost::Systolic, load_specs, lower_and_cost};
//! use spikepipe_ir::{staleness_of, verify_timetable};
//! let specs = load_specs("../models/mlp-digits.yaml".as_ref(), Some("../models/hw/sa32-ws.yaml".as_ref()), Some(4)).unwrap();
//! let graph = lower_and_cost(&specs);
//! let cost = Systolic::new(&specs.hardware);
//! let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
//! let solver = spikepipe_compiler::schedule::Outcome::feasible(spikepipe_compiler::schedule::Placement { chunks: vec![] }, "doc").solver;
//! let all = candidates::all(&p, "doc", &solver, Some(1)).unwrap();
//! let best = candidates::best(all, Some(1)).unwrap();
//! // `None`: no move or swap improved the winner.
//! let refined = refine::refine(&p, &best, Some(1), refine::WORK).unwrap_or(best.clone());
//! assert!(verify_timetable(&refined.schedule).is_ok());
//! assert!(staleness_of(&refined.schedule).0 <= 1);
//! assert!(refined.schedule.period_cycles <= best.schedule.period_cycles);
//! ```

use spikepipe_ir::{staleness_of, verify_timetable};

use super::candidates::{time_draft_with, Candidate};
use super::timed::{draft, Drafter};
use super::timing::Packing;
use super::{timing, Placement, Problem};

/// What one refinement may spend, in chunk visits: a tried change costs one visit per
/// chunk (drafting it and summing the loads), a timing [`TIMING_VISITS`] per chunk (the
/// capped timing's bisection runs a dozen list schedules). About 400 timings of a
/// 50-chunk placement, under a second here; large models get proportionally fewer.
pub const WORK: u64 = 600_000;

/// Chunk visits charged per chunk for one capped timing.
const TIMING_VISITS: u64 = 30;

/// Periods within this fraction of the fastest one count as equally fast, and the
/// freshest of them (largest, then summed staleness) wins: 0.1 %. Both `heuristic` and
/// `ilp` choose their winner so ([`fresh_key`]) and then [`freshen`] it. A placement
/// chosen for its loads alone often buys its last few cycles with staleness
/// (mlp-fmnist, sa32-ws, P = 4: 178 of 1.65 M cycles for s = 5/3/1 instead of 4/2/0),
/// which costs far more iterations to accuracy than 0.1 % of the period saves
/// (docs/time-to-accuracy.md).
pub const NEAR_PERIOD: f64 = 1e-3;

/// The longest period that counts as equal to `fastest` ([`NEAR_PERIOD`]).
pub fn near_period(fastest: u64) -> u64 {
    fastest + (fastest as f64 * NEAR_PERIOD).floor() as u64
}

/// Freshness first among periods up to `limit`: (misses the cap, period above the limit,
/// largest staleness, summed staleness, period, bytes between processors).
pub fn fresh_key(c: &Candidate, cap: Option<u64>, limit: u64) -> (bool, bool, u64, u64, u64, u64) {
    Goal::Fresh { limit }.key(c, cap)
}

/// What a refinement step must lower: (misses the cap, period, largest staleness,
/// summed staleness, bytes between processors).
pub type Key = (bool, u64, u64, u64, u64);

/// A candidate's [`Key`] under `cap`.
pub fn key(c: &Candidate, cap: Option<u64>) -> Key {
    let (max, total) = staleness_of(&c.schedule);
    let bytes = c.schedule.transfers.iter().map(|t| t.bytes).sum();
    (cap.is_some_and(|cap| max > cap), c.schedule.period_cycles, max, total, bytes)
}

/// What a search orders its results by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    /// [`key`]: the period first.
    Period,
    /// Freshness first among periods up to the limit: (misses the cap, period above the
    /// limit, largest staleness, summed staleness, period, bytes).
    Fresh { limit: u64 },
}

impl Goal {
    fn key(self, c: &Candidate, cap: Option<u64>) -> (bool, bool, u64, u64, u64, u64) {
        let (miss, period, max, total, bytes) = key(c, cap);
        match self {
            Goal::Period => (miss, false, period, max, total, bytes),
            Goal::Fresh { limit } => (miss, period > limit, max, total, period, bytes),
        }
    }

    /// The longest period a change may time to and still be kept.
    fn longest(self, current: u64) -> u64 {
        match self {
            Goal::Period => current,
            Goal::Fresh { limit } => limit.max(current),
        }
    }
}

/// The start improved by chunk moves and swaps until none helps or `work` chunk visits
/// (see [`WORK`]) are spent; `None` if nothing improved it. Synchronous candidates timed
/// by their own rule (GPipe's micro-batches) are never changed.
///
/// The search runs twice, its changes timed once with contiguous packing only and once
/// with earliest free fit as well ([`timing::Packing`]), and the better result is kept:
/// the fresher timing alone can lead the first-improvement search to a worse end (at
/// s ≤ 2 on mlp-fmnist, sa128-ws, P = 4: 203 077 instead of 195 094 cycles).
pub fn refine(p: &Problem, start: &Candidate, cap: Option<u64>, work: u64) -> Option<Candidate> {
    search(p, start, cap, work, Goal::Period)
}

/// [`refine`] with freshness first: the same moves and swaps, kept when they lower
/// (largest staleness, summed staleness) while the period stays at or below
/// `limit` (or, at equal staleness, shorten it). `None` if nothing got fresher or
/// faster within the limit.
///
/// The period-first search keeps a move that lowers staleness only if the period does
/// not grow at all, which on a placement whose every processor is full almost never
/// happens; periods a hair apart count as equal ([`NEAR_PERIOD`]), and this search
/// looks for the freshest placement among them.
pub fn freshen(p: &Problem, start: &Candidate, cap: Option<u64>, limit: u64, work: u64) -> Option<Candidate> {
    search(p, start, cap, work, Goal::Fresh { limit })
}

fn search(p: &Problem, start: &Candidate, cap: Option<u64>, work: u64, goal: Goal) -> Option<Candidate> {
    let contiguous = refine_with(p, start, cap, work, Packing::Contiguous, goal);
    // What the contiguous search found, timed with free fit allowed too.
    let retimed = contiguous.as_ref().map(|c| retime(p, c, cap, Packing::Any));
    let any = refine_with(p, start, cap, work, Packing::Any, goal);
    for (n, c) in [("contiguous", &contiguous), ("retimed", &retimed), ("any", &any)] {
        let after = c.as_ref().map(|c| goal.key(c, cap));
        super::trace(format_args!("refine ({goal:?}), {n} packing: {:?} → {after:?}", goal.key(start, cap)));
    }
    // Each reordered within its period (see [`super::cyclic`]) before they are compared.
    [contiguous, retimed, any]
        .into_iter()
        .flatten()
        .map(|c| match super::cyclic::reorder(&c.schedule, p.cost, super::cyclic::WORK) {
            Some(schedule) => Candidate { schedule, ..c },
            None => c,
        })
        .filter(|c| goal.key(c, cap) < goal.key(start, cap) && verify_timetable(&c.schedule).is_ok())
        .min_by_key(|c| goal.key(c, cap))
}

/// `c`'s placement timed afresh with `packing` under the cap.
fn retime(p: &Problem, c: &Candidate, cap: Option<u64>, packing: Packing) -> Candidate {
    let s = &c.schedule;
    let drafted = draft(p, &Placement::of_timed(s), &s.method, s.solver.clone());
    Candidate { what: c.what.clone(), schedule: time_draft_with(p, drafted, cap, packing) }
}

fn refine_with(
    p: &Problem,
    start: &Candidate,
    cap: Option<u64>,
    work: u64,
    packing: Packing,
    goal: Goal,
) -> Option<Candidate> {
    if start.schedule.micro_batches.is_some() {
        return None;
    }
    // The search's steps are timed with `packing`, so is its starting point.
    let first = retime(p, start, cap, packing);
    let placement = Placement::of_timed(&start.schedule);
    let mut search = Search {
        p,
        drafter: Drafter::new(p),
        packing,
        cap,
        work,
        spent: 0,
        chunks: start.schedule.tasks.iter().map(|t| t.chunks.len() as u64).sum::<u64>().max(1),
        goal,
        key: goal.key(&first, cap),
        best: first,
        placement,
    };
    let sites: Vec<(usize, usize)> = search
        .placement
        .chunks
        .iter()
        .enumerate()
        .flat_map(|(t, cs)| (0..cs.len()).map(move |j| (t, j)))
        .collect();
    let (mut improved, mut any) = (true, false);
    while improved && search.spent < search.work {
        improved = false;
        // Moves: one chunk to another processor.
        for &(t, j) in &sites {
            let from = search.placement.chunks[t][j].processor;
            for q in (0..p.processors()).filter(|&q| q != from) {
                if search.try_change(&[((t, j), q)]) {
                    improved = true;
                    break;
                }
            }
        }
        // Swaps: two chunks on different processors trade places (keeps loads close).
        for (a, &(t, j)) in sites.iter().enumerate() {
            for &(u, k) in &sites[a + 1..] {
                let (pa, pb) =
                    (search.placement.chunks[t][j].processor, search.placement.chunks[u][k].processor);
                if pa != pb {
                    improved |= search.try_change(&[((t, j), pb), ((u, k), pa)]);
                }
            }
        }
        any |= improved;
    }
    any.then_some(search.best)
}

/// The state of one refinement.
struct Search<'a, 'p> {
    p: &'a Problem<'p>,
    drafter: Drafter<'a, 'p>,
    packing: Packing,
    cap: Option<u64>,
    work: u64,
    spent: u64,
    chunks: u64,
    goal: Goal,
    key: (bool, bool, u64, u64, u64, u64),
    best: Candidate,
    placement: Placement,
}

impl Search<'_, '_> {
    /// Applies `changes` (chunk → processor); keeps them if the timed result is better,
    /// else undoes them. Returns whether they were kept.
    fn try_change(&mut self, changes: &[((usize, usize), u32)]) -> bool {
        if self.spent >= self.work {
            return false;
        }
        self.spent += self.chunks;
        let old: Vec<u32> =
            changes.iter().map(|&((t, j), _)| self.placement.chunks[t][j].processor).collect();
        for &((t, j), q) in changes {
            self.placement.chunks[t][j].processor = q;
        }
        let (method, solver) = (&self.best.schedule.method, &self.best.schedule.solver);
        let drafted = self.drafter.draft(&self.placement, method, solver.clone());
        if timing::min_period(&drafted, self.p.cost) <= self.goal.longest(self.best.schedule.period_cycles) {
            self.spent += TIMING_VISITS * self.chunks;
            let schedule = time_draft_with(self.p, drafted, self.cap, self.packing);
            let cand = Candidate { what: self.best.what.clone(), schedule };
            let k = self.goal.key(&cand, self.cap);
            if k < self.key && verify_timetable(&cand.schedule).is_ok() {
                (self.best, self.key) = (cand, k);
                return true;
            }
        }
        for (&((t, j), _), &q) in changes.iter().zip(&old) {
            self.placement.chunks[t][j].processor = q;
        }
        false
    }
}
