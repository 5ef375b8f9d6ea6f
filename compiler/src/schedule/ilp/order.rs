//! Phase 2: at a fixed placement and period II, choose every chunk's and transfer's
//! start to minimise total staleness (DESIGN §6).
//!
//! Each item i (chunk or transfer) starts at `σ_i = o_i + II·k_i` with offset
//! `o_i ∈ [0, II)` and iteration index `k_i ∈ ℕ`. Two items i, j on one resource (a
//! processor or a directed link) do not overlap modulo II exactly when
//! `len_i ≤ o_j − o_i + II·y_ij ≤ II − len_j` for a binary `y_ij` (intervals may wrap
//! past II). With few items every pair gets its `y` (the order is free); with many, the
//! list schedule's cyclic order is kept: consecutive items only, with `y` fixed to 1 at
//! the one wrap-around. The list schedule is always a feasible warm start. Dependences are
//! `σ_v ≥ σ_u + len_u` through the transfers, and every transfer (updated weights too)
//! starts after its producing chunk ends; staleness `s_l ∈ ℕ` satisfies
//! `II·(s_l + 1) ≥ ready − σ(F_l)` for every chunk pair, `ready` the end of the `U_l`
//! chunk, or on another processor the arrival of the transfer carrying its weights
//! (`spikepipe_ir::weights_ready`). At fixed integers these are difference constraints
//! with integer bounds, so the solution's starts are whole cycles. The objective is
//! `Σ s_l + Σ s'_l` plus a tie-break under one unit that starts items early. An optional
//! cap bounds every `s_l` (the per-layer staleness limit); if no order at this period
//! meets it, the list schedule is kept and the caller raises the period.

use std::collections::{BTreeMap, HashMap};

use good_lp::{Expression, Variable};
use spikepipe_ir::{
    compute_staleness, samples_overlap, staleness_summary, verify_timetable, AsTimetable, EdgeKind, TaskKind,
};

use super::solve::{Budget, Domain, Model, Solved, Stop};
use crate::schedule::timed::Timed;
use crate::ScheduleError;

/// Pairs of items on one resource up to which the order itself is optimised.
const MAX_FREE_PAIRS: usize = 300;

/// What phase 2 produced.
pub enum Reordered {
    /// A schedule with lower total staleness.
    Better(Box<Timed>),
    /// Why the list schedule was kept.
    NoBetter(String),
}

struct Item {
    resource: (u8, u32, u32),
    len: u64,
    start: u64,
}

