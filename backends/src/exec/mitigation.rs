//! Staleness mitigations: what the trainer does differently when a layer's weights are
//! read some versions behind the newest (docs/time-to-accuracy.md has the derivations).
//!
//! Notation for layer l in iteration i (0-based): `W_j` is version j of its weights (the
//! updates of iterations `0..j`), `s` its forward staleness and `s′` its input-gradient
//! staleness. Without mitigation the forward reads `W_{i−s}`, the input-gradient pass
//! `W_{i−s′}` and the gradient `g_i` updates `W_i` into `W_{i+1}`.
//!
//! - `stash`: the input-gradient pass reads the forward's version (PipeDream).
//! - `lr-scale`: the layer's learning rate is `lr / (1 + s)`.
//! - `lr-sqrt`: a milder damping, `lr / √(1 + s)` (with `lr-scale` both apply).
//! - `delay-comp`: DC-ASGD's first-order correction of the stale gradient,
//!   `g̃ = g + λ · g ⊙ g ⊙ (W_i − W_read)`, with `λ = λ₀ / (√v̂ + ε)` from Adam's second
//!   moment (DC-ASGD-a) or the constant `λ = λ_SGD` with SGD (DC-ASGD-c).
//! - `predict`: a read of version `j = i − d` (d = s or s′) is replaced by its
//!   extrapolation `Ŵ = W_j + d · (W_j − W_{j−1})`: the optimiser's last step, which for
//!   Adam is its momentum direction, repeated over the d updates still to come (as
//!   SpecTrain and PipeMare do). Version −1 is version 0 (no step yet).
//! - `momentum`: a gradient s updates late already averages like momentum ("asynchrony
//!   begets momentum", Mitliagkas et al. 2016); Adam's β1 of the layer is lowered so the
//!   total lag stays that of β1 = 0.9 without delay: `β1/(1 − β1) = max(0, 9 − s)`, i.e.
//!   `β1_s = max(0, 9 − s) / max(1, 10 − s)`.
//! - `warmup`: PipeMare's learning-rate rescheduling (Yang et al. 2021): in iteration k
//!   the layer's rate is `lr · (1 + s)^−(1 − min(1, k/K))` — divided by its delay + 1 at
//!   the start, where delayed steps overshoot most, and back to the full rate after K
//!   warm-up iterations (default: one epoch).
//! - `lr-cap`: the layer's rate never exceeds the stable rate of its delay, `lr / (1 + s)`:
//!   in iteration k it is `lr · min(c(k), 1 / (1 + s))`, c(k) the learning-rate schedule's
//!   factor. Delayed gradient steps stay stable while rate × (1 + delay) stays bounded, so
//!   the damping `lr-scale` applies is needed only while the scheduled rate is above the
//!   stable one; once a decaying schedule (cosine) falls below it the layer trains at the
//!   scheduled rate. With a constant schedule it is `lr-scale`.
//! - `accumulate`: PipeDream-2BW's remedy (Narayanan et al. 2021): layer l sums the
//!   gradients of `w = max(s, s′) + 1` iterations and applies their mean once, in every
//!   iteration i with `(i + 1) mod w = 0`; in the others its weights stay as they are.
//!   Reads span fewer than w iterations, so a read is at most one of the layer's updates
//!   behind the weights its gradient is applied to. The layer's Adam t counts its own
//!   updates; the other rules see a delay of 1 on it (`lr-cap` caps at `lr / 2`) and
//!   `predict` leaves it alone (its last step is mostly no step). Gradients of a window
//!   left open when training ends are never applied.

use std::fmt;
use std::str::FromStr;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::Real;

/// DC-ASGD-a's λ₀ (with Adam): the paper's value for its adaptive variant.
pub const DC_LAMBDA_ADAM: f64 = 2.0;
/// DC-ASGD-c's constant λ (with SGD).
pub const DC_LAMBDA_SGD: f64 = 0.04;

/// A set of mitigations (any combination; the empty set is `none`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, PartialOrd, Ord, Hash)]
pub struct Mitigation {
    /// Weight stashing.
    pub stash: bool,
    /// Learning rate divided by 1 + s.
    pub lr_scale: bool,
    /// DC-ASGD delay compensation.
    pub delay_comp: bool,
    /// Weight prediction from the last optimiser step.
    pub predict: bool,
    /// Adam's β1 lowered by the staleness.
    #[serde(default)]
    pub momentum: bool,
    /// PipeMare's learning-rate rescheduling over the first K iterations.
    #[serde(default)]
    pub warmup: bool,
    /// Learning rate divided by √(1 + s).
    #[serde(default)]
    pub lr_sqrt: bool,
    /// Learning rate capped at `lr / (1 + s)`, below which the schedule runs undamped.
    #[serde(default)]
    pub lr_cap: bool,
    /// Gradients summed over `max(s, s′) + 1` iterations and applied once (PipeDream-2BW).
    #[serde(default)]
    pub accumulate: bool,
}

/// A mitigation list that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} (expected none or a comma-separated list of stash, lr-scale, delay-comp, predict, momentum, warmup, lr-sqrt, lr-cap, accumulate)", what(.0))]
pub struct UnknownMitigation(pub String);

fn what(name: &str) -> String {
    if name.is_empty() {
        "an empty name in the list".into()
    } else {
        format!("unknown mitigation '{name}'")
    }
}

