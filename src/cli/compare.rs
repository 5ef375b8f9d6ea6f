//! `spikepipe compare`: every method at several processor counts, side by side.

use spikepipe_compiler::compare::{compare, CompareRow};
use spikepipe_compiler::front::{front, FrontPoint};
use spikepipe_compiler::{load_specs, Method};

use super::compile::parse_method;
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
spikepipe compare models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml -p 8 --front --methods heuristic,data-parallel,pipedream,gpipe"
)]
pub struct CompareArgs {
    /// Model spec (YAML).
    pub model: std::path::PathBuf,
    /// Hardware spec (YAML); overrides a `hardware:` section in the model.
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<std::path::PathBuf>,
    /// Processor counts, comma-separated.
    #[arg(long, short = 'p', value_delimiter = ',', default_value = "2,4,8,16")]
    pub processors: Vec<u64>,
    /// Methods, comma-separated.
    #[arg(long, value_delimiter = ',', value_parser = parse_method, default_value = "ilp,heuristic,data-parallel,pipedream,layerwise,gpipe")]
    pub methods: Vec<Method>,
    /// Time limit of each ILP phase in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub time_limit: f64,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: CompareFormat,
    /// Report 0 solver seconds so the output is byte-identical across runs.
    #[arg(long)]
    pub reproducible: bool,
    /// Keep every layer's staleness at or below N (see `compile --help`).
    #[arg(long, value_name = "N")]
    pub max_staleness: Option<u64>,
    /// Print, per P, the Pareto front of (period, max staleness, bytes between
    /// processors) over the methods at every staleness cap 0..=--front-caps and uncapped.
    #[arg(long, conflicts_with = "max_staleness")]
    pub front: bool,
    /// Largest staleness cap tried by --front.
    #[arg(long, default_value_t = 3, value_name = "K", requires = "front")]
    pub front_caps: u64,
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
pub const COLUMNS: [&str; 13] = [
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
        format!("{:.3}", r.solve_seconds),
        r.status.clone(),
    ]
}

/// Renders rows in a format.
pub fn render(rows: &[CompareRow], format: CompareFormat) -> anyhow::Result<String> {
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
        CompareFormat::Table => {
            let mut t = Table::new(&COLUMNS);
            for r in rows {
                t.row(cells(r));
            }
            t.to_string()
        }
    })
}

/// Runs the subcommand.
pub fn run(args: CompareArgs) -> anyhow::Result<()> {
    if args.processors.iter().any(|&p| p == 0 || p > spikepipe_compiler::parse::MAX_PROCESSORS) {
        return Err(BadInput(format!(
            "--processors: every count must be 1..={}, got {:?}",
            spikepipe_compiler::parse::MAX_PROCESSORS,
            args.processors
        ))
        .into());
    }
    if args.methods.is_empty() {
        return Err(BadInput("--methods: name at least one method".into()).into());
    }
    let specs = load_specs(&args.model, args.hardware.as_deref(), None)?;
    let mut opts = spikepipe_compiler::CompileOptions::new(Method::Ilp).reproducible(args.reproducible);
    opts.time_limit = args.time_limit;
    opts.max_staleness = args.max_staleness;
    let quiet = !std::io::IsTerminal::is_terminal(&std::io::stderr());
    if args.front {
        let mut points = Vec::new();
        for &p in &args.processors {
            let mut specs_p = specs.clone();
            specs_p.hardware.processors = p;
            points.extend(front(&specs_p, &args.methods, args.front_caps, &opts, |m, cap| {
                if !quiet {
                    let cap = cap.map_or("none".to_string(), |c| c.to_string());
                    eprint!("\r\x1b[2Kcompiling {m} at P = {p}, staleness cap {cap} …");
                }
            })?);
        }
        if !quiet {
            eprint!("\r\x1b[2K");
        }
        return print(&render_front(&points, args.format)?);
    }
    let rows = compare(&specs, &args.processors, &args.methods, &opts, |m, p| {
        if !quiet {
            eprint!("\r\x1b[2Kcompiling {m} at P = {p} …");
        }
    })?;
    if !quiet {
        eprint!("\r\x1b[2K");
    }
    let rows: Vec<CompareRow> = rows.into_iter().map(|(r, _)| r).collect();
    print(&render(&rows, args.format)?)
}
