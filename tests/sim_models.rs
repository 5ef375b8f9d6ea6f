//! Every scheduling method on every bundled model and hardware, at P ∈ {2, 4, 8}: the
//! simulator, with dedicated links, achieves exactly the schedule's period.

#[macro_use]
mod common;

use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};

per_model_tests! {
    every_method_and_hardware_achieves_its_period:
    cnn_fmnist => "cnn-fmnist",
    mlp_digits => "mlp-digits",
    mlp_fmnist => "mlp-fmnist",
    vgg11_cifar10 => "vgg11-cifar10",
    vgg16_cifar100 => "vgg16-cifar100",
}

fn every_method_and_hardware_achieves_its_period(model: &str) {
    let model = &common::root().join(model);
    let hardware: Vec<_> = common::hardware().iter().map(|h| common::root().join(h)).collect();
    assert!(hardware.len() >= 2, "bundled hardware missing");
    let mut checked = 0;
    let mut failures = Vec::new();
    for hw in &hardware {
        for p in [2u64, 4, 8] {
            let specs = load_specs(model, Some(hw), Some(p))
                .unwrap_or_else(|e| panic!("{} on {}: {e}", model.display(), hw.display()));
            // Every method as is, and the heuristic under a staleness cap (where it
            // picks sample splits, replicated stages and hybrids).
            let runs = Method::ALL.iter().map(|&m| (m, None)).chain([(Method::Heuristic, Some(1))]);
            for (method, cap) in runs {
                let opts = CompileOptions::new(method)
                    .with_time_limit(0.5)
                    .with_max_staleness(cap)
                    .reproducible(true);
                let what = format!(
                    "{} / {} / P={p} / {method} cap {cap:?}",
                    model.file_name().unwrap_or_default().to_string_lossy(),
                    hw.file_name().unwrap_or_default().to_string_lossy()
                );
                let schedule = match compile(&specs, &opts) {
                    Ok(s) => s,
                    Err(e) => {
                        failures.push(format!("{what}: compile failed: {e}"));
                        continue;
                    }
                };
                let config = SimConfig { iterations: 12, links: LinkModel::Dedicated, record_trace: false };
                match simulate(&schedule, &config) {
                    Ok(r) => {
                        if r.achieved_period_cycles != Some(schedule.period_cycles as f64)
                            || r.max_start_delay_cycles != 0
                        {
                            failures.push(format!(
                                "{what}: achieved {:?} vs scheduled {} (max delay {})",
                                r.achieved_period_cycles, schedule.period_cycles, r.max_start_delay_cycles
                            ));
                        }
                    }
                    Err(e) => failures.push(format!("{what}: {e}")),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, hardware.len() * 3 * (Method::ALL.len() + 1));
    assert!(failures.is_empty(), "{} of {checked} failed:\n{}", failures.len(), failures.join("\n"));
}
