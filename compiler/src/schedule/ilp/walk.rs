//! Phase 1's packing walk over the processor loads ([`super::packing`]).
//!
//! A packing of the model's chunks with every load below the incumbent's period is a
//! placement of the model, kept if its exact period (links counted) is lower too, and the
//! walk repeats from it. When the loads fit but the links do not, the search runs again
//! with the model's link bounds ([`LinkBounds`], evaluated on each partial placement);
//! when nothing fits below the incumbent, with or without the links, that proves it
//! optimal among the model's placements.

use super::cut::{packed_plans, Cut};
use super::links::LinkBounds;
use super::packing::{Constraint, Packed, Piece};
use crate::schedule::heuristic::{Evaluator, TaskPlan};
use crate::schedule::trace;
use crate::schedule::Problem;

/// Probes of [`Packing::tighter`] below the walk's first capacity (a range of 65 000
/// cycles narrowed to 250), each on `1/TIGHTER_SHARE` of the nodes left, so together
/// they spend at most 40 % of them.
const TIGHTER_PROBES: u32 = 8;
/// See [`TIGHTER_PROBES`].
const TIGHTER_SHARE: u64 = 16;

/// The packing searches of one phase 1, sharing one node budget and phase 1's deadline.
pub(super) struct Packing<'a> {
    pub(super) pieces: &'a [Piece],
    /// The pieces' cycles are in units of `1/scale` ([`packing_scale`](super::cut::packing_scale)).
    pub(super) scale: u64,
    pub(super) procs: usize,
    pub(super) nodes_left: u64,
    pub(super) deadline: std::time::Instant,
    /// Whether the deadline, not the node budget, stopped a search.
    pub(super) late: bool,
}

