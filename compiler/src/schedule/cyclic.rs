//! Cyclic reordering: at a fixed placement and period, the order in which each processor
//! runs its chunks within a period, chosen for staleness.
//!
//! The list schedule of [`super::timing`] runs each processor's chunks in one
//! topological order of the task graph. When a processor is (nearly) fully busy it has
//! no slack to wait for a chunk's inputs, so every chunk whose inputs are late waits for
//! its slot in the next period; along a critical path that crosses processors those
//! waits add up, and an iteration spans many periods (staleness 7 for layer 1 of
//! mlp-fmnist at P = 4, where the path alone is under two periods long). In steady
//! state a processor interleaves chunks of different iterations anyway, so nothing ties
//! its order within a period to the topological one. [`reorder`] searches that order:
//! every chunk's offset modulo the period is fixed, each chunk starts in the first
//! period it is ready for ([`timing::time_at_offsets`]), and three changes per
//! processor are tried, each kept when it lowers (largest staleness, summed staleness,
//! span of one iteration):
//! - **rotate** the processor's whole period so that one chunk starts the moment its
//!   inputs arrive;
//! - **jump** a chunk to the offset at which it becomes ready, if that much of the
//!   period is free;
//! - **reinsert** a chunk after another one, shifting the chunks between them.
//!
//! Where those end, two compound changes follow (and the three again after either
//! helps), since at full utilisation no single change pays off on its own:
//! - **align** every processor in turn, in the order an iteration reaches them, so that
//!   its first chunk starts the moment it is ready;
//! - **reorder** a processor with at most five chunks: every cyclic order of them, back
//!   to back, then aligned (on mlp-fmnist at P = 8 this takes layer 2's s′ from 1 to 0).
//!
//! The period and the placement never change, so neither does any processor's or link's
//! load. The budget counts chunk and transfer visits, not seconds, so the result is
//! deterministic.
//!
//! ```
//! use spikepipe_compiler::schedule::{candidates, cyclic, Problem};
//! use spikepipe_compiler::{cost::Systolic, load_specs, lower_and_cost};
//! use spikepipe_ir::{staleness_of, verify_timetable};
//! let specs = load_specs("../models/mlp-digits.yaml".as_ref(), Some("../models/hw/sa32-ws.yaml".as_ref()), Some(4)).unwrap();
//! let graph = lower_and_cost(&specs);
//! let cost = Systolic::new(&specs.hardware);
//! let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
//! let placement = candidates::placements(&p).unwrap().remove(0).1; // fine-grained
//! let solver = spikepipe_compiler::schedule::Outcome::feasible(placement.clone(), "doc").solver;
//! let timed = candidates::timed(&p, &placement, "doc", solver, None);
//! // `None`: no order found was better than the list schedule's.
//! let better = cyclic::reorder(&timed, &cost, cyclic::WORK).unwrap_or(timed.clone());
//! assert!(verify_timetable(&better).is_ok());
//! assert_eq!(better.period_cycles, timed.period_cycles);
//! assert!(staleness_of(&better) <= staleness_of(&timed));
//! ```

use std::collections::VecDeque;
use std::sync::Mutex;

use spikepipe_ir::{required_transfers, staleness_of, verify_timetable};

use super::timed::Timed;
use super::timing;
use crate::cost::CostModel;

/// What one reordering may spend, in visits: a tried order costs one visit per chunk and
/// transfer. About 5 000 timings of mlp-fmnist at P = 4 (≈ 100 items), a second here.
pub const WORK: u64 = 500_000;

/// Processors with up to this many chunks have all their cyclic orders tried (4! = 24).
const ORDERS_UP_TO: usize = 5;

/// Every order of `0..n`, in lexicographic order.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for rest in permutations(n - 1) {
            let mut v = vec![first];
            v.extend(rest.into_iter().map(|k| if k >= first { k + 1 } else { k }));
            out.push(v);
        }
    }
    out
}

/// (largest staleness, summed staleness, cycles from an iteration's first start to its
/// last end).
type Key = (u64, u64, u64);

fn key(s: &Timed) -> Key {
    let (max, total) = staleness_of(s);
    let chunks = s.tasks.iter().flat_map(|t| &t.chunks);
    let first = chunks.clone().map(|c| c.start).min().unwrap_or(0);
    (max, total, chunks.map(|c| c.end() - first).sum())
}

