//! Re-costs a schedule file's tasks and chunks from its own `hardware` with the default
//! cost model ([`Systolic`]) plus each chunk's reduction work (`reduce_cycles`), so a hand-edited `cycles` field is caught instead of being
//! silently trusted: the simulator times chunks by their `cycles`, and the period and
//! staleness follow from them.
//!
//! ```
//! use spikepipe_compiler::{compile, load_specs, recost::check_cycles, CompileOptions, Method};
//! let specs = load_specs("../models/mlp-digits.yaml".as_ref(),
//!                        Some("../models/hw/sa32-ws.yaml".as_ref()), Some(2)).unwrap();
//! let mut s = compile(&specs, &CompileOptions::new(Method::Heuristic)).unwrap();
//! assert!(check_cycles(&s).is_ok());
//! s.tasks[0].chunks[0].cycles += 1;
//! assert!(check_cycles(&s).unwrap_err().to_string().contains("F1[0]"));
//! ```

use spikepipe_ir::{Schedule, SplitDim, Violation, Violations};

use crate::cost::{CostModel, Systolic};
use crate::schedule::split::chunk_work;

/// Checks every task's and chunk's `cycles` against the cost of its work (or of its
/// range of the work) on the schedule's hardware. Each mismatch is a violation naming
/// the task (`F1`) or chunk (`F1[0]`).
///
/// Only schedules of SpikePipe's own methods are re-costed: a file whose `method` is not
/// one of them (the simulator's synthetic test schedules) carries durations of its own.
pub fn check_cycles(s: &Schedule) -> Result<(), Violations> {
    if s.method.parse::<crate::Method>().is_err() {
        return Ok(());
    }
    let cost = Systolic::new(&s.hardware);
    let mut found = Vec::new();
    for t in &s.tasks {
        let want = cost.work_cycles(&t.work);
        if t.cycles != want {
            found.push(Violation {
                location: t.id.clone(),
                message: format!(
                    "cycles is {}, but the task's work costs {want} cycles on this hardware",
                    t.cycles
                ),
            });
        }
        for (i, c) in t.chunks.iter().enumerate() {
            if c.range.end < c.range.start {
                continue; // the verifier reports malformed ranges
            }
            // A chunk also sums the partial results it receives (`reduce_cycles`, which the
            // verifier checks against the partial sums that arrive).
            let work = cost.work_cycles(&chunk_work(&t.work, c.range));
            let want = work.saturating_add(c.reduce_cycles);
            if c.cycles != want {
                let reduce = if c.reduce_cycles > 0 {
                    format!(" plus {} cycles of reduction", c.reduce_cycles)
                } else {
                    String::new()
                };
                found.push(Violation {
                    location: format!("{}[{i}]", t.id),
                    message: format!(
                        "cycles is {}, but its range {}..{} of `{}`{} costs {work} cycles on this hardware{reduce}",
                        c.cycles,
                        c.range.start,
                        c.range.end,
                        dim_name(c.range.dim),
                        c.range.rows.map_or(String::new(), |[a, b]| format!(" (rows {a}..{b})"))
                    ),
                });
            }
        }
    }
    if found.is_empty() {
        Ok(())
    } else {
        Err(Violations(found))
    }
}

/// The dimension as the schedule file spells it (via serde, so new kinds need no edit here).
fn dim_name(d: SplitDim) -> String {
    match serde_json::to_value(d) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{d:?}"),
    }
}
