//! `heuristic`: fine-grained placement. Tasks are placed individually and large tasks are
//! cut into chunks (each costed on the array, never `cost / k`): GEMMs along M or N, and
//! with [`Cuts::All`] also element-wise tasks by samples or parameter slices and weight
//! gradients along their reduction K.
//!
//! 1. Two starting points: PipeDream's optimal contiguous partition, and a
//!    communication-aware LPT (largest chunk first onto the processor that keeps the
//!    busiest processor or link least loaded; tasks longer than the lower bound are cut
//!    first).
//! 2. Local search on each: move a chunk off the bottleneck resource, or cut a task on
//!    it once more, taking the best strict improvement of (period, bytes between
//!    processors) until none is left.
//! 3. The better result is one of the candidates ([`super::candidates`]), each timed by
//!    modulo list scheduling ([`super::timing`]).
//!
//! Starting from PipeDream's partition guarantees `heuristic ≤ pipedream`.

use petgraph::graph::NodeIndex;
use spikepipe_ir::{edge_transfers, partial_sums, range_elements, ChunkRange, PlacedSite, Side, SplitDim};

use super::candidates::Candidate;
use super::pipedream::plain_placement;
use super::refine;
use super::split::{
    chunk_cycles, chunk_samples, even_ranges_along, ilp_cut_dim, reduction_cut, split_dim, whole,
};
use super::{Outcome, PlacedChunk, Placement, Problem, Scheduler};
use crate::cost::traffic::LinkLoads;
use crate::ScheduleError;

/// The best candidate (see [`super::candidates`]) within an optional staleness cap:
/// the freshest whose period is within 0.1 % of the fastest ([`super::refine::NEAR_PERIOD`]),
/// refined and freshened by chunk moves.
pub struct Heuristic {
    /// Largest staleness any layer may have.
    pub max_staleness: Option<u64>,
}

const UNPLACED: u32 = u32::MAX;

/// How one task is cut and where its chunks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlan {
    /// Chunk ranges (one `Whole` range if not cut).
    pub ranges: Vec<ChunkRange>,
    /// Cycles of each chunk.
    pub cycles: Vec<u64>,
    /// Processor of each chunk.
    pub procs: Vec<u32>,
}

/// An edge as the evaluator needs it.
struct Edge {
    from: usize,
    to: usize,
    bytes: u64,
    sliced_by: Option<SplitDim>,
    kind: spikepipe_ir::EdgeKind,
}

/// Scores plans: (period, bytes between processors), lower is better.
pub struct Evaluator<'a> {
    p: &'a Problem<'a>,
    edges: Vec<Edge>,
    procs: usize,
}

impl<'a> Evaluator<'a> {
    /// An evaluator for a problem.
    pub fn new(p: &'a Problem<'a>) -> Self {
        let g = &p.graph.graph;
        let edges = g
            .raw_edges()
            .iter()
            .map(|e| Edge {
                from: e.source().index(),
                to: e.target().index(),
                bytes: e.weight.bytes,
                sliced_by: e.weight.sliced_by,
                kind: e.weight.kind,
            })
            .collect();
        Evaluator { p, edges, procs: p.processors() as usize }
    }

    /// Processor loads, link loads (`src·P + dst`) and bytes between processors of a
    /// plan; unplaced chunks are skipped. The transfers are `spikepipe_ir`'s traffic
    /// model ([`edge_transfers`], as in `required_transfers`) priced by the cost model
    /// ([`LinkLoads`]), so the score is the period timing will find.
    pub fn loads(&self, plans: &[TaskPlan]) -> (Vec<u64>, Vec<u64>, u64) {
        let mut procs = vec![0u64; self.procs];
        for plan in plans {
            for (&q, &c) in plan.procs.iter().zip(&plan.cycles) {
                if q != UNPLACED {
                    procs[q as usize] += c;
                }
            }
        }
        self.add_reductions(plans, &mut procs);
        let (sites, first) = self.sites(plans);
        let tasks = &self.p.graph.graph;
        let side =
            |t: usize| Side { work: &tasks[NodeIndex::new(t)].work, chunks: &sites[first[t]..first[t + 1]] };
        let mut links = LinkLoads::new(self.procs);
        for e in &self.edges {
            let (u, v) = (side(e.from), side(e.to));
            edge_transfers(e.bytes, e.sliced_by, e.kind, u, v, |ci, dst, b| {
                links.add(self.p.cost, u.chunks[ci].processor, dst, b)
            });
        }
        let bytes = links.bytes();
        (procs, links.cycles().to_vec(), bytes)
    }

