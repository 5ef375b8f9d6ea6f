//! The list scheduler behind every timing: chunks placed one at a time (in a fixed
//! topological order or earliest start first) on per-resource tables — contiguous runs
//! modulo II ([`Cursor`]), earliest free fit ([`Reservations`]), plain timelines for
//! one flat iteration ([`Timeline`]) or fixed offsets — with the transfers their inputs
//! need placed on the links as they go.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use spikepipe_ir::{required_transfers, samples_overlap, EdgeKind, Transfer};

use super::task_order;
use crate::schedule::reservations::{next_at_offset, Reservations, Scratch};
use crate::schedule::timed::Timed;

use crate::cost::CostModel;

/// A resource (processor or link) packed contiguously modulo II.
#[derive(Debug, Default, Clone)]
pub(super) struct Cursor {
    anchor: Option<u64>,
    used: u64,
    remaining: u64,
}

impl Cursor {
    /// An empty period for `load` cycles of work.
    pub(super) fn for_load(load: u64) -> Self {
        Cursor { remaining: load, ..Cursor::default() }
    }

    fn place(&mut self, ii: u64, ready: u64, len: u64) -> u64 {
        self.remaining -= len;
        let Some(anchor) = self.anchor else {
            self.anchor = Some(ready % ii);
            self.used = len;
            return ready;
        };
        let cursor = (anchor + self.used) % ii;
        let gap = (ready % ii + ii - cursor) % ii;
        if self.used + gap + len + self.remaining <= ii {
            self.used += gap + len;
            ready
        } else {
            self.used += len;
            ready + (cursor + ii - ready % ii) % ii
        }
    }
}

/// Intervals already taken on a resource, for flat list scheduling.
#[derive(Debug, Default, Clone)]
pub(super) struct Timeline {
    busy: Vec<(u64, u64)>,
}

impl Timeline {
    fn place(&mut self, ready: u64, len: u64) -> u64 {
        let mut t = ready;
        for &(a, b) in &self.busy {
            if t + len <= a {
                break;
            }
            t = t.max(b);
        }
        let at = self.busy.partition_point(|&(a, _)| a < t);
        self.busy.insert(at, (t, t + len));
        t
    }
}

#[derive(Clone)]
pub(super) enum Mode {
    Modulo {
        ii: u64,
        procs: Vec<Cursor>,
        links: BTreeMap<(u32, u32), Cursor>,
    },
    Flat {
        procs: Vec<Timeline>,
        links: BTreeMap<(u32, u32), Timeline>,
    },
    /// Every chunk at a given offset modulo II (`offsets[task][chunk]`), in the first
    /// period it is ready for; links packed as in `Modulo`. Records each chunk's ready time.
    Fixed {
        ii: u64,
        offsets: Vec<Vec<u64>>,
        ready: Vec<Vec<u64>>,
        links: BTreeMap<(u32, u32), Reservations>,
        scratch: Scratch,
    },
    /// Processors and links as reservation tables (earliest free fit).
    Fit {
        ii: u64,
        procs: Vec<Reservations>,
        links: BTreeMap<(u32, u32), Reservations>,
        scratch: Scratch,
    },
}

