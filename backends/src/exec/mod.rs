//! `exec`: trains the SNN of a [`Network`] for real, with the gradient delays a schedule
//! implies (DESIGN §3, §6, §8).
//!
//! - Layers: linear, conv2d (im2col), avg/max pooling, flatten ([`layers`]); neurons `lif`
//!   and `iir2` with subtract or zero reset and BPTT through the reverse-time IIR filter
//!   ([`neuron`]); softmax cross-entropy on output spike counts or summed membrane ([`net`]).
//! - Bias: every weight layer has a bias by default (`y = W x + b`, as snnTorch's
//!   `nn.Linear`/`nn.Conv2d`; [`ExecConfig::bias`]), stored as the last weight column and
//!   initialised like PyTorch. It belongs to the executor's model only: DESIGN §3 writes
//!   `y = W x` and the systolic cost model ignores the bias (an O(N) add per output).
//! - Staleness: a ring of past weight versions per layer ([`staleness`]); with all
//!   staleness 0 the ring path is bit-for-bit the plain path. Mitigations of the
//!   staleness (weight stashing, learning-rate scaling, delay compensation, weight
//!   prediction) in [`mitigation`].
//! - Time to accuracy: test evaluations every N iterations and the simulated time of
//!   those iterations on a schedule ([`tta`]).
//! - Determinism: the batch is cut into fixed chunks of [`CHUNK`] samples, every chunk
//!   draws its input spikes from its own ChaCha8 stream derived from (seed, epoch, batch,
//!   chunk), and chunk gradients are summed in chunk order, so the thread count never
//!   changes a number.
//! - Data: embedded UCI digits or MNIST-format IDX directories ([`data`]).
//! - Checkpoints: weights, weight versions, optimizer state, epoch and history
//!   ([`checkpoint`], format documented there); a resumed run ends with the same weights.
//!
//! ```no_run
//! # use spikepipe_backends::exec::{self, ExecConfig};
//! # fn demo(net: &spikepipe_ir::Network, spec: &spikepipe_ir::TrainingSpec) -> Result<(), exec::ExecError> {
//! let cfg = ExecConfig::new(spec.clone());
//! let report = exec::train(net, &cfg, &[], &mut |_| {})?;
//! println!("test accuracy {:.3}", report.final_test_accuracy);
//! # Ok(()) }
//! ```

pub mod checkpoint;
pub mod data;
pub mod encode;
pub mod layers;
pub mod mitigation;
pub mod net;
pub mod neuron;
pub mod optim;
pub mod parallel;
pub mod progress;
pub mod real;
pub mod spikes;
pub mod staleness;
pub mod trainer;
pub mod tta;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use spikepipe_ir::{LayerStaleness, Network, TrainingSpec};

pub use data::{load_dataset, DataError, Dataset, DatasetSpec, Split};
pub use encode::encode;
pub use mitigation::{Mitigation, UnknownMitigation};
pub use net::{run_chunk, ChunkResult, NetPlan};
pub use optim::OptState;
pub use real::Real;
pub use staleness::WeightRing;
pub use trainer::Trainer;
pub use tta::{default_target, eval_interval, time_to_accuracy, EvalPoint, PipelineTiming, TimeToAccuracy};

/// Samples per chunk: the unit of parallel work and of the fixed gradient reduction order.
pub const CHUNK: usize = 16;

