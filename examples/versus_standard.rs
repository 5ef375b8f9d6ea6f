//! Speedup of `heuristic` over the best standard method (data-parallel, replicated
//! PipeDream, tuned GPipe) at staleness budgets 0, 1, 2 and unbounded, for every bundled
//! model on both machines at P = 2, 4, 8, 16, as CSV on stdout. The last column is the
//! lower bound of the period: no schedule beats it, so the mean of
//! `best_standard_period_cycles / lower_bound_cycles` over a budget's rows is the largest
//! mean speedup any schedule could reach there.
//!
//! ```sh
//! cargo run --release --example versus_standard > versus.csv
//! ```

use spikepipe_compiler::versus::versus_standard;
use spikepipe_compiler::{load_specs, CompileOptions, Method};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut models: Vec<_> = std::fs::read_dir(root.join("models"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    models.sort();
    println!("machine,model,processors,budget,period_cycles,max_staleness,best_standard,best_standard_period_cycles,best_standard_max_staleness,speedup,lower_bound_cycles");
    for hw in ["sa32-ws", "sa128-ws"] {
        let hw_path = root.join(format!("models/hw/{hw}.yaml"));
        for model in &models {
            let specs = load_specs(model, Some(&hw_path), None)?;
            let base = CompileOptions::new(Method::Heuristic).reproducible(true);
            let budgets = [Some(0), Some(1), Some(2), None];
            let rows =
                versus_standard(&specs, &[2, 4, 8, 16], &budgets, Method::Heuristic, &base, |_, _| {})?;
            for r in rows {
                println!(
                    "{hw},{},{},{},{},{},{},{},{},{:.3},{}",
                    r.model,
                    r.processors,
                    r.budget.map_or("none".into(), |b| b.to_string()),
                    r.period_cycles,
                    r.max_staleness,
                    r.best_standard,
                    r.best_standard_period_cycles,
                    r.best_standard_max_staleness,
                    r.speedup,
                    r.lower_bound_cycles
                );
            }
        }
    }
    Ok(())
}
