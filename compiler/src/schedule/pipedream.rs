//! `pipedream`: PipeDream's planner. Whole layers in contiguous stages; a stage may be
//! replicated over several processors that split its samples (see [`super::stages`]).
//! Dynamic programming over (layers placed, processors used, stages) finds, for every
//! stage count, the plan that minimises the busiest resource: a replica's compute, the
//! links of a stage's weight all-reduce, or the link between two stages (spikes one way,
//! input gradients the other). The plans are then timed exactly and the fastest wins.
//! [`partition`] is the plain partition (one processor per stage) that `gpipe` and the
//! heuristic start from.

use spikepipe_ir::{EdgeKind, SolverInfo, SolverStatus, TaskKind};

use super::stages::{self, Stage};
use super::{timing, Outcome, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// PipeDream's planner: contiguous stages of whole layers, replicated where it pays.
pub struct Pipedream;

/// Per-layer compute cycles and the link cycles of cutting after each layer
/// (`max(forward link, backward link)`), both 0-based.
fn layer_costs(p: &Problem) -> (Vec<u64>, Vec<u64>) {
    let layers = p.graph.layers() as usize;
    let mut compute = vec![0u64; layers];
    for t in p.tasks() {
        compute[t.layer as usize - 1] += t.cycles;
    }
    let (mut fwd, mut bwd) = (vec![0u64; layers], vec![0u64; layers]);
    let g = &p.graph.graph;
    for e in g.raw_edges().iter().filter(|e| e.weight.kind == EdgeKind::Data) {
        let (a, b) = (g[e.source()].layer as usize, g[e.target()].layer as usize);
        let cycles = p.cost.transfer_cycles(e.weight.bytes);
        if a < b {
            for cut in a..b {
                fwd[cut - 1] += cycles;
            }
        } else if b < a {
            for cut in b..a {
                bwd[cut - 1] += cycles;
            }
        }
    }
    let link = fwd.iter().zip(&bwd).map(|(f, b)| *f.max(b)).collect();
    (compute, link)
}

/// Stage of each layer for the optimal partition into at most `stages` stages.
pub fn partition(compute: &[u64], link: &[u64], stages: usize) -> Vec<u32> {
    let n = compute.len();
    let prefix: Vec<u64> = std::iter::once(0)
        .chain(compute.iter().scan(0, |s, &c| {
            *s += c;
            Some(*s)
        }))
        .collect();
    let inf = u64::MAX;
    // best[k][b]: the best bottleneck placing layers 0..b in k stages; cut[k][b] its last cut.
    let mut best = vec![vec![inf; n + 1]; stages + 1];
    let mut cut = vec![vec![0usize; n + 1]; stages + 1];
    best[0][0] = 0;
    for k in 1..=stages {
        for b in 1..=n {
            for a in (k - 1)..b {
                if best[k - 1][a] == inf {
                    continue;
                }
                let link_cost = if a > 0 { link[a - 1] } else { 0 };
                let v = best[k - 1][a].max(prefix[b] - prefix[a]).max(link_cost);
                if v < best[k][b] {
                    best[k][b] = v;
                    cut[k][b] = a;
                }
            }
        }
    }
    // Fewest stages among the optimal ones (ties keep the machine less spread out).
    let k_best = (1..=stages.min(n)).min_by_key(|&k| (best[k][n], k)).unwrap_or(1);
    let mut stage_of = vec![0u32; n];
    let (mut k, mut b) = (k_best, n);
    while k > 0 {
        let a = cut[k][b];
        for s in stage_of.iter_mut().take(b).skip(a) {
            *s = (k - 1) as u32;
        }
        b = a;
        k -= 1;
    }
    stage_of
}

/// The plain partition: one processor per stage, whole tasks.
pub fn plain_placement(p: &Problem) -> Placement {
    let (compute, link) = layer_costs(p);
    let stage_of = partition(&compute, &link, p.processors() as usize);
    let layer_of: Vec<u32> = p.tasks().map(|t| t.layer).collect();
    Placement::whole_tasks(p, |i| stage_of[layer_of[i] as usize - 1])
}

/// Replica counts the planner considers: every count up to 8, then powers of two and
/// three times powers of two up to P (keeps the search small at large P).
fn replica_counts(procs: u32) -> Vec<u32> {
    let mut r: Vec<u32> = (1..=procs.min(8)).collect();
    let mut x = 8u32;
    while x <= procs {
        r.push(x);
        if x / 2 * 3 <= procs {
            r.push(x / 2 * 3);
        }
        x = x.saturating_mul(2);
    }
    r.sort_unstable();
    r.dedup();
    r
}

/// Estimated cost tables of the planner, per 0-based layer and replica count.
struct Costs {
    replicas: Vec<u32>,
    /// `compute[l][ri]`: cycles of one replica's share of layer l (largest group).
    compute: Vec<Vec<u64>>,
    /// `allreduce[l][ri]`: cycles of layer l's reduce-scatter plus all-gather on one link.
    allreduce: Vec<Vec<u64>>,
    /// Bytes crossing the cut after layer l: `(forward, backward)` per edge.
    cut_edges: Vec<Vec<(u64, bool)>>,
}

fn costs(p: &Problem) -> Costs {
    let layers = p.graph.layers() as usize;
    let replicas = replica_counts(p.processors());
    let mut compute = vec![vec![0u64; replicas.len()]; layers];
    let mut allreduce = vec![vec![0u64; replicas.len()]; layers];
    for (ri, &r) in replicas.iter().enumerate() {
        let procs: Vec<u32> = (0..r).collect();
        for t in p.tasks() {
            let l = t.layer as usize - 1;
            let chunks = stages::split_by_samples(p, t, &procs);
            let largest = chunks.iter().map(|c| c.cycles).max().unwrap_or(0);
            let parts = chunks.len() as u64;
            compute[l][ri] += largest;
            if t.kind == TaskKind::Update && parts > 1 {
                let slice = chunks.iter().map(|c| c.range.len()).max().unwrap_or(0);
                compute[l][ri] += p.hardware.reduce_cycles(slice, parts);
                let grad = edge_bytes(p, t.layer, TaskKind::WeightGrad, TaskKind::Update);
                let weights = edge_bytes(p, t.layer, TaskKind::Update, TaskKind::Forward);
                allreduce[l][ri] = p.cost.transfer_cycles(grad.div_ceil(parts))
                    + p.cost.transfer_cycles(weights.div_ceil(parts));
            }
        }
    }
    let mut cut_edges = vec![Vec::new(); layers];
    let g = &p.graph.graph;
    for e in g.raw_edges().iter().filter(|e| e.weight.kind == EdgeKind::Data) {
        let (a, b) = (g[e.source()].layer as usize, g[e.target()].layer as usize);
        for cut in a.min(b)..a.max(b) {
            cut_edges[cut - 1].push((e.weight.bytes, a < b));
        }
    }
    Costs { replicas, compute, allreduce, cut_edges }
}

/// Bytes of the edge `from_l → to_l` of one layer (0 if there is none).
fn edge_bytes(p: &Problem, layer: u32, from: TaskKind, to: TaskKind) -> u64 {
    let g = &p.graph.graph;
    g.raw_edges()
        .iter()
        .find(|e| {
            let (u, v) = (&g[e.source()], &g[e.target()]);
            u.layer == layer && v.layer == layer && u.kind == from && v.kind == to
        })
        .map_or(0, |e| e.weight.bytes)
}

impl Costs {
    /// Link cycles of the cut after 0-based layer `l` when the stage before it has `r`
    /// replicas: each replica sends its samples' share.
    fn cut(&self, p: &Problem, l: usize, r: u32) -> u64 {
        let per = |fwd: bool| {
            self.cut_edges[l]
                .iter()
                .filter(|e| e.1 == fwd)
                .map(|e| p.cost.transfer_cycles(e.0.div_ceil(r as u64)))
                .sum::<u64>()
        };
        per(true).max(per(false))
    }
}

/// For every stage count k, the best plan (by the estimate) with exactly k stages.
pub fn replicated_plans(p: &Problem) -> Vec<Vec<Stage>> {
    let c = costs(p);
    let layers = c.compute.len();
    let procs = p.processors() as usize;
    let inf = u64::MAX;
    // best[k][j][m]: bottleneck of layers 0..j in k stages on m processors.
    let idx = |k: usize, j: usize, m: usize| (k * (layers + 1) + j) * (procs + 1) + m;
    let size = (layers + 1) * (layers + 1) * (procs + 1);
    let mut best = vec![inf; size];
    let mut back = vec![(0usize, 0usize, 0u32); size];
    best[idx(0, 0, 0)] = 0;
    for k in 1..=layers {
        for j in k..=layers {
            for a in (k - 1)..j {
                for (ri, &r) in c.replicas.iter().enumerate() {
                    let r_us = r as usize;
                    let compute: u64 = (a..j).map(|l| c.compute[l][ri]).sum();
                    let allreduce: u64 = (a..j).map(|l| c.allreduce[l][ri]).sum();
                    let cut = if j < layers { c.cut(p, j - 1, r) } else { 0 };
                    let stage = compute.max(allreduce).max(cut);
                    for m in r_us..=procs {
                        let prev = best[idx(k - 1, a, m - r_us)];
                        if prev == inf {
                            continue;
                        }
                        let v = prev.max(stage);
                        if v < best[idx(k, j, m)] {
                            best[idx(k, j, m)] = v;
                            back[idx(k, j, m)] = (a, m - r_us, r);
                        }
                    }
                }
            }
        }
    }
    let mut plans = Vec::new();
    for k in 1..=layers.min(procs) {
        // Fewest processors among the best (ties keep the machine less spread out).
        let Some(m) = (1..=procs)
            .filter(|&m| best[idx(k, layers, m)] != inf)
            .min_by_key(|&m| (best[idx(k, layers, m)], m))
        else {
            continue;
        };
        let (mut j, mut m, mut kk) = (layers, m, k);
        let mut stage_of = vec![0u32; layers];
        let mut replicas = vec![1u32; k];
        while kk > 0 {
            let (a, pm, r) = back[idx(kk, j, m)];
            for s in stage_of.iter_mut().take(j).skip(a) {
                *s = (kk - 1) as u32;
            }
            replicas[kk - 1] = r;
            (j, m, kk) = (a, pm, kk - 1);
        }
        plans.push(stages::from_partition(&stage_of, &replicas));
    }
    plans
}

impl Scheduler for Pipedream {
    fn name(&self) -> &'static str {
        "pipedream"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        // Every stage count's plan and the plain partition, timed exactly; the fastest wins.
        let mut candidates: Vec<Placement> =
            replicated_plans(p).iter().map(|plan| stages::placement(p, plan)).collect();
        candidates.push(plain_placement(p));
        if let Some(cap) = p.hardware.memory_bytes {
            // As PipeDream's planner does, refuse plans that do not fit the memory.
            candidates = crate::memory_fit::pipedream_candidates(p, candidates, cap, layer_costs(p));
        }
        let exact =
            |pl: &Placement| timing::min_period(&super::timed::draft(p, pl, "pipedream", solver()), p.cost);
        let placement = candidates
            .into_iter()
            .map(|pl| (exact(&pl), pl))
            .min_by_key(|(period, _)| *period)
            .map(|(_, pl)| pl)
            .unwrap_or_else(|| plain_placement(p));
        Ok(Outcome { placement, solver: solver(), timed: None, alternatives: vec![] })
    }
}

fn solver() -> SolverInfo {
    SolverInfo {
        name: "dynamic-programming".into(),
        status: SolverStatus::Feasible,
        seconds: 0.0,
        gap: None,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::partition;

    #[test]
    fn balances_stages() {
        assert_eq!(partition(&[5, 5, 5, 5], &[0, 0, 0, 0], 2), vec![0, 0, 1, 1]);
        assert_eq!(partition(&[9, 1, 1, 1], &[0, 0, 0, 0], 2), vec![0, 1, 1, 1]);
        // An expensive link keeps layers 1 and 2 together (a 5 | 15 cut is as good as 15 | 5).
        assert_eq!(partition(&[5, 5, 5, 5], &[0, 100, 0, 0], 2), vec![0, 1, 1, 1]);
        // Cutting after layer 1 is free; after layers 0 or 2 it costs 100.
        assert_eq!(partition(&[5, 5, 5, 5], &[100, 0, 100, 0], 2), vec![0, 0, 1, 1]);
    }
}
