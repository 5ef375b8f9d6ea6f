//! Pass 1: read the model and hardware YAML, check every field, and infer shapes.
//!
//! serde rejects unknown fields, wrong types and missing fields (with serde_yaml's line
//! and column); [`crate::infer_network`] (the model) and [`check_hardware`] reject values that parse but make no
//! sense, and [`crate::locate`] finds their line in the text.

use std::path::{Path, PathBuf};

use spikepipe_ir::{HardwareSpec, ModelSpec, Network};

use crate::error::{plain_types, Location, SpecError, SpecResult};
use crate::locate::{locate, render, Step};
use crate::shapes::infer_network;

/// A model and the hardware it is compiled for, validated.
#[derive(Debug, Clone)]
pub struct Specs {
    /// The model.
    pub model: ModelSpec,
    /// The network after shape inference.
    pub network: Network,
    /// The hardware (with any `--processors` override applied).
    pub hardware: HardwareSpec,
}

/// A field that failed a check: its path and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Path of the field.
    pub path: Vec<Step>,
    /// Message.
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(path: Vec<Step>, message: impl Into<String>) -> Self {
        FieldError { path, message: message.into() }
    }
}

pub(crate) fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

fn read(path: &Path) -> SpecResult<String> {
    std::fs::read_to_string(path).map_err(|source| SpecError::Io { path: path.to_path_buf(), source })
}

fn from_yaml<T: serde::de::DeserializeOwned>(file: &Path, text: &str) -> SpecResult<T> {
    // Layers are written `- linear: {out: 10}`: a one-key map per enum variant.
    let de = serde_yaml::Deserializer::from_str(text);
    serde_yaml::with::singleton_map_recursive::deserialize(de).map_err(|e: serde_yaml::Error| {
        let loc = e.location();
        let mut message = e.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        message = plain_types(&message);
        let (mut line, mut column) = (loc.as_ref().map(|l| l.line()), loc.as_ref().map(|l| l.column()));
        if text.trim().is_empty() {
            message = "the file is empty".to_string();
        } else if let Some((l, c)) = tab_indent(text) {
            // YAML forbids tabs in indentation; serde_yaml's own message does not say so.
            message = "tabs are not allowed in YAML; indent with spaces".to_string();
            (line, column) = (Some(l), Some(c));
        }
        SpecError::Syntax { at: Location { file: file.to_path_buf(), line, column }, message }
    })
}

/// 1-based line and column of the first tab in a line's indentation, if any.
fn tab_indent(text: &str) -> Option<(usize, usize)> {
    text.lines().enumerate().find_map(|(i, l)| {
        let body = l.trim_start();
        if body.is_empty() || body.starts_with('#') {
            return None;
        }
        let indent = l.len() - l.trim_start_matches([' ', '\t']).len();
        l[..indent].find('\t').map(|c| (i + 1, c + 1))
    })
}

