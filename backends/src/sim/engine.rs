//! The event loop. Events live in one binary heap keyed by `(time, code)`; all events of
//! one time are handled before any processor or link starts new work at that time, so a
//! result available at cycle t can be used by work starting at cycle t.
//!
//! The loop allocates nothing per event except when a link queue outgrows its capacity.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::memory::{MemorySample, Tracker};
use super::plan::{Plan, WeightSource};
use super::trace::{ChunkEvent, TransferEvent};
use super::{SimConfig, SimError};

const CHUNK_END: u64 = 0;
const TRANSFER_END: u64 = 1;
const TRANSFER_READY: u64 = 2;
const WAKE: u64 = 3;

fn code(kind: u64, id: u32, iter: u32) -> u64 {
    (kind << 62) | ((id as u64) << 32) | iter as u64
}

/// What one run measured (raw; [`super::report`] turns it into a report).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub total_cycles: u64,
    pub chunk_instances: u64,
    pub transfer_instances: u64,
    /// Start of the first / end of the last chunk instance of each iteration.
    pub iter_start: Vec<u64>,
    pub iter_finish: Vec<u64>,
    pub max_in_flight: u32,
    pub proc_busy: Vec<u64>,
    pub link_busy: Vec<u64>,
    pub link_bytes: Vec<u64>,
    pub link_count: Vec<u64>,
    /// Largest delay of a chunk instance past its scheduled slot.
    pub max_start_delay: u64,
    /// Largest time a transfer waited for its link after it was ready.
    pub max_link_wait: u64,
    /// Per layer: maximum observed staleness of F_l and G_l (`None` if not observed).
    pub staleness: Vec<[Option<u64>; 2]>,
    pub chunk_events: Vec<ChunkEvent>,
    pub transfer_events: Vec<TransferEvent>,
    /// Measured peak bytes per processor (empty without a memory tracker).
    pub peak_memory: Vec<u64>,
    pub memory_samples: Vec<MemorySample>,
}

#[derive(Debug, Clone, Copy)]
struct Proc {
    busy: bool,
    done: bool,
    /// Head of the processor's instance sequence: round and position in its order.
    round: u64,
    pos: u32,
    head_chunk: u32,
    head_iter: u32,
    /// Pending wake-up time (`u64::MAX`: none).
    wake_at: u64,
}

#[derive(Debug, Clone, Copy)]
struct LinkCur {
    busy: bool,
    transfer: u32,
}

struct Sim<'a> {
    p: &'a Plan,
    n: u32,
    record: bool,
    now: u64,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
    done: Vec<u32>,
    arrived: Vec<u32>,
    task_started: Vec<u32>,
    procs: Vec<Proc>,
    links: Vec<LinkCur>,
    queues: Vec<VecDeque<(u32, u32, u64)>>,
    iter_rem: Vec<u32>,
    iters_started: u32,
    iters_finished: u32,
    proc_dirty: Vec<bool>,
    proc_list: Vec<u32>,
    link_dirty: Vec<bool>,
    link_list: Vec<u32>,
    mem: Option<Tracker>,
    out: Outcome,
}

pub(crate) fn run(plan: &Plan, config: &SimConfig, mem: Option<Tracker>) -> Result<Outcome, SimError> {
    let n = config.iterations;
    let nl = plan.links.len();
    let np = plan.processors as usize;
    let mut sim = Sim {
        p: plan,
        n,
        record: config.record_trace,
        now: 0,
        heap: BinaryHeap::with_capacity(np + plan.transfers.len() + 16),
        done: vec![0; plan.chunks.len()],
        arrived: vec![0; plan.transfers.len()],
        task_started: vec![0; plan.tasks],
        procs: vec![
            Proc {
                busy: false,
                done: false,
                round: 0,
                pos: 0,
                head_chunk: 0,
                head_iter: 0,
                wake_at: u64::MAX
            };
            np
        ],
        links: vec![LinkCur { busy: false, transfer: 0 }; nl],
        queues: (0..nl).map(|_| VecDeque::with_capacity(64)).collect(),
        iter_rem: vec![plan.chunks.len() as u32; n as usize],
        iters_started: 0,
        iters_finished: 0,
        proc_dirty: vec![false; np],
        proc_list: Vec::with_capacity(np),
        link_dirty: vec![false; nl],
        link_list: Vec::with_capacity(nl),
        mem,
        out: Outcome {
            iter_start: vec![0; n as usize],
            iter_finish: vec![0; n as usize],
            proc_busy: vec![0; np],
            link_busy: vec![0; nl],
            link_bytes: vec![0; nl],
            link_count: vec![0; nl],
            staleness: vec![[None, None]; plan.layers as usize],
            ..Outcome::default()
        },
    };
    if config.record_trace {
        sim.out.chunk_events.reserve(plan.chunks.len() * n as usize);
        sim.out.transfer_events.reserve(plan.transfers.len() * n as usize);
    }
    for q in 0..np {
        sim.procs[q].pos = plan.proc_spans[q].lo;
        sim.settle_head(q);
        sim.mark_proc(q as u32);
    }
    sim.start_work();
    while let Some(Reverse((t, c))) = sim.heap.pop() {
        if t != sim.now {
            if let Some(m) = sim.mem.as_mut() {
                m.settle(sim.now);
            }
        }
        sim.now = t;
        sim.handle(c);
        while let Some(&Reverse((t2, c2))) = sim.heap.peek() {
            if t2 != t {
                break;
            }
            sim.heap.pop();
            sim.handle(c2);
        }
        sim.start_work();
    }
    let blocked: Vec<String> = sim
        .procs
        .iter()
        .enumerate()
        .filter(|(_, pr)| !pr.done)
        .map(|(q, pr)| format!("p{q}: {} it{}", plan.chunk_names[pr.head_chunk as usize], pr.head_iter))
        .collect();
    if !blocked.is_empty() {
        return Err(SimError::Deadlock { at_cycle: sim.now, blocked });
    }
    sim.out.total_cycles = sim.now;
    if let Some(mut m) = sim.mem.take() {
        m.settle(sim.now);
        sim.out.peak_memory = m.peak;
        sim.out.memory_samples = m.samples;
    }
    Ok(sim.out)
}

