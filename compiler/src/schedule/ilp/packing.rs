//! A combinatorial bound for phase 1: can the tasks be packed onto P processors so that
//! no processor's load exceeds a capacity C, links ignored?
//!
//! Phase 1's model prices a chunk of r units of a cut task at `a·r + b` cycles (less `e`
//! for the chunk holding the short last unit) and a whole task at its cycles, never above
//! the exact cost; the search rounds each chunk up to whole cycles ([`Piece::chunk`]),
//! which the exact cost is too. The exact period is at least the largest processor
//! load. So if no
//! placement the model expresses has every linear load ≤ C, none has an exact period
//! ≤ C: `C + 1` is a proven lower bound. The simplex relaxation gives that bound away
//! whenever it is the granularity of the pieces that keeps the loads apart (mlp-digits
//! on sa32-ws at P = 4: units of 7 900 cycles, a total slack of 408 cycles over four
//! processors), and microlp's branch and bound closes it only after tens of seconds. A
//! depth-first search over the pieces, largest first, with the bin-packing rules below,
//! decides it in milliseconds:
//!
//! - processors with equal loads are interchangeable, so a whole task tries only one of
//!   them, and a cut task gives the earlier of two such processors at least as many units;
//! - the work still to place must fit into the capacity left, less every processor's
//!   residual that is smaller than the smallest piece still to place (it stays empty);
//!   a residual smaller than every chunk of a cut piece still to place counts only up
//!   to the whole pieces still to place that fit into it;
//! - a cut task's processor takes at least the units the later processors cannot hold,
//!   and all of the units left unless one more chunk's fixed cycles still fit;
//! - a failed state (next piece, sorted loads) is remembered and never searched again.
//!
//! A [`Constraint`] ([`pack_constrained`]) adds a condition on which pieces run where
//! (phase 1's link bounds): it prunes partial placements and has the last word on
//! complete ones. Processors with equal loads may then differ, so only empty ones are
//! interchangeable, and a failed state is keyed by the loads per processor and the
//! constraint's own state.
//!
//! The search counts nodes, not seconds, so its answer is the same on every machine; a
//! search that runs out of nodes answers [`Packed::Unknown`] and proves nothing.
//!
//! ```
//! use spikepipe_compiler::schedule::ilp::packing::{pack, Packed, Piece};
//! // 3 + 3 + 2 + 2 + 2 on two processors of capacity 6: 3+3 | 2+2+2.
//! let pieces = [3, 3, 2, 2, 2].map(Piece::Whole);
//! assert!(matches!(pack(&pieces, 2, 6, 1000), Packed::Fits(_)));
//! // A cut task of 4 units of 2 cycles beside a whole task of 5: at capacity 6 no unit
//! // fits beside the 5 and 4 units (8 cycles) do not fit alone; at 7 one unit does.
//! let pieces = [Piece::Whole(5), Piece::Cut { a: 2, b: 0, e: 0, units: 4, step: 1 }];
//! assert!(matches!(pack(&pieces, 2, 6, 1000), Packed::Impossible));
//! assert!(matches!(pack(&pieces, 2, 7, 1000), Packed::Fits(_)));
//! ```

use std::collections::HashSet;

/// One task as the packing sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// A task that runs whole on one processor, in cycles.
    Whole(u64),
    /// A task cut into `units` units, at most one chunk per processor: a chunk of r
    /// units costs `a·r + b`, less `e` for the one chunk that holds the short last unit,
    /// rounded up to a whole number of `step`s ([`Piece::chunk`]).
    Cut {
        /// Cycles per unit.
        a: u64,
        /// Fixed cycles per chunk.
        b: u64,
        /// Cycles the short last unit costs less than a full one.
        e: u64,
        /// Units.
        units: u64,
        /// Every chunk costs a multiple of this. Phase 1 counts in fractions of a cycle
        /// (so an element-wise task's rate stays exact) and every chunk runs whole
        /// cycles: the line rounded up to the next whole cycle is still never above the
        /// exact cost, and it is the exact cost where only the rounding parted them
        /// (an update of 1.25 cycles per unit).
        step: u64,
    },
}

