//! Estimated time to accuracy against the best standard method, for every bundled model on
//! both machines at P = 2, 4, 8, 16 (or the P given as arguments), as CSV on stdout.
//!
//! A schedule of period II whose layers are at most s updates stale is estimated to reach
//! an accuracy in time ∝ II · (1 + C · s), C the staleness cost: the fraction of extra
//! iterations one update of staleness costs (docs/scheduling.md, "One objective";
//! `spikepipe tune` measures it). For each C, "ours" is `heuristic`'s cheapest schedule
//! uncapped and under every cap 0..=8, and "standard" the cheapest of data-parallel, tuned
//! GPipe and replicated PipeDream (uncapped and under every cap 0..=8): the point each
//! side's user would pick knowing C.
//!
//! ```sh
//! cargo run --release --example versus_priced > versus_priced.csv
//! ```

use spikepipe_compiler::front::front;
use spikepipe_compiler::versus::priced;
use spikepipe_compiler::{load_specs, CompileOptions, Method};

const COSTS: [f64; 5] = [0.0, 0.01, 0.03, 0.1, 0.3];
const MAX_CAP: u64 = 8;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let processors: Vec<u64> =
        match std::env::args().skip(1).map(|a| a.parse()).collect::<Result<Vec<_>, _>>()? {
            p if p.is_empty() => vec![2, 4, 8, 16],
            p => p,
        };
    let mut models: Vec<_> = std::fs::read_dir(root.join("models"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    models.sort();
    println!(
        "machine,model,processors,staleness_cost,period_cycles,max_staleness,best_standard,\
best_standard_period_cycles,best_standard_max_staleness,speedup"
    );
    let base = CompileOptions::new(Method::Heuristic).reproducible(true);
    let standard = [Method::DataParallel, Method::Pipedream, Method::Gpipe];
    for hw in ["sa32-ws", "sa128-ws"] {
        let hw_path = root.join(format!("models/hw/{hw}.yaml"));
        for model in &models {
            for &p in &processors {
                let specs = load_specs(model, Some(&hw_path), Some(p))?;
                eprintln!("{hw} {} P = {p}", specs.model.name);
                let ours = front(&specs, &[Method::Heuristic], MAX_CAP, &base, |_, _| {})?;
                let theirs = front(&specs, &standard, MAX_CAP, &base, |_, _| {})?;
                for c in COSTS {
                    let r = priced(&ours, &theirs, c).ok_or("an empty front")?;
                    println!(
                        "{hw},{},{p},{c},{},{},{},{},{},{:.3}",
                        specs.model.name,
                        r.ours.period_cycles,
                        r.ours.max_staleness,
                        r.standard.method,
                        r.standard.period_cycles,
                        r.standard.max_staleness,
                        r.speedup
                    );
                }
            }
        }
    }
    Ok(())
}
