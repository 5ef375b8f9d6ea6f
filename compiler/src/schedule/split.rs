//! How tasks are cut into chunks: along which dimension, in which units, and what a
//! chunk costs. A chunk is costed on the array by the same formula as a whole task
//! (never `cost / k`), so tile rounding and fill overheads are honest.

use spikepipe_ir::{ChunkRange, SplitDim, Task, TaskKind, Work};

use super::Problem;

/// The work of the part `range` of `work` (a tile's rows included).
pub fn chunk_work(work: &Work, range: ChunkRange) -> Work {
    let len = range.end.saturating_sub(range.start);
    match (*work, range.dim) {
        (Work::Gemm { k, n, .. }, SplitDim::M) => Work::Gemm { m: len, k, n },
        (Work::Gemm { m, k, .. }, SplitDim::N) => {
            let [a, b] = range.row_span(m);
            Work::Gemm { m: b.min(m).saturating_sub(a), k, n: len }
        }
        (Work::Gemm { m, n, .. }, SplitDim::K) => Work::Gemm { m, k: len, n },
        (Work::Elementwise { ops_per_element, .. }, SplitDim::Elements) => {
            Work::Elementwise { elements: len, ops_per_element }
        }
        _ => *work,
    }
}

/// Cycles of the part `range` of a task.
pub fn chunk_cycles(p: &Problem, task: &Task, range: ChunkRange) -> u64 {
    p.cost.work_cycles(&chunk_work(&task.work, range))
}

/// Rows of a dimension that belong to one sample (`None` if the dimension does not
/// run over samples). Rows are ordered sample-major, then time step, then position.
pub fn rows_per_sample(p: &Problem, task: &Task, dim: SplitDim) -> Option<u64> {
    let layer = &p.network.layers[task.layer as usize - 1];
    let bt_rows = p.network.timesteps * layer.op.positions();
    match (task.kind, dim) {
        (TaskKind::Forward | TaskKind::InputGrad | TaskKind::Recompute, SplitDim::M) => Some(bt_rows),
        (TaskKind::WeightGrad, SplitDim::K) => Some(bt_rows),
        (TaskKind::Neuron | TaskKind::NeuronBackward, SplitDim::Elements) => {
            Some(p.network.timesteps * layer.op.output_elements())
        }
        _ => None,
    }
}

/// The samples `[first, end)` of the minibatch that a chunk touches.
pub fn chunk_samples(p: &Problem, task: &Task, range: ChunkRange) -> [u64; 2] {
    // A tile's samples are its rows', which run along M.
    let (dim, [start, end]) = match range.rows {
        Some(rows) => (SplitDim::M, rows),
        None => (range.dim, [range.start, range.end]),
    };
    match rows_per_sample(p, task, dim) {
        Some(rps) if rps > 0 => [start / rps, end.div_ceil(rps).min(p.network.batch)],
        _ => [0, p.network.batch],
    }
}

/// The whole task as one range.
pub fn whole() -> ChunkRange {
    ChunkRange::along(SplitDim::Whole, 0, 1)
}

/// `k` contiguous ranges of `dim` made of whole `unit`s, as equal as units allow.
pub fn even_ranges(size: u64, unit: u64, k: u64) -> Vec<ChunkRange> {
    even_ranges_along(SplitDim::M, size, unit, k)
}

/// [`even_ranges`] along a given dimension; empty ranges are dropped.
pub fn even_ranges_along(dim: SplitDim, size: u64, unit: u64, k: u64) -> Vec<ChunkRange> {
    let unit = unit.max(1);
    let units = size.div_ceil(unit);
    let k = k.clamp(1, units.max(1));
    let mut out = Vec::new();
    let mut start_unit = 0;
    for i in 0..k {
        let n = units / k + u64::from(i < units % k);
        let (a, b) = (start_unit * unit, ((start_unit + n) * unit).min(size));
        if b > a {
            out.push(ChunkRange::along(dim, a, b));
        }
        start_unit += n;
    }
    out
}

/// Ranges of `dim` covering whole samples, split into `k` groups of samples.
pub fn sample_ranges(p: &Problem, task: &Task, dim: SplitDim, k: u64) -> Vec<ChunkRange> {
    let size = dim.size(&task.work).unwrap_or(1);
    match rows_per_sample(p, task, dim) {
        Some(rps) => even_ranges_along(dim, size, rps, k),
        None => vec![whole()],
    }
}