impl Piece {
    /// The cycles of one chunk of `r` units (`short`: it holds the short last unit); a
    /// whole task's cycles.
    ///
    /// ```
    /// use spikepipe_compiler::schedule::ilp::packing::Piece;
    /// // 1.25 cycles per unit, counted in quarters of a cycle: 3 units take 4 cycles.
    /// let update = Piece::Cut { a: 5, b: 0, e: 0, units: 8, step: 4 };
    /// assert_eq!(update.chunk(3, false), 16);
    /// ```
    pub fn chunk(&self, r: u64, short: bool) -> u64 {
        let step = match *self {
            Piece::Whole(_) => 1,
            Piece::Cut { step, .. } => step.max(1),
        };
        let (a, b, e) = self.line();
        (a * r + b).saturating_sub(if short { e } else { 0 }).div_ceil(step) * step
    }

    /// The line `(a, b, e)` a chunk of r units is priced on before [`Piece::chunk`]
    /// rounds it: `a·r + b`, less `e` if it holds the short last unit (a whole task: the
    /// constant line of its cycles).
    pub fn line(&self) -> (u64, u64, u64) {
        match *self {
            Piece::Whole(w) => (0, w, 0),
            Piece::Cut { a, b, e, .. } => (a, b, e),
        }
    }
}

/// Where a piece's work went: `(processor, units, holds the short last unit)` per chunk
/// (a whole task: one chunk of 1 unit).
pub type Chunks = Vec<(u32, u64, bool)>;

/// The answer of [`pack`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packed {
    /// Every load fits; the chunks of each piece, in the order given.
    Fits(Vec<Chunks>),
    /// No placement fits: the loads need more than the capacity.
    Impossible,
    /// The node budget ran out first.
    Unknown,
}

impl Packed {
    /// A word for traces.
    pub fn describe(&self) -> &'static str {
        match self {
            Packed::Fits(_) => "fits",
            Packed::Impossible => "impossible",
            Packed::Unknown => "out of nodes",
        }
    }
}

/// What a placement must satisfy besides the loads (phase 1: the links). With one, the
/// search only treats *empty* processors as interchangeable (two processors with equal
/// loads may still differ in what the constraint sees) and remembers no failed states.
pub trait Constraint {
    /// Whether the pieces placed so far (`placed[i]` for piece i in the order given to
    /// the search, `None` while it is not placed) may still be completed. Must never
    /// refuse a partial placement that some complete placement it `accepts` extends.
    fn admits(&mut self, placed: &[Option<&Chunks>]) -> bool;
    /// After [`admits`](Self::admits) allowed `placed`: appends to `key` all that its
    /// verdicts on completions of `placed` depend on besides the loads, so that the
    /// search may remember a failed state (two partial placements with equal loads and
    /// equal keys have the same admitted completions).
    fn state(&self, placed: &[Option<&Chunks>], key: &mut Vec<u64>);
    /// Whether a complete placement that the loads and [`admits`](Self::admits) allow is
    /// taken. One that is refused here leaves the capacity undecided: the search may
    /// then answer [`Packed::Fits`] or [`Packed::Unknown`], never [`Packed::Impossible`].
    fn accepts(&mut self, chunks: &[Chunks]) -> bool;
}

/// Whether `pieces` fit onto `procs` processors with every load ≤ `capacity`, searching
/// at most `nodes` nodes.
pub fn pack(pieces: &[Piece], procs: usize, capacity: u64, nodes: u64) -> Packed {
    pack_counted(pieces, procs, capacity, nodes).0
}

/// [`pack`], and the nodes it searched.
pub fn pack_counted(pieces: &[Piece], procs: usize, capacity: u64, nodes: u64) -> (Packed, u64) {
    search(pieces, procs, capacity, nodes, None)
}

/// [`pack_counted`] with a [`Constraint`] every placement must also meet. A constraint
/// may cost far more per node than the loads, so the search also stops (answering
/// [`Packed::Unknown`]) once `deadline` has passed; it looks at the clock every
/// [`CLOCK_EVERY`] nodes.
pub fn pack_constrained(
    pieces: &[Piece],
    procs: usize,
    capacity: u64,
    nodes: u64,
    constraint: &mut dyn Constraint,
    deadline: std::time::Instant,
) -> (Packed, u64) {
    search(pieces, procs, capacity, nodes, Some((constraint, deadline)))
}

/// Nodes between two looks at the clock in [`pack_constrained`].
pub const CLOCK_EVERY: u64 = 1024;

