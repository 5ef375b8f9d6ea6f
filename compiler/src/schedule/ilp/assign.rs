//! Phase 1: assignment and splitting, minimising the period.
//!
//! For every task t and processor p: a binary `z[t][p]` (t has work on p) and, for a
//! task that can be cut ([`ilp_cut_dim`]: a GEMM along its one split dimension, M or N;
//! `S` and `E` by whole samples; `U` by parameter slices; see [`FULLY_CUT_TASKS`]), an
//! integer `r[t][p]` of units on p with `Σ_p r = U_t`. A chunk of r units costs
//! `a_t·r + b_t` (a GEMM on the array, SCALE-Sim: a fold count times a fold length, `b_t`
//! the fill of a streamed dimension; an element-wise chunk on the vector unit: `a_t` its
//! exact cycles per unit, a fraction, and `b_t = 0`), less `e_t` for
//! the one chunk that holds the task's short last unit (`l[t][p] ≤ z[t][p]`,
//! `Σ_p l[t][p] ≤ 1`), so processor loads are linear and never above the exact ones:
//! `load_p = Σ_t a_t·r[t][p] + b_t·z[t][p] − e_t·l[t][p] ≤ II`.
//!
//! Links (P ≤ [`PER_LINK_MAX`] = 4): a variable per data edge and directed link bounds the
//! cycles the edge puts on the link from below, through big-M terms on the binaries, and
//! each link's sum is `≤ II`. The model is therefore a *relaxation* of the exact period
//! (the [`Evaluator`]'s, every link counted): a proven model bound is a proven bound on
//! the real period. Above `PER_LINK_MAX` links are left out (still a relaxation; at P = 8
//! the per-link model solved under 40 nodes a second, too slow to be useful).
//!
//! Search over II: the model is solved with `II ≤ H − 1` for the best exact period H
//! found so far (first the heuristic's). That upper bound tightens the model: a chunk
//! may hold at most `⌊(H − 1 − b + e)/a⌋` units, so a task needs at least that many
//! chunks, and two tasks too big to share a processor get a conflict cut. Infeasible
//! means H is optimal (among the placements the model expresses), and so does a bound
//! within [`MIP_GAP`](super::MIP_GAP) of H; a solution whose
//! exact period falls short of its model value starts the next round below it.
//!
//! Symmetry: processors are identical, so they are labelled by first use among the whole
//! tasks, largest first ([`break_symmetry`]).
//! The first round admits the heuristic's period and, when the model can express its
//! plan, starts from it (relabelled); a plan with cuts the model lacks only lends its
//! period as the incumbent bound.
//!
//! After the rounds, the packing walk ([`super::packing`]): a packing of the model's
//! chunks with every load below the incumbent's period is a placement of the model, kept
//! if its exact period (links counted) is lower too, and the walk repeats from it. When
//! the loads fit but the links do not, the search runs again with the model's link
//! bounds ([`LinkBounds`], the same bounds as the model's, evaluated on each partial
//! placement); when nothing fits below the incumbent, with or without the links, that
//! proves it optimal among the model's placements. The walk runs once before the rounds
//! too: a bound it proves ends the rounds as soon as they reach it, and the last walk
//! starts from its placement if that is faster than the rounds' best.
//! A last solve at the best period minimises the summed link cycles (traffic).

use good_lp::{Expression, Variable};

use super::packing::{Chunks, Constraint, Packed, Piece};
use super::solve::{Budget, Domain, Failure, Model, Solved, Stop};
use crate::schedule::heuristic::{Evaluator, TaskPlan};
use crate::schedule::split::{chunk_cycles, ilp_cut_dim, rows_per_sample, whole};
use crate::schedule::{lower_bound, Problem};
use crate::ScheduleError;

/// How one task may be cut in the ILP.
struct Cut {
    dim: spikepipe_ir::SplitDim,
    unit: u64,
    units: u64,
    size: u64,
    /// Cycles per unit.
    a: f64,
    /// Fixed cycles per chunk.
    b: f64,
    /// Cycles the short last unit costs less than a full one.
    e: f64,
    /// `a` as the exact fraction `rate.0 / rate.1` (the packing works in whole cycles
    /// scaled by a common denominator, so a fractional rate stays exact).
    rate: (u64, u64),
    /// `e` as the fraction `short / rate.1`.
    short: u64,
    /// The cut runs over samples (`S` and `E`; `F`, `G` and `R` cut along M).
    by_samples: bool,
    /// Each unit is whole samples (always for `S` and `E`; for an M cut when the unit
    /// is a multiple of a sample's rows), so a chunk holds exactly its share of samples.
    whole_samples: bool,
}

/// Up to this many tasks (the MLPs and the CNN have 11–17) every element-wise task may
/// be cut; in a larger model only those of at least `1/ELEMENTWISE_CUT_SHARE` of the
/// period's lower bound. A smaller one, run whole, barely moves the best packing, while
/// every cut task adds P integers to the model: with all of VGG-16's 83 tasks cut,
/// microlp's simplex fails as singular at P = 16.
pub const FULLY_CUT_TASKS: usize = 24;
/// See [`FULLY_CUT_TASKS`].
pub const ELEMENTWISE_CUT_SHARE: u64 = 8;

/// How the model cuts each task ([`cut_of`]; element-wise ones as [`FULLY_CUT_TASKS`] says).
fn cuts_of(p: &Problem) -> Vec<Option<Cut>> {
    let lb = lower_bound(p);
    let every = p.tasks().count() <= FULLY_CUT_TASKS;
    p.tasks()
        .map(|t| {
            let small = matches!(t.work, spikepipe_ir::Work::Elementwise { .. })
                && t.cycles.saturating_mul(ELEMENTWISE_CUT_SHARE) < lb;
            if small && !every {
                None
            } else {
                cut_of(p, t)
            }
        })
        .collect()
}

fn cut_of(p: &Problem, t: &spikepipe_ir::Task) -> Option<Cut> {
    let (dim, unit) = ilp_cut_dim(p, t)?;
    let size = dim.size(&t.work)?;
    let units = size.div_ceil(unit);
    let range = |from: u64, to: u64| unit_range(dim, unit, (units, size), from, to);
    let cost = |n: u64| chunk_cycles(p, t, range(0, n));
    let last = chunk_cycles(p, t, range(units - 1, units));
    let elementwise = matches!(t.work, spikepipe_ir::Work::Elementwise { .. });
    let (rate, b, short) = if elementwise {
        // `⌈rate·r⌉` cycles for r units: the line through the origin at the least cycles
        // per full unit over every chunk length is below every chunk, and exact wherever
        // `rate·r` is whole (r = 8 for 250 elements × 6 ops on 32 lanes). The short last
        // unit: the most any chunk ending the task falls below that line.
        let least = (1..units).map(|n| (cost(n), n)).min_by(|x, y| (x.0 * y.1).cmp(&(y.0 * x.1)));
        let (num, den) = least.unwrap_or((cost(1), 1));
        let g = gcd(num, den).max(1);
        let (num, den) = (num / g, den / g);
        let short = (1..=units)
            .map(|r| (num * r).saturating_sub(den * chunk_cycles(p, t, range(units - r, units))))
            .max()
            .unwrap_or(0);
        ((num, den), 0, short)
    } else {
        let a = cost(2).saturating_sub(cost(1));
        let b = cost(1).saturating_sub(a);
        ((a, 1), b, (a + b).saturating_sub(last))
    };
    let (a, e) = (rate.0 as f64 / rate.1 as f64, short as f64 / rate.1 as f64);
    let rows = rows_per_sample(p, t, dim);
    let by_samples = rows.is_some();
    let whole_samples = rows.is_some_and(|r| r > 0 && unit % r == 0);
    Some(Cut { dim, unit, units, size, a, b: b as f64, e, rate, short, by_samples, whole_samples })
}

