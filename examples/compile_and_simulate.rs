//! Library API tour: load a model and a machine, compile a schedule with the ILP, and run
//! it through the cycle simulator.
//!
//! ```sh
//! cargo run --release --example compile_and_simulate
//! ```

use std::fmt::Write as _;
use std::path::Path;

use spikepipe_backends::sim::{simulate, SimConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};

/// Compiles mlp-digits for four 32×32 arrays and simulates it; returns what it prints.
pub fn run() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs = load_specs(
        &root.join("models/mlp-digits.yaml"),
        Some(&root.join("models/hw/sa32-ws.yaml")),
        Some(4),
    )?;
    let mut opts = CompileOptions::new(Method::Ilp).reproducible(true);
    opts.time_limit = 2.0; // seconds per ILP phase; on time-out the best incumbent is kept
    let schedule = compile(&specs, &opts)?;
    let report = simulate(&schedule, &SimConfig { iterations: 20, ..SimConfig::default() })?;

    let mut out = String::new();
    writeln!(
        out,
        "model {} on {} processors, method {}",
        schedule.model.name, schedule.hardware.processors, schedule.method
    )?;
    writeln!(
        out,
        "period {} cycles, lower bound {} cycles (period/LB {:.4}), solver status {}",
        schedule.period_cycles,
        schedule.lower_bound_cycles,
        schedule.period_cycles as f64 / schedule.lower_bound_cycles as f64,
        schedule.solver.status.name()
    )?;
    writeln!(
        out,
        "utilization {:.1} %, max staleness {}",
        100.0 * schedule.metrics.utilization,
        schedule.max_staleness()
    )?;
    writeln!(
        out,
        "simulated {} iterations: achieved period {} cycles (ratio {}), max {} iterations in flight",
        report.iterations,
        report.achieved_period_cycles.map_or("-".into(), |p| p.to_string()),
        report.period_ratio.map_or("-".into(), |r| format!("{r:.4}")),
        report.max_in_flight
    )?;
    Ok(out)
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    print!("{}", run()?);
    Ok(())
}
