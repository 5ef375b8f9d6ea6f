//! Analytic BPTT gradients against central finite differences of the same smooth model
//! (H replaced by the surrogate's primitive, reset path not detached), in f64; every
//! network with and without a bias (the bias is the last weight column).

use nalgebra::DMatrix;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use spikepipe_backends::exec::{run_chunk, NetPlan};
use spikepipe_ir::{
    LayerOp, Loss, Network, NeuronKind, NeuronSpec, Pool, PoolKind, Reset, Surrogate, SurrogateKind,
    WeightLayer,
};

fn neuron(kind: NeuronKind, reset: Reset, sur: SurrogateKind) -> NeuronSpec {
    let slope = if sur == SurrogateKind::Triangle { 0.5 } else { 2.0 };
    NeuronSpec {
        kind,
        alpha: Some(0.7),
        beta: 0.6,
        threshold: 0.3,
        reset,
        surrogate: Surrogate { kind: sur, slope },
    }
}

fn linear(index: u32, i: u64, o: u64, n: NeuronSpec) -> WeightLayer {
    WeightLayer {
        index,
        op: LayerOp::Linear { in_features: i, out_features: o },
        neuron: n,
        pool: None,
        output_shape: vec![o],
    }
}

fn check(net: &Network, loss: Loss, seed: u64) {
    check_one(net, loss, seed, false);
    check_one(net, loss, seed, true);
}

fn check_one(net: &Network, loss: Loss, seed: u64, bias: bool) {
    let mut plan = NetPlan::<f64>::with_bias(net, loss, false, bias).expect("plan");
    plan.smooth = true;
    plan.detach_reset = false;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut w: Vec<DMatrix<f64>> = plan
        .layers
        .iter()
        .map(|l| DMatrix::from_fn(l.n, l.cols(), |_, _| rng.random_range(-1.0..1.0)))
        .collect();
    assert_eq!(w[0].ncols(), plan.layers[0].k + bias as usize);
    let b = 3;
    let steps = plan.steps;
    let k0 = plan.layers[0].in_elems;
    let x0 = DMatrix::from_fn(k0, steps * b, |_, _| rng.random_range(0.0..1.0));
    let labels: Vec<u8> = (0..b).map(|j| (j % plan.classes) as u8).collect();

    let loss_of = |w: &[DMatrix<f64>]| {
        let refs: Vec<&DMatrix<f64>> = w.iter().collect();
        run_chunk(&plan, &refs, None, x0.clone(), &labels, 1.0).loss
    };
    let refs: Vec<&DMatrix<f64>> = w.iter().collect();
    let wts: Vec<DMatrix<f64>> =
        w.iter().zip(&plan.layers).map(|(m, l)| m.columns(0, l.k).transpose()).collect();
    let wt_refs: Vec<Option<&DMatrix<f64>>> =
        wts.iter().enumerate().map(|(i, m)| (i > 0).then_some(m)).collect();
    let res = run_chunk(&plan, &refs, Some(&wt_refs), x0.clone(), &labels, 1.0);
    let gmax = res.grads.iter().flat_map(|g| g.iter()).fold(0.0f64, |a, &b| a.max(b.abs()));
    assert!(gmax > 1e-6, "gradients vanish: {gmax}");
    let eps = 1e-6;
    let mut checked = 0;
    for l in 0..w.len() {
        for idx in 0..w[l].len() {
            let orig = w[l].as_slice()[idx];
            w[l].as_mut_slice()[idx] = orig + eps;
            let lp = loss_of(&w);
            w[l].as_mut_slice()[idx] = orig - eps;
            let lm = loss_of(&w);
            w[l].as_mut_slice()[idx] = orig;
            let num = (lp - lm) / (2.0 * eps);
            let ana = res.grads[l].as_slice()[idx];
            let tol = 1e-4 * ana.abs().max(num.abs()) + 1e-8 * gmax;
            assert!(
                (ana - num).abs() <= tol,
                "layer {} weight {idx}: analytic {ana:e} vs numeric {num:e} (tol {tol:e})",
                l + 1
            );
            checked += 1;
        }
    }
    assert!(checked > 10);
}

