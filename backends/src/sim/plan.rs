//! Precomputation: everything the event loop needs as flat index vectors, so the loop
//! itself never allocates or looks anything up by name.

use std::collections::{BTreeMap, HashMap};

use spikepipe_ir::{samples_overlap, EdgeKind, Schedule, TaskKind};

use super::{LinkModel, SimConfig, SimError};

/// A `[lo, hi)` range into one of the flat index vectors.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Span {
    pub lo: u32,
    pub hi: u32,
}

/// One chunk (all iterations of it).
#[derive(Debug, Clone)]
pub(crate) struct ChunkPlan {
    /// Index into `schedule.tasks`.
    pub task: u32,
    /// Index in the task's `chunks`.
    pub local: u32,
    pub processor: u32,
    pub start: u64,
    pub cycles: u64,
    /// `start / II`: the round of the processor's cycle in which iteration 0 runs it.
    pub round: u64,
    /// Same-processor producer chunks (into `Plan::dep_chunks`).
    pub deps: Span,
    /// Incoming transfers (into `Plan::dep_transfers`).
    pub xdeps: Span,
    /// Outgoing transfers (into `Plan::out_transfers`).
    pub outs: Span,
    /// Staleness bookkeeping: `Some((layer index, 0 = forward | 1 = input grad))`.
    pub reader: Option<(u32, u8)>,
    /// Where a reader chunk's updated weights come from (into `Plan::weight_sources`):
    /// every update chunk of its layer, through its end (same processor) or through the
    /// arrival of the transfer that carries it here.
    pub wsrc: Span,
}

/// One transfer of the schedule.
#[derive(Debug, Clone)]
pub(crate) struct TransferPlan {
    pub link: u32,
    pub dst: u32,
    pub start: u64,
    pub cycles: u64,
    pub bytes: u64,
}

/// How a reader chunk learns of an update chunk's new weights.
#[derive(Debug, Clone, Copy)]
pub(crate) enum WeightSource {
    /// The update chunk ran on the reader's processor: its end.
    Chunk(u32),
    /// The transfer of its weights to the reader's processor: its arrival.
    Transfer(u32),
}

/// A physical link (or the shared bus).
#[derive(Debug, Clone)]
pub(crate) struct LinkPlan {
    /// `(src, dst)` for a dedicated link, `None` for the bus.
    pub pair: Option<(u32, u32)>,
}

#[derive(Debug)]
pub(crate) struct Plan {
    pub period: u64,
    pub processors: u32,
    pub tasks: usize,
    pub layers: u32,
    pub chunks: Vec<ChunkPlan>,
    pub transfers: Vec<TransferPlan>,
    pub links: Vec<LinkPlan>,
    pub dep_chunks: Vec<u32>,
    pub dep_transfers: Vec<u32>,
    pub out_transfers: Vec<u32>,
    /// Chunks of each processor sorted by `start mod II` (into `proc_order`).
    pub proc_spans: Vec<Span>,
    pub proc_order: Vec<u32>,
    /// Largest `round` of any chunk.
    pub max_round: u64,
    pub weight_sources: Vec<WeightSource>,
    /// Display names `F1[0]` of chunks, for error messages.
    pub chunk_names: Vec<String>,
}

/// The task of global chunk `g`, given the first global chunk of every task.
fn first_task_of(first_chunk: &[usize], g: usize) -> usize {
    first_chunk.partition_point(|&f| f <= g).saturating_sub(1)
}

/// Largest chunk / transfer count the 30-bit event ids allow.
const MAX_IDS: usize = 1 << 30;

