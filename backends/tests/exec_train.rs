//! Executor training tests: staleness semantics, determinism, checkpoints, errors.
#![allow(clippy::needless_range_loop, clippy::type_complexity)] // the reference reads best with indices

use nalgebra::DMatrix;
use spikepipe_backends::exec::{self, data, Dataset, ExecConfig, ExecError, Split, Trainer};
use spikepipe_ir::{
    Encoding, LayerOp, LayerStaleness, LrSchedule, Network, NeuronKind, NeuronSpec, Optimizer, Reset,
    Surrogate, TrainingSpec, WeightLayer,
};

fn mlp(sizes: &[u64], kind: NeuronKind, reset: Reset, t: u64, batch: u64) -> Network {
    let neuron = NeuronSpec {
        kind,
        alpha: Some(0.9),
        beta: 0.8,
        threshold: 1.0,
        reset,
        surrogate: Surrogate::default(),
    };
    Network {
        input: vec![sizes[0]],
        timesteps: t,
        batch,
        layers: sizes
            .windows(2)
            .enumerate()
            .map(|(i, w)| WeightLayer {
                index: i as u32 + 1,
                op: LayerOp::Linear { in_features: w[0], out_features: w[1] },
                neuron: neuron.clone(),
                pool: None,
                output_shape: vec![w[1]],
            })
            .collect(),
    }
}

fn stale(fwd: &[u64], grad: &[u64]) -> Vec<LayerStaleness> {
    fwd.iter()
        .enumerate()
        .map(|(i, &f)| LayerStaleness {
            layer: i as u32 + 1,
            forward: f,
            input_grad: (i > 0).then(|| grad[i]),
        })
        .collect()
}

fn small_digits(train: usize, test: usize) -> Dataset {
    exec::load_dataset(&exec::DatasetSpec::Digits, Some(train), Some(test)).expect("digits")
}

fn cfg(epochs: u64, opt: Optimizer, enc: Encoding) -> ExecConfig {
    let mut c = ExecConfig::new(TrainingSpec {
        optimizer: opt,
        lr: 2e-3,
        epochs,
        encoding: enc,
        ..Default::default()
    });
    c.seed = 7;
    c
}

