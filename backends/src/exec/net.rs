//! Forward and backward pass of the whole network over one chunk of samples.

use nalgebra::DMatrix;
use spikepipe_ir::{Loss, Network};

use super::layers::LayerPlan;
use super::{ExecError, Real};

/// The network ready to compute.
#[derive(Debug, Clone)]
pub struct NetPlan<F> {
    /// Weight layers.
    pub layers: Vec<LayerPlan<F>>,
    /// Time steps T.
    pub steps: usize,
    /// Loss on the last layer.
    pub loss: Loss,
    /// Detach the reset path in the backward (default true).
    pub detach_reset: bool,
    /// Replace H by the surrogate primitive (gradient checks).
    pub smooth: bool,
    /// Use the sparse (binary-input) kernels where the input is binary.
    pub sparse: bool,
    /// Number of classes (elements of the last layer's output).
    pub classes: usize,
}

impl<F: Real> NetPlan<F> {
    /// Plans `net`; `binary_input`: the first layer receives 0/1 spikes (rate encoding).
    pub fn new(net: &Network, loss: Loss, binary_input: bool) -> Result<Self, ExecError> {
        Self::with_bias(net, loss, binary_input, false)
    }

    /// Like [`new`](Self::new); `bias`: every weight layer has a bias (weights `N × (K+1)`).
    pub fn with_bias(net: &Network, loss: Loss, binary_input: bool, bias: bool) -> Result<Self, ExecError> {
        if net.layers.is_empty() {
            return Err(ExecError::Unsupported {
                layer: 0,
                reason: "the network has no weight layers".into(),
            });
        }
        let mut layers = Vec::with_capacity(net.layers.len());
        let mut binary = binary_input;
        let mut prev_elems: u64 = net.input.iter().product();
        for (i, l) in net.layers.iter().enumerate() {
            if l.op.input_elements() != prev_elems {
                return Err(ExecError::Unsupported {
                    layer: l.index,
                    reason: format!(
                        "layer expects {} input elements, the previous stage gives {prev_elems}",
                        l.op.input_elements()
                    ),
                });
            }
            let mut plan = LayerPlan::new(l, binary, i == 0)?;
            plan.bias = bias;
            binary = plan.binary_output();
            prev_elems = l.output_elements();
            layers.push(plan);
        }
        let last = layers.last().expect("non-empty");
        if loss == Loss::MembraneCe && last.pool.is_some() {
            return Err(ExecError::Unsupported {
                layer: last.index,
                reason: "membrane_ce loss needs an unpooled last layer".into(),
            });
        }
        let classes = last.pooled_elems;
        Ok(NetPlan {
            layers,
            steps: net.timesteps.max(1) as usize,
            loss,
            detach_reset: true,
            smooth: false,
            sparse: true,
            classes,
        })
    }

    fn use_sparse(&self, l: usize) -> bool {
        self.sparse && !self.smooth && self.layers[l].binary_input
    }
}

/// What the forward pass keeps for the backward.
struct Saved<F> {
    x: DMatrix<F>,
    v: DMatrix<F>,
    s: DMatrix<F>,
    arg: Vec<u32>,
}

/// Result of one chunk.
#[derive(Debug, Clone)]
pub struct ChunkResult<F> {
    /// Sum of the per-sample losses.
    pub loss: f64,
    /// Correct predictions.
    pub correct: usize,
    /// Samples whose last layer emitted no spike at any step.
    pub silent: usize,
    /// Spikes emitted per layer (before pooling), summed over neurons, steps and samples.
    pub spikes: Vec<f64>,
    /// Gradient of (loss sum × `scale`) per layer (`N × cols`); empty for forward-only runs.
    pub grads: Vec<DMatrix<F>>,
}

/// Logits (`classes × b`) from the last layer's output or membrane.
fn logits<F: Real>(plan: &NetPlan<F>, out: &DMatrix<F>, v_last: &DMatrix<F>, b: usize) -> Vec<Vec<f64>> {
    let src = if plan.loss == Loss::MembraneCe { v_last } else { out };
    let c = plan.classes;
    let mut z = vec![vec![0.0f64; c]; b];
    for t in 0..plan.steps {
        for (j, zj) in z.iter_mut().enumerate() {
            let col = &src.as_slice()[(t * b + j) * c..(t * b + j + 1) * c];
            for (a, &x) in zj.iter_mut().zip(col) {
                *a += x.to_f64();
            }
        }
    }
    z
}

/// Samples (of `b`, columns `t·b + j` of `out`) without a single non-zero output.
fn silent_samples<F: Real>(out: &DMatrix<F>, c: usize, b: usize) -> usize {
    let mut fired = vec![false; b];
    for (col, x) in out.as_slice().chunks_exact(c).enumerate() {
        if x.iter().any(|&v| v != F::zero()) {
            fired[col % b] = true;
        }
    }
    fired.iter().filter(|&&f| !f).count()
}