/// Units `from..to` of a task cut along `dim` into `units` units of `unit`, the last
/// ending at `size` (it may be short).
fn unit_range(
    dim: spikepipe_ir::SplitDim,
    unit: u64,
    (units, size): (u64, u64),
    from: u64,
    to: u64,
) -> spikepipe_ir::ChunkRange {
    spikepipe_ir::ChunkRange { dim, start: from * unit, end: if to >= units { size } else { to * unit } }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Largest common denominator of the packing's cycles: beyond it fractional rates are
/// rounded down (still below every chunk, only less tight).
const MAX_PACKING_SCALE: u64 = 1 << 16;

/// Probes of [`Packing::tighter`] below the walk's first capacity (a range of 65 000
/// cycles narrowed to 250), each on `1/TIGHTER_SHARE` of the nodes left, so together
/// they spend at most 40 % of them.
const TIGHTER_PROBES: u32 = 8;
/// See [`TIGHTER_PROBES`].
const TIGHTER_SHARE: u64 = 16;

/// The common denominator of every cut's rate (1 if they are whole, as for GEMMs): the
/// packing counts cycles in units of `1/scale`.
fn packing_scale(cuts: &[Option<Cut>]) -> u64 {
    cuts.iter().flatten().fold(1u64, |q, c| {
        let l = q / gcd(q, c.rate.1).max(1) * c.rate.1;
        if l <= MAX_PACKING_SCALE {
            l
        } else {
            q
        }
    })
}

/// The outcome of phase 1.
pub struct Assignment {
    /// The best plan found (the heuristic's if nothing beat it).
    pub plans: Vec<TaskPlan>,
    /// Whether `plans` came from the model (false: the heuristic's was kept).
    pub from_model: bool,
    /// The best proven lower bound on the exact period.
    pub bound: f64,
    /// Proven optimal among the placements the model expresses.
    pub optimal: bool,
    /// When phase 1 first held a placement within the gap of a proven bound (`None`
    /// unless `optimal`). The solver's rounds may run on after it: their placements, at
    /// periods within the gap, are often fresher.
    pub proven_at: Option<std::time::Instant>,
    /// Whether the wall clock (not the deterministic node budget) cut a solve short.
    pub clock_stopped: bool,
    /// Why a solve failed, if one did and nothing better was found.
    pub failure: Option<Failure>,
    /// The solver's own best placement, when the packing walk replaced it by a faster one
    /// (often staler: under a staleness cap it may still win).
    pub before_packing: Option<Vec<TaskPlan>>,
}

struct Vars {
    ii: Variable,
    z: Vec<Vec<Variable>>,
    r: Vec<Option<Vec<Variable>>>,
    link_total: Expression,
}

/// Up to this many processors every directed link gets its own load constraint; above
/// it links are left out of the model (both keep the model a relaxation).
pub const PER_LINK_MAX: usize = 4;

/// What the model is built for.
struct Shape<'a> {
    cuts: &'a [Option<Cut>],
    lb: f64,
    /// Upper bound on II, in cycles.
    ub: f64,
    scale: f64,
}

/// Builds the model in units of `scale` cycles (so the period is near 1000 and the
/// simplex stays well conditioned).
fn build(p: &Problem, s: &Shape) -> (Model, Vars) {
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

type Placed<'a> = (&'a [Vec<Variable>], &'a [Option<Vec<Variable>>], &'a [Option<Cut>]);

/// The cost model's transfer line `latency + bytes / bandwidth` in units of `scale`
/// cycles: `(latency, bytes per unit)`.
fn link_line(p: &Problem, scale: f64) -> (f64, f64) {
    let (latency, bandwidth) = p.cost.transfer_line();
    (latency as f64 / scale, bandwidth as f64 * scale)
}

/// A variable bounding from below the cycles edge `e` puts on link `a → b`
/// ([`link_bound`]).
fn link_traffic(
    m: &mut Model,
    placed: Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    link: (usize, usize),
    line: (f64, f64),
) -> Expression {
    let rhs = link_bound(placed, e, link, line);
    let f = m.var(Domain::Real(0.0, f64::INFINITY));
    m.add((rhs - f).leq(0.0));
    f.into()
}

/// A linear lower bound on the cycles edge `e` puts on link `a → b`: its transfer's
/// cycles if the producer has work on `a` and the consumer on `b`, else at most 0
/// (big-M on the binaries; `(lat, full)` are the latency and the whole tensor's cycles).
/// A cut side's share is `(r·unit − short·z)/size`, never above the exact share that
/// `spikepipe_ir::edge_transfers` gives; the unit tests below check the bound against it.
fn link_bound(
    (z, r, cuts): Placed,
    e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    (a, b): (usize, usize),
    (lat, full): (f64, f64),
) -> Expression {
    let (u, v) = (e.source().index(), e.target().index());
    let share = |t: usize, c: &Cut, q: usize| -> Expression {
        let rt = r[t].as_ref().map_or(Expression::default(), |rt| rt[q].into());
        let short = (c.units * c.unit - c.size) as f64;
        (full * c.unit as f64 / c.size as f64) * rt - (full * short / c.size as f64) * z[t][q]
    };
    let big = lat + full;
    match edge_load(cuts[u].as_ref(), cuts[v].as_ref(), (e.weight.sliced_by, e.weight.kind)) {
        EdgeLoad::Whole => big * z[u][a] + big * z[v][b] - big,
        EdgeLoad::ProducerShare(cu) => lat * z[u][a] + share(u, cu, a) - big + big * z[v][b],
        EdgeLoad::ConsumerShare(cv) => lat * z[v][b] + share(v, cv, b) - big + big * z[u][a],
        EdgeLoad::Latency => lat * z[u][a] + lat * z[v][b] - lat,
        EdgeLoad::Surplus(cu, cv) if z[v].len() == 2 => {
            // What the producer holds on a beyond the rows the consumer takes there must
            // leave a, and at P = 2 over this one link.
            let most = (full * cv.unit as f64 / cv.size as f64)
                * r[v].as_ref().map_or(Expression::default(), |rv| rv[a].into());
            share(u, cu, a) - most
        }
        EdgeLoad::Surplus(..) | EdgeLoad::Nothing => Expression::default(),
        EdgeLoad::Crossed(cu, cv) => {
            lat * z[u][a] + lat * z[v][b] - lat + share(u, cu, a) + share(v, cv, b) - full
        }
    }
}

/// How an edge's tensor is laid out: the dimension that slices it, and its kind.
type EdgeHow = (Option<spikepipe_ir::SplitDim>, spikepipe_ir::EdgeKind);