    /// Charges the consumers of partial sums from several processors (a task cut along K)
    /// the vector-unit work of summing them, as drafting does
    /// (`spikepipe_ir::reduction_inputs`): every chunk of the consumer adds the partials
    /// over its own elements.
    fn add_reductions(&self, plans: &[TaskPlan], procs: &mut [u64]) {
        let tasks = &self.p.graph.graph;
        for e in self.edges.iter().filter(|e| e.kind == spikepipe_ir::EdgeKind::Data) {
            let parts = partials(&plans[e.from]);
            if parts < 2 {
                continue;
            }
            let work = &tasks[NodeIndex::new(e.to)].work;
            let v = &plans[e.to];
            for (&range, &q) in v.ranges.iter().zip(&v.procs).filter(|(_, &q)| q != UNPLACED) {
                procs[q as usize] += self.p.hardware.reduce_cycles(range_elements(work, range), parts);
            }
        }
    }

    /// The placed chunks of every task, flattened, and where each task's start
    /// (`first[t]..first[t + 1]`).
    fn sites(&self, plans: &[TaskPlan]) -> (Vec<PlacedSite>, Vec<usize>) {
        let mut sites = Vec::with_capacity(plans.iter().map(|pl| pl.ranges.len()).sum());
        let mut first = Vec::with_capacity(plans.len() + 1);
        for (t, plan) in plans.iter().enumerate() {
            first.push(sites.len());
            let task = &self.p.graph.graph[NodeIndex::new(t)];
            for (&range, &processor) in plan.ranges.iter().zip(&plan.procs).filter(|(_, &q)| q != UNPLACED) {
                sites.push(PlacedSite { processor, range, samples: chunk_samples(self.p, task, range) });
            }
        }
        first.push(sites.len());
        (sites, first)
    }
    /// (period, bytes between processors) of a plan.
    pub fn score(&self, plans: &[TaskPlan]) -> (u64, u64) {
        let (procs, links, bytes) = self.loads(plans);
        (procs.into_iter().chain(links).max().unwrap_or(0), bytes)
    }
}

/// Partial sums a plan sends its consumers: the distinct processors of a task cut along
/// K (placed chunks only), 1 for any other plan (`spikepipe_ir::partials`).
fn partials(plan: &TaskPlan) -> u64 {
    let dim = plan.ranges.first().map_or(SplitDim::Whole, |r| r.dim);
    partial_sums(dim, plan.procs.iter().copied().filter(|&q| q != UNPLACED))
}

/// A task's plan cut into `k` chunks along `dim` (or whole for k = 1), all on `proc`.
fn cut(p: &Problem, task: usize, dim: SplitDim, unit: u64, k: u64, proc: u32) -> TaskPlan {
    let t = &p.graph.graph[petgraph::graph::NodeIndex::new(task)];
    let ranges =
        if k <= 1 { vec![whole()] } else { even_ranges_along(dim, dim.size(&t.work).unwrap_or(1), unit, k) };
    let cycles = ranges.iter().map(|r| chunk_cycles(p, t, *r)).collect::<Vec<_>>();
    let procs = vec![proc; ranges.len()];
    TaskPlan { ranges, cycles, procs }
}

