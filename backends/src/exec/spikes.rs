//! Accumulate-only kernels for binary spike inputs.
//!
//! A layer whose input is 0/1 spikes needs no multiplications: `y = W x` is the sum of
//! the weight columns whose input spiked, and `∇W += Δ xᵀ` adds each error column to the
//! gradient columns of the inputs that spiked. At the firing rates training sees
//! (6–30 %) that is 3–15× less work than a dense GEMM. Both are one primitive,
//! `out[:, c] (+)= Σ_{i ∈ list(c)} src[:, i]`, computed in register tiles so each output
//! tile stays in registers while its list streams by; the f32 kernel picks AVX-512, AVX2
//! or plain code at run time through `pulp`'s safe dispatch.

use super::Real;

/// For each of `m` columns, the list of indices: `idx[start[c]..start[c + 1]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lists {
    /// Offsets, `m + 1` entries.
    pub start: Vec<u32>,
    /// Indices.
    pub idx: Vec<u32>,
}

impl Lists {
    /// The list of column `c`.
    pub fn of(&self, c: usize) -> &[u32] {
        &self.idx[self.start[c] as usize..self.start[c + 1] as usize]
    }

    /// Number of lists.
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// Whether there are no lists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries over all lists.
    pub fn entries(&self) -> usize {
        self.idx.len()
    }

    /// The lists by index: for each `r < k`, the lists containing `r`, in increasing
    /// order (a counting sort over the entries, no pass over the dense matrix).
    pub fn transpose(&self, k: usize) -> Lists {
        let mut start = vec![0u32; k + 1];
        for &r in &self.idx {
            start[r as usize + 1] += 1;
        }
        for r in 0..k {
            start[r + 1] += start[r];
        }
        let mut idx = vec![0u32; self.idx.len()];
        let mut fill = start.clone();
        for c in 0..self.len() {
            for &r in self.of(c) {
                idx[fill[r as usize] as usize] = c as u32;
                fill[r as usize] += 1;
            }
        }
        Lists { start, idx }
    }
}

/// Per column of `x` (`k × m`, column-major): the rows that are non-zero.
pub fn active_rows<F: Real>(x: &[F], k: usize, m: usize) -> Lists {
    let mut l = Lists { start: Vec::with_capacity(m + 1), idx: Vec::new() };
    l.start.push(0);
    for col in x.chunks_exact(k.max(1)).take(m) {
        // Branch-free: write every row index, advance past the non-zero ones (spikes are
        // random, so a branch per element would mispredict often).
        let len = l.idx.len();
        l.idx.resize(len + k, 0);
        let buf = &mut l.idx[len..];
        let mut w = 0;
        for (r, &v) in col.iter().enumerate() {
            buf[w] = r as u32;
            w += (v != F::zero()) as usize;
        }
        l.idx.truncate(len + w);
        l.start.push(l.idx.len() as u32);
    }
    l
}

/// Per row of `x` (`k × m`, column-major): the columns where it is non-zero, in
/// increasing order.
pub fn active_cols<F: Real>(x: &[F], k: usize, m: usize) -> Lists {
    active_rows(x, k, m).transpose(k)
}

/// `out[:, c] += Σ_{i ∈ lists.of(c)} src[:, i]`, every column `n` long (column-major).
///
/// Each output element adds its list in list order whatever the instruction set, so the
/// result is the same bit for bit on every machine (and equals [`gather_rows_scalar`]).
pub fn gather_columns<F: Real>(src: &[F], n: usize, lists: &Lists, out: &mut [F]) {
    F::gather_columns(src, n, lists, out);
}

/// The plain loop over rows `rows` of every column: the reference, the f64 kernel and
/// the tail of the f32 one.
pub fn gather_rows_scalar<T: Copy + std::ops::AddAssign>(
    src: &[T],
    n: usize,
    lists: &Lists,
    out: &mut [T],
    rows: std::ops::Range<usize>,
) {
    for (c, oc) in out.chunks_exact_mut(n).enumerate().take(lists.len()) {
        let acc = &mut oc[rows.clone()];
        let len = acc.len();
        for &i in lists.of(c) {
            let base = i as usize * n + rows.start;
            for (a, &s) in acc.iter_mut().zip(&src[base..base + len]) {
                *a += s;
            }
        }
    }
}

/// Vectors per register tile: the tile's accumulators stay in registers while a whole
/// list streams by (8 × 16 rows with AVX-512, 8 × 8 with AVX2; measured: 8 vectors
/// beat 4 by about 13 % of the training time on mlp-fmnist).
const TILE_VECTORS: usize = 8;

/// The f32 kernel for one instruction set, as a `pulp` operation.
pub struct GatherF32<'a> {
    /// Source columns, `n` rows each.
    pub src: &'a [f32],
    /// Rows per column.
    pub n: usize,
    /// Per output column, the source columns to add.
    pub lists: &'a Lists,
    /// Output columns, `n` rows each.
    pub out: &'a mut [f32],
}

impl pulp::WithSimd for GatherF32<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let GatherF32 { src, n, lists, out } = self;
        let mut r0 = 0;
        while r0 + TILE_VECTORS * S::F32_LANES <= n {
            gather_tile::<S, TILE_VECTORS>(simd, src, n, lists, out, r0);
            r0 += TILE_VECTORS * S::F32_LANES;
        }
        while r0 + S::F32_LANES <= n {
            gather_tile::<S, 1>(simd, src, n, lists, out, r0);
            r0 += S::F32_LANES;
        }
        if r0 < n {
            gather_partial(simd, src, n, lists, out, r0);
        }
    }
}

/// Rows `r0..n`, fewer than one vector, with partial (masked) loads and stores.
#[inline(always)]
fn gather_partial<S: pulp::Simd>(simd: S, src: &[f32], n: usize, lists: &Lists, out: &mut [f32], r0: usize) {
    let rows = n - r0;
    for (c, oc) in out.chunks_exact_mut(n).enumerate().take(lists.len()) {
        let mut a = simd.partial_load_f32s(&oc[r0..n]);
        for &i in lists.of(c) {
            let base = i as usize * n + r0;
            a = simd.add_f32s(a, simd.partial_load_f32s(&src[base..base + rows]));
        }
        simd.partial_store_f32s(&mut oc[r0..n], a);
    }
}

/// Rows `r0..r0 + V · lanes` of every output column, `V` vectors held in registers.
#[inline(always)]
fn gather_tile<S: pulp::Simd, const V: usize>(
    simd: S,
    src: &[f32],
    n: usize,
    lists: &Lists,
    out: &mut [f32],
    r0: usize,
) {
    let rows = V * S::F32_LANES;
    for (c, oc) in out.chunks_exact_mut(n).enumerate().take(lists.len()) {
        let (acc, _) = S::as_mut_simd_f32s(&mut oc[r0..r0 + rows]);
        let mut a: [S::f32s; V] = std::array::from_fn(|q| acc[q]);
        for &i in lists.of(c) {
            let base = i as usize * n + r0;
            let (s, _) = S::as_simd_f32s(&src[base..base + rows]);
            for (aq, &sq) in a.iter_mut().zip(s) {
                *aq = simd.add_f32s(*aq, sq);
            }
        }
        acc[..V].copy_from_slice(&a);
    }
}