#[test]
fn digits_split_is_first_1437_then_360() {
    let d = data::digits().expect("digits");
    assert_eq!((d.train.len(), d.test.len(), d.train.features), (1437, 360, 64));
    let mut counts = [0usize; 10];
    for &l in d.train.labels.iter().chain(&d.test.labels) {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert!(d.train.images.iter().all(|&p| (0.0..=1.0).contains(&p)));
    assert!(d.train.images.contains(&1.0));
}

fn final_weights(t: &Trainer<f32>) -> Vec<Vec<f32>> {
    t.weights().iter().map(|w| w.as_slice().to_vec()).collect()
}

#[test]
fn zero_staleness_ring_path_equals_plain_path_bit_for_bit() {
    let net = mlp(&[64, 24, 10], NeuronKind::Iir2, Reset::Subtract, 6, 32);
    let d = small_digits(200, 50);
    for opt in [Optimizer::Adam, Optimizer::Sgd] {
        let c = cfg(2, opt, Encoding::Rate);
        let mut plain = Trainer::<f32>::new(&net, &c, &stale(&[0, 0], &[0, 0])).expect("plain");
        let mut c2 = c.clone();
        c2.force_ring = true;
        let mut ring = Trainer::<f32>::new(&net, &c2, &[]).expect("ring");
        assert!(!plain.is_pipelined() && ring.is_pipelined());
        for _ in 0..2 {
            let a = plain.run_epoch(&d.train, &d.test, 2, &mut |_| {}).expect("plain epoch");
            let b = ring.run_epoch(&d.train, &d.test, 2, &mut |_| {}).expect("ring epoch");
            assert_eq!(a.train_loss.to_bits(), b.train_loss.to_bits());
            assert_eq!(a.test_accuracy, b.test_accuracy);
        }
        assert_eq!(final_weights(&plain), final_weights(&ring));
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let net = mlp(&[64, 32, 10], NeuronKind::Lif, Reset::Zero, 5, 48);
    let d = small_digits(150, 40);
    let run = |threads: usize| {
        let mut c = cfg(2, Optimizer::Adam, Encoding::Rate);
        c.threads = threads;
        let mut t = Trainer::<f32>::new(&net, &c, &stale(&[1, 0], &[0, 1])).expect("trainer");
        let mut reps = Vec::new();
        for _ in 0..2 {
            reps.push(t.run_epoch(&d.train, &d.test, 2, &mut |_| {}).expect("epoch"));
        }
        (
            final_weights(&t),
            reps.iter().map(|r| (r.train_loss.to_bits(), r.test_accuracy)).collect::<Vec<_>>(),
        )
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
    // And the same seed gives the same numbers again.
    assert_eq!(one, run(1));
}

/// Independent reference: per-sample loops in f64, delays as FIFOs of weight updates.
mod reference {
    use std::collections::VecDeque;

    pub struct Layer {
        pub w: Vec<Vec<f64>>, // [n][k], or [n][k + 1] with the bias last
        pub bias: bool,
        pub iir2: bool,
        pub alpha: f64,
        pub beta: f64,
        pub theta: f64,
        pub slope: f64,
    }

    fn sur(slope: f64, x: f64) -> f64 {
        1.0 / (1.0 + slope * x.abs()).powi(2)
    }

    /// Loss-sum gradients (scaled by 1/b) for a batch, given forward and input-grad weights.
    pub fn grads(
        layers: &[Layer],
        wf: &[Vec<Vec<f64>>],
        wg: &[Vec<Vec<f64>>],
        xs: &[Vec<f64>],
        labels: &[u8],
        steps: usize,
    ) -> Vec<Vec<Vec<f64>>> {
        let b = xs.len() as f64;
        let mut out: Vec<Vec<Vec<f64>>> = wf.iter().map(|w| vec![vec![0.0; w[0].len()]; w.len()]).collect();
        for (x, &label) in xs.iter().zip(labels) {
            // Forward: inputs per layer per step, membranes, spikes.
            let mut inp: Vec<Vec<Vec<f64>>> = vec![vec![x.clone(); steps]];
            let mut mems = Vec::new();
            for (l, lay) in layers.iter().enumerate() {
                let n = wf[l].len();
                let k = inp[l][0].len();
                let (mut i, mut v, mut sp) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
                let (mut ms, mut ss) = (Vec::new(), Vec::new());
                for t in 0..steps {
                    for o in 0..n {
                        let mut y: f64 = (0..k).map(|q| wf[l][o][q] * inp[l][t][q]).sum();
                        if lay.bias {
                            y += wf[l][o][k];
                        }
                        i[o] = if lay.iir2 { lay.alpha * i[o] + y } else { y };
                        v[o] = lay.beta * v[o] + i[o] - lay.theta * sp[o];
                        sp[o] = if v[o] > lay.theta { 1.0 } else { 0.0 };
                    }
                    ms.push(v.clone());
                    ss.push(sp.clone());
                }
                mems.push(ms);
                inp.push(ss);
            }
            let last = layers.len() - 1;
            let c = wf[last].len();
            let counts: Vec<f64> = (0..c).map(|o| (0..steps).map(|t| inp[last + 1][t][o]).sum()).collect();
            let mx = counts.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = counts.iter().map(|q| (q - mx).exp()).sum();
            let dz: Vec<f64> = (0..c)
                .map(|o| (counts[o] - mx).exp() / z - if o == label as usize { 1.0 } else { 0.0 })
                .collect();
            // Backward.
            let mut gs: Vec<Vec<f64>> = vec![dz.iter().map(|d| d / b).collect(); steps];
            for l in (0..layers.len()).rev() {
                let lay = &layers[l];
                let n = wf[l].len();
                let k = inp[l][0].len();
                assert_eq!(wf[l][0].len(), k + lay.bias as usize);
                let mut delta = vec![vec![0.0; n]; steps];
                let (mut lvn, mut lin) = (vec![0.0; n], vec![0.0; n]);
                for t in (0..steps).rev() {
                    for o in 0..n {
                        let lv = sur(lay.slope, mems[l][t][o] - lay.theta) * gs[t][o] + lay.beta * lvn[o];
                        lvn[o] = lv;
                        let li = if lay.iir2 { lv + lay.alpha * lin[o] } else { lv };
                        lin[o] = li;
                        delta[t][o] = li;
                    }
                }
                for t in 0..steps {
                    for o in 0..n {
                        for q in 0..k {
                            out[l][o][q] += delta[t][o] * inp[l][t][q];
                        }
                        if lay.bias {
                            out[l][o][k] += delta[t][o];
                        }
                    }
                }
                if l > 0 {
                    gs = (0..steps)
                        .map(|t| (0..k).map(|q| (0..n).map(|o| wg[l][o][q] * delta[t][o]).sum()).collect())
                        .collect();
                }
            }
        }
        out
    }

    /// Weights that lag the newest by `s` updates: a FIFO of pending update deltas.
    pub struct Delayed {
        pub w: Vec<Vec<f64>>,
        pub pending: VecDeque<Vec<Vec<f64>>>,
        pub s: usize,
    }

    impl Delayed {
        pub fn push(&mut self, delta: &[Vec<f64>]) {
            self.pending.push_back(delta.to_vec());
            while self.pending.len() > self.s {
                let d = self.pending.pop_front().expect("non-empty");
                for (row, drow) in self.w.iter_mut().zip(&d) {
                    for (a, b) in row.iter_mut().zip(drow) {
                        *a += b;
                    }
                }
            }
        }
    }
}

fn staleness_matches_reference(opt: Optimizer, fwd: &[u64], grad: &[u64], stashing: bool, bias: bool) {
    use reference::*;
    let net = mlp(&[64, 12, 8, 10], NeuronKind::Iir2, Reset::Subtract, 5, 8);
    let d = small_digits(64, 8);
    let mut c = cfg(1, opt, Encoding::Current);
    c.training.lr = 0.05;
    c.mitigation.stash = stashing;
    c.bias = bias;
    let st = stale(fwd, grad);
    let mut tr = Trainer::<f64>::new(&net, &c, &st).expect("trainer");
    let to_rows =
        |m: &DMatrix<f64>| (0..m.nrows()).map(|r| m.row(r).iter().cloned().collect()).collect::<Vec<_>>();
    let layers: Vec<Layer> = tr
        .weights()
        .iter()
        .map(|w| Layer { w: to_rows(w), bias, iir2: true, alpha: 0.9, beta: 0.8, theta: 1.0, slope: 25.0 })
        .collect();
    let nl = layers.len();
    let mut newest: Vec<Vec<Vec<f64>>> = layers.iter().map(|l| l.w.clone()).collect();
    let delay = |l: usize, g: bool| -> usize {
        if g && !stashing {
            grad[l] as usize
        } else {
            fwd[l] as usize
        }
    };
    let mut fw: Vec<Delayed> = (0..nl)
        .map(|l| Delayed { w: newest[l].clone(), pending: Default::default(), s: delay(l, false) })
        .collect();
    let mut gw: Vec<Delayed> = (0..nl)
        .map(|l| Delayed { w: newest[l].clone(), pending: Default::default(), s: delay(l, true) })
        .collect();
    let (mut m1, mut m2): (Vec<Vec<Vec<f64>>>, Vec<Vec<Vec<f64>>>) = (
        newest.iter().map(|w| vec![vec![0.0; w[0].len()]; w.len()]).collect(),
        newest.iter().map(|w| vec![vec![0.0; w[0].len()]; w.len()]).collect(),
    );
    let batches = 8;
    for bi in 0..batches {
        let idx: Vec<usize> = (bi * 8..bi * 8 + 8).collect();
        tr.train_batch(&d.train, &idx, 1, bi).expect("batch");
        let xs: Vec<Vec<f64>> =
            idx.iter().map(|&i| d.train.sample(i).iter().map(|&p| p as f64).collect()).collect();
        let labels: Vec<u8> = idx.iter().map(|&i| d.train.labels[i]).collect();
        let wf: Vec<_> = fw.iter().map(|d| d.w.clone()).collect();
        let wg: Vec<_> = gw.iter().map(|d| d.w.clone()).collect();
        let g = grads(&layers, &wf, &wg, &xs, &labels, 5);
        let t = (bi + 1) as i32;
        for l in 0..nl {
            let mut delta = g[l].clone();
            for (o, row) in delta.iter_mut().enumerate() {
                for (q, dv) in row.iter_mut().enumerate() {
                    let gr = g[l][o][q];
                    *dv = match opt {
                        Optimizer::Sgd => -(c.training.lr * gr),
                        Optimizer::Adam => {
                            m1[l][o][q] = 0.9 * m1[l][o][q] + 0.1 * gr;
                            m2[l][o][q] = 0.999 * m2[l][o][q] + (1.0 - 0.999) * gr * gr;
                            let bc1 = 1.0 - 0.9f64.powi(t);
                            let bc2 = 1.0 - 0.999f64.powi(t);
                            -((c.training.lr / bc1) * m1[l][o][q] / (m2[l][o][q].sqrt() / bc2.sqrt() + 1e-8))
                        }
                    };
                }
            }
            for (row, drow) in newest[l].iter_mut().zip(&delta) {
                for (a, b) in row.iter_mut().zip(drow) {
                    *a += b;
                }
            }
            fw[l].push(&delta);
            gw[l].push(&delta);
        }
    }
    let (mut moved, mut bias_moved) = (0.0f64, 0.0f64);
    for (l, w) in tr.weights().iter().enumerate() {
        for o in 0..w.nrows() {
            for q in 0..w.ncols() {
                let (a, b) = (w[(o, q)], newest[l][o][q]);
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    "layer {} w[{o},{q}] {a} vs reference {b}",
                    l + 1
                );
                moved = moved.max((b - layers[l].w[o][q]).abs());
                if bias && q + 1 == w.ncols() {
                    bias_moved = bias_moved.max((b - layers[l].w[o][q]).abs());
                }
            }
        }
    }
    assert!(moved > 1e-4, "training did not move the weights");
    assert!(!bias || bias_moved > 1e-4, "training did not move the biases");
}

#[test]
fn staleness_matches_fifo_reference_sgd() {
    staleness_matches_reference(Optimizer::Sgd, &[2, 1, 0], &[0, 2, 1], false, true);
    staleness_matches_reference(Optimizer::Sgd, &[2, 1, 0], &[0, 2, 1], false, false);
}

#[test]
fn staleness_matches_fifo_reference_adam() {
    staleness_matches_reference(Optimizer::Adam, &[1, 3, 0], &[0, 0, 2], false, true);
    staleness_matches_reference(Optimizer::Adam, &[0, 0, 0], &[0, 0, 0], false, true);
    staleness_matches_reference(Optimizer::Adam, &[1, 3, 0], &[0, 0, 2], false, false);
}

#[test]
fn weight_stashing_matches_fifo_reference() {
    staleness_matches_reference(Optimizer::Sgd, &[2, 1, 1], &[0, 0, 3], true, true);
}

#[test]
fn staleness_changes_training() {
    let net = mlp(&[64, 16, 10], NeuronKind::Iir2, Reset::Subtract, 4, 16);
    let d = small_digits(96, 16);
    let c = cfg(1, Optimizer::Adam, Encoding::Rate);
    let mut a = Trainer::<f32>::new(&net, &c, &[]).expect("a");
    let mut b = Trainer::<f32>::new(&net, &c, &stale(&[2, 2], &[0, 2])).expect("b");
    a.run_epoch(&d.train, &d.test, 1, &mut |_| {}).expect("a");
    b.run_epoch(&d.train, &d.test, 1, &mut |_| {}).expect("b");
    assert_ne!(final_weights(&a), final_weights(&b));
}

#[test]
fn nan_loss_is_a_typed_error_naming_epoch_and_batch() {
    let net = mlp(&[4, 2], NeuronKind::Lif, Reset::Subtract, 3, 2); // one layer: H would stop a NaN
    let mut train = Split { images: vec![0.5; 4 * 6], labels: vec![0, 1, 0, 1, 0, 1], features: 4 };
    train.images[4 * 3] = f32::NAN; // sample 3, in the second batch (unshuffled below)
    let mut c = cfg(1, Optimizer::Sgd, Encoding::Current);
    c.training.loss = spikepipe_ir::Loss::MembraneCe; // spike counts would hide the NaN
    let mut t = Trainer::<f32>::new(&net, &c, &[]).expect("t");
    t.train_batch(&train, &[0, 1], 1, 0).expect("first batch is finite");
    let err = t.train_batch(&train, &[2, 3], 1, 1).expect_err("NaN");
    assert!(matches!(err, ExecError::NonFinite { epoch: 1, batch: 1, .. }), "{err}");
    assert!(err.to_string().contains("epoch 1, batch 1"));
}

#[test]
fn staleness_list_must_match_layers() {
    let net = mlp(&[64, 16, 10], NeuronKind::Iir2, Reset::Subtract, 4, 16);
    let c = cfg(1, Optimizer::Adam, Encoding::Rate);
    assert!(matches!(Trainer::<f32>::new(&net, &c, &stale(&[1], &[0])), Err(ExecError::Staleness(_))));
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("spikepipe-exec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// Trains `net` for 3 epochs straight, and again from a checkpoint saved after epoch 1
/// into `dir/run.ckpt` (the resumed run saving to `save`); asserts that every epoch
/// matches bit for bit and returns (checkpoint path, straight run, resumed run).
fn resume_after_one_epoch(
    net: &Network,
    c: &mut exec::ExecConfig,
    d: &exec::Dataset,
    st: &[LayerStaleness],
    dir: &std::path::Path,
    save: Option<std::path::PathBuf>,
) -> (std::path::PathBuf, exec::ExecReport, exec::ExecReport) {
    let straight = exec::train_on(net, c, st, d, &mut |_| {}).expect("straight");
    let mut t = Trainer::<f32>::new(net, c, st).expect("t");
    t.run_epoch(&d.train, &d.test, 3, &mut |_| {}).expect("epoch 1");
    let path = dir.join("run.ckpt");
    t.save(&path).expect("save");
    c.resume = Some(path.clone());
    c.save = save;
    let resumed = exec::train_on(net, c, st, d, &mut |_| {}).expect("resumed");
    assert_eq!(straight.epochs.len(), 3);
    assert_eq!(resumed.epochs.len(), 3);
    for (a, b) in straight.epochs.iter().zip(&resumed.epochs) {
        assert_eq!((a.train_loss.to_bits(), a.test_accuracy), (b.train_loss.to_bits(), b.test_accuracy));
    }
    (path, straight, resumed)
}

#[test]
fn checkpoint_resume_gives_identical_weights_and_accuracy() {
    let dir = temp_dir("ckpt");
    let net = mlp(&[64, 20, 10], NeuronKind::Iir2, Reset::Subtract, 5, 32);
    let d = small_digits(160, 60);
    let st = stale(&[1, 0], &[0, 2]);
    let mut c = cfg(3, Optimizer::Adam, Encoding::Rate);
    let (path, _, resumed) =
        resume_after_one_epoch(&net, &mut c, &d, &st, &dir, Some(dir.join("final.ckpt")));
    // The final checkpoint evaluates to the reported accuracy and matches a straight run.
    let loaded = Trainer::<f32>::load(&dir.join("final.ckpt"), &net, &c, &st).expect("load");
    assert_eq!(loaded.evaluate(&d.test).expect("eval"), resumed.final_test_accuracy);
    let mut c3 = c.clone();
    c3.resume = None;
    c3.save = None;
    let mut again = Trainer::<f32>::new(&net, &c3, &st).expect("again");
    for _ in 0..3 {
        again.run_epoch(&d.train, &d.test, 3, &mut |_| {}).expect("epoch");
    }
    assert_eq!(final_weights(&again), final_weights(&loaded));
    // A different network is rejected.
    let other = mlp(&[64, 21, 10], NeuronKind::Iir2, Reset::Subtract, 5, 32);
    assert!(matches!(Trainer::<f32>::load(&path, &other, &c, &[]), Err(ExecError::Checkpoint { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checkpoint_mid_accumulation_resumes_identically() {
    // 5 minibatches an epoch with windows 2 and 3: the checkpoint after epoch 1 holds
    // a partial sum in both layers, which a resumed run must carry on from.
    let dir = temp_dir("ckpt-acc");
    let net = mlp(&[64, 20, 10], NeuronKind::Iir2, Reset::Subtract, 5, 32);
    let d = small_digits(160, 60);
    let st = stale(&[1, 0], &[0, 2]);
    let mut c = cfg(3, Optimizer::Adam, Encoding::Rate);
    c.mitigation = "accumulate".parse().expect("parses");
    let (path, straight, resumed) = resume_after_one_epoch(&net, &mut c, &d, &st, &dir, None);
    let (header, _) = Trainer::<f32>::read_header(&path).expect("header");
    assert_eq!(header.partial_sums, vec![true, true]);
    assert_eq!(header.layer_updates, vec![2, 1]);
    assert_eq!(straight.final_test_accuracy, resumed.final_test_accuracy);
    // Without the mitigation the same run differs: the sums are not a no-op.
    let mut plain = c.clone();
    plain.resume = None;
    plain.mitigation = exec::Mitigation::NONE;
    let other = exec::train_on(&net, &plain, &st, &d, &mut |_| {}).expect("plain");
    assert_ne!(other.epochs[0].train_loss.to_bits(), straight.epochs[0].train_loss.to_bits());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Mitigations against a hand-written reference that keeps every weight version and
/// applies the formulas of docs/time-to-accuracy.md directly.
fn mitigation_matches_reference(opt: Optimizer, fwd: &[u64], grad: &[u64], mitigation: &str) {
    mitigation_matches_reference_with(opt, fwd, grad, mitigation, LrSchedule::Constant);
}

fn mitigation_matches_reference_with(
    opt: Optimizer,
    fwd: &[u64],
    grad: &[u64],
    mitigation: &str,
    schedule: LrSchedule,
) {
    use reference::*;
    let mit: exec::Mitigation = mitigation.parse().expect("mitigation");
    let net = mlp(&[64, 12, 8, 10], NeuronKind::Iir2, Reset::Subtract, 5, 8);
    let d = small_digits(64, 8);
    let mut c = cfg(1, opt, Encoding::Current);
    c.training.lr = if opt == Optimizer::Sgd { 0.05 } else { 0.01 };
    c.training.lr_schedule = schedule;
    c.mitigation = mit;
    // Half of the 8 minibatches below warm up, so both phases of `warmup` are checked.
    c.warmup_iterations = Some(4);
    // The schedule runs over 10 iterations, so the last of the 8 still has a rate > 0.
    c.schedule_iterations = Some(10);
    let st = stale(fwd, grad);
    let mut tr = Trainer::<f64>::new(&net, &c, &st).expect("trainer");
    let to_rows =
        |m: &DMatrix<f64>| (0..m.nrows()).map(|r| m.row(r).iter().cloned().collect()).collect::<Vec<_>>();
    let layers: Vec<Layer> = tr
        .weights()
        .iter()
        .map(|w| Layer {
            w: to_rows(w),
            bias: false,
            iir2: true,
            alpha: 0.9,
            beta: 0.8,
            theta: 1.0,
            slope: 25.0,
        })
        .collect();
    let nl = layers.len();
    // hist[l][j]: version j of layer l.
    let mut hist: Vec<Vec<Vec<Vec<f64>>>> = layers.iter().map(|l| vec![l.w.clone()]).collect();
    let zeros = |w: &Vec<Vec<f64>>| vec![vec![0.0; w[0].len()]; w.len()];
    let mut m1: Vec<Vec<Vec<f64>>> = hist.iter().map(|h| zeros(&h[0])).collect();
    let mut m2 = m1.clone();
    // accumulate: layer l sums its gradients over w = max(s, s′) + 1 iterations and
    // updates every w-th (no prediction on it; the damping rules see a delay of 1; Adam's
    // t counts its own updates); otherwise w = 1.
    let sf = |l: usize| fwd[l] as usize;
    let sg = |l: usize| if mit.stash { fwd[l] as usize } else { grad[l] as usize };
    let window = |l: usize| if mit.accumulate { sf(l).max(sg(l)) + 1 } else { 1 };
    let damped = |l: usize| if window(l) > 1 { 1 } else { sf(l) };
    let mut sums: Vec<Option<Vec<Vec<f64>>>> = vec![None; nl];
    let mut updates = vec![0i32; nl];
    let read = |h: &Vec<Vec<Vec<f64>>>, i: usize, dl: usize, w: usize| -> Vec<Vec<f64>> {
        let j = i.saturating_sub(dl);
        let wj = &h[j];
        if !mit.predict || dl == 0 || w > 1 {
            return wj.clone();
        }
        let prev = &h[j.saturating_sub(1)];
        wj.iter()
            .zip(prev)
            .map(|(r, p)| r.iter().zip(p).map(|(a, b)| a + dl as f64 * (a - b)).collect())
            .collect()
    };
    let batches = 8;
    for i in 0..batches {
        let idx: Vec<usize> = (i * 8..i * 8 + 8).collect();
        tr.train_batch(&d.train, &idx, 1, i).expect("batch");
        let xs: Vec<Vec<f64>> =
            idx.iter().map(|&q| d.train.sample(q).iter().map(|&p| p as f64).collect()).collect();
        let labels: Vec<u8> = idx.iter().map(|&q| d.train.labels[q]).collect();
        let wf: Vec<_> = (0..nl).map(|l| read(&hist[l], i, sf(l), window(l))).collect();
        let wg: Vec<_> = (0..nl).map(|l| read(&hist[l], i, sg(l), window(l))).collect();
        let mut g = grads(&layers, &wf, &wg, &xs, &labels, 5);
        for l in 0..nl {
            let newest = hist[l][i].clone();
            // Adam's t of the layer before this update.
            let t_before = if window(l) > 1 { updates[l] } else { i as i32 };
            if mit.delay_comp && sf(l) > 0 && t_before > 0 {
                for o in 0..g[l].len() {
                    for q in 0..g[l][o].len() {
                        let gr = g[l][o][q];
                        let lambda = match opt {
                            Optimizer::Sgd => 0.04,
                            Optimizer::Adam => {
                                let bc2 = 1.0 - 0.999f64.powi(t_before);
                                2.0 / ((m2[l][o][q] / bc2).sqrt() + 1e-8)
                            }
                        };
                        g[l][o][q] = gr + lambda * gr * gr * (newest[o][q] - wf[l][o][q]);
                    }
                }
            }
            // The schedule's factor c(i): cosine lr · (1 + cos(π·i/K)) / 2 with K = 10.
            let c_i = match schedule {
                LrSchedule::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * i as f64 / 10.0).cos()),
                LrSchedule::Constant => 1.0,
            };
            // lr-cap: lr · min(c(i), 1 / (1 + s)).
            let s = damped(l) as f64;
            let capped = if mit.lr_cap { c_i.min(1.0 / (1.0 + s)) } else { c_i };
            let mut lr = c.training.lr * capped * if mit.lr_scale { 1.0 / (1.0 + s) } else { 1.0 };
            if mit.lr_sqrt {
                lr /= (1.0 + s).sqrt();
            }
            if mit.warmup && s > 0.0 {
                // PipeMare: lr · (1 + s)^−(1 − min(1, i/K)), K = 4.
                lr *= (1.0 + s).powf(-(1.0 - (i as f64 / 4.0).min(1.0)));
            }
            let w = window(l);
            if w > 1 {
                let sum = match sums[l].take() {
                    Some(a) => a
                        .iter()
                        .zip(&g[l])
                        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| p + q).collect())
                        .collect(),
                    None => g[l].clone(),
                };
                if (i + 1) % w != 0 {
                    sums[l] = Some(sum);
                    hist[l].push(newest);
                    continue;
                }
                g[l] = sum.iter().map(|r| r.iter().map(|v| v / w as f64).collect()).collect();
            }
            updates[l] += 1;
            let t = if w > 1 { updates[l] } else { (i + 1) as i32 };
            let mut next = newest.clone();
            for o in 0..next.len() {
                for q in 0..next[o].len() {
                    let gr = g[l][o][q];
                    next[o][q] += match opt {
                        Optimizer::Sgd => -(lr * gr),
                        Optimizer::Adam => {
                            // momentum: β1 = max(0, 9 − s) / (max(0, 9 − s) + 1).
                            let b1 = if mit.momentum {
                                let lag = 9usize.saturating_sub(damped(l)) as f64;
                                lag / (lag + 1.0)
                            } else {
                                0.9
                            };
                            m1[l][o][q] = b1 * m1[l][o][q] + (1.0 - b1) * gr;
                            m2[l][o][q] = 0.999 * m2[l][o][q] + (1.0 - 0.999) * gr * gr;
                            let bc1 = 1.0 - b1.powi(t);
                            let bc2 = 1.0 - 0.999f64.powi(t);
                            -((lr / bc1) * m1[l][o][q] / (m2[l][o][q].sqrt() / bc2.sqrt() + 1e-8))
                        }
                    };
                }
            }
            hist[l].push(next);
        }
    }
    let mut moved = 0.0f64;
    for (l, w) in tr.weights().iter().enumerate() {
        let want = &hist[l][batches];
        for o in 0..w.nrows() {
            for q in 0..w.ncols() {
                let (a, b) = (w[(o, q)], want[o][q]);
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                    "{mitigation}: layer {} w[{o},{q}] {a} vs reference {b}",
                    l + 1
                );
                moved = moved.max((b - hist[l][0][o][q]).abs());
            }
        }
    }
    assert!(moved > 1e-4, "training did not move the weights");
}

#[test]
fn lr_scale_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[2, 1, 0], &[0, 2, 1], "lr-scale");
    mitigation_matches_reference(Optimizer::Sgd, &[2, 1, 0], &[0, 2, 1], "lr-scale");
}

#[test]
fn lr_sqrt_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "lr-sqrt");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "lr-sqrt");
    mitigation_matches_reference(Optimizer::Adam, &[3, 2, 1], &[0, 0, 2], "lr-sqrt,predict,momentum");
}

