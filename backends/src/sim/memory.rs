//! Measured memory: the engine reports every chunk and transfer instance as it starts
//! and ends; each buffer of [`spikepipe_ir::buffers`] is allocated (per iteration) when
//! the first of its opening points starts and freed when the last of its closing points
//! has ended, at the times the run really had. The peak is read at the end of each
//! simulated cycle (all of that cycle's ends and starts applied), as the compiler's
//! half-open intervals do.

use spikepipe_ir::{buffers, static_memory_bytes, MemoryOptions, Point, Schedule};

use super::plan::Plan;

/// Bytes live on one processor from `cycle` on (one sample per change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemorySample {
    /// Cycle at which the level was reached.
    pub cycle: u64,
    /// Processor.
    pub processor: u32,
    /// Bytes live (static memory included).
    pub bytes: u64,
}

/// Buffer state of one iteration.
const CLOSED_NEVER_OPENED: u8 = 3;

pub(crate) struct Tracker {
    n: u32,
    record: bool,
    chunk_opens: Vec<Vec<u32>>,
    chunk_closes: Vec<Vec<u32>>,
    transfer_opens: Vec<Vec<u32>>,
    transfer_closes: Vec<Vec<u32>>,
    proc_of: Vec<u32>,
    bytes: Vec<u64>,
    closes: Vec<u32>,
    /// Per (buffer, iteration): 0 not opened, 1 live, 2 freed.
    state: Vec<u8>,
    remaining: Vec<u32>,
    live: Vec<u64>,
    last: Vec<u64>,
    pub peak: Vec<u64>,
    pub samples: Vec<MemorySample>,
}

impl Tracker {
    pub fn new(s: &Schedule, plan: &Plan, iterations: u32, record: bool) -> Tracker {
        let mut first_chunk = vec![0usize; s.tasks.len()];
        for (g, c) in plan.chunks.iter().enumerate().rev() {
            first_chunk[c.task as usize] = g;
        }
        let nb = plan.chunks.len();
        let nx = plan.transfers.len();
        let mut t = Tracker {
            n: iterations,
            record,
            chunk_opens: vec![Vec::new(); nb],
            chunk_closes: vec![Vec::new(); nb],
            transfer_opens: vec![Vec::new(); nx],
            transfer_closes: vec![Vec::new(); nx],
            proc_of: Vec::new(),
            bytes: Vec::new(),
            closes: Vec::new(),
            state: Vec::new(),
            remaining: Vec::new(),
            live: static_memory_bytes(s),
            last: Vec::new(),
            peak: Vec::new(),
            samples: Vec::new(),
        };
        t.live.resize(plan.processors as usize, 0);
        for (b, buf) in buffers(s, MemoryOptions::default()).into_iter().enumerate() {
            let id = b as u32;
            for p in &buf.opens {
                match *p {
                    Point::Chunk { task, chunk } => t.chunk_opens[first_chunk[task] + chunk].push(id),
                    Point::Transfer(x) => t.transfer_opens[x].push(id),
                }
            }
            for p in &buf.closes {
                match *p {
                    Point::Chunk { task, chunk } => t.chunk_closes[first_chunk[task] + chunk].push(id),
                    Point::Transfer(x) => t.transfer_closes[x].push(id),
                }
            }
            t.proc_of.push(buf.processor);
            t.bytes.push(buf.bytes);
            t.closes.push(buf.closes.len() as u32);
        }
        let slots = t.bytes.len() * iterations as usize;
        t.state = vec![0; slots];
        t.remaining = (0..slots).map(|k| t.closes[k / iterations.max(1) as usize]).collect();
        t.last.clone_from(&t.live);
        t.peak.clone_from(&t.live);
        if record {
            for (q, &b) in t.live.iter().enumerate() {
                t.samples.push(MemorySample { cycle: 0, processor: q as u32, bytes: b });
            }
        }
        t
    }

    fn open(&mut self, b: u32, i: u32) {
        let k = b as usize * self.n as usize + i as usize;
        if self.state[k] == 0 {
            self.state[k] = 1;
            self.live[self.proc_of[b as usize] as usize] += self.bytes[b as usize];
        }
    }