/// Errors of the executor.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Reading the dataset failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The network uses something the executor cannot run.
    #[error("layer {layer}: {reason}")]
    Unsupported {
        /// 1-based layer (0: the network as a whole).
        layer: u32,
        /// Why.
        reason: String,
    },
    /// The dataset does not fit the network.
    #[error(
        "dataset {dataset} has {features} features per sample but the network input {input:?} needs {needed}"
    )]
    InputMismatch {
        /// Dataset name.
        dataset: String,
        /// Features per sample.
        features: usize,
        /// Network input shape.
        input: Vec<u64>,
        /// Elements the network needs.
        needed: u64,
    },
    /// A label is not an output of the network.
    #[error("label {label} is not below the network's {classes} outputs")]
    Classes {
        /// Label.
        label: u8,
        /// Output count.
        classes: usize,
    },
    /// Staleness list does not match the layers.
    #[error("staleness: {0}")]
    Staleness(String),
    /// The loss became NaN or infinite.
    #[error("loss became {loss} in epoch {epoch}, batch {batch}")]
    NonFinite {
        /// 1-based epoch.
        epoch: u64,
        /// 0-based batch within the epoch.
        batch: usize,
        /// The loss.
        loss: f64,
    },
    /// A checkpoint file is unusable.
    #[error("checkpoint {path}: {reason}")]
    Checkpoint {
        /// File.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// I/O error on a checkpoint.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Settings of a training run.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecConfig {
    /// Optimizer, lr, epochs, loss, encoding.
    pub training: TrainingSpec,
    /// Dataset (used by [`train`]; [`train_on`] takes the data directly).
    pub dataset: DatasetSpec,
    /// Keep the first N training samples.
    pub train_limit: Option<usize>,
    /// Keep the first N test samples.
    pub test_limit: Option<usize>,
    /// Seed of initialisation, shuffling and spike encoding.
    pub seed: u64,
    /// Worker threads (0: all cores); never changes a result.
    pub threads: usize,
    /// Staleness mitigations ([`mitigation`]); `stash` is PipeDream's weight stashing.
    pub mitigation: Mitigation,
    /// Also evaluate the test set every N iterations ([`Trainer::evals`]); the end of
    /// every epoch is always evaluated.
    pub eval_every: Option<usize>,
    /// Use the weight-version ring even when every staleness is 0 (for tests).
    pub force_ring: bool,
    /// Detach the reset path in the backward (default true, as snnTorch).
    pub detach_reset: bool,
    /// Every weight layer has a bias, `y = W x + b`, stored as the last weight column
    /// (see [`layers`]). Default false: `y = W x` as DESIGN §3 writes it; with a bias,
    /// mlp-digits collapsed on 3 of 20 seeds in our runs, without it on none of 10.
    pub bias: bool,
    /// Calibrate the initial weights to this firing rate per layer ([`Trainer::calibrate`]).
    pub init_rate: Option<f64>,
    /// Use the dense GEMM even where the input is binary spikes (default false: the
    /// accumulate-only kernels of [`spikes`]). The two differ only in float summation
    /// order; the switch is there to measure what that order alone changes.
    pub dense_kernels: bool,
    /// Iterations of the `warmup` mitigation (default: one epoch of the training set).
    pub warmup_iterations: Option<u64>,
    /// K of the learning-rate schedule (`training.lr_schedule`; default: the run's
    /// epochs × minibatches per epoch, set by the first epoch).
    pub schedule_iterations: Option<u64>,
    /// Write a checkpoint here after every epoch.
    pub save: Option<PathBuf>,
    /// Start from this checkpoint (its seed, epoch, weights and optimizer state).
    pub resume: Option<PathBuf>,
}

impl ExecConfig {
    /// Defaults: digits, seed 0, one thread, no mitigation, evaluations at epoch ends.
    pub fn new(training: TrainingSpec) -> Self {
        ExecConfig {
            training,
            dataset: DatasetSpec::Digits,
            train_limit: None,
            test_limit: None,
            seed: 0,
            threads: 1,
            mitigation: Mitigation::NONE,
            eval_every: None,
            force_ring: false,
            detach_reset: true,
            bias: false,
            init_rate: None,
            dense_kernels: false,
            warmup_iterations: None,
            schedule_iterations: None,
            save: None,
            resume: None,
        }
    }
}

/// One epoch's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    /// 1-based epoch.
    pub epoch: u64,
    /// Mean training loss over the epoch's samples.
    pub train_loss: f64,
    /// Training accuracy (predictions made during the epoch's forward passes).
    pub train_accuracy: f64,
    /// Test accuracy after the epoch.
    pub test_accuracy: f64,
    /// Wall time of the epoch (training and test evaluation).
    pub seconds: f64,
    /// Training samples per second (training phase only).
    pub samples_per_second: f64,
}

/// Result of [`train`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecReport {
    /// Per-epoch numbers (including epochs restored from a checkpoint).
    pub epochs: Vec<EpochReport>,
    /// Test accuracy of the final weights.
    pub final_test_accuracy: f64,
    /// Staleness applied per layer.
    pub staleness: Vec<LayerStaleness>,
    /// Whether weight stashing was on.
    pub weight_stashing: bool,
    /// Mitigations applied (`none` or a comma-separated list).
    pub mitigation: String,
    /// Test evaluations (every `eval_every` iterations and at every epoch's end).
    pub evals: Vec<EvalPoint>,
    /// Dataset name.
    pub dataset: String,
    /// Training samples used.
    pub train_samples: usize,
    /// Test samples used.
    pub test_samples: usize,
    /// Seed.
    pub seed: u64,
}