/// `s` with each processor's chunks reordered within the period, or `None` if no order
/// found within `work` visits (see [`WORK`]) lowers (largest staleness, summed
/// staleness, iteration span). Schedules without staleness and GPipe's flat ones are
/// left alone.
pub fn reorder(s: &Timed, cost: &dyn CostModel, work: u64) -> Option<Timed> {
    // Before the memo's key, which costs a pass over the whole schedule.
    if s.micro_batches.is_some() || staleness_of(s).1 == 0 {
        return None;
    }
    let key = memo_key(s, cost, work);
    let mut recent = RECENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, r)) = recent.iter().find(|(k, _)| *k == key) {
        crate::schedule::trace(format_args!("cyclic: the same reordering as before"));
        return r.clone();
    }
    drop(recent);
    let r = search_orders(s, cost, work);
    recent = RECENT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if recent.len() == RECENT_MAX {
        recent.pop_front();
    }
    recent.push_back((key, r.clone()));
    r
}

/// The last [`RECENT_MAX`] results of [`reorder`], by [`memo_key`]. A compile reorders
/// the same schedule more than once: the period-first and the freshness-first
/// refinements of one candidate often end at the same placement, and so do its
/// contiguous and free-fit timings. A result is reused only for the same inputs, so it
/// is the one the search would find again.
static RECENT: Mutex<VecDeque<(String, Option<Timed>)>> = Mutex::new(VecDeque::new());
/// See [`RECENT`].
const RECENT_MAX: usize = 16;

/// Everything [`search_orders`] reads: the schedule (period, placement, order, notes),
/// the budget, and of the cost model only the cycles of each transfer timing will place
/// (`required_transfers`, as `timing` finds them).
fn memo_key(s: &Timed, cost: &dyn CostModel, work: u64) -> String {
    let prices: Vec<u64> =
        required_transfers(s).into_iter().map(|(.., bytes)| cost.transfer_cycles(bytes)).collect();
    format!("{work} {prices:?} {s:?}")
}

/// [`reorder`] without the memo, for a pipelined schedule.
fn search_orders(s: &Timed, cost: &dyn CostModel, work: u64) -> Option<Timed> {
    let ii = s.period_cycles.max(1);
    let offsets: Vec<Vec<u64>> =
        s.tasks.iter().map(|t| t.chunks.iter().map(|c| c.start % ii).collect()).collect();
    let size = (s.tasks.iter().map(|t| t.chunks.len()).sum::<usize>() + s.transfers.len()).max(1) as u64;
    let timing = timing::OffsetTiming::new(s, cost);
    let mut members = vec![Vec::new(); s.hardware.processors as usize];
    for (t, task) in s.tasks.iter().enumerate() {
        for (c, chunk) in task.chunks.iter().enumerate() {
            members[chunk.processor as usize].push((t, c));
        }
    }
    let mut search = Search {
        timing,
        ii,
        work,
        spent: 0,
        size,
        offsets,
        best: s.clone(),
        key: key(s),
        ready: Vec::new(),
        trial: None,
        members,
    };
    search.sort_members();
    let original = search.key;
    // The list schedule's own offsets, timed the fixed way, are the starting point even
    // when they time a little worse (links are packed in another order).
    let mut first = s.clone();
    search.ready = search.timing.time(&mut first, &search.offsets);
    search.spent += size;
    search.key = key(&first);
    search.best = first;
    search.descend(s.hardware.processors as u32);
    crate::schedule::trace(format_args!(
        "cyclic: {} of {} visits, key {:?} → {:?}",
        search.spent, search.work, original, search.key
    ));
    (search.key < original && verify_timetable(&search.best).is_ok()).then_some(search.best)
}

/// The state of one reordering.
struct Search<'a> {
    /// Times an order; the placement never changes.
    timing: timing::OffsetTiming<'a>,
    ii: u64,
    work: u64,
    spent: u64,
    /// Chunks plus transfers: the visits one timing costs.
    size: u64,
    /// The best order found: every chunk's offset modulo II, `[task][chunk]`.
    offsets: Vec<Vec<u64>>,
    best: Timed,
    key: Key,
    /// Every chunk's ready time in `best`.
    ready: Vec<Vec<u64>>,
    /// A schedule placed as `best` is, to time the next order in.
    trial: Option<Timed>,
    /// Every processor's chunks `(task, chunk)`, by offset in `offsets`.
    members: Vec<Vec<(usize, usize)>>,
}