impl Mode {
    /// A copy of the named links only, to try transfers on without changing this one
    /// (copying every link would make each trial O(P²)); the chunk itself is tried on
    /// this mode by [`Mode::peek_chunk`], which changes nothing.
    fn snapshot(&self, wanted: &[(u32, u32)]) -> Mode {
        fn some<T: Clone>(links: &BTreeMap<(u32, u32), T>, wanted: &[(u32, u32)]) -> BTreeMap<(u32, u32), T> {
            wanted.iter().filter_map(|k| links.get(k).map(|c| (*k, c.clone()))).collect()
        }
        match self {
            Mode::Modulo { ii, links, .. } => {
                Mode::Modulo { ii: *ii, procs: Vec::new(), links: some(links, wanted) }
            }
            Mode::Flat { links, .. } => Mode::Flat { procs: Vec::new(), links: some(links, wanted) },
            Mode::Fit { ii, links, .. } => Mode::Fit {
                ii: *ii,
                procs: Vec::new(),
                links: some(links, wanted),
                scratch: Scratch::default(),
            },
            Mode::Fixed { ii, links, .. } => Mode::Fixed {
                ii: *ii,
                offsets: Vec::new(),
                ready: Vec::new(),
                links: some(links, wanted),
                scratch: Scratch::default(),
            },
        }
    }
    /// Where [`Mode::chunk`] would start the chunk, without reserving anything.
    fn peek_chunk(&mut self, (v, vi): (usize, usize), proc: u32, ready: u64, len: u64) -> u64 {
        match self {
            Mode::Modulo { ii, procs, .. } => procs[proc as usize].clone().place(*ii, ready, len),
            Mode::Flat { procs, .. } => procs[proc as usize].clone().place(ready, len),
            Mode::Fit { procs, scratch, .. } => procs[proc as usize].peek_with(ready, len, scratch),
            Mode::Fixed { ii, offsets, .. } => next_at_offset(ready, offsets[v][vi], *ii),
        }
    }
    /// A lower bound on [`Mode::peek_chunk`] for a chunk ready at `ready`.
    fn chunk_bound(&mut self, proc: u32, ready: u64, len: u64) -> u64 {
        match self {
            Mode::Fit { procs, scratch, .. } => procs[proc as usize].earliest_fit_with(ready, len, scratch),
            Mode::Modulo { .. } | Mode::Flat { .. } | Mode::Fixed { .. } => ready,
        }
    }
    fn chunk(&mut self, (v, vi): (usize, usize), proc: u32, ready: u64, len: u64) -> u64 {
        match self {
            Mode::Modulo { ii, procs, .. } => procs[proc as usize].place(*ii, ready, len),
            Mode::Flat { procs, .. } => procs[proc as usize].place(ready, len),
            Mode::Fit { procs, scratch, .. } => procs[proc as usize].place_with(ready, len, scratch),
            Mode::Fixed { ii, offsets, ready: readies, .. } => {
                readies[v][vi] = ready;
                next_at_offset(ready, offsets[v][vi], *ii)
            }
        }
    }
    /// Where [`Mode::link`] would start the transfer, without reserving anything.
    fn peek_link(&mut self, link: (u32, u32), ready: u64, len: u64) -> u64 {
        match self {
            Mode::Modulo { ii, links, .. } => {
                links.get(&link).cloned().unwrap_or_default().place(*ii, ready, len)
            }
            Mode::Fit { ii, links, scratch, .. } | Mode::Fixed { ii, links, scratch, .. } => {
                match links.get(&link) {
                    Some(table) => table.peek_with(ready, len, scratch),
                    None => Reservations::new(*ii, &[]).peek_with(ready, len, scratch),
                }
            }
            Mode::Flat { links, .. } => links.get(&link).cloned().unwrap_or_default().place(ready, len),
        }
    }
    fn link(&mut self, link: (u32, u32), ready: u64, len: u64) -> u64 {
        match self {
            Mode::Modulo { ii, links, .. } => links.entry(link).or_default().place(*ii, ready, len),
            Mode::Fit { ii, links, scratch, .. } | Mode::Fixed { ii, links, scratch, .. } => links
                .entry(link)
                .or_insert_with(|| Reservations::new(*ii, &[]))
                .place_with(ready, len, scratch),
            Mode::Flat { links, .. } => links.entry(link).or_default().place(ready, len),
        }
    }
}

/// Which chunk the list scheduler places next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// Tasks in [`task_order`], each task's chunks in order.
    Topological,
    /// Among chunks whose producers are placed, the one that can start first.
    EarliestStart,
}

/// What the earliest-start pick knows of a ready chunk until a commit touches it.
#[derive(Debug, Clone, Copy, Default)]
struct Known {
    /// Where it would start.
    start: Option<u64>,
    /// A lower bound on that start.
    bound: Option<u64>,
}

/// Transfers placed so far, by (edge, producer chunk, destination processor).
type Placed = FxHashMap<(usize, usize, u32), Transfer>;

/// A producer chunk a consumer chunk waits for: `(edge, producer task, producer chunk)`.
type Input = (usize, usize, usize);

/// What the list scheduler reads of a placement, found once: every timing of the same
/// placement (the four list schedules of one period, the cyclic search's thousands of
/// orders) shares it.
pub(crate) struct Lists<'a> {
    /// What a transfer of the bytes below costs.
    cost: &'a dyn CostModel,
    /// Inputs of every chunk, indexed `[task][chunk]`.
    inputs: Vec<Vec<Vec<Input>>>,
    /// Bytes and cycles of every transfer, by (edge, producer chunk, destination).
    bytes: FxHashMap<(usize, usize, u32), (u64, u64)>,
    /// Weight transfers each chunk sends when it ends (`[task][chunk]`: edge, dst; their
    /// bytes and cycles are in `bytes`): updated weights for the next iterations'
    /// readers on other processors.
    feedback: Vec<Vec<Vec<(usize, u32)>>>,
    /// The cycles of every transfer each busy directed link carries, for its table.
    link_lengths: BTreeMap<(u32, u32), Vec<u64>>,
    /// [`task_order`] of the tasks.
    order: Vec<usize>,
}