impl Sim<'_> {
    /// Moves a processor's cursor forward (from its current position) to the next
    /// instance with an iteration in `0..n`, or marks it done.
    fn settle_head(&mut self, q: usize) {
        let span = self.p.proc_spans[q];
        let pr = &mut self.procs[q];
        let last_round = self.p.max_round + self.n as u64;
        loop {
            if pr.pos >= span.hi {
                pr.pos = span.lo;
                pr.round += 1;
            }
            if pr.round >= last_round || span.lo == span.hi {
                pr.done = true;
                return;
            }
            let g = self.p.proc_order[pr.pos as usize];
            let r = self.p.chunks[g as usize].round;
            if pr.round >= r && pr.round - r < self.n as u64 {
                pr.head_chunk = g;
                pr.head_iter = (pr.round - r) as u32;
                return;
            }
            pr.pos += 1;
        }
    }

    fn mark_proc(&mut self, q: u32) {
        if !self.proc_dirty[q as usize] {
            self.proc_dirty[q as usize] = true;
            self.proc_list.push(q);
        }
    }

    fn mark_link(&mut self, l: u32) {
        if !self.link_dirty[l as usize] {
            self.link_dirty[l as usize] = true;
            self.link_list.push(l);
        }
    }

    fn handle(&mut self, c: u64) {
        let kind = c >> 62;
        let id = ((c >> 32) & 0x3fff_ffff) as u32;
        let iter = c as u32;
        match kind {
            CHUNK_END => self.chunk_end(id),
            TRANSFER_END => {
                let cur = self.links[id as usize];
                self.links[id as usize].busy = false;
                if let Some(m) = self.mem.as_mut() {
                    m.transfer_end(cur.transfer as usize, iter);
                }
                self.arrived[cur.transfer as usize] += 1;
                self.mark_link(id);
                self.mark_proc(self.p.transfers[cur.transfer as usize].dst);
            }
            TRANSFER_READY => {
                let link = self.p.transfers[id as usize].link;
                self.queues[link as usize].push_back((id, iter, self.now));
                self.mark_link(link);
            }
            _ => {
                let pr = &mut self.procs[id as usize];
                if pr.wake_at == self.now {
                    pr.wake_at = u64::MAX;
                }
                self.mark_proc(id);
            }
        }
    }

    fn chunk_end(&mut self, q: u32) {
        let p = self.p;
        let pr = &mut self.procs[q as usize];
        pr.busy = false;
        let g = pr.head_chunk as usize;
        let i = pr.head_iter;
        self.settle_after_start(q as usize);
        self.done[g] += 1;
        if let Some(m) = self.mem.as_mut() {
            m.chunk_end(g, i);
        }
        let rem = &mut self.iter_rem[i as usize];
        *rem -= 1;
        if *rem == 0 {
            self.out.iter_finish[i as usize] = self.now;
            self.iters_finished += 1;
        }
        let ch = &p.chunks[g];
        for k in ch.outs.lo..ch.outs.hi {
            let x = p.out_transfers[k as usize];
            let tp = &p.transfers[x as usize];
            let slot = tp.start + i as u64 * p.period;
            if slot <= self.now {
                self.queues[tp.link as usize].push_back((x, i, self.now));
                self.mark_link(tp.link);
            } else {
                self.heap.push(Reverse((slot, code(TRANSFER_READY, x, i))));
            }
        }
        self.mark_proc(q);
    }

    /// The running instance has ended: advance the cursor past it.
    fn settle_after_start(&mut self, q: usize) {
        self.procs[q].pos += 1;
        self.settle_head(q);
    }

    fn start_work(&mut self) {
        while let Some(l) = self.link_list.pop() {
            self.link_dirty[l as usize] = false;
            self.try_start_link(l as usize);
        }
        // Processors in index order for determinism of trace recording.
        if self.proc_list.len() > 1 {
            self.proc_list.sort_unstable();
        }
        let mut k = 0;
        while k < self.proc_list.len() {
            let q = self.proc_list[k] as usize;
            self.proc_dirty[q] = false;
            self.try_start_proc(q);
            k += 1;
        }
        self.proc_list.clear();
        // Starting chunks never makes a link ready at the same instant (chunks take ≥ 1
        // cycle), but zero-cycle transfers may end now: those come back through the heap.
    }

    fn try_start_link(&mut self, l: usize) {
        if self.links[l].busy {
            return;
        }
        let Some((x, i, ready)) = self.queues[l].pop_front() else { return };
        let tp = &self.p.transfers[x as usize];
        self.links[l] = LinkCur { busy: true, transfer: x };
        if let Some(m) = self.mem.as_mut() {
            m.transfer_start(x as usize, i);
        }
        let end = self.now + tp.cycles;
        self.heap.push(Reverse((end, code(TRANSFER_END, l as u32, i))));
        self.out.transfer_instances += 1;
        self.out.link_busy[l] += tp.cycles;
        self.out.link_bytes[l] += tp.bytes;
        self.out.link_count[l] += 1;
        self.out.max_link_wait = self.out.max_link_wait.max(self.now - ready);
        if self.record {
            self.out.transfer_events.push(TransferEvent {
                transfer: x,
                iteration: i,
                link: l as u32,
                ready,
                start: self.now,
                end,
            });
        }
    }

    fn try_start_proc(&mut self, q: usize) {
        let pr = self.procs[q];
        if pr.busy || pr.done {
            return;
        }
        let p = self.p;
        let g = pr.head_chunk as usize;
        let i = pr.head_iter;
        let ch = &p.chunks[g];
        let slot = ch.start + i as u64 * p.period;
        if slot > self.now {
            if pr.wake_at != slot {
                self.procs[q].wake_at = slot;
                self.heap.push(Reverse((slot, code(WAKE, q as u32, 0))));
            }
            return;
        }
        for k in ch.deps.lo..ch.deps.hi {
            if self.done[p.dep_chunks[k as usize] as usize] <= i {
                return;
            }
        }
        for k in ch.xdeps.lo..ch.xdeps.hi {
            if self.arrived[p.dep_transfers[k as usize] as usize] <= i {
                return;
            }
        }
        // Start.
        self.procs[q].busy = true;
        if let Some(m) = self.mem.as_mut() {
            m.chunk_start(g, i);
        }
        let end = self.now + ch.cycles;
        self.heap.push(Reverse((end, code(CHUNK_END, q as u32, i))));
        self.out.chunk_instances += 1;
        self.out.proc_busy[q] += ch.cycles;
        self.out.max_start_delay = self.out.max_start_delay.max(self.now - slot);
        if i == self.iters_started {
            self.out.iter_start[i as usize] = self.now;
            self.iters_started += 1;
            self.out.max_in_flight = self.out.max_in_flight.max(self.iters_started - self.iters_finished);
        }
        let task = ch.task as usize;
        if self.task_started[task] == i {
            self.task_started[task] += 1;
            if let Some((layer, which)) = ch.reader {
                let mut updated = u32::MAX;
                for k in ch.wsrc.lo..ch.wsrc.hi {
                    updated = updated.min(match p.weight_sources[k as usize] {
                        WeightSource::Chunk(u) => self.done[u as usize],
                        WeightSource::Transfer(x) => self.arrived[x as usize],
                    });
                }
                // Weights carry updates of iterations < `updated`: staleness i − updated.
                let s = (i as u64).saturating_sub(updated as u64);
                let slot = &mut self.out.staleness[layer as usize][which as usize];
                *slot = Some(slot.map_or(s, |m| m.max(s)));
            }
        }
        if self.record {
            self.out.chunk_events.push(ChunkEvent {
                task: ch.task,
                chunk: ch.local,
                iteration: i,
                processor: q as u32,
                slot,
                start: self.now,
                end,
            });
        }
    }
}
