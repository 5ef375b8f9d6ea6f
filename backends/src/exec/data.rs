//! Datasets: the embedded UCI digits and MNIST-format IDX directories.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};

/// The UCI digits file (CC BY 4.0, E. Alpaydin and C. Kaynak; see `backends/data/README.md`).
static DIGITS_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// Samples of the digits file used for training (the rest, 360, are the test set).
pub const DIGITS_TRAIN: usize = 1437;

/// Errors while reading data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// File could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Wrong IDX magic number.
    #[error("{path}: bad IDX magic number {found} (expected {expected})")]
    BadMagic {
        /// File.
        path: PathBuf,
        /// Expected magic (2051 images, 2049 labels).
        expected: u32,
        /// Found.
        found: u32,
    },
    /// File shorter or longer than its header says.
    #[error("{path}: size mismatch: header implies {expected} bytes, file has {found}")]
    Size {
        /// File.
        path: PathBuf,
        /// Expected bytes.
        expected: u64,
        /// Actual bytes.
        found: u64,
    },
    /// Image and label counts differ.
    #[error("{images}: {n_images} images but {labels} has {n_labels} labels")]
    CountMismatch {
        /// Images file.
        images: PathBuf,
        /// Labels file.
        labels: PathBuf,
        /// Image count.
        n_images: usize,
        /// Label count.
        n_labels: usize,
    },
    /// A label outside 0..=9.
    #[error("{path}: label {label} at index {index} is out of range 0..=9")]
    BadLabel {
        /// File.
        path: PathBuf,
        /// Sample index.
        index: usize,
        /// Value.
        label: u8,
    },
    /// Train and test images have different sizes.
    #[error("train images are {train:?} but test images are {test:?}")]
    ShapeMismatch {
        /// rows, cols of train.
        train: (usize, usize),
        /// rows, cols of test.
        test: (usize, usize),
    },
    /// Malformed embedded CSV or dataset spec.
    #[error("{0}")]
    Format(String),
}

/// Which dataset to use: `digits` or `idx:DIR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DatasetSpec {
    /// The embedded UCI digits (8×8, 1437 train / 360 test).
    Digits,
    /// A directory with `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
    /// `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
    Idx(PathBuf),
}

impl FromStr for DatasetSpec {
    type Err = DataError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "digits" {
            Ok(DatasetSpec::Digits)
        } else if let Some(dir) = s.strip_prefix("idx:") {
            if dir.is_empty() {
                return Err(DataError::Format("`idx:` needs a directory, e.g. idx:/data/mnist".into()));
            }
            Ok(DatasetSpec::Idx(PathBuf::from(dir)))
        } else {
            Err(DataError::Format(format!("unknown dataset `{s}` (expected `digits` or `idx:DIR`)")))
        }
    }
}

impl std::fmt::Display for DatasetSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatasetSpec::Digits => write!(f, "digits"),
            DatasetSpec::Idx(d) => write!(f, "idx:{}", d.display()),
        }
    }
}

/// Samples with features normalised to [0, 1].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// `len × features`, sample after sample.
    pub images: Vec<f32>,
    /// Class labels.
    pub labels: Vec<u8>,
    /// Features per sample.
    pub features: usize,
}

impl Split {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// No samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Features of sample `i`.
    pub fn sample(&self, i: usize) -> &[f32] {
        &self.images[i * self.features..(i + 1) * self.features]
    }
    /// Keeps the first `n` samples.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.labels.truncate(n);
            self.images.truncate(n * self.features);
        }
    }
}

/// A train/test dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name for reports.
    pub name: String,
    /// Training samples.
    pub train: Split,
    /// Test samples.
    pub test: Split,
    /// Number of classes (10).
    pub classes: usize,
}

/// Loads a dataset, keeping at most `train_limit` / `test_limit` samples (the first ones).
pub fn load_dataset(
    spec: &DatasetSpec,
    train_limit: Option<usize>,
    test_limit: Option<usize>,
) -> Result<Dataset, DataError> {
    let mut d = match spec {
        DatasetSpec::Digits => digits()?,
        DatasetSpec::Idx(dir) => idx_dir(dir)?,
    };
    if let Some(n) = train_limit {
        d.train.truncate(n);
    }
    if let Some(n) = test_limit {
        d.test.truncate(n);
    }
    Ok(d)
}

