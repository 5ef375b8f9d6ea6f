//! Phase 1: assignment and splitting, minimising the period.
//!
//! For every task t and processor p: a binary `z[t][p]` (t has work on p) and, for a
//! GEMM that can be cut (along its [`split_dim`]), an integer `r[t][p]` of units on p with
//! `Σ_p r = U_t`, `r ≤ U_t·z`, `z ≤ r`. A chunk of r units costs exactly `a_t·r + b_t`
//! on the array (SCALE-Sim: a fold count times a fold length, `b_t` the fill of a
//! streamed dimension, 0 for a tile-aligned spatial cut), so processor loads are linear:
//! `load_p = Σ_t a_t·r[t][p] + b_t·z[t][p] ≤ II`.
//!
//! Links: `out[e][p]` bounds the transfer cycles edge e sends out of p, and
//! `Σ_e out[e][p] ≤ II`. Bounding each processor's egress (not each directed link) is
//! conservative, so the real period of the solution is never above the model's.
//!
//! Symmetry: processors are identical, so loads are ordered `load_0 ≥ load_1 ≥ …`; and
//! `II ≥ LB`. The heuristic's plan, relabelled to match, is the warm start. A second solve
//! at the optimal period minimises the summed egress cycles (traffic).

use good_lp::{variable, Expression, Variable};
use spikepipe_ir::SplitDim;

use super::solve::{Model, Solved};
use crate::schedule::heuristic::{Evaluator, TaskPlan};
use crate::schedule::split::{chunk_cycles, split_dim, whole};
use crate::schedule::{lower_bound, Problem};
use crate::ScheduleError;

/// How one task may be cut in the ILP.
struct Cut {
    dim: SplitDim,
    unit: u64,
    units: u64,
    /// Cycles per unit.
    a: f64,
    /// Fixed cycles per chunk.
    b: f64,
}

fn cut_of(p: &Problem, t: &spikepipe_ir::Task) -> Option<Cut> {
    let (dim, unit) = split_dim(p, t)?;
    let size = dim.size(&t.work)?;
    let units = size.div_ceil(unit);
    let cost = |n: u64| {
        chunk_cycles(p, t, spikepipe_ir::ChunkRange { dim, start: 0, end: (n * unit).min(size) }) as f64
    };
    let a = cost(2) - cost(1);
    Some(Cut { dim, unit, units, a, b: (cost(1) - a).max(0.0) })
}

/// The outcome of phase 1.
pub struct Assignment {
    /// The plan found.
    pub plans: Vec<TaskPlan>,
    /// The best proven lower bound on the period.
    pub period: f64,
    /// Proven optimal.
    pub optimal: bool,
    /// Relative gap, if known.
    pub gap: Option<f64>,
    /// Seconds in the solver (both solves).
    pub seconds: f64,
}

struct Vars {
    ii: Variable,
    z: Vec<Vec<Variable>>,
    r: Vec<Option<Vec<Variable>>>,
    out_total: Expression,
}