impl Lists<'_> {
    /// Bytes and cycles of the transfer of an input `(edge, producer chunk, destination)`.
    fn transfer(&self, key: (usize, usize, u32)) -> (u64, u64) {
        self.bytes.get(&key).copied().unwrap_or_else(|| (0, self.cost.transfer_cycles(0)))
    }
}

/// [`Lists`] of `s`'s placement (its chunks' processors and ranges, not their starts).
pub(crate) fn lists<'a>(s: &Timed, cost: &'a dyn CostModel) -> Lists<'a> {
    let index: HashMap<&str, usize> = s.tasks.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
    let mut inputs: Vec<Vec<Vec<Input>>> = s.tasks.iter().map(|t| vec![Vec::new(); t.chunks.len()]).collect();
    for (ei, e) in s.edges.iter().enumerate().filter(|(_, e)| e.kind == EdgeKind::Data) {
        let (u, v) = (index[e.from.as_str()], index[e.to.as_str()]);
        for (vi, cv) in s.tasks[v].chunks.iter().enumerate() {
            for (ui, cu) in s.tasks[u].chunks.iter().enumerate() {
                if samples_overlap(cu.samples, cv.samples) {
                    inputs[v][vi].push((ei, u, ui));
                }
            }
        }
    }
    let mut feedback: Vec<Vec<Vec<(usize, u32)>>> =
        s.tasks.iter().map(|t| vec![Vec::new(); t.chunks.len()]).collect();
    let mut bytes = FxHashMap::default();
    let mut link_lengths: BTreeMap<(u32, u32), Vec<u64>> = BTreeMap::new();
    for (e, c, d, b) in required_transfers(s) {
        let cycles = cost.transfer_cycles(b);
        bytes.insert((e, c, d), (b, cycles));
        let from = index[s.edges[e].from.as_str()];
        if s.edges[e].kind == EdgeKind::WeightFeedback {
            feedback[from][c].push((e, d));
        }
        let src = s.tasks[from].chunks[c].processor;
        if src != d {
            link_lengths.entry((src, d)).or_default().push(cycles);
        }
    }
    Lists { cost, inputs, bytes, feedback, link_lengths, order: task_order(s) }
}

/// Drops the known starts (and bounds) of the ready chunks that committing `(v, vi)` may
/// have moved: those on its processor and those whose inputs cross a link it used.
fn forget_touched(
    s: &Timed,
    l: &Lists,
    ready: &[(usize, usize)],
    known: &mut [Vec<Known>],
    (v, vi): (usize, usize),
) {
    let p = s.tasks[v].chunks[vi].processor;
    let proc_of = |(u, ui): (usize, usize)| s.tasks[u].chunks[ui].processor;
    let mut touched: Vec<(u32, u32)> = l.inputs[v][vi]
        .iter()
        .map(|&(_, u, ui)| (proc_of((u, ui)), p))
        .chain(l.feedback[v][vi].iter().map(|&(_, dst)| (p, dst)))
        .filter(|&(a, b)| a != b)
        .collect();
    touched.sort_unstable();
    touched.dedup();
    for &c in ready {
        let pc = proc_of(c);
        if pc == p
            || l.inputs[c.0][c.1]
                .iter()
                .any(|&(_, u, ui)| touched.binary_search(&(proc_of((u, ui)), pc)).is_ok())
        {
            known[c.0][c.1] = Known::default();
        }
    }
}

/// Places the weight transfers a chunk sends when it ends.
fn send_feedback(s: &Timed, l: &Lists, mode: &mut Mode, placed: &mut Placed, (v, vi): (usize, usize)) {
    let cv = &s.tasks[v].chunks[vi];
    for &(edge, dst) in &l.feedback[v][vi] {
        let (bytes, cycles) = l.transfer((edge, vi, dst));
        let start = mode.link((cv.processor, dst), cv.end(), cycles);
        let t = Transfer { edge, from_chunk: vi, src: cv.processor, dst, bytes, start, cycles };
        placed.insert((edge, vi, dst), t);
    }
}

/// A lower bound on [`start_of`]: when the chunk's inputs could arrive if no link or
/// processor made them wait.
fn earliest_arrival(s: &Timed, l: &Lists, placed: &Placed, (v, vi): (usize, usize)) -> u64 {
    let cv = &s.tasks[v].chunks[vi];
    let mut ready = 0;
    for &(ei, u, ui) in &l.inputs[v][vi] {
        let cu = &s.tasks[u].chunks[ui];
        let arrival = if cu.processor == cv.processor {
            cu.end()
        } else {
            let key = (ei, ui, cv.processor);
            match placed.get(&key) {
                Some(t) => t.end(),
                None => cu.end() + l.transfer(key).1,
            }
        };
        ready = ready.max(arrival);
    }
    ready
}

