//! `gpipe`: a synchronous pipeline (GPipe). Layers are cut into the same contiguous
//! stages as PipeDream; the minibatch is cut into m micro-batches that flow forward
//! through the stages and back, gradients accumulate in place (weight-gradient chunks
//! split the batch reduction on one processor), and each minibatch ends with a flush and
//! the update. No iteration overlaps the next, so every staleness is 0 and the period is
//! the makespan of one iteration, bubble included.

use spikepipe_ir::{SolverInfo, SolverStatus, SplitDim, TaskKind};

use super::pipedream::Pipedream;
use super::split::{chunk_cycles, sample_ranges, whole};
use super::{timing, Outcome, PlacedChunk, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// Synchronous pipelining with micro-batches.
pub struct Gpipe {
    /// Micro-batches per minibatch (default 4·P, at most the batch size).
    pub micro_batches: Option<u64>,
}

impl Scheduler for Gpipe {
    fn name(&self) -> &'static str {
        "gpipe"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let m = self.micro_batches.unwrap_or(4 * p.processors() as u64).clamp(1, p.network.batch);
        let stages = Pipedream.schedule(p)?.placement;
        let chunks = p
            .tasks()
            .zip(&stages.chunks)
            .map(|(t, placed)| {
                let proc = placed[0].processor;
                let dim = match t.kind {
                    TaskKind::Forward | TaskKind::InputGrad | TaskKind::Recompute => SplitDim::M,
                    TaskKind::WeightGrad => SplitDim::K,
                    TaskKind::Neuron | TaskKind::NeuronBackward => SplitDim::Elements,
                    TaskKind::Update => SplitDim::Whole,
                };
                let ranges = if dim == SplitDim::Whole { vec![whole()] } else { sample_ranges(p, t, dim, m) };
                ranges
                    .into_iter()
                    .map(|r| PlacedChunk { processor: proc, range: r, cycles: chunk_cycles(p, t, r) })
                    .collect()
            })
            .collect();
        let placement = Placement { chunks };
        let solver = SolverInfo {
            name: "list-scheduling".into(),
            status: SolverStatus::Feasible,
            seconds: 0.0,
            gap: None,
            note: None,
        };
        let mut s = crate::emit::draft(p, "", &placement, "gpipe", solver.clone());
        s.micro_batches = Some(m);
        timing::time_flat(&mut s);
        Ok(Outcome { placement, solver, timed: Some(s) })
    }
}