#[test]
fn lr_cap_matches_reference() {
    // Constant rate: the cap is lr-scale.
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "lr-cap");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "lr-cap");
    // Cosine over 10 iterations: c(i) falls below 1/(1 + s) for s = 1 from i = 5 and for
    // s = 3 from i = 7, so both sides of the cap are checked within the 8 minibatches.
    mitigation_matches_reference_with(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "lr-cap", LrSchedule::Cosine);
    mitigation_matches_reference_with(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "lr-cap", LrSchedule::Cosine);
    mitigation_matches_reference_with(
        Optimizer::Adam,
        &[3, 2, 1],
        &[0, 0, 2],
        "lr-cap,predict",
        LrSchedule::Cosine,
    );
}

#[test]
fn lr_cap_differs_from_lr_scale_only_under_a_decaying_schedule() {
    let cap: exec::Mitigation = "lr-cap".parse().expect("parses");
    let scale: exec::Mitigation = "lr-scale".parse().expect("parses");
    // Constant schedule: identical factors.
    assert_eq!(cap.lr_factor(4, 10, 1, 1.0), scale.lr_factor(4, 10, 1, 1.0));
    // Scheduled factor 0.5 above the stable 1/5: capped at 0.2 (lr-scale gives 0.1).
    assert!((cap.lr_factor(4, 10, 1, 0.5) - 0.2).abs() < 1e-15);
    assert!((scale.lr_factor(4, 10, 1, 0.5) - 0.1).abs() < 1e-15);
    // Below the stable rate the schedule runs undamped; no delay, no damping.
    assert_eq!(cap.lr_factor(4, 10, 1, 0.1), 0.1);
    assert_eq!(cap.lr_factor(0, 10, 1, 0.7), 0.7);
}

