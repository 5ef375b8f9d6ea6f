//! Helpers shared by the integration tests: run the built binary from the workspace
//! root (so relative paths in messages and snapshots are stable), list the bundled
//! models and hardware, and make scratch directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root (the root package's manifest directory).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `spikepipe ARGS` in the workspace root.
pub fn spikepipe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spikepipe"))
        .args(args)
        .current_dir(root())
        .env_remove("SPIKEPIPE_TRACE")
        .output()
        .expect("runs the spikepipe binary")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(args: &[&str]) -> String {
    let o = spikepipe(args);
    assert!(
        o.status.success(),
        "spikepipe {} failed with {:?}:\n{}",
        args.join(" "),
        o.status.code(),
        stderr(&o)
    );
    stdout(&o)
}

fn yaml_files(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join(dir))
        .expect("reads a models directory")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| format!("{dir}/{}", p.file_name().expect("file name").to_string_lossy()))
        .collect();
    v.sort();
    v
}

/// The bundled models, `models/*.yaml`, relative to the root, sorted.
pub fn models() -> Vec<String> {
    yaml_files("models")
}

/// The bundled hardware, `models/hw/*.yaml`, relative to the root, sorted.
pub fn hardware() -> Vec<String> {
    yaml_files("models/hw")
}

/// `check` on every bundled machine ([`hardware`]), one thread each: the VGGs' rows are
/// the suite's longest tests, and the harness runs two tests at a time, so the last one
/// would otherwise run alone. Each call returns how many rows it checked and what failed;
/// the sums and all failures, in the machines' order.
pub fn on_every_machine(check: impl Fn(&str) -> (usize, Vec<String>) + Sync) -> (usize, Vec<String>) {
    let machines = hardware();
    let check = &check;
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|threads| {
        let running: Vec<_> = machines.iter().map(|hw| threads.spawn(move || check(hw))).collect();
        running
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let checked = results.iter().map(|(n, _)| n).sum();
    (checked, results.into_iter().flat_map(|(_, f)| f).collect())
}

/// `models/vgg16-cifar100.yaml` → `vgg16-cifar100`.
pub fn stem(path: &str) -> String {
    Path::new(path).file_stem().expect("file stem").to_string_lossy().into_owned()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spikepipe-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("creates a scratch directory");
    d
}

/// One `#[test]` per bundled model, each calling `$check("models/NAME.yaml")`, so the
/// test harness spreads the slow whole-zoo checks over the cores; the extra test
/// `one_test_per_bundled_model` fails when a model is added to `models/` without one.
#[allow(unused_macros)]
macro_rules! per_model_tests {
    ($check:ident: $($test:ident => $name:literal),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                $check(concat!("models/", $name, ".yaml"))
            }
        )+

        #[test]
        fn one_test_per_bundled_model() {
            let bundled: Vec<String> = common::models().iter().map(|m| common::stem(m)).collect();
            assert_eq!(bundled, [$($name),+], "add a test for each bundled model");
        }
    };
}