/// Progress events for a progress bar.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// An epoch starts.
    EpochStart {
        /// 1-based epoch.
        epoch: u64,
        /// Total epochs.
        epochs: u64,
        /// Batches in the epoch.
        batches: usize,
    },
    /// A batch finished.
    Batch {
        /// 1-based epoch.
        epoch: u64,
        /// Batches done.
        done: usize,
        /// Mean loss of the epoch so far.
        loss: f64,
    },
    /// A test evaluation inside an epoch finished.
    Eval(&'a EvalPoint),
    /// An epoch finished.
    EpochEnd(&'a EpochReport),
}

/// Normalises a staleness list: empty means all zero; otherwise one entry per layer in order.
pub fn check_staleness(
    net: &Network,
    staleness: &[LayerStaleness],
) -> Result<Vec<LayerStaleness>, ExecError> {
    if staleness.is_empty() {
        return Ok(net
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerStaleness { layer: l.index, forward: 0, input_grad: (i > 0).then_some(0) })
            .collect());
    }
    if staleness.len() != net.layers.len() {
        return Err(ExecError::Staleness(format!(
            "{} entries for {} weight layers",
            staleness.len(),
            net.layers.len()
        )));
    }
    for (s, l) in staleness.iter().zip(&net.layers) {
        if s.layer != l.index {
            return Err(ExecError::Staleness(format!(
                "entry for layer {} where layer {} was expected",
                s.layer, l.index
            )));
        }
    }
    Ok(staleness.to_vec())
}

impl<F: Real> Trainer<F> {
    /// Builds the report of the run so far (evaluating the final weights if no epoch ran).
    pub fn report(&self, data: &Dataset) -> Result<ExecReport, ExecError> {
        let final_test_accuracy = match self.history.last() {
            Some(e) => e.test_accuracy,
            None => self.evaluate(&data.test)?,
        };
        Ok(ExecReport {
            epochs: self.history.clone(),
            final_test_accuracy,
            staleness: self.staleness.clone(),
            weight_stashing: self.mitigation.stash,
            mitigation: self.mitigation.to_string(),
            evals: self.evals.clone(),
            dataset: data.name.clone(),
            train_samples: data.train.len(),
            test_samples: data.test.len(),
            seed: self.seed,
        })
    }
}

/// Loads the configured dataset and trains (see [`train_on`]).
pub fn train(
    net: &Network,
    cfg: &ExecConfig,
    staleness: &[LayerStaleness],
    progress: &mut dyn FnMut(Progress),
) -> Result<ExecReport, ExecError> {
    let data = load_dataset(&cfg.dataset, cfg.train_limit, cfg.test_limit)?;
    train_on(net, cfg, staleness, &data, progress)
}

/// Trains `net` on `data` for `cfg.training.epochs` epochs (in f32) with the given
/// staleness (empty: none), resuming from `cfg.resume` and checkpointing to `cfg.save`
/// after every epoch if set.
pub fn train_on(
    net: &Network,
    cfg: &ExecConfig,
    staleness: &[LayerStaleness],
    data: &Dataset,
    progress: &mut dyn FnMut(Progress),
) -> Result<ExecReport, ExecError> {
    let needed: u64 = net.input.iter().product();
    if data.train.features as u64 != needed {
        return Err(ExecError::InputMismatch {
            dataset: data.name.clone(),
            features: data.train.features,
            input: net.input.clone(),
            needed,
        });
    }
    let mut tr = match &cfg.resume {
        Some(path) => Trainer::<f32>::load(path, net, cfg, staleness)?,
        None => {
            let mut tr = Trainer::<f32>::new(net, cfg, staleness)?;
            if let Some(rate) = cfg.init_rate {
                tr.calibrate(&data.train, rate)?;
            }
            tr
        }
    };
    while tr.epochs_done() < cfg.training.epochs {
        tr.run_epoch(&data.train, &data.test, cfg.training.epochs, progress)?;
        if let Some(path) = &cfg.save {
            tr.save(path)?;
        }
    }
    if let (Some(path), 0) = (&cfg.save, cfg.training.epochs) {
        tr.save(path)?;
    }
    tr.report(data)
}