fn argmax(z: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in z.iter().enumerate() {
        if x > z[best] {
            best = i;
        }
    }
    best
}

/// Forward (and with `weights_t`, backward) pass of one chunk of `b` samples.
///
/// - `x0`: encoded input, `in × (T·b)`;
/// - `w_fwd[l]`: the weights the forward pass of layer l reads (`N × cols`, the bias last);
/// - `wt_grad[l]`: `Wᵀ` (`K × N`, no bias) of the version the input-gradient pass of layer l reads
///   (`None` for layer 1); `None` altogether: forward only (evaluation);
/// - `scale`: factor of the loss gradient (1 / batch size).
pub fn run_chunk<F: Real>(
    plan: &NetPlan<F>,
    w_fwd: &[&DMatrix<F>],
    wt_grad: Option<&[Option<&DMatrix<F>>]>,
    x0: DMatrix<F>,
    labels: &[u8],
    scale: F,
) -> ChunkResult<F> {
    let b = labels.len();
    let train = wt_grad.is_some();
    let mut saved: Vec<Saved<F>> = Vec::with_capacity(plan.layers.len());
    let mut spikes = Vec::with_capacity(plan.layers.len());
    let mut x = x0;
    for (l, lp) in plan.layers.iter().enumerate() {
        let y = lp.forward(w_fwd[l], &x, plan.use_sparse(l));
        let m = y.ncols();
        let mut v = DMatrix::<F>::zeros(lp.out_elems, m);
        let mut s = DMatrix::<F>::zeros(lp.out_elems, m);
        lp.neuron.forward(y.as_slice(), v.as_mut_slice(), s.as_mut_slice(), lp.out_elems * b, plan.smooth);
        drop(y);
        spikes.push(s.as_slice().iter().map(|v| v.to_f64()).sum::<f64>());
        let (pooled, arg) = lp.pool_forward(s.clone());
        let next = pooled;
        if train || l + 1 == plan.layers.len() {
            saved.push(Saved { x, v, s, arg });
        } else {
            saved.push(Saved {
                x: DMatrix::zeros(0, 0),
                v: DMatrix::zeros(0, 0),
                s: DMatrix::zeros(0, 0),
                arg,
            });
        }
        x = next;
    }
    let out = x;
    let last = saved.last().expect("non-empty");
    let z = logits(plan, &out, &last.v, b);
    let mut loss = 0.0;
    let mut correct = 0;
    let silent = silent_samples(&out, plan.classes, b);
    let mut dz = vec![vec![0.0f64; plan.classes]; b];
    for (j, zj) in z.iter().enumerate() {
        let label = labels[j] as usize;
        let mx = zj.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = zj.iter().map(|&x| (x - mx).exp()).sum();
        let lse = mx + sum.ln();
        loss += lse - zj.get(label).copied().unwrap_or(0.0);
        if argmax(zj) == label {
            correct += 1;
        }
        for (c, d) in dz[j].iter_mut().enumerate() {
            *d = (zj[c] - lse).exp() - if c == label { 1.0 } else { 0.0 };
        }
    }
    let Some(wt_grad) = wt_grad else {
        return ChunkResult { loss, correct, silent, spikes, grads: Vec::new() };
    };

    // Backward.
    let c = plan.classes;
    let m = plan.steps * b;
    let mut g = DMatrix::<F>::zeros(c, m);
    for t in 0..plan.steps {
        for (j, dzj) in dz.iter().enumerate() {
            let col = &mut g.as_mut_slice()[(t * b + j) * c..(t * b + j + 1) * c];
            for (a, &d) in col.iter_mut().zip(dzj) {
                *a = F::f(d) * scale;
            }
        }
    }
    let mut grads: Vec<DMatrix<F>> = Vec::with_capacity(plan.layers.len());
    let nl = plan.layers.len();
    for l in (0..nl).rev() {
        let lp = &plan.layers[l];
        let sv = &saved[l];
        let (gs, gv) = if l + 1 == nl && plan.loss == Loss::MembraneCe {
            (DMatrix::<F>::zeros(lp.out_elems, m), Some(g))
        } else {
            (lp.pool_backward(g, &sv.arg), None)
        };
        let mut delta = DMatrix::<F>::zeros(lp.out_elems, m);
        lp.neuron.backward(
            sv.v.as_slice(),
            sv.s.as_slice(),
            gs.as_slice(),
            gv.as_ref().map(|g| g.as_slice()),
            delta.as_mut_slice(),
            lp.out_elems * b,
            plan.detach_reset,
        );
        let mut gw = DMatrix::<F>::zeros(lp.n, lp.cols());
        lp.weight_grad(&delta, &sv.x, plan.use_sparse(l), &mut gw);
        grads.push(gw);
        g = match (lp.input_grad, wt_grad[l]) {
            (true, Some(wt)) => lp.input_grad(wt, &delta),
            _ => DMatrix::zeros(0, 0),
        };
    }
    grads.reverse();
    ChunkResult { loss, correct, silent, spikes, grads }
}