/// What the model counts of an edge on a link from a processor of its producer to one
/// of its consumer, by how the two are cut ([`link_bound`] and the packing walk's
/// [`LinkBounds`] both price it from this).
#[derive(Clone, Copy)]
enum EdgeLoad<'a> {
    /// The whole tensor: neither side cut, or the consumer cut along a dimension that
    /// does not slice it.
    Whole,
    /// The producer's chunk's share (the consumer runs whole).
    ProducerShare(&'a Cut),
    /// The consumer's chunk's share (the producer runs whole; the consumer's cut slices
    /// the tensor).
    ConsumerShare(&'a Cut),
    /// Two cut tasks: the exact traffic is the overlap of their shares; only the
    /// latency is certain.
    Latency,
    /// Two tasks cut into sample groups: chunks with no sample in common exchange
    /// nothing, so not even the latency is certain.
    Nothing,
    /// As [`EdgeLoad::Nothing`], the consumer cut into whole samples: the
    /// rows the producer holds on a processor beyond those the consumer takes there
    /// must leave it, so at P = 2 the one link carries at least the difference of the
    /// two shares (producer's from below, consumer's from above).
    Surplus(&'a Cut, &'a Cut),
    /// A producer cut into sample groups (all columns) and a consumer cut along the
    /// columns the edge is sliced by (all samples): they share the block of the
    /// producer's samples × the consumer's columns, `x·y` of the tensor, at least
    /// `x + y − 1` (the product's linear lower envelope), beside the latency.
    Crossed(&'a Cut, &'a Cut),
}

fn edge_load<'a>(cu: Option<&'a Cut>, cv: Option<&'a Cut>, (sliced, kind): EdgeHow) -> EdgeLoad<'a> {
    // A consumer cut into sample groups needs only its samples' rows of a tensor that
    // has a row per sample (the traffic model's block rule).
    let needs_share = |cv: &Cut| {
        sliced == Some(cv.dim) || (sliced.is_none() && cv.by_samples && kind == spikepipe_ir::EdgeKind::Data)
    };
    match (cu, cv) {
        (None, None) => EdgeLoad::Whole,
        (Some(cu), None) => EdgeLoad::ProducerShare(cu),
        (None, Some(cv)) if needs_share(cv) => EdgeLoad::ConsumerShare(cv),
        (None, Some(_)) => EdgeLoad::Whole,
        // Two sample groups may share no sample, and then nothing moves.
        (Some(cu), Some(cv)) if cu.by_samples && cv.by_samples => {
            if cv.whole_samples && kind == spikepipe_ir::EdgeKind::Data {
                EdgeLoad::Surplus(cu, cv)
            } else {
                EdgeLoad::Nothing
            }
        }
        (Some(cu), Some(cv))
            if cu.by_samples
                && !cv.by_samples
                && sliced == Some(cv.dim)
                && kind == spikepipe_ir::EdgeKind::Data =>
        {
            EdgeLoad::Crossed(cu, cv)
        }
        (Some(_), Some(_)) => EdgeLoad::Latency,
    }
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

/// The plan of a cut task from `(processor, units)` shares, in order: each processor's
/// units one contiguous range, the last holding the task's end (and its short unit);
/// shares past the task's units are cut to what is left, empty ones dropped.
fn cut_plan(
    p: &Problem,
    task: &spikepipe_ir::Task,
    c: &Cut,
    shares: impl IntoIterator<Item = (u32, u64)>,
) -> TaskPlan {
    let mut plan = TaskPlan { ranges: vec![], cycles: vec![], procs: vec![] };
    let (mut next, mut left) = (0u64, c.units);
    for (q, n) in shares {
        let n = n.min(left);
        if n == 0 {
            continue;
        }
        left -= n;
        let end = if left == 0 { c.size } else { ((next + n) * c.unit).min(c.size) };
        let range = spikepipe_ir::ChunkRange { dim: c.dim, start: next * c.unit, end };
        next += n;
        plan.ranges.push(range);
        plan.cycles.push(chunk_cycles(p, task, range));
        plan.procs.push(q);
    }
    if plan.ranges.len() == 1 {
        plan.ranges[0] = whole();
        plan.cycles[0] = task.cycles;
    }
    plan
}

/// Integer values `(z, r)` of a plan the model can express, processors relabelled to
/// satisfy [`break_symmetry`]; `None` if the plan uses a cut the model lacks.
fn hint(p: &Problem, cuts: &[Option<Cut>], vars: &Vars, plans: &[TaskPlan]) -> Option<Vec<(Variable, f64)>> {
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
fn expressed(cuts: &[Option<Cut>], procs: usize, plans: &[TaskPlan]) -> Option<Expressed> {
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
                    if (*range != whole() && range.dim != c.dim) || !aligned || end <= start {
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

/// Budgets of phase 1 (branch-and-bound nodes, deterministic).
pub struct Limits {
    /// Nodes of all period solves together.
    pub period_nodes: u64,
    /// Nodes of one period solve.
    pub round_nodes: u64,
    /// Nodes of the traffic solve.
    pub traffic_nodes: u64,
    /// Nodes of all packing searches ([`super::packing`]) together.
    pub packing_nodes: u64,
    /// Wall-clock deadline of phase 1.
    pub deadline: std::time::Instant,
    /// Wall-clock deadline of the solver's rounds: earlier, so the packing search after
    /// them still runs when the clock, not the node budget, ends the rounds.
    pub rounds_deadline: std::time::Instant,
}

/// Runs phase 1: the search over II from the heuristic's period. `solver` is `microlp`
/// or `highs`.
pub fn assign(
    p: &Problem,
    heuristic: &[TaskPlan],
    solver: &str,
    limits: &Limits,
) -> Result<Assignment, ScheduleError> {
    let ev = Evaluator::new(p);
    let cuts = cuts_of(p);
    let lb = lower_bound(p) as f64;
    let scale = (lb / 1000.0).max(1.0);
    let exact = |plans: &[TaskPlan]| ev.score(plans).0;

    let mut best = (heuristic.to_vec(), exact(heuristic), false);
    let mut bound = lb;
    let mut nodes_left = limits.period_nodes;
    let mut clock_stopped = false;
    let mut failure = None;
    let mut retried = false;
    let mut first = true;
    let procs = p.processors() as usize;
    // Whether the incumbent is one of the model's placements: only then does a bound the
    // model proves hold for it too.
    let mut expressible = expressed(&cuts, procs, heuristic).is_some();
    let per_cycle = packing_scale(&cuts);
    let pieces: Vec<Piece> = p.tasks().zip(&cuts).map(|(t, c)| piece_of(t, c.as_ref(), per_cycle)).collect();
    // The packing reasons with the linear chunk costs; where the cost model breaks them
    // (a chunk cheaper than its share, as when every chunk picks its own dataflow under
    // `dataflow: best`) it would prove wrong bounds, so it is not used at all.
    let sound = packing_is_sound(p, &cuts, per_cycle);
    trace(format_args!("packing sound: {sound}; cycles ×{per_cycle}; pieces {pieces:?}"));
    let mut packing = Packing {
        pieces: &pieces,
        scale: per_cycle,
        procs,
        nodes_left: if sound { limits.packing_nodes } else { 0 },
        deadline: limits.deadline,
        late: false,
    };

    // The walk alone first, on its own budget: a bound it proves lets the solver's
    // rounds stop as soon as they reach it (mlp-digits, sa32-ws, P = 4: one round
    // instead of two). Its placement is set aside until the rounds are done, so the
    // solver's path is the same as without it (nor does the bound enter the model: a
    // tighter bound on II changes that path too); the last walk then starts from
    // whichever is faster.
    let mut walk_bound = 0.0f64;
    let mut walked_first = None;
    if expressible {
        // At most a quarter of the time before the rounds' deadline: with the links, a
        // node of a large model costs an exact evaluation, and the rounds must still run
        // (vgg11-cifar10, sa128-ws, P = 16).
        let now = std::time::Instant::now();
        let deadline = now + limits.rounds_deadline.saturating_duration_since(now) / 4;
        let mut first_walk = Packing { nodes_left: packing.nodes_left, deadline, ..packing };
        let start = Walked { plans: best.0.clone(), period: best.1, proven: None };
        let walk = first_walk.walk(p, &cuts, &ev, start, bound, Moves::LoadsAndLinks);
        packing.late |= first_walk.late;
        if let Some(b) = walk.proven {
            trace(format_args!("phase 1: the walk alone reaches period {} and proves {b}", walk.period));
            walk_bound = b.min(best.1 as f64);
        }
        walked_first = Some(walk).filter(|w| w.period < best.1);
    }
    let walked_period = walked_first.as_ref().map_or(u64::MAX, |w| w.period);
    let mut proven_at = None;
    mark_proof(&mut proven_at, best.1.min(walked_period), bound.max(walk_bound));

    while !within_gap(best.1, bound.max(walk_bound)) && nodes_left > 0 {
        // The first round admits the heuristic's period and starts from its plan when the
        // model can express it (an incumbent to prune with); later rounds search below.
        let ub = best.1 as f64 - if first { 0.0 } else { 1.0 };
        let shape = Shape { cuts: &cuts, lb: bound, ub, scale: if retried { scale * 1.37 } else { scale } };
        let (mut m, vars) = build(p, &shape);
        if first {
            let values = hint(p, &cuts, &vars, &best.0);
            for (v, x) in values.filter(|_| !retried).unwrap_or_default() {
                m.warm(v, x);
            }
        }
        let was_first = std::mem::replace(&mut first, false);
        // A round gets part of the nodes: an improved incumbent restarts the search with
        // a tighter model sooner than the solver's own pruning would tighten it.
        let budget = Budget { nodes: nodes_left.min(limits.round_nodes), deadline: limits.rounds_deadline };
        let solved = m.minimise(&vars.ii.into(), solver, budget)?;
        match solved {
            Solved::Failed { failure: Failure::Infeasible, .. } => {
                trace(format_args!("II ≤ {ub}: infeasible (heuristic expressible: {expressible})"));
                if expressible {
                    bound = best.1 as f64;
                }
                break;
            }
            Solved::Failed { failure: f, stop, seconds, .. } => {
                trace(format_args!("II ≤ {ub}: {} after {seconds:.3} s", f.describe()));
                clock_stopped |= stop == Stop::Clock;
                // microlp's LU occasionally reports a singular basis; the same model at
                // another scale usually solves.
                if f == Failure::Numerical && !retried {
                    retried = true;
                    continue;
                }
                failure = Some(f);
                break;
            }
            Solved::Solution { values, stop, bound: model_bound, seconds, nodes } => {
                let plans = extract(p, &cuts, &vars, &values);
                let e = exact(&plans);
                let v = values.get(&vars.ii).copied().unwrap_or(f64::INFINITY) * shape.scale;
                trace(format_args!(
                    "II ≤ {ub}: model {v:.1} exact {e} stop {stop:?} bound {model_bound:?} in {seconds:.3} s, {nodes} nodes"
                ));
                nodes_left = nodes_left.saturating_sub(nodes);
                let proven_bound =
                    if stop == Stop::Proven { Some(v) } else { model_bound.map(|b| b * shape.scale) };
                if let Some(mb) = proven_bound.filter(|_| expressible) {
                    bound = bound.max(mb);
                }
                let improved = e < best.1;
                if improved {
                    best = (plans, e, true);
                }
                clock_stopped |= stop == Stop::Clock;
                mark_proof(&mut proven_at, best.1.min(walked_period), bound.max(walk_bound));
                // Not improved: the first round's optimum may still sit above the bound (a
                // later round below it settles that); any other round would repeat itself.
                if !(improved || was_first && stop == Stop::Proven) || stop == Stop::Clock {
                    break;
                }
            }
        }
    }
    // Then the loads alone: a packing below the incumbent is a placement of the model
    // (taken if its exact period, links counted, is lower too); none proves that nothing
    // in the model beats the incumbent.
    bound = bound.max(walk_bound);
    let solvers_own = best.2.then(|| best.0.clone());
    let start = match walked_first {
        Some(w) if w.period < best.1 => Walked { proven: None, ..w },
        _ => Walked { plans: best.0.clone(), period: best.1, proven: None },
    };
    let walk = packing.walk(p, &cuts, &ev, start, bound, Moves::Loads);
    let walked = walk.period < best.1;
    if walked {
        best = (walk.plans, walk.period, true);
        expressible = true;
    }
    if let Some(b) = walk.proven.filter(|_| expressible) {
        bound = bound.max(b);
    }

    clock_stopped |= packing.late;
    let optimal = within_gap(best.1, bound);
    mark_proof(&mut proven_at, best.1, bound);
    let proven_at = proven_at.filter(|_| optimal);
    trace(format_args!("phase 1: period {} bound {bound:.1} optimal {optimal}", best.1));

    // Least traffic at that period (kept only if the exact period does not grow).
    let (mut plans, period, from_model) = best;
    if from_model && limits.traffic_nodes > 0 {
        let shape = Shape { cuts: &cuts, lb: bound.min(period as f64), ub: period as f64, scale };
        let (mut m, vars) = build(p, &shape);
        for (v, x) in hint(p, &cuts, &vars, &plans).unwrap_or_default() {
            m.warm(v, x);
        }
        let budget = Budget { nodes: limits.traffic_nodes, deadline: limits.deadline };
        if let Solved::Solution { values, stop, .. } = m.minimise(&vars.link_total, solver, budget)? {
            clock_stopped |= stop == Stop::Clock;
            let lean = extract(p, &cuts, &vars, &values);
            trace(format_args!(
                "traffic solve: (period, bytes) {:?} → {:?}",
                ev.score(&plans),
                ev.score(&lean)
            ));
            if ev.score(&lean) < ev.score(&plans) {
                plans = lean;
            }
        }
    }
    let before_packing = solvers_own.filter(|_| walked);
    Ok(Assignment { plans, from_model, bound, optimal, proven_at, clock_stopped, failure, before_packing })
}

/// A task as [`super::packing`] sees it: the model's linear chunk cost in units of
/// `1/scale` cycles ([`packing_scale`]).
fn piece_of(t: &spikepipe_ir::Task, cut: Option<&Cut>, scale: u64) -> Piece {
    match cut {
        None => Piece::Whole(t.cycles * scale),
        Some(c) => {
            // Rounded so the line stays below every chunk: the rate down, the saving up.
            let a = scale * c.rate.0 / c.rate.1;
            let e = (scale * c.short).div_ceil(c.rate.1);
            Piece::Cut { a, b: scale * c.b as u64, e, units: c.units, step: scale }
        }
    }
}

/// Whether the packing's reasoning holds for every cut task ([`cut_is_sound`]).
fn packing_is_sound(p: &Problem, cuts: &[Option<Cut>], scale: u64) -> bool {
    p.tasks().zip(cuts).all(|(task, cut)| cut_is_sound(p, task, cut.as_ref(), scale))
}

/// Whether a chunk of r units of `task` costs at least the linear `a·r + b` (less `e` with
/// the short last unit), and cutting it in two never costs less than running it whole
/// (so no placement beats the lower bound). True for a task that is not cut.
fn cut_is_sound(p: &Problem, task: &spikepipe_ir::Task, cut: Option<&Cut>, scale: u64) -> bool {
    let Some(c) = cut else { return true };
    let piece = piece_of(task, Some(c), scale);
    let Piece::Cut { e, units, .. } = piece else { return true };
    let chunk_cycles = |p, task, range| scale * chunk_cycles(p, task, range);
    let range = |from: u64, to: u64| unit_range(c.dim, c.unit, (c.units, c.size), from, to);
    let whole = chunk_cycles(p, task, range(0, units));
    (1..=units).all(|r| {
        let (head, tail) =
            (chunk_cycles(p, task, range(0, r)), chunk_cycles(p, task, range(units - r, units)));
        let rest = if r == units { 0 } else { chunk_cycles(p, task, range(r, units)) };
        let short = e > 0;
        head >= piece.chunk(r, short && r == units)
            && tail >= piece.chunk(r, short)
            && (r == units || head + rest >= whole)
    })
}

/// The packing searches of one phase 1, sharing one node budget and phase 1's deadline.
struct Packing<'a> {
    pieces: &'a [Piece],
    /// The pieces' cycles are in units of `1/scale` ([`packing_scale`]).
    scale: u64,
    procs: usize,
    nodes_left: u64,
    deadline: std::time::Instant,
    /// Whether the deadline, not the node budget, stopped a search.
    late: bool,
}

impl Packing<'_> {
    /// Whether every load (and what `constraint` checks) can stay at or below
    /// `capacity`, spending at most `1/share` of the nodes left; `Unknown` once that is
    /// spent or the deadline has passed.
    fn decide(&mut self, capacity: u64, constraint: Option<&mut dyn Constraint>, share: u64) -> Packed {
        if std::time::Instant::now() >= self.deadline {
            self.late = true;
            self.nodes_left = 0;
            return Packed::Unknown;
        }
        let before = self.nodes_left;
        let allowed = (before / share.max(1)).max(1);
        let with_links = constraint.is_some();
        let scaled = capacity.saturating_mul(self.scale);
        let (packed, used) = match constraint {
            None => super::packing::pack_counted(self.pieces, self.procs, scaled, allowed),
            Some(c) => {
                super::packing::pack_constrained(self.pieces, self.procs, scaled, allowed, c, self.deadline)
            }
        };
        self.nodes_left = before.saturating_sub(used);
        if packed == Packed::Unknown && used < allowed && std::time::Instant::now() >= self.deadline {
            // The clock, not the node budget, stopped the search with the links.
            self.late = true;
        }
        let what = if with_links { "loads and links" } else { "loads" };
        trace(format_args!("packing ({what}) at {capacity}: {} in {used} nodes", packed.describe()));
        packed
    }

    /// The packing walk from `from`: a packing at or below a probed capacity c whose
    /// exact period (links counted) is at most c too is a placement of the model, and the
    /// walk moves to it. When the loads fit but the links do not, the search is repeated
    /// with the model's link bounds ([`LinkBounds`]); `moves` says whether a placement
    /// that search finds is taken too. When nothing fits at c, that proves `c + 1` a lower
    /// bound on every placement of the model (`proven`). The capacities probed lie
    /// between the best proven bound (at first `floor`, one already proven) and the
    /// longest period [`clearly_below`] the incumbent's. Once
    /// nothing fits clearly below the walk's period, the proof is sharpened to the period
    /// itself if nothing one cycle shorter fits either.
    fn walk(
        &mut self,
        p: &Problem,
        cuts: &[Option<Cut>],
        ev: &Evaluator,
        from: Walked,
        floor: f64,
        moves: Moves,
    ) -> Walked {
        let mut best = from;
        // No placement of the model has an exact period below `lo`; probes go at or
        // below `top` (clearly below every placement found, taken or not).
        let mut lo = (floor - 1e-6).ceil().max(0.0) as u64;
        let mut top = clearly_below(best.period);
        let mut refuted = false;
        if lo <= top {
            let (found, empty_to) = self.tighter(p, cuts, ev, lo, top);
            if let Some(c) = empty_to {
                (lo, refuted) = (c + 1, true);
            }
            if let Some((plans, e)) = found {
                best = Walked { plans, period: e, proven: None };
                top = top.min(clearly_below(e));
            }
        }
        // Probing `top` either moves the walk or proves it optimal, as a step of 10⁻⁴
        // of the period at a time did; that took 300 probes to walk down 3 %
        // (mlp-fmnist, sa32-ws, P = 8). So after a placement is found, the next probe
        // goes lower, in strides that double, but never below the middle of what is
        // still open (`low`: above every capacity proven empty or left undecided). Near
        // the threshold a search is hardest, so such a probe gets a quarter of the
        // nodes left; if it proves nothing, the walk goes back to `top`.
        let mut low = lo;
        let unit = best.period - top;
        let mut stride = 0;
        while lo <= top && self.nodes_left > 0 {
            let at_top = stride == 0 || low >= top;
            let c = if at_top { top } else { top.saturating_sub(stride).max(low + (top - low) / 2) };
            let found = match self.placement_at(p, cuts, ev, c, if at_top { 1 } else { 4 }) {
                At::Placement(plans, e) => Some((plans, e, true)),
                At::LinkedPlacement(plans, e) => Some((plans, e, moves == Moves::LoadsAndLinks)),
                At::Nothing => {
                    (lo, refuted, stride) = (c + 1, true, 0);
                    low = low.max(lo);
                    None
                }
                At::Unknown if at_top => break,
                At::Unknown => {
                    (low, stride) = (c + 1, 0);
                    None
                }
            };
            if let Some((plans, e, taken)) = found {
                if taken {
                    best = Walked { plans, period: e, proven: None };
                }
                top = top.min(clearly_below(e));
                stride = if stride == 0 { unit } else { 2 * stride };
            }
        }
        best.proven = refuted.then_some(lo as f64);
        // Sharpen the proof: nothing shorter at all. A placement this probe finds is
        // faster by less than the gap, yet faster (mlp-fmnist, sa32-ws, P = 4: 1 649 033
        // against 1 649 036), so it is taken and the probe repeated below it.
        while lo > clearly_below(best.period) && lo < best.period {
            match self.placement_at(p, cuts, ev, best.period - 1, 1) {
                At::Nothing => {
                    best.proven = Some(best.period as f64);
                    break;
                }
                At::Placement(plans, e) => best = Walked { plans, period: e, proven: best.proven },
                At::LinkedPlacement(plans, e) if moves == Moves::LoadsAndLinks => {
                    best = Walked { plans, period: e, proven: best.proven }
                }
                At::LinkedPlacement(..) | At::Unknown => break,
            }
        }
        best
    }

    /// Before the walk probes `top` with the links: a packing with room to spare strews
    /// chunks across processors, so the links, not the loads, can set its period
    /// (mlp-digits, sa32-ws, P = 8: loads within 31 996 cycles, exact period 38 840, and
    /// the search with the links ran out of nodes on placements just as strewn). A
    /// tighter capacity leaves less room, so when the loads alone fit at `top` but time
    /// over it, the capacities in `lo..top` are bisected with the loads alone, at most
    /// [`TIGHTER_PROBES`] of them, each on `1/`[`TIGHTER_SHARE`] of the nodes left: a fit
    /// that times over goes lower, no fit goes higher. Returns a placement of the model
    /// whose exact period is at most the capacity it was packed at, if one turned up,
    /// and the highest capacity proven empty.
    fn tighter(
        &mut self,
        p: &Problem,
        cuts: &[Option<Cut>],
        ev: &Evaluator,
        lo: u64,
        top: u64,
    ) -> (Option<(Vec<TaskPlan>, u64)>, Option<u64>) {
        let mut empty_to = None;
        let (mut low, mut high) = (lo, top);
        for probe in 0..=TIGHTER_PROBES {
            if low > high || high == 0 || self.nodes_left == 0 {
                break;
            }
            // The first probe is the walk's own at `top`.
            let (c, share) = if probe == 0 { (top, 1) } else { (low + (high - low) / 2, TIGHTER_SHARE) };
            match self.loads_at(p, cuts, ev, c, share) {
                Loads::Fit(plans, e) if e <= c => return (Some((plans, e)), empty_to),
                Loads::Fit(..) => high = c - 1,
                Loads::Impossible => {
                    empty_to = Some(c);
                    low = c + 1;
                }
                Loads::Unknown => break,
            }
        }
        (None, empty_to)
    }

    /// A placement of the model with exact period ≤ `c`, or a proof that none exists;
    /// each search spends at most `1/share` of the nodes left.
    fn placement_at(&mut self, p: &Problem, cuts: &[Option<Cut>], ev: &Evaluator, c: u64, share: u64) -> At {
        if c == 0 || self.nodes_left == 0 {
            return At::Unknown;
        }
        match self.loads_at(p, cuts, ev, c, share) {
            Loads::Fit(plans, e) if e <= c => At::Placement(plans, e),
            Loads::Fit(..) => {
                let mut links = LinkBounds::new(p, cuts, ev, c);
                match (self.decide(c, Some(&mut links), share), links.found) {
                    (Packed::Fits(_), Some((plans, e))) => At::LinkedPlacement(plans, e),
                    (Packed::Impossible, _) => At::Nothing,
                    _ => At::Unknown,
                }
            }
            // No placement of the model has its loads at or below c, so no exact period
            // is that low either.
            Loads::Impossible => At::Nothing,
            Loads::Unknown => At::Unknown,
        }
    }

    /// The loads alone packed at or below `c` (on `1/share` of the nodes left), and the
    /// exact period of that packing, links counted.
    fn loads_at(&mut self, p: &Problem, cuts: &[Option<Cut>], ev: &Evaluator, c: u64, share: u64) -> Loads {
        match self.decide(c, None, share) {
            Packed::Fits(chunks) => {
                let plans = packed_plans(p, cuts, &chunks);
                let e = ev.score(&plans).0;
                trace(format_args!("packing at {c}: loads fit, exact period {e}"));
                Loads::Fit(plans, e)
            }
            Packed::Impossible => Loads::Impossible,
            Packed::Unknown => Loads::Unknown,
        }
    }
}

/// What [`Packing::loads_at`] found.
enum Loads {
    /// A packing of the loads, as plans, and its exact period (which may exceed the
    /// capacity: the links are not packed).
    Fit(Vec<TaskPlan>, u64),
    /// No packing of the loads fits.
    Impossible,
    /// The node share ran out, or the deadline passed.
    Unknown,
}

/// What [`Packing::placement_at`] found.
enum At {
    /// A packing of the loads alone whose exact period is low enough, and that period.
    Placement(Vec<TaskPlan>, u64),
    /// One found only by the search with the links, and its exact period.
    LinkedPlacement(Vec<TaskPlan>, u64),
    /// Proof that no placement of the model is that fast.
    Nothing,
    /// The budget ran out, or the link bounds admit a placement whose exact period is
    /// too long (they are a relaxation).
    Unknown,
}

/// Which placements a packing walk moves to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Moves {
    /// Only packings of the loads alone whose exact period is low enough. The search
    /// with the links then only proves: what it finds is a placement picked for its
    /// links alone, often staler for a few cycles (mlp-fmnist, sa32-ws, P = 4: 178 of
    /// 1.65 M cycles for s = 5/3/1 instead of 4/2/0).
    Loads,
    /// Also what the search with the links finds.
    LoadsAndLinks,
}

/// Where a packing walk ended.
struct Walked {
    plans: Vec<TaskPlan>,
    period: u64,
    /// A lower bound on the exact period of every placement of the model, if proven.
    proven: Option<f64>,
}

/// The model's link bounds ([`link_bound`], every directed link) as a [`Constraint`] on a
/// packing, and the exact period as its last word: a complete placement is taken only if
/// its exact period is at most the capacity. The bounds depend on which processors a
/// task uses and with how many units, not on their labels or order, so they may prune
/// while the search treats empty processors as interchangeable; an admitted placement
/// that the exact period refuses leaves the capacity undecided.
struct LinkBounds<'a> {
    p: &'a Problem<'a>,
    cuts: &'a [Option<Cut>],
    ev: &'a Evaluator<'a>,
    capacity: u64,
    /// Per data edge: producer, consumer, the whole tensor's transfer cycles, the
    /// dimension the consumer's chunks slice it by.
    edges: Vec<(usize, usize, f64, EdgeHow)>,
    latency: f64,
    /// Cycles on each directed link (`a·P + b`) of the placement last admitted.
    links: Vec<f64>,
    /// The placement taken, with its exact period.
    found: Option<(Vec<TaskPlan>, u64)>,
}

impl<'a> LinkBounds<'a> {
    fn new(p: &'a Problem<'a>, cuts: &'a [Option<Cut>], ev: &'a Evaluator<'a>, capacity: u64) -> Self {
        let (latency, bandwidth) = link_line(p, 1.0);
        let edges = p
            .graph
            .graph
            .raw_edges()
            .iter()
            .map(|e| {
                (
                    e.source().index(),
                    e.target().index(),
                    e.weight.bytes as f64 / bandwidth,
                    (e.weight.sliced_by, e.weight.kind),
                )
            })
            .collect();
        LinkBounds { p, cuts, ev, capacity, edges, latency, links: Vec::new(), found: None }
    }

    /// [`link_bound`] for one edge whose producer has `r` units (a whole task: 1) on one
    /// processor and whose consumer has `s` units on another.
    fn cycles(
        &self,
        &(u, v, full, how): &(usize, usize, f64, EdgeHow),
        r: u64,
        s: u64,
        s_beside: u64,
    ) -> f64 {
        let share = |c: &Cut, n: u64| {
            let short = (c.units * c.unit - c.size) as f64;
            full * (n as f64 * c.unit as f64 - short) / c.size as f64
        };
        let lat = self.latency;
        match edge_load(self.cuts[u].as_ref(), self.cuts[v].as_ref(), how) {
            EdgeLoad::Whole => lat + full,
            EdgeLoad::ProducerShare(cu) => lat + share(cu, r),
            EdgeLoad::ConsumerShare(cv) => lat + share(cv, s),
            EdgeLoad::Latency => lat,
            EdgeLoad::Surplus(cu, cv) if self.p.processors() == 2 => {
                share(cu, r) - full * (s_beside * cv.unit) as f64 / cv.size as f64
            }
            EdgeLoad::Surplus(..) | EdgeLoad::Nothing => 0.0,
            EdgeLoad::Crossed(cu, cv) => lat + share(cu, r) + share(cv, s) - full,
        }
        .max(0.0)
    }
}

impl Constraint for LinkBounds<'_> {
    fn admits(&mut self, placed: &[Option<&Chunks>]) -> bool {
        let procs = self.p.processors() as usize;
        self.links.clear();
        self.links.resize(procs * procs, 0.0);
        for edge in &self.edges {
            let (Some(from), Some(to)) = (placed[edge.0], placed[edge.1]) else { continue };
            for &(a, r, _) in from {
                // The consumer's units beside the producer's chunk, on a itself.
                let beside = to.iter().find(|&&(q, _, _)| q == a).map_or(0, |&(_, s, _)| s);
                for &(b, s, _) in to.iter().filter(|&&(b, _, _)| b != a) {
                    self.links[a as usize * procs + b as usize] += self.cycles(edge, r, s, beside);
                }
            }
        }
        self.links.iter().all(|&l| l <= self.capacity as f64 + 1e-6)
    }

    /// The link loads so far, and where each placed task with an unplaced neighbour runs.
    fn state(&self, placed: &[Option<&Chunks>], key: &mut Vec<u64>) {
        key.extend(self.links.iter().map(|l| l.to_bits()));
        for (t, chunks) in placed.iter().enumerate() {
            let Some(chunks) = chunks else { continue };
            let open = self
                .edges
                .iter()
                .any(|&(u, v, ..)| (u == t && placed[v].is_none()) || (v == t && placed[u].is_none()));
            if open {
                key.push(t as u64);
                key.extend(chunks.iter().flat_map(|&(q, r, short)| [u64::from(q), r, u64::from(short)]));
            }
        }
    }

    fn accepts(&mut self, chunks: &[Chunks]) -> bool {
        let plans = packed_plans(self.p, self.cuts, chunks);
        let e = self.ev.score(&plans).0;
        trace(format_args!(
            "packing (loads and links) at {}: a placement of exact period {e}",
            self.capacity
        ));
        let fits = e <= self.capacity;
        if fits {
            self.found = Some((plans, e));
        }
        fits
    }
}

