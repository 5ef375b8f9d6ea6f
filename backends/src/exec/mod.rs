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
//!   staleness 0 the ring path is bit-for-bit the plain path.
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
pub mod layers;
pub mod net;
pub mod neuron;
pub mod optim;
pub mod progress;
pub mod staleness;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use spikepipe_ir::{Encoding, LayerStaleness, Network, TrainingSpec};

pub use data::{load_dataset, DataError, Dataset, DatasetSpec, Split};
pub use net::{run_chunk, ChunkResult, NetPlan};
pub use optim::OptState;
pub use staleness::WeightRing;

/// Samples per chunk: the unit of parallel work and of the fixed gradient reduction order.
pub const CHUNK: usize = 16;

/// Floating-point type of the executor (f32 for training, f64 for gradient checks).
pub trait Real: nalgebra::RealField + Copy + Send + Sync + 'static {
    /// Name in checkpoints.
    const DTYPE: &'static str;
    /// Bytes per value.
    const BYTES: usize;
    /// From f64.
    fn f(x: f64) -> Self;
    /// To f64.
    fn to_f64(self) -> f64;
    /// Appends the little-endian bytes.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads from `BYTES` little-endian bytes.
    fn read_le(b: &[u8]) -> Self;
}

impl Real for f32 {
    const DTYPE: &'static str = "f32";
    const BYTES: usize = 4;
    fn f(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Real for f64 {
    const DTYPE: &'static str = "f64";
    const BYTES: usize = 8;
    fn f(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn read_le(b: &[u8]) -> Self {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[..8]);
        f64::from_le_bytes(a)
    }
}

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
    /// Input-gradient passes read the weight version their forward pass read (PipeDream).
    pub weight_stashing: bool,
    /// Use the weight-version ring even when every staleness is 0 (for tests).
    pub force_ring: bool,
    /// Detach the reset path in the backward (default true, as snnTorch).
    pub detach_reset: bool,
    /// Every weight layer has a bias, `y = W x + b`, stored as the last weight column
    /// (see [`layers`]). Default false: `y = W x` as DESIGN §3 writes it; with a bias,
    /// mlp-digits collapsed on 3 of 20 seeds in our runs, without it on none of 10.
    pub bias: bool,
    /// Write a checkpoint here after every epoch.
    pub save: Option<PathBuf>,
    /// Start from this checkpoint (its seed, epoch, weights and optimizer state).
    pub resume: Option<PathBuf>,
}

impl ExecConfig {
    /// Defaults: digits, seed 0, one thread, no stashing.
    pub fn new(training: TrainingSpec) -> Self {
        ExecConfig {
            training,
            dataset: DatasetSpec::Digits,
            train_limit: None,
            test_limit: None,
            seed: 0,
            threads: 1,
            weight_stashing: false,
            force_ring: false,
            detach_reset: true,
            bias: false,
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
    /// An epoch finished.
    EpochEnd(&'a EpochReport),
}

/// Weights: a plain set (updated in place) or a ring of versions per layer.
#[derive(Debug, Clone, PartialEq)]
enum Weights<F: Real> {
    Plain(Vec<DMatrix<F>>),
    Ring(Vec<WeightRing<F>>),
}

/// A training run in progress; generic over the float type.
#[derive(Debug, Clone)]
pub struct Trainer<F: Real> {
    net: Network,
    plan: NetPlan<F>,
    weights: Weights<F>,
    opt: OptState<F>,
    staleness: Vec<LayerStaleness>,
    /// (forward, input-gradient) versions behind per layer, after stashing.
    delays: Vec<(usize, usize)>,
    weight_stashing: bool,
    seed: u64,
    epochs_done: u64,
    batch: usize,
    threads: usize,
    encoding: Encoding,
    history: Vec<EpochReport>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn rng_for(seed: u64, purpose: u64, a: u64, b: u64, c: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed ^ mix(purpose)));
    rng.set_stream(mix(a ^ mix(b ^ mix(c))));
    rng
}

const RNG_INIT: u64 = 1;
const RNG_SHUFFLE: u64 = 2;
const RNG_TRAIN: u64 = 3;
const RNG_TEST: u64 = 4;

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

/// Runs `f(0..n)` on up to `threads` threads; results in index order.
fn par_map<R: Send, G: Fn(usize) -> R + Sync>(n: usize, threads: usize, f: G) -> Vec<R> {
    if threads <= 1 || n <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut out: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(n))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        mine.push((i, f(i)));
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            for (i, r) in h.join().expect("executor worker panicked") {
                out[i] = Some(r);
            }
        }
    });
    out.into_iter().map(|r| r.expect("every chunk computed")).collect()
}

