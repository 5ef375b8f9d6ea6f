//! Our schedules against the best standard method at equal staleness: the figure the
//! report leads with.
//!
//! For a staleness budget b (0, 1, 2, …, or none), "ours" is the method compiled with
//! `--max-staleness b`, and the best standard method is the fastest of data-parallel
//! (staleness 0), tuned GPipe (staleness 0) and replicated PipeDream compiled with the
//! same cap (counted only if it keeps it). The speedup is the standard period over ours.

use serde::Serialize;

use crate::{compile, CompileOptions, Method, ScheduleError, Specs};

/// One model × P × budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VersusRow {
    /// Model name.
    pub model: String,
    /// P.
    pub processors: u64,
    /// Staleness budget (`None`: unbounded).
    pub budget: Option<u64>,
    /// Our method.
    pub method: String,
    /// Our period in cycles.
    pub period_cycles: u64,
    /// Our largest staleness.
    pub max_staleness: u64,
    /// The fastest standard method within the budget.
    pub best_standard: String,
    /// Its period.
    pub best_standard_period_cycles: u64,
    /// Its largest staleness.
    pub best_standard_max_staleness: u64,
    /// `best_standard_period_cycles / period_cycles`.
    pub speedup: f64,
    /// The lower bound of the period (docs/design.md, section 5): no schedule is faster,
    /// so `best_standard_period_cycles / lower_bound_cycles` caps the speedup.
    pub lower_bound_cycles: u64,
}

/// The rows for one model at every P and budget.
pub fn versus_standard(
    specs: &Specs,
    processors: &[u64],
    budgets: &[Option<u64>],
    ours: Method,
    base: &CompileOptions,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<Vec<VersusRow>, ScheduleError> {
    let mut rows = Vec::new();
    for &p in processors {
        let mut specs_p = specs.clone();
        specs_p.hardware.processors = p;
        let run = |m: Method, cap: Option<u64>| {
            compile(
                &specs_p,
                &CompileOptions { method: m, max_staleness: cap, staleness_cost: None, ..base.clone() },
            )
        };
        let synchronous = [run(Method::DataParallel, None)?, run(Method::Gpipe, None)?];
        for &budget in budgets {
            progress(p, budget);
            let pipedream = run(Method::Pipedream, budget)?;
            let within = |s: &spikepipe_ir::Schedule| budget.is_none_or(|b| s.max_staleness() <= b);
            let best = synchronous
                .iter()
                .chain(std::iter::once(&pipedream))
                .filter(|s| within(s))
                .min_by_key(|s| s.period_cycles)
                .unwrap_or(&synchronous[0]);
            let mine = run(ours, budget)?;
            rows.push(VersusRow {
                model: specs.model.name.clone(),
                processors: p,
                budget,
                method: ours.name().into(),
                period_cycles: mine.period_cycles,
                max_staleness: mine.max_staleness(),
                best_standard: best.method.clone(),
                best_standard_period_cycles: best.period_cycles,
                best_standard_max_staleness: best.max_staleness(),
                speedup: crate::compare::ratio(best.period_cycles, mine.period_cycles),
                lower_bound_cycles: mine.lower_bound_cycles,
            });
        }
    }
    Ok(rows)
}

/// Our best schedule against the best standard one at a staleness cost C
/// ([`crate::priced`]): each side's point with the smallest period × (1 + C · largest
/// staleness).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricedRow {
    /// The staleness cost C.
    pub staleness_cost: f64,
    /// Our chosen point.
    pub ours: crate::front::FrontPoint,
    /// The standard method's chosen point.
    pub standard: crate::front::FrontPoint,
    /// Estimated time to accuracy, standard ÷ ours.
    pub speedup: f64,
}

/// Picks, at staleness cost `cost`, the cheapest of `ours` and the cheapest of `standard`
/// (each a method's schedules under every cap, e.g. a [`crate::front::front`]); `None` if
/// either is empty. Equal estimates go to the fresher, then the faster point.
///
/// ```
/// use spikepipe_compiler::front::FrontPoint;
/// use spikepipe_compiler::versus::priced;
/// let pt = |method: &str, period, s| FrontPoint {
///     processors: 8, method: method.into(), cap: None, period_cycles: period,
///     max_staleness: s, bytes_between_processors: 0, note: String::new(),
/// };
/// let ours = [pt("heuristic", 826_237, 5), pt("heuristic", 895_378, 0)];
/// let standard = [pt("data-parallel", 962_291, 0), pt("pipedream", 875_702, 3)];
/// let free = priced(&ours, &standard, 0.0).unwrap();
/// assert_eq!((free.ours.period_cycles, free.standard.period_cycles), (826_237, 875_702));
/// let dear = priced(&ours, &standard, 0.1).unwrap();
/// assert_eq!((dear.ours.max_staleness, dear.standard.method.as_str()), (0, "data-parallel"));
/// assert!((dear.speedup - 962_291.0 / 895_378.0).abs() < 1e-12);
/// ```
pub fn priced(
    ours: &[crate::front::FrontPoint],
    standard: &[crate::front::FrontPoint],
    cost: f64,
) -> Option<PricedRow> {
    use crate::priced::{cheaper, estimated_time};
    let est = |p: &crate::front::FrontPoint| estimated_time(p.period_cycles, p.max_staleness, cost);
    let key = |p: &crate::front::FrontPoint| (p.period_cycles, p.max_staleness);
    let pick = |points: &[crate::front::FrontPoint]| {
        points.iter().min_by(|a, b| cheaper(key(a), key(b), cost)).cloned()
    };
    let (ours, standard) = (pick(ours)?, pick(standard)?);
    let speedup = est(&standard) / est(&ours);
    Some(PricedRow { staleness_cost: cost, ours, standard, speedup })
}

/// Mean and largest speedup of rows.
pub fn summary(rows: &[VersusRow]) -> (f64, f64) {
    let n = rows.len().max(1) as f64;
    let mean = rows.iter().map(|r| r.speedup).sum::<f64>() / n;
    let max = rows.iter().map(|r| r.speedup).fold(0.0, f64::max);
    (crate::emit::round6(mean), max)
}

/// The largest mean speedup any schedule could reach over `rows`: the mean of the best
/// standard method's period over the lower bound (a schedule at the bound in every row).
pub fn ceiling(rows: &[VersusRow]) -> f64 {
    let n = rows.len().max(1) as f64;
    let sum: f64 =
        rows.iter().map(|r| crate::compare::ratio(r.best_standard_period_cycles, r.lower_bound_cycles)).sum();
    crate::emit::round6(sum / n)
}
