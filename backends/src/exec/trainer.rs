//! [`Trainer`]: one training run — weights (with their past versions), optimiser state,
//! the minibatch step with its staleness and mitigations, epochs and evaluations.

use std::borrow::Cow;
use std::time::Instant;

use nalgebra::DMatrix;
use rand::seq::SliceRandom;
use rand::Rng;
use spikepipe_ir::{Encoding, LayerStaleness, LrSchedule, Network};

use super::encode::{encode, rng_for, RNG_CALIBRATE, RNG_INIT, RNG_SHUFFLE, RNG_TEST, RNG_TRAIN};
use super::mitigation::{delay_compensate, extrapolate, Mitigation, DC_LAMBDA_ADAM, DC_LAMBDA_SGD};
use super::parallel::Workers;
use super::tta::EvalPoint;
use super::{
    check_staleness, run_chunk, EpochReport, ExecConfig, ExecError, NetPlan, OptState, Progress, Real, Split,
    WeightRing, CHUNK,
};

/// Weights: a plain set (updated in place) or a ring of versions per layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Weights<F: Real> {
    Plain(Vec<DMatrix<F>>),
    Ring(Vec<WeightRing<F>>),
}

/// A training run in progress; generic over the float type.
#[derive(Debug, Clone)]
pub struct Trainer<F: Real> {
    pub(crate) net: Network,
    pub(crate) plan: NetPlan<F>,
    pub(crate) weights: Weights<F>,
    pub(crate) opt: OptState<F>,
    pub(crate) staleness: Vec<LayerStaleness>,
    /// (forward, input-gradient) versions behind per layer, after stashing.
    pub(crate) delays: Vec<(usize, usize)>,
    pub(crate) mitigation: Mitigation,
    pub(crate) seed: u64,
    pub(crate) epochs_done: u64,
    batch: usize,
    workers: Workers,
    encoding: Encoding,
    pub(crate) history: Vec<EpochReport>,
    pub(crate) evals: Vec<EvalPoint>,
    eval_every: Option<usize>,
    /// K of the `warmup` mitigation; `None` until the first epoch sets it to one epoch.
    warmup_iters: Option<u64>,
    /// K of the learning-rate schedule; `None` until the first epoch sets it to the
    /// run's epochs × minibatches (before that, the schedule's factor is 1).
    schedule_iters: Option<u64>,
    lr_schedule: LrSchedule,
    /// Per layer under `accumulate`: the gradients summed since its last update.
    pub(crate) accumulated: Vec<Option<DMatrix<F>>>,
    /// Per layer: the updates applied to it, Adam's t for it (every iteration's count,
    /// except for a layer that `accumulate` updates once a window).
    pub(crate) layer_updates: Vec<u64>,
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
        plan.sparse = !cfg.dense_kernels;
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
        let mitigation = cfg.mitigation;
        let delays: Vec<(usize, usize)> = staleness
            .iter()
            .map(|s| {
                let f = s.forward as usize;
                let g = if mitigation.stash { f } else { s.input_grad.unwrap_or(0) as usize };
                (f, g)
            })
            .collect();
        let pipelined = cfg.force_ring || delays.iter().any(|&(f, g)| f > 0 || g > 0);
        let layers = delays.len();
        let mut tr = Trainer {
            net: net.clone(),
            plan,
            weights: Weights::Plain(Vec::new()),
            opt: OptState::new(cfg.training.optimizer, cfg.training.lr, &[]),
            staleness,
            delays,
            mitigation,
            seed: cfg.seed,
            epochs_done: 0,
            batch: net.batch.max(1) as usize,
            workers: Workers::new(cfg.threads),
            encoding: cfg.training.encoding,
            history: Vec::new(),
            evals: Vec::new(),
            eval_every: cfg.eval_every.filter(|&n| n > 0),
            warmup_iters: cfg.warmup_iterations,
            schedule_iters: cfg.schedule_iterations,
            lr_schedule: cfg.training.lr_schedule,
            accumulated: vec![None; layers],
            layer_updates: vec![0; layers],
        };
        let shapes: Vec<(usize, usize)> = tr.plan.layers.iter().map(|l| (l.n, l.cols())).collect();
        tr.opt = OptState::new(cfg.training.optimizer, cfg.training.lr, &shapes);
        tr.weights = if pipelined {
            Weights::Ring(
                init.into_iter().enumerate().map(|(l, w)| WeightRing::new(w, tr.ring_depth(l))).collect(),
            )
        } else {
            Weights::Plain(init)
        };
        Ok(tr)
    }

    /// Rescales the initial weights layer by layer, from the input, so that each layer's
    /// firing rate on a calibration batch (the first `batch` training samples, their own
    /// spike stream) is `rate`; returns the factors. The synaptic input is linear in the
    /// weights, so the factor is found by bisection on the neuron alone. Default
    /// initialisations ignore that inputs are sparse binary spikes: on mlp-fmnist they
    /// leave the output layer silent (rate 0.3 %), the state the delayed runs could not
    /// leave (docs/time-to-accuracy.md).
    pub fn calibrate(&mut self, split: &Split, rate: f64) -> Result<Vec<f64>, ExecError> {
        self.check_data(split)?;
        let n = split.len().min(self.batch);
        if n == 0 || !(rate > 0.0 && rate < 1.0) {
            return Ok(vec![1.0; self.plan.layers.len()]);
        }
        let idx: Vec<usize> = (0..n).collect();
        let mut rng = rng_for(self.seed, RNG_CALIBRATE, 0, 0, 0);
        let mut x = encode::<F>(split, &idx, self.plan.steps, self.encoding, &mut rng);
        let mut w: Vec<DMatrix<F>> = self.weights().into_iter().cloned().collect();
        let mut factors = Vec::with_capacity(w.len());
        for (l, lp) in self.plan.layers.iter().enumerate() {
            let y = lp.forward(&w[l], &x, false);
            let spikes = |c: f64| {
                let yc: Vec<F> = y.as_slice().iter().map(|&v| v * F::f(c)).collect();
                let mut v = vec![F::zero(); yc.len()];
                let mut s = vec![F::zero(); yc.len()];
                lp.neuron.forward(&yc, &mut v, &mut s, lp.out_elems * n, false);
                s
            };
            let rate_at = |c: f64| spikes(c).iter().map(|v| v.to_f64()).sum::<f64>() / y.len() as f64;
            // Bisection on log c; the rate is non-decreasing in c for these neurons.
            let (mut lo, mut hi) = (-10.0f64, 10.0f64);
            for _ in 0..40 {
                let mid = 0.5 * (lo + hi);
                if rate_at(mid.exp()) < rate {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let c = (0.5 * (lo + hi)).exp();
            w[l] *= F::f(c);
            let s = DMatrix::from_vec(lp.out_elems, y.ncols(), spikes(c));
            x = lp.pool_forward(s).0;
            factors.push(c);
        }
        self.set_weights(w);
        Ok(factors)
    }

    /// Versions behind the newest that layer `l` may read (its ring keeps one more).
    pub(crate) fn ring_depth(&self, l: usize) -> usize {
        let (f, g) = self.delays[l];
        f.max(g) + self.mitigation.extra_versions()
    }

    /// Iterations whose gradients layer `l` sums into one update: `max(s, s′) + 1` under
    /// `accumulate`, else 1. Updated only every that many iterations, a layer's reads are
    /// at most one update behind the version its summed gradient is applied to.
    pub(crate) fn window(&self, l: usize) -> usize {
        let (f, g) = self.delays[l];
        if self.mitigation.accumulate {
            f.max(g) + 1
        } else {
            1
        }
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
                w.into_iter().enumerate().map(|(l, w)| WeightRing::new(w, self.ring_depth(l))).collect(),
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

    /// Updates applied so far (iterations trained).
    pub fn iterations(&self) -> u64 {
        self.opt.step
    }

    /// Reports of the completed epochs.
    pub fn history(&self) -> &[EpochReport] {
        &self.history
    }

    /// Test evaluations so far (every `eval_every` iterations and at every epoch's end).
    pub fn evals(&self) -> &[EvalPoint] {
        &self.evals
    }

    /// Staleness applied.
    pub fn staleness(&self) -> &[LayerStaleness] {
        &self.staleness
    }

    /// Mitigations applied.
    pub fn mitigation(&self) -> Mitigation {
        self.mitigation
    }

    /// Threads used.
    pub fn threads(&self) -> usize {
        self.workers.threads()
    }

    /// Sets the thread count (never changes results).
    pub fn set_threads(&mut self, threads: usize) {
        self.workers = Workers::new(threads.max(1));
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

    /// The weights read `d` versions behind the newest, extrapolated with `predict`.
    fn read<'a>(&self, ring: &'a WeightRing<F>, d: usize, window: usize) -> Cow<'a, DMatrix<F>> {
        if self.mitigation.predict && d > 0 && window == 1 {
            Cow::Owned(extrapolate(ring.behind(d), ring.behind(d + 1), d))
        } else {
            Cow::Borrowed(ring.behind(d))
        }
    }

    /// (forward weights, `Wᵀ` of the input-gradient pass) per layer for the next update.
    #[allow(clippy::type_complexity)]
    fn read_weights(&self) -> (Vec<Cow<'_, DMatrix<F>>>, Vec<Option<DMatrix<F>>>) {
        let plan = &self.plan;
        match &self.weights {
            Weights::Plain(w) => (
                w.iter().map(Cow::Borrowed).collect(),
                w.iter()
                    .zip(&plan.layers)
                    .map(|(w, lp)| lp.input_grad.then(|| w.columns(0, lp.k).transpose()))
                    .collect(),
            ),
            Weights::Ring(r) => {
                let fwd: Vec<Cow<'_, DMatrix<F>>> = r
                    .iter()
                    .zip(&self.delays)
                    .enumerate()
                    .map(|(l, (r, &(f, _)))| self.read(r, f, self.window(l)))
                    .collect();
                let wt = r
                    .iter()
                    .zip(&self.delays)
                    .zip(&plan.layers)
                    .zip(&fwd)
                    .enumerate()
                    .map(|(l, (((r, &(f, g)), lp), wf))| {
                        lp.input_grad.then(|| {
                            if g == f {
                                wf.columns(0, lp.k).transpose()
                            } else {
                                self.read(r, g, self.window(l)).columns(0, lp.k).transpose()
                            }
                        })
                    })
                    .collect();
                (fwd, wt)
            }
        }
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
        let (w_fwd, wt_grad) = self.read_weights();
        let w_refs: Vec<&DMatrix<F>> = w_fwd.iter().map(|w| w.as_ref()).collect();
        let wt_refs: Vec<Option<&DMatrix<F>>> = wt_grad.iter().map(|w| w.as_ref()).collect();
        let chunks: Vec<&[usize]> = idx.chunks(CHUNK).collect();
        let scale = F::one() / F::f(idx.len() as f64);
        let (seed, steps, enc, plan) = (self.seed, self.plan.steps, self.encoding, &self.plan);
        let results = self.workers.map(chunks.len(), |c| {
            let mut rng = rng_for(seed, RNG_TRAIN, epoch, bi as u64, c as u64);
            let x0 = encode::<F>(split, chunks[c], steps, enc, &mut rng);
            let labels: Vec<u8> = chunks[c].iter().map(|&i| split.labels[i]).collect();
            run_chunk(plan, &w_refs, Some(&wt_refs), x0, &labels, scale)
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
        if self.mitigation.delay_comp {
            if let Weights::Ring(r) = &self.weights {
                let lambda = if self.opt.kind == spikepipe_ir::Optimizer::Adam {
                    DC_LAMBDA_ADAM
                } else {
                    DC_LAMBDA_SGD
                };
                for (l, g) in grads.iter_mut().enumerate() {
                    let t = self.layer_updates[l];
                    if self.delays[l].0 > 0 && t > 0 {
                        delay_compensate(g, r[l].newest(), &w_fwd[l], self.opt.second_moment(l, t), lambda);
                    }
                }
            }
        }
        drop(w_refs);
        drop(w_fwd);
        let (k, warmup) = (self.opt.step, self.warmup_iters.unwrap_or(1));
        let schedule = self.schedule_iters.map_or(1.0, |t| self.lr_schedule.factor(k, t));
        // A layer that sums its gradients over a window of w iterations reads weights at
        // most one of its updates old, so the rules that damp a delay see a delay of 1.
        let windows: Vec<usize> = (0..self.delays.len()).map(|l| self.window(l)).collect();
        let factors: Vec<(f64, f64)> = self
            .delays
            .iter()
            .zip(&windows)
            .map(|(&(f, _), &w)| {
                let f = if w > 1 { 1 } else { f };
                (self.mitigation.lr_factor(f, k, warmup, schedule), self.mitigation.beta1(f))
            })
            .collect();
        self.opt.begin_step();
        match &mut self.weights {
            Weights::Plain(w) => {
                for (l, (w, g)) in w.iter_mut().zip(&grads).enumerate() {
                    self.layer_updates[l] += 1;
                    self.opt.apply(l, w, g, factors[l].0, factors[l].1, self.layer_updates[l]);
                }
            }
            Weights::Ring(r) => {
                for (l, (r, g)) in r.iter_mut().zip(grads).enumerate() {
                    let mut w = r.newest().clone();
                    // A window of 1 sums nothing and applies every gradient as it comes.
                    let window = windows[l];
                    let sum = match self.accumulated[l].take() {
                        Some(mut a) => {
                            a += &g;
                            a
                        }
                        None => g,
                    };
                    if (k + 1).is_multiple_of(window as u64) {
                        let mean = if window > 1 { sum / F::f(window as f64) } else { sum };
                        self.layer_updates[l] += 1;
                        self.opt.apply(l, &mut w, &mean, factors[l].0, factors[l].1, self.layer_updates[l]);
                    } else {
                        self.accumulated[l] = Some(sum);
                    }
                    r.push(w);
                }
            }
        }
        Ok((loss, correct))
    }

    /// Trains one epoch on `train` and evaluates on `test` (also every `eval_every`
    /// iterations if set).
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
        let mut eval_secs = 0.0;
        let mut order: Vec<usize> = (0..train.len()).collect();
        order.shuffle(&mut rng_for(self.seed, RNG_SHUFFLE, epoch, 0, 0));
        let batches = order.len().div_ceil(self.batch);
        self.warmup_iters.get_or_insert(batches as u64);
        self.schedule_iters.get_or_insert(epochs_total.max(1) * batches as u64);
        progress(Progress::EpochStart { epoch, epochs: epochs_total, batches });
        let (mut loss, mut correct) = (0.0, 0usize);
        for (bi, idx) in order.chunks(self.batch).enumerate() {
            let (l, c) = self.train_batch(train, idx, epoch, bi)?;
            loss += l;
            correct += c;
            let seen = ((bi + 1) * self.batch).min(order.len());
            progress(Progress::Batch { epoch, done: bi + 1, loss: loss / seen as f64 });
            let last = bi + 1 == batches;
            if !last && self.eval_every.is_some_and(|n| self.opt.step.is_multiple_of(n as u64)) {
                let t = Instant::now();
                let point = self.eval_point(test, epoch)?;
                eval_secs += t.elapsed().as_secs_f64();
                progress(Progress::Eval(&point));
            }
        }
        let train_secs = start.elapsed().as_secs_f64() - eval_secs;
        let point = self.eval_point(test, epoch)?;
        let n = train.len().max(1) as f64;
        let report = EpochReport {
            epoch,
            train_loss: loss / n,
            train_accuracy: correct as f64 / n,
            test_accuracy: point.test_accuracy,
            seconds: start.elapsed().as_secs_f64(),
            samples_per_second: if train_secs > 0.0 { train.len() as f64 / train_secs } else { 0.0 },
        };
        self.epochs_done = epoch;
        self.history.push(report.clone());
        progress(Progress::EpochEnd(&report));
        Ok(report)
    }

    /// Evaluates on `test` and records the point.
    fn eval_point(&mut self, test: &Split, epoch: u64) -> Result<EvalPoint, ExecError> {
        let (test_accuracy, silent_outputs, firing_rates) = self.evaluate_detail(test)?;
        let point =
            EvalPoint { iteration: self.opt.step, epoch, test_accuracy, silent_outputs, firing_rates };
        self.evals.push(point.clone());
        Ok(point)
    }

    /// Test accuracy of the newest weights (input spikes from a fixed per-sample-chunk stream).
    pub fn evaluate(&self, split: &Split) -> Result<f64, ExecError> {
        Ok(self.evaluate_detail(split)?.0)
    }

    /// Test accuracy, the fraction of samples whose output layer stayed silent (no
    /// output spike over all steps: the prediction is then class 0 by the argmax's tie
    /// rule, whatever the input), and every layer's firing rate.
    pub fn evaluate_detail(&self, split: &Split) -> Result<(f64, f64, Vec<f64>), ExecError> {
        self.check_data(split)?;
        if split.is_empty() {
            return Ok((0.0, 0.0, vec![0.0; self.plan.layers.len()]));
        }
        let w = self.weights();
        let idx: Vec<usize> = (0..split.len()).collect();
        let chunks: Vec<&[usize]> = idx.chunks(CHUNK).collect();
        let (seed, steps, enc, plan) = (self.seed, self.plan.steps, self.encoding, &self.plan);
        let results = self.workers.map(chunks.len(), |c| {
            let mut rng = rng_for(seed, RNG_TEST, c as u64, 0, 0);
            let x0 = encode::<F>(split, chunks[c], steps, enc, &mut rng);
            let labels: Vec<u8> = chunks[c].iter().map(|&i| split.labels[i]).collect();
            let r = run_chunk(plan, &w, None, x0, &labels, F::one());
            (r.correct, r.silent, r.spikes)
        });
        let n = split.len() as f64;
        let correct: usize = results.iter().map(|r| r.0).sum();
        let silent: usize = results.iter().map(|r| r.1).sum();
        let rates = (0..plan.layers.len())
            .map(|l| {
                let total: f64 = results.iter().map(|r| r.2[l]).sum();
                total / (n * steps as f64 * plan.layers[l].out_elems as f64)
            })
            .collect();
        Ok((correct as f64 / n, silent as f64 / n, rates))
    }
}