/// Splitting options of a GEMM: the dimensions it may be cut along (M or N; never its
/// reduction K, which would need partial-sum traffic), each with its unit.
pub fn gemm_dims(p: &Problem, task: &Task) -> Vec<(SplitDim, u64)> {
    let Work::Gemm { m, k, n } = task.work else { return vec![] };
    [SplitDim::M, SplitDim::N]
        .into_iter()
        .filter(|d| d.size(&task.work).unwrap_or(0) > 1)
        .map(|d| (d, p.cost.split_unit(m, k, n, d)))
        .collect()
}

/// The dimension and unit along which the ILP cuts a task: a GEMM's [`split_dim`]; `S`
/// and `E` along their elements in whole samples (so each chunk is a sample group, as in
/// a data-parallel or replicated-stage schedule); `U` along its parameters. Units are
/// grouped so a task has at most [`MAX_UNITS`]. `None` if the task has fewer than two.
pub fn ilp_cut_dim(p: &Problem, task: &Task) -> Option<(SplitDim, u64)> {
    let Work::Elementwise { elements, .. } = task.work else { return split_dim(p, task) };
    let dim = SplitDim::Elements;
    let unit = grouped_unit(elements, rows_per_sample(p, task, dim).unwrap_or(1));
    (elements.div_ceil(unit) >= 2).then_some((dim, unit))
}

/// The cut of a weight gradient along its reduction K, by whole samples (units grouped
/// as in [`split_dim`]): every chunk is a partial sum of the whole gradient, which the
/// update sums over the links and on its vector unit (`Chunk::reduce_cycles`). It is the
/// only cut that shortens `W` when its M and N fit the array in one fold (mlp-digits on
/// sa128-ws: `W2` is 128×1600×10). `None` for any other task, or fewer than two samples.
pub fn reduction_cut(p: &Problem, task: &Task) -> Option<(SplitDim, u64)> {
    if task.kind != TaskKind::WeightGrad {
        return None;
    }
    let size = SplitDim::K.size(&task.work)?;
    let unit = grouped_unit(size, rows_per_sample(p, task, SplitDim::K)?);
    (size.div_ceil(unit) >= 2).then_some((SplitDim::K, unit))
}

/// The cheapest way to cut a task into at most `k` chunks, judged by its largest chunk
/// (then by total cycles): `(ranges, largest chunk, total)`.
pub fn best_split(p: &Problem, task: &Task, k: u64) -> (Vec<ChunkRange>, u64, u64) {
    let mut best = (vec![whole()], task.cycles, task.cycles);
    if k <= 1 {
        return best;
    }
    for (dim, unit) in gemm_dims(p, task) {
        let size = dim.size(&task.work).unwrap_or(1);
        let ranges = even_ranges_along(dim, size, unit, k);
        let costs: Vec<u64> = ranges.iter().map(|r| chunk_cycles(p, task, *r)).collect();
        let (max, sum) = (costs.iter().copied().max().unwrap_or(0), costs.iter().sum());
        if (max, sum) < (best.1, best.2) {
            best = (ranges, max, sum);
        }
    }
    best
}

/// Most units a task is cut into: finer gives no useful balance and makes the ILP's
/// integers huge and its simplex ill-conditioned.
pub const MAX_UNITS: u64 = 256;

/// `unit` (at least 1) grouped into whole multiples so that `size` holds at most
/// [`MAX_UNITS`] of them.
fn grouped_unit(size: u64, unit: u64) -> u64 {
    let unit = unit.max(1);
    unit * size.div_ceil(unit).div_ceil(MAX_UNITS).max(1)
}

/// The one dimension (and unit) a GEMM is cut along by the heuristic and the ILP: the
/// one whose P-way cut has the smallest largest chunk. Units are whole tiles (or rows)
/// grouped so a task has at most [`MAX_UNITS`]. `None` if the task is not a GEMM or has
/// fewer than two units along every dimension.
pub fn split_dim(p: &Problem, task: &Task) -> Option<(SplitDim, u64)> {
    let procs = p.processors() as u64;
    let mut best: Option<(SplitDim, u64, (u64, u64))> = None;
    for (dim, unit) in gemm_dims(p, task) {
        let size = dim.size(&task.work).unwrap_or(1);
        let unit = grouped_unit(size, unit);
        if size.div_ceil(unit) < 2 {
            continue;
        }
        let ranges = even_ranges_along(dim, size, unit, procs.max(2));
        let costs: Vec<u64> = ranges.iter().map(|r| chunk_cycles(p, task, *r)).collect();
        let key = (costs.iter().copied().max().unwrap_or(0), costs.iter().sum());
        if best.as_ref().is_none_or(|b| key < b.2) {
            best = Some((dim, unit, key));
        }
    }
    best.map(|(d, u, _)| (d, u))
}