/// The longest period that beats `h` by more than the [`MIP_GAP`](super::MIP_GAP) (the
/// solver counts periods closer than that as equal): the walk takes no placement that
/// is faster by less, and proving that nothing fits there proves `h` optimal.
fn clearly_below(h: u64) -> u64 {
    h.saturating_sub(((h as f64 * super::MIP_GAP).ceil() as u64).max(1))
}

/// The plans of a packing: a cut task's units contiguous in processor order, the chunk
/// with the short last unit at the end (where [`extract`] puts it too).
fn packed_plans(p: &Problem, cuts: &[Option<Cut>], packed: &[Chunks]) -> Vec<TaskPlan> {
    p.tasks()
        .zip(cuts)
        .zip(packed)
        .map(|((task, cut), chunks)| match cut {
            None => TaskPlan { ranges: vec![whole()], cycles: vec![task.cycles], procs: vec![chunks[0].0] },
            Some(c) => {
                let mut chunks = chunks.clone();
                chunks.sort_by_key(|&(q, _, short)| (short, q));
                cut_plan(p, task, c, chunks.into_iter().map(|(q, n, _)| (q, n)))
            }
        })
        .collect()
}

/// The relative gap `(H − bound) / H` that `bound` proves for period H: 0 when
/// H ≤ ⌈bound⌉ (periods are whole cycles, so nothing shorter exists).
pub fn proven_gap(h: u64, bound: f64) -> f64 {
    let hf = h as f64;
    if hf <= (bound - 1e-6).ceil() {
        0.0
    } else {
        (hf - bound) / hf.max(1.0)
    }
}

