//! Compiler benchmarks: parse + lower + cost per bundled model, and the heuristic
//! scheduler per model × P. Run with `cargo bench --bench compiler`.
//! (The ILP is time-limited by design; its solve times come from `spikepipe compare`,
//! see bench/README.md. Simulator: `cargo bench -p spikepipe-backends`.)

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use spikepipe_compiler::{compile, load_specs, lower_and_cost, CompileOptions, Method};

const MODELS: [&str; 5] = ["mlp-digits", "mlp-fmnist", "cnn-fmnist", "vgg11-cifar10", "vgg16-cifar100"];

fn path(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn front_end(c: &mut Criterion) {
    let hw = path("models/hw/sa128-ws.yaml");
    let mut g = c.benchmark_group("parse+lower+cost");
    for m in MODELS {
        let model = path(&format!("models/{m}.yaml"));
        g.bench_function(m, |b| {
            b.iter(|| {
                let specs = load_specs(&model, Some(&hw), None).expect("bundled specs parse");
                lower_and_cost(&specs).total_cycles()
            })
        });
    }
    g.finish();
}

fn heuristic(c: &mut Criterion) {
    let hw = path("models/hw/sa128-ws.yaml");
    let mut g = c.benchmark_group("heuristic");
    g.sample_size(20);
    for m in MODELS {
        for p in [4u64, 16] {
            let specs = load_specs(&path(&format!("models/{m}.yaml")), Some(&hw), Some(p))
                .expect("bundled specs parse");
            let opts = CompileOptions::new(Method::Heuristic);
            g.bench_function(format!("{m}/P{p}"), |b| {
                b.iter(|| compile(&specs, &opts).expect("compiles").period_cycles)
            });
        }
    }
    g.finish();
}

criterion_group!(benches, front_end, heuristic);
criterion_main!(benches);
