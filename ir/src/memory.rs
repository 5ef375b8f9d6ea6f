//! What a schedule keeps alive on each processor, derived from the schedule file alone,
//! so the compiler (which predicts it) and the simulator (which measures it) count the
//! same things. Definitions in `docs/memory.md`; in short:
//!
//! * **Buffers** (dynamic, one per iteration in flight): for every distance-0 edge
//!   `u→v`, each producing chunk keeps its share of the tensor on its processor from its
//!   start until the last consumer on that processor whose samples overlap it has ended
//!   and every transfer carrying it has arrived (`activations` for what `F`/`S` produce,
//!   `gradients` for the rest). A `K`-split producer keeps one full-size accumulator per
//!   processor. Every transfer keeps a receive buffer of its bytes on the destination
//!   from its start until it and the consumers there that need it have ended
//!   (`transfer_buffers`). With weight stashing, each `G_l` processor keeps the weights
//!   its iteration's `F_l` read, from the first `F_l` chunk's start to its `G_l` end;
//!   each recompute `R_l` processor likewise keeps them until its `R_l` chunks end
//!   (`weight_versions`), so the recompute reproduces the stored values exactly.
//! * **Static**: each processor holds the weights of the layers it updates or reads
//!   (`weights`; a processor reading weights updated elsewhere also keeps a buffer for
//!   the next version arriving, `weight_versions`), and the optimizer state of the
//!   weights it updates (`optimizer`: Adam's two moments at weight width; none for SGD).
//!
//! A buffer of iteration `i` is live during `[open + i·II, close + i·II)`, where `open`
//! is the earliest start of its opening points and `close` the latest end of its closing
//! points in iteration 0. In steady state the bytes live at time `t` are periodic; the
//! peak is the maximum over one period ([`peak_memory`]).
//!
//! ```
//! use spikepipe_ir::{peak_memory_bytes, Schedule};
//! let s = Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap();
//! let peak = peak_memory_bytes(&s);
//! assert_eq!(peak.len(), s.processors() as usize);
//! ```

use serde::Serialize;

use crate::schedule::samples_overlap;
use crate::traffic::{consumer_share, scale_bytes, share, Share};
use crate::{AsTimetable, EdgeKind, Optimizer, ScheduledTask, SplitDim, TaskKind, Timetable, Work};

/// What a block of memory holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryKind {
    /// Forward tensors (synaptic currents, neuron state, spikes) kept for consumers.
    Activations,
    /// Backward tensors (errors, input and weight gradients) kept for consumers.
    Gradients,
    /// Receive buffers of inter-processor transfers.
    TransferBuffers,
    /// The current weights a processor updates or reads.
    Weights,
    /// Extra weight versions: the next version arriving from another processor, and
    /// stashed versions (weight stashing).
    WeightVersions,
    /// Optimizer state (Adam's moments).
    Optimizer,
}

impl MemoryKind {
    /// Every kind, in report order.
    pub const ALL: [MemoryKind; 6] = [
        MemoryKind::Activations,
        MemoryKind::Gradients,
        MemoryKind::TransferBuffers,
        MemoryKind::Weights,
        MemoryKind::WeightVersions,
        MemoryKind::Optimizer,
    ];
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            MemoryKind::Activations => "activations",
            MemoryKind::Gradients => "gradients",
            MemoryKind::TransferBuffers => "transfer_buffers",
            MemoryKind::Weights => "weights",
            MemoryKind::WeightVersions => "weight_versions",
            MemoryKind::Optimizer => "optimizer",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// A moment of one iteration's run: a chunk or a transfer (its start opens, its end closes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Chunk `chunk` of `schedule.tasks[task]`.
    Chunk {
        /// Task index.
        task: usize,
        /// Chunk index within the task.
        chunk: usize,
    },
    /// `schedule.transfers[i]`.
    Transfer(usize),
}

/// Memory one iteration holds on one processor from the first start among `opens` to
/// the last end among `closes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// Processor holding it.
    pub processor: u32,
    /// What it holds.
    pub kind: MemoryKind,
    /// Size.
    pub bytes: u64,
    /// Allocated when the first of these starts.
    pub opens: Vec<Point>,
    /// Freed when the last of these has ended.
    pub closes: Vec<Point>,
    /// The tensor, e.g. `S1→E1`.
    pub label: String,
}

