//! The examples, run as tests: each example keeps its logic in `pub fn run() ->
//! anyhow::Result<String>` and is compiled into this test with `#[path]`, so an API
//! change that breaks an example breaks `cargo test` (no nested cargo invocation).

#[path = "../examples/compare_ilp_heuristic.rs"]
mod compare_ilp_heuristic;
#[path = "../examples/compile_and_simulate.rs"]
mod compile_and_simulate;
#[path = "../examples/train_pipelined.rs"]
mod train_pipelined;

#[test]
fn compile_and_simulate_keeps_the_period() {
    let out = compile_and_simulate::run().expect("example runs");
    assert!(out.contains("model mlp-digits on 4 processors, method ilp"), "{out}");
    assert!(out.contains("(ratio 1.0000)"), "simulated period differs from the schedule's:\n{out}");
}

#[test]
fn compare_ilp_heuristic_lists_every_method_and_p() {
    let out = compare_ilp_heuristic::run().expect("example runs");
    for p in ["2", "4", "8"] {
        for m in ["ilp", "heuristic", "pipedream"] {
            assert!(
                out.lines().any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 2 && f[0] == p && f[1] == m
                }),
                "no {m} row for P = {p}:\n{out}"
            );
        }
    }
    // The ILP is seeded with the heuristic's schedule (and falls back to it), so it is
    // never slower than the heuristic.
    let period = |p: &str, m: &str| -> u64 {
        out.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.len() > 2 && f[0] == p && f[1] == m)
            .and_then(|f| f[2].parse().ok())
            .expect("period column")
    };
    for p in ["2", "4", "8"] {
        assert!(period(p, "ilp") <= period(p, "heuristic"), "ilp slower than heuristic at P = {p}:\n{out}");
    }
}

#[test]
fn train_pipelined_trains_both_ways() {
    let out = train_pipelined::run().expect("example runs");
    assert!(out.contains("final test accuracy after"), "{out}");
    let epochs =
        out.lines().filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).count();
    assert_eq!(epochs as u64, train_pipelined::EPOCHS, "{out}");
}
