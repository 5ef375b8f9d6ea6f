//! A candidate between data parallelism and the fine-grained cuts: every task spread
//! over all processors (or half of them), as in data parallelism, but each GEMM cut
//! along whichever of its dimensions (samples, M or N) times best (under the staleness
//! cap, if there is one), or a forward or input-gradient GEMM into tiles of sample
//! groups × column slices.
//!
//! Data parallelism cuts every GEMM by samples. For a weight gradient that is its
//! reduction dimension, so the partial sums must be added and exchanged over the links;
//! and on a systolic array a sample slice streams fewer rows through every weight fold,
//! so the array's fill is paid once per slice. Cutting along the weights' rows or
//! columns instead (M or N) needs no reduction and pays the fill once per fold, at the
//! price of gathering the cut output for the next task. Which is cheaper depends on the
//! task and the machine, so [`spread`] decides task by task: starting from data
//! parallelism, it tries each task along each other dimension, over all processors or
//! either half of them (two tasks that do not depend on each other can then run side by
//! side), timed under the cap as the candidates are, and keeps a change when it lowers
//! (misses the cap, period, largest staleness, summed staleness, bytes between
//! processors); it repeats until no change helps or the work budget is spent. Then it
//! tries tiles the same way, on a budget of their own, where a tile's largest chunk is
//! shorter than every one-way cut's. Each of these two passes ends with one move of
//! every task at once to its cut with the shortest longest chunk: a large model spends
//! the budget before the loop reaches its last layers (VGG-16 on sa128-ws at P = 16 and
//! staleness 0: 2 328 055 → 1 898 322 cycles). Tasks
//! still follow one another across the machine, so an iteration stays as short as data
//! parallelism's: under `--max-staleness 0` the result is a synchronous schedule, trained
//! exactly like data parallelism, in a shorter period.
//!
//! Measured (`spikepipe compile models/mlp-fmnist.yaml --hardware models/hw/sa32-ws.yaml
//! -p 8 --max-staleness 0`, 2026-12-06): 962 291 cycles (data parallelism) → 852 642,
//! with F₁, W₁, F₂, G₂ and W₂ cut along N (895 378, without F₂ and G₂, while the traffic
//! model still charged a column slice feeding a sample slice P times its shared block).
//!
//! ```
//! use spikepipe_compiler::schedule::{spread, Outcome, Placement, Problem};
//! use spikepipe_compiler::{cost::Systolic, load_specs, lower_and_cost};
//! let specs = load_specs("../models/mlp-fmnist.yaml".as_ref(), Some("../models/hw/sa32-ws.yaml".as_ref()), Some(8)).unwrap();
//! let graph = lower_and_cost(&specs);
//! let cost = Systolic::new(&specs.hardware);
//! let p = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
//! let solver = Outcome::feasible(Placement { chunks: vec![] }, "doc").solver;
//! let c = spread::spread(&p, "doc", &solver, Some(0), spread::WORK).expect("a better cut than data parallelism");
//! assert_eq!(spikepipe_ir::staleness_of(&c.schedule).0, 0);
//! assert!(c.schedule.period_cycles < 962_291);
//! ```

use spikepipe_ir::{ChunkRange, SolverInfo, SplitDim, Task, TaskKind, Work};

use super::candidates::{timed, Candidate};
use super::split::{even_ranges_along, gemm_dims, sample_ranges};
use super::timed::draft;
use super::timing::min_period;
use super::{refine, stages, PlacedChunk, Placement, Problem};

/// What one search may spend, in chunk visits: a timing costs [`TIMING_VISITS`] per chunk
/// (about 150 timings of mlp-fmnist at P = 8, a fifth of a second here).
pub const WORK: u64 = 600_000;

/// How its candidates' descriptions start.
pub const NAME: &str = "spread";

/// Chunk visits charged per chunk for one capped timing (as the refinement charges).
const TIMING_VISITS: u64 = 30;

/// The ways to cut `t` over `procs`: by samples first (data parallelism's cut), then
/// along each dimension a GEMM may be cut along; duplicates dropped. (The search also
/// offers each over either half of the processors, so that two tasks that do not
/// depend on each other can run side by side.)
fn cuts(p: &Problem, t: &Task, procs: &[u32]) -> Vec<Vec<PlacedChunk>> {
    let mut out = vec![stages::split_by_samples(p, t, procs)];
    for (dim, unit) in gemm_dims(p, t) {
        let size = dim.size(&t.work).unwrap_or(1);
        let chunks = stages::chunks_on(p, t, even_ranges_along(dim, size, unit, procs.len() as u64), procs);
        if !out.contains(&chunks) {
            out.push(chunks);
        }
    }
    out
}

/// [`tiles`] of `t` over `procs` whose largest chunk is shorter than that of every cut in
/// `one_way` (the cuts along one dimension over the same processors).
fn shorter_tiles(
    p: &Problem,
    t: &Task,
    procs: &[u32],
    one_way: &[Vec<PlacedChunk>],
) -> Vec<Vec<PlacedChunk>> {
    let shortest = one_way.iter().map(|c| longest(c)).min().unwrap_or(0);
    tiles(p, t, procs).into_iter().filter(|c| longest(c) < shortest).collect()
}

