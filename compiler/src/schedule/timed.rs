//! [`Timed`]: what the schedule passes hand to [`crate::emit`] — a placement with a
//! period and the start of every chunk and transfer. [`draft`] builds one with every
//! chunk at start 0 (samples and reduction work filled in) for [`super::timing`] to
//! time; only emit turns it into a schedule file (spec hash, staleness, metrics,
//! verification), so the schedule passes never depend on emit or on the file format.
//!
//! ```
//! use spikepipe_compiler::schedule::{candidates, Problem};
//! use spikepipe_compiler::{cost::Systolic, load_specs, lower_and_cost};
//! use spikepipe_ir::{staleness_of, verify_timetable};
//! let specs = load_specs("../models/mlp-digits.yaml".as_ref(), Some("../models/hw/sa32-ws.yaml".as_ref()), Some(2)).unwrap();
//! let graph = lower_and_cost(&specs);
//! let cost = Systolic::new(&specs.hardware);
//! let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
//! let placement = candidates::placements(&p).unwrap().remove(1).1; // data-parallel
//! let solver = spikepipe_compiler::schedule::Outcome::feasible(placement.clone(), "doc").solver;
//! // Timed with every layer's staleness capped at 0, as the data-parallel method does.
//! let timed = candidates::timed(&p, &placement, "doc", solver, Some(0));
//! assert!(verify_timetable(&timed).is_ok());
//! assert_eq!(staleness_of(&timed).0, 0);
//! ```

use spikepipe_ir::{
    expected_reduce_cycles_per_chunk, AsTimetable, Chunk, HardwareSpec, Optimizer, ScheduleEdge,
    ScheduledTask, SolverInfo, Timetable, Transfer,
};

use super::{split, Placement, Problem};

/// A timed placement: where and when every chunk and transfer runs, and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    /// Scheduling method (`ilp`, `heuristic`, …).
    pub method: String,
    /// How the placement was found.
    pub solver: SolverInfo,
    /// Micro-batches per minibatch (`gpipe` only).
    pub micro_batches: Option<u64>,
    /// The period II in cycles (1 until timed).
    pub period_cycles: u64,
    /// The problem's lower bound on the period.
    pub lower_bound_cycles: u64,
    /// The hardware, with `processors` = the P used.
    pub hardware: HardwareSpec,
    /// Weight layers.
    pub layers: u32,
    /// Samples per minibatch.
    pub batch: u64,
    /// The optimizer the update tasks were costed for (its state counts in memory).
    pub optimizer: Optimizer,
    /// Every task with its chunks.
    pub tasks: Vec<ScheduledTask>,
    /// Every edge of the task graph.
    pub edges: Vec<ScheduleEdge>,
    /// Every inter-processor transfer (none until timed).
    pub transfers: Vec<Transfer>,
}

impl AsTimetable for Timed {
    fn timetable(&self) -> Timetable<'_> {
        Timetable {
            hardware: &self.hardware,
            layers: self.layers,
            batch: self.batch,
            optimizer: Some(self.optimizer),
            period_cycles: self.period_cycles,
            tasks: &self.tasks,
            edges: &self.edges,
            transfers: &self.transfers,
        }
    }
}

/// A placement with every chunk at start 0 and no transfers, ready for timing.
pub fn draft(p: &Problem, placement: &Placement, method: &str, solver: SolverInfo) -> Timed {
    Drafter::new(p).draft(placement, method, solver)
}

/// [`draft`] for many placements of one problem: what does not depend on the placement
/// (task ids, edges, the lower bound, the layer count and optimizer) is found once. A
/// refinement drafts every move it tries, thousands on VGG-16, and those parts were a
/// third of each draft.
pub struct Drafter<'a, 'p> {
    p: &'a Problem<'p>,
    /// Every task without chunks.
    tasks: Vec<ScheduledTask>,
    edges: Vec<ScheduleEdge>,
    lower_bound_cycles: u64,
    layers: u32,
    optimizer: Optimizer,
}

impl<'a, 'p> Drafter<'a, 'p> {
    /// For placements of `p`.
    pub fn new(p: &'a Problem<'p>) -> Self {
        let g = &p.graph.graph;
        let tasks = g
            .node_weights()
            .map(|t| ScheduledTask {
                id: t.id(),
                layer: t.layer,
                kind: t.kind,
                work: t.work,
                cycles: t.cycles,
                chunks: Vec::new(),
            })
            .collect();
        let edges = g
            .raw_edges()
            .iter()
            .map(|e| ScheduleEdge {
                from: g[e.source()].id(),
                to: g[e.target()].id(),
                kind: e.weight.kind,
                bytes: e.weight.bytes,
                sliced_by: e.weight.sliced_by,
            })
            .collect();
        Drafter {
            p,
            tasks,
            edges,
            lower_bound_cycles: super::lower_bound(p),
            layers: p.graph.layers(),
            optimizer: crate::memory_fit::optimizer_of(p),
        }
    }

    /// [`draft`] of `placement`.
    pub fn draft(&self, placement: &Placement, method: &str, solver: SolverInfo) -> Timed {
        let (p, g) = (self.p, &self.p.graph.graph);
        let tasks = g
            .node_weights()
            .zip(&self.tasks)
            .zip(&placement.chunks)
            .map(|((t, task), chunks)| ScheduledTask {
                chunks: chunks
                    .iter()
                    .map(|c| Chunk {
                        processor: c.processor,
                        start: 0,
                        cycles: c.cycles,
                        range: c.range,
                        samples: split::chunk_samples(p, t, c.range),
                        reduce_cycles: 0,
                    })
                    .collect(),
                ..task.clone()
            })
            .collect();
        let mut s = Timed {
            method: method.to_string(),
            solver,
            micro_batches: None,
            period_cycles: 1,
            lower_bound_cycles: self.lower_bound_cycles,
            hardware: p.hardware.clone(),
            layers: self.layers,
            batch: p.network.batch,
            optimizer: self.optimizer,
            tasks,
            edges: self.edges.clone(),
            transfers: Vec::new(),
        };
        add_reductions(&mut s);
        s
    }
}

/// Charges every consumer of partial sums from several processors the vector-unit work
/// of summing them (`reduce_cycles`, included in its `cycles`).
fn add_reductions(s: &mut Timed) {
    let owed = expected_reduce_cycles_per_chunk(&*s);
    for (t, owed) in s.tasks.iter_mut().zip(owed) {
        for (c, r) in t.chunks.iter_mut().zip(owed) {
            c.reduce_cycles = r;
            c.cycles += r;
        }
    }
}