/// Options of the memory model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoryOptions {
    /// PipeDream weight stashing: `G_l` uses the weights its iteration's `F_l` used.
    pub weight_stashing: bool,
}

/// Start and end cycle (iteration 0) of a point.
pub fn point_times(s: &impl AsTimetable, p: Point) -> (u64, u64) {
    let s = &s.timetable();
    match p {
        Point::Chunk { task, chunk } => {
            let c = &s.tasks[task].chunks[chunk];
            (c.start, c.end())
        }
        Point::Transfer(x) => (s.transfers[x].start, s.transfers[x].end()),
    }
}

impl Buffer {
    /// `[open, close)` in iteration 0.
    pub fn interval(&self, s: &impl AsTimetable) -> (u64, u64) {
        let s = &s.timetable();
        let open = self.opens.iter().map(|&p| point_times(s, p).0).min().unwrap_or(0);
        let close = self.closes.iter().map(|&p| point_times(s, p).1).max().unwrap_or(open);
        (open, close.max(open))
    }
}

fn task_index(s: &Timetable<'_>, id: &str) -> Option<usize> {
    s.tasks.iter().position(|t| t.id == id)
}

fn edge_kind(producer: &ScheduledTask) -> MemoryKind {
    match producer.kind {
        TaskKind::Forward | TaskKind::Neuron => MemoryKind::Activations,
        _ => MemoryKind::Gradients,
    }
}

/// Every per-iteration buffer of a schedule (see the module docs), in a fixed order.
pub fn buffers(s: &impl AsTimetable, opts: MemoryOptions) -> Vec<Buffer> {
    let s = &s.timetable();
    let mut out = Vec::new();
    for (ei, e) in s.edges.iter().enumerate() {
        if e.kind != EdgeKind::Data {
            continue;
        }
        let (Some(ui), Some(vi)) = (task_index(s, &e.from), task_index(s, &e.to)) else { continue };
        let (u, v) = (&s.tasks[ui], &s.tasks[vi]);
        let label = format!("{}→{}", e.from, e.to);
        let kind = edge_kind(u);
        // Producer side: groups of producing chunks that share one buffer on a processor.
        let groups: Vec<(u32, Vec<usize>, u64)> =
            if u.chunks.first().is_some_and(|c| c.range.dim == SplitDim::K) {
                u.processors()
                    .into_iter()
                    .map(|q| {
                        let members = (0..u.chunks.len()).filter(|&c| u.chunks[c].processor == q).collect();
                        (q, members, e.bytes)
                    })
                    .collect()
            } else {
                (0..u.chunks.len())
                    .map(|c| (u.chunks[c].processor, vec![c], scale_bytes(e.bytes, share(u, &u.chunks[c]))))
                    .collect()
            };
        for (q, members, bytes) in groups {
            let opens: Vec<Point> = members.iter().map(|&c| Point::Chunk { task: ui, chunk: c }).collect();
            let mut closes: Vec<Point> = Vec::new();
            for (cj, cv) in v.chunks.iter().enumerate() {
                if cv.processor == q
                    && members.iter().any(|&c| samples_overlap(u.chunks[c].samples, cv.samples))
                {
                    closes.push(Point::Chunk { task: vi, chunk: cj });
                }
            }
            for (x, t) in s.transfers.iter().enumerate() {
                if t.edge == ei && members.contains(&t.from_chunk) {
                    closes.push(Point::Transfer(x));
                }
            }
            if closes.is_empty() {
                closes.clone_from(&opens);
            }
            out.push(Buffer { processor: q, kind, bytes, opens, closes, label: label.clone() });
        }
        // Receive side.
        for (x, t) in s.transfers.iter().enumerate().filter(|(_, t)| t.edge == ei) {
            let Some(cu) = u.chunks.get(t.from_chunk) else { continue };
            let mut closes = vec![Point::Transfer(x)];
            for (cj, cv) in v.chunks.iter().enumerate() {
                if cv.processor == t.dst && samples_overlap(cu.samples, cv.samples) {
                    closes.push(Point::Chunk { task: vi, chunk: cj });
                }
            }
            out.push(Buffer {
                processor: t.dst,
                kind: MemoryKind::TransferBuffers,
                bytes: t.bytes,
                opens: vec![Point::Transfer(x)],
                closes,
                label: label.clone(),
            });
        }
    }
    if opts.weight_stashing {
        out.extend(stash_buffers(s, TaskKind::InputGrad));
    }
    // A recompute must read the weights its forward pass read, or it would not
    // reproduce the stored values: it keeps that version until it has run.
    out.extend(stash_buffers(s, TaskKind::Recompute));
    out
}

