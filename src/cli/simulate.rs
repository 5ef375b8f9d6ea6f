//! `spikepipe simulate`: runs a schedule file through the cycle simulator
//! (`spikepipe_backends::sim`) and reports timing, traffic, utilization and staleness;
//! optionally writes a Chrome/Perfetto trace and an SVG Gantt chart.
//!
//! Bad input (unreadable or malformed file, a schedule that breaks the format's rules or
//! whose chunk cycles do not match its hardware, bad flags, an output path that cannot be
//! written) exits with status 2 and names the problem, before the run starts.

use std::path::{Path, PathBuf};
use std::time::Instant;

use spikepipe_backends::sim::{self, gantt, LinkModel, SimConfig, SimError};
use spikepipe_ir::Schedule;

use super::progress::Ticker;
use super::{outputs, schedule_file, BadInput, Format};

/// Interconnect model.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Links {
    /// One link per ordered pair of processors.
    Dedicated,
    /// One bus shared by every transfer.
    Shared,
}

/// Arguments of `spikepipe simulate`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepipe compile models/mlp-digits.yaml --hardware models/hw/sa32-ws.yaml -p 4 -o s.json\n  \
spikepipe simulate s.json --iterations 50\n  \
spikepipe simulate s.json --links shared --trace s.trace.json --gantt s.svg\n  \
spikepipe simulate s.json --format json | jq .achieved_period_cycles"
)]
pub struct SimulateArgs {
    /// Schedule file (`spikepipe-schedule/2` JSON, as written by `spikepipe compile`).
    pub schedule: PathBuf,
    /// Iterations (minibatches) to simulate, 1 to 1 000 000 (a steady state shows within
    /// a few dozen).
    #[arg(long, short = 'n', default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub iterations: u32,
    /// Interconnect: one link per ordered processor pair, or one shared bus.
    #[arg(long, value_enum, default_value_t = Links::Dedicated)]
    pub links: Links,
    /// Write a Chrome/Perfetto trace (JSON `traceEvents`) to this file.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write an SVG Gantt chart of the first iterations to this file.
    #[arg(long, value_name = "FILE")]
    pub gantt: Option<PathBuf>,
    /// Iterations drawn in the Gantt chart.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub gantt_iterations: u32,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Measure simulator throughput (chunk instances per second) instead of reporting.
    #[arg(long)]
    pub bench: bool,
    /// No progress line during long runs.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Keeps the simulator's error type (its exit status depends on it) and names the file.
fn sim_error(path: &Path, e: SimError) -> anyhow::Error {
    anyhow::Error::new(e).context(path.display().to_string())
}

/// Most chunk events a trace or Gantt chart records: with the transfers between them,
/// about 500 bytes of trace file each (100 000 iterations of mlp-digits at P = 2,
/// 11 chunks each: 557 MB).
const MAX_EVENTS: u64 = 1_000_000;

/// Runs the subcommand.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let schedule = schedule_file::load_verified(&args.schedule)?;
    for (flag, path) in [("--trace", &args.trace), ("--gantt", &args.gantt)] {
        if let Some(p) = path {
            outputs::check_file(flag, p)?;
        }
    }
    let links = match args.links {
        Links::Dedicated => LinkModel::Dedicated,
        Links::Shared => LinkModel::Shared,
    };
    if args.bench {
        return bench(&args.schedule, &schedule, args.iterations, links);
    }
    let record = args.trace.is_some() || args.gantt.is_some();
    let chunks: u64 = schedule.tasks.iter().map(|t| t.chunks.len() as u64).sum();
    let events = chunks.saturating_mul(u64::from(args.iterations));
    if record && events > MAX_EVENTS {
        let most = (MAX_EVENTS / chunks.max(1)).max(1);
        return Err(BadInput(format!(
            "--trace and --gantt record every chunk of every iteration: {} iterations × {chunks} chunks is more than {MAX_EVENTS} events; give --iterations {most} or fewer",
            args.iterations
        ))
        .into());
    }
    let config = SimConfig { iterations: args.iterations, links, record_trace: record };
    let report = {
        let _ticker = Ticker::start(format!("simulating {} iterations …", args.iterations), args.quiet);
        sim::simulate(&schedule, &config).map_err(|e| sim_error(&args.schedule, e))?
    };
    if let Some(trace) = &report.trace {
        if let Some(path) = &args.trace {
            outputs::write("trace", path, &trace.to_chrome_json(&schedule))?;
            eprintln!("wrote trace {}", path.display());
        }
        if let Some(path) = &args.gantt {
            outputs::write("Gantt chart", path, &gantt::render_svg(&schedule, trace, args.gantt_iterations))?;
            eprintln!("wrote Gantt chart {}", path.display());
        }
    }
    match args.format {
        Format::Table => super::print(&report.to_table()),
        Format::Json => super::print(&report.to_json()),
    }
}

/// Simulates the (verified) schedule repeatedly for at least one second.
fn bench(path: &Path, schedule: &Schedule, iterations: u32, links: LinkModel) -> anyhow::Result<()> {
    let config = SimConfig { iterations, links, record_trace: false };
    let t0 = Instant::now();
    let mut runs = 0u64;
    let mut instances = 0u64;
    while runs == 0 || t0.elapsed().as_secs_f64() < 1.0 {
        let (n, _) = sim::simulate_unverified_counts(schedule, &config).map_err(|e| sim_error(path, e))?;
        instances += n;
        runs += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    super::print(&format!(
        "{runs} runs × {iterations} iterations, {instances} chunk instances in {secs:.3} s: {:.2} M chunk instances/s",
        instances as f64 / secs / 1e6
    ))
}
