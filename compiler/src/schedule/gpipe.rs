//! `gpipe`: a synchronous pipeline (GPipe). Layers are cut into PipeDream's plain
//! contiguous stages; the minibatch is cut into m micro-batches that flow forward
//! through the stages and back, gradients accumulate in place (weight-gradient chunks
//! split the batch reduction on one processor), and each minibatch ends with a flush and
//! the update. No iteration overlaps the next, so every staleness is 0 and the period is
//! the makespan of one iteration, bubble included.
//!
//! m is chosen to minimise that period (more micro-batches shrink the bubble but cost
//! array fill and tile rounding per chunk and more link latencies), unless fixed.

use spikepipe_ir::{SolverInfo, SolverStatus, TaskKind};

use super::pipedream::plain_placement;
use super::split::{chunk_cycles, sample_ranges, whole};
use super::stages::sample_dim;
use super::timed::Timed;
use super::{timing, Outcome, PlacedChunk, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// Synchronous pipelining with micro-batches.
pub struct Gpipe {
    /// Micro-batches per minibatch; `None`: the count with the smallest period.
    pub micro_batches: Option<u64>,
}

/// Micro-batch counts tried: 1 to 8, then powers of two and multiples of P, up to B.
fn counts(p: &Problem) -> Vec<u64> {
    let b = p.network.batch.max(1);
    let procs = p.processors() as u64;
    let mut c: Vec<u64> = (1..=8).collect();
    c.extend((0..).map(|i| 1u64 << i).take_while(|&x| x <= b));
    c.extend((1..=8).map(|i| i * procs));
    c.retain(|&m| m >= 1 && m <= b);
    c.sort_unstable();
    c.dedup();
    c
}

/// The timed schedule of m micro-batches over the plain stages.
fn with_micro_batches(p: &Problem, stages: &Placement, m: u64) -> (Placement, Timed) {
    let chunks = p
        .tasks()
        .zip(&stages.chunks)
        .map(|(t, placed)| {
            let proc = placed[0].processor;
            let ranges = if t.kind == TaskKind::Update || m <= 1 {
                vec![whole()]
            } else {
                sample_ranges(p, t, sample_dim(t.kind), m)
            };
            ranges
                .into_iter()
                .map(|r| PlacedChunk { processor: proc, range: r, cycles: chunk_cycles(p, t, r) })
                .collect()
        })
        .collect();
    let placement = Placement { chunks };
    let mut s = super::timed::draft(p, &placement, "gpipe", solver(None));
    s.micro_batches = Some(m);
    timing::time_flat(&mut s, p.cost);
    (placement, s)
}

fn solver(note: Option<String>) -> SolverInfo {
    SolverInfo {
        name: "list-scheduling".into(),
        status: SolverStatus::Feasible,
        seconds: 0.0,
        gap: None,
        note,
    }
}

impl Scheduler for Gpipe {
    fn name(&self) -> &'static str {
        "gpipe"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let stages = plain_placement(p);
        let tried = match self.micro_batches {
            Some(m) => vec![m.clamp(1, p.network.batch.max(1))],
            None => counts(p),
        };
        let mut best: Option<(Placement, Timed)> = None;
        for m in tried {
            let (pl, s) = with_micro_batches(p, &stages, m);
            if best.as_ref().is_none_or(|(_, b)| s.period_cycles < b.period_cycles) {
                best = Some((pl, s));
            }
        }
        let (placement, mut s) = best.ok_or_else(|| ScheduleError::Unsupported {
            method: "gpipe".into(),
            message: "no micro-batch count to try".into(),
        })?;
        let note = match self.micro_batches {
            Some(_) => None,
            None => Some(format!("{} micro-batches (the fastest count)", s.micro_batches.unwrap_or(1))),
        };
        s.solver = solver(note);
        Ok(Outcome { placement, solver: s.solver.clone(), timed: Some(s), alternatives: vec![] })
    }
}
