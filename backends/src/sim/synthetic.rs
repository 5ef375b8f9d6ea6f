//! Synthetic, valid schedules for tests and benchmarks, built without the compiler:
//! an L-layer training task graph (DESIGN §4 edges), layers assigned to processors in
//! contiguous blocks (optionally with split `F`/`G` chunks spread over processors), then
//! list-scheduled modulo II with link reservations. The result passes
//! [`spikepipe_ir::verify_schedule`].
//!
//! ```
//! use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
//! let s = pipeline_schedule(&SyntheticSpec { layers: 4, processors: 3, ..Default::default() });
//! assert!(spikepipe_ir::verify_schedule(&s).is_ok());
//! ```

use std::collections::BTreeMap;

use spikepipe_ir::{
    compute_staleness, required_transfers, ArraySpec, BitsSpec, Chunk, ChunkRange, Dataflow, EdgeKind,
    HardwareSpec, LinkSpec, Metrics, ModelInfo, Schedule, ScheduleEdge, ScheduledTask, SolverInfo,
    SolverStatus, SplitDim, TaskKind, Transfer, Work, SCHEDULE_FORMAT,
};

/// Shape of a synthetic schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticSpec {
    /// Weight layers L.
    pub layers: u32,
    /// Processors P.
    pub processors: u32,
    /// Minibatch size B.
    pub batch: u64,
    /// Chunks per `F`/`G` task (split along M by samples); 1 = unsplit.
    pub split: u32,
    /// Place the chunks of split tasks on consecutive processors (more transfers).
    pub spread: bool,
    /// Typical task cycles.
    pub base_cycles: u64,
    /// Link bandwidth (bytes per cycle) and latency.
    pub link_bytes_per_cycle: u64,
    /// Link latency in cycles.
    pub link_latency: u64,
    /// Bytes of a typical edge tensor.
    pub edge_bytes: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            layers: 3,
            processors: 2,
            batch: 8,
            split: 1,
            spread: false,
            base_cycles: 1000,
            link_bytes_per_cycle: 16,
            link_latency: 20,
            edge_bytes: 2048,
        }
    }
}

const T: u64 = 4;

struct Proto {
    layer: u32,
    kind: TaskKind,
    work: Work,
    cycles: u64,
}