#[test]
fn gradcheck_linear_lif_then_iir2() {
    let net = Network {
        input: vec![6],
        timesteps: 4,
        batch: 3,
        layers: vec![
            linear(1, 6, 5, neuron(NeuronKind::Lif, Reset::Subtract, SurrogateKind::FastSigmoid)),
            linear(2, 5, 3, neuron(NeuronKind::Iir2, Reset::Subtract, SurrogateKind::FastSigmoid)),
        ],
    };
    check(&net, Loss::SpikeCountCe, 1);
    check(&net, Loss::MembraneCe, 2);
}

#[test]
fn gradcheck_linear_iir2_then_lif_zero_reset_triangle() {
    let net = Network {
        input: vec![6],
        timesteps: 4,
        batch: 3,
        layers: vec![
            linear(1, 6, 5, neuron(NeuronKind::Iir2, Reset::Zero, SurrogateKind::Triangle)),
            linear(2, 5, 3, neuron(NeuronKind::Lif, Reset::Zero, SurrogateKind::Triangle)),
        ],
    };
    check(&net, Loss::SpikeCountCe, 3);
}

fn conv_net(pool: PoolKind, first: NeuronSpec, second: NeuronSpec) -> Network {
    // [2,5,5] → conv 3ch k3 s1 p1 → [3,5,5] → pool 2 → [3,2,2] → flatten → linear 3.
    Network {
        input: vec![2, 5, 5],
        timesteps: 4,
        batch: 3,
        layers: vec![
            WeightLayer {
                index: 1,
                op: LayerOp::Conv2d {
                    in_channels: 2,
                    in_h: 5,
                    in_w: 5,
                    out_channels: 3,
                    kernel: 3,
                    stride: 1,
                    padding: 1,
                    out_h: 5,
                    out_w: 5,
                },
                neuron: first,
                pool: Some(Pool { kind: pool, kernel: 2 }),
                output_shape: vec![12],
            },
            linear(2, 12, 3, second),
        ],
    }
}

#[test]
fn gradcheck_conv_avgpool() {
    let net = conv_net(
        PoolKind::Avg,
        neuron(NeuronKind::Iir2, Reset::Subtract, SurrogateKind::FastSigmoid),
        neuron(NeuronKind::Lif, Reset::Subtract, SurrogateKind::FastSigmoid),
    );
    check(&net, Loss::SpikeCountCe, 4);
}

#[test]
fn gradcheck_conv_maxpool_strided_conv_second() {
    let net = conv_net(
        PoolKind::Max,
        neuron(NeuronKind::Lif, Reset::Zero, SurrogateKind::FastSigmoid),
        neuron(NeuronKind::Iir2, Reset::Subtract, SurrogateKind::Triangle),
    );
    check(&net, Loss::SpikeCountCe, 5);
    // Two convolutions (the second one strided, with an input gradient through im2col).
    let net2 = Network {
        input: vec![1, 6, 6],
        timesteps: 4,
        batch: 3,
        layers: vec![
            WeightLayer {
                index: 1,
                op: LayerOp::Conv2d {
                    in_channels: 1,
                    in_h: 6,
                    in_w: 6,
                    out_channels: 2,
                    kernel: 3,
                    stride: 1,
                    padding: 0,
                    out_h: 4,
                    out_w: 4,
                },
                neuron: neuron(NeuronKind::Iir2, Reset::Subtract, SurrogateKind::FastSigmoid),
                pool: None,
                output_shape: vec![2, 4, 4],
            },
            WeightLayer {
                index: 2,
                op: LayerOp::Conv2d {
                    in_channels: 2,
                    in_h: 4,
                    in_w: 4,
                    out_channels: 3,
                    kernel: 2,
                    stride: 2,
                    padding: 0,
                    out_h: 2,
                    out_w: 2,
                },
                neuron: neuron(NeuronKind::Lif, Reset::Subtract, SurrogateKind::FastSigmoid),
                pool: Some(Pool { kind: PoolKind::Max, kernel: 2 }),
                output_shape: vec![3],
            },
        ],
    };
    check(&net2, Loss::SpikeCountCe, 6);
}
