//! Operand traffic of a task on its own array: the SRAM reads and writes SCALE-Sim
//! counts for a GEMM under a dataflow, and the elements an element-wise task reads and
//! writes. This is the denominator of the paper's communication metric
//! (`docs/comm-metric.md`), not a cost: it never changes a schedule.
//!
//! A GEMM `out[M×N] = A[M×K]·B[K×N]` maps onto the R×C array as rows `Sr`, columns `Sc`
//! and streamed `T` (os = (M, N, K), ws = (K, N, M), is = (K, M, N)) and runs in
//! `ceil(Sr/R)·ceil(Sc/C)` folds. Per SCALE-Sim's demand matrices, the stationary operand
//! is read once, the streamed one once per fold of the other mapped dimension, and the
//! output written once (os) or once per row fold as partial sums (ws, is):
//!
//! | dataflow | ifmap (A) reads     | filter (B) reads    | ofmap writes        |
//! |----------|---------------------|---------------------|---------------------|
//! | os       | `M·K·ceil(N/C)`     | `K·N·ceil(M/R)`     | `M·N`               |
//! | ws       | `M·K·ceil(N/C)`     | `K·N`               | `M·N·ceil(K/R)`     |
//! | is       | `M·K`               | `K·N·ceil(M/C)`     | `M·N·ceil(K/R)`     |

use spikepipe_ir::{BitsSpec, Dataflow, TaskKind, Work};

use super::systolic::best_dataflow;

/// Element accesses of one task's operands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperandAccesses {
    /// Reads of the left operand (the input feature map; an element-wise task's input).
    pub ifmap_reads: u64,
    /// Reads of the right operand (the filter; 0 for element-wise work).
    pub filter_reads: u64,
    /// Writes of the result (partial sums included).
    pub ofmap_writes: u64,
}

/// Bits per element of each operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperandBits {
    /// Left operand.
    pub ifmap: u64,
    /// Right operand.
    pub filter: u64,
    /// Result.
    pub ofmap: u64,
}

impl OperandAccesses {
    /// Bytes moved at the given widths (each operand rounded up to whole bytes).
    pub fn bytes(&self, bits: OperandBits) -> u64 {
        let b = |n: u64, w: u64| (u128::from(n) * u128::from(w)).div_ceil(8) as u64;
        b(self.ifmap_reads, bits.ifmap)
            .saturating_add(b(self.filter_reads, bits.filter))
            .saturating_add(b(self.ofmap_writes, bits.ofmap))
    }
}

/// SCALE-Sim's SRAM accesses of GEMM `(m, k, n)` on an `r × c` array; `Best` counts
/// the dataflow the cycle model picks (the cheapest).
pub fn gemm_accesses(m: u64, k: u64, n: u64, r: u64, c: u64, dataflow: Dataflow) -> OperandAccesses {
    let (r, c) = (r.max(1), c.max(1));
    let (a, b, out) = (m.saturating_mul(k), k.saturating_mul(n), m.saturating_mul(n));
    match dataflow {
        Dataflow::Os => OperandAccesses {
            ifmap_reads: a.saturating_mul(n.div_ceil(c)),
            filter_reads: b.saturating_mul(m.div_ceil(r)),
            ofmap_writes: out,
        },
        Dataflow::Ws => OperandAccesses {
            ifmap_reads: a.saturating_mul(n.div_ceil(c)),
            filter_reads: b,
            ofmap_writes: out.saturating_mul(k.div_ceil(r)),
        },
        Dataflow::Is => OperandAccesses {
            ifmap_reads: a,
            filter_reads: b.saturating_mul(m.div_ceil(c)),
            ofmap_writes: out.saturating_mul(k.div_ceil(r)),
        },
        Dataflow::Best => gemm_accesses(m, k, n, r, c, best_dataflow(m, k, n, r, c)),
    }
}

/// An element-wise task reads each element once and writes it once.
pub fn elementwise_accesses(elements: u64) -> OperandAccesses {
    OperandAccesses { ifmap_reads: elements, filter_reads: 0, ofmap_writes: elements }
}

/// Accesses of any work on an `r × c` array with `dataflow`.
pub fn work_accesses(work: &Work, r: u64, c: u64, dataflow: Dataflow) -> OperandAccesses {
    match *work {
        Work::Gemm { m, k, n } => gemm_accesses(m, k, n, r, c, dataflow),
        Work::Elementwise { elements, .. } => elementwise_accesses(elements),
    }
}