/// Builds a valid periodic schedule of the spec (see module docs).
pub fn pipeline_schedule(spec: &SyntheticSpec) -> Schedule {
    let l_count = spec.layers.max(1);
    let p_count = spec.processors.max(1);
    let b = spec.batch.max(1);
    let split = (spec.split.max(1) as u64).min(b) as u32;
    // Deterministic variety in task sizes.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ ((l_count as u64) << 8) ^ p_count as u64;
    let mut rnd = |lo: u64, hi: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        lo + (seed >> 33) % (hi - lo + 1)
    };
    let base = spec.base_cycles.max(4);
    let mut protos: Vec<Proto> = Vec::new();
    let width = |l: u32| 32 * (1 + (l as u64 * 7) % 5);
    for l in 1..=l_count {
        let (k, n, m) = (width(l - 1), width(l), b * T);
        protos.push(Proto {
            layer: l,
            kind: TaskKind::Forward,
            work: Work::Gemm { m, k, n },
            cycles: rnd(base, 2 * base),
        });
        protos.push(Proto {
            layer: l,
            kind: TaskKind::Neuron,
            work: Work::Elementwise { elements: m * n, ops_per_element: 4 },
            cycles: rnd(base / 4, base / 2),
        });
    }
    for l in (1..=l_count).rev() {
        let (k, n, m) = (width(l - 1), width(l), b * T);
        protos.push(Proto {
            layer: l,
            kind: TaskKind::NeuronBackward,
            work: Work::Elementwise { elements: m * n, ops_per_element: 6 },
            cycles: rnd(base / 4, base / 2),
        });
        if l >= 2 {
            protos.push(Proto {
                layer: l,
                kind: TaskKind::InputGrad,
                work: Work::Gemm { m, k: n, n: k },
                cycles: rnd(base, 2 * base),
            });
        }
        protos.push(Proto {
            layer: l,
            kind: TaskKind::WeightGrad,
            work: Work::Gemm { m: k, k: m, n },
            cycles: rnd(base, 2 * base),
        });
        protos.push(Proto {
            layer: l,
            kind: TaskKind::Update,
            work: Work::Elementwise { elements: k * n, ops_per_element: 2 },
            cycles: rnd(base / 8, base / 4),
        });
    }
    let id = |p: &Proto| format!("{}{}", p.kind.letter(), p.layer);
    let find = |kind: TaskKind, layer: u32| protos.iter().position(|p| p.kind == kind && p.layer == layer);

    // Edges (DESIGN §4).
    let mut edges: Vec<(usize, usize, EdgeKind, u64)> = Vec::new();
    let eb = spec.edge_bytes;
    for l in 1..=l_count {
        let f = find(TaskKind::Forward, l).unwrap_or(0);
        let s = find(TaskKind::Neuron, l).unwrap_or(0);
        let e = find(TaskKind::NeuronBackward, l).unwrap_or(0);
        let w = find(TaskKind::WeightGrad, l).unwrap_or(0);
        let u = find(TaskKind::Update, l).unwrap_or(0);
        edges.push((f, s, EdgeKind::Data, eb * 4));
        if let Some(f2) = find(TaskKind::Forward, l + 1) {
            edges.push((s, f2, EdgeKind::Data, eb / 4));
        }
        edges.push((s, e, EdgeKind::Data, eb * 2));
        if let Some(g) = find(TaskKind::InputGrad, l) {
            edges.push((e, g, EdgeKind::Data, eb * 2));
            if let Some(e0) = find(TaskKind::NeuronBackward, l - 1) {
                edges.push((g, e0, EdgeKind::Data, eb * 2));
            }
            edges.push((u, g, EdgeKind::WeightFeedback, eb));
        }
        edges.push((e, w, EdgeKind::Data, eb * 2));
        if let Some(s0) = find(TaskKind::Neuron, l - 1) {
            edges.push((s0, w, EdgeKind::Data, eb / 4));
        }
        edges.push((w, u, EdgeKind::Data, eb));
        edges.push((u, f, EdgeKind::WeightFeedback, eb));
    }
    edges.sort_by_key(|&(a, b, k, _)| (k == EdgeKind::WeightFeedback, a, b));

    // Chunks: layer blocks; F/G split along M by samples.
    let home = |layer: u32| ((layer - 1) as u64 * p_count as u64 / l_count as u64) as u32;
    let mut tasks: Vec<ScheduledTask> = protos
        .iter()
        .map(|p| {
            let k = if matches!(p.kind, TaskKind::Forward | TaskKind::InputGrad) { split } else { 1 };
            let chunks = (0..k as u64)
                .map(|j| {
                    let (dim, range, samples) = if k == 1 {
                        (SplitDim::Whole, (0, 1), [0, b])
                    } else {
                        let s0 = j * b / k as u64;
                        let s1 = (j + 1) * b / k as u64;
                        (SplitDim::M, (s0 * T, s1 * T), [s0, s1])
                    };
                    let proc = if spec.spread { (home(p.layer) + j as u32) % p_count } else { home(p.layer) };
                    Chunk {
                        processor: proc,
                        start: 0,
                        cycles: if k == 1 { p.cycles } else { p.cycles.div_ceil(k as u64) + 8 },
                        range: ChunkRange::along(dim, range.0, range.1),
                        samples,
                        reduce_cycles: 0,
                    }
                })
                .collect();
            ScheduledTask { id: id(p), layer: p.layer, kind: p.kind, work: p.work, cycles: p.cycles, chunks }
        })
        .collect();
    let hardware = HardwareSpec {
        processors: p_count as u64,
        array: ArraySpec { rows: 32, cols: 32, dataflow: Dataflow::Ws },
        vector_lanes: 32,
        clock_mhz: 500.0,
        link: LinkSpec {
            bytes_per_cycle: spec.link_bytes_per_cycle.max(1),
            latency_cycles: spec.link_latency,
        },
        bits: BitsSpec::default(),
        memory_bytes: None,
    };
    let schedule_edges: Vec<ScheduleEdge> = edges
        .iter()
        .map(|&(a, b, kind, bytes)| ScheduleEdge {
            from: tasks[a].id.clone(),
            to: tasks[b].id.clone(),
            kind,
            bytes,
            sliced_by: None,
        })
        .collect();
    let mut s = Schedule {
        format: SCHEDULE_FORMAT.to_string(),
        model: ModelInfo {
            name: format!("synthetic-l{l_count}"),
            spec_hash: "0000000000000000".into(),
            layers: l_count,
            batch: b,
            optimizer: None,
        },
        hardware,
        method: "synthetic".into(),
        micro_batches: None,
        solver: SolverInfo {
            name: "list-modulo".into(),
            status: SolverStatus::Feasible,
            seconds: 0.0,
            gap: None,
            note: None,
        },
        period_cycles: 1,
        lower_bound_cycles: 1,
        tasks: Vec::new(),
        edges: schedule_edges,
        transfers: Vec::new(),
        staleness: Vec::new(),
        metrics: Metrics::default(),
    };
    let mut load = vec![0u64; p_count as usize];
    for t in &tasks {
        for c in &t.chunks {
            load[c.processor as usize] += c.cycles;
        }
    }
    let total: u64 = load.iter().sum();
    let lb = total
        .div_ceil(p_count as u64)
        .max(tasks.iter().flat_map(|t| &t.chunks).map(|c| c.cycles).max().unwrap_or(1));
    let mut ii = load.iter().copied().max().unwrap_or(1).max(lb);
    // Transfers needed (edge, from_chunk, dst, bytes), known from the placement alone.
    s.tasks = tasks.clone();
    let needed = required_transfers(&s);
    loop {
        if let Some((starts, transfers)) = place(&s, &tasks, &edges, &needed, ii) {
            for (t, st) in tasks.iter_mut().zip(starts) {
                for (c, v) in t.chunks.iter_mut().zip(st) {
                    c.start = v;
                }
            }
            s.tasks = tasks;
            s.transfers = transfers;
            break;
        }
        ii += ii / 20 + 1;
    }
    s.period_cycles = ii;
    s.lower_bound_cycles = lb;
    s.staleness = compute_staleness(&s);
    let mut proc_util = vec![0f64; p_count as usize];
    for (q, l) in load.iter().enumerate() {
        proc_util[q] = *l as f64 / ii as f64;
    }
    let moved: u64 = s.transfers.iter().map(|t| t.bytes).sum();
    let all: u64 = s.edges.iter().map(|e| e.bytes).sum();
    s.metrics = Metrics {
        utilization: proc_util.iter().sum::<f64>() / p_count as f64,
        processor_utilization: proc_util,
        bytes_between_processors: moved,
        bytes_total: all,
        comm_overhead: if all == 0 { 0.0 } else { moved as f64 / all as f64 },
        ..Metrics::default()
    };
    s.metrics.peak_memory_bytes = spikepipe_ir::peak_memory_bytes(&s);
    s
}

