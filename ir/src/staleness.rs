//! Staleness (DESIGN §6), derived from a timed schedule's starts and transfers in one
//! place: the compiler fills [`crate::Schedule::staleness`] from [`compute_staleness`],
//! the verifier checks the file against it, and the simulator reports it, so no copy
//! of the rule can drift.

use crate::{AsTimetable, LayerStaleness, ScheduledTask, TaskKind, Timetable};

/// Staleness of every layer recomputed from the chunk starts (DESIGN §6).
pub fn compute_staleness(s: &impl AsTimetable) -> Vec<LayerStaleness> {
    let s = &s.timetable();
    let arrivals = arrivals(s);
    (1..=s.layers)
        .map(|l| {
            let find = |k: TaskKind| s.tasks.iter().find(|t| t.layer == l && t.kind == k);
            let u = find(TaskKind::Update);
            let forward = match (u, find(TaskKind::Forward)) {
                (Some(u), Some(f)) => staleness_between(s, &arrivals, u, f),
                _ => 0,
            };
            let input_grad = match (u, find(TaskKind::InputGrad)) {
                (Some(u), Some(g)) => Some(staleness_between(s, &arrivals, u, g)),
                _ => None,
            };
            LayerStaleness { layer: l, forward, input_grad }
        })
        .collect()
}

/// `(largest, summed)` staleness recomputed from the starts: for a timed schedule whose
/// `staleness` field is not filled yet (or not trusted).
pub fn staleness_of(s: &impl AsTimetable) -> (u64, u64) {
    staleness_summary(&compute_staleness(s))
}

/// `(largest, summed)` staleness over layers (both forward and input-gradient).
pub fn staleness_summary(layers: &[LayerStaleness]) -> (u64, u64) {
    (
        layers.iter().map(LayerStaleness::max).max().unwrap_or(0),
        layers.iter().map(LayerStaleness::total).sum(),
    )
}

/// Arrival cycle (iteration 0) of every transfer, by `(edge, from_chunk, dst)`.
pub type Arrivals = std::collections::HashMap<(usize, usize, u32), u64>;

/// The arrivals of a schedule's transfers.
pub fn arrivals(s: &impl AsTimetable) -> Arrivals {
    s.timetable().transfers.iter().map(|t| ((t.edge, t.from_chunk, t.dst), t.end())).collect()
}

/// When the weights updated in iteration 0 have reached every processor that runs a
/// chunk of `reader`: per update chunk and reader processor, the chunk's end (same
/// processor) or the arrival of the transfer of `edge` that carries them; the latest.
/// A transfer not yet timed counts as arriving when its chunk ends.
pub fn weights_ready(
    arrivals: &Arrivals,
    edge: Option<usize>,
    update: &ScheduledTask,
    reader: &ScheduledTask,
) -> u64 {
    let readers = reader.processors();
    let mut ready = 0;
    for (ci, cu) in update.chunks.iter().enumerate() {
        for &q in &readers {
            let arrival = match edge.and_then(|e| arrivals.get(&(e, ci, q))) {
                Some(&end) if q != cu.processor => end,
                _ => cu.end(),
            };
            ready = ready.max(arrival);
        }
    }
    ready
}

/// Staleness `max(0, ceil((ready − start) / II) − 1)` of a reader of updated weights,
/// with `ready` from [`weights_ready`] and `start` the reader's earliest chunk start.
pub fn staleness_between(
    s: &Timetable<'_>,
    arrivals: &Arrivals,
    update: &ScheduledTask,
    reader: &ScheduledTask,
) -> u64 {
    let end = weights_ready(arrivals, s.feedback_edge(update, reader), update, reader) as i128;
    let start = reader.chunks.iter().map(|c| c.start).min().unwrap_or(0) as i128;
    let ii = s.period_cycles.max(1) as i128;
    let diff = end - start;
    let ceil = if diff <= 0 { -((-diff) / ii) } else { (diff + ii - 1) / ii };
    (ceil - 1).max(0) as u64
}
