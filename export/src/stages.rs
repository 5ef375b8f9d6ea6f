//! Pipeline stages of a schedule, for `distributed.py`.
//!
//! Processors are grouped by the set of weight layers they run work of. A schedule is
//! *stage-granular* when those sets are disjoint and each is a contiguous run of layers:
//! then every group is a pipeline stage. A group of several processors is a stage
//! replicated by samples (data parallelism inside the stage) when, for every task of its
//! layers that is split, each processor's chunks cover its own range of the minibatch's
//! samples. The update is exempt: the compiler cuts it by parameters among the replicas
//! (or leaves it whole on one), and every replica applies the same summed gradient. Anything else — a GEMM cut along
//! its output features across processors, a layer whose tasks live on processors that
//! also run other layers' work — is fine-grained and exports to `train.py` only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spikepipe_ir::{Schedule, SplitDim, TaskKind};

/// One pipeline stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stage {
    /// 1-based weight layers, contiguous and ascending.
    pub layers: Vec<u32>,
    /// Processors of the schedule that run this stage (one per replica), ascending.
    pub processors: Vec<u32>,
    /// Per replica, the samples `[first, end)` of the minibatch it processes.
    pub samples: Vec<[u64; 2]>,
}

/// Why a schedule is not stage-granular.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotStaged(pub String);

fn not(reason: impl Into<String>) -> NotStaged {
    NotStaged(reason.into())
}

/// The stages of `schedule`, in layer order, or why it has none.
pub fn stages(schedule: &Schedule) -> Result<Vec<Stage>, NotStaged> {
    let mut layers_of: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for t in &schedule.tasks {
        for c in &t.chunks {
            layers_of.entry(c.processor).or_default().insert(t.layer);
        }
    }
    let mut groups: BTreeMap<Vec<u32>, Vec<u32>> = BTreeMap::new();
    for (p, ls) in &layers_of {
        groups.entry(ls.iter().copied().collect()).or_default().push(*p);
    }
    let mut seen: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (ls, procs) in &groups {
        for l in ls {
            if let Some(other) = seen.insert(*l, procs.clone()) {
                return Err(not(format!(
                    "layer {l} runs on processors {other:?} and {procs:?}, which also run other layers' work \
                     (work of one layer is split across processor groups)"
                )));
            }
        }
        if ls.windows(2).any(|w| w[1] != w[0] + 1) {
            return Err(not(format!("processors {procs:?} run layers {ls:?}, which are not contiguous")));
        }
    }
    let mut out: Vec<Stage> = groups
        .into_iter()
        .map(|(layers, processors)| Stage { layers, processors, samples: Vec::new() })
        .collect();
    out.sort_by_key(|s| s.layers[0]);
    for stage in &mut out {
        stage.samples = replica_samples(schedule, stage)?;
    }
    Ok(out)
}

