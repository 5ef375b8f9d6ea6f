//! Schedules that fit a memory capacity per processor (`hardware.memory_bytes`, or
//! `--max-memory`). What a schedule keeps alive is [`spikepipe_ir::peak_memory`]; this
//! pass changes a schedule until every processor's peak fits, or says what cannot fit.
//!
//! Levers, cheapest first (see `docs/memory.md`):
//! 1. keep the placement and raise the period in 2 % steps (up to 8× the minimum): the
//!    list schedule then starts work as soon as its inputs arrive, an iteration spans
//!    fewer periods, and fewer iterations' activations are in flight;
//! 2. PipeDream's placement, planned with the cap ([`pipedream_partition`]: the
//!    unconstrained partition if it fits, else one whose stages fit), re-timed the same
//!    way.
//!
//! The fitting schedule with the shortest period wins (own placement on ties); its
//! `solver.note` records what the cap cost. A spec whose weights and optimizer state
//! alone exceed the cap is rejected up front, naming the layer.

use spikepipe_ir::{
    peak_memory, staleness_of, EdgeKind, MemoryKind, MemoryOptions, Optimizer, Schedule, SolverInfo,
    SolverStatus, TaskKind, Work,
};

use crate::schedule::pipedream::Pipedream;
use crate::schedule::timed::{draft, Timed};
use crate::schedule::{timing, Placement, Problem, Scheduler};
use crate::{CompileOptions, Method, ScheduleError, Specs};

/// Why no schedule fits the memory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemoryError {
    /// One layer's weights and optimizer state alone exceed a processor's memory.
    #[error(
        "layer {layer} needs {need} bytes for its weights and optimizer state, more than the {cap} bytes \
         of memory per processor (raise memory_bytes / --max-memory to at least {need})"
    )]
    LayerTooLarge {
        /// 1-based weight layer.
        layer: u32,
        /// Bytes its weights and optimizer state take.
        need: u64,
        /// Memory per processor.
        cap: u64,
    },
    /// No schedule tried fits; the best one's fullest processor and what it holds.
    #[error(
        "no schedule fits {cap} bytes of memory per processor: the best found (period {period} cycles) \
         needs {need} bytes on p{processor} ({breakdown}); raise memory_bytes / --max-memory or use more \
         processors"
    )]
    DoesNotFit {
        /// Memory per processor.
        cap: u64,
        /// Processor over the cap by the most.
        processor: u32,
        /// Its peak.
        need: u64,
        /// What it holds at its peak, by kind.
        breakdown: String,
        /// Period of that schedule.
        period: u64,
    },
}

/// The largest peak over processors, and the processor holding it.
fn worst(s: &Timed) -> (u64, u32) {
    peak_memory(s, MemoryOptions::default())
        .iter()
        .map(|m| (m.peak_bytes, m.processor))
        .max_by_key(|&(b, q)| (b, std::cmp::Reverse(q)))
        .unwrap_or((0, 0))
}

fn fits(s: &Timed, cap: u64, max_staleness: Option<u64>) -> bool {
    worst(s).0 <= cap && max_staleness.is_none_or(|m| staleness_of(s).0 <= m)
}

/// Words of optimizer state per weight: lowering costs Adam's update at 8 operations per
/// weight and SGD's at 2 (`lower.rs`), so the update task tells which optimizer it is.
pub fn optimizer_words(ops_per_element: u64) -> u64 {
    if ops_per_element >= 8 {
        2
    } else {
        0
    }
}

/// Per weight layer (0-based): bytes of weights plus optimizer state, and bytes one
/// iteration keeps from its forward pass for its backward pass (what flows out of the
/// layer's `F`/`S` tasks and the spikes it reads).
pub fn layer_memory(p: &Problem) -> (Vec<u64>, Vec<u64>) {
    let layers = p.graph.layers() as usize;
    let (mut fixed, mut act) = (vec![0u64; layers], vec![0u64; layers]);
    let g = &p.graph.graph;
    for t in g.node_weights() {
        if let (TaskKind::Update, Work::Elementwise { elements, ops_per_element }) = (t.kind, t.work) {
            let w = (elements as u128 * p.hardware.bits.weight as u128).div_ceil(8) as u64;
            fixed[t.layer as usize - 1] += w.saturating_mul(1 + optimizer_words(ops_per_element));
        }
    }
    for e in g.raw_edges().iter().filter(|e| e.weight.kind == EdgeKind::Data) {
        let (src, dst) = (&g[e.source()], &g[e.target()]);
        if matches!(src.kind, TaskKind::Forward | TaskKind::Neuron) {
            act[dst.layer as usize - 1] += e.weight.bytes;
        }
    }
    (fixed, act)
}

