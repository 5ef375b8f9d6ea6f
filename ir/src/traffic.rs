//! The one traffic model: which transfers a placement needs and how many bytes each
//! moves.
//!
//! For every edge, every producing chunk and every other processor that holds a
//! consuming chunk whose samples overlap it, one transfer of the edge's bytes times the
//! smallest of: the producing chunk's share; the share the destination's consuming
//! chunks need (their summed share when the edge is `sliced_by` their split dimension,
//! else all of it); and, for a tensor with a row per sample, the block where the two
//! meet, the tensor seen as samples × columns (a chunk cut by samples covers its
//! samples' rows, any other chunk every row and its share of the columns); rounded up
//! ([`edge_transfers`]).
//!
//! Everything that counts link traffic derives it from here, so nothing has to agree
//! by comment: the verifier and the compiler's timing read [`required_transfers`] of a
//! schedule, and the heuristic's evaluator calls [`edge_transfers`] on chunks not yet
//! timed ([`Site`] is what both kinds of chunk offer). What a transfer costs in cycles
//! is [`crate::LinkSpec::transfer_cycles`].

use crate::schedule::samples_overlap;
use crate::{AsTimetable, Chunk, ChunkRange, EdgeKind, ScheduleEdge, ScheduledTask, SplitDim, Work};

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
///
/// A data edge's tensor has a row per sample (activations, spikes, errors), the weight
/// feedback's does not: on a data edge a chunk that touches only some samples holds, or
/// needs, only their rows, and a transfer moves the block where the producer's rows and
/// columns meet the destination's ([`footprint`]). Without it a producer cut along N and a consumer cut
/// by samples would each be charged the producer's whole column slice, P times the
/// block they share.
pub fn edge_transfers<A: Site, B: Site>(
    bytes: u64,
    sliced_by: Option<SplitDim>,
    kind: EdgeKind,
    u: Side<A>,
    v: Side<B>,
    mut emit: impl FnMut(usize, u32, u64),
) {
    // Every task's chunks together touch the whole minibatch.
    let batch = u.chunks.iter().map(|c| c.samples()[1]).chain(v.chunks.iter().map(|c| c.samples()[1])).max();
    let batch = batch.unwrap_or(1).max(1);
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
            let cols = column_share(u.work, cu.range());
            let block = footprint(kind == EdgeKind::Data, batch, (cu, have, cols), (v, dst, need));
            emit(ci, dst, scale_bytes(bytes, have.min(need).min(block)));
            last = Some(dst);
        }
    }
}

/// The share of an edge's tensor where a producing chunk's block meets what the
/// consumer's chunks on `dst` need, the tensor seen as rows (samples) × columns.
///
/// A chunk that touches only some samples (cut by samples) covers their rows and every
/// column, or its share of the columns if it is a tile (`cols`, cut along N and by
/// samples); any other chunk covers every row and its share of the columns (all of them
/// for a partial sum, cut along K). Weights (`per_sample` false) have no rows per
/// sample: the consumer needs every row. The result bounds the true overlap from above
/// (rows are whole samples, columns compared by share), so it never undercounts.
fn footprint<A: Site, B: Site>(
    per_sample: bool,
    batch: u64,
    (cu, have, cols): (&A, Share, Share),
    (v, dst, need): (Side<B>, u32, Share),
) -> Share {
    let partial = |s: [u64; 2]| s[1].saturating_sub(s[0]) < batch;
    let (rows_u, cols_u) = if cu.range().dim != SplitDim::K && partial(cu.samples()) {
        (cu.samples(), cols)
    } else {
        ([0, batch], have)
    };
    let span = rows_u[1].saturating_sub(rows_u[0]);
    let (mut rows, mut cols_v) = (0u64, Share::ALL);
    for cv in v.chunks.iter().filter(|cv| cv.processor() == dst) {
        let s = cv.samples();
        if per_sample && partial(s) {
            rows += s[1].min(rows_u[1]).saturating_sub(s[0].max(rows_u[0]));
        } else {
            (rows, cols_v) = (span, need);
        }
    }
    let cols = cols_u.min(cols_v);
    Share { num: rows.min(span) as u128 * cols.num, den: batch as u128 * cols.den }
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
        edge_transfers(e.bytes, e.sliced_by, e.kind, su, sv, |ci, dst, b| out.push((ei, ci, dst, b)));
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
    let rows = match (range.rows, *work) {
        (Some([a, b]), Work::Gemm { m, .. }) => {
            Share { num: b.saturating_sub(a) as u128, den: m.max(1) as u128 }
        }
        _ => Share::ALL,
    };
    Share { num: range.len() as u128 * rows.num, den: size as u128 * rows.den }
}

