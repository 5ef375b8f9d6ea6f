//! `spikepipe compile`: schedule a model and write the schedule file.

use std::path::PathBuf;

use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, CompileOptions, Method};
use spikepipe_ir::Schedule;

use super::{print, BadInput, Format, SpecArgs, Table};

/// Arguments of `spikepipe compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepipe compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml\n  \
spikepipe compile models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 8 --method heuristic -o vgg.json\n  \
spikepipe compile models/cnn-fmnist.yaml --hardware models/hw/sa32-ws.yaml --format json | jq .period_cycles"
)]
pub struct CompileArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Scheduling method: ilp, heuristic, data-parallel, pipedream, layerwise or gpipe.
    #[arg(long, short = 'm', default_value = "ilp", value_parser = parse_method)]
    pub method: Method,
    /// Time limit of each ILP phase in seconds; on time-out the heuristic is the fallback.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub time_limit: f64,
    /// Micro-batches per minibatch for gpipe (default 4·P).
    #[arg(long, value_name = "M")]
    pub micro_batches: Option<u64>,
    /// ILP solver: microlp (built in) or highs (needs `--features highs`).
    #[arg(long, default_value = "microlp")]
    pub solver: String,
    /// Write the schedule file here.
    #[arg(long, short = 'o', value_name = "SCHEDULE.json")]
    pub output: Option<PathBuf>,
    /// Print a summary table or the schedule JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Record 0 solver seconds so the file is byte-identical across runs.
    #[arg(long)]
    pub reproducible: bool,
    /// Keep every layer's staleness at or below N: the period is raised (or PipeDream's
    /// placement used) until it is. Trades speed for gradient freshness.
    #[arg(long, value_name = "N")]
    pub max_staleness: Option<u64>,
    /// Also simulate the schedule (dedicated links, `--iterations` minibatches) and print
    /// the simulator's report after the summary.
    #[arg(long)]
    pub simulate: bool,
    /// Minibatches to simulate with `--simulate`.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub iterations: u32,
}

/// Parses a method name for clap.
pub fn parse_method(s: &str) -> Result<Method, String> {
    s.parse()
}

impl CompileArgs {
    /// The compile options these flags ask for.
    pub fn options(&self) -> anyhow::Result<CompileOptions> {
        if !(self.time_limit.is_finite() && self.time_limit >= 0.0) {
            return Err(BadInput(format!(
                "--time-limit must be a non-negative number of seconds, got {}",
                self.time_limit
            ))
            .into());
        }
        if self.micro_batches == Some(0) {
            return Err(BadInput("--micro-batches must be at least 1".into()).into());
        }
        Ok(CompileOptions {
            method: self.method,
            time_limit: self.time_limit,
            micro_batches: self.micro_batches,
            solver: self.solver.clone(),
            reproducible: self.reproducible,
            max_staleness: self.max_staleness,
        })
    }
}

/// Runs the subcommand.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let specs = args.spec.load()?;
    let schedule = compile(&specs, &args.options()?)?;
    if let Some(path) = &args.output {
        std::fs::write(path, schedule.to_json() + "\n")
            .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))?;
    }
    let sim = if args.simulate {
        let config = SimConfig {
            iterations: args.iterations.max(1),
            links: LinkModel::Dedicated,
            record_trace: false,
        };
        Some(simulate(&schedule, &config).map_err(|e| anyhow::anyhow!("simulating the new schedule: {e}"))?)
    } else {
        None
    };
    match (args.format, sim) {
        (Format::Json, None) => print(&schedule.to_json()),
        (Format::Json, Some(r)) => {
            print(&format!("{{\"schedule\": {},\n\"simulation\": {}}}", schedule.to_json(), r.to_json()))
        }
        (Format::Table, None) => print(&summary(&schedule)),
        (Format::Table, Some(r)) => print(&format!(
            "{}\nsimulation ({} minibatches, dedicated links)\n{}",
            summary(&schedule),
            args.iterations.max(1),
            r.to_table()
        )),
    }
}

/// A readable summary of a schedule.
pub fn summary(s: &Schedule) -> String {
    let m = &s.metrics;
    let mut out = format!(
        "model {}  method {}  P = {}\n\
         period        {} cycles ({:.3} ms at {} MHz)\n\
         lower bound   {} cycles  (period/LB {:.4})\n\
         utilization   {:.1} %  (per processor: {})\n\
         between procs {} bytes/iteration  (comm overhead {:.4} % of {} bytes)\n\
         solver        {} {}  {:.3} s{}{}\n\n",
        s.model.name,
        s.method,
        s.hardware.processors,
        s.period_cycles,
        s.period_cycles as f64 / (s.hardware.clock_mhz * 1e3),
        s.hardware.clock_mhz,
        s.lower_bound_cycles,
        s.period_cycles as f64 / s.lower_bound_cycles.max(1) as f64,
        100.0 * m.utilization,
        m.processor_utilization.iter().map(|u| format!("{:.0}%", 100.0 * u)).collect::<Vec<_>>().join(" "),
        m.bytes_between_processors,
        100.0 * m.comm_overhead,
        m.bytes_total,
        s.solver.name,
        s.solver.status.name(),
        s.solver.seconds,
        s.solver.gap.map(|g| format!("  gap {:.4} %", 100.0 * g)).unwrap_or_default(),
        s.solver.note.as_ref().map(|n| format!("\n              {n}")).unwrap_or_default(),
    );
    let mut st = Table::new(&["layer", "staleness_forward", "staleness_input_grad"]);
    for l in &s.staleness {
        st.row(vec![
            l.layer.to_string(),
            l.forward.to_string(),
            l.input_grad.map_or("-".into(), |x| x.to_string()),
        ]);
    }
    out.push_str(&st.to_string());
    out.push('\n');
    let mut pt = Table::new(&["processor", "busy_cycles", "chunks"]);
    for p in 0..s.hardware.processors as u32 {
        let mut items: Vec<(u64, String)> = Vec::new();
        let mut busy = 0;
        for t in &s.tasks {
            for (i, c) in t.chunks.iter().enumerate().filter(|(_, c)| c.processor == p) {
                busy += c.cycles;
                let name = if t.chunks.len() > 1 { format!("{}[{i}]", t.id) } else { t.id.clone() };
                items.push((c.start % s.period_cycles.max(1), name));
            }
        }
        items.sort();
        pt.row(vec![
            format!("p{p}"),
            busy.to_string(),
            items.into_iter().map(|(_, n)| n).collect::<Vec<_>>().join(" "),
        ]);
    }
    out.push_str(&pt.to_string());
    out
}