/// Each processor's sample range in a (possibly replicated) stage.
fn replica_samples(schedule: &Schedule, stage: &Stage) -> Result<Vec<[u64; 2]>, NotStaged> {
    let batch = schedule.model.batch;
    if stage.processors.len() == 1 {
        return Ok(vec![[0, batch]]);
    }
    let mut range: BTreeMap<u32, [u64; 2]> = BTreeMap::new();
    // The update is cut by parameters (a reduce-scatter/all-gather among the replicas),
    // not by samples; every replica applies the same summed gradient.
    let by_samples =
        |t: &&spikepipe_ir::ScheduledTask| stage.layers.contains(&t.layer) && t.kind != TaskKind::Update;
    for t in schedule.tasks.iter().filter(by_samples) {
        let whole_batch = t.chunks.iter().all(|c| c.range.dim == SplitDim::Whole && c.samples == [0, batch]);
        if whole_batch && t.chunks.len() == 1 {
            continue;
        }
        let mut per: BTreeMap<u32, [u64; 2]> = BTreeMap::new();
        for c in &t.chunks {
            if matches!(c.range.dim, SplitDim::N) {
                return Err(not(format!(
                    "task {} is cut along its output features across processors {:?} (a GEMM split, not a replica)",
                    t.id, stage.processors
                )));
            }
            let r = per.entry(c.processor).or_insert(c.samples);
            r[0] = r[0].min(c.samples[0]);
            r[1] = r[1].max(c.samples[1]);
        }
        let mut spans: Vec<[u64; 2]> = per.values().copied().collect();
        spans.sort();
        let tiles = spans.first().map(|s| s[0]) == Some(0)
            && spans.last().map(|s| s[1]) == Some(batch)
            && spans.windows(2).all(|w| w[0][1] == w[1][0]);
        if per.len() != stage.processors.len() || !tiles {
            return Err(not(format!(
                "task {} is not divided into disjoint sample ranges over processors {:?}",
                t.id, stage.processors
            )));
        }
        for (p, r) in per {
            if let Some(prev) = range.insert(p, r) {
                if prev != r {
                    return Err(not(format!(
                        "processor {p} works on samples {prev:?} in one task and {r:?} in task {}",
                        t.id
                    )));
                }
            }
        }
    }
    if range.len() != stage.processors.len() {
        return Err(not(format!(
            "processors {:?} run the same layers but no task divides its samples among them",
            stage.processors
        )));
    }
    Ok(stage.processors.iter().map(|p| range[p]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A schedule of mlp-digits' shape whose tasks have the given chunks
    /// `(processor, dim, [first, end) samples)`; timing fields are irrelevant here.
    /// (task id, layer, chunks as (processor, dim, samples)).
    type TaskSpec<'a> = (&'a str, u32, &'a [(u32, &'a str, [u64; 2])]);

    fn schedule(tasks: &[TaskSpec]) -> Schedule {
        let mut v: Value =
            serde_json::from_str(include_str!("../../ir/tests/data/two-tasks.json")).expect("fixture parses");
        let tasks: Vec<Value> = tasks
            .iter()
            .map(|(id, layer, chunks)| {
                let kind = if id.starts_with('U') { "update" } else { "forward" };
                let chunks: Vec<Value> = chunks
                    .iter()
                    .enumerate()
                    .map(|(i, (p, dim, samples))| {
                        json!({"processor": p, "start": 0, "cycles": 1,
                               "range": {"dim": dim, "start": i, "end": i + 1}, "samples": samples})
                    })
                    .collect();
                json!({"id": id, "layer": layer, "kind": kind,
                       "work": {"gemm": {"m": 1600, "k": 64, "n": 128}}, "cycles": 1, "chunks": chunks})
            })
            .collect();
        v["tasks"] = Value::Array(tasks);
        serde_json::from_value(v).expect("valid schedule")
    }

    const ALL: [u64; 2] = [0, 64];

    #[test]
    fn whole_layers_per_processor_are_stages() {
        let s = schedule(&[
            ("F1", 1, &[(0, "whole", ALL)]),
            ("U1", 1, &[(0, "whole", ALL)]),
            ("F2", 2, &[(1, "whole", ALL)]),
            ("U2", 2, &[(1, "whole", ALL)]),
        ]);
        let st = stages(&s).expect("stage-granular");
        assert_eq!(st.len(), 2);
        assert_eq!((st[0].layers.clone(), st[0].processors.clone()), (vec![1], vec![0]));
        assert_eq!((st[1].layers.clone(), st[1].processors.clone()), (vec![2], vec![1]));
        assert_eq!(st[1].samples, vec![ALL]);
    }

    #[test]
    fn sample_split_processors_are_replicas() {
        let s = schedule(&[
            ("F1", 1, &[(0, "m", [0, 32]), (1, "m", [32, 64])]),
            ("W1", 1, &[(0, "k", [0, 32]), (1, "k", [32, 64])]),
            ("U1", 1, &[(0, "elements", ALL), (1, "elements", ALL)]),
            ("F2", 2, &[(2, "whole", ALL)]),
        ]);
        let st = stages(&s).expect("replicated stage");
        assert_eq!(st[0].processors, vec![0, 1]);
        assert_eq!(st[0].samples, vec![[0, 32], [32, 64]]);
        assert_eq!(st[1].processors, vec![2]);
    }

    #[test]
    fn gemm_splits_and_shared_processors_are_fine_grained() {
        let n_split = schedule(&[("F1", 1, &[(0, "n", ALL), (1, "n", ALL)])]);
        assert!(stages(&n_split).expect_err("N split").0.contains("output features"));
        let shared =
            schedule(&[("F1", 1, &[(0, "whole", ALL)]), ("F2", 2, &[(0, "m", [0, 32]), (1, "m", [32, 64])])]);
        assert!(stages(&shared).expect_err("layer 2 on two groups").0.contains("layer 2"));
        let overlap = schedule(&[("F1", 1, &[(0, "m", [0, 40]), (1, "m", [32, 64])])]);
        assert!(stages(&overlap).is_err());
    }
}
