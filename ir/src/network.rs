//! The network after shape inference: one entry per weight layer, with pooling and
//! flatten folded into the layer before them. Both the task lowering and the executor
//! read this, so they agree on every shape.
//!
//! ```
//! use spikepipe_ir::{LayerOp, WeightLayer};
//! let op = LayerOp::Linear { in_features: 64, out_features: 10 };
//! assert_eq!((op.positions(), op.fan_in(), op.out_channels()), (1, 64, 10));
//! ```

use serde::{Deserialize, Serialize};

use crate::{NeuronSpec, PoolKind};

/// A network: its input shape and its weight layers in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Network {
    /// Input shape as given in the model (`[F]` or `[C, H, W]`).
    pub input: Vec<u64>,
    /// Time steps T.
    pub timesteps: u64,
    /// Minibatch size B.
    pub batch: u64,
    /// Weight layers, 1-based `index`.
    pub layers: Vec<WeightLayer>,
}

/// One weight layer with everything folded into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightLayer {
    /// 1-based layer number (the `l` of task ids such as `F1`).
    pub index: u32,
    /// The synaptic operation.
    pub op: LayerOp,
    /// The neuron of this layer (model default with the layer's override applied).
    pub neuron: NeuronSpec,
    /// Pooling applied to this layer's spikes, if any.
    pub pool: Option<Pool>,
    /// Shape of what the next layer receives (after pooling; flattened if a flatten follows).
    pub output_shape: Vec<u64>,
}

/// Pooling folded into a layer's neuron task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    /// avg or max.
    pub kind: PoolKind,
    /// Square window; stride equals the window.
    pub kernel: u64,
}

/// The synaptic operation of a weight layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerOp {
    /// `y = W x`.
    Linear {
        /// Input features.
        in_features: u64,
        /// Output features.
        out_features: u64,
    },
    /// Convolution, lowered to a GEMM by im2col.
    Conv2d {
        /// Input channels.
        in_channels: u64,
        /// Input height.
        in_h: u64,
        /// Input width.
        in_w: u64,
        /// Output channels.
        out_channels: u64,
        /// Square kernel.
        kernel: u64,
        /// Stride.
        stride: u64,
        /// Zero padding per side.
        padding: u64,
        /// Output height.
        out_h: u64,
        /// Output width.
        out_w: u64,
    },
}

impl LayerOp {
    /// Output positions per sample and step (`Ho·Wo`, or 1).
    pub fn positions(&self) -> u64 {
        match *self {
            LayerOp::Linear { .. } => 1,
            LayerOp::Conv2d { out_h, out_w, .. } => out_h * out_w,
        }
    }
    /// Fan-in K (`C_in·k·k`, or input features).
    pub fn fan_in(&self) -> u64 {
        match *self {
            LayerOp::Linear { in_features, .. } => in_features,
            LayerOp::Conv2d { in_channels, kernel, .. } => in_channels * kernel * kernel,
        }
    }
    /// Output channels or features N.
    pub fn out_channels(&self) -> u64 {
        match *self {
            LayerOp::Linear { out_features, .. } => out_features,
            LayerOp::Conv2d { out_channels, .. } => out_channels,
        }
    }
    /// Input elements per sample and step.
    pub fn input_elements(&self) -> u64 {
        match *self {
            LayerOp::Linear { in_features, .. } => in_features,
            LayerOp::Conv2d { in_channels, in_h, in_w, .. } => in_channels * in_h * in_w,
        }
    }
    /// Output neurons per sample and step (before pooling).
    pub fn output_elements(&self) -> u64 {
        self.positions() * self.out_channels()
    }
    /// Number of weights `K·N`.
    pub fn parameters(&self) -> u64 {
        self.fan_in() * self.out_channels()
    }
}

impl WeightLayer {
    /// Elements the next layer receives per sample and step.
    pub fn output_elements(&self) -> u64 {
        self.output_shape.iter().product()
    }
}
