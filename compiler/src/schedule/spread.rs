//! A candidate between data parallelism and the fine-grained cuts: every task spread
//! over all processors (or half of them), as in data parallelism, but each GEMM cut
//! along whichever of its dimensions (samples, M or N) times best (under the staleness
//! cap, if there is one).
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
//! processors); it repeats until no change helps or the work budget is spent. Tasks
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

use spikepipe_ir::{SolverInfo, Task};

use super::candidates::{timed, Candidate};
use super::split::{even_ranges_along, gemm_dims};
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
    // Per task: its cuts over all processors, then over either half.
    let options: Vec<(usize, Vec<Vec<PlacedChunk>>)> = p
        .tasks()
        .map(|t| {
            let mut o = cuts(p, t, &procs);
            let wide = o.len();
            if half >= 1 {
                o.extend(cuts(p, t, &procs[..half]));
                o.extend(cuts(p, t, &procs[half..]));
            }
            (wide, o)
        })
        .collect();
    let chunks = options.iter().map(|(_, o)| o[0].len() as u64).sum::<u64>().max(1);
    let placement = |choice: &[usize]| Placement {
        chunks: options.iter().zip(choice).map(|((_, o), &c)| o[c].clone()).collect(),
    };
    let time = |choice: &[usize]| {
        let schedule = timed(p, &placement(choice), method, solver.clone(), cap);
        Candidate { what: describe(p, &options, choice), schedule }
    };
    let mut choice = vec![0usize; options.len()];
    let mut best = time(&choice);
    let mut key = refine::key(&best, cap);
    let mut spent = TIMING_VISITS * chunks;
    // The cuts over all processors first, to the end: they are where most of the gain
    // is, and a spent budget then cuts short only the halves.
    for halves in [false, true] {
        let mut improved = true;
        while improved && spent < work {
            improved = false;
            for t in 0..options.len() {
                let (wide, o) = &options[t];
                for c in 0..if halves { o.len() } else { *wide } {
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
                        let k = refine::key(&cand, cap);
                        if k < key && spikepipe_ir::verify_timetable(&cand.schedule).is_ok() {
                            (best, key, improved) = (cand, k, true);
                            continue;
                        }
                    }
                    choice[t] = old;
                }
            }
        }
    }
    choice.iter().any(|&c| c != 0).then_some(best)
}

/// `spread, F1 by N, W3 by K on p4–p7`: the tasks not cut by samples over all processors,
/// their dimension, and their processors when they use half of them.
fn describe(p: &Problem, options: &[(usize, Vec<Vec<PlacedChunk>>)], choice: &[usize]) -> String {
    let cut: Vec<String> = p
        .tasks()
        .zip(options.iter().zip(choice))
        .filter(|(_, (_, &c))| c != 0)
        .map(|(t, ((_, o), &c))| {
            let chunks = &o[c];
            let (first, last) = (chunks[0].processor, chunks[chunks.len() - 1].processor);
            let on = match (chunks.len() == o[0].len(), first == last) {
                (true, _) => String::new(),
                (false, true) => format!(" on p{first}"),
                (false, false) => format!(" on p{first}–p{last}"),
            };
            match chunks[0].range.dim {
                spikepipe_ir::SplitDim::Whole => format!("{} whole{on}", t.id()),
                dim => format!("{} by {dim:?}{on}", t.id()),
            }
        })
        .collect();
    if cut.is_empty() {
        format!("{NAME}, by samples")
    } else {
        format!("{NAME}, {}", cut.join(", "))
    }
}
