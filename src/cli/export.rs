//! `spikepipe export`: writes a schedule as a self-contained PyTorch/snnTorch package
//! (`spikepipe_export`): `model.py`, `train.py`, `distributed.py` and a `config.json`.

use std::path::PathBuf;

use serde_json::json;
use spikepipe_compiler::load_model;
use spikepipe_ir::Schedule;

use super::{bad_input, print, Format};

/// Arguments of `spikepipe export`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
spikepipe compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml -p 2 --method pipedream -o pd2.json\n  \
spikepipe export models/mlp-digits.yaml --schedule pd2.json --out pkg\n  \
python pkg/train.py --epochs 5\n  \
torchrun --nproc-per-node 2 pkg/distributed.py --epochs 5\n\n\
train.py applies the schedule's per-layer staleness in one process (any schedule);\n\
distributed.py places stage-granular schedules (pipedream, gpipe, layerwise, replicated\n\
stages) on torchrun ranks. See docs/export.md.")]
pub struct ExportArgs {
    /// Model spec (YAML), e.g. models/mlp-digits.yaml.
    pub model: PathBuf,
    /// Schedule file of this model (from `spikepipe compile -o`).
    #[arg(long, value_name = "SCHEDULE.json")]
    pub schedule: PathBuf,
    /// Directory to write the package into (created if missing; files are overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Output format of the summary.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Runs the subcommand.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let (model, net) = load_model(&args.model)?;
    let path = &args.schedule;
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read schedule {}: {e}", path.display())))?;
    let schedule =
        Schedule::from_json(&text).map_err(|e| bad_input(format!("schedule {}: {e}", path.display())))?;
    let cfg = spikepipe_export::config(&model.name, &net, &model.training, &schedule, path)
        .map_err(|e| bad_input(e.to_string()))?;
    let files = spikepipe_export::write_package(&cfg, &args.out)?;
    match args.format {
        Format::Json => print(&serde_json::to_string_pretty(&json!({
            "out": args.out,
            "files": files,
            "config": cfg,
        }))?),
        Format::Table => {
            let mut s = format!(
                "wrote {} files to {} (model {}, method {}, P = {})\n",
                files.len(),
                args.out.display(),
                cfg.model,
                cfg.method,
                cfg.processors
            );
            let st: Vec<String> = cfg
                .staleness
                .iter()
                .map(|l| match l.input_grad {
                    Some(g) => format!("L{}: s={} s'={}", l.layer, l.forward, g),
                    None => format!("L{}: s={}", l.layer, l.forward),
                })
                .collect();
            s.push_str(&format!("staleness: {}\n", st.join(", ")));
            if cfg.distributed.supported {
                let stages: Vec<String> = cfg
                    .distributed
                    .stages
                    .iter()
                    .map(|x| format!("layers {:?} on {} rank(s)", x.layers, x.processors.len()))
                    .collect();
                let ranks: usize = cfg.distributed.stages.iter().map(|x| x.processors.len()).sum();
                s.push_str(&format!(
                    "distributed.py: {} stage(s): {}; run with torchrun --nproc-per-node {ranks}\n",
                    stages.len(),
                    stages.join("; ")
                ));
            } else {
                s.push_str(&format!("distributed.py: not available: {}\n", cfg.distributed.reason));
            }
            s.push_str(&format!("train: python {}/train.py --help\n", args.out.display()));
            print(&s)
        }
    }
}
