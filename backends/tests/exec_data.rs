//! IDX loader and dataset selector tests (on small files written here).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use spikepipe_backends::exec::data::{self, DataError, DatasetSpec};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikepipe-exec-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn images(n: u32, r: u32, c: u32, magic: u32, extra: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for v in [magic, n, r, c] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend((0..(n * r * c) as usize + extra).map(|i| (i * 37 % 256) as u8));
    b
}

fn labels(n: u32, magic: u32) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&magic.to_be_bytes());
    b.extend_from_slice(&n.to_be_bytes());
    b.extend((0..n).map(|i| (i % 10) as u8));
    b
}

fn write(path: &Path, bytes: &[u8], gz: bool) {
    if gz {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).expect("gz");
        std::fs::write(path.with_extension("gz"), e.finish().expect("gz")).expect("write");
    } else {
        std::fs::write(path, bytes).expect("write");
    }
}

fn write_set(dir: &Path, gz: bool, n_train: u32, n_test: u32) {
    write(&dir.join("train-images-idx3-ubyte"), &images(n_train, 3, 2, 2051, 0), gz);
    write(&dir.join("train-labels-idx1-ubyte"), &labels(n_train, 2049), gz);
    write(&dir.join("t10k-images-idx3-ubyte"), &images(n_test, 3, 2, 2051, 0), gz);
    write(&dir.join("t10k-labels-idx1-ubyte"), &labels(n_test, 2049), gz);
}

#[test]
fn idx_raw_and_gzip_load_and_limits_apply() {
    for gz in [false, true] {
        let dir = temp_dir(if gz { "idx-gz" } else { "idx-raw" });
        write_set(&dir, gz, 7, 4);
        let d = data::idx_dir(&dir).expect("load");
        assert_eq!((d.train.len(), d.test.len(), d.train.features), (7, 4, 6));
        assert_eq!(d.train.images[1], 37.0 / 255.0);
        assert_eq!(d.train.labels[3], 3);
        let spec: DatasetSpec = format!("idx:{}", dir.display()).parse().expect("spec");
        let lim = data::load_dataset(&spec, Some(5), Some(2)).expect("limited");
        assert_eq!((lim.train.len(), lim.test.len()), (5, 2));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn idx_errors_are_typed() {
    let dir = temp_dir("idx-bad");
    write_set(&dir, false, 5, 3);
    write(&dir.join("train-images-idx3-ubyte"), &images(5, 3, 2, 2049, 0), false);
    assert!(matches!(data::idx_dir(&dir), Err(DataError::BadMagic { expected: 2051, found: 2049, .. })));
    write(&dir.join("train-images-idx3-ubyte"), &images(5, 3, 2, 2051, 2), false);
    assert!(matches!(data::idx_dir(&dir), Err(DataError::Size { expected: 46, found: 48, .. })));
    write(&dir.join("train-images-idx3-ubyte"), &images(5, 3, 2, 2051, 0), false);
    write(&dir.join("train-labels-idx1-ubyte"), &labels(5, 2051), false);
    assert!(matches!(data::idx_dir(&dir), Err(DataError::BadMagic { expected: 2049, .. })));
    write(&dir.join("train-labels-idx1-ubyte"), &labels(4, 2049), false);
    assert!(matches!(data::idx_dir(&dir), Err(DataError::CountMismatch { n_images: 5, n_labels: 4, .. })));
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).expect("rm");
    write(&dir.join("train-labels-idx1-ubyte"), &labels(5, 2049), false);
    let err = data::idx_dir(&dir).expect_err("missing");
    assert!(matches!(err, DataError::Io { .. }) && err.to_string().contains("t10k-labels"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dataset_spec_parses() {
    assert_eq!("digits".parse::<DatasetSpec>().expect("digits"), DatasetSpec::Digits);
    assert_eq!("idx:/x/y".parse::<DatasetSpec>().expect("idx"), DatasetSpec::Idx("/x/y".into()));
    assert!("mnist".parse::<DatasetSpec>().is_err());
    assert!("idx:".parse::<DatasetSpec>().is_err());
}

/// The real Fashion-MNIST from Debian's `dataset-fashion-mnist` (which `.ci/run`
/// installs): 60 000 + 10 000 images of 28 × 28, ten balanced classes.
#[test]
fn debian_fashion_mnist_loads() {
    let dir = std::path::Path::new("/usr/share/datasets/fashion-mnist");
    if !dir.exists() {
        eprintln!("skipped: {} is not installed (apt-get install dataset-fashion-mnist)", dir.display());
        return;
    }
    let d = spikepipe_backends::exec::data::idx_dir(dir).expect("the Debian IDX files load");
    assert_eq!((d.train.len(), d.test.len(), d.classes), (60_000, 10_000, 10));
    assert_eq!(d.train.features, 784);
    let mut counts = [0usize; 10];
    for &l in &d.test.labels {
        counts[l as usize] += 1;
    }
    assert_eq!(counts, [1000; 10], "the test set has 1000 images per class");
    assert!(d.test.images.iter().all(|&x| (0.0..=1.0).contains(&x)));
    assert!(d.test.images.iter().any(|&x| x > 0.99), "pixels are scaled by 255, not clipped to 0");
}
