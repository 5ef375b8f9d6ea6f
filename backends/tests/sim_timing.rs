//! Timing results of the simulator on hand-built and synthetic schedules.

use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
use spikepipe_backends::sim::{simulate, LinkModel, SimConfig};
use spikepipe_ir::{
    compute_staleness, required_transfers, verify_schedule, ArraySpec, BitsSpec, Chunk, ChunkRange, Dataflow,
    EdgeKind, HardwareSpec, LinkSpec, Metrics, ModelInfo, Schedule, ScheduleEdge, ScheduledTask, SolverInfo,
    SolverStatus, SplitDim, TaskKind, Transfer, Work, SCHEDULE_FORMAT,
};

/// A tiny hand-built schedule: F1 on p0 `[0,100)`, its output (160 bytes → 20 + 10 = 30
/// cycles) moved to p1 at 100, S1 on p1 `[130,180)`; period 100.
fn two_task_schedule() -> Schedule {
    let task = |id: &str, kind, work, cycles, processor, start| ScheduledTask {
        id: id.into(),
        layer: 1,
        kind,
        work,
        cycles,
        chunks: vec![Chunk {
            processor,
            start,
            cycles,
            range: ChunkRange::along(SplitDim::Whole, 0, 1),
            samples: [0, 4],
            reduce_cycles: 0,
        }],
    };
    let mut s = Schedule {
        format: SCHEDULE_FORMAT.into(),
        model: ModelInfo { name: "hand".into(), spec_hash: "0".into(), layers: 1, batch: 4, optimizer: None },
        hardware: HardwareSpec {
            processors: 2,
            array: ArraySpec { rows: 8, cols: 8, dataflow: Dataflow::Ws },
            vector_lanes: 8,
            clock_mhz: 100.0,
            link: LinkSpec { bytes_per_cycle: 16, latency_cycles: 20 },
            bits: BitsSpec::default(),
            memory_bytes: None,
        },
        method: "hand".into(),
        micro_batches: None,
        solver: SolverInfo {
            name: "hand".into(),
            status: SolverStatus::Feasible,
            seconds: 0.0,
            gap: None,
            note: None,
        },
        period_cycles: 100,
        lower_bound_cycles: 100,
        tasks: vec![
            task("F1", TaskKind::Forward, Work::Gemm { m: 4, k: 4, n: 4 }, 100, 0, 0),
            task("S1", TaskKind::Neuron, Work::Elementwise { elements: 16, ops_per_element: 1 }, 50, 1, 130),
        ],
        edges: vec![ScheduleEdge {
            from: "F1".into(),
            to: "S1".into(),
            kind: EdgeKind::Data,
            bytes: 160,
            sliced_by: None,
        }],
        transfers: vec![Transfer {
            edge: 0,
            from_chunk: 0,
            src: 0,
            dst: 1,
            bytes: 160,
            start: 100,
            cycles: 30,
        }],
        staleness: vec![],
        metrics: Metrics {
            utilization: 0.75,
            processor_utilization: vec![1.0, 0.5],
            bytes_between_processors: 160,
            bytes_total: 160,
            comm_overhead: 1.0,
            ..Metrics::default()
        },
    };
    assert_eq!(required_transfers(&s).len(), 1);
    s.staleness = compute_staleness(&s);
    s
}

fn config(iterations: u32, links: LinkModel) -> SimConfig {
    SimConfig { iterations, links, record_trace: false }
}

#[test]
fn hand_built_schedule_runs_on_its_slots() {
    let s = two_task_schedule();
    verify_schedule(&s).expect("hand-built schedule is valid");
    let r = simulate(&s, &config(10, LinkModel::Dedicated)).expect("simulates");
    // Iteration i: F1 [100i, 100i+100), transfer [100i+100, 100i+130), S1 [100i+130, 100i+180).
    assert_eq!(r.total_cycles, 9 * 100 + 180);
    assert_eq!(r.first_iteration_cycles, 180);
    assert_eq!(r.achieved_period_cycles, Some(100.0));
    assert_eq!(r.period_ratio, Some(1.0));
    assert_eq!(r.chunk_instances, 20);
    assert_eq!(r.transfer_instances, 10);
    assert_eq!(r.bytes_between_processors, 1600);
    assert_eq!(r.max_start_delay_cycles, 0);
    assert_eq!(r.utilization[0].busy_cycles, 1000);
    assert_eq!(r.utilization[1].busy_cycles, 500);
    assert_eq!(r.utilization[0].steady_state_percent, Some(100.0));
    // Iteration i lives in [100i, 100i+180): two in flight at once.
    assert_eq!(r.max_in_flight, 2);
    assert_eq!(r.link_usage.len(), 1);
    assert_eq!(r.link_usage[0].link, "p0→p1");
    assert_eq!(r.link_usage[0].busy_cycles, 300);
}