/// Improves the starts of a timed schedule within `budget`, every layer's staleness at
/// most `cap` if given. The flag says whether the wall clock cut the solve short.
pub fn reorder(
    timed: &Timed,
    solver: &str,
    budget: Budget,
    cap: Option<u64>,
) -> Result<(Reordered, bool), ScheduleError> {
    let s = timed;
    let before = compute_staleness(s);
    let ii = s.period_cycles as f64;
    let mut items: Vec<Item> = Vec::new();
    let mut chunk_item: HashMap<(usize, usize), usize> = HashMap::new();
    for (ti, t) in s.tasks.iter().enumerate() {
        for (ci, c) in t.chunks.iter().enumerate() {
            chunk_item.insert((ti, ci), items.len());
            items.push(Item { resource: (0, c.processor, 0), len: c.cycles, start: c.start });
        }
    }
    let mut transfer_item: HashMap<(usize, usize, u32), usize> = HashMap::new();
    for tr in &s.transfers {
        transfer_item.insert((tr.edge, tr.from_chunk, tr.dst), items.len());
        items.push(Item { resource: (1, tr.src, tr.dst), len: tr.cycles, start: tr.start });
    }
    let kmax = items.iter().map(|i| i.start / s.period_cycles.max(1)).max().unwrap_or(0) + 1;

    let mut m = Model::default();
    let kmax = kmax.min(i32::MAX as u64 / 2) as i32;
    let o: Vec<Variable> = items.iter().map(|_| m.var(Domain::Real(0.0, ii - 1.0))).collect();
    let k: Vec<Variable> = items.iter().map(|_| m.var(Domain::Integer(0, kmax))).collect();
    let sigma = |i: usize| -> Expression { o[i] + ii * k[i] };

    let mut by_resource: BTreeMap<(u8, u32, u32), Vec<usize>> = BTreeMap::new();
    for (i, it) in items.iter().enumerate() {
        by_resource.entry(it.resource).or_default().push(i);
    }
    let pairs: usize = by_resource.values().map(|v| v.len() * v.len().saturating_sub(1) / 2).sum();
    let free_order = pairs <= MAX_FREE_PAIRS;
    let period = s.period_cycles.max(1);
    let offset = |i: usize| (items[i].start % period) as f64;
    for members in by_resource.values() {
        if free_order {
            for (a, &i) in members.iter().enumerate() {
                for &j in &members[a + 1..] {
                    let y = m.var(Domain::Binary);
                    let d = o[j] - o[i] + ii * y;
                    m.add((items[i].len as f64 - d.clone()).leq(0.0));
                    m.add((d + items[j].len as f64 - ii).leq(0.0));
                    m.warm(y, f64::from(u8::from(offset(j) < offset(i))));
                }
            }
        } else if members.len() > 1 {
            let mut sorted = members.clone();
            sorted.sort_by_key(|&i| (items[i].start % period, i));
            for (a, &i) in sorted.iter().enumerate() {
                let (j, wrap) = match sorted.get(a + 1) {
                    Some(&j) => (j, 0.0),
                    None => (sorted[0], ii),
                };
                m.add((o[i] + items[i].len as f64 - o[j] - wrap).leq(0.0));
            }
        }
    }

    let index: HashMap<&str, usize> = s.tasks.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
    // Every transfer (partial results and updated weights alike) leaves after the chunk
    // that produces it ends.
    for tr in &s.transfers {
        let u = index[s.edges[tr.edge].from.as_str()];
        let (iu, it) = (chunk_item[&(u, tr.from_chunk)], transfer_item[&(tr.edge, tr.from_chunk, tr.dst)]);
        m.add((sigma(iu) + items[iu].len as f64 - sigma(it)).leq(0.0));
    }
    for (ei, e) in s.edges.iter().enumerate().filter(|(_, e)| e.kind == EdgeKind::Data) {
        let (u, v) = (index[e.from.as_str()], index[e.to.as_str()]);
        for (ui, cu) in s.tasks[u].chunks.iter().enumerate() {
            for (vi, cv) in s.tasks[v].chunks.iter().enumerate() {
                if !samples_overlap(cu.samples, cv.samples) {
                    continue;
                }
                let (iu, iv) = (chunk_item[&(u, ui)], chunk_item[&(v, vi)]);
                if cu.processor == cv.processor {
                    m.add((sigma(iu) + cu.cycles as f64 - sigma(iv)).leq(0.0));
                } else if let Some(&it) = transfer_item.get(&(ei, ui, cv.processor)) {
                    // (It leaves after `cu` ends: the loop over transfers above.)
                    m.add((sigma(it) + items[it].len as f64 - sigma(iv)).leq(0.0));
                }
            }
        }
    }

    let mut objective = Expression::default();
    for l in 1..=s.layers {
        let find = |kind: TaskKind| s.tasks.iter().position(|t| t.layer == l && t.kind == kind);
        let Some(u) = find(TaskKind::Update) else { continue };
        let now = before.iter().find(|x| x.layer == l);
        let readers = [
            (find(TaskKind::Forward), now.map(|x| x.forward)),
            (find(TaskKind::InputGrad), now.and_then(|x| x.input_grad)),
        ];
        for (reader, current) in readers.into_iter().filter_map(|(r, c)| r.map(|r| (r, c.unwrap_or(0)))) {
            let most = cap.map_or(kmax + 2, |c| c.min(kmax as u64 + 2) as i32);
            let st = m.var(Domain::Integer(0, most));
            m.warm(st, current as f64);
            // As `spikepipe_ir::weights_ready`: on a reader processor other than the update
            // chunk's, the weights are there when the feedback transfer carrying them
            // arrives; on the same processor, when the chunk ends.
            let feedback = s.timetable().feedback_edge(&s.tasks[u], &s.tasks[reader]);
            let chunks = &s.tasks[reader].chunks;
            for (ui, cu) in s.tasks[u].chunks.iter().enumerate() {
                for q in s.tasks[reader].processors() {
                    let carried = feedback.and_then(|e| transfer_item.get(&(e, ui, q)));
                    let arrival = match carried {
                        Some(&it) if q != cu.processor => it,
                        _ => chunk_item[&(u, ui)],
                    };
                    let ready = sigma(arrival) + items[arrival].len as f64;
                    for ri in 0..chunks.len() {
                        let ir = chunk_item[&(reader, ri)];
                        m.add((ready.clone() - sigma(ir) - ii * st - ii).leq(0.0));
                    }
                }
            }
            objective += st;
        }
    }
    // Tie-break: earlier starts, worth less than one unit of staleness in all.
    let eps = 1.0 / ((items.len() as f64 + 1.0) * (f64::from(kmax) + 2.0) * ii.max(1.0));
    for i in 0..items.len() {
        objective += eps * sigma(i);
    }
    for (i, it) in items.iter().enumerate() {
        m.warm(o[i], offset(i));
        m.warm(k[i], (it.start / period) as f64);
    }

    let (values, clock) = match m.minimise(&objective, solver, budget)? {
        Solved::Solution { values, stop, seconds, nodes, .. } => {
            crate::schedule::trace(format_args!("phase 2: {stop:?} after {seconds:.3} s, {nodes} nodes"));
            (values, stop == Stop::Clock)
        }
        Solved::Failed { failure, stop, .. } => {
            let why = format!("no solution ({}); list schedule kept", failure.describe());
            return Ok((Reordered::NoBetter(why), stop == Stop::Clock));
        }
    };
    let value = |v: &Variable| values.get(v).copied().unwrap_or(0.0);
    let start_of = |i: usize| (value(&o[i]) + ii * value(&k[i])).round().max(0.0) as u64;
    let mut out = s.clone();
    for (ti, t) in out.tasks.iter_mut().enumerate() {
        for (ci, c) in t.chunks.iter_mut().enumerate() {
            c.start = start_of(chunk_item[&(ti, ci)]);
        }
    }
    for tr in out.transfers.iter_mut() {
        tr.start = start_of(transfer_item[&(tr.edge, tr.from_chunk, tr.dst)]);
    }
    if let Err(v) = verify_timetable(&out) {
        crate::schedule::trace(format_args!("phase 2: rounded solution fails: {v}"));
        let why = "solution did not verify after rounding; list schedule kept";
        return Ok((Reordered::NoBetter(why.into()), clock));
    }
    let order = if free_order { "order and starts" } else { "starts (list order kept)" };
    let (most, total) = staleness_summary(&compute_staleness(&out));
    let total_before = staleness_summary(&before).1;
    let capped = cap.is_none_or(|c| most <= c);
    let result = if total < total_before && capped {
        Reordered::Better(Box::new(out))
    } else {
        Reordered::NoBetter(format!("optimising {order} did not lower total staleness {total_before}"))
    };
    Ok((result, clock))
}
