//! The model spec: what the user writes in `models/<net>.yaml` (DESIGN §2).
//!
//! These are plain serde types; the compiler's `parse` pass reads them from YAML and
//! validates sizes and shapes. Field names are part of the contract.
//!
//! ```
//! use spikepipe_ir::{LayerSpec, ModelSpec};
//! let json = r#"{"name":"tiny","input":[4],"timesteps":2,"batch":1,
//!   "neuron":{"kind":"lif","beta":0.9},"layers":[{"linear":{"out":3}}]}"#;
//! let model: ModelSpec = serde_json::from_str(json).unwrap();
//! assert!(matches!(model.layers[0], LayerSpec::Linear { out: 3, .. }));
//! ```

use serde::{Deserialize, Serialize};

use crate::HardwareSpec;

/// A whole model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Short name, used in reports and schedule files.
    pub name: String,
    /// Input shape: `[features]` or `[channels, height, width]`.
    pub input: Vec<u64>,
    /// Simulation time steps T per sample.
    pub timesteps: u64,
    /// Minibatch size B.
    pub batch: u64,
    /// Default neuron of every weight layer.
    pub neuron: NeuronSpec,
    /// The layers, input to output.
    pub layers: Vec<LayerSpec>,
    /// Training settings (optimizer, learning rate, …).
    #[serde(default)]
    pub training: TrainingSpec,
    /// Hardware given inline instead of in its own file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<HardwareSpec>,
}

/// One entry of `layers:`. Written in YAML as a one-key map, e.g. `- linear: {out: 10}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// Fully connected layer with `out` features.
    Linear {
        /// Output features.
        out: u64,
        /// Per-layer neuron override.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        neuron: Option<NeuronOverride>,
    },
    /// 2-D convolution, square kernel.
    Conv2d {
        /// Output channels.
        out: u64,
        /// Kernel size (square).
        kernel: u64,
        /// Stride (default 1).
        #[serde(default = "one_u64")]
        stride: u64,
        /// Zero padding on every side (default 0).
        #[serde(default)]
        padding: u64,
        /// Per-layer neuron override.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        neuron: Option<NeuronOverride>,
    },
    /// Spatial pooling of the previous layer's spikes; folded into that layer's `S` task.
    Pool {
        /// `avg` or `max`.
        kind: PoolKind,
        /// Window size (square); the stride equals the window.
        kernel: u64,
    },
    /// Reshape `[C, H, W]` to `[C·H·W]`; costs nothing.
    Flatten {},
}

fn one_u64() -> u64 {
    1
}

/// Pooling kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Average pooling.
    Avg,
    /// Max pooling.
    Max,
}

/// Neuron parameters (DESIGN §2–§3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronSpec {
    /// `lif` or `iir2`.
    pub kind: NeuronKind,
    /// Synaptic current decay α (iir2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Membrane decay β.
    pub beta: f64,
    /// Firing threshold θ (default 1.0).
    #[serde(default = "one_f64")]
    pub threshold: f64,
    /// Reset after a spike (default `subtract`).
    #[serde(default)]
    pub reset: Reset,
    /// Surrogate gradient of the Heaviside step (default fast sigmoid, slope 25).
    #[serde(default)]
    pub surrogate: Surrogate,
}

fn one_f64() -> f64 {
    1.0
}

/// A layer's partial override of the model's neuron.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronOverride {
    /// Neuron kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NeuronKind>,
    /// Synaptic decay α.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Membrane decay β.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Threshold θ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Reset mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
    /// Surrogate gradient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surrogate: Option<Surrogate>,
}

impl NeuronSpec {
    /// This neuron with a layer's override applied on top.
    pub fn with_override(&self, o: Option<&NeuronOverride>) -> NeuronSpec {
        let Some(o) = o else { return self.clone() };
        NeuronSpec {
            kind: o.kind.unwrap_or(self.kind),
            alpha: o.alpha.or(self.alpha),
            beta: o.beta.unwrap_or(self.beta),
            threshold: o.threshold.unwrap_or(self.threshold),
            reset: o.reset.unwrap_or(self.reset),
            surrogate: o.surrogate.clone().unwrap_or_else(|| self.surrogate.clone()),
        }
    }
}