/// The embedded digits: first 1437 samples train, last 360 test, pixels / 16.
pub fn digits() -> Result<Dataset, DataError> {
    let mut text = String::new();
    GzDecoder::new(DIGITS_GZ)
        .read_to_string(&mut text)
        .map_err(|e| DataError::Format(format!("embedded digits: {e}")))?;
    let mut all = Split { features: 64, ..Split::default() };
    for (i, line) in text.lines().enumerate() {
        let vals: Vec<u32> = line
            .split(',')
            .map(|v| v.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|e| DataError::Format(format!("embedded digits line {}: {e}", i + 1)))?;
        if vals.len() != 65 || vals[64] > 9 {
            return Err(DataError::Format(format!("embedded digits line {}: malformed", i + 1)));
        }
        all.images.extend(vals[..64].iter().map(|&v| v as f32 / 16.0));
        all.labels.push(vals[64] as u8);
    }
    if all.len() != 1797 {
        return Err(DataError::Format(format!("embedded digits: {} rows, expected 1797", all.len())));
    }
    let test = Split {
        images: all.images.split_off(DIGITS_TRAIN * 64),
        labels: all.labels.split_off(DIGITS_TRAIN),
        features: 64,
    };
    Ok(Dataset { name: "digits".into(), train: all, test, classes: 10 })
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    let raw = std::fs::read(path).map_err(io)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..]).read_to_end(&mut out).map_err(io)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn check_len(path: &Path, bytes: &[u8], expected: u64) -> Result<(), DataError> {
    if bytes.len() as u64 != expected {
        return Err(DataError::Size { path: path.to_path_buf(), expected, found: bytes.len() as u64 });
    }
    Ok(())
}

/// Reads an IDX3 image file (gzip or raw): `(count, rows, cols, pixels)`.
pub fn read_idx_images(path: &Path) -> Result<(usize, usize, usize, Vec<u8>), DataError> {
    let b = read_maybe_gz(path)?;
    if b.len() < 16 {
        return Err(DataError::Size { path: path.to_path_buf(), expected: 16, found: b.len() as u64 });
    }
    let magic = be_u32(&b, 0);
    if magic != 2051 {
        return Err(DataError::BadMagic { path: path.to_path_buf(), expected: 2051, found: magic });
    }
    let (n, r, c) = (be_u32(&b, 4) as usize, be_u32(&b, 8) as usize, be_u32(&b, 12) as usize);
    check_len(path, &b, 16 + (n as u64) * (r as u64) * (c as u64))?;
    Ok((n, r, c, b[16..].to_vec()))
}

/// Reads an IDX1 label file (gzip or raw).
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    let b = read_maybe_gz(path)?;
    if b.len() < 8 {
        return Err(DataError::Size { path: path.to_path_buf(), expected: 8, found: b.len() as u64 });
    }
    let magic = be_u32(&b, 0);
    if magic != 2049 {
        return Err(DataError::BadMagic { path: path.to_path_buf(), expected: 2049, found: magic });
    }
    let n = be_u32(&b, 4) as u64;
    check_len(path, &b, 8 + n)?;
    Ok(b[8..].to_vec())
}

fn find_file(dir: &Path, stem: &str) -> Result<PathBuf, DataError> {
    for cand in [format!("{stem}.gz"), stem.to_string()] {
        let p = dir.join(&cand);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(DataError::Io {
        path: dir.join(stem),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "file not found (tried with and without .gz)",
        ),
    })
}

fn idx_split(dir: &Path, prefix: &str) -> Result<(Split, (usize, usize)), DataError> {
    let ip = find_file(dir, &format!("{prefix}-images-idx3-ubyte"))?;
    let lp = find_file(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
    let (n, r, c, px) = read_idx_images(&ip)?;
    let labels = read_idx_labels(&lp)?;
    if labels.len() != n {
        return Err(DataError::CountMismatch { images: ip, labels: lp, n_images: n, n_labels: labels.len() });
    }
    if let Some((index, &label)) = labels.iter().enumerate().find(|(_, &l)| l > 9) {
        return Err(DataError::BadLabel { path: lp, index, label });
    }
    let images = px.iter().map(|&p| p as f32 / 255.0).collect();
    Ok((Split { images, labels, features: r * c }, (r, c)))
}

/// Loads an MNIST-format directory (`train-*` and `t10k-*`), pixels / 255.
pub fn idx_dir(dir: &Path) -> Result<Dataset, DataError> {
    let (train, st) = idx_split(dir, "train")?;
    let (test, se) = idx_split(dir, "t10k")?;
    if st != se {
        return Err(DataError::ShapeMismatch { train: st, test: se });
    }
    Ok(Dataset { name: format!("idx:{}", dir.display()), train, test, classes: 10 })
}
