//! Pass 3: cost. A [`CostModel`] prices GEMMs, element-wise work and transfers; the
//! default is [`Systolic`], SCALE-Sim's analytical compute model (DESIGN §5, §9).
//! [`annotate`] fills every task's `cycles`.

mod systolic;

pub use systolic::{gemm_cycles, Systolic};

use spikepipe_ir::{SplitDim, TaskGraph, Work};

/// Prices work on one processor. Implement it to plug in another cost model.
pub trait CostModel {
    /// Cycles of `out[M×N] = A[M×K] · B[K×N]` on the array.
    fn gemm_cycles(&self, m: u64, k: u64, n: u64) -> u64;
    /// Cycles of `elements · ops_per_element` operations on the vector unit.
    fn elementwise_cycles(&self, elements: u64, ops_per_element: u64) -> u64;
    /// Cycles to move `bytes` between two different processors.
    fn transfer_cycles(&self, bytes: u64) -> u64;

    /// The granularity in which a GEMM is best cut along `dim` (M or N): a whole array
    /// tile for a spatially mapped dimension (cutting inside a tile wastes a fold), 1 for
    /// a dimension streamed through the array.
    fn split_unit(&self, _m: u64, _k: u64, _n: u64, _dim: SplitDim) -> u64 {
        1
    }

    /// Cycles of any work.
    fn work_cycles(&self, work: &Work) -> u64 {
        match *work {
            Work::Gemm { m, k, n } => self.gemm_cycles(m, k, n),
            Work::Elementwise { elements, ops_per_element } => {
                self.elementwise_cycles(elements, ops_per_element)
            }
        }
    }
}

/// Sets `cycles` of every task from the cost model.
pub fn annotate(graph: &mut TaskGraph, cost: &dyn CostModel) {
    for task in graph.graph.node_weights_mut() {
        task.cycles = cost.work_cycles(&task.work);
    }
}
