//! `spikepipe tasks`: the training tasks of a model and what each costs.

use serde_json::json;
use spikepipe_compiler::cost::Systolic;
use spikepipe_compiler::schedule::Problem;
use spikepipe_compiler::{lower_and_cost, lower_bound};
use spikepipe_ir::Work;

use super::{print, Format, SpecArgs, Table};

/// Arguments of `spikepipe tasks`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepipe tasks models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml\n  \
spikepipe tasks models/vgg16-cifar100.yaml --hardware models/hw/sa128-ws.yaml --format json"
)]
pub struct TasksArgs {
    #[command(flatten)]
    spec: SpecArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

/// Runs the subcommand.
pub fn run(args: TasksArgs) -> anyhow::Result<()> {
    let specs = args.spec.load()?;
    let graph = lower_and_cost(&specs);
    let cost = Systolic::new(&specs.hardware);
    let problem = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
    let lb = lower_bound(&problem);
    let g = &graph.graph;
    let bytes_out = |i| g.edges(i).map(|e| e.weight().bytes).sum::<u64>();
    match args.format {
        Format::Json => {
            let tasks: Vec<_> = g
                .node_indices()
                .map(|i| {
                    let t = &g[i];
                    let (gemm, elements) = match t.work {
                        Work::Gemm { m, k, n } => (json!({"m": m, "k": k, "n": n}), json!(null)),
                        Work::Elementwise { elements, .. } => (json!(null), json!(elements)),
                    };
                    json!({"id": t.id(), "layer": t.layer, "kind": t.kind.name(), "gemm": gemm,
                           "elements": elements, "cycles": t.cycles, "bytes_out": bytes_out(i)})
                })
                .collect();
            let out = json!({"model": graph.model, "processors": specs.hardware.processors, "tasks": tasks,
                             "total_cycles": graph.total_cycles(), "lower_bound_cycles": lb});
            print(&serde_json::to_string_pretty(&out)?)
        }
        Format::Table => {
            let mut table = Table::new(&["id", "layer", "kind", "work", "cycles", "bytes_out"]);
            for i in g.node_indices() {
                let t = &g[i];
                let work = match t.work {
                    Work::Gemm { m, k, n } => format!("gemm {m}×{k}×{n}"),
                    Work::Elementwise { elements, ops_per_element } => {
                        format!("{elements} el × {ops_per_element} ops")
                    }
                };
                table.row(vec![
                    t.id(),
                    t.layer.to_string(),
                    t.kind.name().into(),
                    work,
                    t.cycles.to_string(),
                    bytes_out(i).to_string(),
                ]);
            }
            let hw = &specs.hardware;
            print(&format!(
                "model {} on {} × {}×{} {} ({} lanes)\n\n{table}\ntotal work          {} cycles\nlower bound (P={})  {} cycles",
                graph.model,
                hw.processors,
                hw.array.rows,
                hw.array.cols,
                hw.array.dataflow.name(),
                hw.vector_lanes,
                graph.total_cycles(),
                hw.processors,
                lb
            ))
        }
    }
}
