//! Link loads: the cycles every directed link is busy per iteration.
//!
//! Which transfers a placement needs, and their bytes, is `spikepipe_ir`'s one traffic
//! model ([`spikepipe_ir::edge_transfers`], [`spikepipe_ir::required_transfers`]); what
//! each costs is [`CostModel::transfer_cycles`]. [`LinkLoads`] adds the two up, for the
//! heuristic's evaluator and for timing alike.

use std::collections::BTreeMap;

use spikepipe_ir::AsTimetable;

use super::CostModel;

/// Busy cycles of every directed link `src → dst`, and the bytes crossing them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkLoads {
    procs: usize,
    cycles: Vec<u64>,
    bytes: u64,
}

impl LinkLoads {
    /// No traffic on `procs` processors.
    pub fn new(procs: usize) -> LinkLoads {
        LinkLoads { procs, cycles: vec![0; procs * procs], bytes: 0 }
    }

    /// The loads of the transfers a (timed or drafted) placement needs.
    pub fn of_timetable(s: &impl AsTimetable, cost: &dyn CostModel) -> LinkLoads {
        let s = s.timetable();
        let mut loads = LinkLoads::new(s.hardware.processors as usize);
        let tasks = s.task_index();
        for (ei, ci, dst, bytes) in spikepipe_ir::required_transfers(&s) {
            let src = tasks.get(&s.edges[ei].from).map_or(0, |t| t.chunks[ci].processor);
            loads.add(cost, src, dst, bytes);
        }
        loads
    }

    /// Adds one transfer of `bytes` from `src` to `dst`.
    pub fn add(&mut self, cost: &dyn CostModel, src: u32, dst: u32, bytes: u64) {
        self.cycles[src as usize * self.procs + dst as usize] += cost.transfer_cycles(bytes);
        self.bytes += bytes;
    }

    /// Cycles per link, indexed `src · P + dst`.
    pub fn cycles(&self) -> &[u64] {
        &self.cycles
    }

    /// Bytes crossing between processors.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The busy links only, by `(src, dst)`.
    pub fn busy(&self) -> BTreeMap<(u32, u32), u64> {
        let n = self.procs.max(1);
        let at = |i: usize| ((i / n) as u32, (i % n) as u32);
        self.cycles.iter().enumerate().filter(|(_, &c)| c > 0).map(|(i, &c)| (at(i), c)).collect()
    }
}