/// Operand widths of a task kind: `F` reads spikes and weights and writes currents, `G`
/// reads gradients and weights, `W` reads spikes and gradients, `S` works on
/// activations, `E` on gradients, `U` on weights.
pub fn operand_bits(kind: TaskKind, bits: &BitsSpec) -> OperandBits {
    let (ifmap, filter, ofmap) = match kind {
        TaskKind::Forward | TaskKind::Recompute => (bits.spike, bits.weight, bits.activation),
        TaskKind::InputGrad => (bits.gradient, bits.weight, bits.gradient),
        TaskKind::WeightGrad => (bits.spike, bits.gradient, bits.gradient),
        TaskKind::Neuron => (bits.activation, 0, bits.activation),
        TaskKind::NeuronBackward => (bits.gradient, 0, bits.gradient),
        TaskKind::Update => (bits.weight, 0, bits.weight),
    };
    OperandBits { ifmap, filter, ofmap }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dataflow::{Is, Os, Ws};

    #[test]
    fn hand_worked_gemms() {
        // M = 100, K = 50, N = 70 on 32×32: ceil(M/R) = 4, ceil(N/C) = 3, ceil(K/R) = 2.
        let os = gemm_accesses(100, 50, 70, 32, 32, Os);
        assert_eq!(os, OperandAccesses { ifmap_reads: 5000 * 3, filter_reads: 3500 * 4, ofmap_writes: 7000 });
        let ws = gemm_accesses(100, 50, 70, 32, 32, Ws);
        assert_eq!(ws, OperandAccesses { ifmap_reads: 5000 * 3, filter_reads: 3500, ofmap_writes: 7000 * 2 });
        // is maps M on the columns: ceil(M/C) = 4.
        let is = gemm_accesses(100, 50, 70, 32, 32, Is);
        assert_eq!(is, OperandAccesses { ifmap_reads: 5000, filter_reads: 3500 * 4, ofmap_writes: 7000 * 2 });
    }

    #[test]
    fn non_square_array_uses_rows_and_columns_where_they_map() {
        // 16 rows × 64 columns, M = 40, K = 100, N = 9.
        let os = gemm_accesses(40, 100, 9, 16, 64, Os); // ceil(9/64) = 1, ceil(40/16) = 3
        assert_eq!((os.ifmap_reads, os.filter_reads, os.ofmap_writes), (4000, 2700, 360));
        let ws = gemm_accesses(40, 100, 9, 16, 64, Ws); // ceil(100/16) = 7
        assert_eq!((ws.ifmap_reads, ws.filter_reads, ws.ofmap_writes), (4000, 900, 360 * 7));
        let is = gemm_accesses(40, 100, 9, 16, 64, Is); // ceil(40/64) = 1, ceil(100/16) = 7
        assert_eq!((is.ifmap_reads, is.filter_reads, is.ofmap_writes), (4000, 900, 360 * 7));
    }

    #[test]
    fn a_gemm_that_fits_the_array_touches_each_operand_once() {
        for df in [Os, Ws, Is] {
            let a = gemm_accesses(8, 8, 8, 32, 32, df);
            assert_eq!(a, OperandAccesses { ifmap_reads: 64, filter_reads: 64, ofmap_writes: 64 }, "{df:?}");
        }
    }

    #[test]
    fn best_counts_the_dataflow_the_cycle_model_picks() {
        let (m, k, n) = (1600, 64, 128);
        let df = best_dataflow(m, k, n, 32, 32);
        assert_eq!(gemm_accesses(m, k, n, 32, 32, Dataflow::Best), gemm_accesses(m, k, n, 32, 32, df));
    }

    #[test]
    fn elementwise_reads_and_writes_each_element_and_bytes_round_up() {
        let e = elementwise_accesses(1000);
        assert_eq!((e.ifmap_reads, e.filter_reads, e.ofmap_writes), (1000, 0, 1000));
        assert_eq!(e.bytes(OperandBits { ifmap: 16, filter: 0, ofmap: 16 }), 4000);
        // 3 one-bit spikes take one byte; 3 sixteen-bit words take six.
        let g = OperandAccesses { ifmap_reads: 3, filter_reads: 3, ofmap_writes: 0 };
        assert_eq!(g.bytes(OperandBits { ifmap: 1, filter: 16, ofmap: 16 }), 1 + 6);
    }
}