/// Builds the model in units of `scale` cycles (so the period is near 1000 and the
/// simplex stays well conditioned); `fix_period` turns it into the traffic solve.
fn build(
    p: &Problem,
    cuts: &[Option<Cut>],
    lb: f64,
    fix_period: Option<f64>,
    scale: f64,
    links: bool,
) -> (Model, Vars) {
    let procs = p.processors() as usize;
    let lb = lb / scale;
    let fix_period = fix_period.map(|x| x / scale);
    let mut m = Model::default();
    let ii = m.var(variable().min(lb).max(fix_period.unwrap_or(f64::INFINITY)));
    let n = cuts.len();
    let mut z = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    let mut load: Vec<Expression> = vec![Expression::default(); procs];
    for (t, task) in p.tasks().enumerate() {
        let zt: Vec<Variable> = (0..procs).map(|_| m.var(variable().binary())).collect();
        match &cuts[t] {
            Some(c) => {
                let rt: Vec<Variable> =
                    (0..procs).map(|_| m.var(variable().integer().min(0).max(c.units as f64))).collect();
                m.add((rt.iter().copied().sum::<Expression>()).eq(c.units as f64));
                for q in 0..procs {
                    m.add((rt[q] - c.units as f64 * zt[q]).leq(0.0));
                    m.add((zt[q] - rt[q]).leq(0.0));
                    load[q] += (c.a / scale) * rt[q] + (c.b / scale) * zt[q];
                }
                r.push(Some(rt));
            }
            None => {
                m.add((zt.iter().copied().sum::<Expression>()).eq(1.0));
                for q in 0..procs {
                    load[q] += (task.cycles as f64 / scale) * zt[q];
                }
                r.push(None);
            }
        }
        z.push(zt);
    }
    for q in 0..procs {
        m.add((load[q].clone() - ii).leq(0.0));
        if q + 1 < procs {
            m.add((load[q + 1].clone() - load[q].clone()).leq(0.0));
        }
    }
    let (lat, bw) = (
        p.hardware.link.latency_cycles as f64 / scale,
        p.hardware.link.bytes_per_cycle.max(1) as f64 * scale,
    );
    let mut out_total = Expression::default();
    if links {
        let traffic =
            |m: &mut Model, e: &petgraph::graph::Edge<spikepipe_ir::Dependence>, a: usize, b: usize| {
                link_traffic(m, (&z, &r, cuts), e, (a, b), (lat, e.weight.bytes as f64 / bw))
            };
        // Data edges and weight feedback (updated weights to F/G on other processors)
        // both load the links, as in `spikepipe_ir::required_transfers`.
        let data: Vec<_> = p.graph.graph.raw_edges().iter().collect();
        if procs <= PER_LINK_MAX {
            for a in 0..procs {
                for b in (0..procs).filter(|&b| b != a) {
                    let mut load = Expression::default();
                    for e in &data {
                        load += traffic(&mut m, e, a, b);
                    }
                    m.add((load.clone() - ii).leq(0.0));
                    out_total += load;
                }
            }
        } else {
            for a in 0..procs {
                let mut load = Expression::default();
                for e in &data {
                    load += egress(&mut m, (&z, &r, cuts), e, a, (lat, e.weight.bytes as f64 / bw));
                }
                m.add((load.clone() - ii).leq(0.0));
                out_total += load;
            }
        }
    }
    (m, Vars { ii, z, r, out_total })
}

/// Up to this many processors every directed link gets its own load constraint (exact,
/// so the model's optimum is a lower bound); above it, one egress bound per processor.
const PER_LINK_MAX: usize = 4;

type Placed<'a> = (&'a [Vec<Variable>], &'a [Option<Vec<Variable>>], &'a [Option<Cut>]);

/// A variable bounding the cycles edge `e` puts on link `a → b`: its transfer's cycles
/// if the producer has work on `a` and the consumer on `b`, else 0 (big-M on the
/// binaries; `(lat, full)` are the latency and the whole tensor's cycles).
fn link_traffic(
    m: &mut Model,
    (z, r, cuts): Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    (a, b): (usize, usize),
    (lat, full): (f64, f64),
) -> Expression {
    let (u, v) = (e.source().index(), e.target().index());
    let units = |t: usize, q: usize| r[t].as_ref().map_or(Expression::default(), |rt| rt[q].into());
    let big = lat + full;
    let rhs: Expression = match (&cuts[u], &cuts[v]) {
        (None, None) => big * z[u][a] + big * z[v][b] - big,
        (Some(cu), _) => lat * z[u][a] + (full / cu.units as f64) * units(u, a) - big + big * z[v][b],
        (None, Some(cv)) if e.weight.sliced_by == Some(cv.dim) => {
            lat * z[v][b] + (full / cv.units as f64) * units(v, b) - big + big * z[u][a]
        }
        (None, Some(_)) => big * z[v][b] - big + big * z[u][a],
    };
    let f = m.var(variable().min(0.0));
    m.add((rhs - f).leq(0.0));
    f.into()
}

