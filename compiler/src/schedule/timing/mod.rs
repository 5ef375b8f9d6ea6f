//! Timing: given where every chunk runs, find the period II and the start of every
//! chunk and transfer.
//!
//! [`time_modulo`] is modulo list scheduling. II is the busiest resource's load (a
//! processor's chunks or a directed link's transfers), which no placement-preserving
//! schedule can beat. Chunks are taken in a topological order of the tasks (longest
//! path to the end first) and each resource packs its work in one contiguous run modulo
//! II, skipping ahead to a chunk's ready time only while the slack left on that resource
//! still fits the work not yet placed. That keeps every placement feasible at this II
//! and starts chunks as early as the slack allows, which keeps staleness low.
//!
//! [`time_flat`] is plain list scheduling of one iteration with no overlap between
//! iterations (gpipe): II is the makespan.

use std::collections::{BTreeMap, HashMap};

use spikepipe_ir::{staleness_of, EdgeKind, Transfer};

use super::reservations::{Reservations, Scratch};
use super::timed::Timed;

use crate::cost::traffic::LinkLoads;
use crate::cost::CostModel;

mod list;

use list::{link_tables, list_schedule, lists, Cursor, Lists, Mode, Pick, Timeline};

/// Task indices in a topological order of the distance-0 edges, taking among ready tasks
/// the one with the longest remaining path (then the lowest index).
pub fn task_order(s: &Timed) -> Vec<usize> {
    let index: HashMap<&str, usize> = s.tasks.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
    let n = s.tasks.len();
    let mut succ = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for e in s.edges.iter().filter(|e| e.kind == EdgeKind::Data) {
        let (u, v) = (index[e.from.as_str()], index[e.to.as_str()]);
        succ[u].push(v);
        indeg[v] += 1;
    }
    // Longest path to a sink, by task cycles (reverse topological pass via DFS memo).
    let mut tail = vec![None; n];
    fn longest(i: usize, s: &Timed, succ: &[Vec<usize>], memo: &mut Vec<Option<u64>>) -> u64 {
        if let Some(v) = memo[i] {
            return v;
        }
        let best = succ[i].iter().map(|&j| longest(j, s, succ, memo)).max().unwrap_or(0);
        let v = s.tasks[i].cycles + best;
        memo[i] = Some(v);
        v
    }
    for i in 0..n {
        longest(i, s, &succ, &mut tail);
    }
    let mut ready: BTreeMap<(std::cmp::Reverse<u64>, usize), ()> = BTreeMap::new();
    for i in (0..n).filter(|&i| indeg[i] == 0) {
        ready.insert((std::cmp::Reverse(tail[i].unwrap_or(0)), i), ());
    }
    let mut order = Vec::with_capacity(n);
    while let Some((&(_, i), _)) = ready.iter().next() {
        ready.remove(&(std::cmp::Reverse(tail[i].unwrap_or(0)), i));
        order.push(i);
        for &j in &succ[i] {
            indeg[j] -= 1;
            if indeg[j] == 0 {
                ready.insert((std::cmp::Reverse(tail[j].unwrap_or(0)), j), ());
            }
        }
    }
    order
}

/// Busy cycles per processor and per busy directed link that a placement implies
/// (links: [`LinkLoads`], the heuristic's evaluator's model too).
pub fn resource_loads(s: &Timed, cost: &dyn CostModel) -> (Vec<u64>, BTreeMap<(u32, u32), u64>) {
    let mut procs = vec![0u64; s.hardware.processors as usize];
    for c in s.tasks.iter().flat_map(|t| &t.chunks) {
        procs[c.processor as usize] += c.cycles;
    }
    (procs, LinkLoads::of_timetable(s, cost).busy())
}

/// The smallest period a placement allows: the busiest processor or link.
pub fn min_period(s: &Timed, cost: &dyn CostModel) -> u64 {
    let (procs, links) = resource_loads(s, cost);
    busiest(&procs, &links)
}

/// The busiest of [`resource_loads`], at least 1.
fn busiest(procs: &[u64], links: &BTreeMap<(u32, u32), u64>) -> u64 {
    procs.iter().chain(links.values()).copied().max().unwrap_or(0).max(1)
}
/// How the list scheduler may pack each resource's work within the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// One contiguous run per resource and period only.
    Contiguous,
    /// Contiguous runs or earliest free fit ([`Reservations`]), whichever is fresher.
    Any,
}

/// Times a placed schedule modulo the smallest feasible period; sets `period_cycles`,
/// chunk starts and `transfers`. Four list schedules are tried (see
/// [`time_modulo_at`]) and the one with the lowest total staleness (then the earliest
/// last start) is kept.
pub fn time_modulo(s: &mut Timed, cost: &dyn CostModel) {
    time_modulo_at(s, cost, min_period(s, cost));
}