/// When chunk `(v, vi)` could start; with `commit`, places its transfers and the chunk.
fn start_of(
    s: &Timed,
    l: &Lists,
    mode: &mut Mode,
    placed: &mut Placed,
    (v, vi): (usize, usize),
    commit: bool,
) -> u64 {
    let cv = &s.tasks[v].chunks[vi];
    let mut ready = 0;
    // A peek places nothing. Each transfer still to place is peeked on its link's table
    // as it is, unless two of them share a link: the second then waits for the first,
    // so they are placed on a copy of those links (copying costs more than the peek).
    let mut scratch = if commit {
        None
    } else {
        let mut wanted: Vec<(u32, u32)> = l.inputs[v][vi]
            .iter()
            .filter(|&&(ei, u, ui)| {
                s.tasks[u].chunks[ui].processor != cv.processor
                    && !placed.contains_key(&(ei, ui, cv.processor))
            })
            .map(|&(_, u, ui)| (s.tasks[u].chunks[ui].processor, cv.processor))
            .collect();
        wanted.sort_unstable();
        wanted.windows(2).any(|w| w[0] == w[1]).then(|| mode.snapshot(&wanted))
    };
    for &(ei, u, ui) in &l.inputs[v][vi] {
        let cu = &s.tasks[u].chunks[ui];
        if cu.processor == cv.processor {
            ready = ready.max(cu.end());
            continue;
        }
        let key = (ei, ui, cv.processor);
        let arrival = match placed.get(&key) {
            Some(t) => t.end(),
            None => {
                let (b, cycles) = l.transfer(key);
                let link = (cu.processor, cv.processor);
                let start = match scratch.as_mut() {
                    Some(copy) => copy.link(link, cu.end(), cycles),
                    None if commit => mode.link(link, cu.end(), cycles),
                    None => mode.peek_link(link, cu.end(), cycles),
                };
                if commit {
                    placed.insert(
                        key,
                        Transfer {
                            edge: ei,
                            from_chunk: ui,
                            src: cu.processor,
                            dst: cv.processor,
                            bytes: b,
                            start,
                            cycles,
                        },
                    );
                }
                start + cycles
            }
        };
        ready = ready.max(arrival);
    }
    if commit {
        mode.chunk((v, vi), cv.processor, ready, cv.cycles)
    } else {
        mode.peek_chunk((v, vi), cv.processor, ready, cv.cycles)
    }
}

/// An empty reservation table per busy link, announced the transfers it will carry.
pub(super) fn link_tables(l: &Lists, ii: u64) -> BTreeMap<(u32, u32), Reservations> {
    l.link_lengths.iter().map(|(&k, lengths)| (k, Reservations::new(ii, lengths))).collect()
}