/// The share of `work`'s output columns the part `range` produces: a tile's columns, and
/// all of them for any other range (whose rows the samples say).
fn column_share(work: &Work, range: ChunkRange) -> Share {
    match range.rows {
        Some(_) => range_share(work, ChunkRange { rows: None, ..range }),
        None => Share::ALL,
    }
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
    let mut tiles: Vec<(u64, u64)> = Vec::new();
    for cv in v.chunks.iter().filter(|cv| cv.processor() == dst && wanted(cv)) {
        if sliced_by != Some(cv.range().dim) {
            return Share::ALL;
        }
        match cv.range().rows {
            // Tiles of other rows may share these columns: count the columns once.
            Some(_) => tiles.push((cv.range().start, cv.range().end)),
            None => len += cv.range().len() as u128,
        }
    }
    if !tiles.is_empty() {
        tiles.sort_unstable();
        let mut reach = 0u64;
        for (a, b) in tiles {
            len += b.saturating_sub(a.max(reach)) as u128;
            reach = reach.max(b);
        }
    }
    if len >= size {
        Share::ALL
    } else {
        Share { num: len, den: size }
    }
}

#[cfg(test)]
mod tests {
    //! Hand-counted transfers for the cuts that meet in the footprint model: a tensor of
    //! 64 samples × 8 columns, 4 processors.

    use super::*;

    const BYTES: u64 = 6400;
    const GEMM: Work = Work::Gemm { m: 64, k: 8, n: 8 };
    const ELEMENTS: Work = Work::Elementwise { elements: 512, ops_per_element: 1 };

    fn site(processor: u32, dim: SplitDim, start: u64, end: u64, samples: [u64; 2]) -> PlacedSite {
        PlacedSite { processor, range: ChunkRange::along(dim, start, end), samples }
    }

    /// Column slices (all samples) on p0–p3.
    fn by_columns() -> Vec<PlacedSite> {
        (0..4).map(|q| site(q, SplitDim::N, 2 * q as u64, 2 * q as u64 + 2, [0, 64])).collect()
    }

    /// Sample slices of the element-wise consumer on p0–p3.
    fn by_samples() -> Vec<PlacedSite> {
        (0..4u64)
            .map(|q| site(q as u32, SplitDim::Elements, 128 * q, 128 * q + 128, [16 * q, 16 * q + 16]))
            .collect()
    }

    fn transfers(
        kind: EdgeKind,
        u: (&Work, &[PlacedSite]),
        v: (&Work, &[PlacedSite]),
    ) -> Vec<(usize, u32, u64)> {
        let mut out = Vec::new();
        let (u, v) = (Side { work: u.0, chunks: u.1 }, Side { work: v.0, chunks: v.1 });
        edge_transfers(BYTES, None, kind, u, v, |c, dst, b| out.push((c, dst, b)));
        out
    }

    #[test]
    fn column_slices_to_sample_slices_move_only_the_blocks_they_share() {
        let t = transfers(EdgeKind::Data, (&GEMM, &by_columns()), (&ELEMENTS, &by_samples()));
        // Every producer sends its 16 × 2 block to each of the 3 other processors.
        assert_eq!(t.len(), 12);
        assert!(t.iter().all(|&(_, _, b)| b == BYTES / 16), "{t:?}");
        // All-to-all: 3/4 of the tensor crosses the links (it was 3 whole tensors).
        assert_eq!(t.iter().map(|x| x.2).sum::<u64>(), BYTES * 3 / 4);
    }