/// A variable bounding the cycles edge `e` sends out of processor `q` to all others
/// (conservative: the sum over q's links).
fn egress(
    m: &mut Model,
    (z, r, cuts): Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    q: usize,
    (lat, full): (f64, f64),
) -> Expression {
    let (u, v) = (e.source().index(), e.target().index());
    let procs = z[u].len();
    let units = |t: usize| r[t].as_ref().map_or(Expression::default(), |rt| rt[q].into());
    let rhs: Expression = match (&cuts[u], &cuts[v]) {
        (None, None) => (lat + full) * z[u][q] - (lat + full) * z[v][q],
        (Some(cu), _) => lat * z[u][q] + (full / cu.units as f64) * units(u) - (lat + full) * z[v][q],
        (None, Some(cv)) => {
            let others: Expression = (0..procs).filter(|&o| o != q).map(|o| Expression::from(z[v][o])).sum();
            let big = (procs as f64 - 1.0) * (lat + full);
            let traffic = if e.weight.sliced_by == Some(cv.dim) {
                lat * others + full - (full / cv.units as f64) * units(v)
            } else {
                (lat + full) * others
            };
            traffic - big + big * z[u][q]
        }
    };
    let out = m.var(variable().min(0.0));
    m.add((rhs - out).leq(0.0));
    out.into()
}

/// Processors relabelled so loads decrease, matching the model's symmetry breaking.
fn relabel(ev: &Evaluator, plans: &[TaskPlan]) -> Vec<TaskPlan> {
    let (loads, _, _) = ev.loads(plans);
    let mut order: Vec<usize> = (0..loads.len()).collect();
    order.sort_by(|&a, &b| loads[b].cmp(&loads[a]).then(a.cmp(&b)));
    let mut new_of = vec![0u32; loads.len()];
    for (new, &old) in order.iter().enumerate() {
        new_of[old] = new as u32;
    }
    plans
        .iter()
        .map(|pl| TaskPlan { procs: pl.procs.iter().map(|&q| new_of[q as usize]).collect(), ..pl.clone() })
        .collect()
}

/// Warm-start values of a heuristic plan, if the model can express it.
fn warm_start(
    m: &mut Model,
    vars: &Vars,
    (p, cuts): (&Problem, &[Option<Cut>]),
    plans: &[TaskPlan],
    (period, scale): (f64, f64),
) -> bool {
    let procs = vars.z.first().map_or(0, Vec::len);
    // Units and presence per task and processor, and the loads the model sees (which may
    // exceed the exact ones: a unit cut short at the end of a range is priced whole).
    let mut units = vec![vec![0u64; procs]; plans.len()];
    let mut has = vec![vec![false; procs]; plans.len()];
    let mut load = vec![0f64; procs];
    for ((t, plan), task) in plans.iter().enumerate().zip(p.tasks()) {
        for (range, &q) in plan.ranges.iter().zip(&plan.procs) {
            let q = q as usize;
            has[t][q] = true;
            if let Some(c) = &cuts[t] {
                if range.dim != c.dim && range.dim != SplitDim::Whole {
                    return false;
                }
                let len = if range.dim == SplitDim::Whole { c.units * c.unit } else { range.len() };
                units[t][q] += len.div_ceil(c.unit);
            }
        }
        if cuts[t].is_none() && plan.ranges.len() != 1 {
            return false;
        }
        for q in 0..procs {
            load[q] += match &cuts[t] {
                Some(c) => c.a * units[t][q] as f64 + c.b * f64::from(u8::from(has[t][q])),
                None => task.cycles as f64 * f64::from(u8::from(has[t][q])),
            };
        }
    }
    // The model orders processors by decreasing load: relabel the hint the same way.
    let mut order: Vec<usize> = (0..procs).collect();
    order.sort_by(|&a, &b| load[b].total_cmp(&load[a]).then(a.cmp(&b)));
    for t in 0..plans.len() {
        for (new, &old) in order.iter().enumerate() {
            m.warm(vars.z[t][new], f64::from(u8::from(has[t][old])));
            if let Some(rt) = &vars.r[t] {
                m.warm(rt[new], units[t][old] as f64);
            }
        }
    }
    let top = load.iter().copied().fold(period, f64::max);
    m.warm(vars.ii, top / scale);
    true
}

