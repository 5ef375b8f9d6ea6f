//! Stage plans: contiguous blocks of whole layers, each run by a group of processors
//! that split its work by samples (data parallelism inside the stage).
//!
//! Inside a stage of `r` processors, replica `i` runs the `i`-th group of samples of
//! every forward, neuron, input-gradient and weight-gradient task of the stage's layers
//! (`F`/`G` cut along M, `S`/`E` along elements, `W` along its reduction K: each replica
//! holds a partial weight gradient). The update `U_l` is cut along its parameters, one
//! slice per replica: replica `i` receives slice `i` of every other replica's partial
//! sum (a reduce-scatter), sums them on its vector unit, updates the slice and sends it
//! back to every replica (an all-gather). On the dedicated point-to-point links of the
//! machine model this direct exchange is the cheapest all-reduce: every link carries
//! one slice per direction and phase, which is what ring and tree all-reduces also move
//! per link, with fewer steps and so less latency.
//!
//! One stage over all processors is data parallelism; one processor per stage is
//! PipeDream's plain partition; anything between is PipeDream with replicated stages.

use spikepipe_ir::{ChunkRange, SplitDim, Task, TaskKind};

use super::split::{chunk_cycles, even_ranges_along, sample_ranges};
use super::{PlacedChunk, Placement, Problem};

/// A block of layers and the processors that share its samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// First weight layer (1-based).
    pub first_layer: u32,
    /// Last weight layer (inclusive).
    pub last_layer: u32,
    /// Processors of the stage, one per sample group.
    pub processors: Vec<u32>,
}

/// The dimension a task is cut along to split it by samples (parameters for `U`).
pub fn sample_dim(kind: TaskKind) -> SplitDim {
    match kind {
        TaskKind::Forward | TaskKind::InputGrad | TaskKind::Recompute => SplitDim::M,
        TaskKind::WeightGrad => SplitDim::K,
        TaskKind::Neuron | TaskKind::NeuronBackward | TaskKind::Update => SplitDim::Elements,
    }
}

/// A task cut into `groups` sample groups (or parameter slices for `U`), chunk `i` on
/// `procs[i]`. Fewer chunks than processors when the batch is smaller than the group.
pub fn split_by_samples(p: &Problem, t: &Task, procs: &[u32]) -> Vec<PlacedChunk> {
    let k = procs.len() as u64;
    let dim = sample_dim(t.kind);
    let ranges = if k <= 1 {
        vec![super::split::whole()]
    } else if t.kind == TaskKind::Update {
        even_ranges_along(dim, dim.size(&t.work).unwrap_or(1), 1, k)
    } else {
        sample_ranges(p, t, dim, k)
    };
    chunks_on(p, t, ranges, procs)
}

/// `t`'s chunks with the given ranges, the i-th on `procs[i]`, each costed on the array.
pub fn chunks_on(p: &Problem, t: &Task, ranges: Vec<ChunkRange>, procs: &[u32]) -> Vec<PlacedChunk> {
    ranges
        .into_iter()
        .zip(procs)
        .map(|(range, &processor)| PlacedChunk { processor, range, cycles: chunk_cycles(p, t, range) })
        .collect()
}

/// The placement of a stage plan.
pub fn placement(p: &Problem, stages: &[Stage]) -> Placement {
    let chunks = p
        .tasks()
        .map(|t| {
            let stage =
                stages.iter().find(|s| (s.first_layer..=s.last_layer).contains(&t.layer)).or(stages.last());
            match stage {
                Some(s) => split_by_samples(p, t, &s.processors),
                None => split_by_samples(p, t, &[0]),
            }
        })
        .collect();
    Placement { chunks }
}

/// One stage of every layer over all processors: data parallelism.
pub fn data_parallel(p: &Problem) -> Vec<Stage> {
    let procs = (0..p.processors().min(p.network.batch.min(u32::MAX as u64) as u32).max(1)).collect();
    vec![Stage { first_layer: 1, last_layer: p.graph.layers().max(1), processors: procs }]
}

/// Stages from a layer → stage map (0-based layers) with `replicas[stage]` processors
/// each, numbered consecutively.
pub fn from_partition(stage_of: &[u32], replicas: &[u32]) -> Vec<Stage> {
    let mut stages: Vec<Stage> = Vec::new();
    let mut next_proc = 0u32;
    for (i, &s) in stage_of.iter().enumerate() {
        let layer = i as u32 + 1;
        let open = stages.len() as u32 == s + 1;
        match stages.last_mut() {
            Some(last) if open => last.last_layer = layer,
            _ => {
                let r = replicas.get(s as usize).copied().unwrap_or(1).max(1);
                stages.push(Stage {
                    first_layer: layer,
                    last_layer: layer,
                    processors: (next_proc..next_proc + r).collect(),
                });
                next_proc += r;
            }
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_to_stages_numbers_processors_consecutively() {
        let stages = from_partition(&[0, 0, 1, 2], &[2, 1, 3]);
        assert_eq!(stages.len(), 3);
        assert_eq!((stages[0].first_layer, stages[0].last_layer), (1, 2));
        assert_eq!(stages[0].processors, vec![0, 1]);
        assert_eq!(stages[1].processors, vec![2]);
        assert_eq!(stages[2].processors, vec![3, 4, 5]);
    }
}