/// Times a placed schedule at the smallest period whose list schedule keeps every
/// layer's staleness at most `cap`: the slack above the placement's minimum period lets
/// chunks start when their inputs arrive, which shortens an iteration and so the
/// gradient delay. Periods from the minimum up to the makespan of one unpipelined
/// iteration are searched by doubling the step, then bisection (staleness falls as the
/// period grows, though not strictly, so the result is the smallest period found this
/// way, not always the smallest there is). If no modulo schedule in that range keeps the
/// cap, the iteration is timed flat — no overlap between iterations, staleness 0.
/// Returns whether the cap was met (always, except for a cap the flat timing cannot
/// reach, which a cap ≥ 0 never is).
pub fn time_modulo_capped(s: &mut Timed, cost: &dyn CostModel, cap: u64) -> bool {
    time_modulo_capped_with(s, cost, cap, Packing::Any)
}

/// [`time_modulo_capped`] with the given packing.
pub fn time_modulo_capped_with(s: &mut Timed, cost: &dyn CostModel, cap: u64, packing: Packing) -> bool {
    let prep = Prepared::new(s, cost);
    let base = prep.min_period;
    let at = |ii: u64| {
        let mut c = s.clone();
        time_modulo_within(&mut c, &prep, ii, Some(cap), packing);
        c
    };
    let first = at(base);
    if staleness_of(&first).0 <= cap {
        *s = first;
        return true;
    }
    let mut flat = s.clone();
    time_flat(&mut flat, cost);
    let top = flat.period_cycles.max(base);
    // Grow the step until the cap holds (or the flat makespan is reached).
    let (mut lo, mut hi, mut hit) = (base, top, None);
    let mut step = (base / 50).max(1);
    while lo < top {
        let ii = lo.saturating_add(step).min(top);
        let c = at(ii);
        if staleness_of(&c).0 <= cap {
            (hi, hit) = (ii, Some(c));
            break;
        }
        lo = ii;
        step = step.saturating_mul(2);
    }
    let Some(mut found) = hit else {
        *s = flat;
        return staleness_of(s).0 <= cap;
    };
    while hi - lo > (base / 200).max(1) {
        let mid = lo + (hi - lo) / 2;
        let c = at(mid);
        if staleness_of(&c).0 <= cap {
            (hi, found) = (mid, c);
        } else {
            lo = mid;
        }
    }
    // The flat timing is valid too and may be faster than a barely-overlapped one.
    *s = if flat.period_cycles < found.period_cycles { flat } else { found };
    true
}

/// Times a placed schedule modulo the period `ii` (at least the placement's minimum).
/// Four list schedules are tried — chunks in topological order or earliest start first,
/// each resource packed contiguously or by earliest free fit ([`Reservations`]) — and
/// the one with the lowest total staleness (then the earliest last start) is kept.
pub fn time_modulo_at(s: &mut Timed, cost: &dyn CostModel, ii: u64) {
    time_modulo_within(s, &Prepared::new(s, cost), ii, None, Packing::Any);
}

/// [`time_modulo`] with the given packing.
pub fn time_modulo_with(s: &mut Timed, cost: &dyn CostModel, packing: Packing) {
    let prep = Prepared::new(s, cost);
    time_modulo_within(s, &prep, prep.min_period, None, packing);
}

/// What timing at any period reads of a placement, found once for a search over periods.
struct Prepared<'a> {
    lists: Lists<'a>,
    /// [`resource_loads`].
    procs: Vec<u64>,
    links: BTreeMap<(u32, u32), u64>,
    /// [`min_period`].
    min_period: u64,
}

impl<'a> Prepared<'a> {
    fn new(s: &Timed, cost: &'a dyn CostModel) -> Self {
        let (procs, links) = resource_loads(s, cost);
        let min_period = busiest(&procs, &links);
        Prepared { lists: lists(s, cost), procs, links, min_period }
    }
}