/// Records now as the moment of the proof, if `bound` proves `period` and none was yet.
fn mark_proof(at: &mut Option<std::time::Instant>, period: u64, bound: f64) {
    if at.is_none() && within_gap(period, bound) {
        *at = Some(std::time::Instant::now());
    }
}

/// Whether `bound` proves period H optimal: within the relative [`MIP_GAP`](super::MIP_GAP).
fn within_gap(h: u64, bound: f64) -> bool {
    proven_gap(h, bound) <= super::MIP_GAP
}

/// Prints solver progress to stderr when `SPIKEPIPE_TRACE` is set.
pub fn trace(args: std::fmt::Arguments) {
    if std::env::var_os("SPIKEPIPE_TRACE").is_some() {
        eprintln!("[ilp] {args}");
    }
}

#[cfg(test)]
mod tests {
    //! The ILP's link model against the one traffic model: at random placements the
    //! ILP expresses, its bound on every edge's cycles on every link never exceeds what
    //! `spikepipe_ir::edge_transfers` priced by the cost model gives, and equals it up to
    //! rounding wherever the model is exact (no side cut, or one side cut with no short
    //! last unit).

    use std::collections::HashMap;

    use petgraph::graph::NodeIndex;
    use spikepipe_ir::{edge_transfers, ChunkRange, PlacedSite, Side};