/// Cycles of the longest of a cut's chunks.
fn longest(cut: &[PlacedChunk]) -> u64 {
    cut.iter().map(|c| c.cycles).max().unwrap_or(0)
}

/// `t` cut into tiles of sample groups × column slices, one per processor, for every way
/// to write `procs.len()` as (column slices ≥ 2) × (sample groups ≥ 2): forward and
/// input-gradient GEMMs only, whose rows run over samples. On a 128×128 array a sample
/// slice of mlp-fmnist's F₁ (3 200 × 784 × 500) streams 200 rows through all 28 weight
/// folds, paying each fold's fill for 200 rows of work; a column slice holds one of
/// its 4 column folds but still streams 3 200 rows, and there are only 4 of them; a
/// tile of 800 rows × 1 column fold does 7 folds of 800 rows.
fn tiles(p: &Problem, t: &Task, procs: &[u32]) -> Vec<Vec<PlacedChunk>> {
    let Work::Gemm { m, k, n } = t.work else { return vec![] };
    if !matches!(t.kind, TaskKind::Forward | TaskKind::InputGrad | TaskKind::Recompute) {
        return vec![];
    }
    let unit = p.cost.split_unit(m, k, n, SplitDim::N);
    let k_procs = procs.len() as u64;
    let mut out = Vec::new();
    for slices in (2..=k_procs / 2).filter(|&a| k_procs.is_multiple_of(a)) {
        let columns = even_ranges_along(SplitDim::N, n, unit, slices);
        let groups = sample_ranges(p, t, SplitDim::M, k_procs / slices);
        if columns.len() < 2 || groups.len() < 2 {
            continue;
        }
        let ranges: Vec<ChunkRange> = groups
            .iter()
            .flat_map(|g| columns.iter().map(move |c| ChunkRange { rows: Some([g.start, g.end]), ..*c }))
            .collect();
        out.push(stages::chunks_on(p, t, ranges, procs));
    }
    out
}

/// The best per-task choice of cuts found from data parallelism, timed under `cap`;
/// `None` if no change beat data parallelism itself (already a candidate).
pub fn spread(
    p: &Problem,
    method: &str,
    solver: &SolverInfo,
    cap: Option<u64>,
    work: u64,
) -> Option<Candidate> {
    let procs = stages::data_parallel(p).remove(0).processors;
    let half = procs.len() / 2;
    let sides: Vec<&[u32]> = if half >= 1 { vec![&procs[..half], &procs[half..]] } else { vec![] };
    // Per task: its cuts over all processors, then over either half, then its tiles over
    // all processors and either half.
    let options: Vec<Options> = p
        .tasks()
        .map(|t| {
            let mut o = cuts(p, t, &procs);
            let wide = o.len();
            let mut tiled = shorter_tiles(p, t, &procs, &o);
            for side in &sides {
                let one_way = cuts(p, t, side);
                tiled.extend(shorter_tiles(p, t, side, &one_way));
                o.extend(one_way);
            }
            let one_way = o.len();
            o.extend(tiled);
            Options { wide, one_way, cuts: o }
        })
        .collect();
    let chunks = options.iter().map(|o| o.cuts[0].len() as u64).sum::<u64>().max(1);
    let placement = |choice: &[usize]| Placement {
        chunks: options.iter().zip(choice).map(|(o, &c)| o.cuts[c].clone()).collect(),
    };
    let time = |choice: &[usize]| {
        let schedule = timed(p, &placement(choice), method, solver.clone(), cap);
        Candidate { what: describe(p, &options, choice), schedule }
    };
    let mut choice = vec![0usize; options.len()];
    let mut best = time(&choice);
    let mut key = refine::key(&best, cap);
    // The cuts over all processors first, to the end: they are where most of the gain
    // is, and a spent budget then cuts short only the halves. Tiles come last, on a
    // budget of their own, so they can only improve on what the one-way cuts reached
    // (a shared budget left the VGGs' many tasks untried and their periods up to 1.3×
    // longer).
    let mut spent = TIMING_VISITS * chunks;
    for pass in [Pass::Wide, Pass::Halves, Pass::Tiles] {
        // Tiles: the tasks whose tiles shorten their longest chunk most go first, so a
        // budget spent on a large model (VGG-16 at P = 16 affords about 15 timings)
        // goes to the tiles that matter.
        let order = if pass == Pass::Tiles {
            spent = TIMING_VISITS * chunks;
            by_tile_gain(&options, &choice)
        } else {
            (0..options.len()).collect()
        };
        let mut improved = true;
        while improved && spent < work {
            improved = false;
            for &t in &order {
                for c in options[t].tries(pass) {
                    if c == choice[t] || spent >= work {
                        continue;
                    }
                    let old = std::mem::replace(&mut choice[t], c);
                    // The loads and links bound every timing's period from below: a
                    // change that cannot keep the current period is not timed.
                    spent += chunks;
                    let drafted = draft(p, &placement(&choice), method, solver.clone());
                    if min_period(&drafted, p.cost) <= key.1 {
                        spent += TIMING_VISITS * chunks;
                        let cand = time(&choice);
                        if let Some(k) = improves(&cand, cap, key) {
                            (best, key, improved) = (cand, k, true);
                            continue;
                        }
                    }
                    choice[t] = old;
                }
            }
        }
        if pass != Pass::Halves {
            // Then every task at once to its cut of this pass with the shortest longest
            // chunk, if shorter than its own: at a cap of 0 the tasks follow one another,
            // so their gains mostly add up, and one timing tries them all. The budget
            // (about 15 timings a pass for VGG-16's 80 tasks at P = 16) runs out before
            // the loop above reaches most tasks of a large model.
            let all: Vec<usize> = (0..options.len())
                .map(|t| options[t].shortest(pass, choice[t]).unwrap_or(choice[t]))
                .collect();
            if all != choice {
                spent += TIMING_VISITS * chunks;
                let cand = time(&all);
                let period = cand.schedule.period_cycles;
                super::trace(format_args!(
                    "spread every task at once, {pass:?}: period {} -> {period}",
                    key.1
                ));
                if let Some(k) = improves(&cand, cap, key) {
                    (best, key, choice) = (cand, k, all);
                }
            }
        }
    }
    choice.iter().any(|&c| c != 0).then_some(best)
}

