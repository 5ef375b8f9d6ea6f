//! Our methods against the standard ones (data-parallel, replicated PipeDream, tuned
//! GPipe) at equal staleness, on every bundled model, both machines and P ∈ {2,4,8,16}:
//! the heuristic keeps the cap and is never slower than the best standard method that
//! keeps it too; every such schedule simulates at exactly its period.

mod common;

use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};
use spikepipe_ir::Schedule;

fn run(specs: &spikepipe_compiler::Specs, m: Method, cap: Option<u64>) -> Schedule {
    let opts = CompileOptions::new(m).with_max_staleness(cap).reproducible(true);
    compile(specs, &opts).unwrap_or_else(|e| panic!("{} {m} cap {cap:?}: {e}", specs.model.name))
}

#[test]
fn heuristic_keeps_the_cap_and_beats_every_standard_method_at_equal_staleness() {
    let mut failures = Vec::new();
    let mut checked = 0;
    for model in common::models() {
        for hw in common::hardware() {
            for p in [2u64, 4, 8, 16] {
                let (model_path, hw_path) = (common::root().join(&model), common::root().join(&hw));
                let specs = load_specs(&model_path, Some(&hw_path), Some(p)).expect("bundled specs load");
                let what = |m: &str, cap: Option<u64>| {
                    format!("{} / {hw} / P={p} / {m} cap {cap:?}", specs.model.name)
                };
                let dp = run(&specs, Method::DataParallel, None);
                let gpipe = run(&specs, Method::Gpipe, None);
                if dp.max_staleness() != 0 || gpipe.max_staleness() != 0 {
                    failures.push(format!(
                        "{}: synchronous methods must have staleness 0",
                        what("dp/gpipe", None)
                    ));
                }
                for cap in [Some(0), Some(2), None] {
                    let pipedream = run(&specs, Method::Pipedream, cap);
                    let ours = run(&specs, Method::Heuristic, cap);
                    let mut standard = vec![dp.period_cycles, gpipe.period_cycles];
                    if cap.is_none_or(|c| pipedream.max_staleness() <= c) {
                        standard.push(pipedream.period_cycles);
                    }
                    let best = standard.into_iter().min().unwrap_or(u64::MAX);
                    if cap.is_some_and(|c| ours.max_staleness() > c) {
                        failures.push(format!(
                            "{}: staleness {}",
                            what("heuristic", cap),
                            ours.max_staleness()
                        ));
                    }
                    if ours.period_cycles > best {
                        failures.push(format!(
                            "{}: period {} above the best standard method's {best}",
                            what("heuristic", cap),
                            ours.period_cycles
                        ));
                    }
                    if cap == Some(0) && ours.period_cycles as f64 > 1.02 * dp.period_cycles as f64 {
                        failures.push(format!("{}: above 1.02 × data-parallel", what("heuristic", cap)));
                    }
                    if p == 16 {
                        let config =
                            SimConfig { iterations: 8, links: LinkModel::Dedicated, record_trace: false };
                        match simulate(&ours, &config) {
                            Ok(r) if r.achieved_period_cycles == Some(ours.period_cycles as f64) => {}
                            Ok(r) => failures.push(format!(
                                "{}: simulated {:?}",
                                what("heuristic", cap),
                                r.achieved_period_cycles
                            )),
                            Err(e) => failures.push(format!("{}: {e}", what("heuristic", cap))),
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 5 * 2 * 4 * 3, "checked only {checked}");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
