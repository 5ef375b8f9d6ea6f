//! `layerwise`: standard inter-layer pipelining. Layers are cut into P contiguous blocks
//! with equal numbers of layers (the first `L mod P` blocks get one more); each block's
//! tasks run whole on one processor.

use super::{Outcome, Placement, Problem, Scheduler};
use crate::ScheduleError;

/// Equal numbers of whole layers per processor.
pub struct Layerwise;

/// Processor of each layer (0-based layer index) when `layers` are cut into `procs`
/// contiguous blocks of equal size.
pub fn equal_blocks(layers: u32, procs: u32) -> Vec<u32> {
    let procs = procs.clamp(1, layers.max(1));
    let (base, extra) = (layers / procs, layers % procs);
    let mut out = Vec::new();
    for p in 0..procs {
        let n = base + u32::from(p < extra);
        out.extend(std::iter::repeat_n(p, n as usize));
    }
    out
}

impl Scheduler for Layerwise {
    fn name(&self) -> &'static str {
        "layerwise"
    }
    fn schedule(&self, p: &Problem) -> Result<Outcome, ScheduleError> {
        let blocks = equal_blocks(p.graph.layers(), p.processors());
        let layer_of: Vec<u32> = p.tasks().map(|t| t.layer).collect();
        let placement = Placement::whole_tasks(p, |i| blocks[layer_of[i] as usize - 1]);
        Ok(Outcome::feasible(placement, "equal-blocks"))
    }
}

#[cfg(test)]
mod tests {
    use super::equal_blocks;

    #[test]
    fn blocks_are_contiguous_and_equal() {
        assert_eq!(equal_blocks(5, 2), vec![0, 0, 0, 1, 1]);
        assert_eq!(equal_blocks(2, 4), vec![0, 1]);
        assert_eq!(equal_blocks(6, 3), vec![0, 0, 1, 1, 2, 2]);
    }
}