/// The optimizer a costed graph was lowered for (see [`optimizer_words`]).
pub fn optimizer_of(p: &Problem) -> Optimizer {
    let adam = p.graph.graph.node_weights().any(|t| {
        matches!((t.kind, t.work), (TaskKind::Update, Work::Elementwise { ops_per_element, .. }) if optimizer_words(ops_per_element) > 0)
    });
    if adam {
        Optimizer::Adam
    } else {
        Optimizer::Sgd
    }
}

/// Whole layers on the stages `stage_of`.
fn layers_on(p: &Problem, stage_of: &[u32]) -> Placement {
    let layer_of: Vec<u32> = p.tasks().map(|t| t.layer).collect();
    Placement::whole_tasks(p, |i| stage_of[layer_of[i] as usize - 1])
}

/// Whether whole layers on the stages `stage_of`, list-scheduled at their minimum
/// period, fit `cap` bytes on every processor (the exact model, [`peak_memory`]).
fn partition_fits(p: &Problem, stage_of: &[u32], cap: u64) -> bool {
    placement_fits(p, &layers_on(p, stage_of), cap)
}

/// PipeDream's plans under a memory cap: those of `candidates` that fit (timed at their
/// minimum period, checked exactly), plus the memory-aware plain partition
/// ([`pipedream_partition`]); all of them if none fits (then [`fit_memory`] raises the
/// period or reports what does not fit).
pub fn pipedream_candidates(
    p: &Problem,
    mut candidates: Vec<Placement>,
    cap: u64,
    (compute, link): (Vec<u64>, Vec<u64>),
) -> Vec<Placement> {
    if let Some(stage_of) = pipedream_partition(p, &compute, &link, p.processors() as usize, cap) {
        candidates.push(layers_on(p, &stage_of));
    }
    let fitting: Vec<Placement> =
        candidates.iter().filter(|pl| placement_fits(p, pl, cap)).cloned().collect();
    if fitting.is_empty() {
        candidates
    } else {
        fitting
    }
}

/// Whether a placement, list-scheduled at its minimum period, fits `cap` on every processor.
fn placement_fits(p: &Problem, placement: &Placement, cap: u64) -> bool {
    let solver = SolverInfo {
        name: String::new(),
        status: SolverStatus::Feasible,
        seconds: 0.0,
        gap: None,
        note: None,
    };
    let mut s = draft(p, placement, "pipedream", solver);
    timing::time_modulo(&mut s, p.cost);
    worst(&s).0 <= cap
}

/// PipeDream's planner with a memory cap, as its paper does: it refuses partitions that
/// do not fit. The unconstrained optimum is kept if it fits (checked exactly, after
/// timing); otherwise the optimal partition over only the stages that fit an estimate:
/// stage `k` of `S` (0-based) holds its layers' weights and optimizer state plus
/// `⌈m·(S − k)⌉` iterations of their activations (one-forward-one-backward keeps `S − k`
/// minibatches in flight on it), for `m` = ¼, ½, 1, 2 in turn, until a partition fits
/// exactly. `None` if none does.
pub fn pipedream_partition(
    p: &Problem,
    compute: &[u64],
    link: &[u64],
    stages: usize,
    cap: u64,
) -> Option<Vec<u32>> {
    let plain = crate::schedule::pipedream::partition(compute, link, stages);
    if partition_fits(p, &plain, cap) {
        return Some(plain);
    }
    [1u128, 2, 4, 8]
        .into_iter()
        .filter_map(|quarters| estimated_partition(p, compute, link, stages, cap, quarters))
        .find(|s| partition_fits(p, s, cap))
}

