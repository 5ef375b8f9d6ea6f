//! Pass 3: cost. A [`CostModel`] prices GEMMs, element-wise work and transfers; the
//! default is [`Systolic`], SCALE-Sim's analytical compute model (DESIGN §5, §9).
//! [`annotate`] fills every task's `cycles`; [`traffic`] turns the transfers a placement
//! needs into link loads.

pub mod operands;
mod systolic;
pub mod traffic;

pub use operands::{OperandAccesses, OperandBits};
pub use systolic::{gemm_cycles, Systolic};

use spikepipe_ir::{SplitDim, TaskGraph, Work};

/// Prices work on one processor. Implement it to plug in another cost model. `Sync`,
/// because `ilp` prices on several threads at once (the heuristic's schedule and each
/// finalist's refinement run beside each other).
pub trait CostModel: Sync {
    /// Cycles of `out[M×N] = A[M×K] · B[K×N]` on the array.
    fn gemm_cycles(&self, m: u64, k: u64, n: u64) -> u64;
    /// Cycles of `elements · ops_per_element` operations on the vector unit.
    fn elementwise_cycles(&self, elements: u64, ops_per_element: u64) -> u64;
    /// Cycles to move `bytes` between two different processors: the only price of link
    /// traffic in the compiler (timing, the heuristic's evaluator and, through
    /// [`CostModel::transfer_line`], the ILP all read it here).
    fn transfer_cycles(&self, bytes: u64) -> u64;
    /// `(latency, bytes per cycle)` of the line `latency + bytes / bandwidth`, which must
    /// never exceed [`CostModel::transfer_cycles`]: the ILP's linear link model, which
    /// stays a relaxation only under that bound.
    fn transfer_line(&self) -> (u64, u64);

    /// The granularity in which a GEMM is best cut along `dim` (M or N): a whole array
    /// tile for a spatially mapped dimension (cutting inside a tile wastes a fold), 1 for
    /// a dimension streamed through the array.
    fn split_unit(&self, _m: u64, _k: u64, _n: u64, _dim: SplitDim) -> u64 {
        1
    }

    /// Operand accesses of `work` on one processor (SRAM reads and writes of its
    /// operands). The default touches every operand element once, as an array large
    /// enough for the whole GEMM would.
    fn operand_accesses(&self, work: &Work) -> OperandAccesses {
        match *work {
            Work::Gemm { m, k, n } => OperandAccesses {
                ifmap_reads: m.saturating_mul(k),
                filter_reads: k.saturating_mul(n),
                ofmap_writes: m.saturating_mul(n),
            },
            Work::Elementwise { elements, .. } => operands::elementwise_accesses(elements),
        }
    }

    /// Bytes of operand traffic of `work` with operands of the given widths.
    fn operand_bytes(&self, work: &Work, bits: OperandBits) -> u64 {
        self.operand_accesses(work).bytes(bits)
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