#[test]
fn delay_comp_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "delay-comp");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "delay-comp");
}

#[test]
fn predict_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "predict");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "predict");
}

#[test]
fn momentum_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[9, 3, 0], &[0, 2, 1], "momentum");
    mitigation_matches_reference(Optimizer::Sgd, &[9, 3, 0], &[0, 2, 1], "momentum");
}

#[test]
fn warmup_matches_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "warmup");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "warmup");
    mitigation_matches_reference(Optimizer::Adam, &[3, 2, 1], &[0, 0, 2], "warmup,lr-scale,predict");
}

#[test]
fn cosine_schedule_matches_reference() {
    mitigation_matches_reference_with(Optimizer::Adam, &[0, 0, 0], &[0, 0, 0], "none", LrSchedule::Cosine);
    mitigation_matches_reference_with(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "none", LrSchedule::Cosine);
    mitigation_matches_reference_with(
        Optimizer::Adam,
        &[3, 2, 1],
        &[0, 0, 2],
        "lr-scale,predict",
        LrSchedule::Cosine,
    );
}

#[test]
fn accumulate_matches_reference() {
    // Windows 4, 3 and 2: within the 8 minibatches the layers update at different
    // iterations (after 4 and 8; 3 and 6; every second), with a partial window left over.
    mitigation_matches_reference(Optimizer::Adam, &[3, 1, 0], &[0, 2, 1], "accumulate");
    mitigation_matches_reference(Optimizer::Sgd, &[3, 1, 0], &[0, 2, 1], "accumulate");
    mitigation_matches_reference_with(
        Optimizer::Adam,
        &[3, 2, 1],
        &[0, 0, 2],
        "accumulate,lr-cap,predict,momentum",
        LrSchedule::Cosine,
    );
    mitigation_matches_reference(Optimizer::Adam, &[3, 2, 1], &[0, 0, 2], "stash,accumulate,delay-comp");
}