fn search(
    pieces: &[Piece],
    procs: usize,
    capacity: u64,
    nodes: u64,
    constraint: Option<(&mut dyn Constraint, std::time::Instant)>,
) -> (Packed, u64) {
    let (constraint, deadline) = match constraint {
        Some((c, d)) => (Some(c), Some(d)),
        None => (None, None),
    };
    if procs == 0 {
        let packed = if pieces.is_empty() { Packed::Fits(vec![]) } else { Packed::Impossible };
        return (packed, 0);
    }
    // Coarse pieces first: they decide feasibility, the fine ones fill the gaps.
    let mut order: Vec<usize> = (0..pieces.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(grain(&pieces[i])), i));
    let sorted: Vec<Piece> = order.iter().map(|&i| pieces[i]).collect();
    // Suffix sums of the least work and minima of the smallest piece still to place.
    let mut rest = vec![0u64; sorted.len() + 1];
    let mut finest = vec![u64::MAX; sorted.len() + 1];
    let mut cut_grain = vec![u64::MAX; sorted.len() + 1];
    for i in (0..sorted.len()).rev() {
        rest[i] = rest[i + 1] + least_work(&sorted[i]);
        finest[i] = finest[i + 1].min(grain(&sorted[i]));
        let cut = matches!(sorted[i], Piece::Cut { .. });
        cut_grain[i] = if cut { cut_grain[i + 1].min(grain(&sorted[i])) } else { cut_grain[i + 1] };
    }
    let mut s = Search {
        pieces: &sorted,
        order: &order,
        capacity,
        loads: vec![0; procs],
        chunks_on: vec![0; procs],
        rest,
        finest,
        cut_grain,
        failed: HashSet::new(),
        chosen: vec![Vec::new(); sorted.len()],
        nodes_left: nodes,
        constraint,
        deadline,
        undecided: false,
    };
    let packed = match s.piece(0) {
        Err(OutOfNodes) => Packed::Unknown,
        Ok(false) if s.undecided => Packed::Unknown,
        Ok(false) => Packed::Impossible,
        Ok(true) => Packed::Fits(s.in_given_order()),
    };
    (packed, nodes - s.nodes_left)
}

/// The least cycles of one chunk of the piece.
fn grain(p: &Piece) -> u64 {
    p.chunk(1, true)
}

/// The least cycles the piece adds to all loads together (one chunk: the rounding up of
/// two chunks is at least that of one).
fn least_work(p: &Piece) -> u64 {
    match *p {
        Piece::Whole(w) => w,
        Piece::Cut { units, .. } => p.chunk(units, true),
    }
}

struct OutOfNodes;

struct Search<'a, 'c> {
    /// The pieces, coarse first; `order[k]` is the given index of `pieces[k]`.
    pieces: &'a [Piece],
    order: &'a [usize],
    capacity: u64,
    loads: Vec<u64>,
    /// Chunks on each processor (an empty one is interchangeable with any other).
    chunks_on: Vec<u32>,
    rest: Vec<u64>,
    finest: Vec<u64>,
    /// Suffix minima of the smallest chunk of a cut piece still to place.
    cut_grain: Vec<u64>,
    failed: HashSet<(usize, Vec<u64>)>,
    /// The chunks of the pieces placed so far (the current path of the search).
    chosen: Vec<Chunks>,
    nodes_left: u64,
    constraint: Option<&'c mut dyn Constraint>,
    /// When to give up (with a constraint only), checked every [`CLOCK_EVERY`] nodes.
    deadline: Option<std::time::Instant>,
    /// Whether the constraint refused a placement it had admitted.
    undecided: bool,
}

/// Where a cut piece's distribution stands.
#[derive(Clone, Copy)]
struct Spread {
    /// The piece, whose [`Piece::chunk`] prices a chunk ([`Piece::line`] before rounding).
    piece: Piece,
    /// Units not yet given to a processor.
    left: u64,
    /// Whether the short last unit is still among them.
    short: bool,
}

impl Search<'_, '_> {
    fn tick(&mut self) -> Result<(), OutOfNodes> {
        self.nodes_left = self.nodes_left.checked_sub(1).ok_or(OutOfNodes)?;
        let look = self.nodes_left.is_multiple_of(CLOCK_EVERY);
        if look && self.deadline.is_some_and(|d| std::time::Instant::now() >= d) {
            return Err(OutOfNodes);
        }
        Ok(())
    }

