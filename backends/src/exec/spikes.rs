//! Accumulate-only kernels for binary spike inputs.
//!
//! A layer whose input is 0/1 spikes needs no multiplications: `y = W x` is the sum of
//! the weight columns whose input spiked, and `∇W += Δ xᵀ` adds each error column to the
//! gradient columns of the inputs that spiked. At the firing rates training sees
//! (6–30 %) that is 3–15× less work than a dense GEMM. Both are one primitive,
//! `out[:, c] (+)= Σ_{i ∈ list(c)} src[:, i]`, computed in register tiles of
//! [`GATHER_TILE`] rows so each output tile stays in registers while its list streams by.

use super::real::GATHER_TILE;
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
}

/// Per column of `x` (`k × m`, column-major): the rows that are non-zero.
pub fn active_rows<F: Real>(x: &[F], k: usize, m: usize) -> Lists {
    let mut l = Lists { start: Vec::with_capacity(m + 1), idx: Vec::new() };
    l.start.push(0);
    for col in x.chunks_exact(k.max(1)).take(m) {
        l.idx.extend(col.iter().enumerate().filter(|(_, &v)| v != F::zero()).map(|(r, _)| r as u32));
        l.start.push(l.idx.len() as u32);
    }
    l
}

/// Per row of `x` (`k × m`, column-major): the columns where it is non-zero.
pub fn active_cols<F: Real>(x: &[F], k: usize, m: usize) -> Lists {
    let mut counts = vec![0u32; k + 1];
    for col in x.chunks_exact(k.max(1)).take(m) {
        for (r, &v) in col.iter().enumerate() {
            if v != F::zero() {
                counts[r + 1] += 1;
            }
        }
    }
    for r in 0..k {
        counts[r + 1] += counts[r];
    }
    let mut idx = vec![0u32; counts[k] as usize];
    let mut fill = counts.clone();
    for (c, col) in x.chunks_exact(k.max(1)).take(m).enumerate() {
        for (r, &v) in col.iter().enumerate() {
            if v != F::zero() {
                idx[fill[r] as usize] = c as u32;
                fill[r] += 1;
            }
        }
    }
    Lists { start: counts, idx }
}

/// `out[:, c] += Σ_{i ∈ lists.of(c)} src[:, i]`, every column `n` long (column-major).
pub fn gather_columns<F: Real>(src: &[F], n: usize, lists: &Lists, out: &mut [F]) {
    let mut acc = [F::zero(); GATHER_TILE];
    for r0 in (0..n).step_by(GATHER_TILE) {
        let len = GATHER_TILE.min(n - r0);
        for (c, oc) in out.chunks_exact_mut(n).enumerate().take(lists.len()) {
            let a = &mut acc[..len];
            a.copy_from_slice(&oc[r0..r0 + len]);
            F::gather_add(a, src, n, r0, lists.of(c));
            oc[r0..r0 + len].copy_from_slice(a);
        }
    }
}