/// Stashed weights: one version per iteration on each processor of the layer's `reader`
/// task (`G_l` with weight stashing, `R_l` for a recompute), from `F_l`'s first start to
/// the end of that processor's `reader` chunks.
fn stash_buffers(s: &Timetable<'_>, reader: TaskKind) -> Vec<Buffer> {
    let mut out = Vec::new();
    for l in 1..=s.layers {
        let find = |k: TaskKind| s.tasks.iter().position(|t| t.layer == l && t.kind == k);
        let (Some(fi), Some(gi), Some(ui)) = (find(TaskKind::Forward), find(reader), find(TaskKind::Update))
        else {
            continue;
        };
        let g = &s.tasks[gi];
        let full = weight_bytes(s, &s.tasks[ui]);
        for q in g.processors() {
            let need = scale_bytes(full, feedback_share(s, ui, gi, q));
            out.push(Buffer {
                processor: q,
                kind: MemoryKind::WeightVersions,
                bytes: need,
                opens: (0..s.tasks[fi].chunks.len()).map(|c| Point::Chunk { task: fi, chunk: c }).collect(),
                closes: (0..g.chunks.len())
                    .filter(|&c| g.chunks[c].processor == q)
                    .map(|c| Point::Chunk { task: gi, chunk: c })
                    .collect(),
                label: format!("W{l} version for {}{l}", reader.letter()),
            });
        }
    }
    out
}

/// Bytes of a layer's weights: one per parameter `U_l` updates, at weight width.
fn weight_bytes(s: &Timetable<'_>, update: &ScheduledTask) -> u64 {
    let params = match update.work {
        Work::Elementwise { elements, .. } => elements,
        Work::Gemm { m, k, n } => m.max(k).max(n),
    };
    (params as u128 * s.hardware.bits.weight as u128).div_ceil(8) as u64
}

/// The share of the weights the chunks of task `reader` on `q` read (the feedback edge
/// says whether a split reader needs only its slice).
fn feedback_share(s: &Timetable<'_>, update: usize, reader: usize, q: u32) -> Share {
    let (u, v) = (&s.tasks[update], &s.tasks[reader]);
    match s.feedback_edge(u, v) {
        Some(e) => consumer_share(&s.edges[e], v, q, |_| true),
        None => Share::ALL,
    }
}

/// Optimizer state words per weight.
fn state_words(opt: Option<Optimizer>) -> u64 {
    match opt {
        Some(Optimizer::Adam) => 2,
        _ => 0,
    }
}

/// Bytes each processor holds for the whole run, by kind (`weights`, `weight_versions`,
/// `optimizer`; the other kinds are 0).
pub fn static_memory(s: &impl AsTimetable) -> Vec<[u64; 6]> {
    let s = &s.timetable();
    let procs = s.processors() as usize;
    let mut out = vec![[0u64; 6]; procs];
    let words = state_words(s.optimizer);
    for l in 1..=s.layers {
        let find = |k: TaskKind| s.tasks.iter().position(|t| t.layer == l && t.kind == k);
        let Some(ui) = find(TaskKind::Update) else { continue };
        let u = &s.tasks[ui];
        let full = weight_bytes(s, u);
        let readers: Vec<usize> =
            [find(TaskKind::Forward), find(TaskKind::InputGrad)].into_iter().flatten().collect();
        for (q, slot) in out.iter_mut().enumerate() {
            let q = q as u32;
            let master: u64 =
                u.chunks.iter().filter(|c| c.processor == q).map(|c| scale_bytes(full, share(u, c))).sum();
            let need = readers
                .iter()
                .filter(|&&r| s.tasks[r].chunks.iter().any(|c| c.processor == q))
                .map(|&r| scale_bytes(full, feedback_share(s, ui, r, q)))
                .max()
                .unwrap_or(0);
            slot[MemoryKind::Weights.index()] += master.max(need);
            slot[MemoryKind::WeightVersions.index()] += need.saturating_sub(master);
            slot[MemoryKind::Optimizer.index()] += master.saturating_mul(words);
        }
    }
    out
}

