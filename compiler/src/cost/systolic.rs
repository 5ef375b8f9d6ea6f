//! SCALE-Sim's analytical compute-cycle model of a GEMM on an R×C systolic array.
//!
//! The GEMM `(M, K, N)` maps onto the array by dataflow (rows `Sr`, columns `Sc`, streamed
//! `T`): os = (M, N, K), ws = (K, N, M), is = (K, M, N). It runs in
//! `F = ceil(Sr/R)·ceil(Sc/C)` folds of `L` cycles each, whatever a fold's occupancy:
//! `L = T + R + C − 2` for os and `T + 2R + C − 2` for ws and is (R cycles to load the
//! stationary tile). SCALE-Sim prints `F·L − 1`, the index of the last cycle; we count cycles.
//!
//! ```
//! use spikepipe_compiler::cost::gemm_cycles;
//! use spikepipe_ir::Dataflow;
//! assert_eq!(gemm_cycles(1, 1, 1, 8, 8, Dataflow::Os), 15);
//! assert_eq!(gemm_cycles(1, 1, 1, 128, 128, Dataflow::Ws), 383);
//! assert_eq!(gemm_cycles(128, 128, 128, 32, 32, Dataflow::Os), 3040);
//! ```

use spikepipe_ir::{Dataflow, HardwareSpec, LinkSpec, SplitDim};

use super::CostModel;

/// Cycles of GEMM `(m, k, n)` on an `r × c` array with `dataflow`; `Best` takes the
/// cheapest of the three.
pub fn gemm_cycles(m: u64, k: u64, n: u64, r: u64, c: u64, dataflow: Dataflow) -> u64 {
    let (sr, sc, t, load) = match dataflow {
        Dataflow::Os => (m, n, k, 0),
        Dataflow::Ws => (k, n, m, r),
        Dataflow::Is => (k, m, n, r),
        Dataflow::Best => {
            return [Dataflow::Os, Dataflow::Ws, Dataflow::Is]
                .into_iter()
                .map(|d| gemm_cycles(m, k, n, r, c, d))
                .min()
                .unwrap_or(u64::MAX)
        }
    };
    let folds = sr.div_ceil(r).saturating_mul(sc.div_ceil(c));
    let fold_cycles = t + load + r + c - 2;
    folds.saturating_mul(fold_cycles)
}

/// The default cost model: one systolic array plus a vector unit per processor.
#[derive(Debug, Clone)]
pub struct Systolic {
    /// Array rows R.
    pub rows: u64,
    /// Array columns C.
    pub cols: u64,
    /// Dataflow.
    pub dataflow: Dataflow,
    /// Vector lanes.
    pub lanes: u64,
    /// The links between processors (priced by [`LinkSpec::transfer_cycles`]).
    pub link: LinkSpec,
}

impl Systolic {
    /// The cost model of a hardware spec.
    pub fn new(hw: &HardwareSpec) -> Systolic {
        Systolic {
            rows: hw.array.rows.max(1),
            cols: hw.array.cols.max(1),
            dataflow: hw.array.dataflow,
            lanes: hw.vector_lanes.max(1),
            link: hw.link.clone(),
        }
    }
}

impl CostModel for Systolic {
    fn gemm_cycles(&self, m: u64, k: u64, n: u64) -> u64 {
        gemm_cycles(m, k, n, self.rows, self.cols, self.dataflow)
    }
    fn elementwise_cycles(&self, elements: u64, ops_per_element: u64) -> u64 {
        elements.saturating_mul(ops_per_element).div_ceil(self.lanes)
    }
    fn transfer_cycles(&self, bytes: u64) -> u64 {
        self.link.transfer_cycles(bytes)
    }
    fn transfer_line(&self) -> (u64, u64) {
        (self.link.latency_cycles, self.link.bytes_per_cycle.max(1))
    }
    fn operand_accesses(&self, work: &spikepipe_ir::Work) -> super::OperandAccesses {
        super::operands::work_accesses(work, self.rows, self.cols, self.dataflow)
    }
    fn split_unit(&self, m: u64, k: u64, n: u64, dim: SplitDim) -> u64 {
        let dataflow = match self.dataflow {
            Dataflow::Best => best_dataflow(m, k, n, self.rows, self.cols),
            d => d,
        };
        match (dataflow, dim) {
            (Dataflow::Os, SplitDim::M) => self.rows,
            (Dataflow::Os | Dataflow::Ws, SplitDim::N) => self.cols,
            (Dataflow::Is, SplitDim::M) => self.cols,
            _ => 1,
        }
    }
}

