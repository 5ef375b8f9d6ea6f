//! Shape inference and model checks: turns the layer list into weight layers with
//! pooling and flatten folded in, rejecting impossible shapes with the field's path.

use spikepipe_ir::{LayerOp, LayerSpec, ModelSpec, Network, NeuronKind, NeuronSpec, Pool, WeightLayer};

use crate::locate::Step;
use crate::parse::{key, FieldError};

const MAX_DIM: u64 = 1 << 24;

fn at(rest: &[Step]) -> Vec<Step> {
    rest.to_vec()
}

fn layer_path(i: usize, kind: &str, field: &str) -> Vec<Step> {
    at(&[key("layers"), Step::Index(i), key(kind), key(field)])
}

fn check_size(value: u64, path: Vec<Step>, what: &str) -> Result<(), FieldError> {
    if value == 0 {
        return Err(FieldError::new(path, format!("{what} must be at least 1, got 0")));
    }
    if value > MAX_DIM {
        return Err(FieldError::new(path, format!("{what} {value} is larger than {MAX_DIM}")));
    }
    Ok(())
}

fn check_unit(value: f64, path: Vec<Step>, what: &str) -> Result<(), FieldError> {
    if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
        return Err(FieldError::new(path, format!("{what} must be in [0, 1], got {value}")));
    }
    Ok(())
}

fn check_neuron(n: &NeuronSpec, base: Vec<Step>) -> Result<(), FieldError> {
    let p = |k: &str| {
        let mut v = base.clone();
        v.push(key(k));
        v
    };
    check_unit(n.beta, p("beta"), "membrane decay beta")?;
    match (n.kind, n.alpha) {
        (NeuronKind::Iir2, None) => {
            return Err(FieldError::new(p("kind"), "an iir2 neuron needs `alpha` (synaptic decay)"))
        }
        (_, Some(a)) => check_unit(a, p("alpha"), "synaptic decay alpha")?,
        _ => {}
    }
    if !(n.threshold.is_finite() && n.threshold > 0.0) {
        return Err(FieldError::new(
            p("threshold"),
            format!("threshold must be positive, got {}", n.threshold),
        ));
    }
    if !(n.surrogate.slope.is_finite() && n.surrogate.slope > 0.0) {
        let mut v = p("surrogate");
        v.push(key("slope"));
        return Err(FieldError::new(
            v,
            format!("surrogate slope must be positive, got {}", n.surrogate.slope),
        ));
    }
    Ok(())
}