fn invalid(file: &Path, text: &str, err: FieldError) -> SpecError {
    let (line, column) = match locate(text, &err.path) {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    SpecError::Invalid {
        at: Location { file: file.to_path_buf(), line, column },
        field: render(&err.path),
        message: err.message,
    }
}

/// Parses and checks a model file (hardware, if inline, is checked too).
pub fn parse_model(file: &Path, text: &str) -> SpecResult<(ModelSpec, Network)> {
    let model: ModelSpec = from_yaml(file, text)?;
    if let Some(hw) = &model.hardware {
        check_hardware(hw, vec![key("hardware")]).map_err(|e| invalid(file, text, e))?;
    }
    let network = infer_network(&model).map_err(|e| invalid(file, text, e))?;
    Ok((model, network))
}

/// Reads, parses and checks a model file.
pub fn load_model(path: &Path) -> SpecResult<(ModelSpec, Network)> {
    parse_model(path, &read(path)?)
}

/// Parses and checks a hardware file.
pub fn parse_hardware(file: &Path, text: &str) -> SpecResult<HardwareSpec> {
    let hw: HardwareSpec = from_yaml(file, text)?;
    check_hardware(&hw, vec![]).map_err(|e| invalid(file, text, e))?;
    Ok(hw)
}

/// Reads, parses and checks a hardware file.
pub fn load_hardware(path: &Path) -> SpecResult<HardwareSpec> {
    parse_hardware(path, &read(path)?)
}

/// Loads a model and its hardware: `--hardware FILE` wins over an inline `hardware:`
/// section; `processors` overrides P.
pub fn load_specs(model: &Path, hardware: Option<&Path>, processors: Option<u64>) -> SpecResult<Specs> {
    let (model_spec, network) = load_model(model)?;
    let mut hw = match hardware {
        Some(h) => load_hardware(h)?,
        None => model_spec
            .hardware
            .clone()
            .ok_or_else(|| SpecError::NoHardware { model: PathBuf::from(model) })?,
    };
    if let Some(p) = processors {
        hw.processors = check_processors(p)?;
    }
    Ok(Specs { model: model_spec, network, hardware: hw })
}

/// Most processors a machine may have: schedulers scale with P² (links) and P × tasks
/// (placements); past this they would run for minutes.
pub const MAX_PROCESSORS: u64 = 256;

/// Checks a `--processors` value.
pub fn check_processors(p: u64) -> SpecResult<u64> {
    if p == 0 || p > MAX_PROCESSORS {
        return Err(SpecError::Option {
            option: "--processors".into(),
            message: format!("{p} is out of range; give 1 to {MAX_PROCESSORS} processors"),
        });
    }
    Ok(p)
}

fn positive(value: u64, path: Vec<Step>, what: &str) -> Result<(), FieldError> {
    if value == 0 {
        return Err(FieldError::new(path, format!("{what} must be at least 1, got 0")));
    }
    Ok(())
}

/// Checks the hardware values that serde cannot (zero sizes, bit widths).
pub fn check_hardware(hw: &HardwareSpec, at: Vec<Step>) -> Result<(), FieldError> {
    let p = |rest: &[&str]| {
        let mut v = at.clone();
        v.extend(rest.iter().map(|k| key(k)));
        v
    };
    if hw.processors == 0 {
        return Err(FieldError::new(p(&["processors"]), "P = 0: at least one processor is needed"));
    }
    if hw.processors > MAX_PROCESSORS {
        return Err(FieldError::new(
            p(&["processors"]),
            format!("{} processors is more than {MAX_PROCESSORS}", hw.processors),
        ));
    }
    positive(hw.array.rows, p(&["array", "rows"]), "array rows")?;
    positive(hw.array.cols, p(&["array", "cols"]), "array columns")?;
    positive(hw.vector_lanes, p(&["vector_lanes"]), "vector lanes")?;
    positive(hw.link.bytes_per_cycle, p(&["link", "bytes_per_cycle"]), "link bandwidth")?;
    if !(hw.clock_mhz.is_finite() && hw.clock_mhz > 0.0) {
        return Err(FieldError::new(
            p(&["clock_mhz"]),
            format!("clock must be a positive number, got {}", hw.clock_mhz),
        ));
    }
    for (name, bits) in [
        ("spike", hw.bits.spike),
        ("activation", hw.bits.activation),
        ("gradient", hw.bits.gradient),
        ("weight", hw.bits.weight),
    ] {
        if bits == 0 || bits > 64 {
            return Err(FieldError::new(p(&["bits", name]), format!("bit width must be 1..64, got {bits}")));
        }
    }
    if let Some(m) = hw.memory_bytes {
        positive(m, p(&["memory_bytes"]), "memory per processor (bytes)")?;
    }
    for (name, v) in [("rows", hw.array.rows), ("cols", hw.array.cols)] {
        if v > 1 << 16 {
            return Err(FieldError::new(p(&["array", name]), format!("{v} is larger than 65536")));
        }
    }
    Ok(())
}
