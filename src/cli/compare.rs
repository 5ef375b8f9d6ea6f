//! `spikepipe compare`: every method at several processor counts, side by side.

use spikepipe_compiler::compare::{compare, CompareRow};
use spikepipe_compiler::front::{front, FrontPoint};
use spikepipe_compiler::{load_specs, Method};

use super::compile::fmt_percent;
use super::flags::{self, SolveArgs};
use super::progress::Bar;
use super::{print, BadInput, Table};

/// Output format of `compare`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareFormat {
    /// Aligned text.
    Table,
    /// Comma-separated values with a header.
    Csv,
    /// A JSON array of rows.
    Json,
}

/// Arguments of `spikepipe compare`.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  spikepipe compare models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml\n  \
spikepipe compare models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 4,8 --methods ilp,pipedream --format csv\n  \
spikepipe compare models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 --front --methods heuristic,data-parallel,pipedream,gpipe\n  \
spikepipe compare models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 --staleness-cost none   # each method's fastest period\n  \
spikepipe compare models/vgg11-cifar10.yaml --hardware models/hw/sa128-ws.yaml -p 8 --max-memory 256MiB"
)]
pub struct CompareArgs {
    /// Model spec (YAML).
    pub model: std::path::PathBuf,
    /// Hardware spec (YAML); overrides a `hardware:` section in the model.
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<std::path::PathBuf>,
    /// Processor counts, comma-separated, each 1 to 256.
    #[arg(long, short = 'p', value_delimiter = ',', default_value = "2,4,8,16", value_parser = flags::processors)]
    pub processors: Vec<u64>,
    /// Methods, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = flags::method, default_value = "ilp,heuristic,data-parallel,pipedream,layerwise,gpipe")]
    pub methods: Vec<Method>,
    #[command(flatten)]
    pub solve: SolveArgs,
    /// Output format. The table shows the key columns (add `--wide` for all); CSV and
    /// JSON always have every column, with comm_overhead as a fraction (0.81 = 81 %).
    #[arg(long, value_enum, default_value = "table")]
    pub format: CompareFormat,
    /// Table with every column (lower bound, mean staleness, bytes, solver seconds).
    #[arg(long)]
    pub wide: bool,
    /// Report 0 solver seconds so the output is byte-identical across runs.
    #[arg(long)]
    pub reproducible: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Print, per P, the Pareto front of (period, max staleness, bytes between
    /// processors) over the methods at every staleness cap 0..=--front-caps and uncapped.
    #[arg(long, conflicts_with = "max_staleness")]
    pub front: bool,
    /// Largest staleness cap tried by --front, 0 to 64. Caps at or above a method's
    /// uncapped staleness are skipped (its uncapped schedule keeps them).
    #[arg(long, default_value_t = 3, value_name = "K", requires = "front",
          value_parser = clap::value_parser!(u64).range(0..=64))]
    pub front_caps: u64,
    /// Memory per processor in bytes (overrides the hardware's `memory_bytes`; see
    /// `compile --help`).
    #[arg(long, value_name = "BYTES", value_parser = super::compile::parse_bytes)]
    pub max_memory: Option<u64>,
}

/// CSV header of a front (the fields of [`FrontPoint`] in order).
const FRONT_COLUMNS: [&str; 7] =
    ["processors", "method", "cap", "period_cycles", "max_staleness", "bytes_between_processors", "note"];

fn front_cells(p: &FrontPoint) -> Vec<String> {
    vec![
        p.processors.to_string(),
        p.method.clone(),
        p.cap.map_or("none".into(), |c| c.to_string()),
        p.period_cycles.to_string(),
        p.max_staleness.to_string(),
        p.bytes_between_processors.to_string(),
        p.note.clone(),
    ]
}

/// Renders front points in a format.
pub fn render_front(points: &[FrontPoint], format: CompareFormat) -> anyhow::Result<String> {
    Ok(match format {
        CompareFormat::Json => serde_json::to_string_pretty(points)?,
        CompareFormat::Csv => {
            let mut s = FRONT_COLUMNS.join(",") + "\n";
            for p in points {
                let cells: Vec<String> =
                    front_cells(p)
                        .into_iter()
                        .map(|c| {
                            if c.contains([',', '"']) {
                                format!("\"{}\"", c.replace('"', "\"\""))
                            } else {
                                c
                            }
                        })
                        .collect();
                s.push_str(&cells.join(","));
                s.push('\n');
            }
            s
        }
        CompareFormat::Table => {
            let mut t = Table::new(&FRONT_COLUMNS);
            for p in points {
                t.row(front_cells(p));
            }
            t.to_string()
        }
    })
}

