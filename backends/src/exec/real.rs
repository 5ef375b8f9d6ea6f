//! The float type the executor computes in: f32 for training, f64 for gradient checks.

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

/// The accumulate-only kernel of binary inputs: `acc[r] += Σ_{i ∈ list} src[i·n + r0 + r]`
/// for `r < acc.len()` — adding the columns `list` of a column-major matrix with `n` rows,
/// restricted to rows `r0..r0 + acc.len()`.
pub trait GatherAdd: Sized {
    /// See the trait.
    fn gather_add(acc: &mut [Self], src: &[Self], n: usize, r0: usize, list: &[u32]);
}

fn gather_add_scalar<T: Copy + std::ops::AddAssign>(
    acc: &mut [T],
    src: &[T],
    n: usize,
    r0: usize,
    list: &[u32],
) {
    let len = acc.len();
    for &i in list {
        let base = i as usize * n + r0;
        for (a, &s) in acc.iter_mut().zip(&src[base..base + len]) {
            *a += s;
        }
    }
}

impl GatherAdd for f64 {
    fn gather_add(acc: &mut [f64], src: &[f64], n: usize, r0: usize, list: &[u32]) {
        gather_add_scalar(acc, src, n, r0, list);
    }
}

/// Rows per register tile of the f32 kernel: four 8-lane vectors (eight SSE registers on
/// baseline x86-64, four AVX ones where the compiler may use them).
pub const GATHER_TILE: usize = 32;

fn lanes(s: &[f32]) -> wide::f32x8 {
    let mut a = [0.0f32; 8];
    a.copy_from_slice(s);
    wide::f32x8::from(a)
}

impl GatherAdd for f32 {
    fn gather_add(acc: &mut [f32], src: &[f32], n: usize, r0: usize, list: &[u32]) {
        if acc.len() != GATHER_TILE {
            return gather_add_scalar(acc, src, n, r0, list);
        }
        // The four accumulators stay in registers over the whole list.
        let mut a = [lanes(&acc[0..8]), lanes(&acc[8..16]), lanes(&acc[16..24]), lanes(&acc[24..32])];
        for &i in list {
            let base = i as usize * n + r0;
            let s = &src[base..base + GATHER_TILE];
            a[0] += lanes(&s[0..8]);
            a[1] += lanes(&s[8..16]);
            a[2] += lanes(&s[16..24]);
            a[3] += lanes(&s[24..32]);
        }
        for (q, v) in a.iter().enumerate() {
            acc[q * 8..q * 8 + 8].copy_from_slice(&v.to_array());
        }
    }
}