    /// Whether `work` more cycles of the piece being cut, whose smallest chunk is
    /// `smallest` (`u64::MAX`: no piece is being cut), then the pieces from `next` on,
    /// can still fit. A residual smaller than every chunk of a cut piece still to place
    /// takes whole pieces only, so it holds at most the wholes still to place that fit in
    /// it on their own.
    fn room_for(&self, work: u64, smallest: u64, next: usize) -> bool {
        let chunk = smallest.min(self.cut_grain[next]);
        let usable: u64 = self
            .loads
            .iter()
            .map(|&l| {
                let r = self.capacity.saturating_sub(l);
                if r >= chunk {
                    r
                } else if r < self.finest[next] {
                    0
                } else {
                    let wholes = self.pieces[next..].iter().map(|p| match *p {
                        Piece::Whole(w) if w <= r => w,
                        _ => 0,
                    });
                    wholes.sum::<u64>().min(r)
                }
            })
            .sum();
        work + self.rest[next] <= usable
    }

    /// Whether processors `q` and `r` are interchangeable now: equal loads, or, with a
    /// constraint, both empty.
    fn alike(&self, q: usize, r: usize) -> bool {
        match self.constraint {
            None => self.loads[q] == self.loads[r],
            Some(_) => self.chunks_on[q] == 0 && self.chunks_on[r] == 0,
        }
    }

    /// The chunks placed so far, by the pieces' given order.
    fn in_given_order(&self) -> Vec<Chunks> {
        let mut chunks = vec![Vec::new(); self.pieces.len()];
        for (k, &i) in self.order.iter().enumerate() {
            chunks[i] = self.chosen[k].clone();
        }
        chunks
    }

    /// The constraint's verdict on pieces `..i` (all of them: a complete placement) and,
    /// if it admits them, the key of the state for the failed-state memo (with a
    /// constraint: the loads by processor, which processors are empty, and the
    /// constraint's own state; without: the sorted loads).
    fn allowed_state(&mut self, i: usize) -> Option<(usize, Vec<u64>)> {
        let Some(constraint) = self.constraint.as_mut() else {
            let mut loads = self.loads.clone();
            loads.sort_unstable();
            return Some((i, loads));
        };
        let mut placed: Vec<Option<&Chunks>> = vec![None; self.pieces.len()];
        for (k, &given) in self.order[..i].iter().enumerate() {
            placed[given] = Some(&self.chosen[k]);
        }
        if !constraint.admits(&placed) {
            return None;
        }
        if i == self.pieces.len() {
            let chunks = self.in_given_order();
            let accepted = self.constraint.as_mut().is_some_and(|c| c.accepts(&chunks));
            self.undecided |= !accepted;
            return accepted.then(Vec::new).map(|key| (i, key));
        }
        let mut key = self.loads.clone();
        key.extend(self.chunks_on.iter().map(|&n| u64::from(n == 0)));
        constraint.state(&placed, &mut key);
        Some((i, key))
    }

    fn piece(&mut self, i: usize) -> Result<bool, OutOfNodes> {
        let Some(key) = self.allowed_state(i) else { return Ok(false) };
        if i == self.pieces.len() {
            return Ok(true);
        }
        self.tick()?;
        if self.failed.contains(&key) {
            return Ok(false);
        }
        self.chosen[i].clear();
        let fits = match self.pieces[i] {
            Piece::Whole(w) => self.whole(i, w)?,
            piece @ Piece::Cut { e, units, .. } => {
                let alike: Vec<bool> =
                    (0..self.loads.len()).map(|q| q + 1 < self.loads.len() && self.alike(q, q + 1)).collect();
                self.spread(i, 0, Spread { piece, left: units, short: e > 0 }, &alike, u64::MAX)?
            }
        };
        if !fits {
            self.failed.insert(key);
        }
        Ok(fits)
    }

    fn whole(&mut self, i: usize, w: u64) -> Result<bool, OutOfNodes> {
        for q in 0..self.loads.len() {
            // Interchangeable processors: try the first of them only.
            if self.loads[q] + w > self.capacity || (0..q).any(|r| self.alike(r, q)) {
                continue;
            }
            self.loads[q] += w;
            self.chunks_on[q] += 1;
            self.chosen[i] = vec![(q as u32, 1, false)];
            let ok = self.room_for(0, u64::MAX, i + 1) && self.piece(i + 1)?;
            self.loads[q] -= w;
            self.chunks_on[q] -= 1;
            if ok {
                return Ok(true);
            }
        }
        self.chosen[i].clear();
        Ok(false)
    }