#[test]
fn combined_mitigations_match_reference() {
    mitigation_matches_reference(Optimizer::Adam, &[3, 2, 1], &[0, 0, 2], "stash,predict");
    mitigation_matches_reference(Optimizer::Adam, &[3, 2, 1], &[0, 0, 2], "predict,lr-scale,delay-comp");
    mitigation_matches_reference(Optimizer::Adam, &[0, 0, 0], &[0, 0, 0], "predict,lr-scale,delay-comp");
}

#[test]
fn mitigation_names_round_trip() {
    for s in [
        "none",
        "stash",
        "lr-scale",
        "delay-comp",
        "predict",
        "momentum",
        "lr-sqrt",
        "lr-cap",
        "accumulate",
        "stash,lr-scale,delay-comp,predict,momentum,warmup,lr-sqrt,lr-cap,accumulate",
    ] {
        let m: exec::Mitigation = s.parse().expect("parses");
        assert_eq!(m.to_string(), s);
    }
    assert_eq!("predict,stash".parse::<exec::Mitigation>().expect("parses").to_string(), "stash,predict");
    let e = "stash,bogus".parse::<exec::Mitigation>().expect_err("bogus");
    assert!(e.to_string().contains("'bogus'"), "{e}");
}

#[test]
fn evaluations_every_n_iterations_and_at_epoch_ends() {
    let net = mlp(&[64, 16, 10], NeuronKind::Iir2, Reset::Subtract, 4, 16);
    let d = small_digits(96, 16); // 6 batches per epoch
    let mut c = cfg(2, Optimizer::Adam, Encoding::Rate);
    c.eval_every = Some(4);
    let r = exec::train_on(&net, &c, &[], &d, &mut |_| {}).expect("train");
    let its: Vec<u64> = r.evals.iter().map(|e| e.iteration).collect();
    assert_eq!(its, vec![4, 6, 8, 12]);
    assert_eq!(r.evals[1].test_accuracy, r.epochs[0].test_accuracy);
    assert_eq!(r.evals[3].test_accuracy, r.final_test_accuracy);
    // Evaluating in between never changes the training.
    c.eval_every = None;
    let plain = exec::train_on(&net, &c, &[], &d, &mut |_| {}).expect("train");
    let acc = |r: &exec::ExecReport| {
        r.epochs.iter().map(|e| (e.train_loss.to_bits(), e.test_accuracy)).collect::<Vec<_>>()
    };
    assert_eq!(acc(&plain), acc(&r));
}

