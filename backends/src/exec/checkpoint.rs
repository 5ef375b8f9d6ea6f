//! Checkpoints: everything needed to resume a run to bit-identical final weights.
//!
//! File format (`spikepipe-exec-checkpoint/1`), little-endian:
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `SPKEXEC1` |
//! | 8 | `u64` length H of the header |
//! | H | UTF-8 JSON [`Header`]: format, dtype (`f32`/`f64`), network, staleness, stashing, mitigations, seed, epochs done, optimizer (kind, lr, step), bias (absent: false), per-layer shapes (with a bias the last column is the bias) and number of kept weight versions, epoch history, evaluations, and under `accumulate` each layer's update count and whether it holds a partial sum |
//! | … | blob: for every layer in order, its weight versions oldest → newest (the last one is the current weights), then for Adam the first and second moments, then under `accumulate` the layer's partial sum of gradients if `partial_sums` says it has one; every matrix `rows × cols` in column-major order (`W[n, k]` at `k·rows + n`) as dtype values |
//!
//! The RNG needs no state: every random draw comes from a ChaCha8 stream derived from
//! (seed, epoch, batch, chunk), so (seed, epochs done) determine the rest of the run.

use std::path::Path;

use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};
use spikepipe_ir::{LayerStaleness, Network, Optimizer};

use super::trainer::Weights;
use super::{EpochReport, EvalPoint, ExecConfig, ExecError, Mitigation, OptState, Real, Trainer, WeightRing};

/// Magic bytes at the start of a checkpoint.
pub const MAGIC: &[u8; 8] = b"SPKEXEC1";
/// Value of the header's `format`.
pub const FORMAT: &str = "spikepipe-exec-checkpoint/1";

/// JSON header of a checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// [`FORMAT`].
    pub format: String,
    /// `f32` or `f64`.
    pub dtype: String,
    /// The network trained.
    pub network: Network,
    /// Staleness applied.
    pub staleness: Vec<LayerStaleness>,
    /// Weight stashing.
    pub weight_stashing: bool,
    /// Mitigations (`none` or a list, see [`Mitigation`]); absent in older files: stashing only.
    #[serde(default)]
    pub mitigation: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Completed epochs.
    pub epochs_done: u64,
    /// Optimizer kind.
    pub optimizer: Optimizer,
    /// Learning rate.
    pub lr: f64,
    /// Updates applied.
    pub step: u64,
    /// Whether the layers have a bias (the last weight column); absent in older files.
    #[serde(default)]
    pub bias: bool,
    /// Per layer: rows, cols, kept versions.
    pub layers: Vec<LayerEntry>,
    /// Reports of the completed epochs.
    pub history: Vec<EpochReport>,
    /// Test evaluations so far; absent in older files.
    #[serde(default)]
    pub evals: Vec<EvalPoint>,
    /// Under `accumulate`, per layer: its updates so far (Adam's t for it); absent in
    /// older files and without `accumulate`.
    #[serde(default)]
    pub layer_updates: Vec<u64>,
    /// Under `accumulate`, per layer: whether a partial sum of gradients follows its
    /// Adam moments in the blob; absent in older files and without `accumulate`.
    #[serde(default)]
    pub partial_sums: Vec<bool>,
}

/// Shape entry of one layer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerEntry {
    /// Rows N.
    pub rows: usize,
    /// Columns: K, or K + 1 with a bias.
    pub cols: usize,
    /// Weight versions stored (oldest first; the last is current).
    pub versions: usize,
}

fn bad(path: &Path, reason: impl Into<String>) -> ExecError {
    ExecError::Checkpoint { path: path.to_path_buf(), reason: reason.into() }
}

