//! Train mlp-digits with the gradient delays of an ILP schedule on four processors, and
//! without pipelining, on the bundled digits data.
//!
//! ```sh
//! cargo run --release --example train_pipelined
//! ```

use std::fmt::Write as _;
use std::path::Path;

use spikepipe_backends::exec::{self, DatasetSpec, ExecConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};

/// Epochs of each run (the model file asks for 30; a few show the trend in seconds).
pub const EPOCHS: u64 = 5;

/// Trains both ways; returns what it prints.
pub fn run() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs = load_specs(
        &root.join("models/mlp-digits.yaml"),
        Some(&root.join("models/hw/sa32-ws.yaml")),
        Some(4),
    )?;
    let mut opts = CompileOptions::new(Method::Ilp).reproducible(true);
    opts.time_limit = 2.0;
    let schedule = compile(&specs, &opts)?;

    let mut training = specs.model.training.clone();
    training.epochs = EPOCHS;
    let mut cfg = ExecConfig::new(training);
    cfg.dataset = DatasetSpec::Digits;
    cfg.threads = 0;
    let data = exec::load_dataset(&cfg.dataset, None, None)?;
    let mut quiet = |_: exec::Progress| {};
    let pipelined = exec::train_on(&specs.network, &cfg, &schedule.staleness, &data, &mut quiet)?;
    let baseline = exec::train_on(&specs.network, &cfg, &[], &data, &mut quiet)?;

    let stale: Vec<String> =
        schedule.staleness.iter().map(|l| format!("L{}: s={}", l.layer, l.forward)).collect();
    let mut out = String::new();
    writeln!(
        out,
        "ilp schedule on 4 processors: period {} cycles, staleness {}",
        schedule.period_cycles,
        stale.join(", ")
    )?;
    writeln!(out, "epoch  test acc (pipelined)  test acc (no pipelining)")?;
    for (p, b) in pipelined.epochs.iter().zip(&baseline.epochs) {
        writeln!(out, "{:>5}  {:>20.4}  {:>24.4}", p.epoch, p.test_accuracy, b.test_accuracy)?;
    }
    writeln!(
        out,
        "final test accuracy after {EPOCHS} epochs: pipelined {:.4}, no pipelining {:.4}",
        pipelined.final_test_accuracy, baseline.final_test_accuracy
    )?;
    Ok(out)
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    print!("{}", run()?);
    Ok(())
}