/// The plan of a placement.
pub fn plans_of(placement: &Placement) -> Vec<TaskPlan> {
    placement
        .chunks
        .iter()
        .map(|cs| TaskPlan {
            ranges: cs.iter().map(|c| c.range).collect(),
            cycles: cs.iter().map(|c| c.cycles).collect(),
            procs: cs.iter().map(|c| c.processor).collect(),
        })
        .collect()
}

/// The placement of a plan, chunks in range order.
pub fn placement_of(plans: &[TaskPlan]) -> Placement {
    Placement {
        chunks: plans
            .iter()
            .map(|pl| {
                pl.ranges
                    .iter()
                    .zip(&pl.cycles)
                    .zip(&pl.procs)
                    .map(|((r, c), q)| PlacedChunk { processor: *q, range: *r, cycles: *c })
                    .collect()
            })
            .collect(),
    }
}

/// The dimensions (with their units) a task may be cut along, the first the one LPT cuts
/// along. [`Cuts::Gemms`]: a GEMM's [`split_dim`]. [`Cuts::All`]: the ILP's cut
/// ([`ilp_cut_dim`]: that, or an element-wise task's elements in whole samples or
/// parameter slices), then a weight gradient's reduction K ([`reduction_cut`]; first
/// when it is the only one).
fn cut_dims(p: &Problem, task: &spikepipe_ir::Task, cuts: Cuts) -> Vec<(SplitDim, u64)> {
    match cuts {
        Cuts::Gemms => split_dim(p, task).into_iter().collect(),
        Cuts::All => ilp_cut_dim(p, task).into_iter().chain(reduction_cut(p, task)).collect(),
    }
}

/// Which cuts the fine-grained search may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cuts {
    /// GEMMs along M or N; element-wise tasks run whole (the ILP's starting point).
    Gemms,
    /// Also element-wise tasks along their elements (sample groups, parameter slices)
    /// and weight gradients along their reduction K, summed by the update
    /// ([`reduction_cut`]): sample splits mixed per task with GEMM cuts.
    All,
}

/// Communication-aware LPT.
fn lpt(p: &Problem, ev: &Evaluator, target: u64, cuts: Cuts) -> Vec<TaskPlan> {
    let procs = p.processors();
    let n = p.graph.graph.node_count();
    let mut plans: Vec<TaskPlan> = (0..n)
        .map(|i| {
            let t = &p.graph.graph[petgraph::graph::NodeIndex::new(i)];
            let (dim, unit, k) = match cut_dims(p, t, cuts).first().copied() {
                Some((d, u)) => (d, u, t.cycles.div_ceil(target.max(1)).min(procs as u64)),
                None => (SplitDim::Whole, 1, 1),
            };
            let mut plan = cut(p, i, dim, unit, k, UNPLACED);
            plan.procs.iter_mut().for_each(|q| *q = UNPLACED);
            plan
        })
        .collect();
    let mut items: Vec<(u64, usize, usize)> = plans
        .iter()
        .enumerate()
        .flat_map(|(t, pl)| pl.cycles.iter().enumerate().map(move |(j, &c)| (c, t, j)))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, t, j) in items {
        let mut best = (u64::MAX, u64::MAX, 0u32);
        for q in 0..procs {
            plans[t].procs[j] = q;
            let (ii, bytes) = ev.score(&plans);
            if (ii, bytes) < (best.0, best.1) {
                best = (ii, bytes, q);
            }
        }
        plans[t].procs[j] = best.2;
    }
    plans
}

/// Bottleneck resources: processors and link endpoints whose load equals the period.
fn hot_processors(ev: &Evaluator, plans: &[TaskPlan]) -> Vec<u32> {
    let (procs, links, _) = ev.loads(plans);
    let ii = procs.iter().chain(&links).copied().max().unwrap_or(0);
    let n = ev.procs;
    let mut hot: Vec<u32> = (0..n).filter(|&q| procs[q] == ii).map(|q| q as u32).collect();
    for (i, &l) in links.iter().enumerate() {
        if l == ii {
            hot.push((i / n) as u32);
            hot.push((i % n) as u32);
        }
    }
    hot.sort_unstable();
    hot.dedup();
    hot
}

