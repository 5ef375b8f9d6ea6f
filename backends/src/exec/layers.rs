//! Synaptic operations (linear, conv2d by im2col), pooling and flatten.
//!
//! Activations of a chunk of `b` samples over `T` steps are `DMatrix` values with one
//! column per (step, sample) — column `t·b + j` — and one row per element of a sample at a
//! step, channel-major (`[C][H][W]`, which is also the flatten order). Weights are
//! `N × K` (`out × fan-in`, conv fan-in ordered `c, ky, kx`), column-major, so the weights
//! leaving input `k` are one contiguous column: a binary input column selects columns of
//! `W` to add (forward) and the weight gradient scatter-adds error columns into columns of
//! `∇W`.
//!
//! Bias: with [`LayerPlan::bias`] on, the weight matrix has one more column, `N × (K+1)`,
//! whose last column is the bias `b` (one per output channel): `y = W x + b` at every step
//! (as snnTorch's `nn.Linear` / `nn.Conv2d`). Keeping it inside the weight matrix means the
//! optimizer, the version ring (the bias has the layer's staleness) and checkpoints need no
//! special case. The bias is part of the executor's model only: DESIGN §3 writes `y = W x`
//! and the systolic cost model ignores the bias (an O(N) add per output column).

use nalgebra::{DMatrix, Dyn};
use spikepipe_ir::{LayerOp, PoolKind, WeightLayer};

use super::neuron::NeuronParams;
use super::spikes;
use super::{ExecError, Real};

/// Synaptic operation with `usize` sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `y = W x`.
    Linear {
        /// Input features K.
        k: usize,
        /// Output features N.
        n: usize,
    },
    /// Convolution.
    Conv {
        /// Input channels, height, width.
        cin: usize,
        /// Input height.
        h: usize,
        /// Input width.
        w: usize,
        /// Output channels.
        cout: usize,
        /// Kernel.
        k: usize,
        /// Stride.
        stride: usize,
        /// Padding.
        pad: usize,
        /// Output height.
        oh: usize,
        /// Output width.
        ow: usize,
    },
}

/// One weight layer, ready to compute.
#[derive(Debug, Clone)]
pub struct LayerPlan<F> {
    /// 1-based index.
    pub index: u32,
    /// Operation.
    pub op: Op,
    /// Weight rows N (out channels).
    pub n: usize,
    /// Weight columns K (fan-in).
    pub k: usize,
    /// Input elements per sample-step.
    pub in_elems: usize,
    /// Neuron elements per sample-step (before pooling).
    pub out_elems: usize,
    /// Elements handed to the next layer.
    pub pooled_elems: usize,
    /// Pooling: kind, window, and the pooled grid (channels, in h, in w, out h, out w).
    pub pool: Option<PoolPlan>,
    /// Neuron.
    pub neuron: NeuronParams<F>,
    /// Whether this layer's input is known to be binary spikes (enables the sparse path).
    pub binary_input: bool,
    /// Whether the input gradient is computed (false for layer 1).
    pub input_grad: bool,
    /// Whether the weights carry a bias column (`N × (K+1)`).
    pub bias: bool,
}

/// Pooling geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolPlan {
    /// avg or max.
    pub kind: PoolKind,
    /// Window = stride.
    pub k: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

/// Input density above which the dense GEMM beats the accumulate-only kernels of
/// [`spikes`] (measured on mlp-fmnist's layers, bench/README.md).
pub const DENSE_ABOVE: f64 = 0.5;

fn us(x: u64) -> usize {
    x as usize
}

