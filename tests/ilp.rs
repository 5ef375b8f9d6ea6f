//! The ILP's contract beyond optimality on tiny models (tests/schedules.rs): the same
//! input gives the same schedule file, it never returns worse than the heuristic, its
//! notes are plain words, phase 2 honours a staleness cap, and the paper's
//! communication metric is computed as documented (docs/comm-metric.md).

mod common;

use spikepipe_compiler::cost::Systolic;
use spikepipe_compiler::schedule::ilp::{reorder, Budget, Reordered, MIP_GAP, ORDER_NODES};
use spikepipe_compiler::schedule::{scheduler, Problem};
use spikepipe_compiler::{compile, load_specs, lower_and_cost, CompileOptions, Method, Specs};
use spikepipe_ir::{staleness_of, verify_schedule, verify_timetable, Schedule, SolverStatus};

use common::root;

fn specs_for(model: &str, hw: &str, p: u64) -> Specs {
    load_specs(&root().join(model), Some(&root().join(hw)), Some(p))
        .unwrap_or_else(|e| panic!("{model} on {hw}: {e}"))
}

fn ilp(specs: &Specs, limit: f64) -> Schedule {
    ilp_with_effort(specs, limit, 1)
}

fn ilp_with_effort(specs: &Specs, limit: f64, effort: u64) -> Schedule {
    let mut opts = CompileOptions::new(Method::Ilp).with_time_limit(limit).reproducible(true);
    opts.ilp_effort = effort;
    let s = compile(specs, &opts).expect("ilp compiles");
    verify_schedule(&s).expect("the ILP's schedule verifies");
    s
}