/// Peak memory of one processor and what was live at the peak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessorMemory {
    /// Processor index.
    pub processor: u32,
    /// Peak bytes live in steady state.
    pub peak_bytes: u64,
    /// Bytes by [`MemoryKind`] at the peak instant (static kinds: always).
    pub activations: u64,
    /// See [`MemoryKind::Gradients`].
    pub gradients: u64,
    /// See [`MemoryKind::TransferBuffers`].
    pub transfer_buffers: u64,
    /// See [`MemoryKind::Weights`].
    pub weights: u64,
    /// See [`MemoryKind::WeightVersions`].
    pub weight_versions: u64,
    /// See [`MemoryKind::Optimizer`].
    pub optimizer: u64,
    /// Cycle in `[0, II)` of the (first) peak.
    pub at_cycle: u64,
}

impl ProcessorMemory {
    /// The bytes of one kind.
    pub fn get(&self, k: MemoryKind) -> u64 {
        match k {
            MemoryKind::Activations => self.activations,
            MemoryKind::Gradients => self.gradients,
            MemoryKind::TransferBuffers => self.transfer_buffers,
            MemoryKind::Weights => self.weights,
            MemoryKind::WeightVersions => self.weight_versions,
            MemoryKind::Optimizer => self.optimizer,
        }
    }
}

/// Steady-state peak per processor with its breakdown.
pub fn peak_memory(s: &impl AsTimetable, opts: MemoryOptions) -> Vec<ProcessorMemory> {
    let s = &s.timetable();
    let ii = s.period_cycles.max(1);
    let procs = s.processors() as usize;
    let statics = static_memory(s);
    // Per processor: (time, delta, kind) events of the periodic occupancy, plus a base.
    let mut events: Vec<Vec<(u64, i128, usize)>> = vec![Vec::new(); procs];
    let mut base = vec![[0u128; 6]; procs];
    for b in buffers(s, opts) {
        let q = b.processor as usize;
        if q >= procs || b.bytes == 0 {
            continue;
        }
        let (open, close) = b.interval(s);
        let d = close - open;
        let k = b.kind.index();
        base[q][k] += (d / ii) as u128 * b.bytes as u128;
        let r = d % ii;
        if r == 0 {
            continue;
        }
        let (a, bytes) = (open % ii, b.bytes as i128);
        let end = a + r;
        events[q].push((a, bytes, k));
        if end <= ii {
            events[q].push((end, -bytes, k));
        } else {
            events[q].push((ii, -bytes, k));
            events[q].push((0, bytes, k));
            events[q].push((end - ii, -bytes, k));
        }
    }
    (0..procs)
        .map(|q| {
            let ev = &mut events[q];
            // Intervals are half-open: at equal times, frees come first.
            ev.sort_by_key(|&(t, d, k)| (t, d > 0, k));
            let mut live: [i128; 6] = std::array::from_fn(|k| base[q][k] as i128 + statics[q][k] as i128);
            let total = |l: &[i128; 6]| l.iter().sum::<i128>();
            let (mut best, mut best_live, mut at) = (total(&live), live, 0u64);
            let mut i = 0;
            while i < ev.len() {
                let t = ev[i].0;
                while i < ev.len() && ev[i].0 == t {
                    live[ev[i].2] += ev[i].1;
                    i += 1;
                }
                if t < ii && total(&live) > best {
                    (best, best_live, at) = (total(&live), live, t);
                }
            }
            let g = |k: MemoryKind| best_live[k.index()].max(0) as u64;
            ProcessorMemory {
                processor: q as u32,
                peak_bytes: best.max(0) as u64,
                activations: g(MemoryKind::Activations),
                gradients: g(MemoryKind::Gradients),
                transfer_buffers: g(MemoryKind::TransferBuffers),
                weights: g(MemoryKind::Weights),
                weight_versions: g(MemoryKind::WeightVersions),
                optimizer: g(MemoryKind::Optimizer),
                at_cycle: at,
            }
        })
        .collect()
}