    /// Gives processor `q` (then `q + 1`, …) its share of a cut piece; `alike[q]` says
    /// whether processors q and q + 1 were interchangeable before the piece, `most` is
    /// the units the previous processor took if so (symmetry), else unbounded.
    fn spread(
        &mut self,
        i: usize,
        q: usize,
        s: Spread,
        alike: &[bool],
        most: u64,
    ) -> Result<bool, OutOfNodes> {
        if s.left == 0 {
            return self.piece(i + 1);
        }
        if q == self.loads.len() {
            return Ok(false);
        }
        self.tick()?;
        let cost = |r: u64, short: bool| s.piece.chunk(r, short);
        let (a, b, e) = s.piece.line();
        // What this piece still needs, at least: its units in one more chunk.
        let need = cost(s.left, s.short);
        if !self.room_for(need, cost(1, s.short), i + 1) {
            return Ok(false);
        }
        let capacity = self.capacity;
        let units_fitting = |load: u64, short: bool| {
            let free = capacity.saturating_sub(load);
            if free < cost(1, short) {
                return 0;
            }
            // The line's answer, then down past the rounding (less than a step).
            let line = (free + if short { e } else { 0 }).saturating_sub(b) / a.max(1);
            let mut r = line.min(s.left);
            while r > 0 && cost(r, short) > free {
                r -= 1;
            }
            r
        };
        let own = self.loads[q];
        let fit = |short: bool| units_fitting(own, short);
        let top = fit(s.short).max(fit(false)).min(most);
        // The later processors take at most this many units: this one takes the rest.
        let later: u64 = self.loads[q + 1..].iter().map(|&l| units_fitting(l, s.short)).sum();
        let low = s.left.saturating_sub(later).max(1);
        // A chunk of fewer than all units left means one more chunk later, b cycles more
        // in all; where that does not fit either, this processor takes all or nothing.
        // (Their lines, not their roundings: two roundings may add less than b.)
        let two = (a * s.left + 2 * b).saturating_sub(if s.short { e } else { 0 });
        let split = b == 0 || self.room_for(two, cost(1, s.short), i + 1);
        let low = if split { low } else { low.max(s.left) };
        let next_most = |r: u64| if alike[q] { r } else { u64::MAX };
        for r in (low..=top).rev() {
            // With the short unit first (cheaper); without it only if units remain for it.
            for short in [true, false] {
                if short && !s.short || !short && s.short && r == s.left || r > fit(short) {
                    continue;
                }
                let c = cost(r, short);
                self.loads[q] += c;
                self.chunks_on[q] += 1;
                self.chosen[i].push((q as u32, r, short));
                let rest = Spread { left: s.left - r, short: s.short && !short, ..s };
                let ok = self.spread(i, q + 1, rest, alike, next_most(r))?;
                self.loads[q] -= c;
                self.chunks_on[q] -= 1;
                if ok {
                    return Ok(true);
                }
                self.chosen[i].pop();
            }
        }
        // No chunk here.
        if later < s.left {
            return Ok(false);
        }
        self.spread(i, q + 1, s, alike, next_most(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    /// Every placement, tried one by one: the smallest largest load.
    fn brute_force(pieces: &[Piece], procs: usize) -> u64 {
        fn go(pieces: &[Piece], loads: &mut Vec<u64>, best: &mut u64) {
            let Some((first, rest)) = pieces.split_first() else {
                *best = (*best).min(loads.iter().copied().max().unwrap_or(0));
                return;
            };
            let procs = loads.len();
            match *first {
                Piece::Whole(w) => {
                    for q in 0..procs {
                        loads[q] += w;
                        go(rest, loads, best);
                        loads[q] -= w;
                    }
                }
                Piece::Cut { units, .. } => {
                    // Every split of the units over the processors, the short unit on any chunk.
                    for shares in shares_of(units, procs) {
                        for holder in (0..procs).filter(|&q| shares[q] > 0) {
                            let add: Vec<u64> = (0..procs)
                                .map(|q| match shares[q] {
                                    0 => 0,
                                    r => first.chunk(r, q == holder),
                                })
                                .collect();
                            for q in 0..procs {
                                loads[q] += add[q];
                            }
                            go(rest, loads, best);
                            for q in 0..procs {
                                loads[q] -= add[q];
                            }
                        }
                    }
                }
            }
        }
        let mut best = u64::MAX;
        go(pieces, &mut vec![0; procs], &mut best);
        best
    }

    /// Every vector of `procs` unit counts that sum to `units`.
    fn shares_of(units: u64, procs: usize) -> Vec<Vec<u64>> {
        let mut all = vec![];
        let mut shares = vec![0u64; procs];
        loop {
            if shares.iter().sum::<u64>() == units {
                all.push(shares.clone());
            }
            // Next vector of shares in 0..=units.
            let mut k = 0;
            while k < procs && shares[k] == units {
                shares[k] = 0;
                k += 1;
            }
            if k == procs {
                return all;
            }
            shares[k] += 1;
        }
    }

    /// `2 + below(pieces)` random pieces, a third of them cut into `2 + below(units)` units.
    fn random_pieces(rng: &mut Rng, pieces: u64, units: u64) -> Vec<Piece> {
        (0..2 + rng.below(pieces))
            .map(|_| {
                if rng.below(3) == 0 {
                    let a = 1 + rng.below(9);
                    let e = if rng.below(2) == 0 { 0 } else { rng.below(a) };
                    let step = [1, 1, 2, 3, 4][rng.below(5) as usize];
                    Piece::Cut { a, b: rng.below(4), e, units: 2 + rng.below(units), step }
                } else {
                    Piece::Whole(1 + rng.below(30))
                }
            })
            .collect()
    }

    /// The loads a packing's chunks put on the processors, recomputed from the pieces.
    fn loads_of(pieces: &[Piece], chunks: &[Chunks], procs: usize) -> Vec<u64> {
        let mut loads = vec![0; procs];
        for (piece, cs) in pieces.iter().zip(chunks) {
            let mut units = 0;
            let mut shorts = 0;
            let mut seen = HashSet::new();
            for &(q, r, short) in cs {
                assert!(seen.insert(q), "one chunk per processor");
                loads[q as usize] += match *piece {
                    Piece::Whole(w) => w,
                    Piece::Cut { .. } => piece.chunk(r, short),
                };
                units += r;
                shorts += u64::from(short);
            }
            match *piece {
                Piece::Whole(_) => assert_eq!((cs.len(), units), (1, 1)),
                Piece::Cut { e, units: n, .. } => {
                    assert_eq!(units, n, "every unit placed");
                    assert_eq!(shorts, u64::from(e > 0), "the short unit placed once");
                }
            }
        }
        loads
    }

    #[test]
    fn packing_decides_like_brute_force() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut decided = [0usize; 2];
        for _ in 0..300 {
            let procs = 2 + rng.below(2) as usize;
            let pieces = random_pieces(&mut rng, 4, 3);
            let best = brute_force(&pieces, procs);
            for capacity in [best.saturating_sub(1), best] {
                match pack(&pieces, procs, capacity, 1_000_000) {
                    Packed::Fits(chunks) => {
                        assert_eq!(capacity, best, "{pieces:?} on {procs}: fits below the optimum {best}");
                        let loads = loads_of(&pieces, &chunks, procs);
                        assert!(
                            loads.iter().all(|&l| l <= capacity),
                            "{pieces:?}: loads {loads:?} over {capacity}"
                        );
                        decided[1] += 1;
                    }
                    Packed::Impossible => {
                        assert!(capacity < best, "{pieces:?} on {procs}: {best} fits but the search says no");
                        decided[0] += 1;
                    }
                    Packed::Unknown => panic!("a tiny instance ran out of nodes"),
                }
            }
        }
        assert!(decided[0] > 100 && decided[1] > 100, "both answers exercised: {decided:?}");
    }

    /// Pairs of pieces (by index) that may not share a processor: a rule that, like the
    /// link bounds, sees which pieces are together, not the processors' labels.
    struct Apart(Vec<(usize, usize)>, bool);

    impl Apart {
        fn allows(&self, placed: &[Option<&Chunks>]) -> bool {
            let on = |i: usize| placed[i].map(|c| c.iter().map(|&(q, ..)| q).collect::<Vec<_>>());
            self.0.iter().all(|&(i, j)| match (on(i), on(j)) {
                (Some(a), Some(b)) => a.iter().all(|q| !b.contains(q)),
                _ => true,
            })
        }
    }

    impl Constraint for Apart {
        fn admits(&mut self, placed: &[Option<&Chunks>]) -> bool {
            self.allows(placed)
        }
        fn state(&self, placed: &[Option<&Chunks>], key: &mut Vec<u64>) {
            for c in placed.iter().flatten() {
                key.extend(c.iter().flat_map(|&(q, r, short)| [u64::from(q), r, u64::from(short)]));
                key.push(u64::MAX);
            }
        }
        fn accepts(&mut self, _: &[Chunks]) -> bool {
            self.1
        }
    }

    /// A deadline no test reaches.
    fn far() -> std::time::Instant {
        std::time::Instant::now() + std::time::Duration::from_secs(3600)
    }

    /// Every placement of the pieces, as chunks, by brute force.
    fn every_placement(pieces: &[Piece], procs: usize) -> Vec<Vec<Chunks>> {
        let mut all = vec![vec![]];
        for piece in pieces {
            let mut options: Vec<Chunks> = vec![];
            match *piece {
                Piece::Whole(_) => options.extend((0..procs as u32).map(|q| vec![(q, 1, false)])),
                Piece::Cut { e, units, .. } => {
                    for shares in shares_of(units, procs) {
                        let used: Vec<usize> = (0..procs).filter(|&q| shares[q] > 0).collect();
                        let holders: Vec<Option<usize>> =
                            if e > 0 { used.iter().map(|&q| Some(q)).collect() } else { vec![None] };
                        for h in holders {
                            options.push(used.iter().map(|&q| (q as u32, shares[q], Some(q) == h)).collect());
                        }
                    }
                }
            }
            all = all
                .into_iter()
                .flat_map(|p| options.iter().map(move |o| [p.clone(), vec![o.clone()]].concat()))
                .collect();
        }
        all
    }

    /// With a constraint the search decides like brute force over the placements the
    /// constraint allows, and one that refuses every complete placement it admitted
    /// leaves the answer undecided, never "impossible".
    #[test]
    fn constrained_packing_decides_like_brute_force() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut decided = [0usize; 3];
        for _ in 0..200 {
            let procs = 2 + rng.below(2) as usize;
            let pieces = random_pieces(&mut rng, 3, 2);
            let n = pieces.len();
            let pairs: Vec<(usize, usize)> =
                (0..n).flat_map(|i| (i + 1..n).map(move |j| (i, j))).filter(|_| rng.below(3) == 0).collect();
            let rule = Apart(pairs.clone(), true);
            let allowed: Vec<(Vec<Chunks>, u64)> = every_placement(&pieces, procs)
                .into_iter()
                .filter(|c| rule.allows(&c.iter().map(Some).collect::<Vec<_>>()))
                .map(|c| {
                    let top = loads_of(&pieces, &c, procs).into_iter().max().unwrap_or(0);
                    (c, top)
                })
                .collect();
            let Some(best) = allowed.iter().map(|(_, t)| *t).min() else { continue };
            for capacity in [best.saturating_sub(1), best] {
                let mut rule = Apart(pairs.clone(), true);
                match pack_constrained(&pieces, procs, capacity, 1_000_000, &mut rule, far()).0 {
                    Packed::Fits(chunks) => {
                        assert_eq!(
                            capacity, best,
                            "{pieces:?} apart {pairs:?} on {procs}: fits below {best}"
                        );
                        assert!(rule.allows(&chunks.iter().map(Some).collect::<Vec<_>>()));
                        assert!(loads_of(&pieces, &chunks, procs).iter().all(|&l| l <= capacity));
                        decided[1] += 1;
                    }
                    Packed::Impossible => {
                        assert!(capacity < best, "{pieces:?} apart {pairs:?} on {procs}: {best} fits");
                        decided[0] += 1;
                    }
                    Packed::Unknown => panic!("a tiny instance ran out of nodes"),
                }
                let mut refusing = Apart(pairs.clone(), false);
                let refused = pack_constrained(&pieces, procs, capacity, 1_000_000, &mut refusing, far()).0;
                if capacity == best {
                    assert_eq!(refused, Packed::Unknown, "refused placements leave it undecided");
                    decided[2] += 1;
                }
            }
        }
        assert!(decided.iter().all(|&d| d > 50), "every answer exercised: {decided:?}");
    }

    #[test]
    fn an_empty_budget_proves_nothing() {
        let pieces = [Piece::Whole(5), Piece::Whole(5), Piece::Whole(5)];
        assert_eq!(pack(&pieces, 2, 9, 0), Packed::Unknown);
        assert_eq!(pack(&pieces, 2, 9, 1000), Packed::Impossible);
    }
}
