//! SGD and Adam (β1 0.9, β2 0.999, ε 1e-8, PyTorch's bias-corrected form).

use nalgebra::DMatrix;
use spikepipe_ir::Optimizer;

use super::Real;

/// Adam β1.
pub const BETA1: f64 = 0.9;
/// Adam β2.
pub const BETA2: f64 = 0.999;
/// Adam ε.
pub const EPS: f64 = 1e-8;

/// Optimizer state for all layers.
#[derive(Debug, Clone, PartialEq)]
pub struct OptState<F: Real> {
    /// Which optimizer.
    pub kind: Optimizer,
    /// Learning rate.
    pub lr: f64,
    /// Updates applied so far (Adam's t).
    pub step: u64,
    /// Adam first moments per layer (empty for SGD).
    pub m: Vec<DMatrix<F>>,
    /// Adam second moments per layer (empty for SGD).
    pub v: Vec<DMatrix<F>>,
}

impl<F: Real> OptState<F> {
    /// Fresh state for layers of the given `(rows, cols)`.
    pub fn new(kind: Optimizer, lr: f64, shapes: &[(usize, usize)]) -> Self {
        let zeros = || shapes.iter().map(|&(r, c)| DMatrix::zeros(r, c)).collect::<Vec<_>>();
        let (m, v) = if kind == Optimizer::Adam { (zeros(), zeros()) } else { (Vec::new(), Vec::new()) };
        OptState { kind, lr, step: 0, m, v }
    }

    /// Starts one update step (call once per minibatch before [`apply`](Self::apply)).
    pub fn begin_step(&mut self) {
        self.step += 1;
    }

    /// Adam's second moment of layer `l` and its bias correction after the layer's `t`
    /// updates (`None` for SGD or before its first update).
    pub fn second_moment(&self, l: usize, t: u64) -> Option<(&DMatrix<F>, f64)> {
        (self.kind == Optimizer::Adam && t > 0)
            .then(|| (&self.v[l], 1.0 - BETA2.powi(t.min(i32::MAX as u64) as i32)))
    }

    /// Applies gradient `g` of layer `l` to `w` with the learning rate multiplied by
    /// `factor`, Adam's β1 set to `beta1` (SGD ignores both β1 and `t`) and its bias
    /// corrections taken at the layer's `t`-th update.
    pub fn apply(&mut self, l: usize, w: &mut DMatrix<F>, g: &DMatrix<F>, factor: f64, beta1: f64, t: u64) {
        let lr_l = self.lr * factor;
        match self.kind {
            Optimizer::Sgd => {
                let lr = F::f(lr_l);
                for (a, &b) in w.as_mut_slice().iter_mut().zip(g.as_slice()) {
                    *a -= lr * b;
                }
            }
            Optimizer::Adam => {
                let t = t.clamp(1, i32::MAX as u64) as i32;
                let bc1 = 1.0 - beta1.powi(t);
                let bc2 = 1.0 - BETA2.powi(t);
                let step_size = F::f(lr_l / bc1);
                let bc2_sqrt = F::f(bc2.sqrt());
                let (b1, b2, eps) = (F::f(beta1), F::f(BETA2), F::f(EPS));
                let (one_b1, one_b2) = (F::one() - b1, F::one() - b2);
                let ms = self.m[l].as_mut_slice();
                let vs = self.v[l].as_mut_slice();
                for (((wi, &gi), mi), vi) in
                    w.as_mut_slice().iter_mut().zip(g.as_slice()).zip(ms.iter_mut()).zip(vs.iter_mut())
                {
                    *mi = b1 * *mi + one_b1 * gi;
                    *vi = b2 * *vi + one_b2 * gi * gi;
                    let denom = vi.sqrt() / bc2_sqrt + eps;
                    *wi -= step_size * *mi / denom;
                }
            }
        }
    }
}
