//! The schedule verifier, shared by the compiler (before it emits) and the simulator
//! (before it runs). It collects every violation instead of stopping at the first.
//!
//! Invariants checked:
//! 1. `format` is [`SCHEDULE_FORMAT`]; P ≥ 1; the period is positive.
//! 2. Every edge names existing tasks; every task has ≥ 1 chunk; chunk processors are in
//!    `0..P`; chunk cycles are positive and at most the period.
//! 3. Coverage: a task's chunks split one dimension and their ranges tile `0..size`
//!    exactly once (tiles of rows × columns, for a GEMM cut along N and by samples,
//!    cover its M × N exactly once). A task split along `K` over several processors feeds only
//!    element-wise tasks, and every chunk of those carries exactly the `reduce_cycles`
//!    of summing the partial sums it receives.
//! 4. Dependences: for each distance-0 edge `u→v` and every pair of chunks whose sample
//!    ranges overlap, `v` starts after `u` ends (same processor) or after the transfer that
//!    carries `u`'s share arrives (different processors).
//! 5. Transfers: exactly the ones [`required_transfers`] lists (data edges and weight
//!    feedback), each starting after its producing chunk and lasting
//!    `latency + ceil(bytes/bandwidth)`.
//! 6. Resources: on each processor, chunk intervals modulo the period do not overlap; on
//!    each directed link, transfer intervals modulo the period do not overlap.
//! 7. Staleness: recomputed from the starts and the weight transfers' arrivals, it
//!    equals the file's, for every layer.
//!
//! ```
//! use spikepipe_ir::{verify_schedule, Schedule};
//! let mut s = Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap();
//! assert!(verify_schedule(&s).is_ok());
//! s.tasks[1].chunks[0].start = 0; // start the consumer before its producer ends
//! let errors = verify_schedule(&s).unwrap_err();
//! assert!(errors.to_string().contains("dependence"));
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use crate::schedule::{expected_reduce_cycles_per_chunk, partials, samples_overlap};
use crate::staleness::compute_staleness;
use crate::traffic::required_transfers;
use crate::{AsTimetable, EdgeKind, LayerStaleness, Schedule, Timetable, SCHEDULE_FORMAT};

