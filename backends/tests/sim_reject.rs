//! Corrupted schedules are rejected with errors that name the problem.

use spikepipe_backends::sim::synthetic::{pipeline_schedule, SyntheticSpec};
use spikepipe_backends::sim::{simulate, SimConfig, SimError};
use spikepipe_ir::Schedule;

fn base() -> Schedule {
    pipeline_schedule(&SyntheticSpec { layers: 3, processors: 2, split: 2, ..Default::default() })
}

fn rejected(s: &Schedule) -> String {
    match simulate(s, &SimConfig::default()) {
        Err(e @ SimError::Invalid(_)) => e.to_string(),
        Err(e) => panic!("expected an invalid-schedule error, got {e}"),
        Ok(_) => panic!("corrupted schedule was simulated"),
    }
}

#[test]
fn overlapping_chunks_are_rejected() {
    let mut s = base();
    // Put S1 on top of F1[0] on the same processor.
    let f = s.task("F1").expect("F1").chunks[0].clone();
    let si = s.tasks.iter().position(|t| t.id == "S1").expect("S1");
    s.tasks[si].chunks[0].processor = f.processor;
    s.tasks[si].chunks[0].start = f.start + s.period_cycles; // same slot modulo II, no dependence break
    let msg = rejected(&s);
    assert!(msg.contains("overlap"), "{msg}");
    assert!(msg.contains("S1[0]") && msg.contains("F1[0]"), "{msg}");
}

#[test]
fn violated_dependence_is_rejected() {
    let mut s = base();
    let si = s.tasks.iter().position(|t| t.id == "S1").expect("S1");
    s.tasks[si].chunks[0].start = 0;
    let msg = rejected(&s);
    assert!(msg.contains("dependence"), "{msg}");
    assert!(msg.contains("S1[0]"), "{msg}");
}

#[test]
fn task_without_chunks_is_rejected() {
    let mut s = base();
    let wi = s.tasks.iter().position(|t| t.id == "W2").expect("W2");
    s.tasks[wi].chunks.clear();
    let msg = rejected(&s);
    assert!(msg.contains("W2") && msg.contains("no chunks"), "{msg}");
}

#[test]
fn missing_chunk_of_a_split_task_is_rejected() {
    let mut s = base();
    let fi = s.tasks.iter().position(|t| t.id == "F2").expect("F2");
    assert_eq!(s.tasks[fi].chunks.len(), 2);
    s.tasks[fi].chunks.pop();
    let msg = rejected(&s);
    assert!(msg.contains("F2") && msg.contains("cover"), "{msg}");
}

#[test]
fn processor_out_of_range_is_rejected() {
    let mut s = base();
    let ui = s.tasks.iter().position(|t| t.id == "U1").expect("U1");
    s.tasks[ui].chunks[0].processor = 7;
    let msg = rejected(&s);
    assert!(msg.contains("U1[0]") && msg.contains("processor 7 out of range"), "{msg}");
}

#[test]
fn malformed_json_is_rejected_by_the_parser() {
    let text = base().to_json();
    let broken = &text[..text.len() / 2];
    let err = Schedule::from_json(broken).expect_err("half a file does not parse");
    assert!(err.to_string().contains("EOF"), "{err}");
    let wrong_type = text.replacen("\"period_cycles\": ", "\"period_cycles\": \"x\", \"old\": ", 1);
    assert!(Schedule::from_json(&wrong_type).is_err());
}