/// Neuron model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NeuronKind {
    /// First-order leaky integrate-and-fire: `v[t] = β v[t−1] + y[t] − θ s[t−1]`.
    Lif,
    /// Second-order IIR neuron: `i[t] = α i[t−1] + y[t]`, `v[t] = β v[t−1] + i[t] − θ s[t−1]`.
    Iir2,
}

/// What happens to the membrane after a spike.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reset {
    /// Subtract θ.
    #[default]
    Subtract,
    /// Set to zero.
    Zero,
}

/// Surrogate derivative used in place of H'(v − θ).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surrogate {
    /// Shape of the surrogate.
    pub kind: SurrogateKind,
    /// Steepness k: fast sigmoid `1/(1+k|x|)²`, triangle `max(0, 1 − k|x|)`.
    #[serde(default = "default_slope")]
    pub slope: f64,
}

fn default_slope() -> f64 {
    25.0
}

impl Default for Surrogate {
    fn default() -> Self {
        Surrogate { kind: SurrogateKind::FastSigmoid, slope: default_slope() }
    }
}

/// Surrogate shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SurrogateKind {
    /// `1/(1+k|x|)²`.
    FastSigmoid,
    /// `max(0, 1 − k|x|)`.
    Triangle,
}

/// Training settings; every field has a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// `adam` (default) or `sgd`.
    #[serde(default)]
    pub optimizer: Optimizer,
    /// Learning rate (default 5e-4).
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Epochs (default 30).
    #[serde(default = "default_epochs")]
    pub epochs: u64,
    /// Loss (default cross-entropy on output spike counts).
    #[serde(default)]
    pub loss: Loss,
    /// Input encoding (default Bernoulli rate coding).
    #[serde(default)]
    pub encoding: Encoding,
    /// Learning-rate schedule over the run (default constant). Left out of the JSON when
    /// constant, so specs without it keep their hash.
    #[serde(default, skip_serializing_if = "LrSchedule::is_constant")]
    pub lr_schedule: LrSchedule,
}

/// How the learning rate changes over a run of K iterations (epochs × minibatches).
///
/// ```
/// use spikepipe_ir::LrSchedule;
/// assert_eq!(LrSchedule::Constant.factor(7, 10), 1.0);
/// assert_eq!(LrSchedule::Cosine.factor(0, 10), 1.0);
/// assert!((LrSchedule::Cosine.factor(5, 10) - 0.5).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The model's `lr` throughout.
    #[default]
    Constant,
    /// Cosine decay to 0 (Loshchilov & Hutter 2017, without restarts): iteration k of K
    /// uses `lr · (1 + cos(π·k/K)) / 2`.
    Cosine,
}

impl LrSchedule {
    /// Whether this is the default.
    pub fn is_constant(&self) -> bool {
        *self == LrSchedule::Constant
    }

    /// The factor on `lr` in iteration `k` (0-based) of a run of `total` iterations.
    pub fn factor(&self, k: u64, total: u64) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let t = total.max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * (k as f64).min(t) / t).cos())
            }
        }
    }
}

fn default_lr() -> f64 {
    5e-4
}
fn default_epochs() -> u64 {
    30
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            optimizer: Optimizer::default(),
            lr: default_lr(),
            epochs: default_epochs(),
            loss: Loss::default(),
            encoding: Encoding::default(),
            lr_schedule: LrSchedule::default(),
        }
    }
}

/// Optimizer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Adam (β1 0.9, β2 0.999, ε 1e-8).
    #[default]
    Adam,
    /// Plain SGD.
    Sgd,
}

/// Loss function on the last layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Softmax cross-entropy of the output spike counts `Σ_t s[t]`.
    #[default]
    SpikeCountCe,
    /// Softmax cross-entropy of the summed membrane potential `Σ_t v[t]`.
    MembraneCe,
}

/// How input values become input spikes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Bernoulli spikes with probability equal to the normalised input.
    #[default]
    Rate,
    /// The normalised input fed as a constant current every step.
    Current,
}
