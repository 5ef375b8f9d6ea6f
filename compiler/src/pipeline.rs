//! The driver: runs the passes in order, like a recipe.

use std::time::Instant;

use spikepipe_ir::{staleness_of, Schedule, SolverInfo, SolverStatus, TaskGraph};

use crate::cost::{annotate, Systolic};
use crate::emit;
use crate::schedule::heuristic::Heuristic;
use crate::schedule::timed::Timed;
use crate::schedule::{candidates, cyclic, refine, scheduler, Method, Outcome, Problem, Scheduler};
use crate::{ScheduleError, Specs};

/// Options of one compilation.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Scheduling method.
    pub method: Method,
    /// Time limit of each ILP phase, seconds.
    pub time_limit: f64,
    /// Micro-batches for gpipe (default 4·P).
    pub micro_batches: Option<u64>,
    /// ILP solver backend: `microlp` (default) or `highs` (with the `highs` feature).
    pub solver: String,
    /// Write 0 as solver seconds so the file is byte-identical across runs.
    pub reproducible: bool,
    /// Largest staleness any layer may have (forward and input gradient). `heuristic` and
    /// `ilp` choose the fastest candidate that keeps it; `pipedream` and `layerwise` raise
    /// their period until they keep it. `None`: no limit.
    pub max_staleness: Option<u64>,
    /// Activation checkpointing (which layers recompute their forward during backward).
    pub recompute: crate::memory_fit::Recompute,
    /// Multiplier (1 to [`crate::options::MAX_ILP_EFFORT`]) of the ILP's branch-and-bound
    /// node budgets: more search, still reproducible (nodes, not seconds, end it).
    pub ilp_effort: u64,
    /// Period and staleness as one objective ([`crate::priced`]): the method's schedules
    /// uncapped and under every smaller cap are compared by period × (1 + c · largest
    /// staleness). `None`: the fastest schedule (fresher among periods within 0.1 %).
    pub staleness_cost: Option<f64>,
}

impl CompileOptions {
    /// Defaults for a method: 10 s time limit, microlp, gpipe with 4·P micro-batches.
    pub fn new(method: Method) -> CompileOptions {
        CompileOptions {
            method,
            time_limit: 10.0,
            micro_batches: None,
            solver: "microlp".into(),
            reproducible: false,
            max_staleness: None,
            recompute: Default::default(),
            ilp_effort: 1,
            staleness_cost: None,
        }
    }
    /// Limits every layer's staleness (see [`CompileOptions::max_staleness`]).
    pub fn with_max_staleness(mut self, cap: Option<u64>) -> Self {
        self.max_staleness = cap;
        self
    }
    /// Sets the ILP time limit in seconds.
    pub fn with_time_limit(mut self, seconds: f64) -> Self {
        self.time_limit = seconds;
        self
    }
    /// Writes 0 solver seconds.
    pub fn reproducible(mut self, yes: bool) -> Self {
        self.reproducible = yes;
        self
    }
}

/// Lowers a model to its task graph and costs every task (passes 2 and 3).
pub fn lower_and_cost(specs: &Specs) -> TaskGraph {
    lower_and_cost_with(specs, &[])
}

/// [`lower_and_cost`] with activation checkpointing on the given layers.
pub fn lower_and_cost_with(specs: &Specs, recompute: &[u32]) -> TaskGraph {
    let mut graph = crate::lower::lower_with(
        &specs.model.name,
        &specs.network,
        &specs.hardware.bits,
        specs.model.training.optimizer,
        recompute,
    );
    annotate(&mut graph, &Systolic::new(&specs.hardware));
    graph
}

/// Compiles specs to a verified schedule: lower, cost, schedule, time, emit (and, under
/// a memory cap, choose the layers to recompute: [`crate::memory_fit::with_recompute`]).
pub fn compile(specs: &Specs, opts: &CompileOptions) -> Result<Schedule, ScheduleError> {
    if let Some(cost) = opts.staleness_cost.filter(|_| !opts.method.is_synchronous()) {
        return crate::priced::compile_priced(specs, opts, cost);
    }
    crate::memory_fit::with_recompute(specs, opts, compile_with)
}

