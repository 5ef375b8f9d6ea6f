//! The ILP against the fine-grained heuristic and PipeDream-style pipelining on one
//! model for P = 2, 4, 8 (`spikepipe_compiler::compare`).
//!
//! ```sh
//! cargo run --release --example compare_ilp_heuristic
//! ```

use std::fmt::Write as _;
use std::path::Path;

use spikepipe_compiler::compare::compare;
use spikepipe_compiler::{load_specs, CompileOptions, Method};

/// Compares ilp, heuristic and pipedream on cnn-fmnist (32×32 arrays); returns the table.
pub fn run() -> anyhow::Result<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let specs =
        load_specs(&root.join("models/cnn-fmnist.yaml"), Some(&root.join("models/hw/sa32-ws.yaml")), None)?;
    let mut opts = CompileOptions::new(Method::Ilp).reproducible(true);
    opts.time_limit = 1.0;
    let methods = [Method::Ilp, Method::Heuristic, Method::Pipedream];
    let rows = compare(&specs, &[2, 4, 8], &methods, &opts, |_, _| {})?;

    let mut out = format!("{} on sa32-ws\n", specs.model.name);
    writeln!(
        out,
        "{:>2}  {:<10} {:>10} {:>10} {:>9} {:>12} {:>10}  status",
        "P", "method", "period", "LB", "period/LB", "× pipedream", "staleness"
    )?;
    for (r, _) in &rows {
        writeln!(
            out,
            "{:>2}  {:<10} {:>10} {:>10} {:>9.4} {:>12.3} {:>10}  {}",
            r.processors,
            r.method,
            r.period_cycles,
            r.lower_bound_cycles,
            r.period_over_lb,
            r.speedup_vs_pipedream,
            r.max_staleness,
            r.status
        )?;
    }
    Ok(out)
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    print!("{}", run()?);
    Ok(())
}