impl<F: Real> LayerPlan<F> {
    /// Builds the plan of one IR layer. `binary_input`: the input is 0/1 spikes.
    pub fn new(layer: &WeightLayer, binary_input: bool, first: bool) -> Result<Self, ExecError> {
        let unsupported = |reason: String| ExecError::Unsupported { layer: layer.index, reason };
        let (op, n, k, in_elems, out_elems, grid) = match layer.op {
            LayerOp::Linear { in_features, out_features } => {
                let (k, n) = (us(in_features), us(out_features));
                (Op::Linear { k, n }, n, k, k, n, None)
            }
            LayerOp::Conv2d {
                in_channels,
                in_h,
                in_w,
                out_channels,
                kernel,
                stride,
                padding,
                out_h,
                out_w,
            } => {
                let (cin, h, w, cout) = (us(in_channels), us(in_h), us(in_w), us(out_channels));
                let (kk, stride, pad, oh, ow) = (us(kernel), us(stride), us(padding), us(out_h), us(out_w));
                if stride == 0 || kk == 0 || h + 2 * pad < kk || w + 2 * pad < kk {
                    return Err(unsupported(format!("impossible convolution geometry {:?}", layer.op)));
                }
                let eh = (h + 2 * pad - kk) / stride + 1;
                let ew = (w + 2 * pad - kk) / stride + 1;
                if (eh, ew) != (oh, ow) {
                    return Err(unsupported(format!(
                        "conv output {oh}x{ow} does not match the geometry (expected {eh}x{ew})"
                    )));
                }
                let op = Op::Conv { cin, h, w, cout, k: kk, stride, pad, oh, ow };
                (op, cout, cin * kk * kk, cin * h * w, cout * oh * ow, Some((cout, oh, ow)))
            }
        };
        let pool = match (layer.pool, grid) {
            (None, _) => None,
            (Some(_), None) => return Err(unsupported("pooling after a linear layer".into())),
            (Some(p), Some((c, h, w))) => {
                let pk = us(p.kernel);
                if pk == 0 || pk > h || pk > w {
                    return Err(unsupported(format!("pool window {pk} does not fit {h}x{w}")));
                }
                Some(PoolPlan { kind: p.kind, k: pk, c, h, w, oh: h / pk, ow: w / pk })
            }
        };
        let pooled_elems = pool.map_or(out_elems, |p| p.c * p.oh * p.ow);
        if pooled_elems as u64 != layer.output_elements() {
            return Err(unsupported(format!(
                "output shape {:?} has {} elements, the executor computes {pooled_elems}",
                layer.output_shape,
                layer.output_elements()
            )));
        }
        Ok(LayerPlan {
            index: layer.index,
            op,
            n,
            k,
            in_elems,
            out_elems,
            pooled_elems,
            pool,
            neuron: NeuronParams::from_spec(&layer.neuron),
            binary_input,
            input_grad: !first,
            bias: false,
        })
    }

    /// Columns of the weight matrix: fan-in K, plus 1 with a bias.
    pub fn cols(&self) -> usize {
        self.k + self.bias as usize
    }