/// The cheapest of os, ws and is for a GEMM (ties to the first).
pub fn best_dataflow(m: u64, k: u64, n: u64, r: u64, c: u64) -> Dataflow {
    [Dataflow::Os, Dataflow::Ws, Dataflow::Is]
        .into_iter()
        .min_by_key(|d| gemm_cycles(m, k, n, r, c, *d))
        .unwrap_or(Dataflow::Ws)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Dataflow::{Is, Os, Ws};

    /// Hand-worked cases: (m, k, n, R, C, dataflow, folds × fold cycles).
    const CASES: &[(u64, u64, u64, u64, u64, Dataflow, u64)] = &[
        // DESIGN §9 examples.
        (1, 1, 1, 8, 8, Os, 15),           // 1 fold × (1 + 8 + 8 − 2)
        (1, 1, 1, 128, 128, Ws, 383),      // 1 × (1 + 256 + 128 − 2)
        (128, 128, 128, 32, 32, Os, 3040), // 4·4 folds × (128 + 62)
        // os: Sr = M, Sc = N, T = K.
        (100, 50, 70, 32, 32, Os, 4 * 3 * (50 + 62)),
        (100, 50, 70, 16, 64, Os, 7 * 2 * (50 + 78)), // non-square 16×64
        (5, 7, 3, 32, 32, Os, 7 + 62),                // smaller than the array
        // ws: Sr = K, Sc = N, T = M.
        (1600, 64, 128, 128, 128, Ws, 1600 + 256 + 126),
        (1600, 200, 10, 32, 32, Ws, 7 * (1600 + 64 + 30)),
        (33, 33, 33, 32, 16, Ws, 2 * 3 * (33 + 64 + 14)), // non-square 32×16
        (10, 3, 2, 64, 64, Ws, 10 + 128 + 62),
        // is: Sr = K, Sc = M, T = N.
        (1600, 64, 128, 128, 128, Is, 13 * (128 + 256 + 126)),
        (40, 100, 9, 32, 8, Is, 4 * 5 * (9 + 64 + 6)), // non-square 32×8
        (3, 3, 3, 4, 4, Is, 3 + 8 + 2),
        (65, 129, 1, 64, 128, Is, 3 * (1 + 128 + 126)), // 3 × 1 folds
    ];

    #[test]
    fn scale_sim_compute_cycles() {
        for &(m, k, n, r, c, df, want) in CASES {
            assert_eq!(gemm_cycles(m, k, n, r, c, df), want, "({m},{k},{n}) on {r}×{c} {df:?}");
        }
    }

    #[test]
    fn best_takes_the_cheapest_dataflow() {
        for &(m, k, n, r, c, _, _) in CASES {
            let all = [Os, Ws, Is].map(|d| gemm_cycles(m, k, n, r, c, d));
            assert_eq!(gemm_cycles(m, k, n, r, c, Dataflow::Best), *all.iter().min().unwrap());
        }
    }

    #[test]
    fn elementwise_and_transfer() {
        let link = spikepipe_ir::LinkSpec { bytes_per_cycle: 16, latency_cycles: 20 };
        let s = Systolic { rows: 8, cols: 8, dataflow: Os, lanes: 32, link };
        assert_eq!(s.transfer_line(), (20, 16));
        assert_eq!(s.elementwise_cycles(100, 4), 13); // ceil(400 / 32)
        assert_eq!(s.elementwise_cycles(0, 4), 0);
        assert_eq!(s.transfer_cycles(100), 27); // 20 + ceil(100 / 16)
        assert_eq!(s.transfer_cycles(0), 20);
    }
}
