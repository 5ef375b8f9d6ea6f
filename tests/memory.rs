//! Memory: the compiler's predicted peak per processor (`metrics.peak_memory_bytes`)
//! equals what the simulator measures, for every bundled model × hardware × method at
//! P ∈ {2, 4, 8}.

mod common;

use std::path::Path;

use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};
use spikepipe_ir::memory_span_periods;

#[test]
fn predicted_peak_memory_equals_simulated_everywhere() {
    let root = common::root();
    let models = common::models();
    let hardware = common::hardware();
    let mut checked = 0;
    let mut failures = Vec::new();
    for model in &models {
        for hw in &hardware {
            for p in [2u64, 4, 8] {
                let specs = load_specs(&root.join(model), Some(&root.join(hw)), Some(p)).unwrap();
                for method in Method::ALL {
                    let what = format!("{} / {} / P={p} / {method}", name(model), name(hw));
                    let opts = CompileOptions::new(method).with_time_limit(0.5).reproducible(true);
                    let s = match compile(&specs, &opts) {
                        Ok(s) => s,
                        Err(e) => {
                            failures.push(format!("{what}: {e}"));
                            continue;
                        }
                    };
                    let predicted = s.metrics.peak_memory_bytes.clone();
                    assert_eq!(
                        predicted,
                        spikepipe_ir::peak_memory_bytes(&s),
                        "{what}: metric is the model's"
                    );
                    assert!(predicted.iter().any(|&b| b > 0), "{what}: some processor holds something");
                    let n = (2 * memory_span_periods(&s) + 2).max(8) as u32;
                    let config =
                        SimConfig { iterations: n, links: LinkModel::Dedicated, record_trace: false };
                    match simulate(&s, &config) {
                        Ok(r) if r.peak_memory_bytes == predicted => {}
                        Ok(r) => failures.push(format!(
                            "{what}: simulated {:?} vs predicted {predicted:?} ({n} iterations)",
                            r.peak_memory_bytes
                        )),
                        Err(e) => failures.push(format!("{what}: {e}")),
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, models.len() * hardware.len() * 3 * Method::ALL.len());
    assert!(failures.is_empty(), "{} of {checked} differ:\n{}", failures.len(), failures.join("\n"));
}

fn name(p: &str) -> String {
    Path::new(p).file_name().unwrap_or_default().to_string_lossy().into_owned()
}
