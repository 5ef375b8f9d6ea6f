//! `spikepipe tasks`: table snapshots for every bundled model on every bundled machine,
//! and the documented shape of `--format json`.

mod common;

use common::{hardware, models, ok, stem};
use serde_json::Value;

#[test]
fn tasks_table_snapshots() {
    let (models, hardware) = (models(), hardware());
    assert_eq!(models.len(), 5, "bundled models: {models:?}");
    assert_eq!(hardware.len(), 2, "bundled hardware: {hardware:?}");
    for m in &models {
        for h in &hardware {
            let out = ok(&["tasks", m, "--hardware", h]);
            insta::assert_snapshot!(format!("{}__{}", stem(m), stem(h)), out);
        }
    }
}

const KINDS: [&str; 6] = ["forward", "neuron", "neuron_backward", "input_grad", "weight_grad", "update"];

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

fn u(v: &Value, what: &str) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{what} is a non-negative integer, got {v}"))
}

#[test]
fn tasks_json_has_documented_shape() {
    let out = ok(&[
        "tasks",
        "models/vgg16-cifar100.yaml",
        "--hardware",
        "models/hw/sa128-ws.yaml",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("tasks --format json is JSON");
    assert_eq!(keys(&v), ["lower_bound_cycles", "model", "processors", "tasks", "total_cycles"]);
    assert_eq!(v["model"], "vgg16-cifar100");
    let procs = u(&v["processors"], "processors");
    assert_eq!(procs, 8, "sa128-ws has 8 processors");
    let tasks = v["tasks"].as_array().expect("tasks is an array");

    let mut sum = 0u64;
    let mut ids = Vec::new();
    for t in tasks {
        assert_eq!(keys(t), ["bytes_out", "cycles", "elements", "gemm", "id", "kind", "layer"], "{t}");
        let kind = t["kind"].as_str().expect("kind is a string");
        assert!(KINDS.contains(&kind), "unknown kind {kind}");
        let is_gemm = matches!(kind, "forward" | "input_grad" | "weight_grad");
        if is_gemm {
            assert!(t["elements"].is_null(), "{t}");
            let g = &t["gemm"];
            let mut gk: Vec<_> = g.as_object().expect("gemm is an object").keys().cloned().collect();
            gk.sort();
            assert_eq!(gk, ["k", "m", "n"]);
            for d in ["m", "k", "n"] {
                assert!(u(&g[d], d) > 0, "{t}");
            }
        } else {
            assert!(t["gemm"].is_null(), "{t}");
            assert!(u(&t["elements"], "elements") > 0, "{t}");
        }
        let cycles = u(&t["cycles"], "cycles");
        assert!(cycles > 0, "{t}");
        u(&t["bytes_out"], "bytes_out");
        sum += cycles;
        ids.push((
            t["id"].as_str().expect("id is a string").to_string(),
            u(&t["layer"], "layer"),
            kind.to_string(),
        ));
    }

    // Ids in order F1 S1 E1 W1 U1 F2 S2 E2 G2 W2 U2 …: layer 1 has no input gradient.
    let layers = ids.iter().map(|i| i.1).max().expect("some tasks");
    let yaml =
        std::fs::read_to_string(common::root().join("models/vgg16-cifar100.yaml")).expect("model file");
    let weight_layers = yaml
        .lines()
        .filter(|l| l.trim_start().starts_with("- conv2d:") || l.trim_start().starts_with("- linear:"))
        .count();
    assert_eq!(layers as usize, weight_layers, "one set of tasks per conv2d/linear layer");
    let mut expected = Vec::new();
    for l in 1..=layers {
        for (letter, kind) in [
            ('F', "forward"),
            ('S', "neuron"),
            ('E', "neuron_backward"),
            ('G', "input_grad"),
            ('W', "weight_grad"),
            ('U', "update"),
        ] {
            if l == 1 && letter == 'G' {
                continue;
            }
            expected.push((format!("{letter}{l}"), l, kind.to_string()));
        }
    }
    assert_eq!(ids, expected);

    let total = u(&v["total_cycles"], "total_cycles");
    assert_eq!(total, sum, "total_cycles is the sum of task cycles");
    let lb = u(&v["lower_bound_cycles"], "lower_bound_cycles");
    assert!(lb >= total.div_ceil(procs), "LB {lb} < ceil({total}/{procs})");
    // The largest indivisible chunk also bounds it: every update and neuron task.
    for t in tasks {
        if matches!(t["kind"].as_str(), Some("update" | "neuron" | "neuron_backward")) {
            assert!(lb >= u(&t["cycles"], "cycles"), "LB below an indivisible task {t}");
        }
    }
}

#[test]
fn tasks_json_agrees_with_table() {
    let args = ["tasks", "models/mlp-digits.yaml", "--hardware", "models/hw/sa32-ws.yaml"];
    let table = ok(&args);
    let mut j = args.to_vec();
    j.extend(["--format", "json"]);
    let v: Value = serde_json::from_str(&ok(&j)).expect("JSON");
    let total = v["total_cycles"].as_u64().expect("total");
    let lb = v["lower_bound_cycles"].as_u64().expect("lb");
    assert!(table.contains(&format!("total work          {total} cycles")), "{table}");
    assert!(table.contains(&format!("lower bound (P=4)  {lb} cycles")), "{table}");
    for t in v["tasks"].as_array().expect("tasks") {
        let id = t["id"].as_str().expect("id");
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} in the table"));
        assert!(line.contains(&t["cycles"].to_string()), "{line} vs {t}");
    }
}
