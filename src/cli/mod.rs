//! Subcommands, one file each, plus what they share: spec flags, output formats,
//! plain-text tables and exit codes.

pub mod compare;
pub mod compile;
pub mod export;
pub mod flags;
pub mod outputs;
pub mod progress;
pub mod report;
pub mod schedule_file;
pub mod simulate;
pub mod tasks;
pub mod train;
pub mod tune;

use std::fmt;
use std::path::PathBuf;

use spikepipe_compiler::{load_specs, ScheduleError, SpecError, Specs};

/// Flags that name a model and its hardware.
#[derive(clap::Args, Debug, Clone)]
pub struct SpecArgs {
    /// Model spec (YAML), e.g. models/mlp-digits.yaml.
    pub model: PathBuf,
    /// Hardware spec (YAML); overrides a `hardware:` section in the model.
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<PathBuf>,
    /// Number of processors P, 1 to 256 (overrides the hardware's).
    #[arg(long, short = 'p', value_name = "N", value_parser = flags::processors)]
    pub processors: Option<u64>,
}

impl SpecArgs {
    /// Loads and checks the specs.
    pub fn load(&self) -> anyhow::Result<Specs> {
        Ok(load_specs(&self.model, self.hardware.as_deref(), self.processors)?)
    }
}

/// Output format of tables.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned text for people.
    Table,
    /// JSON for programs.
    Json,
}

/// Bad input from the user (flags, files): exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit status of an error: 2 for bad input (specs, schedules, flags, files that cannot
/// be read or written, datasets), 1 for anything else (an internal failure).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    use spikepipe_backends::exec::{DataError, ExecError};
    use spikepipe_backends::sim::SimError;
    let bad = e.chain().any(|c| {
        c.is::<SpecError>()
            || c.is::<BadInput>()
            || c.is::<spikepipe_ir::Violations>()
            || c.is::<serde_json::Error>()
            || c.is::<std::io::Error>()
            || c.is::<DataError>()
            || matches!(c.downcast_ref::<ExecError>(), Some(e) if !matches!(e, ExecError::NonFinite { .. }))
            || matches!(c.downcast_ref::<SimError>(), Some(SimError::Invalid(_) | SimError::Config(_)))
            || matches!(
                c.downcast_ref::<ScheduleError>(),
                Some(
                    ScheduleError::SolverDisabled(_)
                        | ScheduleError::UnknownSolver(_)
                        | ScheduleError::Memory(_)
                )
            )
    });
    if bad {
        2
    } else {
        1
    }
}

/// The error and its causes on one line, each said once: a typed error that already
/// prints its source (`cannot read x: No such file…`) is not followed by that source again.
pub fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let full = cause.to_string();
        let text = match full.find(" (os error") {
            Some(i) => &full[..i],
            None => &full,
        };
        if out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}

/// Whether the error is a closed stdout (e.g. `| head`), which is not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// A plain-text table with right-aligned numbers.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column names.
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|s| s.to_string()).collect(), rows: Vec::new() }
    }
    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cols = self.header.len();
        let mut width = vec![0; cols];
        for r in std::iter::once(&self.header).chain(&self.rows) {
            for (i, c) in r.iter().enumerate().take(cols) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let numeric = |s: &str| s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.');
        for (ri, r) in std::iter::once(&self.header).chain(&self.rows).enumerate() {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate().take(cols) {
                let pad = width[i] - c.chars().count();
                if i > 0 {
                    line.push_str("  ");
                }
                if ri > 0 && numeric(c) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                } else {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                }
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Writes text to stdout, reporting a closed pipe as an error `main` ignores.
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// A bad-input error (exit status 2) with this message.
pub fn bad_input(message: impl Into<String>) -> anyhow::Error {
    BadInput(message.into()).into()
}