/// Checks a model and infers the shape of every weight layer.
pub fn infer_network(m: &ModelSpec) -> Result<Network, FieldError> {
    if m.name.trim().is_empty() {
        return Err(FieldError::new(at(&[key("name")]), "the model name is empty"));
    }
    check_size(m.timesteps, at(&[key("timesteps")]), "timesteps")?;
    check_size(m.batch, at(&[key("batch")]), "batch")?;
    if m.input.len() != 1 && m.input.len() != 3 {
        return Err(FieldError::new(
            at(&[key("input")]),
            format!(
                "input must be [features] or [channels, height, width], got {} dimensions",
                m.input.len()
            ),
        ));
    }
    for (i, &d) in m.input.iter().enumerate() {
        check_size(d, at(&[key("input"), Step::Index(i)]), "input dimension")?;
    }
    check_neuron(&m.neuron, at(&[key("neuron")]))?;
    if !(m.training.lr.is_finite() && m.training.lr > 0.0) {
        return Err(FieldError::new(
            at(&[key("training"), key("lr")]),
            format!("learning rate must be positive, got {}", m.training.lr),
        ));
    }
    check_size(m.training.epochs, at(&[key("training"), key("epochs")]), "epochs")?;
    if m.layers.is_empty() {
        return Err(FieldError::new(
            at(&[key("layers")]),
            "the layer list is empty; add at least one linear or conv2d layer",
        ));
    }

    let mut shape = m.input.clone();
    let mut layers: Vec<WeightLayer> = Vec::new();
    for (i, spec) in m.layers.iter().enumerate() {
        match spec {
            LayerSpec::Linear { out, neuron } => {
                check_size(*out, layer_path(i, "linear", "out"), "output features")?;
                if shape.len() != 1 {
                    return Err(FieldError::new(
                        at(&[key("layers"), Step::Index(i), key("linear")]),
                        format!("linear layer needs a flat input but gets {shape:?}; add `- flatten: {{}}` before it"),
                    ));
                }
                let n = m.neuron.with_override(neuron.as_ref());
                check_neuron(&n, at(&[key("layers"), Step::Index(i), key("linear"), key("neuron")]))?;
                let op = LayerOp::Linear { in_features: shape[0], out_features: *out };
                shape = vec![*out];
                layers.push(weight_layer(layers.len(), op, n, shape.clone()));
            }
            LayerSpec::Conv2d { out, kernel, stride, padding, neuron } => {
                check_size(*out, layer_path(i, "conv2d", "out"), "output channels")?;
                check_size(*kernel, layer_path(i, "conv2d", "kernel"), "kernel")?;
                check_size(*stride, layer_path(i, "conv2d", "stride"), "stride")?;
                if shape.len() != 3 {
                    return Err(FieldError::new(
                        at(&[key("layers"), Step::Index(i), key("conv2d")]),
                        format!("conv2d needs a [channels, height, width] input but gets {shape:?}"),
                    ));
                }
                let (c, h, w) = (shape[0], shape[1], shape[2]);
                if *padding > MAX_DIM {
                    return Err(FieldError::new(layer_path(i, "conv2d", "padding"), "padding is too large"));
                }
                let (hp, wp) = (h + 2 * padding, w + 2 * padding);
                if *kernel > hp || *kernel > wp {
                    return Err(FieldError::new(
                        layer_path(i, "conv2d", "kernel"),
                        format!("kernel {kernel} is larger than its input {h}×{w} (padding {padding})"),
                    ));
                }
                let (oh, ow) = ((hp - kernel) / stride + 1, (wp - kernel) / stride + 1);
                let n = m.neuron.with_override(neuron.as_ref());
                check_neuron(&n, at(&[key("layers"), Step::Index(i), key("conv2d"), key("neuron")]))?;
                let op = LayerOp::Conv2d {
                    in_channels: c,
                    in_h: h,
                    in_w: w,
                    out_channels: *out,
                    kernel: *kernel,
                    stride: *stride,
                    padding: *padding,
                    out_h: oh,
                    out_w: ow,
                };
                shape = vec![*out, oh, ow];
                layers.push(weight_layer(layers.len(), op, n, shape.clone()));
            }
            LayerSpec::Pool { kind, kernel } => {
                check_size(*kernel, layer_path(i, "pool", "kernel"), "pool kernel")?;
                let here = at(&[key("layers"), Step::Index(i), key("pool")]);
                let Some(last) = layers.last_mut() else {
                    return Err(FieldError::new(here, "pooling must follow a linear or conv2d layer"));
                };
                if shape.len() != 3 {
                    return Err(FieldError::new(
                        here,
                        format!("pooling needs a [channels, height, width] input but gets {shape:?}"),
                    ));
                }
                if last.pool.is_some() || last.output_shape != shape {
                    return Err(FieldError::new(here, "only one pooling may follow each weight layer"));
                }
                if *kernel > shape[1] || *kernel > shape[2] {
                    return Err(FieldError::new(
                        layer_path(i, "pool", "kernel"),
                        format!("pool window {kernel} is larger than its input {}×{}", shape[1], shape[2]),
                    ));
                }
                shape = vec![shape[0], shape[1] / kernel, shape[2] / kernel];
                last.pool = Some(Pool { kind: *kind, kernel: *kernel });
                last.output_shape = shape.clone();
            }
            LayerSpec::Flatten {} => {
                if shape.len() == 3 {
                    shape = vec![shape.iter().product()];
                    if let Some(last) = layers.last_mut() {
                        last.output_shape = shape.clone();
                    }
                }
            }
        }
    }
    if layers.is_empty() {
        return Err(FieldError::new(at(&[key("layers")]), "no linear or conv2d layer: nothing to train"));
    }
    // Every later count (GEMM sizes, bytes, cycles) must fit comfortably in 64 bits.
    for (i, l) in layers.iter().enumerate() {
        let work = [m.batch, m.timesteps, l.op.positions(), l.op.fan_in(), l.op.out_channels()]
            .into_iter()
            .try_fold(1u64, |acc, x| acc.checked_mul(x))
            .filter(|&w| w <= 1 << 56);
        if work.is_none() {
            return Err(FieldError::new(
                at(&[key("layers")]),
                format!(
                    "weight layer {} is too large to cost: B·T·positions·fan-in·outputs exceeds 2^56",
                    i + 1
                ),
            ));
        }
    }
    Ok(Network { input: m.input.clone(), timesteps: m.timesteps, batch: m.batch, layers })
}

fn weight_layer(count: usize, op: LayerOp, neuron: NeuronSpec, output_shape: Vec<u64>) -> WeightLayer {
    WeightLayer { index: count as u32 + 1, op, neuron, pool: None, output_shape }
}
