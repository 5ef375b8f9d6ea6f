//! Neuron dynamics (DESIGN §3) and their BPTT adjoint.
//!
//! Forward, per neuron (element-wise, `t = 0..T`):
//! - `iir2`: `i[t] = α i[t−1] + y[t]`, `v[t] = β v[t−1] + i[t] − θ s[t−1]` (subtract reset),
//!   or `v[t] = β v[t−1] (1 − s[t−1]) + i[t]` (zero reset);
//! - `lif`: the same without the `i` stage (`i[t] = y[t]`);
//! - `s[t] = H(v[t] − θ)`, or in *smooth* mode (gradient checks only) the primitive of the
//!   surrogate, so that finite differences see the same derivative the backward uses.
//!
//! Backward: the error is a reverse-time run of the same two IIR filters:
//! `λv[t] = gv[t] + σ'(v[t] − θ)·(gs[t] + reset term) + β·m[t]·λv[t+1]`,
//! `λi[t] = λv[t] + α λi[t+1]`, `∂L/∂y[t] = λi[t]` (λv for lif), where `m[t] = 1 − s[t]` for
//! zero reset and 1 for subtract reset. With the reset path detached (the default, as in
//! snnTorch) the reset term is 0; otherwise it is `−θ λv[t+1]` (subtract) or
//! `−β v[t] λv[t+1]` (zero), which makes the gradient exact for the smooth model.

use spikepipe_ir::{NeuronKind, NeuronSpec, Reset, SurrogateKind};

use super::Real;

/// Numeric neuron parameters of one layer.
#[derive(Debug, Clone, Copy)]
pub struct NeuronParams<F> {
    /// `true` for iir2 (second order), `false` for lif.
    pub second_order: bool,
    /// Synaptic decay α (iir2).
    pub alpha: F,
    /// Membrane decay β.
    pub beta: F,
    /// Threshold θ.
    pub theta: F,
    /// Zero reset (`false`: subtract).
    pub zero_reset: bool,
    /// Triangle surrogate (`false`: fast sigmoid).
    pub triangle: bool,
    /// Surrogate slope k.
    pub slope: F,
}

impl<F: Real> NeuronParams<F> {
    /// From the IR spec (an iir2 spec without α uses 0.9; lif ignores α).
    pub fn from_spec(spec: &NeuronSpec) -> Self {
        NeuronParams {
            second_order: spec.kind == NeuronKind::Iir2,
            alpha: F::f(spec.alpha.unwrap_or(0.9)),
            beta: F::f(spec.beta),
            theta: F::f(spec.threshold),
            zero_reset: spec.reset == Reset::Zero,
            triangle: spec.surrogate.kind == SurrogateKind::Triangle,
            slope: F::f(spec.surrogate.slope),
        }
    }

    /// Surrogate derivative at `x = v − θ`.
    #[inline(always)]
    pub fn surrogate(&self, x: F) -> F {
        let ax = self.slope * x.abs();
        if self.triangle {
            let r = F::one() - ax;
            if r > F::zero() {
                r
            } else {
                F::zero()
            }
        } else {
            let d = F::one() + ax;
            F::one() / (d * d)
        }
    }

    /// Primitive of the surrogate (the smooth spike function of gradient checks).
    pub fn surrogate_primitive(&self, x: F) -> F {
        let k = self.slope;
        if self.triangle {
            let lim = F::one() / k;
            let xc = if x > lim {
                lim
            } else if x < -lim {
                -lim
            } else {
                x
            };
            xc - k * xc * xc.abs() / F::f(2.0)
        } else {
            x / (F::one() + k * x.abs())
        }
    }

    /// Runs the neuron over `T` steps for a block of `n` neurons × `b` samples.
    ///
    /// `y`, `v_out`, `s_out` are `T` consecutive blocks of `n·b` values (time-major).
    /// `smooth` replaces H by the surrogate primitive.
    pub fn forward(&self, y: &[F], v_out: &mut [F], s_out: &mut [F], nb: usize, smooth: bool) {
        let steps = y.len() / nb.max(1);
        let mut i_state = vec![F::zero(); nb];
        let mut v_state = vec![F::zero(); nb];
        let mut s_prev = vec![F::zero(); nb];
        let (alpha, beta, theta) = (self.alpha, self.beta, self.theta);
        for t in 0..steps {
            let r = t * nb..(t + 1) * nb;
            let yt = &y[r.clone()];
            let vt = &mut v_out[r.clone()];
            let st = &mut s_out[r];
            for j in 0..nb {
                let inp = if self.second_order {
                    let i = alpha * i_state[j] + yt[j];
                    i_state[j] = i;
                    i
                } else {
                    yt[j]
                };
                let v = if self.zero_reset {
                    beta * v_state[j] * (F::one() - s_prev[j]) + inp
                } else {
                    beta * v_state[j] + inp - theta * s_prev[j]
                };
                v_state[j] = v;
                vt[j] = v;
                let s = if smooth {
                    self.surrogate_primitive(v - theta)
                } else if v > theta {
                    // H(v − θ) with H(0) = 0.
                    F::one()
                } else {
                    F::zero()
                };
                s_prev[j] = s;
                st[j] = s;
            }
        }
    }

    /// BPTT through the neuron: from `gs = ∂L/∂s` (and optionally `gv = ∂L/∂v`) to
    /// `delta = ∂L/∂y`, same layout as [`forward`](Self::forward).
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        v: &[F],
        s: &[F],
        gs: &[F],
        gv: Option<&[F]>,
        delta: &mut [F],
        nb: usize,
        detach_reset: bool,
    ) {
        let steps = v.len() / nb.max(1);
        let mut lv_next = vec![F::zero(); nb];
        let mut li_next = vec![F::zero(); nb];
        let (alpha, beta, theta) = (self.alpha, self.beta, self.theta);
        for t in (0..steps).rev() {
            let base = t * nb;
            for j in 0..nb {
                let idx = base + j;
                let vt = v[idx];
                let ln = lv_next[j];
                let mut gtot = gs[idx];
                if !detach_reset {
                    gtot += if self.zero_reset { -beta * vt * ln } else { -theta * ln };
                }
                let mut lv = self.surrogate(vt - theta) * gtot;
                if let Some(gv) = gv {
                    lv += gv[idx];
                }
                lv += if self.zero_reset { beta * (F::one() - s[idx]) * ln } else { beta * ln };
                lv_next[j] = lv;
                let li = if self.second_order {
                    let li = lv + alpha * li_next[j];
                    li_next[j] = li;
                    li
                } else {
                    lv
                };
                delta[idx] = li;
            }
        }
    }
}
