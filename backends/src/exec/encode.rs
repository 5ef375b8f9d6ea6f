//! Input spike encoding and the random streams every draw comes from.
//!
//! Every random draw of a run comes from a ChaCha8 stream derived from (seed, purpose,
//! three coordinates such as epoch, batch and chunk): no generator state is carried from
//! one draw to the next, so a resumed run or a run on another thread count draws the
//! same numbers.

use nalgebra::DMatrix;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikepipe_ir::Encoding;

use super::data::Split;
use super::Real;

/// Stream purpose: weight initialisation.
pub(crate) const RNG_INIT: u64 = 1;
/// Stream purpose: shuffling an epoch.
pub(crate) const RNG_SHUFFLE: u64 = 2;
/// Stream purpose: input spikes of a training chunk.
pub(crate) const RNG_TRAIN: u64 = 3;
/// Stream purpose: input spikes of a test chunk.
pub(crate) const RNG_TEST: u64 = 4;
/// Stream purpose: input spikes of the initialisation's calibration batch.
pub(crate) const RNG_CALIBRATE: u64 = 5;

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The stream of (`seed`, `purpose`, `a`, `b`, `c`).
pub(crate) fn rng_for(seed: u64, purpose: u64, a: u64, b: u64, c: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed ^ mix(purpose)));
    rng.set_stream(mix(a ^ mix(b ^ mix(c))));
    rng
}

/// Encodes samples `idx` of `split` as the first layer's input, `features × (T·b)`.
pub fn encode<F: Real>(
    split: &Split,
    idx: &[usize],
    steps: usize,
    encoding: Encoding,
    rng: &mut ChaCha8Rng,
) -> DMatrix<F> {
    let b = idx.len();
    let k = split.features;
    let mut x = DMatrix::<F>::zeros(k, steps * b);
    let xs = x.as_mut_slice();
    // Rate coding draws u = next_u32() per input and step and fires if
    // `(u >> 8) · 2⁻²⁴ < p` — exactly `rng.random::<f32>() < p` — written as the integer
    // test `(u >> 8) < ⌈p · 2²⁴⌉` (exact: scaling by 2²⁴ is exact in f32) without a branch.
    let thresholds: Vec<u32> = match encoding {
        Encoding::Rate => idx
            .iter()
            .flat_map(|&i| split.sample(i).iter().map(|&p| (p.clamp(0.0, 1.0) * 16_777_216.0).ceil() as u32))
            .collect(),
        Encoding::Current => Vec::new(),
    };
    let (zero, one) = (F::zero(), F::one());
    for t in 0..steps {
        for (j, &i) in idx.iter().enumerate() {
            let p = split.sample(i);
            let col = &mut xs[(t * b + j) * k..(t * b + j + 1) * k];
            match encoding {
                Encoding::Rate => {
                    for (a, &thr) in col.iter_mut().zip(&thresholds[j * k..(j + 1) * k]) {
                        *a = if (rng.next_u32() >> 8) < thr { one } else { zero };
                    }
                }
                Encoding::Current => {
                    for (a, &pv) in col.iter_mut().zip(p) {
                        *a = F::f(pv as f64);
                    }
                }
            }
        }
    }
    x
}