/// One broken rule, with the entity it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// What is wrong where: a chunk (`F1[0]`), a task, a processor, a link or the file.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// All violations of a schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violations(pub Vec<Violation>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "schedule violates {} rule(s):", self.0.len())?;
        for v in self.0.iter().take(50) {
            write!(f, "\n  - {v}")?;
        }
        if self.0.len() > 50 {
            write!(f, "\n  … and {} more", self.0.len() - 50)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

struct Checker {
    found: Vec<Violation>,
}

impl Checker {
    fn fail(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.found.push(Violation { location: location.into(), message: message.into() });
    }
}

/// Checks every invariant listed in the module docs.
pub fn verify_schedule(s: &Schedule) -> Result<(), Violations> {
    let mut c = Checker { found: Vec::new() };
    if s.format != SCHEDULE_FORMAT {
        c.fail("file", format!("format is {:?}, expected {SCHEDULE_FORMAT:?}", s.format));
    }
    check(&s.timetable(), Some(&s.staleness), c)
}

/// Checks the rules of the module docs that concern where and when things run (2–6, and
/// the header's hardware, period and task ids): everything but the file's `format` and
/// its stored staleness. For a timed placement that is not a file yet.
///
/// ```
/// use spikepipe_ir::{verify_timetable, AsTimetable, Schedule};
/// let mut s = Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap();
/// s.staleness.clear(); // not a file's business here
/// assert!(verify_timetable(&s.timetable()).is_ok());
/// s.period_cycles = 0;
/// assert!(verify_timetable(&s.timetable()).is_err());
/// ```
pub fn verify_timetable(s: &impl AsTimetable) -> Result<(), Violations> {
    check(&s.timetable(), None, Checker { found: Vec::new() })
}

fn check(s: &Timetable<'_>, staleness: Option<&[LayerStaleness]>, mut c: Checker) -> Result<(), Violations> {
    if !check_header(s, &mut c) {
        return Err(Violations(c.found));
    }
    let chunks_ok = check_chunks(s, &mut c);
    if chunks_ok {
        check_reductions(s, &mut c);
        check_dependences(s, &mut c);
        check_transfers(s, &mut c);
        check_resources(s, &mut c);
        if let Some(stored) = staleness {
            check_staleness(s, stored, &mut c);
        }
    }
    if c.found.is_empty() {
        Ok(())
    } else {
        Err(Violations(c.found))
    }
}

/// The hardware, the period and the task ids; false if a later check could not run.
fn check_header(s: &Timetable<'_>, c: &mut Checker) -> bool {
    if s.hardware.processors == 0 || s.hardware.processors > u32::MAX as u64 {
        c.fail("hardware", format!("processors is {}, must be in 1..2^32", s.hardware.processors));
    }
    if s.hardware.link.bytes_per_cycle == 0 {
        c.fail("hardware", "link.bytes_per_cycle is 0");
    }
    if s.period_cycles == 0 {
        c.fail("file", "period_cycles is 0");
    }
    let mut seen = HashMap::new();
    for (i, t) in s.tasks.iter().enumerate() {
        if let Some(j) = seen.insert(t.id.as_str(), i) {
            c.fail(&t.id, format!("task id appears twice (tasks {j} and {i})"));
        }
    }
    for e in s.edges {
        for id in [&e.from, &e.to] {
            if !seen.contains_key(id.as_str()) {
                c.fail(format!("edge {}→{}", e.from, e.to), format!("unknown task {id}"));
            }
        }
    }
    c.found.is_empty()
}

fn check_chunks(s: &Timetable<'_>, c: &mut Checker) -> bool {
    let before = c.found.len();
    let p = s.hardware.processors;
    for t in s.tasks {
        if t.chunks.is_empty() {
            c.fail(&t.id, "task has no chunks: its work is never done");
            continue;
        }
        for (i, ch) in t.chunks.iter().enumerate() {
            let at = format!("{}[{i}]", t.id);
            if ch.processor as u64 >= p {
                c.fail(&at, format!("processor {} out of range 0..{p}", ch.processor));
            }
            if ch.cycles == 0 {
                c.fail(&at, "chunk has 0 cycles");
            }
            if ch.cycles > s.period_cycles {
                c.fail(
                    &at,
                    format!("chunk takes {} cycles, longer than the period {}", ch.cycles, s.period_cycles),
                );
            }
            if ch.samples[0] >= ch.samples[1] || ch.samples[1] > s.batch {
                c.fail(&at, format!("samples {:?} not a non-empty range within 0..{}", ch.samples, s.batch));
            }
            if ch.start.checked_add(ch.cycles).is_none() {
                c.fail(&at, "start + cycles overflows");
            }
        }
        check_coverage(t, s.batch, c);
    }
    c.found.len() == before
}

fn check_coverage(t: &crate::ScheduledTask, batch: u64, c: &mut Checker) {
    let dim = t.chunks[0].range.dim;
    if t.chunks.iter().any(|ch| ch.range.dim != dim) {
        c.fail(&t.id, "chunks split along different dimensions");
        return;
    }
    let Some(size) = dim.size(&t.work) else {
        c.fail(&t.id, format!("dimension {dim:?} does not exist for this task's work"));
        return;
    };
    if t.chunks.iter().any(|ch| ch.range.rows.is_some()) {
        check_tiles(t, size, batch, c);
        return;
    }
    let mut ranges: Vec<(u64, u64, usize)> =
        t.chunks.iter().enumerate().map(|(i, ch)| (ch.range.start, ch.range.end, i)).collect();
    ranges.sort_unstable();
    let mut next = 0;
    for &(a, b, i) in &ranges {
        if a != next {
            let what = if a < next { "overlaps the previous chunk" } else { "leaves a gap before it" };
            c.fail(format!("{}[{i}]", t.id), format!("range {a}..{b} {what} (expected start {next})"));
        }
        if b <= a {
            c.fail(format!("{}[{i}]", t.id), format!("empty range {a}..{b}"));
        }
        next = next.max(b);
    }
    if next != size {
        c.fail(&t.id, format!("chunks cover 0..{next} of {dim:?}, but the work has {size}"));
    }
}

/// Tiles (chunks with `rows`, cut along N) of a GEMM: each inside the work, on whole
/// samples and naming them (dependences are found by samples), no two overlapping, and
/// together as large as the whole — so they cover it exactly once.
fn check_tiles(t: &crate::ScheduledTask, size: u64, batch: u64, c: &mut Checker) {
    let crate::Work::Gemm { m, .. } = t.work else {
        c.fail(&t.id, "rows given, but the work is not a GEMM");
        return;
    };
    if t.chunks[0].range.dim != crate::SplitDim::N {
        c.fail(&t.id, "rows given on a cut that is not along N");
        return;
    }
    let rect = |ch: &crate::Chunk| (ch.range.row_span(m), [ch.range.start, ch.range.end]);
    // M runs over samples (then time steps and positions): `m / batch` rows each.
    let per_sample = (m / batch.max(1)).max(1);
    let whole_samples = m % batch.max(1) == 0;
    let mut area = 0u128;
    for (i, ch) in t.chunks.iter().enumerate() {
        let (r, n) = rect(ch);
        if r[0] >= r[1] || r[1] > m || n[0] >= n[1] || n[1] > size {
            c.fail(
                format!("{}[{i}]", t.id),
                format!("tile rows {r:?} × columns {n:?} not within {m} × {size}"),
            );
            return;
        }
        let samples = [r[0] / per_sample, r[1] / per_sample];
        if !whole_samples || r[0] % per_sample != 0 || r[1] % per_sample != 0 || ch.samples != samples {
            c.fail(
                format!("{}[{i}]", t.id),
                format!("tile rows {r:?} are not the rows of whole samples {:?}", ch.samples),
            );
            return;
        }
        area += u128::from(r[1] - r[0]) * u128::from(n[1] - n[0]);
        for (j, other) in t.chunks.iter().enumerate().take(i) {
            let (r2, n2) = rect(other);
            if r[0] < r2[1] && r2[0] < r[1] && n[0] < n2[1] && n2[0] < n[1] {
                c.fail(format!("{}[{i}]", t.id), format!("tile overlaps {}[{j}]", t.id));
                return;
            }
        }
    }
    if area != u128::from(m) * u128::from(size) {
        c.fail(&t.id, format!("tiles cover {area} of the {m} × {size} work"));
    }
}

/// Partial sums from several processors must be summed by element-wise consumers, each
/// chunk of which pays for it in `reduce_cycles`.
fn check_reductions(s: &Timetable<'_>, c: &mut Checker) {
    for u in s.tasks.iter().filter(|u| partials(u) > 1) {
        for e in s.edges.iter().filter(|e| e.kind == EdgeKind::Data && e.from == u.id) {
            if s.task(&e.to).is_some_and(|v| !matches!(v.work, crate::Work::Elementwise { .. })) {
                c.fail(
                    &u.id,
                    format!("split along K over several processors, but {} cannot sum partial sums", e.to),
                );
            }
        }
    }
    for (v, owed) in s.tasks.iter().zip(expected_reduce_cycles_per_chunk(s)) {
        for ((i, ch), &want) in v.chunks.iter().enumerate().zip(&owed) {
            if ch.reduce_cycles != want {
                c.fail(
                    format!("{}[{i}]", v.id),
                    format!(
                        "reduce_cycles is {}, expected {want} for the partial sums it receives",
                        ch.reduce_cycles
                    ),
                );
            } else if ch.reduce_cycles >= ch.cycles {
                c.fail(format!("{}[{i}]", v.id), "reduce_cycles must be less than the chunk's cycles");
            }
        }
    }
}

fn check_dependences(s: &Timetable<'_>, c: &mut Checker) {
    let transfers: HashMap<(usize, usize, u32), &crate::Transfer> =
        s.transfers.iter().map(|t| ((t.edge, t.from_chunk, t.dst), t)).collect();
    let tasks = s.task_index();
    for (ei, e) in s.edges.iter().enumerate() {
        if e.kind != EdgeKind::Data {
            continue;
        }
        let (Some(u), Some(v)) = (tasks.get(&e.from), tasks.get(&e.to)) else { continue };
        for (ui, cu) in u.chunks.iter().enumerate() {
            for (vi, cv) in v.chunks.iter().enumerate() {
                if !samples_overlap(cu.samples, cv.samples) {
                    continue;
                }
                let ready = if cu.processor == cv.processor {
                    Some(cu.end())
                } else {
                    transfers.get(&(ei, ui, cv.processor)).map(|t| t.end())
                };
                match ready {
                    Some(r) if cv.start < r => c.fail(
                        format!("{}[{vi}]", v.id),
                        format!(
                            "dependence on {}[{ui}] broken: starts at {} but its input is ready at {r}",
                            u.id, cv.start
                        ),
                    ),
                    None => c.fail(
                        format!("{}[{vi}]", v.id),
                        format!(
                            "dependence on {}[{ui}] broken: no transfer from p{} to p{}",
                            u.id, cu.processor, cv.processor
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}

fn check_transfers(s: &Timetable<'_>, c: &mut Checker) {
    let need: BTreeMap<(usize, usize, u32), u64> =
        required_transfers(s).into_iter().map(|(e, ch, dst, b)| ((e, ch, dst), b)).collect();
    let mut seen = BTreeMap::new();
    let tasks = s.task_index();
    for (i, t) in s.transfers.iter().enumerate() {
        let at = format!("transfer {i}");
        let Some(e) = s.edges.get(t.edge) else {
            c.fail(at, format!("edge {} out of range", t.edge));
            continue;
        };
        let at = format!("transfer {i} ({}[{}]→p{})", e.from, t.from_chunk, t.dst);
        if seen.insert((t.edge, t.from_chunk, t.dst), i).is_some() {
            c.fail(&at, "duplicate transfer");
        }
        let Some(bytes) = need.get(&(t.edge, t.from_chunk, t.dst)) else {
            c.fail(&at, "not needed by any consumer chunk");
            continue;
        };
        let Some(cu) = tasks.get(&e.from).and_then(|u| u.chunks.get(t.from_chunk)) else { continue };
        if t.src != cu.processor {
            c.fail(&at, format!("src p{} but the producing chunk runs on p{}", t.src, cu.processor));
        }
        if t.start.checked_add(t.cycles).is_none() {
            c.fail(&at, "start + cycles overflows");
        }
        if t.bytes != *bytes {
            c.fail(&at, format!("moves {} bytes, expected {bytes}", t.bytes));
        }
        if t.cycles != s.hardware.transfer_cycles(t.bytes) {
            c.fail(
                &at,
                format!("takes {} cycles, expected {}", t.cycles, s.hardware.transfer_cycles(t.bytes)),
            );
        }
        if t.cycles > s.period_cycles {
            c.fail(&at, format!("takes {} cycles, longer than the period {}", t.cycles, s.period_cycles));
        }
        if t.start < cu.end() {
            c.fail(&at, format!("starts at {} before its producing chunk ends at {}", t.start, cu.end()));
        }
    }
}

/// Checks that intervals `(start, len, name)` do not overlap modulo `period`.
fn check_modulo(items: &[(u64, u64, String)], period: u64, place: &str, c: &mut Checker) {
    let mut segs: Vec<(u64, u64, usize)> = Vec::new();
    for (i, &(start, len, _)) in items.iter().enumerate() {
        let a = start % period;
        let b = a.saturating_add(len);
        if b <= period {
            segs.push((a, b, i));
        } else {
            segs.push((a, period, i));
            segs.push((0, (b - period).min(period), i));
        }
    }
    segs.sort_unstable();
    for w in segs.windows(2) {
        let ((_, b0, i0), (a1, _, i1)) = (w[0], w[1]);
        if a1 < b0 && i0 != i1 {
            c.fail(place, format!("{} and {} overlap modulo the period {period}", items[i0].2, items[i1].2));
        }
    }
}

/// Named intervals `(start, length, name)` of one resource.
type Intervals = Vec<(u64, u64, String)>;

fn check_resources(s: &Timetable<'_>, c: &mut Checker) {
    let mut per_proc: BTreeMap<u32, Intervals> = BTreeMap::new();
    for t in s.tasks {
        for (i, ch) in t.chunks.iter().enumerate() {
            per_proc.entry(ch.processor).or_default().push((ch.start, ch.cycles, format!("{}[{i}]", t.id)));
        }
    }
    for (p, items) in &per_proc {
        check_modulo(items, s.period_cycles, &format!("p{p}"), c);
    }
    let mut per_link: BTreeMap<(u32, u32), Intervals> = BTreeMap::new();
    for (i, t) in s.transfers.iter().enumerate() {
        per_link.entry((t.src, t.dst)).or_default().push((t.start, t.cycles, format!("transfer {i}")));
    }
    for ((a, b), items) in &per_link {
        check_modulo(items, s.period_cycles, &format!("link p{a}→p{b}"), c);
    }
}

fn check_staleness(s: &Timetable<'_>, stored: &[LayerStaleness], c: &mut Checker) {
    let recomputed = compute_staleness(s);
    if recomputed != stored {
        for (want, got) in recomputed.iter().zip(stored.iter().chain(std::iter::repeat(&want_none()))) {
            if want != got {
                c.fail(
                    format!("layer {}", want.layer),
                    format!(
                        "staleness in the file ({}) differs from the one the starts give ({})",
                        describe(got),
                        describe(want)
                    ),
                );
            }
        }
        if stored.len() != recomputed.len() {
            c.fail("staleness", format!("{} layers listed, expected {}", stored.len(), recomputed.len()));
        }
    }
}

/// `s = 2, s′ = 1` (or `s = 2, no input gradient`), as the file's readers write it.
fn describe(l: &crate::LayerStaleness) -> String {
    let s = if l.forward == u64::MAX { "missing".to_string() } else { l.forward.to_string() };
    match l.input_grad {
        Some(g) => format!("s = {s}, s′ = {g}"),
        None => format!("s = {s}, no input gradient"),
    }
}

fn want_none() -> crate::LayerStaleness {
    crate::LayerStaleness { layer: 0, forward: u64::MAX, input_grad: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChunkRange, SplitDim};

    /// The two-task schedule with F₁ (1 600 rows × 128 columns, 25 rows per sample) cut
    /// into `tiles` of (rows, columns), run one after another on its one processor.
    fn tiled(tiles: &[([u64; 2], [u64; 2])]) -> Schedule {
        let mut s = Schedule::from_json(include_str!("../tests/data/two-tasks.json")).unwrap();
        let f = &mut s.tasks[0];
        let template = f.chunks[0].clone();
        let each = f.cycles / tiles.len() as u64;
        f.chunks = tiles
            .iter()
            .enumerate()
            .map(|(i, &(rows, [a, b]))| crate::Chunk {
                start: each * i as u64,
                cycles: each,
                range: ChunkRange { rows: Some(rows), ..ChunkRange::along(SplitDim::N, a, b) },
                samples: [rows[0] / 25, rows[1].div_ceil(25)],
                ..template.clone()
            })
            .collect();
        s
    }

    #[test]
    fn tiles_that_cover_a_gemm_once_pass_and_overlaps_or_gaps_fail() {
        let four =
            [([0, 800], [0, 64]), ([0, 800], [64, 128]), ([800, 1600], [0, 64]), ([800, 1600], [64, 128])];
        assert!(verify_schedule(&tiled(&four)).is_ok(), "{:?}", verify_schedule(&tiled(&four)));
        let mut overlap = four;
        overlap[2].0 = [700, 1600];
        let e = verify_schedule(&tiled(&overlap)).unwrap_err().to_string();
        assert!(e.contains("F1[2]") && e.contains("tile overlaps F1[0]"), "{e}");
        let e = verify_schedule(&tiled(&four[..3])).unwrap_err().to_string();
        assert!(e.contains("tiles cover 153600 of the 1600 × 128 work"), "{e}");
        let mut forged = tiled(&four);
        forged.tasks[0].chunks[1].samples = [0, 1];
        let e = verify_schedule(&forged).unwrap_err().to_string();
        assert!(e.contains("F1[1]") && e.contains("not the rows of whole samples [0, 1]"), "{e}");
        let mut outside = four;
        outside[3].1 = [64, 129];
        let e = verify_schedule(&tiled(&outside)).unwrap_err().to_string();
        assert!(e.contains("not within 1600 × 128"), "{e}");
    }
}