    /// The bias of weights `w` (its last column), if the layer has one.
    pub fn bias_of<'a>(&self, w: &'a DMatrix<F>) -> Option<&'a [F]> {
        self.bias.then(|| &w.as_slice()[self.k * self.n..(self.k + 1) * self.n])
    }

    /// Adds the bias (last column of `w`) to every output of `y` (`out_elems × M`).
    fn add_bias(&self, w: &DMatrix<F>, y: &mut DMatrix<F>) {
        let Some(b) = self.bias_of(w) else { return };
        let per = self.out_elems / self.n; // output positions per channel (1 for linear)
        for col in y.as_mut_slice().chunks_exact_mut(self.out_elems) {
            for (ch, &bc) in col.chunks_exact_mut(per).zip(b) {
                for a in ch {
                    *a += bc;
                }
            }
        }
    }

    /// Adds the bias gradient (sum of `delta` over columns and positions) to the last
    /// column of `grad`.
    fn bias_grad(&self, delta: &DMatrix<F>, grad: &mut DMatrix<F>) {
        if !self.bias {
            return;
        }
        let (n, k) = (self.n, self.k);
        let per = self.out_elems / n;
        let gb = &mut grad.as_mut_slice()[k * n..(k + 1) * n];
        for col in delta.as_slice().chunks_exact(self.out_elems) {
            for (g, ch) in gb.iter_mut().zip(col.chunks_exact(per)) {
                for &d in ch {
                    *g += d;
                }
            }
        }
    }

    /// Whether this layer's output (after pooling) is binary when its spikes are.
    pub fn binary_output(&self) -> bool {
        !matches!(self.pool, Some(PoolPlan { kind: PoolKind::Avg, .. }))
    }

    /// The non-zero rows of every column of the input `x`, when the accumulate-only
    /// kernels apply: a linear layer, `sparse` (binary input, not switched off) and `x`
    /// sparse enough for them to win.
    fn spike_lists(&self, x: &DMatrix<F>, sparse: bool) -> Option<spikes::Lists> {
        if !sparse || !matches!(self.op, Op::Linear { .. }) {
            return None;
        }
        let lists = spikes::active_rows(x.as_slice(), x.nrows(), x.ncols());
        ((lists.entries() as f64) < DENSE_ABOVE * x.len() as f64).then_some(lists)
    }

    /// Synaptic input `Y` (`out_elems × M`) from `X` (`in_elems × M`) and the weights
    /// `w` (`N × cols()`).
    pub fn forward(&self, w: &DMatrix<F>, x: &DMatrix<F>, sparse: bool) -> DMatrix<F> {
        let mut y = self.forward_nobias(w, x, sparse);
        self.add_bias(w, &mut y);
        y
    }

    fn forward_nobias(&self, w: &DMatrix<F>, x: &DMatrix<F>, sparse: bool) -> DMatrix<F> {
        let m = x.ncols();
        match (self.op, self.spike_lists(x, sparse)) {
            (Op::Linear { .. }, Some(lists)) => {
                let mut y = DMatrix::<F>::zeros(self.n, m);
                spikes::gather_columns(&w.as_slice()[..self.n * self.k], self.n, &lists, y.as_mut_slice());
                y
            }
            (Op::Linear { .. }, None) => w.columns(0, self.k) * x,
            (Op::Conv { oh, ow, .. }, _) => {
                let p = oh * ow;
                let mut y = DMatrix::<F>::zeros(self.out_elems, m);
                for (col, yc) in y.as_mut_slice().chunks_exact_mut(self.out_elems).enumerate() {
                    let cols = self.im2col(&x.as_slice()[col * self.in_elems..(col + 1) * self.in_elems]);
                    let yp = w.columns(0, self.k) * cols; // N × P
                    let ys = yp.as_slice();
                    for ch in 0..self.n {
                        for pos in 0..p {
                            yc[ch * p + pos] = ys[ch + pos * self.n];
                        }
                    }
                }
                y
            }
        }
    }

    /// Adds `Δ Xᵀ` (the weight gradient of this chunk) and, with a bias, the bias gradient
    /// to `grad` (`N × cols()`).
    pub fn weight_grad(&self, delta: &DMatrix<F>, x: &DMatrix<F>, sparse: bool, grad: &mut DMatrix<F>) {
        self.bias_grad(delta, grad);
        match (self.op, self.spike_lists(x, sparse)) {
            (Op::Linear { .. }, Some(lists)) => {
                let gw = &mut grad.as_mut_slice()[..self.n * self.k];
                spikes::gather_columns(delta.as_slice(), self.n, &lists.transpose(self.k), gw);
            }
            (Op::Linear { .. }, None) => {
                // Xᵀ as a strided view (no copy): row stride K, column stride 1.
                let xt = nalgebra::MatrixView::<F, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_generic(
                    x.as_slice(),
                    Dyn(x.ncols()),
                    Dyn(x.nrows()),
                    Dyn(x.nrows()),
                    Dyn(1),
                );
                grad.columns_mut(0, self.k).gemm(F::one(), delta, &xt, F::one());
            }
            (Op::Conv { oh, ow, .. }, _) => {
                let p = oh * ow;
                for col in 0..x.ncols() {
                    let cols = self.im2col(&x.as_slice()[col * self.in_elems..(col + 1) * self.in_elems]);
                    let dp =
                        self.delta_np(&delta.as_slice()[col * self.out_elems..(col + 1) * self.out_elems], p);
                    grad.columns_mut(0, self.k).gemm(F::one(), &dp, &cols.transpose(), F::one());
                }
            }
        }
    }

    /// Input gradient `Wᵀ Δ` (`in_elems × M`), given `wt = Wᵀ` (`K × N`, without the bias).
    pub fn input_grad(&self, wt: &DMatrix<F>, delta: &DMatrix<F>) -> DMatrix<F> {
        match self.op {
            Op::Linear { .. } => wt * delta,
            Op::Conv { oh, ow, .. } => {
                let p = oh * ow;
                let mut g = DMatrix::<F>::zeros(self.in_elems, delta.ncols());
                for (col, gc) in g.as_mut_slice().chunks_exact_mut(self.in_elems).enumerate() {
                    let dp =
                        self.delta_np(&delta.as_slice()[col * self.out_elems..(col + 1) * self.out_elems], p);
                    let dcols = wt * dp; // K × P
                    self.col2im_add(&dcols, gc);
                }
                g
            }
        }
    }

    /// `[N][P]` slice to an `N × P` matrix.
    fn delta_np(&self, d: &[F], p: usize) -> DMatrix<F> {
        DMatrix::from_fn(self.n, p, |ch, pos| d[ch * p + pos])
    }

    /// im2col of one sample-step: `K × P`, K ordered (c, ky, kx), P ordered (oy, ox).
    fn im2col(&self, x: &[F]) -> DMatrix<F> {
        let Op::Conv { cin, h, w, k, stride, pad, oh, ow, .. } = self.op else {
            unreachable!("im2col on a linear layer")
        };
        let mut cols = DMatrix::<F>::zeros(cin * k * k, oh * ow);
        let kdim = cin * k * k;
        let cs = cols.as_mut_slice();
        for oy in 0..oh {
            for ox in 0..ow {
                let col = &mut cs[(oy * ow + ox) * kdim..(oy * ow + ox + 1) * kdim];
                for c in 0..cin {
                    for ky in 0..k {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for kx in 0..k {
                            let ix = (ox * stride + kx) as isize - pad as isize;
                            if ix < 0 || ix >= w as isize {
                                continue;
                            }
                            col[(c * k + ky) * k + kx] = x[(c * h + iy as usize) * w + ix as usize];
                        }
                    }
                }
            }
        }
        cols
    }

    /// Scatter-adds an im2col-shaped gradient back onto the input image.
    fn col2im_add(&self, dcols: &DMatrix<F>, g: &mut [F]) {
        let Op::Conv { cin, h, w, k, stride, pad, oh, ow, .. } = self.op else {
            unreachable!("col2im on a linear layer")
        };
        let kdim = cin * k * k;
        let ds = dcols.as_slice();
        for oy in 0..oh {
            for ox in 0..ow {
                let col = &ds[(oy * ow + ox) * kdim..(oy * ow + ox + 1) * kdim];
                for c in 0..cin {
                    for ky in 0..k {
                        let iy = (oy * stride + ky) as isize - pad as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        for kx in 0..k {
                            let ix = (ox * stride + kx) as isize - pad as isize;
                            if ix < 0 || ix >= w as isize {
                                continue;
                            }
                            g[(c * h + iy as usize) * w + ix as usize] += col[(c * k + ky) * k + kx];
                        }
                    }
                }
            }
        }
    }

    /// Pools the spikes `s` (`out_elems × M`); returns the pooled values and, for max
    /// pooling, the argmax (index within the column) of every pooled element.
    pub fn pool_forward(&self, s: DMatrix<F>) -> (DMatrix<F>, Vec<u32>) {
        let Some(p) = self.pool else { return (s, Vec::new()) };
        let m = s.ncols();
        let mut out = DMatrix::<F>::zeros(self.pooled_elems, m);
        let mut arg = if p.kind == PoolKind::Max { vec![0u32; self.pooled_elems * m] } else { Vec::new() };
        let inv = F::one() / F::f((p.k * p.k) as f64);
        for col in 0..m {
            let sc = &s.as_slice()[col * self.out_elems..(col + 1) * self.out_elems];
            let oc = &mut out.as_mut_slice()[col * self.pooled_elems..(col + 1) * self.pooled_elems];
            for c in 0..p.c {
                for oy in 0..p.oh {
                    for ox in 0..p.ow {
                        let o = (c * p.oh + oy) * p.ow + ox;
                        let mut acc = F::zero();
                        let mut best = F::zero();
                        let mut best_i = usize::MAX;
                        for dy in 0..p.k {
                            for dx in 0..p.k {
                                let i = (c * p.h + oy * p.k + dy) * p.w + ox * p.k + dx;
                                let v = sc[i];
                                acc += v;
                                if best_i == usize::MAX || v > best {
                                    best = v;
                                    best_i = i;
                                }
                            }
                        }
                        if p.kind == PoolKind::Max {
                            oc[o] = best;
                            arg[col * self.pooled_elems + o] = best_i as u32;
                        } else {
                            oc[o] = acc * inv;
                        }
                    }
                }
            }
        }
        (out, arg)
    }

    /// Backward of [`pool_forward`](Self::pool_forward): `∂L/∂s` from `∂L/∂pooled`.
    pub fn pool_backward(&self, g: DMatrix<F>, arg: &[u32]) -> DMatrix<F> {
        let Some(p) = self.pool else { return g };
        let m = g.ncols();
        let mut out = DMatrix::<F>::zeros(self.out_elems, m);
        let inv = F::one() / F::f((p.k * p.k) as f64);
        for col in 0..m {
            let gc = &g.as_slice()[col * self.pooled_elems..(col + 1) * self.pooled_elems];
            let oc = &mut out.as_mut_slice()[col * self.out_elems..(col + 1) * self.out_elems];
            for c in 0..p.c {
                for oy in 0..p.oh {
                    for ox in 0..p.ow {
                        let o = (c * p.oh + oy) * p.ow + ox;
                        if p.kind == PoolKind::Max {
                            oc[arg[col * self.pooled_elems + o] as usize] += gc[o];
                        } else {
                            for dy in 0..p.k {
                                for dx in 0..p.k {
                                    oc[(c * p.h + oy * p.k + dy) * p.w + ox * p.k + dx] += gc[o] * inv;
                                }
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