impl<F: Real> Trainer<F> {
    /// Writes a checkpoint (see the module docs for the format).
    pub fn save(&self, path: &Path) -> Result<(), ExecError> {
        let rings: Vec<Vec<&DMatrix<F>>> = match &self.weights {
            Weights::Plain(w) => w.iter().map(|w| vec![w]).collect(),
            Weights::Ring(r) => r.iter().map(|r| r.versions().collect()).collect(),
        };
        let header = Header {
            format: FORMAT.into(),
            dtype: F::DTYPE.into(),
            network: self.net.clone(),
            staleness: self.staleness.clone(),
            weight_stashing: self.mitigation.stash,
            mitigation: Some(self.mitigation.to_string()),
            seed: self.seed,
            epochs_done: self.epochs_done,
            optimizer: self.opt.kind,
            lr: self.opt.lr,
            step: self.opt.step,
            bias: self.plan.layers.iter().any(|l| l.bias),
            layers: rings
                .iter()
                .map(|v| LayerEntry { rows: v[0].nrows(), cols: v[0].ncols(), versions: v.len() })
                .collect(),
            history: self.history.clone(),
            evals: self.evals.clone(),
            layer_updates: if self.mitigation.accumulate { self.layer_updates.clone() } else { Vec::new() },
            partial_sums: if self.mitigation.accumulate {
                self.accumulated.iter().map(Option::is_some).collect()
            } else {
                Vec::new()
            },
        };
        let json = serde_json::to_vec(&header).map_err(|e| bad(path, e.to_string()))?;
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        for (l, versions) in rings.iter().enumerate() {
            for w in versions {
                w.iter().for_each(|&x| x.write_le(&mut out));
            }
            if self.opt.kind == Optimizer::Adam {
                self.opt.m[l].iter().for_each(|&x| x.write_le(&mut out));
                self.opt.v[l].iter().for_each(|&x| x.write_le(&mut out));
            }
            if let Some(sum) = self.accumulated[l].as_ref().filter(|_| self.mitigation.accumulate) {
                sum.iter().for_each(|&x| x.write_le(&mut out));
            }
        }
        // Write to a temporary file first so a killed run never leaves half a checkpoint.
        let tmp = path.with_extension("tmp-ckpt");
        // Errors name the file the user asked for, not the temporary one.
        std::fs::write(&tmp, &out).map_err(|source| ExecError::Io { path: path.to_path_buf(), source })?;
        std::fs::rename(&tmp, path).map_err(|source| ExecError::Io { path: path.to_path_buf(), source })
    }

