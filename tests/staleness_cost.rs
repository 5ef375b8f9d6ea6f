//! `--staleness-cost C`: period and staleness as one objective (docs/scheduling.md, "One
//! objective").

mod common;

use spikepipe_compiler::priced::estimated_time;
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method, Specs};
use spikepipe_ir::{verify_schedule, Schedule};

use common::{ok, root, spikepipe, stderr};

fn specs(model: &str, hw: &str, p: u64) -> Specs {
    load_specs(&root().join(model), Some(&root().join(hw)), Some(p)).expect("bundled specs load")
}

fn compile_with(specs: &Specs, method: Method, cap: Option<u64>, cost: Option<f64>) -> Schedule {
    let mut o = CompileOptions::new(method).with_max_staleness(cap).reproducible(true);
    o.staleness_cost = cost;
    compile(specs, &o).expect("compiles")
}

/// The priced schedule is one of the method's schedules (uncapped or under a cap) with the
/// smallest period × (1 + C · staleness), and a larger C never buys a staler schedule.
#[test]
fn the_cost_picks_the_cheapest_cap_and_larger_costs_pick_fresher_schedules() {
    for (model, hw, p, method) in [
        ("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4, Method::Heuristic),
        ("models/mlp-digits.yaml", "models/hw/sa128-ws.yaml", 8, Method::Pipedream),
    ] {
        let specs = specs(model, hw, p);
        let uncapped = compile_with(&specs, method, None, None);
        let stale = uncapped.max_staleness();
        assert!(stale >= 2, "{model} P = {p}: the test needs a stale uncapped schedule, got {stale}");
        let mut field = vec![uncapped];
        field.extend((0..stale).map(|c| compile_with(&specs, method, Some(c), None)));
        let mut last: Option<Schedule> = None;
        for cost in [0.0, 0.005, 0.05, 100.0] {
            let s = compile_with(&specs, method, None, Some(cost));
            verify_schedule(&s).unwrap_or_else(|v| panic!("{model} P = {p} cost {cost}: {v}"));
            let want = field
                .iter()
                .map(|f| estimated_time(f.period_cycles, f.max_staleness(), cost))
                .fold(f64::INFINITY, f64::min);
            let got = estimated_time(s.period_cycles, s.max_staleness(), cost);
            assert_eq!(got, want, "{model} P = {p} cost {cost}: not the cheapest of the caps");
            assert!(
                field.iter().any(|f| f.period_cycles == s.period_cycles && f.staleness == s.staleness),
                "{model} P = {p} cost {cost}: not one of the method's schedules"
            );
            let note = s.solver.note.as_deref().unwrap_or("");
            assert!(note.contains(&format!("staleness cost {cost}")), "{note}");
            if let Some(l) = &last {
                assert!(s.max_staleness() <= l.max_staleness(), "{model} P = {p}: cost {cost} staler");
                assert!(
                    s.period_cycles >= l.period_cycles,
                    "{model} P = {p}: cost {cost} faster and fresher?"
                );
            }
            last = Some(s);
        }
        let freshest = field.iter().map(Schedule::max_staleness).min().expect("a field");
        assert_eq!(last.expect("ran").max_staleness(), freshest, "{model} P = {p}: C = 100 is the freshest");
    }
}

/// A user's cap bounds the choice: the priced schedule keeps it.
#[test]
fn the_cost_chooses_within_a_users_cap() {
    let specs = specs("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let s = compile_with(&specs, Method::Heuristic, Some(2), Some(0.0));
    assert!(s.max_staleness() <= 2);
    assert_eq!(s.period_cycles, compile_with(&specs, Method::Heuristic, Some(2), None).period_cycles);
}

#[test]
fn the_cli_compiles_reproducibly_and_rejects_bad_costs() {
    let args = [
        "compile",
        "models/mlp-digits.yaml",
        "--hardware",
        "models/hw/sa32-ws.yaml",
        "-p",
        "4",
        "-m",
        "heuristic",
        "--staleness-cost",
        "0.05",
        "--reproducible",
        "--format",
        "json",
        "-q",
    ];
    let first = ok(&args);
    assert_eq!(first, ok(&args), "byte-identical");
    // The caps compile in parallel; one thread gives the same bytes.
    let serial = std::process::Command::new(env!("CARGO_BIN_EXE_spikepipe"))
        .args(args)
        .current_dir(root())
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("runs");
    assert_eq!(first, common::stdout(&serial), "serial and parallel differ");
    assert!(first.contains("staleness cost 0.05"), "the note says why");
    for (bad, why) in [
        ("-1", "outside 0 to 100"),
        ("1000", "outside 0 to 100"),
        ("nan", "outside 0 to 100"),
        ("lots", "neither a number nor `none`"),
    ] {
        let out = spikepipe(&["compile", "models/mlp-digits.yaml", "--staleness-cost", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert!(stderr(&out).contains("--staleness-cost") && stderr(&out).contains(why), "{}", stderr(&out));
    }
    let out = spikepipe(&[
        "compare",
        "models/mlp-digits.yaml",
        "--hardware",
        "models/hw/sa32-ws.yaml",
        "--front",
        "--staleness-cost",
        "0.1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not used with --front"), "{}", stderr(&out));
}

/// `versus::priced` over a method's front picks what `--staleness-cost` compiles: the
/// front keeps every schedule that can be cheapest at some C.
#[test]
fn pricing_the_front_agrees_with_the_priced_compile() {
    use spikepipe_compiler::front::front;
    use spikepipe_compiler::versus::priced;
    let specs = specs("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 4);
    let base = CompileOptions::new(Method::Heuristic).reproducible(true);
    let ours = front(&specs, &[Method::Heuristic], 8, &base, |_, _| {}).expect("a front");
    let standard = front(&specs, &[Method::DataParallel], 8, &base, |_, _| {}).expect("a front");
    for cost in [0.0, 0.01, 0.1] {
        let row = priced(&ours, &standard, cost).expect("both fronts have points");
        let s = compile_with(&specs, Method::Heuristic, None, Some(cost));
        assert_eq!(
            (row.ours.period_cycles, row.ours.max_staleness),
            (s.period_cycles, s.max_staleness()),
            "C = {cost}"
        );
        assert_eq!(row.standard.max_staleness, 0);
        let est = |p: u64, st: u64| estimated_time(p, st, cost);
        assert_eq!(
            row.speedup,
            est(row.standard.period_cycles, 0) / est(row.ours.period_cycles, row.ours.max_staleness)
        );
    }
}

/// Without the flag the commands that compile price staleness at the default C; `none`
/// gives the fastest period, as the library does without a cost.
#[test]
fn the_default_prices_staleness_and_none_gives_the_fastest_period() {
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "compile",
            "models/mlp-digits.yaml",
            "--hardware",
            "models/hw/sa32-ws.yaml",
            "-p",
            "8",
            "-m",
            "heuristic",
            "--reproducible",
            "--format",
            "json",
            "-q",
        ];
        a.extend_from_slice(extra);
        a
    };
    let schedule = |extra: &[&'static str]| Schedule::from_json(&ok(&args(extra))).expect("a schedule");
    let default = schedule(&[]);
    let explicit = schedule(&["--staleness-cost", "0.1"]);
    assert_eq!((default.period_cycles, &default.staleness), (explicit.period_cycles, &explicit.staleness));
    assert!(default.solver.note.as_deref().unwrap_or("").contains("staleness cost 0.1"));
    let fastest = schedule(&["--staleness-cost", "none"]);
    let specs = specs("models/mlp-digits.yaml", "models/hw/sa32-ws.yaml", 8);
    let library = compile_with(&specs, Method::Heuristic, None, None);
    assert_eq!((fastest.period_cycles, &fastest.staleness), (library.period_cycles, &library.staleness));
    // On this row the fastest period is stale and the priced choice is not: the default
    // gives up period for freshness (docs/time-to-accuracy.md measured it training better).
    assert!(
        fastest.max_staleness() > default.max_staleness(),
        "{} vs {}",
        fastest.max_staleness(),
        default.max_staleness()
    );
    assert!(fastest.period_cycles < default.period_cycles);
    let cost = spikepipe_compiler::priced::estimated_time;
    assert!(
        cost(default.period_cycles, default.max_staleness(), 0.1)
            < cost(fastest.period_cycles, fastest.max_staleness(), 0.1)
    );
}