/// Encodes samples `idx` of `split` as the first layer's input, `features × (T·b)`.
pub fn encode<F: Real>(
    split: &Split,
    idx: &[usize],
    steps: usize,
    encoding: Encoding,
    rng: &mut ChaCha8Rng,
) -> DMatrix<F> {
    let b = idx.len();
    let k = split.features;
    let mut x = DMatrix::<F>::zeros(k, steps * b);
    let xs = x.as_mut_slice();
    // Rate coding draws u = next_u32() per input and step and fires if
    // `(u >> 8) · 2⁻²⁴ < p` — exactly `rng.random::<f32>() < p` — written as the integer
    // test `(u >> 8) < ⌈p · 2²⁴⌉` (exact: scaling by 2²⁴ is exact in f32) without a branch.
    let thresholds: Vec<u32> = match encoding {
        Encoding::Rate => idx
            .iter()
            .flat_map(|&i| split.sample(i).iter().map(|&p| (p.clamp(0.0, 1.0) * 16_777_216.0).ceil() as u32))
            .collect(),
        Encoding::Current => Vec::new(),
    };
    let (zero, one) = (F::zero(), F::one());
    for t in 0..steps {
        for (j, &i) in idx.iter().enumerate() {
            let p = split.sample(i);
            let col = &mut xs[(t * b + j) * k..(t * b + j + 1) * k];
            match encoding {
                Encoding::Rate => {
                    for (a, &thr) in col.iter_mut().zip(&thresholds[j * k..(j + 1) * k]) {
                        *a = if (rng.next_u32() >> 8) < thr { one } else { zero };
                    }
                }
                Encoding::Current => {
                    for (a, &pv) in col.iter_mut().zip(p) {
                        *a = F::f(pv as f64);
                    }
                }
            }
        }
    }
    x
}

