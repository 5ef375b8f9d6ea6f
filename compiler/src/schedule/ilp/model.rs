//! Phase 1's integer program: assignment and splitting at a period II.
//!
//! For every task t and processor p: a binary `z[t][p]` (t has work on p) and, for a
//! task that can be cut ([`super::cut`]), an integer `r[t][p]` of units on p with
//! `Σ_p r = U_t`. A chunk costs the cut's line, less `e_t` for the one chunk that holds
//! the task's short last unit (`l[t][p] ≤ z[t][p]`, `Σ_p l[t][p] ≤ 1`), so processor
//! loads are linear and never above the exact ones:
//! `load_p = Σ_t a_t·r[t][p] + b_t·z[t][p] − e_t·l[t][p] ≤ II`.
//!
//! The upper bound on II tightens the model: a chunk may hold at most
//! `⌊(ub − b + e)/a⌋` units, so a task needs at least that many chunks, and two tasks too
//! big to share a processor get a conflict cut. Up to [`PER_LINK_MAX`] processors every
//! directed link gets a load constraint too ([`super::links`]). The model is therefore a
//! *relaxation* of the exact period (the [`Evaluator`](crate::schedule::heuristic::Evaluator)'s,
//! every link counted): a proven model bound is a proven bound on the real period.
//!
//! Symmetry: processors are identical, so they are labelled by first use among the whole
//! tasks, largest first ([`break_symmetry`]); [`hint`] relabels a plan to match.

use good_lp::{Expression, Variable};

use super::cut::{cut_plan, Cut};
use super::links::{link_line, link_traffic};
use super::solve::{Domain, Model};
use crate::schedule::heuristic::TaskPlan;
use crate::schedule::split::whole;
use crate::schedule::Problem;

/// The model's variables.
pub(super) struct Vars {
    pub(super) ii: Variable,
    pub(super) z: Vec<Vec<Variable>>,
    pub(super) r: Vec<Option<Vec<Variable>>>,
    pub(super) link_total: Expression,
}

/// Up to this many processors every directed link gets its own load constraint; above
/// it links are left out of the model (both keep the model a relaxation).
pub const PER_LINK_MAX: usize = 4;

/// What the model is built for.
pub(super) struct Shape<'a> {
    pub(super) cuts: &'a [Option<Cut>],
    pub(super) lb: f64,
    /// Upper bound on II, in cycles.
    pub(super) ub: f64,
    pub(super) scale: f64,
}

/// Builds the model in units of `scale` cycles (so the period is near 1000 and the
/// simplex stays well conditioned).
pub(super) fn build(p: &Problem, s: &Shape) -> (Model, Vars) {
    let procs = p.processors() as usize;
    let (scale, cuts, ub) = (s.scale, s.cuts, s.ub);
    let mut m = Model::default();
    let ii = m.var(Domain::Real(s.lb.min(ub) / scale, ub / scale));
    let n = cuts.len();
    let mut z = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    let mut load: Vec<Expression> = vec![Expression::default(); procs];
    // Smallest cycles each task puts on a processor it uses (for the conflict cuts).
    let mut least = Vec::with_capacity(n);
    for (t, task) in p.tasks().enumerate() {
        let zt: Vec<Variable> = (0..procs).map(|_| m.var(Domain::Binary)).collect();
        match &cuts[t] {
            Some(c) => {
                // Units one chunk can hold within II ≤ ub: fewer big-M, more chunks forced.
                let cap = (((ub - c.b + c.e) / c.a.max(1e-9)).floor().max(1.0) as u64).min(c.units);
                let rt: Vec<Variable> = (0..procs).map(|_| m.var(Domain::Integer(0, cap as i32))).collect();
                m.add((rt.iter().copied().sum::<Expression>()).eq(c.units as f64));
                let chunks = c.units.div_ceil(cap).min(procs as u64);
                m.add((zt.iter().copied().sum::<Expression>()).geq(chunks as f64));
                // Only one chunk holds the short last unit: `l` says which (relaxed).
                let lt: Vec<Option<Variable>> =
                    (0..procs).map(|_| (c.e > 0.0).then(|| m.var(Domain::Real(0.0, 1.0)))).collect();
                if c.e > 0.0 {
                    m.add(lt.iter().flatten().map(|&l| Expression::from(l)).sum::<Expression>().leq(1.0));
                }
                for q in 0..procs {
                    m.add((rt[q] - cap as f64 * zt[q]).leq(0.0));
                    m.add((zt[q] - rt[q]).leq(0.0));
                    load[q] += (c.a / scale) * rt[q] + (c.b / scale) * zt[q];
                    if let Some(l) = lt[q] {
                        m.add((l - zt[q]).leq(0.0));
                        load[q] -= (c.e / scale) * l;
                    }
                }
                least.push(c.a + c.b - c.e);
                r.push(Some(rt));
            }
            None => {
                m.add((zt.iter().copied().sum::<Expression>()).eq(1.0));
                for q in 0..procs {
                    load[q] += (task.cycles as f64 / scale) * zt[q];
                }
                least.push(task.cycles as f64);
                r.push(None);
            }
        }
        z.push(zt);
    }
    for a in 0..n {
        for b in a + 1..n {
            if least[a] + least[b] > ub {
                for (&za, &zb) in z[a].iter().zip(&z[b]) {
                    m.add((za + zb).leq(1.0));
                }
            }
        }
    }
    for l in &load {
        m.add((l.clone() - ii).leq(0.0));
    }
    break_symmetry(&mut m, p, cuts, &z);
    let mut link_total = Expression::default();
    if procs <= PER_LINK_MAX {
        let (lat, bw) = link_line(p, scale);
        // Data edges and weight feedback (updated weights to F/G on other processors)
        // both load the links, as in `spikepipe_ir::required_transfers`.
        let data: Vec<_> = p.graph.graph.raw_edges().iter().collect();
        for a in 0..procs {
            for b in (0..procs).filter(|&b| b != a) {
                let mut link = Expression::default();
                for e in &data {
                    link +=
                        link_traffic(&mut m, (&z, &r, cuts), e, (a, b), (lat, e.weight.bytes as f64 / bw));
                }
                m.add((link.clone() - ii).leq(0.0));
                link_total += link;
            }
        }
    }
    (m, Vars { ii, z, r, link_total })
}