/// Whether `[t, t+len)` avoids every `(start, len)` of `busy` modulo `ii`.
fn fits(busy: &[(u64, u64)], t: u64, len: u64, ii: u64) -> bool {
    let a = t % ii;
    busy.iter().all(|&(s, l)| {
        let b = s % ii;
        // Overlap of [a, a+len) and [b, b+l) on a circle of length ii.
        let d1 = (b + ii - a) % ii; // distance from a forward to b
        let d2 = (a + ii - b) % ii; // distance from b forward to a
        !(d1 < len || d2 < l)
    })
}

/// Earliest `t ≥ ready` at which `len` fits, if any within one period.
fn earliest(busy: &[(u64, u64)], ready: u64, len: u64, ii: u64) -> Option<u64> {
    if len > ii {
        return None;
    }
    let mut cands: Vec<u64> = vec![ready];
    for &(s, l) in busy {
        let e = (s + l) % ii;
        cands.push(ready + (e + ii - ready % ii) % ii);
    }
    cands.sort_unstable();
    cands.into_iter().find(|&t| fits(busy, t, len, ii))
}

type Placement = (Vec<Vec<u64>>, Vec<Transfer>);

fn place(
    s: &Schedule,
    tasks: &[ScheduledTask],
    edges: &[(usize, usize, EdgeKind, u64)],
    needed: &[(usize, usize, u32, u64)],
    ii: u64,
) -> Option<Placement> {
    let mut starts: Vec<Vec<u64>> = tasks.iter().map(|t| vec![0; t.chunks.len()]).collect();
    let mut proc_busy: BTreeMap<u32, Vec<(u64, u64)>> = BTreeMap::new();
    let mut link_busy: BTreeMap<(u32, u32), Vec<(u64, u64)>> = BTreeMap::new();
    let mut placed: BTreeMap<(usize, usize, u32), Transfer> = BTreeMap::new();
    let need: BTreeMap<(usize, usize, u32), u64> =
        needed.iter().map(|&(e, c, d, b)| ((e, c, d), b)).collect();
    // Tasks are in topological order by construction.
    for (v, tv) in tasks.iter().enumerate() {
        for (vi, cv) in tv.chunks.iter().enumerate() {
            let mut ready = 0;
            for (ei, &(u, to, kind, _)) in edges.iter().enumerate() {
                if to != v || kind != EdgeKind::Data {
                    continue;
                }
                for (ui, cu) in tasks[u].chunks.iter().enumerate() {
                    if !spikepipe_ir::samples_overlap(cu.samples, cv.samples) {
                        continue;
                    }
                    let end = starts[u][ui] + cu.cycles;
                    if cu.processor == cv.processor {
                        ready = ready.max(end);
                        continue;
                    }
                    let key = (ei, ui, cv.processor);
                    let arrival = match placed.entry(key) {
                        std::collections::btree_map::Entry::Occupied(o) => o.get().end(),
                        std::collections::btree_map::Entry::Vacant(slot) => {
                            let bytes = *need.get(&key)?;
                            let cycles = s.hardware.transfer_cycles(bytes);
                            let busy = link_busy.entry((cu.processor, cv.processor)).or_default();
                            let t = earliest(busy, end, cycles, ii)?;
                            busy.push((t, cycles));
                            let (src, dst) = (cu.processor, cv.processor);
                            slot.insert(Transfer {
                                edge: ei,
                                from_chunk: ui,
                                src,
                                dst,
                                bytes,
                                start: t,
                                cycles,
                            })
                            .end()
                        }
                    };
                    ready = ready.max(arrival);
                }
            }
            let busy = proc_busy.entry(cv.processor).or_default();
            let t = earliest(busy, ready, cv.cycles, ii)?;
            busy.push((t, cv.cycles));
            starts[v][vi] = t;
        }
    }
    Some((starts, placed.into_values().collect()))
}
