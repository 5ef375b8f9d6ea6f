//! The float type the executor computes in: f32 for training, f64 for gradient checks.

use super::spikes::{gather_rows_scalar, GatherF32, Lists};

/// Floating-point type of the executor (f32 for training, f64 for gradient checks).
pub trait Real: nalgebra::RealField + GatherAdd + Copy + Send + Sync + 'static {
    /// Name in checkpoints.
    const DTYPE: &'static str;
    /// Bytes per value.
    const BYTES: usize;
    /// From f64.
    fn f(x: f64) -> Self;
    /// To f64.
    fn to_f64(self) -> f64;
    /// Appends the little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads from `BYTES` little-endian bytes.
    fn read_le(b: &[u8]) -> Self;
}

impl Real for f32 {
    const DTYPE: &'static str = "f32";
    const BYTES: usize = 4;
    fn f(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "f64";
    const BYTES: usize = 8;
    fn f(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(b: &[u8]) -> Self {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        f64::from_le_bytes(a)
    }
}

/// The accumulate-only kernel of binary inputs, per float type: see
/// [`spikes::gather_columns`](super::spikes::gather_columns).
pub trait GatherAdd: Sized {
    /// `out[:, c] += Σ_{i ∈ lists.of(c)} src[:, i]`, every column `n` long (column-major).
    fn gather_columns(src: &[Self], n: usize, lists: &Lists, out: &mut [Self]);
}

impl GatherAdd for f64 {
    fn gather_columns(src: &[f64], n: usize, lists: &Lists, out: &mut [f64]) {
        gather_rows_scalar(src, n, lists, out, 0..n);
    }
}

impl GatherAdd for f32 {
    fn gather_columns(src: &[f32], n: usize, lists: &Lists, out: &mut [f32]) {
        // Picks AVX-512, AVX2 or scalar code at run time (safe `pulp` dispatch).
        pulp::Arch::new().dispatch(GatherF32 { src, n, lists, out });
    }
}
