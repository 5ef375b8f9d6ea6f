//! `spikepipe compile`: schedule a model and write the schedule file.

use std::path::PathBuf;

use spikepipe_backends::sim::{human_bytes, simulate, LinkModel, SimConfig};
use spikepipe_compiler::{compile, CompileOptions, Method, Recompute};
use spikepipe_ir::Schedule;

use super::flags::{self, SolveArgs};
use super::progress::Ticker;
use super::{outputs, print, BadInput, Format, SpecArgs, Table};

/// Arguments of `spikepipe compile`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepipe compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml\n  \
spikepipe compile models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 8 --method heuristic -o vgg.json\n  \
spikepipe compile models/cnn-fmnist.yaml --hardware models/hw/sa32-ws.yaml --format json | jq .period_cycles\n  \
spikepipe compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml -p 4 --ilp-effort 5 --time-limit 60\n  \
spikepipe compile models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 --staleness-cost 0.3\n  \
spikepipe compile models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 --staleness-cost none   # fastest period, however stale\n  \
spikepipe compile models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 8 --method heuristic --max-memory 512MiB"
)]
pub struct CompileArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Scheduling method: ilp, heuristic, data-parallel, pipedream, layerwise or gpipe.
    #[arg(long, short = 'm', default_value = "ilp", value_parser = flags::method)]
    pub method: Method,
    #[command(flatten)]
    pub solve: SolveArgs,
    /// Micro-batches per minibatch for gpipe (default 4·P).
    #[arg(long, value_name = "M")]
    pub micro_batches: Option<u64>,
    /// Write the schedule file here.
    #[arg(long, short = 'o', value_name = "SCHEDULE.json")]
    pub output: Option<PathBuf>,
    /// Print a summary table or the schedule JSON.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Record 0 solver seconds so the file is byte-identical across runs.
    #[arg(long)]
    pub reproducible: bool,
    /// Also simulate the schedule (dedicated links, `--iterations` minibatches) and print
    /// the simulator's report after the summary.
    #[arg(long)]
    pub simulate: bool,
    /// Minibatches to simulate with `--simulate`, 1 to 1 000 000.
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub iterations: u32,
    /// No progress line while solving.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Memory per processor in bytes (suffixes K, M, G, KiB, MiB, GiB accepted); overrides
    /// the hardware's `memory_bytes`. The schedule is changed until every processor's peak
    /// memory fits (period raised, PipeDream's placement tried, layers recomputed), or the
    /// compile fails naming what does not fit (docs/memory.md).
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    pub max_memory: Option<u64>,
    /// Layers (1-based, comma-separated) that recompute their forward pass during
    /// backward instead of storing their neuron state (activation checkpointing); `none`
    /// for no recompute. Default: none, except that with a memory cap `ilp` and
    /// `heuristic` choose the layers that give the shortest period that fits.
    #[arg(long, value_name = "LAYERS|none", value_parser = parse_layers)]
    pub recompute: Option<Layers>,
}

