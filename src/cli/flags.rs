//! The flags several subcommands share, declared once: value parsers that reject a bad
//! processor count, time limit or solver while the command line is read (exit status 2,
//! before any work), and the solve flags `compile`, `compare`, `train` and `report` flatten.

use spikepipe_compiler::options::{parse_ilp_effort, parse_processors, parse_time_limit};
use spikepipe_compiler::{CompileOptions, Method, Solver};

/// clap value parser of a processor count (1 to 256).
pub fn processors(text: &str) -> Result<u64, String> {
    parse_processors(text).map_err(|e| option_message(&e))
}

/// clap value parser of a time limit in seconds (0 to a week).
pub fn time_limit(text: &str) -> Result<f64, String> {
    parse_time_limit(text).map_err(|e| option_message(&e))
}

/// clap value parser of an ILP effort (1 to 1000).
pub fn ilp_effort(text: &str) -> Result<u64, String> {
    parse_ilp_effort(text).map_err(|e| option_message(&e))
}

/// clap value parser of a solver this build includes.
pub fn solver(text: &str) -> Result<Solver, String> {
    let s: Solver = text.parse()?;
    s.check_available().map_err(|e| option_message(&e))
}

/// clap value parser of a scheduling method.
pub fn method(text: &str) -> Result<Method, String> {
    text.parse()
}

/// Most worker threads `--threads` accepts: a batch splits into at most this many
/// pieces, and thousands of OS threads only slow training down (100 000 took 63 s for
/// what 2 do in 0.1 s).
pub const MAX_THREADS: usize = 1024;

/// clap value parser of a worker-thread count (0: one per core, up to [`MAX_THREADS`]).
pub fn threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n <= MAX_THREADS => Ok(n),
        Ok(n) => Err(format!("{n} threads is more than {MAX_THREADS}; 0 uses one per core")),
        Err(_) => Err(format!("`{text}` is not a whole number (0: one per core)")),
    }
}

/// clap value parser of a count that must be at least 1 (`--epochs`, `--train-limit`).
pub fn at_least_one(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("0 would do nothing; give at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{text}` is not a whole number ≥ 1")),
    }
}

