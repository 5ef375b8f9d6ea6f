//! [`Timetable`]: the part of a schedule that says where and when everything runs —
//! chunks, transfers, the period — and nothing the file adds on top (spec hash, derived
//! staleness, metrics).
//!
//! The compiler's timing pass produces its own timed placement and only its emit pass
//! turns one into a [`Schedule`] file, yet staleness, traffic, memory and most of the
//! verifier's rules must be computed the same way on both. They are written once,
//! against a [`Timetable`], and take anything that can show one ([`AsTimetable`]).
//!
//! ```
//! use spikepipe_ir::{compute_staleness, AsTimetable, Schedule};
//! let s = Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap();
//! let t = s.timetable();
//! assert_eq!(t.period_cycles, s.period_cycles);
//! // The same rule on the file and on its view.
//! assert_eq!(compute_staleness(&t), compute_staleness(&s));
//! ```

use std::collections::HashMap;

use crate::{EdgeKind, HardwareSpec, Optimizer, Schedule, ScheduleEdge, ScheduledTask, Transfer};

/// Tasks by id ([`Timetable::task_index`]).
#[derive(Debug, Clone)]
pub struct TaskIndex<'a>(HashMap<&'a str, &'a ScheduledTask>);

impl<'a> TaskIndex<'a> {
    /// The task with this id.
    pub fn get(&self, id: &str) -> Option<&'a ScheduledTask> {
        self.0.get(id).copied()
    }
}

/// Borrowed view of a timed placement.
#[derive(Debug, Clone, Copy)]
pub struct Timetable<'a> {
    /// The hardware, with `processors` = the P used.
    pub hardware: &'a HardwareSpec,
    /// Weight layers of the model.
    pub layers: u32,
    /// Samples per minibatch.
    pub batch: u64,
    /// The optimizer whose state the update tasks keep (memory accounting).
    pub optimizer: Option<Optimizer>,
    /// The period II in cycles.
    pub period_cycles: u64,
    /// Every task with its chunks.
    pub tasks: &'a [ScheduledTask],
    /// Every edge of the task graph.
    pub edges: &'a [ScheduleEdge],
    /// Every inter-processor transfer.
    pub transfers: &'a [Transfer],
}

impl<'a> Timetable<'a> {
    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&'a ScheduledTask> {
        self.tasks.iter().find(|t| t.id == id)
    }

    /// Every task by id. [`Timetable::task`] searches the list; a loop over edges or
    /// transfers looks its tasks up here instead (on VGG-16 the linear searches were a
    /// quarter of a compile).
    pub fn task_index(&self) -> TaskIndex<'a> {
        TaskIndex(self.tasks.iter().map(|t| (t.id.as_str(), t)).collect())
    }

    /// Number of processors P.
    pub fn processors(&self) -> u32 {
        self.hardware.processors as u32
    }

    /// Index of the weight-feedback edge carrying `update`'s weights to `reader`.
    pub fn feedback_edge(&self, update: &ScheduledTask, reader: &ScheduledTask) -> Option<usize> {
        self.edges
            .iter()
            .position(|e| e.kind == EdgeKind::WeightFeedback && e.from == update.id && e.to == reader.id)
    }
}

/// Anything that can show its [`Timetable`]: a [`Schedule`] file, the compiler's timed
/// placement, or a view itself.
pub trait AsTimetable {
    /// The view.
    fn timetable(&self) -> Timetable<'_>;
}

impl AsTimetable for Timetable<'_> {
    fn timetable(&self) -> Timetable<'_> {
        *self
    }
}

impl<T: AsTimetable + ?Sized> AsTimetable for &T {
    fn timetable(&self) -> Timetable<'_> {
        (**self).timetable()
    }
}

impl AsTimetable for Schedule {
    fn timetable(&self) -> Timetable<'_> {
        Timetable {
            hardware: &self.hardware,
            layers: self.model.layers,
            batch: self.model.batch,
            optimizer: self.model.optimizer,
            period_cycles: self.period_cycles,
            tasks: &self.tasks,
            edges: &self.edges,
            transfers: &self.transfers,
        }
    }
}
