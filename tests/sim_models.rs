//! Every scheduling method on every bundled model and hardware, at P ∈ {2, 4, 8}, each
//! schedule compiled once and checked for everything a schedule of the zoo must satisfy:
//! - it passes the verifier, names its method and P, and is no faster than the lower
//!   bound;
//! - the simulator, with dedicated links, achieves exactly its period;
//! - the compiler's predicted peak memory per processor (`metrics.peak_memory_bytes`)
//!   equals what the simulator measures;
//! - the methods keep their order: ilp ≤ heuristic ≤ pipedream ≤ layerwise, and gpipe
//!   has no staleness.
//!
//! The heuristic is also checked under a staleness cap of 1 (where it picks sample
//! splits, replicated stages and hybrids). One file does all of this so that the zoo's
//! 210 schedules are compiled once per run of the suite, not once per property.

#[macro_use]
mod common;

use std::path::Path;

use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};
use spikepipe_ir::{memory_span_periods, verify_schedule, Schedule};

per_model_tests! {
    every_schedule_of_the_zoo_is_valid_and_simulates_as_predicted:
    cnn_fmnist => "cnn-fmnist",
    mlp_digits => "mlp-digits",
    mlp_fmnist => "mlp-fmnist",
    vgg11_cifar10 => "vgg11-cifar10",
    vgg16_cifar100 => "vgg16-cifar100",
}

fn every_schedule_of_the_zoo_is_valid_and_simulates_as_predicted(model: &str) {
    let model = &common::root().join(model);
    let machines = common::hardware().len();
    assert!(machines >= 2, "bundled hardware missing");
    let (checked, failures) = common::on_every_machine(|hw| on_hardware(model, &common::root().join(hw)));
    assert_eq!(checked, machines * 3 * (Method::ALL.len() + 1));
    assert!(failures.is_empty(), "{} of {checked} failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every method (and the heuristic at cap 1) on one machine at P = 2, 4, 8: how many
/// schedules were checked, and what failed.
fn on_hardware(model: &Path, hw: &Path) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for p in [2u64, 4, 8] {
        let specs = load_specs(model, Some(hw), Some(p))
            .unwrap_or_else(|e| panic!("{} on {}: {e}", model.display(), hw.display()));
        let runs = Method::ALL.iter().map(|&m| (m, None)).chain([(Method::Heuristic, Some(1))]);
        let mut periods = Vec::new();
        for (method, cap) in runs {
            let what = format!("{} / {} / P={p} / {method} cap {cap:?}", name(model), name(hw));
            let opts =
                CompileOptions::new(method).with_time_limit(0.5).with_max_staleness(cap).reproducible(true);
            match compile(&specs, &opts) {
                Ok(s) => {
                    failures.extend(check(&s, p, method).into_iter().map(|f| format!("{what}: {f}")));
                    if cap.is_none() {
                        periods.push((method, s.period_cycles, s.max_staleness()));
                    }
                }
                Err(e) => failures.push(format!("{what}: compile failed: {e}")),
            }
            checked += 1;
        }
        let at = format!("{} / {} / P={p}", name(model), name(hw));
        failures.extend(order_of_methods(&periods).into_iter().map(|f| format!("{at}: {f}")));
    }
    (checked, failures)
}

/// What is wrong with one schedule, if anything.
fn check(s: &Schedule, p: u64, method: Method) -> Vec<String> {
    let mut failures = Vec::new();
    if s.method != method.name() {
        failures.push(format!("method is {}", s.method));
    }
    if let Err(v) = verify_schedule(s) {
        failures.push(format!("verifier: {v}"));
    }
    if s.hardware.processors != p {
        failures.push(format!("P is {}", s.hardware.processors));
    }
    if s.lower_bound_cycles == 0 || s.period_cycles < s.lower_bound_cycles {
        failures.push(format!("period {} vs lower bound {}", s.period_cycles, s.lower_bound_cycles));
    }
    let predicted = s.metrics.peak_memory_bytes.clone();
    if predicted != spikepipe_ir::peak_memory_bytes(s) {
        failures.push("the metric is not the memory model's".into());
    }
    if predicted.iter().all(|&b| b == 0) {
        failures.push("no processor holds anything".into());
    }
    // Long enough for the memory peak of the steady state and for the period.
    let n = (2 * memory_span_periods(s) + 2).max(12) as u32;
    let config = SimConfig { iterations: n, links: LinkModel::Dedicated, record_trace: false };
    match simulate(s, &config) {
        Ok(r) => {
            if r.achieved_period_cycles != Some(s.period_cycles as f64) || r.max_start_delay_cycles != 0 {
                failures.push(format!(
                    "achieved {:?} vs scheduled {} (max delay {})",
                    r.achieved_period_cycles, s.period_cycles, r.max_start_delay_cycles
                ));
            }
            if r.peak_memory_bytes != predicted {
                failures.push(format!(
                    "simulated memory {:?} vs predicted {predicted:?} ({n} iterations)",
                    r.peak_memory_bytes
                ));
            }
        }
        Err(e) => failures.push(format!("simulation: {e}")),
    }
    failures
}

/// ilp ≤ heuristic ≤ pipedream ≤ layerwise, and gpipe is synchronous.
fn order_of_methods(periods: &[(Method, u64, u64)]) -> Vec<String> {
    let get = |m: Method| periods.iter().find(|(x, ..)| *x == m).map(|&(_, period, stale)| (period, stale));
    let mut failures = Vec::new();
    let chain = [Method::Ilp, Method::Heuristic, Method::Pipedream, Method::Layerwise];
    for pair in chain.windows(2) {
        if let (Some((a, _)), Some((b, _))) = (get(pair[0]), get(pair[1])) {
            if a > b {
                failures.push(format!("{} {a} > {} {b}", pair[0], pair[1]));
            }
        }
    }
    if get(Method::Gpipe).is_some_and(|(_, stale)| stale != 0) {
        failures.push("gpipe has staleness".into());
    }
    failures
}

fn name(p: &Path) -> String {
    p.file_name().unwrap_or_default().to_string_lossy().into_owned()
}