/// clap prints `invalid value 'X' for '--flag <N>': MESSAGE`; the flag is already named.
fn option_message(e: &spikepipe_compiler::SpecError) -> String {
    match e {
        spikepipe_compiler::SpecError::Option { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// How long and with what the ILP may solve, and the staleness cap: the flags of every
/// subcommand that compiles.
#[derive(clap::Args, Debug, Clone)]
pub struct SolveArgs {
    /// Wall-clock limit of the whole ILP solve (all phases) in seconds, 0 to 604800
    /// (default 10; `report`: 2). The search also stops at fixed node budgets, so a run
    /// they end is reproducible; if the clock ends it first the note says so, and if
    /// nothing was found the heuristic's schedule is used. The candidates' timing and
    /// the refinement after the solve are bounded by work budgets, not by the clock, so
    /// that they stay reproducible: about a second on the MLPs, seconds to tens of
    /// seconds on the VGGs (up to about 40 s under `--max-staleness 0` at P = 16).
    #[arg(long, value_name = "SECS", value_parser = time_limit, allow_negative_numbers = true)]
    pub time_limit: Option<f64>,
    /// Multiply the ILP's branch-and-bound node budgets by K (1 to 1000): a longer, still
    /// reproducible search that may find a shorter period or prove the one it has optimal
    /// (`solver.status`). Raise `--time-limit` with it, or the clock ends the search first.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = ilp_effort)]
    pub ilp_effort: u64,
    /// ILP solver: microlp (built in) or highs (needs `--features highs`).
    #[arg(long, value_name = "NAME", default_value = "microlp", value_parser = solver)]
    pub solver: Solver,
    /// Keep every layer's staleness s (the number of updates a forward pass's weights miss;
    /// see docs/design.md) at or below N: the period is raised (or PipeDream's placement
    /// used) until it is. Trades speed for gradient freshness. At 0, `ilp` gives
    /// `heuristic`'s schedule: its solver, which does not model an iteration's length, is
    /// not run (docs/scheduling.md, "The ILP under a staleness cap").
    #[arg(long, value_name = "N")]
    pub max_staleness: Option<u64>,
    /// Period and staleness as one objective (default C = 0.1): keep, of the method's
    /// schedule without a cap (or under `--max-staleness`) and its schedules under
    /// smaller caps, the one with the smallest period × (1 + C × largest staleness). C
    /// (0 to 100) is the fraction of extra training iterations one update of staleness
    /// costs; `spikepipe tune` measures it (0.08 to 0.5 on Fashion-MNIST). `none`: the
    /// fastest period, however stale. `report` and `compare --front`, which show every
    /// staleness budget on its own, do not take it (docs/scheduling.md, "One objective").
    #[arg(long, value_name = "C|none", value_parser = staleness_cost, allow_negative_numbers = true)]
    pub staleness_cost: Option<StalenessCost>,
}

/// What `--staleness-cost` asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StalenessCost {
    /// Choose by period × (1 + C × largest staleness).
    Priced(f64),
    /// `none`: the fastest period (periods within 0.1 % count as equal, the fresher wins).
    Fastest,
}

impl SolveArgs {
    /// Compile options for `method` with these flags (`default_limit` if no `--time-limit`;
    /// staleness priced at [`DEFAULT_STALENESS_COST`] if no `--staleness-cost`).
    pub fn options(&self, method: Method, default_limit: f64) -> CompileOptions {
        let mut o = CompileOptions::new(method).with_time_limit(self.time_limit.unwrap_or(default_limit));
        o.solver = self.solver.name().to_string();
        o.max_staleness = self.max_staleness;
        o.ilp_effort = self.ilp_effort;
        o.staleness_cost = match self.staleness_cost {
            None => Some(DEFAULT_STALENESS_COST),
            Some(StalenessCost::Priced(c)) => Some(c),
            Some(StalenessCost::Fastest) => None,
        };
        o
    }
}

/// The staleness cost the commands that compile use when `--staleness-cost` is not given:
/// below every cost measured on the bundled networks without mitigation (0.17 to 0.5 on
/// Fashion-MNIST; docs/time-to-accuracy.md), and not far above the best mitigated one
/// (0.08), so a stale schedule wins only where it is clearly faster.
pub const DEFAULT_STALENESS_COST: f64 = 0.1;

/// clap value parser of `--staleness-cost`: `none`, or a number from 0 to
/// [`spikepipe_compiler::priced::MAX_STALENESS_COST`].
pub fn staleness_cost(text: &str) -> Result<StalenessCost, String> {
    if text.trim() == "none" {
        return Ok(StalenessCost::Fastest);
    }
    staleness_cost_number(text).map(StalenessCost::Priced)
}

fn staleness_cost_number(text: &str) -> Result<f64, String> {
    let max = spikepipe_compiler::priced::MAX_STALENESS_COST;
    match text.trim().parse::<f64>() {
        Ok(c) if c.is_finite() && (0.0..=max).contains(&c) => Ok(c),
        Ok(c) => Err(format!(
            "{c} is outside 0 to {max} (the fraction of extra iterations per update of staleness, e.g. 0.05)"
        )),
        Err(_) => Err(format!(
            "`{}` is neither a number nor `none` (e.g. 0.05: each update of staleness costs 5 % more iterations; none: the fastest period)",
            text.trim()
        )),
    }
}

/// clap value parser of a sample count that must be at least 1 (`--train-limit`).
pub fn samples(text: &str) -> Result<usize, String> {
    at_least_one(text).and_then(|n| usize::try_from(n).map_err(|_| format!("{n} is too large")))
}