/// Processors are identical, so label them by first use among the whole tasks, largest
/// first: the i-th whole task runs on one of processors 0..=i, and on processor q > 0 only
/// if an earlier whole task runs on q − 1. Every placement has exactly one such labelling.
fn break_symmetry(m: &mut Model, p: &Problem, cuts: &[Option<Cut>], z: &[Vec<Variable>]) {
    let mut whole: Vec<(u64, usize)> =
        p.tasks().enumerate().filter(|(t, _)| cuts[*t].is_none()).map(|(t, task)| (task.cycles, t)).collect();
    whole.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let procs = z.first().map_or(0, Vec::len);
    for (i, &(_, t)) in whole.iter().enumerate() {
        for q in 1..procs {
            if q > i {
                m.add(Expression::from(z[t][q]).eq(0.0));
            } else {
                let earlier: Expression =
                    whole[..i].iter().map(|&(_, j)| Expression::from(z[j][q - 1])).sum();
                m.add((z[t][q] - earlier).leq(0.0));
            }
        }
    }
}

/// Plans from solver values: each processor's units form one contiguous range, in
/// processor order.
pub(super) fn extract(
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
                    let shares =
                        rt.iter().enumerate().map(|(q, &n)| (q as u32, val(n).round().max(0.0) as u64));
                    cut_plan(p, task, c, shares)
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

/// Integer values `(z, r)` of a plan the model can express, processors relabelled to
/// satisfy [`break_symmetry`]; `None` if the plan uses a cut the model lacks.
pub(super) fn hint(
    p: &Problem,
    cuts: &[Option<Cut>],
    vars: &Vars,
    plans: &[TaskPlan],
) -> Option<Vec<(Variable, f64)>> {
    let procs = vars.z.first().map_or(0, Vec::len);
    let (units, has) = expressed(cuts, procs, plans)?;
    // Label processors by first use among the whole tasks, largest first.
    let mut whole_tasks: Vec<(u64, usize)> =
        p.tasks().enumerate().filter(|(t, _)| cuts[*t].is_none()).map(|(t, task)| (task.cycles, t)).collect();
    whole_tasks.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut order: Vec<usize> = Vec::new();
    for &(_, t) in &whole_tasks {
        let q = (0..procs).find(|&q| has[t][q])?;
        if !order.contains(&q) {
            order.push(q);
        }
    }
    order.extend((0..procs).filter(|q| !order.contains(q)).collect::<Vec<_>>());
    let mut values = Vec::new();
    for t in 0..plans.len() {
        for (new, &old) in order.iter().enumerate() {
            values.push((vars.z[t][new], f64::from(u8::from(has[t][old]))));
            if let Some(rt) = &vars.r[t] {
                values.push((rt[new], units[t][old] as f64));
            }
        }
    }
    Some(values)
}

/// Units `r[t][q]` and use `z[t][q]` of a plan, per task and processor.
type Expressed = (Vec<Vec<u64>>, Vec<Vec<bool>>);

/// The [`Expressed`] values of a plan the model can express, processors as the plan
/// labels them; `None` if it uses a cut the model lacks.
pub(super) fn expressed(cuts: &[Option<Cut>], procs: usize, plans: &[TaskPlan]) -> Option<Expressed> {
    let mut units = vec![vec![0u64; procs]; plans.len()];
    let mut has = vec![vec![false; procs]; plans.len()];
    for (t, plan) in plans.iter().enumerate() {
        match &cuts[t] {
            None if plan.ranges.len() != 1 || plan.ranges[0] != whole() => return None,
            Some(c) => {
                for (range, &q) in plan.ranges.iter().zip(&plan.procs) {
                    let q = (q as usize).min(procs.checked_sub(1)?);
                    let (start, end) = if *range == whole() { (0, c.size) } else { (range.start, range.end) };
                    let aligned = start % c.unit == 0 && (end % c.unit == 0 || end == c.size);
                    if (*range != whole() && range.dim != c.dim)
                        || range.rows.is_some()
                        || !aligned
                        || end <= start
                    {
                        return None;
                    }
                    units[t][q] += (end - start).div_ceil(c.unit);
                    has[t][q] = true;
                }
            }
            None => has[t][(plan.procs[0] as usize).min(procs.checked_sub(1)?)] = true,
        }
    }
    Some((units, has))
}