/// Steady-state peak bytes live on each processor (no weight stashing).
pub fn peak_memory_bytes(s: &impl AsTimetable) -> Vec<u64> {
    let s = &s.timetable();
    peak_memory(s, MemoryOptions::default()).iter().map(|m| m.peak_bytes).collect()
}

/// Static bytes per processor (everything held for the whole run), summed over kinds.
pub fn static_memory_bytes(s: &impl AsTimetable) -> Vec<u64> {
    let s = &s.timetable();
    static_memory(s).iter().map(|k| k.iter().sum()).collect()
}

/// Periods the longest-lived buffer spans, plus the latest start in periods: a run of
/// `2·this + 2` iterations reaches the steady-state peak.
pub fn memory_span_periods(s: &impl AsTimetable) -> u64 {
    let s = &s.timetable();
    let ii = s.period_cycles.max(1);
    let longest = buffers(s, MemoryOptions { weight_stashing: true })
        .iter()
        .map(|b| {
            let (o, c) = b.interval(s);
            c.div_ceil(ii) + o / ii
        })
        .max()
        .unwrap_or(0);
    longest.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Schedule;

    fn two_tasks() -> Schedule {
        Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap()
    }

    #[test]
    fn a_buffer_live_for_a_whole_period_counts_once() {
        // F1→S1 (409 600 B) lives from F1's start (0) to S1's end (39 152 = II).
        assert_eq!(peak_memory_bytes(&two_tasks()), vec![409_600]);
    }

    #[test]
    fn a_buffer_spanning_periods_counts_once_per_iteration_in_flight() {
        let mut s = two_tasks();
        // Run S1 two and a half periods later: iterations i, i+1, i+2 overlap part of the time.
        s.period_cycles = 20_000;
        s.tasks[0].chunks[0].cycles = 10_000;
        s.tasks[1].chunks[0].cycles = 5_000;
        s.tasks[1].chunks[0].start = 45_000;
        // Live [0, 50 000): two full periods plus [0, 10 000) of a third.
        let m = &peak_memory(&s, MemoryOptions::default())[0];
        assert_eq!(m.peak_bytes, 3 * 409_600);
        assert_eq!(m.activations, 3 * 409_600);
        assert_eq!(m.at_cycle, 0);
        s.tasks[1].chunks[0].start = 35_000; // live [0, 40 000): exactly two periods
        assert_eq!(peak_memory_bytes(&s), vec![2 * 409_600]);
    }

    #[test]
    fn weights_and_adam_state_sit_with_the_update() {
        let mut s = two_tasks();
        s.model.optimizer = Some(Optimizer::Adam);
        let u = ScheduledTask {
            id: "U1".into(),
            layer: 1,
            kind: TaskKind::Update,
            work: Work::Elementwise { elements: 64 * 128, ops_per_element: 8 },
            cycles: 100,
            chunks: vec![crate::Chunk { start: 0, cycles: 100, ..s.tasks[0].chunks[0].clone() }],
        };
        s.tasks.push(u);
        let st = static_memory(&s);
        assert_eq!(st[0][MemoryKind::Weights.index()], 64 * 128 * 2);
        assert_eq!(st[0][MemoryKind::Optimizer.index()], 2 * 64 * 128 * 2);
        assert_eq!(st[0][MemoryKind::WeightVersions.index()], 0);
        s.model.optimizer = Some(Optimizer::Sgd);
        assert_eq!(static_memory(&s)[0][MemoryKind::Optimizer.index()], 0);
    }
}