impl Search<'_> {
    /// First-improvement descent over every processor until no change helps; from
    /// where it ends, the compound changes ([`Self::align`], [`Self::orders`]), and
    /// again the descent after any of them helped. The compound changes only start from
    /// the single changes' end, so they can only improve on it.
    fn descend(&mut self, procs: u32) {
        loop {
            let mut improved = true;
            while improved && self.spent < self.work {
                improved = false;
                for p in 0..procs {
                    improved |= self.rotations(p);
                    improved |= self.jumps(p);
                    improved |= self.reinsertions(p);
                }
            }
            let mut compound = self.align(procs);
            for p in 0..procs {
                compound |= self.orders(p, procs);
            }
            if !compound || self.spent >= self.work {
                return;
            }
        }
    }

    /// Rotates every processor, one after another, so that the first of its chunks an
    /// iteration reaches starts the moment it is ready; kept if the whole chain helps.
    fn align(&mut self, procs: u32) -> bool {
        match self.aligned(self.offsets.clone(), procs) {
            Some(o) => self.try_offsets(o),
            None => false,
        }
    }

    /// `o` with the processors rotated as [`Self::align`] says, in the order an
    /// iteration first reaches them (each rotation moves the ready times of the later
    /// processors, so the schedule is timed again after each); `None` once the budget
    /// is spent.
    fn aligned(&mut self, mut o: Vec<Vec<u64>>, procs: u32) -> Option<Vec<Vec<u64>>> {
        let mut s = self.best.clone();
        let mut done = vec![false; procs as usize];
        loop {
            if self.spent >= self.work {
                return None;
            }
            self.spent += self.size;
            let ready = self.timing.time(&mut s, &o);
            let first = s
                .tasks
                .iter()
                .enumerate()
                .flat_map(|(t, task)| {
                    task.chunks.iter().enumerate().map(move |(c, ch)| (ch.start, t, c, ch.processor))
                })
                .filter(|&(.., p)| !done[p as usize])
                .min();
            let Some((start, t, c, p)) = first else { return Some(o) };
            done[p as usize] = true;
            self.rotate(&mut o, p, start - ready[t][c]);
        }
    }

    /// Tries every cyclic order of a processor with at most [`ORDERS_UP_TO`] chunks,
    /// laid out back to back from its first chunk's offset, each followed by
    /// [`Self::align`]: at full utilisation a processor has no gap to move one chunk
    /// into, so only a new order (and the rotations it calls for elsewhere) helps.
    fn orders(&mut self, p: u32, procs: u32) -> bool {
        let m = self.members(p);
        if m.len() < 3 || m.len() > ORDERS_UP_TO {
            return false;
        }
        let mut any = false;
        for perm in permutations(m.len() - 1) {
            let m = self.members(p);
            let mut o = self.offsets.clone();
            let mut at = o[m[0].0][m[0].1] + self.len(m[0]);
            for &k in &perm {
                let (t, c) = m[k + 1];
                o[t][c] = at % self.ii;
                at += self.len((t, c));
            }
            if o == self.offsets {
                continue;
            }
            let Some(o) = self.aligned(o, procs) else { break };
            any |= self.try_offsets(o);
        }
        any
    }

    /// Moves every chunk of `p` in `o` `by` cycles earlier (modulo the period).
    fn rotate(&self, o: &mut [Vec<u64>], p: u32, by: u64) {
        for (u, d) in self.members(p) {
            o[u][d] = (o[u][d] + self.ii - by % self.ii) % self.ii;
        }
    }

    /// Chunks on processor `p`, by offset.
    fn members(&self, p: u32) -> Vec<(usize, usize)> {
        self.members[p as usize].clone()
    }

    /// Sorts [`Self::members`] by the current offsets (after they change).
    fn sort_members(&mut self) {
        let offsets = &self.offsets;
        for m in &mut self.members {
            m.sort_unstable_by_key(|&(t, c)| (offsets[t][c], t, c));
        }
    }

    fn len(&self, (t, c): (usize, usize)) -> u64 {
        self.best.tasks[t].chunks[c].cycles
    }

    /// Times `offsets`; keeps them if better. Returns whether they were kept.
    fn try_offsets(&mut self, offsets: Vec<Vec<u64>>) -> bool {
        if self.spent >= self.work || offsets == self.offsets {
            return false;
        }
        self.spent += self.size;
        // Timing sets every start and transfer, so the last rejected trial (placed as
        // `best` is) serves as the copy to time: no clone of the whole schedule.
        let mut s = self.trial.take().unwrap_or_else(|| self.best.clone());
        let ready = self.timing.time(&mut s, &offsets);
        let k = key(&s);
        if k < self.key {
            let old = std::mem::replace(&mut self.best, s);
            (self.key, self.offsets, self.ready, self.trial) = (k, offsets, ready, Some(old));
            self.sort_members();
            return true;
        }
        self.trial = Some(s);
        false
    }

    /// Shifts every chunk of `p` so that one of them starts when it is ready.
    fn rotations(&mut self, p: u32) -> bool {
        let mut any = false;
        for (t, c) in self.members(p) {
            let wait = self.best.tasks[t].chunks[c].start - self.ready[t][c];
            if wait.is_multiple_of(self.ii) {
                continue;
            }
            let mut o = self.offsets.clone();
            self.rotate(&mut o, p, wait);
            any |= self.try_offsets(o);
        }
        any
    }

    /// Moves a chunk of `p` to the offset at which it is ready, where that is free.
    fn jumps(&mut self, p: u32) -> bool {
        let mut any = false;
        for (t, c) in self.members(p) {
            let (at, len) = (self.ready[t][c] % self.ii, self.len((t, c)));
            if at == self.offsets[t][c] {
                continue;
            }
            let ii = self.ii;
            let free = self.members(p).into_iter().filter(|&m| m != (t, c)).all(|m| {
                let (o, l) = (self.offsets[m.0][m.1], self.len(m));
                (o + ii - at) % ii >= len && (at + ii - o) % ii >= l
            });
            if free {
                let mut o = self.offsets.clone();
                o[t][c] = at;
                any |= self.try_offsets(o);
            }
        }
        any
    }

    /// Takes a chunk of `p` out and puts it after (`later`) or before another one,
    /// shifting the chunks in between by its length towards the gap it left, so nothing
    /// overlaps and every other gap is kept.
    fn reinsertions(&mut self, p: u32) -> bool {
        let mut any = false;
        let n = self.members(p).len();
        for i in 0..n {
            for later in [true, false] {
                for step in 2..n {
                    let m = self.members(p);
                    if i >= m.len() {
                        break;
                    }
                    // Positions `i ± 1 … i ± (step − 1)` shift; the chunk lands beyond them.
                    let at = |k: usize| if later { m[(i + k) % n] } else { m[(i + n - k % n) % n] };
                    let (moved, ii) = (m[i], self.ii);
                    let len = self.len(moved) % ii;
                    let mut o = self.offsets.clone();
                    for k in 1..step {
                        let (t, c) = at(k);
                        o[t][c] = if later { (o[t][c] + ii - len) % ii } else { (o[t][c] + len) % ii };
                    }
                    let edge = at(step - 1);
                    o[moved.0][moved.1] = if later {
                        (o[edge.0][edge.1] + self.len(edge)) % ii
                    } else {
                        (o[edge.0][edge.1] + ii - len) % ii
                    };
                    if self.try_offsets(o) {
                        any = true;
                        break;
                    }
                }
            }
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::permutations;

    #[test]
    fn permutations_are_every_order_once() {
        for n in 0..6 {
            let all = permutations(n);
            let distinct: std::collections::BTreeSet<_> = all.iter().cloned().collect();
            assert_eq!(all.len(), (1..=n).product::<usize>().max(1), "n = {n}");
            assert_eq!(distinct.len(), all.len(), "n = {n}: repeats");
            assert!(all.iter().all(|p| {
                let mut s = p.clone();
                s.sort_unstable();
                s == (0..n).collect::<Vec<_>>()
            }));
        }
    }
}