/// The optimal partition whose stages fit the estimate with `quarters/4 · (S − k)`
/// iterations in flight on stage `k`.
fn estimated_partition(
    p: &Problem,
    compute: &[u64],
    link: &[u64],
    stages: usize,
    cap: u64,
    quarters: u128,
) -> Option<Vec<u32>> {
    let (fixed, act) = layer_memory(p);
    let n = compute.len();
    let prefix = |v: &[u64]| -> Vec<u128> {
        std::iter::once(0u128)
            .chain(v.iter().scan(0u128, |s, &c| {
                *s += c as u128;
                Some(*s)
            }))
            .collect()
    };
    let (pc, pf, pa) = (prefix(compute), prefix(&fixed), prefix(&act));
    let mut best: Option<(u128, usize, Vec<u32>)> = None;
    for total in 1..=stages.min(n) {
        let fits_stage = |k: usize, a: usize, b: usize| {
            pf[b] - pf[a] + ((total - k) as u128 * quarters).div_ceil(4) * (pa[b] - pa[a]) <= cap as u128
        };
        // cost[k][b]: best bottleneck placing layers 0..b in k + 1 stages.
        let inf = u128::MAX;
        let mut cost = vec![vec![inf; n + 1]; total];
        let mut cut = vec![vec![0usize; n + 1]; total];
        for b in 1..=n {
            if fits_stage(0, 0, b) {
                cost[0][b] = pc[b];
            }
        }
        for k in 1..total {
            for b in (k + 1)..=n {
                for a in k..b {
                    if cost[k - 1][a] == inf || !fits_stage(k, a, b) {
                        continue;
                    }
                    let v = cost[k - 1][a].max(pc[b] - pc[a]).max(link[a - 1] as u128);
                    if v < cost[k][b] {
                        cost[k][b] = v;
                        cut[k][b] = a;
                    }
                }
            }
        }
        let v = cost[total - 1][n];
        if v == inf || best.as_ref().is_some_and(|(bv, _, _)| *bv <= v) {
            continue;
        }
        let mut stage_of = vec![0u32; n];
        let mut b = n;
        for k in (0..total).rev() {
            let a = if k == 0 { 0 } else { cut[k][b] };
            for s in stage_of.iter_mut().take(b).skip(a) {
                *s = k as u32;
            }
            b = a;
        }
        best = Some((v, total, stage_of));
    }
    best.map(|(_, _, s)| s)
}

/// Re-times a placement at periods from its minimum up (2 % steps, up to 8×) and
/// returns the first that fits, or the one with the smallest worst peak.
fn retime_to_fit(p: &Problem, s: &Timed, cap: u64, max_staleness: Option<u64>) -> (Timed, bool) {
    let base = timing::min_period(s, p.cost);
    let mut ii = base;
    let mut best: Option<(u64, Timed)> = None;
    while ii <= base.saturating_mul(8) {
        let mut c = s.clone();
        timing::time_modulo_at(&mut c, p.cost, ii);
        if fits(&c, cap, max_staleness) {
            return (c, true);
        }
        let w = worst(&c).0;
        if best.as_ref().is_none_or(|(bw, _)| w < *bw) {
            best = Some((w, c));
        }
        ii = ii.saturating_add((ii / 50).max(1));
    }
    (best.map_or_else(|| s.clone(), |(_, c)| c), false)
}

/// Checks that every layer's weights and optimizer state fit one processor (the update
/// task is never split, so its layer's weights and state sit on one processor).
pub fn check_minimum(p: &Problem, cap: u64) -> Result<(), MemoryError> {
    let (fixed, _) = layer_memory(p);
    match fixed.iter().enumerate().find(|(_, &b)| b > cap) {
        Some((l, &need)) => Err(MemoryError::LayerTooLarge { layer: l as u32 + 1, need, cap }),
        None => Ok(()),
    }
}

/// A schedule like `schedule` whose peak memory fits `cap` bytes on every processor
/// (and whose staleness stays within `max_staleness`, if given); see the module docs.
/// `gpipe` schedules (one iteration at a time) are returned if they fit, never changed.
pub fn fit_memory(
    p: &Problem,
    schedule: Timed,
    cap: u64,
    max_staleness: Option<u64>,
) -> Result<Timed, ScheduleError> {
    if worst(&schedule).0 <= cap {
        return Ok(schedule);
    }
    check_minimum(p, cap)?;
    let free_period = schedule.period_cycles;
    let mut tried: Vec<(Timed, bool, &str)> = Vec::new();
    if schedule.micro_batches.is_none() {
        let (own, ok) = retime_to_fit(p, &schedule, cap, max_staleness);
        tried.push((own, ok, "its own"));
        let mut pd_problem_hw = p.hardware.clone();
        pd_problem_hw.memory_bytes = Some(cap);
        let pd_problem = Problem { hardware: &pd_problem_hw, ..*p };
        let pipedream = Pipedream.schedule(&pd_problem)?;
        let draft = draft(p, &pipedream.placement, &schedule.method, schedule.solver.clone());
        let (alt, ok) = retime_to_fit(p, &draft, cap, max_staleness);
        tried.push((alt, ok, "PipeDream's"));
    } else {
        tried.push((schedule.clone(), false, "its own"));
    }
    let winner = tried
        .iter()
        .enumerate()
        .filter(|(_, (_, ok, _))| *ok)
        .min_by_key(|(i, (s, _, _))| (s.period_cycles, *i))
        .map(|(i, _)| i);
    let Some(i) = winner else {
        let (s, _, _) =
            tried.iter().min_by_key(|(s, _, _)| (worst(s).0, s.period_cycles)).expect("one tried");
        let (need, q) = worst(s);
        let m = &peak_memory(s, MemoryOptions::default())[q as usize];
        let breakdown = MemoryKind::ALL
            .iter()
            .filter(|&&k| m.get(k) > 0)
            .map(|&k| format!("{} {}", k.name(), m.get(k)))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(
            MemoryError::DoesNotFit { cap, processor: q, need, breakdown, period: s.period_cycles }.into()
        );
    };
    let (mut chosen, _, from) = tried.swap_remove(i);
    let what = format!(
        "period raised from {free_period} to {} ({from} placement) to fit {cap} bytes of memory per processor",
        chosen.period_cycles
    );
    chosen.solver.note = Some(match chosen.solver.note.take() {
        Some(n) => format!("{n}; {what}"),
        None => what,
    });
    Ok(chosen)
}