impl Packing<'_> {
    /// Whether every load (and what `constraint` checks) can stay at or below
    /// `capacity`, spending at most `1/share` of the nodes left; `Unknown` once that is
    /// spent or the deadline has passed.
    fn decide(&mut self, capacity: u64, constraint: Option<&mut dyn Constraint>, share: u64) -> Packed {
        if std::time::Instant::now() >= self.deadline {
            self.late = true;
            self.nodes_left = 0;
            return Packed::Unknown;
        }
        let before = self.nodes_left;
        let allowed = (before / share.max(1)).max(1);
        let with_links = constraint.is_some();
        let scaled = capacity.saturating_mul(self.scale);
        let (packed, used) = match constraint {
            None => super::packing::pack_counted(self.pieces, self.procs, scaled, allowed),
            Some(c) => {
                super::packing::pack_constrained(self.pieces, self.procs, scaled, allowed, c, self.deadline)
            }
        };
        self.nodes_left = before.saturating_sub(used);
        if packed == Packed::Unknown && used < allowed && std::time::Instant::now() >= self.deadline {
            // The clock, not the node budget, stopped the search with the links.
            self.late = true;
        }
        let what = if with_links { "loads and links" } else { "loads" };
        trace(format_args!("packing ({what}) at {capacity}: {} in {used} nodes", packed.describe()));
        packed
    }

    /// The packing walk from `from`: a packing at or below a probed capacity c whose
    /// exact period (links counted) is at most c too is a placement of the model, and the
    /// walk moves to it. When the loads fit but the links do not, the search is repeated
    /// with the model's link bounds ([`LinkBounds`]); `moves` says whether a placement
    /// that search finds is taken too. When nothing fits at c, that proves `c + 1` a lower
    /// bound on every placement of the model (`proven`). The capacities probed lie
    /// between the best proven bound (at first `floor`, one already proven) and the
    /// longest period [`clearly_below`] the incumbent's. Once
    /// nothing fits clearly below the walk's period, the proof is sharpened to the period
    /// itself if nothing one cycle shorter fits either.
    pub(super) fn walk(
        &mut self,
        p: &Problem,
        cuts: &[Option<Cut>],
        ev: &Evaluator,
        from: Walked,
        floor: f64,
        moves: Moves,
    ) -> Walked {
        let mut best = from;
        // No placement of the model has an exact period below `lo`; probes go at or
        // below `top` (clearly below every placement found, taken or not).
        let mut lo = (floor - 1e-6).ceil().max(0.0) as u64;
        let mut top = clearly_below(best.period);
        let mut refuted = false;
        if lo <= top {
            let (found, empty_to) = self.tighter(p, cuts, ev, lo, top);
            if let Some(c) = empty_to {
                (lo, refuted) = (c + 1, true);
            }
            if let Some((plans, e)) = found {
                best = Walked { plans, period: e, proven: None };
                top = top.min(clearly_below(e));
            }
        }
        // Probing `top` either moves the walk or proves it optimal, as a step of 10⁻⁴
        // of the period at a time did; that took 300 probes to walk down 3 %
        // (mlp-fmnist, sa32-ws, P = 8). So after a placement is found, the next probe
        // goes lower, in strides that double, but never below the middle of what is
        // still open (`low`: above every capacity proven empty or left undecided). Near
        // the threshold a search is hardest, so such a probe gets a quarter of the
        // nodes left; if it proves nothing, the walk goes back to `top`.
        let mut low = lo;
        let unit = best.period - top;
        let mut stride = 0;
        while lo <= top && self.nodes_left > 0 {
            let at_top = stride == 0 || low >= top;
            let c = if at_top { top } else { top.saturating_sub(stride).max(low + (top - low) / 2) };
            let found = match self.placement_at(p, cuts, ev, c, if at_top { 1 } else { 4 }) {
                At::Placement(plans, e) => Some((plans, e, true)),
                At::LinkedPlacement(plans, e) => Some((plans, e, moves == Moves::LoadsAndLinks)),
                At::Nothing => {
                    (lo, refuted, stride) = (c + 1, true, 0);
                    low = low.max(lo);
                    None
                }
                At::Unknown if at_top => break,
                At::Unknown => {
                    (low, stride) = (c + 1, 0);
                    None
                }
            };
            if let Some((plans, e, taken)) = found {
                if taken {
                    best = Walked { plans, period: e, proven: None };
                }
                top = top.min(clearly_below(e));
                stride = if stride == 0 { unit } else { 2 * stride };
            }
        }
        best.proven = refuted.then_some(lo as f64);
        // Sharpen the proof: nothing shorter at all. A placement this probe finds is
        // faster by less than the gap, yet faster (mlp-fmnist, sa32-ws, P = 4: 1 649 033
        // against 1 649 036), so it is taken and the probe repeated below it.
        while lo > clearly_below(best.period) && lo < best.period {
            match self.placement_at(p, cuts, ev, best.period - 1, 1) {
                At::Nothing => {
                    best.proven = Some(best.period as f64);
                    break;
                }
                At::Placement(plans, e) => best = Walked { plans, period: e, proven: best.proven },
                At::LinkedPlacement(plans, e) if moves == Moves::LoadsAndLinks => {
                    best = Walked { plans, period: e, proven: best.proven }
                }
                At::LinkedPlacement(..) | At::Unknown => break,
            }
        }
        best
    }

    /// Before the walk probes `top` with the links: a packing with room to spare strews
    /// chunks across processors, so the links, not the loads, can set its period
    /// (mlp-digits, sa32-ws, P = 8: loads within 31 996 cycles, exact period 38 840, and
    /// the search with the links ran out of nodes on placements just as strewn). A
    /// tighter capacity leaves less room, so when the loads alone fit at `top` but time
    /// over it, the capacities in `lo..top` are bisected with the loads alone, at most
    /// [`TIGHTER_PROBES`] of them, each on `1/`[`TIGHTER_SHARE`] of the nodes left: a fit
    /// that times over goes lower, no fit goes higher. Returns a placement of the model
    /// whose exact period is at most the capacity it was packed at, if one turned up,
    /// and the highest capacity proven empty.
    fn tighter(
        &mut self,
        p: &Problem,
        cuts: &[Option<Cut>],
        ev: &Evaluator,
        lo: u64,
        top: u64,
    ) -> (Option<(Vec<TaskPlan>, u64)>, Option<u64>) {
        let mut empty_to = None;
        let (mut low, mut high) = (lo, top);
        for probe in 0..=TIGHTER_PROBES {
            if low > high || high == 0 || self.nodes_left == 0 {
                break;
            }
            // The first probe is the walk's own at `top`.
            let (c, share) = if probe == 0 { (top, 1) } else { (low + (high - low) / 2, TIGHTER_SHARE) };
            match self.loads_at(p, cuts, ev, c, share) {
                Loads::Fit(plans, e) if e <= c => return (Some((plans, e)), empty_to),
                Loads::Fit(..) => high = c - 1,
                Loads::Impossible => {
                    empty_to = Some(c);
                    low = c + 1;
                }
                Loads::Unknown => break,
            }
        }
        (None, empty_to)
    }

    /// A placement of the model with exact period ≤ `c`, or a proof that none exists;
    /// each search spends at most `1/share` of the nodes left.
    fn placement_at(&mut self, p: &Problem, cuts: &[Option<Cut>], ev: &Evaluator, c: u64, share: u64) -> At {
        if c == 0 || self.nodes_left == 0 {
            return At::Unknown;
        }
        match self.loads_at(p, cuts, ev, c, share) {
            Loads::Fit(plans, e) if e <= c => At::Placement(plans, e),
            Loads::Fit(..) => {
                let mut links = LinkBounds::new(p, cuts, ev, c);
                match (self.decide(c, Some(&mut links), share), links.found) {
                    (Packed::Fits(_), Some((plans, e))) => At::LinkedPlacement(plans, e),
                    (Packed::Impossible, _) => At::Nothing,
                    _ => At::Unknown,
                }
            }
            // No placement of the model has its loads at or below c, so no exact period
            // is that low either.
            Loads::Impossible => At::Nothing,
            Loads::Unknown => At::Unknown,
        }
    }

    /// The loads alone packed at or below `c` (on `1/share` of the nodes left), and the
    /// exact period of that packing, links counted.
    fn loads_at(&mut self, p: &Problem, cuts: &[Option<Cut>], ev: &Evaluator, c: u64, share: u64) -> Loads {
        match self.decide(c, None, share) {
            Packed::Fits(chunks) => {
                let plans = packed_plans(p, cuts, &chunks);
                let e = ev.score(&plans).0;
                trace(format_args!("packing at {c}: loads fit, exact period {e}"));
                Loads::Fit(plans, e)
            }
            Packed::Impossible => Loads::Impossible,
            Packed::Unknown => Loads::Unknown,
        }
    }
}

