//! Recorded instances of a run, and their Chrome/Perfetto trace JSON
//! (`{"traceEvents": [...]}`, loadable in `chrome://tracing` or ui.perfetto.dev).

use serde::Serialize;
use serde_json::{json, Value};
use spikepipe_ir::Schedule;

/// One chunk instance as it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ChunkEvent {
    /// Index into `schedule.tasks`.
    pub task: u32,
    /// Index into the task's `chunks`.
    pub chunk: u32,
    /// Iteration (minibatch) index.
    pub iteration: u32,
    /// Processor it ran on.
    pub processor: u32,
    /// Scheduled slot `start + i·II`.
    pub slot: u64,
    /// Actual start cycle.
    pub start: u64,
    /// Actual end cycle.
    pub end: u64,
}

/// One transfer instance as it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TransferEvent {
    /// Index into `schedule.transfers`.
    pub transfer: u32,
    /// Iteration (minibatch) index.
    pub iteration: u32,
    /// Index into [`Trace::links`].
    pub link: u32,
    /// Cycle at which it was ready (producer ended and its slot had come).
    pub ready: u64,
    /// Cycle at which it got the link.
    pub start: u64,
    /// Arrival cycle.
    pub end: u64,
}

/// Every recorded instance of a run, in start order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trace {
    /// Chunk instances.
    pub chunks: Vec<ChunkEvent>,
    /// Transfer instances.
    pub transfers: Vec<TransferEvent>,
    /// Link names (`p0→p1`, or `bus`), indexed by [`TransferEvent::link`].
    pub links: Vec<String>,
    /// Number of processors.
    pub processors: u32,
    /// Scheduled period II.
    pub period_cycles: u64,
    /// Bytes live per processor over time (a sample per change).
    pub memory: Vec<super::MemorySample>,
}

/// The display name of a chunk instance, `F1[0] it3`.
pub fn instance_name(s: &Schedule, task: u32, chunk: u32, iteration: u32) -> String {
    let id = s.tasks.get(task as usize).map_or("?", |t| t.id.as_str());
    format!("{id}[{chunk}] it{iteration}")
}

impl Trace {
    /// Chrome trace JSON: one complete (`"ph": "X"`) event per chunk and transfer
    /// instance, pid 0, one tid per processor (`0..P`) and one per link (`P + link`),
    /// `thread_name` metadata for every track; times in microseconds at
    /// `hardware.clock_mhz`.
    pub fn to_chrome_json(&self, s: &Schedule) -> String {
        let mhz = if s.hardware.clock_mhz > 0.0 { s.hardware.clock_mhz } else { 1000.0 };
        let us = |cycles: u64| cycles as f64 / mhz;
        // Each event is written out as it is made: a tree of every event's `Value` takes
        // kilobytes per event (14 GB for 100 000 iterations of an 11-chunk schedule).
        let mut out = String::from("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
        let mut events = Events { out: &mut out, first: true };
        events.push(json!({"name": "process_name", "ph": "M", "pid": 0, "tid": 0,
            "args": {"name": format!("{} ({}, P={})", s.model.name, s.method, self.processors)}}));
        for p in 0..self.processors {
            events.push(json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": p, "args": {"name": format!("p{p}")}}));
            events.push(json!({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": p, "args": {"sort_index": p}}));
        }
        for (l, name) in self.links.iter().enumerate() {
            let tid = self.processors as usize + l;
            events.push(json!({"name": "thread_name", "ph": "M", "pid": 0, "tid": tid, "args": {"name": format!("link {name}")}}));
            events.push(json!({"name": "thread_sort_index", "ph": "M", "pid": 0, "tid": tid, "args": {"sort_index": tid}}));
        }
        for e in &self.chunks {
            let kind = s.tasks.get(e.task as usize).map_or("?", |t| t.kind.name());
            events.push(json!({
                "name": instance_name(s, e.task, e.chunk, e.iteration),
                "cat": kind,
                "ph": "X",
                "pid": 0,
                "tid": e.processor,
                "ts": us(e.start),
                "dur": us(e.end - e.start),
                "args": {"iteration": e.iteration, "start_cycle": e.start, "end_cycle": e.end,
                         "slot_cycle": e.slot, "delay_cycles": e.start - e.slot},
            }));
        }
        for e in &self.transfers {
            let t = &s.transfers[e.transfer as usize];
            let edge = &s.edges[t.edge];
            events.push(json!({
                "name": format!("{}[{}]→{} p{}→p{} it{}", edge.from, t.from_chunk, edge.to, t.src, t.dst, e.iteration),
                "cat": "transfer",
                "ph": "X",
                "pid": 0,
                "tid": self.processors as usize + e.link as usize,
                "ts": us(e.start),
                "dur": us(e.end - e.start),
                "args": {"iteration": e.iteration, "bytes": t.bytes, "start_cycle": e.start,
                         "end_cycle": e.end, "wait_cycles": e.start - e.ready},
            }));
        }
        // Perfetto draws "C" (counter) events as one track per name.
        for m in &self.memory {
            events.push(json!({"name": format!("memory p{}", m.processor), "ph": "C", "pid": 0,
                "ts": us(m.cycle), "args": {"bytes": m.bytes}}));
        }
        out.push_str("]}");
        out
    }
}

/// The trace's event list, written as JSON one event at a time.
struct Events<'a> {
    out: &'a mut String,
    first: bool,
}

impl Events<'_> {
    fn push(&mut self, event: Value) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        // A `Value` always serialises (its keys are strings).
        self.out.push_str(&event.to_string());
    }
}