    /// Tiles of 2 sample groups (32 samples) × 2 column slices (4 columns): `(row group,
    /// column slice)` on p`2g + j`.
    fn by_tiles() -> Vec<PlacedSite> {
        (0..4u64)
            .map(|q| {
                let (g, j) = (q / 2, q % 2);
                let range = ChunkRange {
                    rows: Some([32 * g, 32 * g + 32]),
                    ..ChunkRange::along(SplitDim::N, 4 * j, 4 * j + 4)
                };
                PlacedSite { processor: q as u32, range, samples: [32 * g, 32 * g + 32] }
            })
            .collect()
    }

    #[test]
    fn a_tile_sends_each_sample_slice_only_its_columns_of_their_rows() {
        let t = transfers(EdgeKind::Data, (&GEMM, &by_tiles()), (&ELEMENTS, &by_samples()));
        // p0's tile (samples 0–31, columns 0–3) sends p1 the 16 × 4 block of samples
        // 16–31, an eighth of the tensor; and so on. The rest stays home.
        assert_eq!(t, vec![(0, 1, BYTES / 8), (1, 0, BYTES / 8), (2, 3, BYTES / 8), (3, 2, BYTES / 8)]);
        // A tile is a quarter of the output, not the half its columns alone are.
        assert_eq!(scale_bytes(BYTES, range_share(&GEMM, by_tiles()[0].range)), BYTES / 4);
    }

    #[test]
    fn tiles_of_the_same_columns_on_one_processor_need_them_once() {
        // Weights sliced by N to tiles: p1 holds both row groups of columns 0–3, p2 of 4–7.
        let tiles: Vec<PlacedSite> = by_tiles()
            .into_iter()
            .map(|mut s| {
                s.processor = 1 + (s.range.start / 4) as u32;
                s
            })
            .collect();
        let whole = [site(0, SplitDim::Whole, 0, 1, [0, 64])];
        let mut t = Vec::new();
        let (u, v) = (Side { work: &GEMM, chunks: &whole[..] }, Side { work: &GEMM, chunks: &tiles[..] });
        edge_transfers(BYTES, Some(SplitDim::N), EdgeKind::WeightFeedback, u, v, |c, dst, b| {
            t.push((c, dst, b))
        });
        assert_eq!(t, vec![(0, 1, BYTES / 2), (0, 2, BYTES / 2)]);
    }

    #[test]
    fn weights_have_no_rows_per_sample() {
        // The same cuts on a weight tensor: each consumer needs every row.
        let t = transfers(EdgeKind::WeightFeedback, (&GEMM, &by_columns()), (&ELEMENTS, &by_samples()));
        assert!(t.iter().all(|&(_, _, b)| b == BYTES / 4), "{t:?}");
    }

    #[test]
    fn a_whole_producer_sends_each_sample_slice_its_rows() {
        let whole = [site(0, SplitDim::Whole, 0, 1, [0, 64])];
        let t = transfers(EdgeKind::Data, (&GEMM, &whole), (&ELEMENTS, &by_samples()));
        assert_eq!(t, vec![(0, 1, BYTES / 4), (0, 2, BYTES / 4), (0, 3, BYTES / 4)]);
    }

    #[test]
    fn matching_sample_slices_stay_home_and_partial_sums_move_whole() {
        let producer: Vec<PlacedSite> = (0..4u64)
            .map(|q| site(q as u32, SplitDim::M, 16 * q, 16 * q + 16, [16 * q, 16 * q + 16]))
            .collect();
        assert!(transfers(EdgeKind::Data, (&GEMM, &producer), (&ELEMENTS, &by_samples())).is_empty());
        // Cut along K (the samples of a weight gradient): each chunk is a full-size
        // partial sum, whichever samples it read.
        let partials: Vec<PlacedSite> =
            (0..4u64).map(|q| site(q as u32, SplitDim::K, 2 * q, 2 * q + 2, [16 * q, 16 * q + 16])).collect();
        let whole = [site(0, SplitDim::Whole, 0, 1, [0, 64])];
        let t = transfers(EdgeKind::Data, (&GEMM, &partials), (&ELEMENTS, &whole));
        assert_eq!(t, vec![(1, 0, BYTES), (2, 0, BYTES), (3, 0, BYTES)]);
    }
}