impl Plan {
    pub fn build(s: &Schedule, config: &SimConfig) -> Result<Plan, SimError> {
        if config.iterations == 0 {
            return Err(SimError::Config("iterations must be at least 1".into()));
        }
        let period = s.period_cycles.max(1);
        let processors = s.processors();
        let task_index: HashMap<&str, usize> =
            s.tasks.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();

        // Global chunk numbering: tasks in file order, chunks in task order.
        let mut first_chunk = Vec::with_capacity(s.tasks.len());
        let mut chunks = Vec::new();
        let mut chunk_names = Vec::new();
        for (ti, t) in s.tasks.iter().enumerate() {
            first_chunk.push(chunks.len());
            for (ci, c) in t.chunks.iter().enumerate() {
                chunks.push(ChunkPlan {
                    task: ti as u32,
                    local: ci as u32,
                    processor: c.processor,
                    start: c.start,
                    cycles: c.cycles,
                    round: c.start / period,
                    deps: Span::default(),
                    xdeps: Span::default(),
                    outs: Span::default(),
                    reader: None,
                    wsrc: Span::default(),
                });
                chunk_names.push(format!("{}[{ci}]", t.id));
            }
        }
        // Every time the run can reach must fit in u64: the last slot plus all work done late.
        let last_slot =
            chunks.iter().map(|c| c.start).chain(s.transfers.iter().map(|t| t.start)).max().unwrap_or(0)
                as u128
                + config.iterations as u128 * period as u128;
        let all_work: u128 = (chunks.iter().map(|c| c.cycles as u128).sum::<u128>()
            + s.transfers.iter().map(|t| t.cycles as u128).sum::<u128>())
            * config.iterations as u128;
        if last_slot + all_work >= u64::MAX as u128 {
            return Err(SimError::Config("cycle counts of this run would overflow 64 bits".into()));
        }
        if chunks.len() >= MAX_IDS || s.transfers.len() >= MAX_IDS {
            return Err(SimError::Config("too many chunks or transfers (limit 2^30)".into()));
        }

        // Links.
        let mut link_of_pair: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        let mut links = Vec::new();
        match config.links {
            LinkModel::Shared => links.push(LinkPlan { pair: None }),
            LinkModel::Dedicated => {
                for t in &s.transfers {
                    link_of_pair.entry((t.src, t.dst)).or_insert(0);
                }
                for (i, (pair, id)) in link_of_pair.iter_mut().enumerate() {
                    *id = i as u32;
                    links.push(LinkPlan { pair: Some(*pair) });
                }
            }
        }
        let transfers: Vec<TransferPlan> = s
            .transfers
            .iter()
            .map(|t| TransferPlan {
                link: match config.links {
                    LinkModel::Shared => 0,
                    LinkModel::Dedicated => link_of_pair[&(t.src, t.dst)],
                },
                dst: t.dst,
                start: t.start,
                cycles: t.cycles,
                bytes: t.bytes,
            })
            .collect();
        let transfer_of: HashMap<(usize, usize, u32), u32> =
            s.transfers.iter().enumerate().map(|(i, t)| ((t.edge, t.from_chunk, t.dst), i as u32)).collect();

        // Dependences of each consumer chunk, and outgoing transfers of each producer chunk.
        let mut deps: Vec<Vec<u32>> = vec![Vec::new(); chunks.len()];
        let mut xdeps: Vec<Vec<u32>> = vec![Vec::new(); chunks.len()];
        let mut outs: Vec<Vec<u32>> = vec![Vec::new(); chunks.len()];
        for (ti, t) in s.transfers.iter().enumerate() {
            if let Some(e) = s.edges.get(t.edge) {
                if let Some(&u) = task_index.get(e.from.as_str()) {
                    if t.from_chunk < s.tasks[u].chunks.len() {
                        outs[first_chunk[u] + t.from_chunk].push(ti as u32);
                    }
                }
            }
        }
        for (ei, e) in s.edges.iter().enumerate() {
            if e.kind != EdgeKind::Data {
                continue;
            }
            let (Some(&u), Some(&v)) = (task_index.get(e.from.as_str()), task_index.get(e.to.as_str()))
            else {
                continue;
            };
            for (vi, cv) in s.tasks[v].chunks.iter().enumerate() {
                let gv = first_chunk[v] + vi;
                for (ui, cu) in s.tasks[u].chunks.iter().enumerate() {
                    if !samples_overlap(cu.samples, cv.samples) {
                        continue;
                    }
                    if cu.processor == cv.processor {
                        deps[gv].push((first_chunk[u] + ui) as u32);
                    } else {
                        match transfer_of.get(&(ei, ui, cv.processor)) {
                            Some(&x) => xdeps[gv].push(x),
                            None => {
                                return Err(SimError::Config(format!(
                                    "{}[{vi}] needs a transfer of {}[{ui}] to p{} that the schedule lacks",
                                    s.tasks[v].id, s.tasks[u].id, cv.processor
                                )))
                            }
                        }
                    }
                }
            }
        }
        let flatten = |lists: Vec<Vec<u32>>, spans: &mut dyn FnMut(usize, Span)| -> Vec<u32> {
            let mut flat = Vec::new();
            for (i, mut l) in lists.into_iter().enumerate() {
                l.sort_unstable();
                l.dedup();
                let lo = flat.len() as u32;
                flat.extend(l);
                spans(i, Span { lo, hi: flat.len() as u32 });
            }
            flat
        };
        let dep_chunks = flatten(deps, &mut |i, sp| chunks[i].deps = sp);
        let dep_transfers = flatten(xdeps, &mut |i, sp| chunks[i].xdeps = sp);
        let out_transfers = flatten(outs, &mut |i, sp| chunks[i].outs = sp);

        // Processor order: by start mod II within a round.
        let mut per_proc: Vec<Vec<u32>> = vec![Vec::new(); processors as usize];
        for (g, c) in chunks.iter().enumerate() {
            if let Some(list) = per_proc.get_mut(c.processor as usize) {
                list.push(g as u32);
            }
        }
        let mut proc_spans = Vec::with_capacity(per_proc.len());
        let mut proc_order = Vec::with_capacity(chunks.len());
        for mut list in per_proc {
            list.sort_by_key(|&g| (chunks[g as usize].start % period, g));
            let lo = proc_order.len() as u32;
            proc_order.extend(list);
            proc_spans.push(Span { lo, hi: proc_order.len() as u32 });
        }
        let max_round = chunks.iter().map(|c| c.round).max().unwrap_or(0);

        // Staleness bookkeeping.
        let layers = s.model.layers.max(s.tasks.iter().map(|t| t.layer).max().unwrap_or(0));
        let mut update_lists: Vec<Vec<u32>> = vec![Vec::new(); layers as usize];
        for (g, c) in chunks.iter().enumerate() {
            let t = &s.tasks[c.task as usize];
            if t.kind == TaskKind::Update && t.layer >= 1 {
                update_lists[t.layer as usize - 1].push(g as u32);
            }
        }
        let mut sources: Vec<Vec<WeightSource>> = vec![Vec::new(); chunks.len()];
        for (g, c) in chunks.iter_mut().enumerate() {
            let t = &s.tasks[c.task as usize];
            if t.layer == 0 || update_lists[t.layer as usize - 1].is_empty() {
                continue;
            }
            c.reader = match t.kind {
                TaskKind::Forward => Some((t.layer - 1, 0)),
                TaskKind::InputGrad => Some((t.layer - 1, 1)),
                _ => None,
            };
            if c.reader.is_none() {
                continue;
            }
            let edge = s.edges.iter().position(|e| {
                e.kind == EdgeKind::WeightFeedback
                    && e.to == t.id
                    && s.task(&e.from).is_some_and(|u| u.layer == t.layer)
            });
            for &u in &update_lists[t.layer as usize - 1] {
                let uc = &s.tasks[first_task_of(&first_chunk, u as usize)].chunks;
                let local = u as usize - first_chunk[first_task_of(&first_chunk, u as usize)];
                let src = if uc[local].processor == c.processor {
                    WeightSource::Chunk(u)
                } else {
                    match edge.and_then(|e| transfer_of.get(&(e, local, c.processor))) {
                        Some(&x) => WeightSource::Transfer(x),
                        None => WeightSource::Chunk(u),
                    }
                };
                sources[g].push(src);
            }
        }
        let mut weight_sources = Vec::new();
        for (g, list) in sources.into_iter().enumerate() {
            let lo = weight_sources.len() as u32;
            weight_sources.extend(list);
            chunks[g].wsrc = Span { lo, hi: weight_sources.len() as u32 };
        }

        Ok(Plan {
            period,
            processors,
            tasks: s.tasks.len(),
            layers,
            chunks,
            transfers,
            links,
            dep_chunks,
            dep_transfers,
            out_transfers,
            proc_spans,
            proc_order,
            max_round,
            weight_sources,
            chunk_names,
        })
    }
}