    /// Reads a checkpoint's header.
    pub fn read_header(path: &Path) -> Result<(Header, Vec<u8>), ExecError> {
        let bytes =
            std::fs::read(path).map_err(|source| ExecError::Io { path: path.to_path_buf(), source })?;
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err(bad(path, "not a spikepipe executor checkpoint (bad magic)"));
        }
        let mut len8 = [0u8; 8];
        len8.copy_from_slice(&bytes[8..16]);
        let hlen = u64::from_le_bytes(len8) as usize;
        if bytes.len() < 16 + hlen {
            return Err(bad(path, "truncated header"));
        }
        let header: Header =
            serde_json::from_slice(&bytes[16..16 + hlen]).map_err(|e| bad(path, format!("header: {e}")))?;
        if header.format != FORMAT {
            return Err(bad(path, format!("format `{}`, expected `{FORMAT}`", header.format)));
        }
        Ok((header, bytes[16 + hlen..].to_vec()))
    }

    /// Restores a run: weights, kept versions, optimizer state, seed, epochs done and
    /// history come from the file; threads and the dataset from `cfg`. The network must
    /// be the one the checkpoint was made for. If the staleness differs from the
    /// checkpoint's, training continues from its newest weights with the new staleness.
    pub fn load(
        path: &Path,
        net: &Network,
        cfg: &ExecConfig,
        staleness: &[LayerStaleness],
    ) -> Result<Self, ExecError> {
        let (h, blob) = Self::read_header(path)?;
        if h.dtype != F::DTYPE {
            return Err(bad(path, format!("dtype {} but this executor runs {}", h.dtype, F::DTYPE)));
        }
        if &h.network != net {
            return Err(bad(path, "it was made for a different network (layers, shapes or neurons differ)"));
        }
        let mut cfg2 = cfg.clone();
        cfg2.seed = h.seed;
        cfg2.training.optimizer = h.optimizer;
        cfg2.bias = h.bias;
        let mut tr = Trainer::<F>::new(net, &cfg2, staleness)?;
        if tr.plan.layers.len() != h.layers.len() {
            return Err(bad(path, "layer count differs"));
        }
        let mut pos = 0usize;
        let mut take = |rows: usize, cols: usize| -> Result<DMatrix<F>, ExecError> {
            let n = rows * cols * F::BYTES;
            if blob.len() < pos + n {
                return Err(bad(path, "truncated data"));
            }
            let m =
                DMatrix::from_iterator(rows, cols, blob[pos..pos + n].chunks_exact(F::BYTES).map(F::read_le));
            pos += n;
            Ok(m)
        };
        let layers = h.layers.len();
        if !(h.layer_updates.is_empty() || h.layer_updates.len() == layers)
            || !(h.partial_sums.is_empty() || h.partial_sums.len() == layers)
        {
            return Err(bad(path, "per-layer accumulation state does not match the layer count"));
        }
        let mut all_versions = Vec::new();
        let mut m = Vec::new();
        let mut v = Vec::new();
        let mut sums = Vec::new();
        for (l, (e, lp)) in h.layers.iter().zip(&tr.plan.layers).enumerate() {
            if (e.rows, e.cols) != (lp.n, lp.cols()) || e.versions == 0 {
                return Err(bad(path, format!("layer {} has shape {}x{}", lp.index, e.rows, e.cols)));
            }
            let vers = (0..e.versions).map(|_| take(e.rows, e.cols)).collect::<Result<Vec<_>, _>>()?;
            all_versions.push(vers);
            if h.optimizer == Optimizer::Adam {
                m.push(take(e.rows, e.cols)?);
                v.push(take(e.rows, e.cols)?);
            }
            let partial = h.partial_sums.get(l).copied().unwrap_or(false);
            sums.push(if partial { Some(take(e.rows, e.cols)?) } else { None });
        }
        if pos != blob.len() {
            return Err(bad(path, "trailing data"));
        }
        let saved_mitigation = match &h.mitigation {
            Some(m) => m.parse::<Mitigation>().map_err(|e| bad(path, e.to_string()))?,
            None => Mitigation { stash: h.weight_stashing, ..Mitigation::NONE },
        };
        let same_staleness = h.staleness == tr.staleness && saved_mitigation == tr.mitigation;
        let depths: Vec<usize> = (0..tr.delays.len()).map(|l| tr.ring_depth(l)).collect();
        tr.weights = match &tr.weights {
            Weights::Plain(_) => {
                Weights::Plain(all_versions.into_iter().map(|mut v| v.pop().expect("non-empty")).collect())
            }
            Weights::Ring(_) => Weights::Ring(
                all_versions
                    .into_iter()
                    .zip(&depths)
                    .map(|(mut vers, &depth)| {
                        if !same_staleness {
                            vers = vec![vers.pop().expect("non-empty")];
                        }
                        WeightRing::from_versions(vers, depth)
                    })
                    .collect(),
            ),
        };
        tr.opt = OptState { kind: h.optimizer, lr: cfg.training.lr, step: h.step, m, v };
        // A run resumed under other staleness or mitigations starts its accumulation
        // windows afresh; its Adam moments keep the bias correction of the steps so far.
        let resumes_windows = same_staleness && !h.layer_updates.is_empty();
        tr.layer_updates = if resumes_windows { h.layer_updates } else { vec![h.step; layers] };
        tr.accumulated = if same_staleness { sums } else { vec![None; layers] };
        tr.epochs_done = h.epochs_done;
        tr.history = h.history;
        tr.evals = h.evals;
        Ok(tr)
    }
}