/// [`compile`] with activation checkpointing on exactly the layers `recompute`.
fn compile_with(specs: &Specs, opts: &CompileOptions, recompute: &[u32]) -> Result<Schedule, ScheduleError> {
    let graph = lower_and_cost_with(specs, recompute);
    let cost = Systolic::new(&specs.hardware);
    let problem = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
    let started = Instant::now();
    let fresh_ilp = opts.method == Method::Ilp && opts.max_staleness == Some(0);
    let (outcome, heuristic) = std::thread::scope(|threads| {
        // `ilp` ends by comparing its schedule with `heuristic`'s ([`ilp_or_better`]),
        // which needs nothing from the ILP: it runs on a thread of its own meanwhile.
        let heuristic = (opts.method == Method::Ilp && !fresh_ilp)
            .then(|| threads.spawn(|| Heuristic { max_staleness: opts.max_staleness }.schedule(&problem)));
        let outcome = if fresh_ilp {
            Heuristic { max_staleness: Some(0) }
                .schedule(&problem)
                .map(|h| ilp_at_staleness_0(h, &opts.solver))
        } else {
            scheduler(opts.method, opts).schedule(&problem)
        };
        (outcome, heuristic.map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))))
    });
    let outcome = outcome?;
    let cap = if opts.method.is_synchronous() { Some(0) } else { opts.max_staleness };
    let mut schedule = match outcome.timed {
        Some(s) => s,
        None => candidates::timed(&problem, &outcome.placement, opts.method.name(), outcome.solver, cap),
    };
    if let Some(heuristic) = heuristic {
        let heuristic = heuristic?.timed.expect("heuristic times its schedule");
        let cap = opts.max_staleness;
        schedule = ilp_or_better(&problem, schedule, heuristic, &outcome.alternatives, cap, opts.ilp_effort);
    }
    if let Some(cap) = cap.filter(|&c| staleness_of(&schedule).0 > c) {
        let what = format!("staleness ≤ {cap} not reached (best: {})", staleness_of(&schedule).0);
        schedule.solver.note = join_notes(schedule.solver.note.take(), what);
    }
    let staleness_cap = cap;
    if let Some(cap) = specs.hardware.memory_bytes {
        // Synchronous methods stay synchronous (staleness 0) while fitting.
        schedule = crate::memory_fit::fit_memory(&problem, schedule, cap, staleness_cap)?;
    }
    schedule.solver.seconds =
        if opts.reproducible { 0.0 } else { emit::round6(started.elapsed().as_secs_f64()) };
    emit::finish(&problem, specs, schedule)
}

pub(crate) fn join_notes(a: Option<String>, b: String) -> Option<String> {
    Some(match a {
        Some(a) => format!("{a}; {b}"),
        None => b,
    })
}

/// What the ILP's placement before its packing walk is called among the finalists.
const SOLVERS_OWN: &str = "ilp before packing";

/// What `heuristic`'s schedule is called among the ILP's finalists.
const HEURISTICS: &str = "the heuristic's schedule";

