//! Typed, validated option values shared by every front end: the ILP solver backend, the
//! time limit of a solve and the processor count. Each check returns a [`SpecError::Option`]
//! naming the flag, so a bad value is rejected before any work starts.

use std::fmt;
use std::str::FromStr;

use crate::error::{SpecError, SpecResult};

/// ILP solver backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Solver {
    /// microlp: pure Rust, always built in.
    #[default]
    Microlp,
    /// HiGHS: needs the `highs` cargo feature.
    Highs,
}

impl Solver {
    /// Every solver, in the order `--help` lists them.
    pub const ALL: [Solver; 2] = [Solver::Microlp, Solver::Highs];

    /// The name used on the command line and in schedule files.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Microlp => "microlp",
            Solver::Highs => "highs",
        }
    }

    /// Whether this build can run the solver.
    pub fn available(self) -> bool {
        match self {
            Solver::Microlp => true,
            Solver::Highs => cfg!(feature = "highs"),
        }
    }

    /// The solver if this build includes it, else why not (checked before any solve).
    pub fn check_available(self) -> SpecResult<Solver> {
        if self.available() {
            Ok(self)
        } else {
            Err(SpecError::Option {
                option: "--solver".into(),
                message: format!(
                    "{} support is disabled in this build; rebuild with `cargo build --release --features {}`",
                    self.name(),
                    self.name()
                ),
            })
        }
    }
}

impl fmt::Display for Solver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Solver {
    type Err = String;
    fn from_str(s: &str) -> Result<Solver, String> {
        Solver::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown solver `{s}` (known: microlp, highs)"))
    }
}

/// Largest `--ilp-effort`: a thousand times the default node budgets, hours of search.
pub const MAX_ILP_EFFORT: u64 = 1000;

/// Parses `--ilp-effort`: a whole number from 1 to [`MAX_ILP_EFFORT`].
pub fn parse_ilp_effort(text: &str) -> SpecResult<u64> {
    let bad = |why: &str| SpecError::Option {
        option: "--ilp-effort".into(),
        message: format!("`{}` {why}", text.trim()),
    };
    match text.trim().parse::<u64>() {
        Ok(n @ 1..=MAX_ILP_EFFORT) => Ok(n),
        Ok(_) => Err(bad(&format!("is out of range (1 to {MAX_ILP_EFFORT}; 1 is the default search)"))),
        Err(_) => Err(bad(&format!("is not a whole number from 1 to {MAX_ILP_EFFORT}"))),
    }
}

/// Longest time limit accepted for one solve phase: a week. Far beyond any useful solve,
/// and far below what a `Duration` can hold, so no later arithmetic on it can overflow.
pub const MAX_TIME_LIMIT_SECS: f64 = 7.0 * 24.0 * 3600.0;

/// Checks a time limit in seconds: a finite number in `0..=MAX_TIME_LIMIT_SECS`.
pub fn check_time_limit(secs: f64) -> SpecResult<f64> {
    check_time_limit_as(secs, &secs.to_string())
}

fn check_time_limit_as(secs: f64, written: &str) -> SpecResult<f64> {
    if secs.is_finite() && (0.0..=MAX_TIME_LIMIT_SECS).contains(&secs) {
        return Ok(secs);
    }
    Err(SpecError::Option {
        option: "--time-limit".into(),
        message: format!("{written} s is out of range; give 0 to {MAX_TIME_LIMIT_SECS} seconds (a week)"),
    })
}

/// Parses and checks a time limit written as text.
pub fn parse_time_limit(text: &str) -> SpecResult<f64> {
    let secs: f64 = text.trim().parse().map_err(|_| SpecError::Option {
        option: "--time-limit".into(),
        message: format!("`{text}` is not a number of seconds"),
    })?;
    check_time_limit_as(secs, text.trim())
}

/// Parses and checks a processor count written as text (see [`crate::parse::check_processors`]).
pub fn parse_processors(text: &str) -> SpecResult<u64> {
    let p: u64 = text.trim().parse().map_err(|_| SpecError::Option {
        option: "--processors".into(),
        message: format!(
            "`{text}` is not a processor count; give a whole number from 1 to {}",
            crate::parse::MAX_PROCESSORS
        ),
    })?;
    crate::parse::check_processors(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solver_names_round_trip() {
        for s in Solver::ALL {
            assert_eq!(s.name().parse::<Solver>(), Ok(s));
        }
        assert!("foo".parse::<Solver>().is_err());
        assert!(Solver::Microlp.check_available().is_ok());
    }

    #[test]
    fn ilp_efforts() {
        assert_eq!(parse_ilp_effort("1").ok(), Some(1));
        assert_eq!(parse_ilp_effort(" 20 ").ok(), Some(20));
        for bad in ["0", "-1", "1001", "2.5", "x", ""] {
            assert!(parse_ilp_effort(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_limits() {
        assert_eq!(parse_time_limit("2.5").ok(), Some(2.5));
        assert_eq!(parse_time_limit("0").ok(), Some(0.0));
        for bad in ["-1", "1e20", "inf", "NaN", "x", ""] {
            assert!(parse_time_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn processor_counts() {
        assert_eq!(parse_processors("16").ok(), Some(16));
        for bad in ["0", "257", "-1", "four"] {
            assert!(parse_processors(bad).is_err(), "{bad}");
        }
    }
}