    fn close(&mut self, b: u32, i: u32) {
        let k = b as usize * self.n as usize + i as usize;
        self.remaining[k] = self.remaining[k].saturating_sub(1);
        if self.remaining[k] == 0 {
            if self.state[k] == 1 {
                self.live[self.proc_of[b as usize] as usize] -= self.bytes[b as usize];
                self.state[k] = 2;
            } else if self.state[k] == 0 {
                self.state[k] = CLOSED_NEVER_OPENED;
            }
        }
    }

    pub fn chunk_start(&mut self, g: usize, i: u32) {
        for k in 0..self.chunk_opens[g].len() {
            self.open(self.chunk_opens[g][k], i);
        }
    }

    pub fn chunk_end(&mut self, g: usize, i: u32) {
        for k in 0..self.chunk_closes[g].len() {
            self.close(self.chunk_closes[g][k], i);
        }
    }

    pub fn transfer_start(&mut self, x: usize, i: u32) {
        for k in 0..self.transfer_opens[x].len() {
            self.open(self.transfer_opens[x][k], i);
        }
    }

    pub fn transfer_end(&mut self, x: usize, i: u32) {
        for k in 0..self.transfer_closes[x].len() {
            self.close(self.transfer_closes[x][k], i);
        }
    }

    /// Everything of cycle `now` has happened: update peaks and record changes.
    pub fn settle(&mut self, now: u64) {
        for q in 0..self.live.len() {
            if self.live[q] != self.last[q] {
                self.last[q] = self.live[q];
                self.peak[q] = self.peak[q].max(self.live[q]);
                if self.record {
                    self.samples.push(MemorySample { cycle: now, processor: q as u32, bytes: self.live[q] });
                }
            }
        }
    }
}

/// Processor colours of the memory track (cycled).
const TRACK_COLOURS: [&str; 8] =
    ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"];

/// Height of the Gantt chart's memory row.
pub(crate) const TRACK_H: f64 = 64.0;

/// The Gantt chart's memory row: bytes live on each processor over `[0, t_end]` as step
/// lines (one colour per processor), scaled to the largest peak, at `top`; `x` maps
/// cycles to the chart's x.
pub(crate) fn gantt_track(
    samples: &[MemorySample],
    processors: u32,
    t_end: u64,
    top: f64,
    left: f64,
    width: f64,
    x: &dyn Fn(u64) -> f64,
) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let max = samples.iter().map(|m| m.bytes).max().unwrap_or(0).max(1);
    let y = |b: u64| top + TRACK_H - 4.0 - (TRACK_H - 8.0) * b as f64 / max as f64;
    let _ = writeln!(
        o,
        r##"<rect x="{left}" y="{top}" width="{width}" height="{TRACK_H}" fill="#f8f8f8"/><text x="{}" y="{}" text-anchor="end" font-size="10">memory</text><text x="{}" y="{}" text-anchor="end" font-size="9" fill="#555">{}</text>"##,
        left - 8.0,
        top + TRACK_H / 2.0,
        left - 8.0,
        top + 10.0,
        super::human_bytes(max)
    );
    for q in 0..processors {
        let mut pts = String::new();
        let mut last: Option<u64> = None;
        for m in samples.iter().filter(|m| m.processor == q && m.cycle <= t_end) {
            if let Some(b) = last {
                let _ = write!(pts, "{:.2},{:.2} ", x(m.cycle), y(b));
            }
            let _ = write!(pts, "{:.2},{:.2} ", x(m.cycle), y(m.bytes));
            last = Some(m.bytes);
        }
        if let Some(b) = last {
            let _ = write!(pts, "{:.2},{:.2}", x(t_end), y(b));
            let _ = writeln!(
                o,
                r#"<polyline class="memory" points="{pts}" fill="none" stroke="{}" stroke-width="1.2"><title>p{q}: bytes live (peak in this window {})</title></polyline>"#,
                TRACK_COLOURS[q as usize % TRACK_COLOURS.len()],
                super::human_bytes(
                    samples
                        .iter()
                        .filter(|m| m.processor == q && m.cycle <= t_end)
                        .map(|m| m.bytes)
                        .max()
                        .unwrap_or(0)
                )
            );
        }
    }
    o
}
