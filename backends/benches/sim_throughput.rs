//! Simulator throughput in chunk instances per second (no criterion; `harness = false`).
//!
//! `cargo bench -p spikepipe-backends --bench sim_throughput`

use std::time::Instant;

use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
use spikepipe_backends::sim::{simulate_unverified_counts, LinkModel, SimConfig};

fn main() {
    let cases = [
        (
            "L4 P3 split2",
            SyntheticSpec { layers: 4, processors: 3, split: 2, spread: true, ..Default::default() },
        ),
        (
            "L20 P8 split4",
            SyntheticSpec { layers: 20, processors: 8, split: 4, spread: true, ..Default::default() },
        ),
        ("L8 P4 whole", SyntheticSpec { layers: 8, processors: 4, ..Default::default() }),
    ];
    for (name, spec) in cases {
        let s = pipeline_schedule(&spec);
        if let Err(v) = spikepipe_ir::verify_schedule(&s) {
            eprintln!("{name}: invalid synthetic schedule: {v}");
            std::process::exit(1);
        }
        for links in [LinkModel::Dedicated, LinkModel::Shared] {
            let config = SimConfig { iterations: 50_000, links, record_trace: false };
            let t0 = Instant::now();
            let mut instances = 0u64;
            let mut runs = 0;
            while runs == 0 || t0.elapsed().as_secs_f64() < 1.0 {
                match simulate_unverified_counts(&s, &config) {
                    Ok((n, _)) => instances += n,
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        std::process::exit(1);
                    }
                }
                runs += 1;
            }
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "{name:<14} {:<9} {:>10} instances/run  {:>7.2} M chunk instances/s",
                links.name(),
                instances / runs,
                instances as f64 / secs / 1e6
            );
        }
    }
}