#[test]
fn valid_schedules_achieve_their_period_on_dedicated_links() {
    for layers in [1, 2, 3, 5, 8] {
        for processors in [1, 2, 3, 4] {
            for (split, spread) in [(1, false), (2, false), (3, true), (4, true)] {
                let spec = SyntheticSpec { layers, processors, split, spread, ..Default::default() };
                let s = pipeline_schedule(&spec);
                verify_schedule(&s).unwrap_or_else(|v| panic!("{spec:?}: {v}"));
                let r = simulate(&s, &config(24, LinkModel::Dedicated)).expect("simulates");
                assert_eq!(r.achieved_period_cycles, Some(s.period_cycles as f64), "{spec:?}");
                assert_eq!(r.max_start_delay_cycles, 0, "{spec:?}");
                assert_eq!(r.max_link_wait_cycles, 0, "{spec:?}");
                // On its slots, the observed staleness is the schedule's (N large enough).
                for (o, want) in r.staleness.iter().zip(&s.staleness) {
                    assert_eq!(o.forward, Some(want.forward), "{spec:?} layer {}", o.layer);
                    assert_eq!(o.forward_scheduled, want.forward);
                    assert_eq!(o.input_grad, want.input_grad, "{spec:?} layer {}", o.layer);
                }
                let per_iter: u64 = s.transfers.iter().map(|t| t.bytes).sum();
                assert_eq!(r.bytes_between_processors, per_iter * 24);
                assert!(r.max_in_flight >= 1);
            }
        }
    }
}

#[test]
fn one_processor_sequential_schedule_has_one_iteration_in_flight() {
    let s = pipeline_schedule(&SyntheticSpec { layers: 3, processors: 1, ..Default::default() });
    let r = simulate(&s, &config(5, LinkModel::Dedicated)).expect("simulates");
    assert_eq!(r.max_in_flight, 1);
    assert_eq!(r.transfer_instances, 0);
    assert_eq!(r.total_cycles, 5 * s.period_cycles);
}

#[test]
fn overloaded_shared_bus_gives_a_longer_period() {
    let spec = SyntheticSpec {
        layers: 4,
        processors: 4,
        split: 4,
        spread: true,
        link_bytes_per_cycle: 4,
        edge_bytes: 4096,
        ..Default::default()
    };
    let s = pipeline_schedule(&spec);
    verify_schedule(&s).expect("valid");
    let bus_load: u64 = s.transfers.iter().map(|t| t.cycles).sum();
    assert!(bus_load > s.period_cycles, "bus load {bus_load} must exceed II {}", s.period_cycles);
    let dedicated = simulate(&s, &config(40, LinkModel::Dedicated)).expect("simulates");
    assert_eq!(dedicated.achieved_period_cycles, Some(s.period_cycles as f64));
    let shared = simulate(&s, &config(40, LinkModel::Shared)).expect("simulates");
    let achieved = shared.achieved_period_cycles.expect("N ≥ 2");
    assert!(achieved > s.period_cycles as f64 * 1.05, "achieved {achieved}, II {}", s.period_cycles);
    // In the long run the bus must carry bus_load cycles per iteration.
    let long = simulate(&s, &config(400, LinkModel::Shared)).expect("simulates");
    let long_achieved = long.achieved_period_cycles.expect("N ≥ 2");
    assert!(long_achieved >= 0.97 * bus_load as f64, "achieved {long_achieved}, bus load {bus_load}");
    assert!(long_achieved <= 1.05 * bus_load as f64, "achieved {long_achieved}, bus load {bus_load}");
    assert!(shared.period_ratio.expect("ratio") > 1.0);
    assert!(shared.total_cycles > dedicated.total_cycles);
    assert_eq!(shared.link_usage.len(), 1);
    assert_eq!(shared.link_usage[0].link, "bus");
    assert!(shared.max_link_wait_cycles > 0);
    // Same traffic either way.
    assert_eq!(shared.bytes_between_processors, dedicated.bytes_between_processors);
}

#[test]
fn shared_bus_that_is_not_overloaded_keeps_the_period() {
    let s = two_task_schedule();
    let r = simulate(&s, &config(10, LinkModel::Shared)).expect("simulates");
    assert_eq!(r.achieved_period_cycles, Some(100.0));
}

#[test]
fn report_is_deterministic_and_has_the_documented_keys() {
    let s = pipeline_schedule(&SyntheticSpec {
        layers: 4,
        processors: 3,
        split: 2,
        spread: true,
        ..Default::default()
    });
    let a = simulate(&s, &config(20, LinkModel::Shared)).expect("simulates").to_json();
    let b = simulate(&s, &config(20, LinkModel::Shared)).expect("simulates").to_json();
    assert_eq!(a, b);
    let v: serde_json::Value = serde_json::from_str(&a).expect("report JSON parses");
    for key in [
        "iterations",
        "total_cycles",
        "achieved_period_cycles",
        "scheduled_period_cycles",
        "utilization",
        "bytes_between_processors",
        "max_in_flight",
        "staleness",
        "link_usage",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    assert_eq!(v["utilization"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["staleness"].as_array().map(Vec::len), Some(4));
    let table = simulate(&s, &config(20, LinkModel::Shared)).expect("simulates").to_table();
    assert!(table.contains("achieved"), "{table}");
}

#[test]
fn one_iteration_has_no_period() {
    let s = two_task_schedule();
    let r = simulate(&s, &config(1, LinkModel::Dedicated)).expect("simulates");
    assert_eq!(r.achieved_period_cycles, None);
    assert_eq!(r.total_cycles, 180);
    assert!(simulate(&s, &config(0, LinkModel::Dedicated)).is_err());
}