    use super::*;
    use crate::cost::Systolic;
    use crate::schedule::split::chunk_samples;
    use crate::test_rng::Rng;

    /// A random plan of one task the model can express, built as [`extract`] builds them.
    fn random_plan(p: &Problem, t: &spikepipe_ir::Task, cut: &Option<Cut>, rng: &mut Rng) -> TaskPlan {
        let procs = p.processors() as u64;
        let Some(c) = cut else {
            return TaskPlan {
                ranges: vec![whole()],
                cycles: vec![t.cycles],
                procs: vec![rng.below(procs) as u32],
            };
        };
        let mut cuts: Vec<u64> = (1..procs).map(|_| rng.below(c.units + 1)).collect();
        cuts.sort_unstable();
        cuts.push(c.units);
        let mut plan = TaskPlan { ranges: vec![], cycles: vec![], procs: vec![] };
        let mut next = 0;
        for (q, &upto) in cuts.iter().enumerate().filter(|(_, &u)| u > 0) {
            if upto <= next {
                continue;
            }
            let end = if upto == c.units { c.size } else { upto * c.unit };
            let range = ChunkRange { dim: c.dim, start: next * c.unit, end };
            plan.ranges.push(range);
            plan.cycles.push(chunk_cycles(p, t, range));
            plan.procs.push(q as u32);
            next = upto;
        }
        if plan.ranges.len() == 1 {
            plan.ranges[0] = whole();
            plan.cycles[0] = t.cycles;
        }
        plan
    }

