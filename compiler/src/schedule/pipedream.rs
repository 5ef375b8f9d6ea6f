//! `pipedream`: PipeDream's partitioner. Whole layers, contiguous stages, one stage per
//! processor; dynamic programming finds the partition into at most P stages that
//! minimises the busiest resource: a stage's compute, or the link between two stages
//! (forward spikes one way, input gradients the other).

use spikepipe_ir::EdgeKind;

use super::{Outcome, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// Optimal contiguous partition of whole layers.
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

impl Scheduler for Pipedream {
    fn name(&self) -> &'static str {
        "pipedream"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let (compute, link) = layer_costs(p);
        let stages = p.processors() as usize;
        // With a memory cap, only stages that fit (when some partition does; otherwise
        // `memory_fit` reports what does not fit).
        let capped = p
            .hardware
            .memory_bytes
            .and_then(|cap| crate::memory_fit::pipedream_partition(p, &compute, &link, stages, cap));
        let stage_of = capped.unwrap_or_else(|| partition(&compute, &link, stages));
        let layer_of: Vec<u32> = p.tasks().map(|t| t.layer).collect();
        let placement = Placement::whole_tasks(p, |i| stage_of[layer_of[i] as usize - 1]);
        Ok(Outcome::feasible(placement, "dynamic-programming"))
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
