//! The one traffic model: which transfers a placement needs and how many bytes each
//! moves.
//!
//! For every edge, every producing chunk and every other processor that holds a
//! consuming chunk whose samples overlap it, one transfer of the edge's bytes times the
//! smaller of the producing chunk's share and the share the destination's consuming
//! chunks need (their summed share when the edge is `sliced_by` their split dimension,
//! else all of it), rounded up ([`edge_transfers`]).
//!
//! Everything that counts link traffic derives it from here, so nothing has to agree
//! by comment: the verifier and the compiler's timing read [`required_transfers`] of a
//! schedule, and the heuristic's evaluator calls [`edge_transfers`] on chunks not yet
//! timed ([`Site`] is what both kinds of chunk offer). What a transfer costs in cycles
//! is [`crate::LinkSpec::transfer_cycles`].

use crate::schedule::samples_overlap;
use crate::{AsTimetable, Chunk, ChunkRange, ScheduleEdge, ScheduledTask, SplitDim, Work};

/// What the traffic model reads of a chunk: where it runs, which part of its task it
/// is, and which samples it touches.
pub trait Site {
    /// Processor.
    fn processor(&self) -> u32;
    /// Part of the task.
    fn range(&self) -> ChunkRange;
    /// Samples `[first, end)`.
    fn samples(&self) -> [u64; 2];
}

impl Site for Chunk {
    fn processor(&self) -> u32 {
        self.processor
    }
    fn range(&self) -> ChunkRange {
        self.range
    }
    fn samples(&self) -> [u64; 2] {
        self.samples
    }
}

/// A chunk placed but not timed (for callers that hold no [`crate::Timetable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlacedSite {
    /// Processor.
    pub processor: u32,
    /// Part of the task.
    pub range: ChunkRange,
    /// Samples `[first, end)`.
    pub samples: [u64; 2],
}

impl Site for PlacedSite {
    fn processor(&self) -> u32 {
        self.processor
    }
    fn range(&self) -> ChunkRange {
        self.range
    }
    fn samples(&self) -> [u64; 2] {
        self.samples
    }
}

/// One end of an edge: the task's whole work and its chunks.
#[derive(Debug)]
pub struct Side<'a, C> {
    /// The task's work (gives the size of its split dimension).
    pub work: &'a Work,
    /// Its chunks.
    pub chunks: &'a [C],
}

// By hand: a derive would demand `C: Copy`, though only references are copied.
impl<C> Clone for Side<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Side<'_, C> {}

/// The transfers one edge of `bytes` needs from `u`'s chunks to `v`'s, in canonical
/// order (producing chunk, then destination processor): `emit(from_chunk, dst, bytes)`.
pub fn edge_transfers<A: Site, B: Site>(
    bytes: u64,
    sliced_by: Option<SplitDim>,
    u: Side<A>,
    v: Side<B>,
    mut emit: impl FnMut(usize, u32, u64),
) {
    for (ci, cu) in u.chunks.iter().enumerate() {
        let overlaps = |cv: &B| samples_overlap(cu.samples(), cv.samples());
        let have = range_share(u.work, cu.range());
        // Distinct destinations in increasing order, without allocating (this runs in
        // the heuristic's inner loop).
        let mut last: Option<u32> = None;
        while let Some(dst) = v
            .chunks
            .iter()
            .filter(|cv| cv.processor() != cu.processor() && overlaps(cv))
            .map(Site::processor)
            .filter(|&q| last.is_none_or(|l| q > l))
            .min()
        {
            let need = needed_share(sliced_by, v, dst, overlaps);
            emit(ci, dst, scale_bytes(bytes, have.min(need)));
            last = Some(dst);
        }
    }
}

/// The transfers a schedule needs, in canonical order: [`edge_transfers`] of every edge
/// (data, and weight feedback: updated weights to the `F`/`G` chunks of the next
/// iterations), as `(edge, from_chunk, dst, bytes)`. Compiler and verifier both use
/// this, so they agree on what must move.
pub fn required_transfers(s: &impl AsTimetable) -> Vec<(usize, usize, u32, u64)> {
    let s = s.timetable();
    let tasks = s.task_index();
    let mut out = Vec::new();
    for (ei, e) in s.edges.iter().enumerate() {
        let (Some(u), Some(v)) = (tasks.get(&e.from), tasks.get(&e.to)) else { continue };
        let (su, sv) =
            (Side { work: &u.work, chunks: &u.chunks[..] }, Side { work: &v.work, chunks: &v.chunks[..] });
        edge_transfers(e.bytes, e.sliced_by, su, sv, |ci, dst, b| out.push((ei, ci, dst, b)));
    }
    out
}

/// A share of a tensor as an exact fraction `num/den` of its whole.
#[derive(Debug, Clone, Copy)]
pub struct Share {
    num: u128,
    den: u128,
}

impl Share {
    /// All of it.
    pub const ALL: Share = Share { num: 1, den: 1 };
    fn min(self, o: Share) -> Share {
        if self.num * o.den <= o.num * self.den {
            self
        } else {
            o
        }
    }
}

/// `ceil(bytes · share)`.
pub fn scale_bytes(bytes: u64, s: Share) -> u64 {
    (bytes as u128 * s.num).div_ceil(s.den.max(1)).min(bytes as u128) as u64
}

/// The share of its task's output one chunk produces (all of it for a `K` split: a
/// partial sum has the full output's size).
pub fn share(task: &ScheduledTask, chunk: &Chunk) -> Share {
    range_share(&task.work, chunk.range)
}

/// The share of `work`'s output the part `range` produces (see [`share`]).
pub fn range_share(work: &Work, range: ChunkRange) -> Share {
    if range.dim == SplitDim::K {
        return Share::ALL;
    }
    let size = range.dim.size(work).unwrap_or(1).max(1);
    Share { num: range.len() as u128, den: size as u128 }
}

/// The share of an edge's tensor that the chunks of `v` on processor `dst` (those
/// passing `wanted`) need: their summed share if the edge is sliced by their split
/// dimension, else everything.
pub fn consumer_share(
    e: &ScheduleEdge,
    v: &ScheduledTask,
    dst: u32,
    wanted: impl Fn(&Chunk) -> bool,
) -> Share {
    needed_share(e.sliced_by, Side { work: &v.work, chunks: &v.chunks }, dst, wanted)
}

/// [`consumer_share`] over any chunks.
fn needed_share<C: Site>(
    sliced_by: Option<SplitDim>,
    v: Side<C>,
    dst: u32,
    wanted: impl Fn(&C) -> bool,
) -> Share {
    // All chunks of one task split the same dimension, so their shares add up over one size.
    let size = v.chunks.first().and_then(|c| c.range().dim.size(v.work)).unwrap_or(1).max(1) as u128;
    let mut len = 0u128;
    for cv in v.chunks.iter().filter(|cv| cv.processor() == dst && wanted(cv)) {
        if sliced_by != Some(cv.range().dim) {
            return Share::ALL;
        }
        len += cv.range().len() as u128;
    }
    if len >= size {
        Share::ALL
    } else {
        Share { num: len, den: size }
    }
}