    /// Exact cycles edge `e` puts on link `a → b` under `plans` (the one traffic model).
    fn exact(
        p: &Problem,
        plans: &[TaskPlan],
        e: &petgraph::graph::Edge<spikepipe_ir::Dependence>,
    ) -> Vec<f64> {
        let n = p.processors() as usize;
        let sites = |t: usize| -> Vec<PlacedSite> {
            let task = &p.graph.graph[NodeIndex::new(t)];
            let plan = &plans[t];
            let placed = plan.ranges.iter().zip(&plan.procs);
            placed
                .map(|(&range, &processor)| PlacedSite {
                    processor,
                    range,
                    samples: chunk_samples(p, task, range),
                })
                .collect()
        };
        let (u, v) = (e.source().index(), e.target().index());
        let (su, sv) = (sites(u), sites(v));
        let work = |t: usize| &p.graph.graph[NodeIndex::new(t)].work;
        let mut links = vec![0.0; n * n];
        let (us, vs) = (Side { work: work(u), chunks: &su[..] }, Side { work: work(v), chunks: &sv[..] });
        edge_transfers(e.weight.bytes, e.weight.sliced_by, e.weight.kind, us, vs, |ci, dst, bytes| {
            links[su[ci].processor as usize * n + dst as usize] += p.cost.transfer_cycles(bytes) as f64;
        });
        links
    }