impl<F: Real> Trainer<F> {
    /// A fresh run with PyTorch's default initialisation of `nn.Linear`/`nn.Conv2d`:
    /// weights (kaiming-uniform with a = √5) and bias both from U(±1/√fan_in), drawn with
    /// the config's seed (the bias after the weights, so the weights do not depend on it).
    pub fn new(net: &Network, cfg: &ExecConfig, staleness: &[LayerStaleness]) -> Result<Self, ExecError> {
        let staleness = check_staleness(net, staleness)?;
        let mut plan = NetPlan::<F>::with_bias(
            net,
            cfg.training.loss,
            cfg.training.encoding == Encoding::Rate,
            cfg.bias,
        )?;
        plan.detach_reset = cfg.detach_reset;
        let mut init = Vec::with_capacity(plan.layers.len());
        for lp in &plan.layers {
            let mut rng = rng_for(cfg.seed, RNG_INIT, lp.index as u64, 0, 0);
            let bound = 1.0 / (lp.k as f64).sqrt();
            let mut w = DMatrix::<F>::zeros(lp.n, lp.cols());
            // Column-major: the K weight columns first, then the bias column.
            for v in w.as_mut_slice() {
                *v = F::f(rng.random_range(-bound..bound));
            }
            init.push(w);
        }
        let delays: Vec<(usize, usize)> = staleness
            .iter()
            .map(|s| {
                let f = s.forward as usize;
                let g = if cfg.weight_stashing { f } else { s.input_grad.unwrap_or(0) as usize };
                (f, g)
            })
            .collect();
        let pipelined = cfg.force_ring || delays.iter().any(|&(f, g)| f > 0 || g > 0);
        let weights = if pipelined {
            Weights::Ring(
                init.into_iter().zip(&delays).map(|(w, &(f, g))| WeightRing::new(w, f.max(g))).collect(),
            )
        } else {
            Weights::Plain(init)
        };
        let shapes: Vec<(usize, usize)> = plan.layers.iter().map(|l| (l.n, l.cols())).collect();
        let threads = if cfg.threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            cfg.threads
        };
        Ok(Trainer {
            net: net.clone(),
            plan,
            weights,
            opt: OptState::new(cfg.training.optimizer, cfg.training.lr, &shapes),
            staleness,
            delays,
            weight_stashing: cfg.weight_stashing,
            seed: cfg.seed,
            epochs_done: 0,
            batch: net.batch.max(1) as usize,
            threads,
            encoding: cfg.training.encoding,
            history: Vec::new(),
        })
    }

    /// The newest weights of every layer (`out × fan-in`, plus the bias as the last column).
    pub fn weights(&self) -> Vec<&DMatrix<F>> {
        match &self.weights {
            Weights::Plain(w) => w.iter().collect(),
            Weights::Ring(r) => r.iter().map(|r| r.newest()).collect(),
        }
    }

    /// Replaces the weights (all kept versions) — e.g. to share an initialisation.
    pub fn set_weights(&mut self, w: Vec<DMatrix<F>>) {
        self.weights = match &self.weights {
            Weights::Plain(_) => Weights::Plain(w),
            Weights::Ring(_) => Weights::Ring(
                w.into_iter().zip(&self.delays).map(|(w, &(f, g))| WeightRing::new(w, f.max(g))).collect(),
            ),
        };
    }

    /// The compute plan (layer shapes, neuron parameters).
    pub fn plan(&self) -> &NetPlan<F> {
        &self.plan
    }

    /// Whether the version ring (pipelined path) is in use.
    pub fn is_pipelined(&self) -> bool {
        matches!(self.weights, Weights::Ring(_))
    }

    /// Epochs completed.
    pub fn epochs_done(&self) -> u64 {
        self.epochs_done
    }

    /// Reports of the completed epochs.
    pub fn history(&self) -> &[EpochReport] {
        &self.history
    }

    /// Staleness applied.
    pub fn staleness(&self) -> &[LayerStaleness] {
        &self.staleness
    }

    /// Threads used.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Sets the thread count (never changes results).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    fn check_data(&self, split: &Split) -> Result<(), ExecError> {
        let needed: u64 = self.net.input.iter().product();
        if split.features as u64 != needed {
            return Err(ExecError::InputMismatch {
                dataset: String::new(),
                features: split.features,
                input: self.net.input.clone(),
                needed,
            });
        }
        if let Some(&label) = split.labels.iter().find(|&&l| l as usize >= self.plan.classes) {
            return Err(ExecError::Classes { label, classes: self.plan.classes });
        }
        Ok(())
    }

    /// Trains one minibatch: samples `idx` of `split`, input spikes from the stream of
    /// (`epoch`, `bi`); applies one update. Returns (loss sum, correct predictions).
    pub fn train_batch(
        &mut self,
        split: &Split,
        idx: &[usize],
        epoch: u64,
        bi: usize,
    ) -> Result<(f64, usize), ExecError> {
        let plan = &self.plan;
        let nl = plan.layers.len();
        let (w_fwd, wt_grad): (Vec<&DMatrix<F>>, Vec<Option<DMatrix<F>>>) = match &self.weights {
            Weights::Plain(w) => (
                w.iter().collect(),
                w.iter()
                    .zip(&plan.layers)
                    .map(|(w, lp)| lp.input_grad.then(|| w.columns(0, lp.k).transpose()))
                    .collect(),
            ),
            Weights::Ring(r) => (
                r.iter().zip(&self.delays).map(|(r, &(f, _))| r.behind(f)).collect(),
                r.iter()
                    .zip(&self.delays)
                    .zip(&plan.layers)
                    .map(|((r, &(_, g)), lp)| lp.input_grad.then(|| r.behind(g).columns(0, lp.k).transpose()))
                    .collect(),
            ),
        };
        let wt_refs: Vec<Option<&DMatrix<F>>> = wt_grad.iter().map(|w| w.as_ref()).collect();
        let chunks: Vec<&[usize]> = idx.chunks(CHUNK).collect();
        let scale = F::one() / F::f(idx.len() as f64);
        let (seed, steps, enc) = (self.seed, plan.steps, self.encoding);
        let results = par_map(chunks.len(), self.threads, |c| {
            let mut rng = rng_for(seed, RNG_TRAIN, epoch, bi as u64, c as u64);
            let x0 = encode::<F>(split, chunks[c], steps, enc, &mut rng);
            let labels: Vec<u8> = chunks[c].iter().map(|&i| split.labels[i]).collect();
            run_chunk(plan, &w_fwd, Some(&wt_refs), x0, &labels, scale)
        });
        let mut it = results.into_iter();
        let first = it.next().expect("a batch has at least one chunk");
        let (mut loss, mut correct, mut grads) = (first.loss, first.correct, first.grads);
        for r in it {
            loss += r.loss;
            correct += r.correct;
            for (g, rg) in grads.iter_mut().zip(&r.grads) {
                *g += rg;
            }
        }
        if !loss.is_finite() {
            return Err(ExecError::NonFinite { epoch, batch: bi, loss });
        }
        drop(w_fwd);
        self.opt.begin_step();
        match &mut self.weights {
            Weights::Plain(w) => {
                for l in 0..nl {
                    self.opt.apply(l, &mut w[l], &grads[l]);
                }
            }
            Weights::Ring(r) => {
                for l in 0..nl {
                    let mut w = r[l].newest().clone();
                    self.opt.apply(l, &mut w, &grads[l]);
                    r[l].push(w);
                }
            }
        }
        Ok((loss, correct))
    }

    /// Trains one epoch on `train` and evaluates on `test`.
    pub fn run_epoch(
        &mut self,
        train: &Split,
        test: &Split,
        epochs_total: u64,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<EpochReport, ExecError> {
        self.check_data(train)?;
        self.check_data(test)?;
        let epoch = self.epochs_done + 1;
        let start = Instant::now();
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng_for(self.seed, RNG_SHUFFLE, epoch, 0, 0));
        let batches = order.len().div_ceil(self.batch);
        progress(Progress::EpochStart { epoch, epochs: epochs_total, batches });
        let (mut loss, mut correct) = (0.0, 0usize);
        for (bi, idx) in order.chunks(self.batch).enumerate() {
            let (l, c) = self.train_batch(train, idx, epoch, bi)?;
            loss += l;
            correct += c;
            let seen = ((bi + 1) * self.batch).min(order.len());
            progress(Progress::Batch { epoch, done: bi + 1, loss: loss / seen as f64 });
        }
        let train_secs = start.elapsed().as_secs_f64();
        let test_accuracy = self.evaluate(test)?;
        let n = train.len().max(1) as f64;
        let report = EpochReport {
            epoch,
            train_loss: loss / n,
            train_accuracy: correct as f64 / n,
            test_accuracy,
            seconds: start.elapsed().as_secs_f64(),
            samples_per_second: if train_secs > 0.0 { train.len() as f64 / train_secs } else { 0.0 },
        };
        self.epochs_done = epoch;
        self.history.push(report.clone());
        progress(Progress::EpochEnd(&report));
        Ok(report)
    }

    /// Test accuracy of the newest weights (input spikes from a fixed per-sample-chunk stream).
    pub fn evaluate(&self, split: &Split) -> Result<f64, ExecError> {
        self.check_data(split)?;
        if split.is_empty() {
            return Ok(0.0);
        }
        let w = self.weights();
        let idx: Vec<usize> = (0..split.len()).collect();
        let chunks: Vec<&[usize]> = idx.chunks(CHUNK).collect();
        let (seed, steps, enc, plan) = (self.seed, self.plan.steps, self.encoding, &self.plan);
        let results = par_map(chunks.len(), self.threads, |c| {
            let mut rng = rng_for(seed, RNG_TEST, c as u64, 0, 0);
            let x0 = encode::<F>(split, chunks[c], steps, enc, &mut rng);
            let labels: Vec<u8> = chunks[c].iter().map(|&i| split.labels[i]).collect();
            run_chunk(plan, &w, None, x0, &labels, F::one()).correct
        });
        Ok(results.iter().sum::<usize>() as f64 / split.len() as f64)
    }

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
            weight_stashing: self.weight_stashing,
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
        None => Trainer::<f32>::new(net, cfg, staleness)?,
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