/// [`time_modulo_at`] with the given packing, preferring list schedules that keep every
/// layer's staleness within `cap`; `prep` describes `s`'s placement.
fn time_modulo_within(s: &mut Timed, prep: &Prepared, ii: u64, cap: Option<u64>, packing: Packing) {
    let ii = ii.max(prep.min_period);
    let (proc_loads, link_loads) = (&prep.procs, &prep.links);
    let procs: Vec<Cursor> = proc_loads.iter().map(|&l| Cursor::for_load(l)).collect();
    let links: BTreeMap<(u32, u32), Cursor> =
        link_loads.iter().map(|(&k, &l)| (k, Cursor::for_load(l))).collect();
    s.period_cycles = ii;
    let l = &prep.lists;
    let mut best: Option<((bool, u64, u64), Timed)> = None;
    let mut modes = vec![
        (Pick::Topological, Mode::Modulo { ii, procs: procs.clone(), links: links.clone() }),
        (Pick::EarliestStart, Mode::Modulo { ii, procs, links }),
    ];
    // The reservation tables are built only when free fit may be used (the refinement's
    // contiguous search times thousands of drafts without it).
    if packing == Packing::Any {
        let mut lengths = vec![Vec::new(); proc_loads.len()];
        for c in s.tasks.iter().flat_map(|t| &t.chunks) {
            lengths[c.processor as usize].push(c.cycles);
        }
        let tables: Vec<Reservations> = lengths.iter().map(|l| Reservations::new(ii, l)).collect();
        let link_tables = link_tables(l, ii);
        let scratch = Scratch::default();
        modes.push((
            Pick::Topological,
            Mode::Fit { ii, procs: tables.clone(), links: link_tables.clone(), scratch: scratch.clone() },
        ));
        modes.push((Pick::EarliestStart, Mode::Fit { ii, procs: tables, links: link_tables, scratch }));
    }
    for (pick, mut mode) in modes {
        let mut candidate = s.clone();
        list_schedule(&mut candidate, l, &mut mode, pick);
        let (most, stale) = staleness_of(&candidate);
        let last = candidate.tasks.iter().flat_map(|t| &t.chunks).map(|c| c.start).max().unwrap_or(0);
        let key = (cap.is_some_and(|c| most > c), stale, last);
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, candidate));
        }
    }
    if let Some((_, b)) = best {
        *s = b;
    }
}

/// Times one iteration with no overlap between iterations; the period is the makespan.
pub fn time_flat(s: &mut Timed, cost: &dyn CostModel) {
    let procs = vec![Timeline::default(); s.hardware.processors as usize];
    let l = lists(s, cost);
    list_schedule(s, &l, &mut Mode::Flat { procs, links: BTreeMap::new() }, Pick::Topological);
    let chunk_end = s.tasks.iter().flat_map(|t| &t.chunks).map(|c| c.end()).max().unwrap_or(0);
    let transfer_end = s.transfers.iter().map(Transfer::end).max().unwrap_or(0);
    s.period_cycles = chunk_end.max(transfer_end).max(1);
}

/// Times a schedule at its period with every chunk at a fixed offset modulo the period
/// (`offsets[task][chunk]`, which must not overlap on a processor): each chunk starts in
/// the first period it is ready for; links are packed as by [`time_modulo_at`]. Returns
/// every chunk's ready time (when its inputs have arrived), `[task][chunk]`.
pub fn time_at_offsets(s: &mut Timed, cost: &dyn CostModel, offsets: &[Vec<u64>]) -> Vec<Vec<u64>> {
    OffsetTiming::new(s, cost).time(s, offsets)
}

/// [`time_at_offsets`] for many orders of one placement: what the list scheduler reads
/// of the placement, and the empty link tables at its period, are found once, not once
/// per order.
pub struct OffsetTiming<'a> {
    lists: Lists<'a>,
    /// The period and every busy link's empty table at it.
    links: (u64, BTreeMap<(u32, u32), Reservations>),
}

impl<'a> OffsetTiming<'a> {
    /// For schedules placed as `s` is (the same chunks on the same processors).
    pub fn new(s: &Timed, cost: &'a dyn CostModel) -> Self {
        let lists = lists(s, cost);
        let ii = s.period_cycles.max(1);
        let links = (ii, link_tables(&lists, ii));
        OffsetTiming { lists, links }
    }

    /// [`time_at_offsets`] of `s`, which must be placed as the schedule this was made for.
    pub fn time(&self, s: &mut Timed, offsets: &[Vec<u64>]) -> Vec<Vec<u64>> {
        let ii = s.period_cycles.max(1);
        let links = if self.links.0 == ii { self.links.1.clone() } else { link_tables(&self.lists, ii) };
        let ready = offsets.iter().map(|cs| vec![0; cs.len()]).collect();
        let mut mode =
            Mode::Fixed { ii, offsets: offsets.to_vec(), ready, links, scratch: Default::default() };
        list_schedule(s, &self.lists, &mut mode, Pick::Topological);
        match mode {
            Mode::Fixed { ready, .. } => ready,
            Mode::Modulo { .. } | Mode::Flat { .. } | Mode::Fit { .. } => Vec::new(),
        }
    }
}