/// What [`Packing::loads_at`] found.
enum Loads {
    /// A packing of the loads, as plans, and its exact period (which may exceed the
    /// capacity: the links are not packed).
    Fit(Vec<TaskPlan>, u64),
    /// No packing of the loads fits.
    Impossible,
    /// The node share ran out, or the deadline passed.
    Unknown,
}

/// What [`Packing::placement_at`] found.
enum At {
    /// A packing of the loads alone whose exact period is low enough, and that period.
    Placement(Vec<TaskPlan>, u64),
    /// One found only by the search with the links, and its exact period.
    LinkedPlacement(Vec<TaskPlan>, u64),
    /// Proof that no placement of the model is that fast.
    Nothing,
    /// The budget ran out, or the link bounds admit a placement whose exact period is
    /// too long (they are a relaxation).
    Unknown,
}

/// Which placements a packing walk moves to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Moves {
    /// Only packings of the loads alone whose exact period is low enough. The search
    /// with the links then only proves: what it finds is a placement picked for its
    /// links alone, often staler for a few cycles (mlp-fmnist, sa32-ws, P = 4: 178 of
    /// 1.65 M cycles for s = 5/3/1 instead of 4/2/0).
    Loads,
    /// Also what the search with the links finds.
    LoadsAndLinks,
}

/// Where a packing walk ended.
pub(super) struct Walked {
    pub(super) plans: Vec<TaskPlan>,
    pub(super) period: u64,
    /// A lower bound on the exact period of every placement of the model, if proven.
    pub(super) proven: Option<f64>,
}

/// The longest period that beats `h` by more than the [`MIP_GAP`](super::MIP_GAP) (the
/// solver counts periods closer than that as equal): the walk takes no placement that
/// is faster by less, and proving that nothing fits there proves `h` optimal.
fn clearly_below(h: u64) -> u64 {
    h.saturating_sub(((h as f64 * super::MIP_GAP).ceil() as u64).max(1))
}

#[cfg(test)]
mod tests {
    //! [`Packing::tighter`] on the case it is for: on mlp-digits/sa32-ws at P = 8 the
    //! loads alone fit just below the heuristic plan's period, but so loosely that the
    //! links make that packing's exact period longer (38 840 against 31 996); a tighter
    //! capacity, found by bisecting with the loads alone, gives a placement that times
    //! within it, on a few hundred nodes.

    use super::*;
    use crate::cost::Systolic;
    use crate::schedule::heuristic::best_plan;
    use crate::schedule::ilp::cut::{cuts_of, packing_is_sound, packing_scale, piece_of};
    use crate::schedule::lower_bound;

    #[test]
    fn a_loose_packing_that_times_over_is_tightened_with_the_loads_alone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (m, h) = (root.join("models/mlp-digits.yaml"), root.join("models/hw/sa32-ws.yaml"));
        let specs = crate::load_specs(&m, Some(&h), Some(8)).expect("bundled specs load");
        let graph = crate::lower_and_cost(&specs);
        let cost = Systolic::new(&specs.hardware);
        let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
        let ev = Evaluator::new(&p);
        let cuts = cuts_of(&p);
        let scale = packing_scale(&cuts);
        assert!(packing_is_sound(&p, &cuts, scale));
        let pieces: Vec<Piece> = p.tasks().zip(&cuts).map(|(t, c)| piece_of(t, c.as_ref(), scale)).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let mut packing =
            Packing { pieces: &pieces, scale, procs: 8, nodes_left: 20_000, deadline, late: false };
        let top = clearly_below(
            ev.score(&best_plan(&p, crate::schedule::heuristic::Cuts::Gemms).expect("heuristic plan")).0,
        );
        assert!(
            matches!(packing.loads_at(&p, &cuts, &ev, top, 1), Loads::Fit(_, e) if e > top),
            "the case: the loads fit at {top} and time over it"
        );
        let (found, _) = packing.tighter(&p, &cuts, &ev, lower_bound(&p), top);
        let (plans, e) = found.expect("a tighter capacity gives a placement");
        assert!(e < top, "{e} against {top}");
        assert_eq!(ev.score(&plans).0, e);
        assert!(packing.nodes_left > 10_000, "{} of 20 000 nodes left", packing.nodes_left);
    }
}