/// The ILP's schedule (re-timed under the cap if it misses it), or `heuristic`'s if that
/// is faster within the cap — the ILP's model cuts each GEMM along one fixed dimension
/// (M or N, never its reduction K) and element-wise tasks by samples or parameters, so
/// data-parallel, spread and replicated-stage candidates compete with it here — or
/// fresher at a period within 0.1 % ([`refine::NEAR_PERIOD`]) and no longer than
/// `heuristic`'s.
fn ilp_or_better(
    problem: &Problem,
    mut ilp: Timed,
    heuristic: Timed,
    alternatives: &[crate::schedule::Placement],
    cap: Option<u64>,
    effort: u64,
) -> Timed {
    if ilp.solver.status == SolverStatus::Fallback {
        return fallback(heuristic, ilp.solver);
    }
    if let Some(c) = cap.filter(|&c| staleness_of(&ilp).0 > c) {
        let placement = crate::schedule::Placement::of_timed(&ilp);
        let (solver, uncapped) = (ilp.solver.clone(), ilp.period_cycles);
        ilp = candidates::timed(problem, &placement, "ilp", solver, Some(c));
        // The bound the solver proved is on the period, so it is restated for the
        // stretched one (a longer period, so never below the bound: no note).
        let _ = restate_claim(&mut ilp.solver, uncapped, ilp.period_cycles);
    }
    let own = candidates::Candidate { what: "ilp".into(), schedule: ilp };
    // The ILP's placements are refined; `heuristic`'s schedule already is.
    let work = refine::WORK.saturating_mul(effort.max(1));
    let mut finalists = vec![(own.clone(), true)];
    // The solver's placement before the packing walk: slower uncapped, maybe fresher.
    finalists.extend(alternatives.iter().map(|a| {
        let schedule = candidates::timed(problem, a, "ilp", own.schedule.solver.clone(), cap);
        (candidates::Candidate { what: SOLVERS_OWN.into(), schedule }, true)
    }));
    let heuristic_note = heuristic.solver.note.clone().unwrap_or_default();
    let heuristic = Timed { method: "ilp".into(), solver: own.schedule.solver.clone(), ..heuristic };
    finalists.push((candidates::Candidate { what: HEURISTICS.into(), schedule: heuristic }, false));
    // Each finalist is refined on a thread of its own: they share nothing.
    let scored: Vec<_> = std::thread::scope(|threads| {
        let refining: Vec<_> = finalists
            .into_iter()
            .map(|(c, refine_it)| {
                threads.spawn(move || {
                    let r = if refine_it { refine::refine(problem, &c, cap, work) } else { None };
                    let key = refine::key(r.as_ref().unwrap_or(&c), cap);
                    (c, r, key)
                })
            })
            .collect();
        refining
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    // Periods within NEAR_PERIOD of the fastest count as equal: the fresher wins. Never
    // one slower than `heuristic`'s, which is a finalist: `ilp` is never slower than
    // `heuristic`, and at a period within 0.1 % of it never staler.
    let fastest =
        scored.iter().map(|(.., k)| (k.0, k.1)).min().expect("the ILP's own placement is a finalist");
    let heuristic = scored
        .iter()
        .find(|(c, ..)| c.what == HEURISTICS)
        .map(|(.., k)| (k.0, k.1))
        .filter(|h| h.0 == fastest.0)
        .map_or(u64::MAX, |h| h.1);
    let limit = refine::near_period(fastest.1).min(heuristic);
    let (winner, refined, _) = scored
        .into_iter()
        .min_by_key(|(c, r, _)| refine::fresh_key(r.as_ref().unwrap_or(c), cap, limit))
        .expect("the ILP's own placement is a finalist");
    let improved = refined.is_some();
    let mut s = refined.unwrap_or_else(|| winner.clone()).schedule;
    let mut notes = Vec::new();
    if winner.what != "ilp" {
        let (period, staleness) = (own.schedule.period_cycles, own.max_staleness());
        let own_misses_cap = cap.is_some_and(|c| staleness > c);
        let fresher = winner.schedule.period_cycles >= period && !own_misses_cap;
        let what = match winner.what.as_str() {
            SOLVERS_OWN => "the solver's placement before the packing walk".to_string(),
            _ => format!("{HEURISTICS} ({heuristic_note})"),
        };
        let over = if winner.what == SOLVERS_OWN { "the walk's" } else { "the ILP's own placement" };
        notes.push(if fresher {
            format!(
                "{what} wins over {over} (period {period}, staleness {staleness}): periods within 0.1 % count as equal and it is fresher"
            )
        } else if winner.what == SOLVERS_OWN {
            format!("{what} wins under the cap over {over} (period {period}, staleness {staleness})")
        } else {
            format!(
                "{what} beats {over} (period {period}, staleness {staleness}): it is outside the ILP's model, which cuts each GEMM along one fixed dimension and never along K"
            )
        });
    }
    if improved {
        notes.push(format!(
            "refined by chunk moves: period {} → {}, staleness (largest, summed) {:?} → {:?}",
            winner.schedule.period_cycles,
            s.period_cycles,
            staleness_of(&winner.schedule),
            staleness_of(&s)
        ));
    }
    // `heuristic`'s schedule is already freshened within its limit.
    if staleness_of(&s).0 > 0 && winner.what != HEURISTICS {
        let (before, period) = (staleness_of(&s), s.period_cycles);
        let c = candidates::Candidate { what: winner.what.clone(), schedule: s.clone() };
        if let Some(f) = refine::freshen(problem, &c, cap, limit.max(period), work) {
            s = f.schedule;
            let after = staleness_of(&s);
            notes.push(if after == before {
                format!(
                    "chunk moves at staleness (largest, summed) {before:?}: period {period} → {}, fewer bytes between processors",
                    s.period_cycles
                )
            } else {
                format!(
                    "freshened by chunk moves within 0.1 % of the fastest period: period {period} → {}, staleness (largest, summed) {before:?} → {after:?}",
                    s.period_cycles
                )
            });
        }
    }
    // After every step that may change the period (the reordering below keeps it).
    if s.period_cycles != own.schedule.period_cycles {
        if let Some(note) = restate_claim(&mut s.solver, own.schedule.period_cycles, s.period_cycles) {
            notes.push(note);
        }
    }
    if let Some(r) = cyclic::reorder(&s, problem.cost, cyclic::WORK.saturating_mul(effort.max(1))) {
        let (before, after) = (staleness_of(&s), staleness_of(&r));
        notes.push(if before == after {
            format!(
                "reordered within the period: staleness (largest, summed) {before:?} kept, iteration shorter"
            )
        } else {
            format!("reordered within the period: staleness (largest, summed) {before:?} → {after:?}")
        });
        s = r;
    }
    for what in notes {
        s.solver.note = join_notes(s.solver.note.take(), what);
    }
    s
}

/// `ilp` under `--max-staleness 0`: `heuristic`'s schedule, under the ILP's name.
///
/// Phase 1 minimises the period with no notion of how long an iteration runs, and at
/// staleness 0 every layer's whole iteration must fit in one period, so the cap's timing
/// stretches its placement far (mlp-digits, sa32-ws, P = 4: to 176 092 cycles, against
/// 35 661 for the spread candidate). Its placement timed under cap 0 never beat
/// `heuristic`'s candidates (0 of 18 rows of `bench/ilp_capped.sh`, 0 of 40 compiles of
/// `bench/default_objective.sh`), and a phase 1 that bounds each layer's iteration
/// latency was tried and timed no better (docs/scheduling.md, "The ILP under a staleness cap"),
/// so it is not run: the priced default compiles cap 0 on every `ilp` compile.
fn ilp_at_staleness_0(mut h: Outcome, solver: &str) -> Outcome {
    let why = "at a staleness cap of 0 the ILP's phase 1 is not run (its model has no notion of an iteration's length, and its placement timed at staleness 0 never beat the heuristic's candidates); the heuristic's schedule";
    let note = format!("{why}: {}", h.solver.note.take().unwrap_or_default());
    h.solver = SolverInfo { name: solver.to_string(), note: Some(note), ..h.solver };
    if let Some(t) = h.timed.as_mut() {
        t.method = "ilp".into();
        t.solver = h.solver.clone();
    }
    h
}

/// The ILP's fallback: `heuristic`'s schedule, as the solver's note says, under the
/// ILP's name and solver status, with both notes.
fn fallback(heuristic: Timed, solver: SolverInfo) -> Timed {
    let mut s = heuristic;
    s.method = "ilp".into();
    let note = join_notes(solver.note.clone(), s.solver.note.take().unwrap_or_default());
    s.solver = SolverInfo { note, ..solver };
    s
}

/// Restates the solver's claim for the schedule that won (period `period`) when the ILP
/// proved it for its own placement (period `own`). The proven bound holds for every
/// placement the ILP's model expresses, so for the winner the gap is
/// `(period − bound) / period`: optimal when that is within the MIP gap. A winner below
/// the bound is a placement outside the model, so the bound says nothing about it: the
/// status becomes `feasible` with no gap, and the returned note says why.
fn restate_claim(solver: &mut SolverInfo, own: u64, period: u64) -> Option<String> {
    let bound = own as f64 * (1.0 - solver.gap?);
    let claimed = matches!(solver.status, SolverStatus::Optimal | SolverStatus::TimeLimit);
    // One cycle of slack for floating-point error in the reconstructed bound.
    if (period as f64) < bound - 1.0 {
        solver.gap = None;
        if claimed {
            solver.status = SolverStatus::Feasible;
        }
        return Some(format!(
            "period {period} is below the bound {} the ILP proved for the placements its model expresses, so no optimality gap is claimed",
            bound.round()
        ));
    }
    let gap = emit::round6((1.0 - bound / period as f64).max(0.0));
    solver.gap = Some(gap);
    if claimed && gap <= crate::schedule::ilp::MIP_GAP {
        solver.status = SolverStatus::Optimal;
    } else if solver.status == SolverStatus::Optimal {
        // A fresher winner more than the gap above the bound: no longer proven.
        solver.status = SolverStatus::Feasible;
    }
    None
}