#[test]
fn time_to_accuracy_uses_fill_then_one_period_per_iteration() {
    let evals = [
        exec::EvalPoint {
            iteration: 10,
            epoch: 1,
            test_accuracy: 0.5,
            silent_outputs: 0.0,
            firing_rates: vec![],
        },
        exec::EvalPoint {
            iteration: 20,
            epoch: 1,
            test_accuracy: 0.81,
            silent_outputs: 0.0,
            firing_rates: vec![],
        },
        exec::EvalPoint {
            iteration: 30,
            epoch: 2,
            test_accuracy: 0.79,
            silent_outputs: 0.0,
            firing_rates: vec![],
        },
    ];
    let timing = exec::PipelineTiming { fill_cycles: 5_000, period_cycles: 1_000, clock_hz: 1e6 };
    let t = exec::time_to_accuracy(&evals, 0.8, Some(&timing));
    assert_eq!((t.iterations, t.reached), (Some(20), true));
    assert!((t.seconds.expect("timed") - (5_000.0 + 19.0 * 1_000.0) / 1e6).abs() < 1e-12);
    let miss = exec::time_to_accuracy(&evals, 0.9, Some(&timing));
    assert_eq!((miss.iterations, miss.seconds, miss.reached), (None, None, false));
    assert_eq!(exec::time_to_accuracy(&evals, 0.8, None).seconds, None);
}