    /// `whole_every`: every so many tasks is kept whole (0: none), so that the model
    /// also has whole tasks and tensors that move whole.
    fn check(specs: &crate::Specs, placements: usize, whole_every: usize) {
        let graph = crate::lower_and_cost(specs);
        let cost = Systolic::new(&specs.hardware);
        let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
        let n = p.processors() as usize;
        let cuts: Vec<Option<Cut>> = p
            .tasks()
            .enumerate()
            .map(|(i, t)| if whole_every > 0 && i % whole_every == 0 { None } else { cut_of(&p, t) })
            .collect();
        let (_, vars) = build(&p, &Shape { cuts: &cuts, lb: 0.0, ub: 1e12, scale: 1.0 });
        let (lat, bw) = link_line(&p, 1.0);
        let mut rng = Rng(0x5eed_1234_abcd_ef01);
        // Transfers where the model is exact: between whole tasks, and with a cut side.
        let mut exact_cases = [0usize; 2];
        for _ in 0..placements {
            let plans: Vec<TaskPlan> =
                p.tasks().zip(&cuts).map(|(t, c)| random_plan(&p, t, c, &mut rng)).collect();
            let (units, has) = expressed(&cuts, n, &plans).expect("the model expresses its own plans");
            let mut values: HashMap<Variable, f64> = HashMap::new();
            for t in 0..plans.len() {
                for q in 0..n {
                    values.insert(vars.z[t][q], f64::from(u8::from(has[t][q])));
                    if let Some(rt) = &vars.r[t] {
                        values.insert(rt[q], units[t][q] as f64);
                    }
                }
            }
            // The packing walk's numeric link bounds are the model's, link by link.
            let chunks: Vec<Chunks> = (0..plans.len())
                .map(|t| {
                    (0..n)
                        .filter(|&q| has[t][q])
                        .map(|q| (q as u32, if cuts[t].is_some() { units[t][q] } else { 1 }, false))
                        .collect()
                })
                .collect();
            let ev = Evaluator::new(&p);
            let mut numeric = LinkBounds::new(&p, &cuts, &ev, u64::MAX / 2);
            assert!(numeric.admits(&chunks.iter().map(Some).collect::<Vec<_>>()));
            let mut summed = vec![0.0f64; n * n];
            for e in p.graph.graph.raw_edges() {
                let want = exact(&p, &plans, e);
                let (cu, cv) = (&cuts[e.source().index()], &cuts[e.target().index()]);
                let no_short = |c: &Cut| c.units * c.unit == c.size;
                let load = edge_load(cu.as_ref(), cv.as_ref(), (e.weight.sliced_by, e.weight.kind));
                let tight = match load {
                    EdgeLoad::Whole => true,
                    EdgeLoad::ProducerShare(c) | EdgeLoad::ConsumerShare(c) => no_short(c),
                    EdgeLoad::Latency | EdgeLoad::Nothing | EdgeLoad::Surplus(..) | EdgeLoad::Crossed(..) => {
                        false
                    }
                };
                let shared = !matches!(load, EdgeLoad::Whole);
                for (a, b) in (0..n).flat_map(|a| (0..n).map(move |b| (a, b))).filter(|(a, b)| a != b) {
                    let bound =
                        link_bound((&vars.z, &vars.r, &cuts), e, (a, b), (lat, e.weight.bytes as f64 / bw));
                    let model = bound.eval_with(&values).max(0.0);
                    summed[a * n + b] += model;
                    let exact = want[a * n + b];
                    assert!(
                        model <= exact + 1e-6,
                        "edge {e:?} on {a}→{b}: model {model} above exact {exact}"
                    );
                    // Rounding: ceil(bytes / bandwidth), and ceil of a share's bytes.
                    if tight {
                        assert!(exact - model < 2.0, "edge {e:?} on {a}→{b}: model {model}, exact {exact}");
                        exact_cases[usize::from(shared)] += usize::from(exact > 0.0);
                    }
                }
            }
            for (l, (&x, &y)) in numeric.links.iter().zip(&summed).enumerate() {
                assert!((x - y).abs() < 1e-6 * y.max(1.0), "link {l}: walk {x}, model {y}");
            }
        }
        // With every task cut, only the bound itself is checked: two cut sides leave the
        // model nothing exact.
        if whole_every > 0 {
            assert!(
                exact_cases[0] > 0 && exact_cases[1] > 0,
                "placements exercise the exact model, on whole tensors and on shares"
            );
        }
    }

    fn specs(p: u64, link: Option<(u64, u64)>) -> crate::Specs {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let model = root.join("models/mlp-digits.yaml");
        let hw = root.join("models/hw/sa32-ws.yaml");
        let mut specs = crate::load_specs(&model, Some(&hw), Some(p)).expect("bundled specs load");
        if let Some((bytes_per_cycle, latency_cycles)) = link {
            specs.hardware.link = spikepipe_ir::LinkSpec { bytes_per_cycle, latency_cycles };
        }
        specs
    }

    #[test]
    fn ilp_link_model_agrees_with_the_traffic_model() {
        for p in 2..=PER_LINK_MAX as u64 {
            for whole_every in [0, 2, 3] {
                check(&specs(p, None), 40, whole_every);
                check(&specs(p, Some((3, 50))), 40, whole_every);
            }
        }
    }
}

#[cfg(test)]
mod chunk_costs {
    //! The premise of phase 1's relaxation and of its packing walk: a chunk of r units
    //! never costs less than the model's `a·r + b` (less `e` if it holds the short last
    //! unit), and a cut never makes a task cheaper than running it whole. Checked by
    //! [`packing_is_sound`] at every compile; here on the bundled models, where it must
    //! hold for the walk to run at all.

    use super::*;
    use crate::cost::Systolic;

    #[test]
    fn linear_chunk_costs_never_exceed_the_exact_ones() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut cut_tasks = 0;
        for model in ["mlp-digits", "mlp-fmnist", "cnn-fmnist", "vgg11-cifar10"] {
            for hw in ["sa32-ws", "sa128-ws"] {
                for procs in [2, 4, 8, 16] {
                    let (m, h) = (
                        root.join(format!("models/{model}.yaml")),
                        root.join(format!("models/hw/{hw}.yaml")),
                    );
                    let specs = crate::load_specs(&m, Some(&h), Some(procs)).expect("bundled specs load");
                    let graph = crate::lower_and_cost(&specs);
                    let cost = Systolic::new(&specs.hardware);
                    let p = Problem {
                        graph: &graph,
                        network: &specs.network,
                        hardware: &specs.hardware,
                        cost: &cost,
                    };
                    let cuts: Vec<Option<Cut>> = p.tasks().map(|t| cut_of(&p, t)).collect();
                    let scale = packing_scale(&cuts);
                    for (task, cut) in p.tasks().zip(&cuts) {
                        assert!(
                            cut_is_sound(&p, task, cut.as_ref(), scale),
                            "{model}/{hw}/P{procs} {}: a chunk cheaper than the linear cost or its share",
                            task.id()
                        );
                        cut_tasks += usize::from(cut.is_some());
                    }
                }
            }
        }
        assert!(cut_tasks > 100, "cut tasks exercised: {cut_tasks}");
    }
}

#[cfg(test)]
mod walk {
    //! [`Packing::tighter`] on the case it is for: on mlp-digits/sa32-ws at P = 8 the
    //! loads alone fit just below the heuristic plan's period, but so loosely that the
    //! links make that packing's exact period longer (38 840 against 31 996); a tighter
    //! capacity, found by bisecting with the loads alone, gives a placement that times
    //! within it, on a few hundred nodes.

    use super::*;
    use crate::cost::Systolic;
    use crate::schedule::heuristic::best_plan;

    #[test]
    fn a_loose_packing_that_times_over_is_tightened_with_the_loads_alone() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (m, h) = (root.join("models/mlp-digits.yaml"), root.join("models/hw/sa32-ws.yaml"));
        let specs = crate::load_specs(&m, Some(&h), Some(8)).expect("bundled specs load");
        let graph = crate::lower_and_cost(&specs);
        let cost = Systolic::new(&specs.hardware);
        let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
        let ev = Evaluator::new(&p);
        let cuts = cuts_of(&p);
        let scale = packing_scale(&cuts);
        assert!(packing_is_sound(&p, &cuts, scale));
        let pieces: Vec<Piece> = p.tasks().zip(&cuts).map(|(t, c)| piece_of(t, c.as_ref(), scale)).collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3600);
        let mut packing =
            Packing { pieces: &pieces, scale, procs: 8, nodes_left: 20_000, deadline, late: false };
        let top = clearly_below(
            ev.score(&best_plan(&p, crate::schedule::heuristic::Cuts::Gemms).expect("heuristic plan")).0,
        );
        assert!(
            matches!(packing.loads_at(&p, &cuts, &ev, top, 1), Loads::Fit(_, e) if e > top),
            "the case: the loads fit at {top} and time over it"
        );
        let (found, _) = packing.tighter(&p, &cuts, &ev, lower_bound(&p), top);
        let (plans, e) = found.expect("a tighter capacity gives a placement");
        assert!(e < top, "{e} against {top}");
        assert_eq!(ev.score(&plans).0, e);
        assert!(packing.nodes_left > 10_000, "{} of 20 000 nodes left", packing.nodes_left);
    }
}
