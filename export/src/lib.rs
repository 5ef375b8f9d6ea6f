//! `spikepipe export`: a compiled schedule as a self-contained PyTorch/snnTorch package.
//!
//! The package is the Python sources under `export/python/` (real files, included here
//! verbatim), the bundled digits data, and one generated `config.json` holding the
//! network, the training settings, the schedule's per-layer staleness and, for
//! stage-granular schedules, the pipeline stages `distributed.py` places on ranks
//! ([`stages()`]). The Python side reads everything model-specific from `config.json`, so
//! the sources stay plain files that can be read, linted and tested on their own.

pub mod stages;

use std::path::{Path, PathBuf};

use serde::Serialize;
use spikepipe_ir::{LayerStaleness, Network, Schedule, TrainingSpec};

pub use stages::{stages, NotStaged, Stage};

/// Format tag of `config.json`.
pub const CONFIG_FORMAT: &str = "spikepipe-export/1";

/// The files of an exported package: (name, contents).
pub const SOURCES: &[(&str, &str)] = &[
    ("model.py", include_str!("../python/model.py")),
    ("data.py", include_str!("../python/data.py")),
    ("train.py", include_str!("../python/train.py")),
    ("distributed.py", include_str!("../python/distributed.py")),
    ("requirements.txt", include_str!("../python/requirements.txt")),
    ("README.md", include_str!("../python/README.md")),
];

/// The UCI digits the executor embeds (`digits.csv.gz`, 1797 rows of 64 pixels + label).
pub const DIGITS_GZ: &[u8] = include_bytes!("../../backends/data/digits.csv.gz");

/// Errors of the exporter.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The schedule was compiled for another model.
    #[error("schedule {schedule}: {reason}")]
    Mismatch {
        /// Schedule file.
        schedule: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Writing the package failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// What `distributed.py` can do with the schedule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Distributed {
    /// Whether `distributed.py` runs this schedule.
    pub supported: bool,
    /// Why not (empty if supported).
    pub reason: String,
    /// Stages in layer order (empty if not supported).
    pub stages: Vec<Stage>,
    /// Micro-batches per minibatch (gpipe's; 1 otherwise).
    pub micro_batches: u64,
}

/// The contents of `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// [`CONFIG_FORMAT`].
    pub format: String,
    /// Model name.
    pub model: String,
    /// The network as the executor sees it (layers with folded pooling, neurons).
    pub network: Network,
    /// Optimizer, lr, epochs, loss, encoding.
    pub training: TrainingSpec,
    /// Per-layer staleness of the schedule.
    pub staleness: Vec<LayerStaleness>,
    /// Where the staleness came from (the `staleness_source` of `spikepipe train`).
    pub staleness_source: String,
    /// Scheduling method.
    pub method: String,
    /// Processors of the schedule.
    pub processors: u64,
    /// Period in cycles.
    pub period_cycles: u64,
    /// Stage placement for `distributed.py`.
    pub distributed: Distributed,
}

/// Builds the config of `schedule` (read from `schedule_path`) for `net`.
pub fn config(
    name: &str,
    net: &Network,
    training: &TrainingSpec,
    schedule: &Schedule,
    schedule_path: &Path,
) -> Result<Config, ExportError> {
    let mismatch = |reason: String| ExportError::Mismatch { schedule: schedule_path.to_path_buf(), reason };
    if schedule.model.name != name {
        return Err(mismatch(format!("was compiled for model `{}`, not `{name}`", schedule.model.name)));
    }
    if schedule.staleness.len() != net.layers.len() || schedule.model.layers as usize != net.layers.len() {
        return Err(mismatch(format!(
            "has {} weight layers, the model has {}",
            schedule.model.layers,
            net.layers.len()
        )));
    }
    if schedule.model.batch != net.batch {
        return Err(mismatch(format!("has batch {}, the model has {}", schedule.model.batch, net.batch)));
    }
    let distributed = match stages(schedule) {
        Ok(st) => {
            let replicas = st[0].processors.len();
            if let Some(s) = st.iter().find(|s| s.processors.len() != replicas) {
                Distributed {
                    supported: false,
                    reason: format!(
                        "stages are replicated unevenly (layers {:?} on {} processors, layers {:?} on {}); \
                         distributed.py needs the same replica count in every stage",
                        st[0].layers,
                        replicas,
                        s.layers,
                        s.processors.len()
                    ),
                    stages: st,
                    micro_batches: 1,
                }
            } else {
                Distributed {
                    supported: true,
                    reason: String::new(),
                    stages: st,
                    micro_batches: schedule.micro_batches.unwrap_or(1).max(1),
                }
            }
        }
        Err(e) => Distributed {
            supported: false,
            reason: format!(
                "a fine-grained schedule ({e}); it exports to train.py only, which applies its staleness \
                 in one process"
            ),
            stages: Vec::new(),
            micro_batches: 1,
        },
    };
    Ok(Config {
        format: CONFIG_FORMAT.into(),
        model: name.into(),
        network: net.clone(),
        training: training.clone(),
        staleness: schedule.staleness.clone(),
        staleness_source: format!("schedule {}", schedule_path.display()),
        method: schedule.method.clone(),
        processors: schedule.hardware.processors,
        period_cycles: schedule.period_cycles,
        distributed,
    })
}

/// Writes the package into `out` (created if missing); returns the files written.
pub fn write_package(config: &Config, out: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    let mut written = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> Result<(), ExportError> {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(io(&path))?;
        written.push(path);
        Ok(())
    };
    let json = serde_json::to_string_pretty(config).expect("config serialises");
    write("config.json", format!("{json}\n").as_bytes())?;
    for (name, text) in SOURCES {
        write(name, text.as_bytes())?;
    }
    write("digits.csv.gz", DIGITS_GZ)?;
    Ok(written)
}
