//! The scheduling front: for one model and P, every method at every staleness cap, and
//! the points no other point beats on all of period, largest staleness and bytes moved
//! between processors (the Pareto front). A user picks from it by what staleness costs
//! their training (see `spikepipe tune`).

use serde::Serialize;

use crate::{compile, CompileOptions, Method, ScheduleError, Specs};

/// One schedule on the front.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrontPoint {
    /// P.
    pub processors: u64,
    /// Method name.
    pub method: String,
    /// The `--max-staleness` it was compiled with (`None`: no cap).
    pub cap: Option<u64>,
    /// Period II in cycles.
    pub period_cycles: u64,
    /// Largest forward or input-gradient staleness of any layer.
    pub max_staleness: u64,
    /// Bytes per iteration between processors.
    pub bytes_between_processors: u64,
    /// What the schedule is (the solver's note, e.g. which candidate won).
    pub note: String,
}

impl FrontPoint {
    fn objectives(&self) -> (u64, u64, u64) {
        (self.period_cycles, self.max_staleness, self.bytes_between_processors)
    }
    /// Whether `self` is at least as good as `other` everywhere and better somewhere.
    pub fn dominates(&self, other: &FrontPoint) -> bool {
        let (a, b) = (self.objectives(), other.objectives());
        a.0 <= b.0 && a.1 <= b.1 && a.2 <= b.2 && a != b
    }
}

/// The caps worth compiling `method` under, given its uncapped schedule's largest
/// staleness: `0..=max_cap`, less those the uncapped schedule already keeps (at or above
/// its staleness), and none for a synchronous method (staleness 0 under any cap).
pub fn caps_below(method: Method, uncapped_staleness: u64, max_cap: u64) -> std::ops::Range<u64> {
    if method.is_synchronous() {
        return 0..0;
    }
    0..uncapped_staleness.min(max_cap.saturating_add(1))
}

/// Every method × cap (`0..=max_cap`, then no cap) at P, then only the Pareto-minimal
/// points, sorted by staleness then period; of equal points the first in that order is
/// kept. Synchronous methods (staleness 0 whatever the cap) are compiled once. A method's
/// uncapped schedule is compiled first, and caps at or above its largest staleness are
/// skipped: the uncapped schedule already keeps them.
pub fn front(
    specs: &Specs,
    methods: &[Method],
    max_cap: u64,
    base: &CompileOptions,
    mut progress: impl FnMut(Method, Option<u64>),
) -> Result<Vec<FrontPoint>, ScheduleError> {
    let mut points: Vec<FrontPoint> = Vec::new();
    let mut point = |m: Method, cap: Option<u64>| -> Result<FrontPoint, ScheduleError> {
        progress(m, cap);
        // Every cap is a point of its own here, never priced against the others.
        let opts = CompileOptions { method: m, max_staleness: cap, staleness_cost: None, ..base.clone() };
        let s = compile(specs, &opts)?;
        Ok(FrontPoint {
            processors: specs.hardware.processors,
            method: m.name().into(),
            cap,
            period_cycles: s.period_cycles,
            max_staleness: s.max_staleness(),
            bytes_between_processors: s.metrics.bytes_between_processors,
            note: s.solver.note.clone().unwrap_or_default(),
        })
    };
    for &m in methods {
        let uncapped = point(m, None)?;
        let caps = caps_below(m, uncapped.max_staleness, max_cap);
        let mut method_points = caps.map(|c| point(m, Some(c))).collect::<Result<Vec<_>, _>>()?;
        method_points.push(uncapped);
        for p in method_points {
            if points.iter().all(|q| q.objectives() != p.objectives()) {
                points.push(p);
            }
        }
    }
    let mut front: Vec<FrontPoint> =
        points.iter().filter(|p| !points.iter().any(|q| q.dominates(p))).cloned().collect();
    front.sort_by_key(|p| (p.max_staleness, p.period_cycles, p.bytes_between_processors));
    Ok(front)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(period: u64, stale: u64, bytes: u64) -> FrontPoint {
        FrontPoint {
            processors: 4,
            method: "m".into(),
            cap: None,
            period_cycles: period,
            max_staleness: stale,
            bytes_between_processors: bytes,
            note: String::new(),
        }
    }

    /// Caps at or above a method's uncapped staleness are not compiled; a synchronous
    /// method is compiled once.
    #[test]
    fn caps_stop_below_the_uncapped_staleness() {
        let specs = crate::load_specs(
            "../models/mlp-digits.yaml".as_ref(),
            Some("../models/hw/sa32-ws.yaml".as_ref()),
            Some(2),
        )
        .expect("specs");
        let mut runs = Vec::new();
        let base = CompileOptions::new(Method::Heuristic).reproducible(true);
        let points = front(&specs, &[Method::Heuristic, Method::DataParallel], 10, &base, |m, cap| {
            runs.push((m, cap))
        })
        .expect("front");
        let uncapped_schedule = compile(&specs, &base).expect("heuristic");
        let uncapped = uncapped_schedule.max_staleness();
        assert!(uncapped >= 1, "the case needs a stale uncapped schedule");
        let mut expected = vec![(Method::Heuristic, None)];
        expected.extend((0..uncapped).map(|c| (Method::Heuristic, Some(c))));
        expected.push((Method::DataParallel, None));
        assert_eq!(runs, expected);
        // The uncapped schedule is on the front or beaten by a capped one: the searches
        // are budgeted, so a capped compile can end faster (docs/scheduling.md, "The front").
        let beaten_or_on = points
            .iter()
            .any(|p| p.period_cycles <= uncapped_schedule.period_cycles && p.max_staleness <= uncapped);
        assert!(beaten_or_on, "{points:?}");
    }

    #[test]
    fn dominance_needs_one_strict_improvement() {
        assert!(pt(10, 1, 5).dominates(&pt(10, 2, 5)));
        assert!(pt(9, 2, 5).dominates(&pt(10, 2, 5)));
        assert!(!pt(10, 2, 5).dominates(&pt(10, 2, 5)));
        assert!(!pt(9, 3, 5).dominates(&pt(10, 2, 5)));
    }
}
