//! `spikepipe`: the command-line front end. A thin layer over the library crates:
//! each subcommand lives in `cli/<name>.rs` and exposes `run(args) -> anyhow::Result<()>`.
//!
//! Exit codes: 0 success, 1 internal failure, 2 bad input (spec, schedule, flags, a file
//! that cannot be read or written).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Scheduling compiler for pipelined SNN training on multiple systolic-array processors.
#[derive(Parser, Debug)]
#[command(
    name = "spikepipe",
    version,
    about,
    long_about = None,
    after_help = "The words in the outputs (period II, lower bound LB, staleness s and s', comm overhead),\n\
the task graph (F S E G W U per layer) and the schedule file are defined in docs/design.md.\n\
Exit status: 0 success, 1 internal failure, 2 bad input (spec, schedule, flag, unreadable or\n\
unwritable file)."
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Lower a model to its training tasks and print their costs.
    Tasks(cli::tasks::TasksArgs),
    /// Schedule a model on P processors and write the schedule.
    Compile(cli::compile::CompileArgs),
    /// Compare scheduling methods over several processor counts.
    Compare(cli::compare::CompareArgs),
    /// Run a schedule cycle by cycle and report timing, traffic and utilization.
    Simulate(cli::simulate::SimulateArgs),
    /// Train the SNN for real with the gradient delays a schedule implies.
    Train(cli::train::TrainArgs),
    /// Write a schedule as a PyTorch/snnTorch training package (train.py, distributed.py).
    Export(cli::export::ExportArgs),
    /// Pick the schedule and staleness mitigation with the smallest simulated time to accuracy.
    Tune(cli::tune::TuneArgs),
    /// Compile, simulate (and optionally train) every model and write the evaluation report.
    Report(cli::report::ReportArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Command::Tasks(a) => cli::tasks::run(a),
        Command::Compile(a) => cli::compile::run(a),
        Command::Compare(a) => cli::compare::run(a),
        Command::Simulate(a) => cli::simulate::run(a),
        Command::Train(a) => cli::train::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Tune(a) => cli::tune::run(a),
        Command::Report(a) => cli::report::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", cli::message(&e));
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