/// CSV header of a comparison (the fields of [`CompareRow`] in order).
pub const COLUMNS: [&str; 14] = [
    "method",
    "processors",
    "period_cycles",
    "lower_bound_cycles",
    "period_over_lb",
    "speedup_vs_pipedream",
    "speedup_vs_layerwise",
    "max_staleness",
    "mean_staleness",
    "bytes_between_processors",
    "comm_overhead",
    "peak_memory_bytes",
    "solve_seconds",
    "status",
];

/// The cells of a row, formatted for tables and CSV.
pub fn cells(r: &CompareRow) -> Vec<String> {
    vec![
        r.method.clone(),
        r.processors.to_string(),
        r.period_cycles.to_string(),
        r.lower_bound_cycles.to_string(),
        format!("{:.4}", r.period_over_lb),
        format!("{:.3}", r.speedup_vs_pipedream),
        format!("{:.3}", r.speedup_vs_layerwise),
        r.max_staleness.to_string(),
        format!("{:.2}", r.mean_staleness),
        r.bytes_between_processors.to_string(),
        format!("{:.6}", r.comm_overhead),
        r.peak_memory_bytes.iter().max().copied().unwrap_or(0).to_string(),
        format!("{:.3}", r.solve_seconds),
        r.status.clone(),
    ]
}

/// Header and cells of the table for people: the key columns, or every one with `--wide`.
/// Ratios with 2 decimals, comm overhead as a percentage (as `compile` prints it).
fn table(rows: &[CompareRow], wide: bool) -> Table {
    let mut header =
        vec!["method", "P", "period II", "II/LB", "× pipedream", "× layerwise", "max s", "comm %", "status"];
    if wide {
        header.splice(3..3, ["LB"]);
        header.extend(["mean s", "bytes between procs", "solver s"]);
    }
    let mut t = Table::new(&header);
    for r in rows {
        let mut c = vec![
            r.method.clone(),
            r.processors.to_string(),
            r.period_cycles.to_string(),
            format!("{:.2}", r.period_over_lb),
            format!("{:.2}", r.speedup_vs_pipedream),
            format!("{:.2}", r.speedup_vs_layerwise),
            r.max_staleness.to_string(),
            fmt_percent(r.comm_overhead).trim_end_matches(" %").to_string(),
            r.status.clone(),
        ];
        if wide {
            c.splice(3..3, [r.lower_bound_cycles.to_string()]);
            c.extend([
                format!("{:.2}", r.mean_staleness),
                r.bytes_between_processors.to_string(),
                format!("{:.2}", r.solve_seconds),
            ]);
        }
        t.row(c);
    }
    t
}

/// Renders rows in a format.
pub fn render(rows: &[CompareRow], format: CompareFormat, wide: bool) -> anyhow::Result<String> {
    Ok(match format {
        CompareFormat::Json => serde_json::to_string_pretty(rows)?,
        CompareFormat::Csv => {
            let mut s = COLUMNS.join(",") + "\n";
            for r in rows {
                s.push_str(&cells(r).join(","));
                s.push('\n');
            }
            s
        }
        CompareFormat::Table => table(rows, wide).to_string(),
    })
}

/// Runs the subcommand.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    if args.methods.is_empty() {
        return Err(BadInput("--methods: name at least one method".into()).into());
    }
    let mut specs = load_specs(&args.model, args.hardware.as_deref(), None)?;
    if args.max_memory.is_some() {
        specs.hardware.memory_bytes = args.max_memory;
    }
    let opts = args.solve.options(Method::Ilp, 10.0).reproducible(args.reproducible);
    if args.front {
        if args.solve.staleness_cost.is_some() {
            return Err(BadInput(
                "--staleness-cost: not used with --front, which shows every staleness cap as a point of its own".into(),
            )
            .into());
        }
        let runs = args.processors.len() as u64 * args.methods.len() as u64 * (args.front_caps + 2);
        let bar = Bar::new(runs, args.quiet);
        let mut points = Vec::new();
        for &p in &args.processors {
            let mut specs_p = specs.clone();
            specs_p.hardware.processors = p;
            points.extend(front(&specs_p, &args.methods, args.front_caps, &opts, |m, cap| {
                let cap = cap.map_or("none".to_string(), |c| c.to_string());
                bar.inc(&format!("compiling {m} at P = {p}, staleness cap {cap}"));
            })?);
        }
        bar.finish();
        return print(&render_front(&points, args.format)?);
    }
    let bar = Bar::new((args.processors.len() * args.methods.len()) as u64, args.quiet);
    let rows = compare(&specs, &args.processors, &args.methods, &opts, |m, p| {
        bar.inc(&format!("compiled {m} at P = {p}"))
    })?;
    bar.finish();
    let rows: Vec<CompareRow> = rows.into_iter().map(|(r, _)| r).collect();
    print(&render(&rows, args.format, args.wide)?)
}