/// A change to one task's plan: move chunk `j` to a processor, or replace the plan.
enum Change {
    Move { task: usize, chunk: usize, to: u32 },
    Replace { task: usize, plan: TaskPlan },
}

/// Improves a plan by single-chunk moves and extra cuts until no strict improvement is left.
/// Candidates are scored in place (apply, score, undo) so no plan is copied per try.
pub fn local_search(
    p: &Problem,
    ev: &Evaluator,
    mut plans: Vec<TaskPlan>,
    max_rounds: usize,
    cuts: Cuts,
) -> Vec<TaskPlan> {
    let procs = p.processors();
    let mut score = ev.score(&plans);
    for _ in 0..max_rounds {
        let hot = hot_processors(ev, &plans);
        let mut best: Option<((u64, u64), Change)> = None;
        for t in 0..plans.len() {
            for j in 0..plans[t].procs.len() {
                let from = plans[t].procs[j];
                if !hot.contains(&from) {
                    continue;
                }
                for q in (0..procs).filter(|&q| q != from) {
                    plans[t].procs[j] = q;
                    let s = ev.score(&plans);
                    if s < score && best.as_ref().is_none_or(|(b, _)| s < *b) {
                        best = Some((s, Change::Move { task: t, chunk: j, to: q }));
                    }
                }
                plans[t].procs[j] = from;
            }
            // One more cut of a task that touches a hot processor, along the dimension it
            // is cut along already (a whole task: each one it may be cut along).
            let task = &p.graph.graph[petgraph::graph::NodeIndex::new(t)];
            let k = plans[t].ranges.len() as u64;
            if k < procs as u64 && plans[t].procs.iter().any(|q| hot.contains(q)) {
                let old = plans[t].clone();
                let cut_along = old.ranges.first().map_or(SplitDim::Whole, |r| r.dim);
                for (dim, unit) in
                    cut_dims(p, task, cuts).into_iter().filter(|(d, _)| k == 1 || *d == cut_along)
                {
                    let mut cand = cut(p, t, dim, unit, k + 1, 0);
                    if cand.ranges.len() as u64 != k + 1 {
                        continue;
                    }
                    for q in 0..procs {
                        for (i, slot) in cand.procs.iter_mut().enumerate() {
                            *slot = old.procs.get(i).copied().unwrap_or(q);
                        }
                        std::mem::swap(&mut plans[t], &mut cand);
                        let s = ev.score(&plans);
                        std::mem::swap(&mut plans[t], &mut cand);
                        if s < score && best.as_ref().is_none_or(|(b, _)| s < *b) {
                            best = Some((s, Change::Replace { task: t, plan: cand.clone() }));
                        }
                    }
                }
            }
        }
        match best {
            Some((s, change)) => {
                score = s;
                match change {
                    Change::Move { task, chunk, to } => plans[task].procs[chunk] = to,
                    Change::Replace { task, plan } => plans[task] = plan,
                }
            }
            None => break,
        }
    }
    plans
}

impl Scheduler for Heuristic {
    fn name(&self) -> &'static str {
        "heuristic"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let solver = Outcome::feasible(Placement { chunks: vec![] }, "lpt+local-search+candidates").solver;
        let cap = self.max_staleness;
        let field = super::candidates::field(p, "heuristic", &solver, cap)?;
        let count = field.count();
        let winner = choose(p, finalists(p, field, cap), cap).ok_or_else(|| ScheduleError::Unsupported {
            method: "heuristic".into(),
            message: "no candidate".into(),
        })?;
        let Candidate { mut schedule, what } = reordered(p, &winner).unwrap_or(winner);
        schedule.solver.note = Some(format!("{what} (best of {count} candidates)"));
        let placement = Placement::of_timed(&schedule);
        Ok(Outcome {
            placement,
            solver: schedule.solver.clone(),
            timed: Some(schedule),
            alternatives: vec![],
        })
    }
}