/// `dense_kernels` swaps the accumulate-only spike kernels for the dense GEMM: in f64,
/// with rate-coded (binary) input on every layer, a few minibatches of training agree
/// to rounding, and the weights end where the default run's end — but not bit for bit,
/// which shows the other kernel ran.
#[test]
fn dense_kernels_train_like_the_spike_kernels() {
    // T · batch = 640 columns: the dense weight-gradient GEMM then sums in blocks (the
    // spike kernel in one run), so the two orders differ; at a few hundred or fewer
    // they happen to coincide exactly (adding a zero product changes nothing).
    let net = mlp(&[64, 32, 16, 10], NeuronKind::Iir2, Reset::Subtract, 40, 16);
    let d = small_digits(64, 8);
    let run = |dense: bool| {
        let mut c = cfg(1, Optimizer::Adam, Encoding::Rate);
        c.dense_kernels = dense;
        let mut tr = Trainer::<f64>::new(&net, &c, &stale(&[1, 0, 0], &[0, 0, 0])).expect("trainer");
        let losses: Vec<f64> = (0..4)
            .map(|i| {
                tr.train_batch(&d.train, &(i * 16..i * 16 + 16).collect::<Vec<_>>(), 1, i).expect("batch").0
            })
            .collect();
        (losses, tr.weights().into_iter().cloned().collect::<Vec<DMatrix<f64>>>())
    };
    let (sparse, ws) = run(false);
    let (dense, wd) = run(true);
    for (a, b) in sparse.iter().zip(&dense) {
        assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "loss {a} vs {b}");
    }
    for (a, b) in ws.iter().zip(&wd) {
        assert!((a - b).amax() <= 1e-9, "weights differ by {}", (a - b).amax());
    }
    assert!(sparse.iter().any(|&l| l > 0.0), "the runs trained");
    // Another summation order really ran (the switch is wired): not bit-identical.
    let bits = |w: &[DMatrix<f64>]| w.iter().flat_map(|m| m.iter().map(|x| x.to_bits())).collect::<Vec<_>>();
    assert_ne!(bits(&ws), bits(&wd), "--dense-kernels changed nothing");
}