/// The key of `cand` if it beats `key` and its timetable verifies: the rule every move
/// of the search is kept by.
fn improves(cand: &Candidate, cap: Option<u64>, key: refine::Key) -> Option<refine::Key> {
    let k = refine::key(cand, cap);
    (k < key && spikepipe_ir::verify_timetable(&cand.schedule).is_ok()).then_some(k)
}

/// The tasks that have tiles, by how many cycles their best tile shortens the longest
/// chunk of their current cut (most first; ties by task order).
fn by_tile_gain(options: &[Options], choice: &[usize]) -> Vec<usize> {
    let mut gains: Vec<(u64, usize)> = options
        .iter()
        .enumerate()
        .filter(|(_, o)| !o.tries(Pass::Tiles).is_empty())
        .map(|(t, o)| {
            let now = longest(&o.cuts[choice[t]]);
            (o.shortest(Pass::Tiles, choice[t]).map_or(0, |b| now - longest(&o.cuts[b])), t)
        })
        .collect();
    gains.sort_by_key(|&(gain, t)| (std::cmp::Reverse(gain), t));
    gains.into_iter().map(|(_, t)| t).collect()
}

/// One task's ways to be cut: `cuts[..wide]` along one dimension over all processors,
/// `cuts[wide..one_way]` over either half, `cuts[one_way..]` tiles.
struct Options {
    wide: usize,
    one_way: usize,
    cuts: Vec<Vec<PlacedChunk>>,
}

/// The search's passes, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// One-way cuts over all processors.
    Wide,
    /// One-way cuts over all processors or either half.
    Halves,
    /// Tiles, on a budget of their own.
    Tiles,
}

impl Options {
    /// The cut of `pass` with the shortest longest chunk (the first on ties), if shorter
    /// than cut `current`'s.
    fn shortest(&self, pass: Pass, current: usize) -> Option<usize> {
        let best = self.tries(pass).min_by_key(|&c| (longest(&self.cuts[c]), c))?;
        (longest(&self.cuts[best]) < longest(&self.cuts[current])).then_some(best)
    }

    /// The cuts a pass tries.
    fn tries(&self, pass: Pass) -> std::ops::Range<usize> {
        match pass {
            Pass::Wide => 0..self.wide,
            Pass::Halves => 0..self.one_way,
            Pass::Tiles => self.one_way..self.cuts.len(),
        }
    }
}

/// `spread, F1 by N, W3 by K on p4–p7`: the tasks not cut by samples over all processors,
/// their dimension, and their processors when they use half of them.
fn describe(p: &Problem, options: &[Options], choice: &[usize]) -> String {
    let cut: Vec<String> = p
        .tasks()
        .zip(options.iter().zip(choice))
        .filter(|(_, (_, &c))| c != 0)
        .map(|(t, (o, &c))| {
            let chunks = &o.cuts[c];
            let (first, last) = (chunks[0].processor, chunks[chunks.len() - 1].processor);
            let on = match (chunks.len() == o.cuts[0].len(), first == last) {
                (true, _) => String::new(),
                (false, true) => format!(" on p{first}"),
                (false, false) => format!(" on p{first}–p{last}"),
            };
            match (chunks[0].range.dim, chunks[0].range.rows) {
                (SplitDim::Whole, _) => format!("{} whole{on}", t.id()),
                (SplitDim::N, Some(_)) => {
                    let slices = chunks.iter().filter(|c| c.range.rows == chunks[0].range.rows).count();
                    format!(
                        "{} in tiles of {slices} column slices × {} sample groups{on}",
                        t.id(),
                        chunks.len() / slices
                    )
                }
                (dim, _) => format!("{} by {dim:?}{on}", t.id()),
            }
        })
        .collect();
    if cut.is_empty() {
        format!("{NAME}, by samples")
    } else {
        format!("{NAME}, {}", cut.join(", "))
    }
}