/// Node budgets, not the clock, end these solves (a generous clock), so two runs agree
/// byte for byte.
#[test]
fn reproducible_ilp_files_are_byte_identical() {
    for (model, hw, p) in [
        ("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 2),
        ("models/mlp-digits.yaml", "models/hw/sa128-ws.yaml", 8),
    ] {
        let specs = specs_for(model, hw, p);
        let (a, b) = (ilp(&specs, 120.0), ilp(&specs, 120.0));
        assert!(a.to_json() == b.to_json(), "{model} {hw} P={p}: two ILP runs differ");
        assert!(
            !a.solver.note.as_deref().unwrap_or_default().contains("wall-clock"),
            "{model} {hw} P={p}: the clock should not stop these solves: {:?}",
            a.solver
        );
    }
}

#[test]
fn ilp_is_never_worse_than_the_heuristic_and_speaks_plainly() {
    for (model, hw, p) in [
        ("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4),
        ("models/mlp-fmnist.yaml", "models/hw/sa128-ws.yaml", 4),
        ("models/cnn-fmnist.yaml", "models/hw/sa128-ws.yaml", 8),
    ] {
        let specs = specs_for(model, hw, p);
        let h = compile(&specs, &CompileOptions::new(Method::Heuristic)).expect("heuristic");
        // A tight clock: whatever stops the search, the result is valid and no worse.
        let s = ilp(&specs, 1.0);
        assert!(
            s.period_cycles <= h.period_cycles,
            "{model} P={p}: ilp {} > heuristic {}",
            s.period_cycles,
            h.period_cycles
        );
        let note = s.solver.note.clone().unwrap_or_default();
        for internal in ["Singular", "singular", "Time limit reached", "InternalError", "unexpected"] {
            assert!(!note.contains(internal), "{model} P={p}: solver internals in the note: {note:?}");
        }
        // Optimal means proven within the MIP gap, and the file says how close.
        if s.solver.status == SolverStatus::Optimal {
            assert!(
                s.solver.gap.is_some_and(|g| (0.0..=MIP_GAP).contains(&g)),
                "{model} P={p}: {:?}",
                s.solver
            );
        }
    }
}

#[test]
fn phase_two_respects_a_staleness_cap() {
    let specs = specs_for("models/mlp-fmnist.yaml", "models/hw/sa32-ws.yaml", 4);
    // The heuristic's timed list schedule, as phase 2 receives it.
    let graph = lower_and_cost(&specs);
    let cost = Systolic::new(&specs.hardware);
    let problem = Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
    let timed = scheduler(Method::Heuristic, &CompileOptions::new(Method::Heuristic))
        .schedule(&problem)
        .expect("heuristic")
        .timed
        .expect("the heuristic times its own placement");
    let before = staleness_of(&timed).0;
    assert!(before > 0, "the list schedule is pipelined");
    for cap in [0, before - 1] {
        let budget = Budget {
            nodes: ORDER_NODES,
            deadline: std::time::Instant::now() + std::time::Duration::from_secs(60),
        };
        let (result, _) = reorder(&timed, "microlp", budget, Some(cap)).expect("phase 2 runs");
        if let Reordered::Better(s) = result {
            verify_timetable(&*s).expect("a reordered schedule verifies");
            assert_eq!(s.period_cycles, timed.period_cycles, "phase 2 keeps the period");
            let got = staleness_of(&*s).0;
            assert!(got <= cap, "cap {cap}: phase 2 returned staleness {got}");
        }
    }
}

/// Phase 2 models every rule the verifier checks — updated weights reach a reader on
/// another processor only when their transfer arrives — so the solution it rounds always
/// verifies (at fixed integers its constraints are difference constraints with integer
/// bounds). On mlp-digits/sa128-ws/P=2 the update `U2` feeds `F2` across the link; the
/// model once left that transfer out and its solution was thrown away.
#[test]
fn phase_two_solutions_verify_and_count_weight_transfers() {
    for (model, hw, p) in [
        ("models/mlp-digits.yaml", "models/hw/sa128-ws.yaml", 2),
        ("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 2),
        ("models/mlp-fmnist.yaml", "models/hw/sa32-ws.yaml", 2),
    ] {
        let s = ilp(&specs_for(model, hw, p), 60.0);
        let note = s.solver.note.clone().unwrap_or_default();
        assert!(!note.contains("did not verify"), "{model} {hw} P={p}: {note}");
        assert!(!note.contains("no solution"), "{model} {hw} P={p}: {note}");
    }
}

#[test]
fn paper_metric_divides_by_operand_and_tensor_traffic() {
    let specs = specs_for("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let s = compile(&specs, &CompileOptions::new(Method::Heuristic)).expect("heuristic");
    let m = &s.metrics;
    assert!(m.operand_bytes > m.bytes_total, "the arrays' own traffic exceeds the tensors passed");
    let want = m.bytes_between_processors as f64 / (m.operand_bytes + m.bytes_total) as f64;
    assert!((m.comm_overhead_paper - want).abs() < 1e-6, "{} vs {want}", m.comm_overhead_paper);
    assert!(m.comm_overhead_paper < m.comm_overhead);
    // Cutting GEMMs over more processors changes only how often operands are re-read,
    // never below one read of every operand and one write of every result.
    let one = compile(
        &specs_for("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 1),
        &CompileOptions::new(Method::Heuristic),
    )
    .expect("P = 1");
    assert_eq!(one.metrics.bytes_between_processors, 0);
    assert_eq!(one.metrics.comm_overhead_paper, 0.0);
    assert!(one.metrics.operand_bytes > 0);
}

/// mlp-digits/sa32-ws at P = 4: with `S` and `E` whole (before 2026-12-07) the loads
/// alone fit below the best period and only the walk with the model's link bounds
/// proved it; with them cut by samples the ILP's own placement (33 694 cycles) is
/// within the MIP gap of the lower bound (33 693). The schedule may then be a fresher
/// one within 0.1 % (33 704, s = 5 instead of 6), whose status and gap are restated
/// against the same bound. More effort finds nothing below that bound, and runs are
/// reproducible.
#[test]
fn the_ilp_proves_mlp_digits_at_p4_and_more_effort_finds_nothing_below() {
    let specs = specs_for("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let with = |effort| ilp_with_effort(&specs, 600.0, effort);
    let (default, more) = (with(1), with(5));
    let gap = default.solver.gap.unwrap_or_else(|| panic!("a proven gap: {:?}", default.solver));
    let bound = default.period_cycles as f64 * (1.0 - gap);
    assert!(gap <= 1e-3, "proven within the 0.1 % of the freshness rule: {:?}", default.solver);
    let optimal = default.solver.status == SolverStatus::Optimal;
    assert_eq!(optimal, gap <= MIP_GAP, "status follows the gap: {:?}", default.solver);
    assert!(bound >= default.lower_bound_cycles as f64 - 1.0, "{bound} below the lower bound");
    assert!(
        more.period_cycles as f64 >= bound - 1.0,
        "{} beats the proven bound {bound}",
        more.period_cycles
    );
    assert!(with(1).to_json() == default.to_json(), "two default runs differ");
}

/// The ILP's own schedule sits at the lower bound itself on mlp-digits/sa32-ws at P = 8
/// (16 847) and mlp-fmnist/sa32-ws at P = 4 (1 648 972), proven optimal. The packing
/// walk prices each chunk in whole cycles, as the exact cost is, and its last probe
/// keeps the faster placement it finds (without that, mlp-fmnist ends at 1 649 036).
/// mlp-digits reaches 16 847 either through that probe or, before the solver's rounds,
/// through the walk's bisection with the loads alone (tested on its own in
/// `ilp::assign::walk`); without both it ended at 16 848. Before 2026-12-07
/// (tenth session) mlp-digits ended `time_limit` at 16 932 with a 0.5 % gap. The
/// compiled schedule may then trade up to 0.1 % of the period for freshness
/// (`refine::NEAR_PERIOD`), with its gap restated.
#[test]
fn the_ilp_reaches_the_lower_bound_on_mlp_digits_p8_and_mlp_fmnist_p4() {
    for (model, p) in [("models/mlp-digits.yaml", 8), ("models/mlp-fmnist.yaml", 4)] {
        let specs = specs_for(model, "models/hw/sa32-ws.yaml", p);
        let graph = lower_and_cost(&specs);
        let cost = Systolic::new(&specs.hardware);
        let problem =
            Problem { graph: &graph, network: &specs.network, hardware: &specs.hardware, cost: &cost };
        let opts = CompileOptions::new(Method::Ilp).with_time_limit(600.0).reproducible(true);
        let own = scheduler(Method::Ilp, &opts).schedule(&problem).expect("ilp schedules");
        let timed = own.timed.expect("the ILP times its placement");
        let lb = spikepipe_compiler::schedule::lower_bound(&problem);
        assert_eq!(own.solver.status, SolverStatus::Optimal, "{model} P={p}: {:?}", own.solver);
        assert_eq!(own.solver.gap, Some(0.0), "{model} P={p}: {:?}", own.solver);
        assert_eq!(timed.period_cycles, lb, "{model} P={p}: the ILP's own period against the lower bound");

        let s = ilp(&specs, 600.0);
        let near = spikepipe_compiler::schedule::refine::near_period(lb);
        assert!(s.period_cycles <= near, "{model} P={p}: compiled period {} beyond {near}", s.period_cycles);
        assert!(staleness_of(&s) <= staleness_of(&timed), "{model} P={p}: {:?}", s.solver);
        let gap = s.solver.gap.unwrap_or_else(|| panic!("{model} P={p}: a restated gap: {:?}", s.solver));
        assert!(
            (gap - (1.0 - lb as f64 / s.period_cycles as f64)).abs() < 1e-5,
            "{model} P={p}: {:?}",
            s.solver
        );
    }
}

/// The reordering within the period chains rotations and tries every order of a
/// processor's few chunks (`cyclic`'s compound changes): on mlp-fmnist at P = 8
/// (sa32-ws), where every processor is full and single rotations and moves end at
/// layer 2's input gradient one update stale, they reach s′ = 0 on every layer at the
/// same period. (This was the ILP's schedule until 2026-12-07, when the ILP's own
/// placement became 0.2 % faster and so wins, at s′ = 1; the heuristic's is the same
/// pipeline, through the same reordering.)
#[test]
fn compound_reorders_freshen_a_full_eight_processor_pipeline() {
    let specs = specs_for("models/mlp-fmnist.yaml", "models/hw/sa32-ws.yaml", 8);
    let s = compile(&specs, &CompileOptions::new(Method::Heuristic)).expect("heuristic compiles");
    verify_schedule(&s).expect("the heuristic's schedule verifies");
    let forward: Vec<u64> = s.staleness.iter().map(|l| l.forward).collect();
    let input_grad: Vec<u64> = s.staleness.iter().filter_map(|l| l.input_grad).collect();
    assert!(input_grad.iter().all(|&g| g == 0), "s′ {input_grad:?}, forward {forward:?}");
    assert!(forward.iter().all(|&f| f <= 9), "forward {forward:?}");
    assert!(s.period_cycles <= 827_200, "period {}", s.period_cycles);
}

/// Freshness first within 0.1 % of the fastest period (`refine::freshen`): on cnn-fmnist
/// at P = 2 (sa32-ws) the period-first refinement ends at s = 2/1/0, and moves that
/// cost at most 0.1 % of 16.4 M cycles take layer 1 to s ≤ 1 (`heuristic` and `ilp`
/// both freshen; 2026-12-06 both reach s = 0/0/0 for 8 713 cycles); the heuristic stays
/// no faster.
#[test]
fn chunk_moves_within_the_near_period_freshen_a_two_processor_conv_net() {
    let specs = specs_for("models/cnn-fmnist.yaml", "models/hw/sa32-ws.yaml", 2);
    let s = ilp(&specs, 120.0);
    let h = compile(&specs, &CompileOptions::new(Method::Heuristic)).expect("heuristic");
    let forward: Vec<u64> = s.staleness.iter().map(|l| l.forward).collect();
    assert!(forward.iter().all(|&f| f <= 1), "forward {forward:?}");
    // 16 447 600 before freshening; 0.1 % above it is the most freshening may cost.
    assert!(s.period_cycles <= 16_447_600 + 16_447, "period {}", s.period_cycles);
    assert!(s.period_cycles <= h.period_cycles, "ilp {} > heuristic {}", s.period_cycles, h.period_cycles);
    let note = s.solver.note.as_deref().unwrap_or_default();
    assert!(note.contains("within 0.1 %"), "{note}");
    let forward: Vec<u64> = h.staleness.iter().map(|l| l.forward).collect();
    assert!(forward.iter().all(|&f| f <= 1), "heuristic: forward {forward:?}");
}

fn capped(specs: &Specs, method: Method, cap: u64) -> Schedule {
    let opts = CompileOptions::new(method).with_max_staleness(Some(cap)).reproducible(true);
    let s = compile(specs, &opts).expect("compiles");
    verify_schedule(&s).expect("verifies");
    s
}

/// At a staleness cap of 0 the ILP's phase 1 is not run (its placement, timed at
/// staleness 0, never beat the heuristic's candidates): `ilp` gives `heuristic`'s
/// schedule under its own name, and says so.
#[test]
fn ilp_at_cap_zero_is_the_heuristics_schedule_and_says_so() {
    let specs = specs_for("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let (ilp, heuristic) = (capped(&specs, Method::Ilp, 0), capped(&specs, Method::Heuristic, 0));
    assert_eq!(ilp.method, "ilp");
    assert_eq!(ilp.solver.name, "microlp");
    assert_eq!((ilp.period_cycles, ilp.max_staleness()), (heuristic.period_cycles, 0));
    assert_eq!(ilp.tasks, heuristic.tasks, "the same chunks at the same starts");
    let note = ilp.solver.note.as_deref().unwrap_or_default();
    assert!(note.contains("phase 1 is not run"), "{note}");
}

/// Under a cap the ILP's own placement is timed again at a longer period; the bound its
/// solver proved is restated for that period, never claimed above it (it was: "period
/// 34 906 is below the bound 108 732", the stretched period taken for the bound).
#[test]
fn a_capped_ilp_states_the_bound_its_solver_proved() {
    let specs = specs_for("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let uncapped = ilp(&specs, 10.0);
    let s = capped(&specs, Method::Ilp, 1);
    assert!(s.max_staleness() <= 1);
    let note = s.solver.note.as_deref().unwrap_or_default();
    assert!(!note.contains("below the bound"), "{note}");
    let gap = s.solver.gap.expect("the proven bound is restated as a gap");
    let bound = s.period_cycles as f64 * (1.0 - gap);
    assert!(bound <= uncapped.period_cycles as f64 + 1.0, "bound {bound} above {}", uncapped.period_cycles);
    assert!(bound >= s.lower_bound_cycles as f64 - 1.0, "bound {bound} below LB {}", s.lower_bound_cycles);
}