impl Mitigation {
    /// No mitigation.
    pub const NONE: Mitigation = Mitigation {
        stash: false,
        lr_scale: false,
        delay_comp: false,
        predict: false,
        momentum: false,
        warmup: false,
        lr_sqrt: false,
        lr_cap: false,
        accumulate: false,
    };

    /// The names, in the canonical order.
    pub const NAMES: [&'static str; 9] = [
        "stash",
        "lr-scale",
        "delay-comp",
        "predict",
        "momentum",
        "warmup",
        "lr-sqrt",
        "lr-cap",
        "accumulate",
    ];

    /// `none` and each single mitigation: the set `spikepipe tune` probes.
    pub fn singles() -> Vec<Mitigation> {
        let mut v = vec![Mitigation::NONE];
        v.extend(Self::NAMES.iter().map(|n| n.parse::<Mitigation>().expect("known name")));
        v
    }

    /// Whether nothing is on.
    pub fn is_none(&self) -> bool {
        *self == Mitigation::NONE
    }

    /// Extra weight versions kept behind the oldest one read (prediction needs the one
    /// before it).
    pub fn extra_versions(&self) -> usize {
        self.predict as usize
    }

    /// Adam's β1 for a layer with forward staleness `s` (0.9 without `momentum`).
    pub fn beta1(&self, s: usize) -> f64 {
        if self.momentum {
            let lag = 9usize.saturating_sub(s) as f64;
            lag / (lag + 1.0)
        } else {
            super::optim::BETA1
        }
    }

    /// Learning-rate factor of a layer with forward staleness `s` in iteration `k`
    /// (0-based) of a run whose warm-up lasts `warmup_iters` iterations, where the
    /// learning-rate schedule's own factor is `schedule` (1 for a constant rate): the
    /// base rate is multiplied by this.
    pub fn lr_factor(&self, s: usize, k: u64, warmup_iters: u64, schedule: f64) -> f64 {
        let delay = 1.0 + s as f64;
        let mut f = if self.lr_cap { schedule.min(1.0 / delay) } else { schedule };
        if self.lr_scale {
            f /= delay;
        }
        if self.lr_sqrt {
            f /= delay.sqrt();
        }
        if self.warmup && s > 0 {
            let done = (k as f64 / warmup_iters.max(1) as f64).min(1.0);
            f *= delay.powf(-(1.0 - done));
        }
        f
    }
}

impl fmt::Display for Mitigation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = [
            self.stash,
            self.lr_scale,
            self.delay_comp,
            self.predict,
            self.momentum,
            self.warmup,
            self.lr_sqrt,
            self.lr_cap,
            self.accumulate,
        ];
        let names: Vec<&str> = Self::NAMES.iter().zip(on).filter(|(_, on)| *on).map(|(n, _)| *n).collect();
        if names.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&names.join(","))
        }
    }
}

impl FromStr for Mitigation {
    type Err = UnknownMitigation;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut m = Mitigation::NONE;
        for part in s.split(',').map(str::trim) {
            match part {
                "none" => {}
                "stash" => m.stash = true,
                "lr-scale" => m.lr_scale = true,
                "delay-comp" => m.delay_comp = true,
                "predict" => m.predict = true,
                "momentum" => m.momentum = true,
                "warmup" => m.warmup = true,
                "lr-sqrt" => m.lr_sqrt = true,
                "lr-cap" => m.lr_cap = true,
                "accumulate" => m.accumulate = true,
                other => return Err(UnknownMitigation(other.to_string())),
            }
        }
        Ok(m)
    }
}

/// `W_j + d · (W_j − W_{j−1})`.
pub fn extrapolate<F: Real>(wj: &DMatrix<F>, prev: &DMatrix<F>, d: usize) -> DMatrix<F> {
    let k = F::f(d as f64);
    let mut out = wj.clone();
    for (o, &p) in out.as_mut_slice().iter_mut().zip(prev.as_slice()) {
        *o += k * (*o - p);
    }
    out
}

/// DC-ASGD: `g += λ · g ⊙ g ⊙ (newest − read)`, with `λ = λ₀ / (√v̂ + ε)` when Adam's
/// bias-corrected second moment `v̂ = v / bc2` is given, else the constant `lambda`.
pub fn delay_compensate<F: Real>(
    g: &mut DMatrix<F>,
    newest: &DMatrix<F>,
    read: &DMatrix<F>,
    adam_v: Option<(&DMatrix<F>, f64)>,
    lambda: f64,
) {
    let l = F::f(lambda);
    match adam_v {
        Some((v, bc2)) => {
            let inv_bc2 = F::f(1.0 / bc2);
            let eps = F::f(super::optim::EPS);
            for (((gi, &w), &r), &vi) in
                g.as_mut_slice().iter_mut().zip(newest.as_slice()).zip(read.as_slice()).zip(v.as_slice())
            {
                let denom = (vi * inv_bc2).sqrt() + eps;
                *gi += l * *gi * *gi * (w - r) / denom;
            }
        }
        None => {
            for ((gi, &w), &r) in g.as_mut_slice().iter_mut().zip(newest.as_slice()).zip(read.as_slice()) {
                *gi += l * *gi * *gi * (w - r);
            }
        }
    }
}