/// Times `s`, whose placement `l` describes, on the tables of `mode`.
pub(super) fn list_schedule(s: &mut Timed, l: &Lists, mode: &mut Mode, pick: Pick) {
    let mut placed = Placed::default();
    let order = &l.order;
    match pick {
        Pick::Topological => {
            for &v in order {
                for vi in 0..s.tasks[v].chunks.len() {
                    let start = start_of(s, l, mode, &mut placed, (v, vi), true);
                    s.tasks[v].chunks[vi].start = start;
                    send_feedback(s, l, mode, &mut placed, (v, vi));
                }
            }
        }
        Pick::EarliestStart => {
            let mut rank = vec![0; s.tasks.len()];
            for (r, &t) in order.iter().enumerate() {
                rank[t] = r;
            }
            let mut waiting: Vec<Vec<usize>> =
                l.inputs.iter().map(|cs| cs.iter().map(|ins| ins.len()).collect()).collect();
            let mut consumers: Vec<Vec<Vec<(usize, usize)>>> =
                s.tasks.iter().map(|t| vec![Vec::new(); t.chunks.len()]).collect();
            for (v, cs) in l.inputs.iter().enumerate() {
                for (vi, ins) in cs.iter().enumerate() {
                    for &(_, u, ui) in ins {
                        consumers[u][ui].push((v, vi));
                    }
                }
            }
            let mut ready: Vec<(usize, usize)> = (0..s.tasks.len())
                .flat_map(|v| (0..s.tasks[v].chunks.len()).map(move |vi| (v, vi)))
                .filter(|&(v, vi)| waiting[v][vi] == 0)
                .collect();
            // A ready chunk's possible start (and its bound) depends only on its
            // processor's table, the transfers placed to it and the links its inputs
            // cross, so it is kept until a commit touches one of them.
            let mut known: Vec<Vec<Known>> =
                s.tasks.iter().map(|t| vec![Known::default(); t.chunks.len()]).collect();
            let mut by_bound = Vec::new();
            while !ready.is_empty() {
                // A chunk cannot start before its inputs could arrive, so chunks are
                // peeked in the order of that bound and only until it passes the
                // earliest start found: the same pick as peeking every ready chunk.
                by_bound.clear();
                by_bound.extend(ready.iter().enumerate().map(|(i, &c)| {
                    let k = &mut known[c.0][c.1];
                    let bound = k.start.or(k.bound).unwrap_or_else(|| {
                        let cv = &s.tasks[c.0].chunks[c.1];
                        let bound =
                            mode.chunk_bound(cv.processor, earliest_arrival(s, l, &placed, c), cv.cycles);
                        k.bound = Some(bound);
                        bound
                    });
                    ((bound, rank[c.0], c.1), i)
                }));
                by_bound.sort_unstable();
                let mut best: Option<((u64, usize, usize), usize)> = None;
                for &((bound, r, ci), i) in &by_bound {
                    if best.is_some_and(|(key, _)| (bound, r, ci) >= key) {
                        break;
                    }
                    let c = ready[i];
                    let start = match known[c.0][c.1].start {
                        Some(start) => start,
                        None => {
                            let start = start_of(s, l, mode, &mut placed, c, false);
                            known[c.0][c.1].start = Some(start);
                            start
                        }
                    };
                    if best.is_none_or(|(key, _)| (start, r, ci) < key) {
                        best = Some(((start, r, ci), i));
                    }
                }
                let at = best.map_or(0, |(_, i)| i);
                let (v, vi) = ready.swap_remove(at);
                let start = start_of(s, l, mode, &mut placed, (v, vi), true);
                s.tasks[v].chunks[vi].start = start;
                send_feedback(s, l, mode, &mut placed, (v, vi));
                forget_touched(s, l, &ready, &mut known, (v, vi));
                for &(w, wi) in &consumers[v][vi] {
                    waiting[w][wi] -= 1;
                    if waiting[w][wi] == 0 {
                        ready.push((w, wi));
                    }
                }
            }
        }
    }
    let mut transfers: Vec<Transfer> = placed.into_values().collect();
    transfers.sort_by_key(|t| (t.edge, t.from_chunk, t.dst));
    s.transfers = transfers;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_packs_within_the_period() {
        let mut c = Cursor { remaining: 10, ..Cursor::default() };
        assert_eq!(c.place(10, 3, 4), 3); // anchors at 3
                                          // Skipping from offset 7 to 100 ≡ 0 would leave no room for the 3 cycles still to
                                          // place, so this one waits for the slot at offset 7.
        assert_eq!(c.place(10, 100, 3), 107);
        assert_eq!(c.place(10, 0, 3), 0); // the last 3 cycles fill offsets 0..3
        assert_eq!(c.used, 10);
    }

    /// A peek at a transfer gives the start that placing it gives, on every kind of
    /// table and on a link with no table yet, and reserves nothing.
    #[test]
    fn peeking_a_link_matches_placing_on_it() {
        let link = (0, 1);
        let fit = |lengths: &[u64]| Mode::Fit {
            ii: 100,
            procs: vec![],
            links: [(link, Reservations::new(100, lengths))].into_iter().collect(),
            scratch: Scratch::default(),
        };
        let modes = [
            fit(&[30, 30, 20]),
            fit(&[]),
            Mode::Fit { ii: 100, procs: vec![], links: BTreeMap::new(), scratch: Scratch::default() },
            Mode::Modulo {
                ii: 100,
                procs: vec![],
                links: [(link, Cursor::for_load(80))].into_iter().collect(),
            },
            Mode::Flat { procs: vec![], links: BTreeMap::new() },
        ];
        for mut mode in modes {
            for (ready, len) in [(5, 30), (7, 30), (150, 20), (151, 5)] {
                let peeked = mode.peek_link(link, ready, len);
                assert_eq!(mode.peek_link(link, ready, len), peeked, "a peek reserves nothing");
                assert_eq!(mode.link(link, ready, len), peeked, "ready {ready}, len {len}");
            }
        }
    }

    #[test]
    fn timeline_fills_gaps() {
        let mut t = Timeline::default();
        assert_eq!(t.place(10, 5), 10);
        assert_eq!(t.place(0, 5), 0);
        assert_eq!(t.place(0, 6), 15);
        assert_eq!(t.place(5, 5), 5);
    }
}