/// Every candidate of the field, as timed; the best refined by chunk moves
/// ([`super::candidates::best_to_refine`]); and the one reordered at its own period (see
/// `Field::reordered`), compared as it is.
fn finalists(p: &Problem, field: super::candidates::Field, cap: Option<u64>) -> Vec<Candidate> {
    let refined = super::candidates::best_to_refine(&field.timed, cap).into_iter().map(|best| {
        match refine::refine(p, &best, cap, refine::WORK) {
            Some(r) => Candidate { what: format!("{}, refined by chunk moves", best.what), ..r },
            None => best,
        }
    });
    refined.chain(field.reordered).chain(field.timed).collect()
}

/// The winner among `finalists`: periods within 0.1 % of the fastest count as equal and
/// the freshest wins ([`refine::fresh_key`]), then is freshened by chunk moves within that
/// limit — never above a standard method's period, so `heuristic` is never slower than
/// the best of them. `None` if there are no finalists.
fn choose(p: &Problem, finalists: Vec<Candidate>, cap: Option<u64>) -> Option<Candidate> {
    let fastest = finalists.iter().map(|c| refine::key(c, cap)).min()?;
    let standard = finalists
        .iter()
        .filter(|c| c.is_standard() && refine::key(c, cap).0 == fastest.0)
        .map(|c| c.schedule.period_cycles)
        .min()
        .unwrap_or(u64::MAX);
    let limit = refine::near_period(fastest.1).min(standard);
    // Staleness is compared after reordering within the period, which can lower it
    // (vgg16-cifar100, sa128-ws, P = 8: the fastest finalist's 17 becomes 15).
    let winner = finalists
        .into_iter()
        .map(|c| match (c.schedule.period_cycles <= limit).then(|| reordered(p, &c)).flatten() {
            Some(r) => r,
            None => c,
        })
        .min_by_key(|c| refine::fresh_key(c, cap, limit))?;
    let stale = spikepipe_ir::staleness_of(&winner.schedule).0 > 0;
    Some(match stale.then(|| refine::freshen(p, &winner, cap, limit, refine::WORK)).flatten() {
        Some(f) => {
            Candidate { what: format!("{}, freshened within 0.1 % of the fastest period", winner.what), ..f }
        }
        None => winner,
    })
}

/// `c` reordered within its period ([`super::cyclic::reorder`]), if that helps.
fn reordered(p: &Problem, c: &Candidate) -> Option<Candidate> {
    let schedule = super::cyclic::reorder(&c.schedule, p.cost, super::cyclic::WORK)?;
    let what =
        format!("{}, reordered within the period", c.what.trim_end_matches(", reordered within the period"));
    Some(Candidate { what, schedule })
}

/// The fine-grained plan with the given cuts: the heuristic's candidates (both) and the
/// ILP's starting point and fallback ([`Cuts::Gemms`], which its model expresses).
pub fn best_plan(p: &Problem, cuts: Cuts) -> Result<Vec<TaskPlan>, ScheduleError> {
    let ev = Evaluator::new(p);
    let rounds = 64;
    let from_pipedream = plans_of(&plain_placement(p));
    let a = local_search(p, &ev, from_pipedream, rounds, cuts);
    let b = local_search(p, &ev, lpt(p, &ev, fine_grained_bound(p, cuts), cuts), rounds, cuts);
    let best = if ev.score(&b) < ev.score(&a) { b } else { a };
    Ok(normalize(best))
}

