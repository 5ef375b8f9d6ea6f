//! Pipeline stages of a schedule, for `distributed.py`.
//!
//! Processors are grouped by the set of weight layers they run work of. A schedule is
//! *stage-granular* when those sets are disjoint and each is a contiguous run of layers:
//! then every group is a pipeline stage. A group of several processors is a stage
//! replicated by samples (data parallelism inside the stage) when, for every task of its
//! layers that is split, each processor's chunks cover its own range of the minibatch's
//! samples; unsplit whole-batch tasks (the update) may sit on any processor of the group,
//! since every replica applies the all-reduced update. Anything else — a GEMM cut along
//! its output features across processors, a layer whose tasks live on processors that
//! also run other layers' work — is fine-grained and exports to `train.py` only.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spikepipe_ir::{Schedule, SplitDim};

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
    for t in schedule.tasks.iter().filter(|t| stage.layers.contains(&t.layer)) {
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

    #[test]
    fn two_task_fixture_is_one_stage() {
        let s =
            Schedule::from_json(include_str!("../../ir/tests/data/two-tasks.json")).expect("fixture parses");
        let st = stages(&s).expect("whole tasks on processors");
        assert!(!st.is_empty());
        for stage in &st {
            assert_eq!(stage.samples.len(), stage.processors.len());
        }
    }
}
