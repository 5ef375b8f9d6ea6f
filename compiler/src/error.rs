//! Typed errors of the compiler passes. They carry file, line, column and field so the
//! CLI can print one clear message; nothing here panics.

use std::fmt;
use std::path::PathBuf;

/// Where in a spec file something is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file (as given on the command line).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
        }
        Ok(())
    }
}

/// A bad model or hardware spec, or bad options.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// YAML syntax, unknown field, wrong type or missing field.
    #[error("{at}: {message}")]
    Syntax {
        /// Where.
        at: Location,
        /// What the YAML reader said (names the field).
        message: String,
    },
    /// A value that parses but makes no sense (zero size, impossible shape, …).
    #[error("{at}: field `{field}`: {message}")]
    Invalid {
        /// Where.
        at: Location,
        /// Dotted path of the field, e.g. `layers[2].conv2d.kernel`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// No hardware in the model file and none given with `--hardware`.
    #[error("{}: no hardware given: pass --hardware FILE or add a `hardware:` section to the model", model.display())]
    NoHardware {
        /// The model file.
        model: PathBuf,
    },
    /// A command-line option is out of range.
    #[error("option `{option}`: {message}")]
    Option {
        /// The flag.
        option: String,
        /// What is wrong.
        message: String,
    },
}

/// Result alias of the spec passes.
pub type SpecResult<T> = Result<T, SpecError>;

/// Errors of scheduling.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The method cannot handle this input.
    #[error("{method}: {message}")]
    Unsupported {
        /// Method name.
        method: String,
        /// Why.
        message: String,
    },
    /// A solver was asked for that this build does not include.
    #[error("solver `{0}` support is disabled in this build; rebuild with `--features {0}`")]
    SolverDisabled(String),
    /// A solver name nobody knows.
    #[error("unknown solver `{0}` (known: microlp, highs)")]
    UnknownSolver(String),
    /// A produced schedule failed verification: a compiler bug, reported rather than emitted.
    #[error("internal error: the {method} schedule failed verification: {violations}")]
    Invalid {
        /// Method name.
        method: String,
        /// What is wrong.
        violations: spikepipe_ir::Violations,
    },
    /// No schedule fits the memory per processor.
    #[error(transparent)]
    Memory(#[from] crate::memory_fit::MemoryError),
}