/// Which layers recompute their forward pass during backward (activation checkpointing;
/// see [`crate::lower::lower_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Recompute {
    /// None without a memory cap. With one, `ilp` and `heuristic` look for the set of
    /// layers whose recompute gives the shortest period that fits ([`with_recompute`]).
    #[default]
    Auto,
    /// Never recompute.
    Off,
    /// Exactly these 1-based layers (the last layer is ignored).
    Layers(Vec<u32>),
}

/// Compiles with the recompute choice of `opts.recompute`. Under a memory cap with
/// [`Recompute::Auto`] for `ilp`/`heuristic`, when the schedule without recompute had
/// to be slowed down to fit (or fits not at all), the layers are tried in order of the
/// neuron state they keep (largest first): recomputing the first k for k = 1, 2, …,
/// each compiled with the heuristic; the set giving the shortest fitting period is then
/// compiled with the requested method, and kept if it beats the schedule without.
pub fn with_recompute(
    specs: &Specs,
    opts: &CompileOptions,
    compile_with: impl Fn(&Specs, &CompileOptions, &[u32]) -> Result<Schedule, ScheduleError>,
) -> Result<Schedule, ScheduleError> {
    let fixed = match &opts.recompute {
        Recompute::Layers(v) => v.clone(),
        _ => Vec::new(),
    };
    let base = compile_with(specs, opts, &fixed);
    let auto = opts.recompute == Recompute::Auto
        && specs.hardware.memory_bytes.is_some()
        && matches!(opts.method, Method::Ilp | Method::Heuristic);
    let slowed = match &base {
        Ok(s) => s.solver.note.as_deref().is_some_and(|n| n.contains(FIT_NOTE)),
        Err(_) => true,
    };
    if !auto || !slowed {
        return base;
    }
    let order = layers_by_state(specs);
    let probe = CompileOptions { method: Method::Heuristic, recompute: Recompute::Off, ..opts.clone() };
    let mut best: Option<(u64, usize)> = None;
    for k in 1..=order.len() {
        if let Ok(s) = compile_with(specs, &probe, &order[..k]) {
            if best.is_none_or(|(period, _)| s.period_cycles < period) {
                best = Some((s.period_cycles, k));
            }
        }
    }
    let Some((_, k)) = best else { return base };
    let mut set = order[..k].to_vec();
    set.sort_unstable();
    let mut with = compile_with(specs, opts, &set)?;
    if base.as_ref().is_ok_and(|b| b.period_cycles <= with.period_cycles) {
        return base;
    }
    let list = set.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    let what = format!("layers {list} recompute their forward pass during backward");
    with.solver.note = Some(match with.solver.note.take() {
        Some(n) => format!("{n}; {what}"),
        None => what,
    });
    Ok(with)
}

/// Part of the note [`fit_memory`] writes when it had to change a schedule.
const FIT_NOTE: &str = "bytes of memory per processor";

/// Layers that may recompute (all but the last), by the bytes of neuron state one
/// iteration keeps for them (largest first; ties by layer).
fn layers_by_state(specs: &Specs) -> Vec<u32> {
    let net = &specs.network;
    let n = net.layers.len();
    let mut v: Vec<(u64, u32)> = net.layers[..n.saturating_sub(1)]
        .iter()
        .map(|l| (net.batch * net.timesteps * l.op.output_elements(), l.index))
        .collect();
    v.sort_by_key(|&(b, l)| (std::cmp::Reverse(b), l));
    v.into_iter().map(|(_, l)| l).collect()
}

#[cfg(test)]
mod tests {
    use super::optimizer_words;

    #[test]
    fn adam_keeps_two_words_sgd_none() {
        assert_eq!(optimizer_words(8), 2);
        assert_eq!(optimizer_words(2), 0);
    }
}
