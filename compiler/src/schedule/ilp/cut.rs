//! How phase 1 cuts each task, and the line it prices a chunk on.
//!
//! A task that can be cut ([`ilp_cut_dim`]: a GEMM along its one split dimension, M or
//! N; `S` and `E` by whole samples; `U` by parameter slices; see [`FULLY_CUT_TASKS`]) is
//! cut into `units` units. A chunk of r units costs `a·r + b` (a GEMM on the array,
//! SCALE-Sim: a fold count times a fold length, `b` the fill of a streamed dimension; an
//! element-wise chunk on the vector unit: `a` its exact cycles per unit, a fraction, and
//! `b = 0`), less `e` for the one chunk that holds the task's short last unit. The line
//! is never above the exact cost ([`cut_is_sound`]), which is what makes the model and
//! the packing walk relaxations of the exact period. Units per processor become a
//! task's plan here too ([`cut_plan`], [`packed_plans`]), for the model and the walk alike.

use super::packing::{Chunks, Piece};
use crate::schedule::heuristic::TaskPlan;
use crate::schedule::split::{chunk_cycles, ilp_cut_dim, rows_per_sample, whole};
use crate::schedule::{lower_bound, Problem};

/// How one task may be cut in the ILP.
pub(super) struct Cut {
    pub(super) dim: spikepipe_ir::SplitDim,
    pub(super) unit: u64,
    pub(super) units: u64,
    pub(super) size: u64,
    /// Cycles per unit.
    pub(super) a: f64,
    /// Fixed cycles per chunk.
    pub(super) b: f64,
    /// Cycles the short last unit costs less than a full one.
    pub(super) e: f64,
    /// `a` as the exact fraction `rate.0 / rate.1` (the packing works in whole cycles
    /// scaled by a common denominator, so a fractional rate stays exact).
    pub(super) rate: (u64, u64),
    /// `e` as the fraction `short / rate.1`.
    pub(super) short: u64,
    /// The cut runs over samples (`S` and `E`; `F`, `G` and `R` cut along M).
    pub(super) by_samples: bool,
    /// Each unit is whole samples (always for `S` and `E`; for an M cut when the unit
    /// is a multiple of a sample's rows), so a chunk holds exactly its share of samples.
    pub(super) whole_samples: bool,
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
pub(super) fn cuts_of(p: &Problem) -> Vec<Option<Cut>> {
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

pub(super) fn cut_of(p: &Problem, t: &spikepipe_ir::Task) -> Option<Cut> {
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
    spikepipe_ir::ChunkRange::along(dim, from * unit, if to >= units { size } else { to * unit })
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

/// The common denominator of every cut's rate (1 if they are whole, as for GEMMs): the
/// packing counts cycles in units of `1/scale`.
pub(super) fn packing_scale(cuts: &[Option<Cut>]) -> u64 {
    cuts.iter().flatten().fold(1u64, |q, c| {
        let l = q / gcd(q, c.rate.1).max(1) * c.rate.1;
        if l <= MAX_PACKING_SCALE {
            l
        } else {
            q
        }
    })
}

/// The plan of a cut task from `(processor, units)` shares, in order: each processor's
/// units one contiguous range, the last holding the task's end (and its short unit);
/// shares past the task's units are cut to what is left, empty ones dropped.
pub(super) fn cut_plan(
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
        let range = spikepipe_ir::ChunkRange::along(c.dim, next * c.unit, end);
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

/// The plans of a packing: a cut task's units contiguous in processor order, the chunk
/// with the short last unit at the end (where [`extract`](super::model::extract) puts it too).
pub(super) fn packed_plans(p: &Problem, cuts: &[Option<Cut>], packed: &[Chunks]) -> Vec<TaskPlan> {
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

/// A task as [`super::packing`] sees it: the model's linear chunk cost in units of
/// `1/scale` cycles ([`packing_scale`]).
pub(super) fn piece_of(t: &spikepipe_ir::Task, cut: Option<&Cut>, scale: u64) -> Piece {
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
pub(super) fn packing_is_sound(p: &Problem, cuts: &[Option<Cut>], scale: u64) -> bool {
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
