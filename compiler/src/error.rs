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
    #[error("{}: cannot read: {}", path.display(), os_words(source))]
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

/// An OS error in words, without the `(os error N)` suffix.
fn os_words(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
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

/// Rewrites the Rust type names serde puts in its messages (`expected u64`,
/// `expected struct NeuronSpec`) into words a person writing YAML or JSON knows.
pub fn plain_types(message: &str) -> String {
    const WORDS: [(&str, &str); 12] = [
        ("u8", "a whole number ≥ 0"),
        ("u16", "a whole number ≥ 0"),
        ("u32", "a whole number ≥ 0"),
        ("u64", "a whole number ≥ 0"),
        ("usize", "a whole number ≥ 0"),
        ("i32", "a whole number"),
        ("i64", "a whole number"),
        ("f32", "a number"),
        ("f64", "a number"),
        ("a boolean", "true or false"),
        ("a string", "text"),
        ("a sequence", "a list (`[a, b]` or `- a` lines)"),
    ];
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find("expected ") {
        let (head, tail) = rest.split_at(i + "expected ".len());
        out.push_str(head);
        let word_end =
            tail.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ' ')).unwrap_or(tail.len());
        let phrase = &tail[..word_end];
        if let Some((from, to)) =
            WORDS.iter().find(|(from, _)| phrase == *from || phrase.starts_with(&format!("{from} ")))
        {
            out.push_str(to);
            rest = &tail[from.len()..];
        } else if let Some(name) = phrase.strip_prefix("struct ").or_else(|| phrase.strip_prefix("map ")) {
            out.push_str("a mapping (`key: value` lines)");
            let ident = name.split(' ').next().unwrap_or_default();
            rest = &tail[phrase.len() - name.len() + ident.len()..];
        } else if let Some(name) = phrase.strip_prefix("enum ") {
            out.push_str("one of the allowed names");
            let ident = name.split(' ').next().unwrap_or_default();
            rest = &tail[phrase.len() - name.len() + ident.len()..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::plain_types;

    #[test]
    fn rust_type_names_become_words() {
        assert_eq!(
            plain_types("invalid type: string \"four\", expected u64"),
            "invalid type: string \"four\", expected a whole number ≥ 0"
        );
        assert_eq!(
            plain_types("invalid type: string \"x\", expected f64"),
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(
            plain_types("invalid type: integer `3`, expected struct NeuronSpec"),
            "invalid type: integer `3`, expected a mapping (`key: value` lines)"
        );
        assert_eq!(
            plain_types("unknown field `x`, expected `out` or `neuron`"),
            "unknown field `x`, expected `out` or `neuron`"
        );
    }
}