/// Parses a byte count for clap: `1048576`, `512K`, `64MiB`, `2G`, `1.5GiB` (K/M/G are
/// powers of 1000, KiB/MiB/GiB powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "K" | "KB" => 1_000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        u => return Err(format!("unknown unit `{u}` in `{s}` (use B, K, M, G, KiB, MiB or GiB)")),
    };
    let v: f64 = num.parse().map_err(|_| format!("`{s}` is not a byte count"))?;
    let bytes = (v * scale as f64).round();
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{s}`: give at least 1 byte"));
    }
    Ok(bytes as u64)
}

/// A `--recompute` value: 1-based layers (empty: none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layers(pub Vec<u32>);

/// Parses `--recompute`: `none` or comma-separated 1-based layers.
pub fn parse_layers(s: &str) -> Result<Layers, String> {
    if s == "none" {
        return Ok(Layers(Vec::new()));
    }
    s.split(',')
        .map(|x| match x.trim().parse::<u32>() {
            Ok(l) if l >= 1 => Ok(l),
            _ => Err(format!("`{x}` is not a layer number (1, 2, …); give e.g. `1,2,3` or `none`")),
        })
        .collect::<Result<Vec<u32>, String>>()
        .map(Layers)
}

impl CompileArgs {
    /// The compile options these flags ask for.
    pub fn options(&self) -> anyhow::Result<CompileOptions> {
        if self.micro_batches == Some(0) {
            return Err(BadInput("--micro-batches must be at least 1".into()).into());
        }
        let mut o = self.solve.options(self.method, 10.0).reproducible(self.reproducible);
        o.micro_batches = self.micro_batches;
        o.recompute = match &self.recompute {
            None => Recompute::Auto,
            Some(Layers(v)) if v.is_empty() => Recompute::Off,
            Some(Layers(v)) => Recompute::Layers(v.clone()),
        };
        Ok(o)
    }
}

/// Runs the subcommand.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    let mut specs = args.spec.load()?;
    if args.max_memory.is_some() {
        specs.hardware.memory_bytes = args.max_memory;
    }
    let layers = specs.network.layers.len() as u32;
    if let Some(Layers(v)) = &args.recompute {
        if let Some(l) = v.iter().find(|&&l| l >= layers) {
            return Err(BadInput(format!(
                "--recompute: layer {l} cannot recompute; the model has {layers} weight layers and the last \
                 ({layers}) never recomputes, so give layers 1 to {}",
                layers.saturating_sub(1)
            ))
            .into());
        }
    }
    let options = args.options()?;
    if let Some(path) = &args.output {
        outputs::check_file("-o", path)?;
    }
    let schedule = {
        let _ticker = Ticker::start(
            format!(
                "compiling {} with {} on {} processors …",
                specs.model.name, args.method, specs.hardware.processors
            ),
            args.quiet,
        );
        compile(&specs, &options)?
    };
    if let Some(path) = &args.output {
        outputs::write("schedule", path, &(schedule.to_json() + "\n"))?;
    }
    let sim = if args.simulate {
        let config =
            SimConfig { iterations: args.iterations, links: LinkModel::Dedicated, record_trace: false };
        Some(
            simulate(&schedule, &config)
                .map_err(|e| anyhow::Error::new(e).context("simulating the new schedule"))?,
        )
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
            args.iterations,
            r.to_table()
        )),
    }
}

/// A readable summary of a schedule.
pub fn summary(s: &Schedule) -> String {
    let m = &s.metrics;
    let mut out = format!(
        "model {}  method {}  P = {}\n\
         period II     {} cycles ({} at {} MHz)\n\
         lower bound   {} cycles  (II/LB {:.3})\n\
         utilization   {:.1} %  ({})\n\
         between procs {} bytes per iteration  (comm overhead {} of {} bytes)\n\
         paper metric  {} of {} operand + {} tensor bytes\n\
         peak memory   {} on the fullest processor{}\n\
         solver        {} {}  {}{}{}\n\n",
        s.model.name,
        s.method,
        s.hardware.processors,
        s.period_cycles,
        fmt_seconds(s.period_cycles as f64 / (s.hardware.clock_mhz * 1e6)),
        s.hardware.clock_mhz,
        s.lower_bound_cycles,
        s.period_cycles as f64 / s.lower_bound_cycles.max(1) as f64,
        100.0 * m.utilization,
        per_processor(&m.processor_utilization),
        m.bytes_between_processors,
        fmt_percent(m.comm_overhead),
        m.bytes_total,
        fmt_percent(m.comm_overhead_paper),
        m.operand_bytes,
        m.bytes_total,
        human_bytes(m.peak_memory_bytes.iter().copied().max().unwrap_or(0)),
        s.hardware
            .memory_bytes
            .map(|c| format!(" (memory {} per processor)", human_bytes(c)))
            .unwrap_or_default(),
        s.solver.name,
        s.solver.status.name(),
        fmt_seconds(s.solver.seconds),
        s.solver.gap.map(|g| format!("  gap {:.2} %", 100.0 * g)).unwrap_or_default(),
        s.solver.note.as_ref().map(|n| format!("\n              {n}")).unwrap_or_default(),
    );
    let mut st = Table::new(&["layer", "staleness s (forward)", "staleness s' (input gradient)"]);
    for l in &s.staleness {
        st.row(vec![
            l.layer.to_string(),
            l.forward.to_string(),
            l.input_grad.map_or("-".into(), |x| x.to_string()),
        ]);
    }
    out.push_str(&st.to_string());
    out.push('\n');
    let mut pt = Table::new(&["processor", "busy_cycles", "peak_memory", "chunks"]);
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
            m.peak_memory_bytes.get(p as usize).map_or("-".into(), |&b| human_bytes(b)),
            chunk_list(items.into_iter().map(|(_, n)| n).collect()),
        ]);
    }
    out.push_str(&pt.to_string());
    out
}

/// A processor's chunks in start order; past 12 the rest are counted (JSON has them all).
fn chunk_list(names: Vec<String>) -> String {
    const SHOWN: usize = 12;
    if names.len() <= SHOWN {
        return names.join(" ");
    }
    format!("{} … and {} more", names[..SHOWN].join(" "), names.len() - SHOWN)
}

/// Per-processor utilization: every value for up to 16 processors, else the spread
/// (the JSON output has every value).
fn per_processor(u: &[f64]) -> String {
    if u.len() <= 16 {
        return format!(
            "per processor: {}",
            u.iter().map(|x| format!("{:.0}%", 100.0 * x)).collect::<Vec<_>>().join(" ")
        );
    }
    let lo = u.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = u.iter().copied().fold(0.0, f64::max);
    format!("per processor {:.0}–{:.0} %; every value with --format json", 100.0 * lo, 100.0 * hi)
}

/// A fraction as a percentage with enough digits to be non-zero when it is.
pub fn fmt_percent(x: f64) -> String {
    let p = 100.0 * x;
    if p == 0.0 || p >= 1.0 {
        format!("{p:.1} %")
    } else if p >= 0.01 {
        format!("{p:.2} %")
    } else {
        format!("{p:.4} %")
    }
}

/// Seconds in the unit that keeps 3 significant digits readable: ns, µs, ms, s or min.
pub fn fmt_seconds(s: f64) -> String {
    if !s.is_finite() || s <= 0.0 {
        return "0 s".into();
    }
    let (v, unit) = if s < 1e-6 {
        (s * 1e9, "ns")
    } else if s < 1e-3 {
        (s * 1e6, "µs")
    } else if s < 1.0 {
        (s * 1e3, "ms")
    } else if s < 120.0 {
        (s, "s")
    } else {
        (s / 60.0, "min")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::{fmt_percent, fmt_seconds};

    #[test]
    fn units() {
        assert_eq!(fmt_seconds(0.0), "0 s");
        assert_eq!(fmt_seconds(6.9e-5), "69.0 µs");
        assert_eq!(fmt_seconds(0.0333), "33.3 ms");
        assert_eq!(fmt_seconds(2.5), "2.50 s");
        assert_eq!(fmt_seconds(600.0), "10.0 min");
        assert_eq!(fmt_percent(0.81), "81.0 %");
        assert_eq!(fmt_percent(0.0012), "0.12 %");
        assert_eq!(fmt_percent(0.0), "0.0 %");
    }
}