/// Plans from solver values: each processor's units form one contiguous range, in
/// processor order.
fn extract(
    p: &Problem,
    cuts: &[Option<Cut>],
    vars: &Vars,
    values: &std::collections::HashMap<Variable, f64>,
) -> Vec<TaskPlan> {
    let val = |v: Variable| values.get(&v).copied().unwrap_or(0.0);
    p.tasks()
        .enumerate()
        .map(|(t, task)| {
            let procs = vars.z[t].len();
            match (&cuts[t], &vars.r[t]) {
                (Some(c), Some(rt)) => {
                    let size = c.dim.size(&task.work).unwrap_or(1);
                    let mut plan = TaskPlan { ranges: vec![], cycles: vec![], procs: vec![] };
                    let mut next = 0u64;
                    let mut left = c.units;
                    for (q, &units_var) in rt.iter().enumerate() {
                        let n = (val(units_var).round().max(0.0) as u64).min(left);
                        if n == 0 {
                            continue;
                        }
                        left -= n;
                        let end = if left == 0 { size } else { ((next + n) * c.unit).min(size) };
                        let range = spikepipe_ir::ChunkRange { dim: c.dim, start: next * c.unit, end };
                        next += n;
                        plan.ranges.push(range);
                        plan.cycles.push(chunk_cycles(p, task, range));
                        plan.procs.push(q as u32);
                    }
                    if plan.ranges.len() == 1 {
                        plan.ranges[0] = whole();
                        plan.cycles[0] = task.cycles;
                    }
                    plan
                }
                _ => {
                    let q = (0..procs)
                        .max_by(|&a, &b| val(vars.z[t][a]).total_cmp(&val(vars.z[t][b])).then(b.cmp(&a)))
                        .unwrap_or(0);
                    TaskPlan { ranges: vec![whole()], cycles: vec![task.cycles], procs: vec![q as u32] }
                }
            }
        })
        .collect()
}

/// A phase-1 solution: plans, model period, optimal, gap, seconds.
type PeriodSolution = (Vec<TaskPlan>, f64, bool, Option<f64>, f64);

/// One solve of the period model; `Err` carries the solver's reason.
fn solve_period(
    p: &Problem,
    cuts: &[Option<Cut>],
    start: &[TaskPlan],
    start_period: f64,
    (lb, scale): (f64, f64),
    links: bool,
    (solver, seconds): (&str, f64),
) -> Result<Result<PeriodSolution, String>, ScheduleError> {
    // microlp's LU occasionally reports a singular basis on these models; the same model
    // with a slightly different scale (and, last, without the warm start) usually solves.
    let started = std::time::Instant::now();
    let mut reason = String::new();
    for (attempt, (scale, warm)) in
        [(scale, true), (scale * 1.37, true), (scale * 0.73, false)].into_iter().enumerate()
    {
        let left = seconds - started.elapsed().as_secs_f64();
        if attempt > 0 && left < 0.05 * seconds {
            break;
        }
        let (mut m, vars) = build(p, cuts, lb, None, scale, links);
        if warm {
            warm_start(&mut m, &vars, (p, cuts), start, (start_period, scale));
        }
        match m.minimise(vars.ii.into(), solver, left.max(0.0))? {
            Solved::Solution { values, optimal, gap, seconds } => {
                let period = values.get(&vars.ii).copied().unwrap_or(f64::INFINITY) * scale;
                return Ok(Ok((extract(p, cuts, &vars, &values), period, optimal, gap, seconds)));
            }
            Solved::Failed { reason: r, .. } => {
                trace(format_args!("attempt {attempt} (links {links}): {r}"));
                let numerical = r.contains("Singular") || r.contains("unexpected");
                reason = r;
                if !numerical {
                    break;
                }
            }
        }
    }
    Ok(Err(reason))
}

