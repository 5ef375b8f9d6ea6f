//! The accumulate-only spike kernels give the dense GEMM's numbers.

use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikepipe_backends::exec::layers::LayerPlan;
use spikepipe_backends::exec::spikes::{active_cols, active_rows, gather_columns};
use spikepipe_backends::exec::Real;
use spikepipe_ir::{LayerOp, NeuronKind, NeuronSpec, Reset, Surrogate, WeightLayer};

fn layer(k: u64, n: u64) -> WeightLayer {
    WeightLayer {
        index: 2,
        op: LayerOp::Linear { in_features: k, out_features: n },
        neuron: NeuronSpec {
            kind: NeuronKind::Lif,
            alpha: None,
            beta: 0.9,
            threshold: 1.0,
            reset: Reset::Subtract,
            surrogate: Surrogate::default(),
        },
        pool: None,
        output_shape: vec![n],
    }
}

fn random<F: Real>(rows: usize, cols: usize, density: Option<f64>, rng: &mut ChaCha8Rng) -> DMatrix<F> {
    DMatrix::from_fn(rows, cols, |_, _| match density {
        Some(d) => F::f(if rng.random::<f64>() < d { 1.0 } else { 0.0 }),
        None => F::f(rng.random_range(-1.0..1.0)),
    })
}

fn close<F: Real>(a: &DMatrix<F>, b: &DMatrix<F>, tol: f64) {
    assert_eq!(a.shape(), b.shape());
    for (x, y) in a.iter().zip(b.iter()) {
        let (x, y) = (x.to_f64(), y.to_f64());
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{x} vs {y}");
    }
}

fn sparse_equals_dense<F: Real>(tol: f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    // Row counts around the 32-row register tile (partial tiles, one tile, several).
    for (k, n, m) in [(70, 45, 33), (64, 32, 16), (200, 100, 50), (17, 5, 3)] {
        let mut lp = LayerPlan::<F>::new(&layer(k, n), true, false).expect("plan");
        for density in [0.0, 0.03, 0.2, 0.45] {
            for bias in [false, true] {
                lp.bias = bias;
                let w = random::<F>(n as usize, lp.cols(), None, &mut rng);
                let x = random::<F>(k as usize, m, Some(density), &mut rng);
                close(&lp.forward(&w, &x, true), &lp.forward(&w, &x, false), tol);
                let delta = random::<F>(n as usize, m, None, &mut rng);
                let mut gs = random::<F>(n as usize, lp.cols(), None, &mut rng);
                let mut gd = gs.clone();
                lp.weight_grad(&delta, &x, true, &mut gs);
                lp.weight_grad(&delta, &x, false, &mut gd);
                close(&gs, &gd, tol);
            }
        }
    }
}

#[test]
fn spike_kernels_equal_dense_f32() {
    sparse_equals_dense::<f32>(1e-4);
}

#[test]
fn spike_kernels_equal_dense_f64() {
    sparse_equals_dense::<f64>(1e-12);
}

#[test]
fn active_lists_by_column_and_by_row() {
    // x (3 × 2): column 0 = [1, 0, 1], column 1 = [0, 0, 1].
    let x = [1.0f32, 0.0, 1.0, 0.0, 0.0, 1.0];
    let by_col = active_rows(&x, 3, 2);
    assert_eq!((by_col.of(0), by_col.of(1)), (&[0u32, 2][..], &[2u32][..]));
    let by_row = active_cols(&x, 3, 2);
    assert_eq!((by_row.of(0), by_row.of(1), by_row.of(2)), (&[0u32][..], &[][..], &[0u32, 1][..]));
    // out[:, c] += Σ src[:, i]: src columns (2 rows) [1, 2], [10, 20], [100, 200].
    let src = [1.0f32, 2.0, 10.0, 20.0, 100.0, 200.0];
    let mut out = [0.5f32; 4];
    gather_columns(&src, 2, &by_col, &mut out);
    assert_eq!(out, [101.5, 202.5, 100.5, 200.5]);
}

/// The dispatched f32 kernel (AVX-512, AVX2 or scalar, whatever this machine has) adds
/// in the same order as the plain loop, so it matches it bit for bit, on every row count
/// around the vector and tile widths (8, 16, 32, 64 rows).
#[test]
fn simd_gather_equals_scalar_bit_for_bit() {
    use spikepipe_backends::exec::spikes::gather_rows_scalar;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for n in (1..=70).chain([127, 128, 129, 500]) {
        let (k, m) = (37, 9);
        let x = random::<f32>(k, m, Some(0.3), &mut rng);
        let lists = active_rows(x.as_slice(), k, m);
        let src: Vec<f32> = (0..n * k).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let init: Vec<f32> = (0..n * m).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        let (mut fast, mut plain) = (init.clone(), init);
        gather_columns(&src, n, &lists, &mut fast);
        gather_rows_scalar(&src, n, &lists, &mut plain, 0..n);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&fast), bits(&plain), "n = {n}");
    }
}

#[test]
fn transposed_lists_are_the_dense_scan() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (k, m) = (23, 41);
    let x = random::<f32>(k, m, Some(0.2), &mut rng);
    let by_row = active_cols(x.as_slice(), k, m);
    for r in 0..k {
        let dense: Vec<u32> = (0..m).filter(|&c| x[(r, c)] != 0.0).map(|c| c as u32).collect();
        assert_eq!(by_row.of(r), &dense[..], "row {r}");
    }
}