/// The size LPT cuts tasks down to: the even spread of all work, or the largest chunk of
/// some task cut P ways along its first [`cut_dims`] (whole if it has none), whichever is
/// larger. Cutting finer than this only adds chunks for the local search to move.
fn fine_grained_bound(p: &Problem, cuts: Cuts) -> u64 {
    let procs = p.processors().max(1) as u64;
    let spread = p.graph.total_cycles().div_ceil(procs);
    let chunk = p
        .tasks()
        .enumerate()
        .map(|(i, t)| match cut_dims(p, t, cuts).first() {
            Some(&(dim, unit)) => cut(p, i, dim, unit, procs, 0).cycles.into_iter().max().unwrap_or(0),
            None => t.cycles,
        })
        .max()
        .unwrap_or(0);
    spread.max(chunk).max(1)
}

/// Orders each task's chunks by range, so equal plans print equally.
fn normalize(mut plans: Vec<TaskPlan>) -> Vec<TaskPlan> {
    for plan in &mut plans {
        let mut idx: Vec<usize> = (0..plan.ranges.len()).collect();
        idx.sort_by_key(|&i| plan.ranges[i].start);
        plan.ranges = idx.iter().map(|&i| plan.ranges[i]).collect();
        plan.cycles = idx.iter().map(|&i| plan.cycles[i]).collect();
        plan.procs = idx.iter().map(|&i| plan.procs[i]).collect();
    }
    plans
}

#[cfg(test)]
mod tests {
    //! The mixed fine-grained search ([`Cuts::All`]) on mlp-digits, sa128-ws, P = 8: the
    //! weight gradients' M and N fit the 128×128 array in one fold, so only a cut along K
    //! shortens them, and the neuron tasks (`E1`: 8 000 cycles) exceed the lower bound
    //! (4 327) unless they are cut by samples.

    use super::*;
    use crate::cost::Systolic;
    use crate::schedule::timed::draft;

    fn with_problem(check: impl Fn(&Problem)) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (m, h) = (root.join("models/mlp-digits.yaml"), root.join("models/hw/sa128-ws.yaml"));
        let specs = crate::load_specs(&m, Some(&h), Some(8)).expect("bundled specs load");
        let graph = crate::lower_and_cost(&specs);
        let cost = Systolic::new(&specs.hardware);
        check(&Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost });
    }

    #[test]
    fn the_evaluator_charges_partial_sums_to_their_consumers_as_drafting_does() {
        with_problem(|p| {
            let plans = best_plan(p, Cuts::All).expect("plan");
            let k_cut = plans.iter().any(|pl| partials(pl) > 1);
            assert!(k_cut, "the case: a weight gradient cut along K over several processors");
            let drafted = draft(
                p,
                &placement_of(&plans),
                "test",
                Outcome::feasible(Placement { chunks: vec![] }, "t").solver,
            );
            let mut want = vec![0u64; p.processors() as usize];
            let mut reduce = 0;
            for c in drafted.tasks.iter().flat_map(|t| &t.chunks) {
                want[c.processor as usize] += c.cycles;
                reduce += c.reduce_cycles;
            }
            assert!(reduce > 0);
            assert_eq!(Evaluator::new(p).loads(&plans).0, want);
        });
    }

    #[test]
    fn sample_and_reduction_cuts_get_below_the_gemm_only_search() {
        with_problem(|p| {
            let ev = Evaluator::new(p);
            let gemms = ev.score(&best_plan(p, Cuts::Gemms).expect("plan")).0;
            let all = best_plan(p, Cuts::All).expect("plan");
            // E1 runs whole in the GEMM-only search.
            assert_eq!(gemms, 8000);
            assert!(ev.score(&all).0 < 5200, "{:?}", ev.score(&all));
            let dims = |kind| {
                p.tasks().zip(&all).filter(move |(t, _)| t.kind == kind).map(|(_, pl)| pl.ranges[0].dim)
            };
            assert!(dims(spikepipe_ir::TaskKind::WeightGrad).all(|d| d == SplitDim::K));
            assert!(dims(spikepipe_ir::TaskKind::NeuronBackward).any(|d| d == SplitDim::Elements));
        });
    }
}