/// Runs phase 1 from a heuristic plan. `Ok(Err(reason))` when the solver found nothing.
///
/// First the model without link constraints (a relaxation, much easier): its optimum (or
/// proven bound) is a lower bound on the real period. If a plan's exact period, every
/// link counted, reaches that bound, it is optimal. Otherwise the full model (with the
/// conservative egress bound) gets the rest of the budget; its own optimality proof is
/// not one for the real problem, so the status is then `time_limit` with the gap to the
/// relaxation's bound.
pub fn assign(
    p: &Problem,
    heuristic: &[TaskPlan],
    solver: &str,
    seconds: f64,
) -> Result<Result<Assignment, String>, ScheduleError> {
    let ev = Evaluator::new(p);
    let cuts: Vec<Option<Cut>> = p.tasks().map(|t| cut_of(p, t)).collect();
    let lb = lower_bound(p) as f64;
    let start = relabel(&ev, heuristic);
    let start_period = ev.score(&start).0 as f64;
    let scale = (lb / 1000.0).max(1.0);
    let started = std::time::Instant::now();

    // The relaxation's optimum is a valid lower bound on the real period (links only add
    // constraints); the full model's optimum is not (its egress bound is conservative).
    let relaxed = solve_period(p, &cuts, &start, start_period, (lb, scale), false, (solver, seconds / 2.0))?;
    let mut found: Option<(Vec<TaskPlan>, f64)> = None;
    let mut bound = lb;
    let mut reason = String::new();
    match relaxed {
        Ok((plans, period, optimal, gap, _)) => {
            let exact = ev.score(&plans).0 as f64;
            trace(format_args!("relaxed: model {period:.0} exact {exact} optimal {optimal} gap {gap:?}"));
            if optimal {
                bound = bound.max(period);
            } else if let Some(g) = gap {
                bound = bound.max(period * (1.0 - g));
            }
            if exact <= start_period {
                found = Some((plans, period));
            }
        }
        Err(r) => reason = r,
    }
    let proven = |plans: &[TaskPlan], bound: f64| ev.score(plans).0 as f64 <= bound.ceil();
    if found.as_ref().is_none_or(|(plans, _)| !proven(plans, bound)) {
        let left = (seconds - started.elapsed().as_secs_f64()).max(seconds / 4.0);
        match solve_period(p, &cuts, &start, start_period, (lb, scale), true, (solver, left))? {
            Ok((plans, period, optimal, gap, _)) => {
                trace(format_args!(
                    "full: model {period:.0} exact {} optimal {optimal} gap {gap:?}",
                    ev.score(&plans).0
                ));
                // With a constraint per directed link the model relaxes only rounding, so
                // its optimum bounds the real period from below.
                if optimal && p.processors() as usize <= PER_LINK_MAX {
                    bound = bound.max((period - 1e-6).ceil());
                }
                if found.as_ref().is_none_or(|f| ev.score(&plans).0 <= ev.score(&f.0).0) {
                    found = Some((plans, period));
                }
            }
            Err(r) => {
                trace(format_args!("full model failed: {r}"));
                if reason.is_empty() {
                    reason = r;
                }
            }
        }
    }
    let Some((plans, period)) = found else { return Ok(Err(reason)) };
    let exact = ev.score(&plans).0 as f64;
    let optimal = proven(&plans, bound);
    let gap = Some(((exact - bound) / exact.max(1.0)).max(0.0));
    let mut plans = plans;
    trace(format_args!("phase 1: exact {exact} (model {period:.0}), bound {bound:.0}, optimal {optimal}"));
    let period = exact;

    // Least traffic at that period, with a quarter of the budget (kept only if the exact
    // period does not grow).
    let (mut m2, vars2) = build(p, &cuts, lb, Some(period + 0.5), scale, true);
    warm_start(&mut m2, &vars2, (p, &cuts), &plans, (period, scale));
    if let Solved::Solution { values, .. } = m2.minimise(vars2.out_total.clone(), solver, seconds / 4.0)? {
        let lean = extract(p, &cuts, &vars2, &values);
        if ev.score(&lean).0 <= ev.score(&plans).0 {
            plans = lean;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Ok(Assignment { plans, period: bound, optimal, gap, seconds }))
}

/// Prints solver progress to stderr when `SPIKEPIPE_TRACE` is set.
pub fn trace(args: std::fmt::Arguments) {
    if std::env::var_os("SPIKEPIPE_TRACE").is_some() {
        eprintln!("[ilp] {args}");
    }
}
