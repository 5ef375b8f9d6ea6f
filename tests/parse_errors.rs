//! Bad specs end to end: the real binary exits with status 2, does not panic, and prints
//! one message naming the file, line, column (where known) and field. Each message is
//! snapshotted (tests/snapshots/parse_errors__<case>.snap).

mod common;

use common::{spikepipe, stderr};

const MODEL: &str = "models/mlp-digits.yaml";
const HW: &str = "models/hw/sa32-ws.yaml";

/// Runs `spikepipe tasks ARGS`, checks exit status 2 and no panic, returns stderr.
fn rejected(args: &[&str]) -> String {
    let mut all = vec!["tasks"];
    all.extend_from_slice(args);
    let o = spikepipe(&all);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "spikepipe {} should exit 2; stderr:\n{err}", all.join(" "));
    assert!(!err.contains("panicked"), "panic on spikepipe {}:\n{err}", all.join(" "));
    assert!(o.stdout.is_empty(), "nothing on stdout for a rejected spec");
    assert!(err.starts_with("error: "), "one error message:\n{err}");
    err
}

/// A bad model file with good hardware.
fn bad_model(case: &str) -> String {
    rejected(&[&format!("tests/data/bad/{case}.yaml"), "--hardware", HW])
}

/// A good model with a bad hardware file.
fn bad_hardware(case: &str) -> String {
    rejected(&[MODEL, "--hardware", &format!("tests/data/bad/{case}.yaml")])
}

macro_rules! model_case {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let err = bad_model(stringify!($name));
            assert!(err.contains(concat!("tests/data/bad/", stringify!($name), ".yaml")), "names the file: {err}");
            insta::assert_snapshot!(stringify!($name), err);
        }
    )*};
}

macro_rules! hardware_case {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let err = bad_hardware(stringify!($name));
            assert!(err.contains(concat!("tests/data/bad/", stringify!($name), ".yaml")), "names the file: {err}");
            insta::assert_snapshot!(stringify!($name), err);
        }
    )*};
}

model_case!(
    unknown_field,
    wrong_type,
    missing_field,
    zero_size,
    negative_size,
    kernel_too_large,
    empty_layers,
    unknown_neuron_kind,
    iir2_without_alpha,
    linear_after_conv,
    pool_first,
    malformed_yaml,
    empty_file,
    inline_hardware_bad,
    inline_hardware_unknown_field,
    unknown_layer,
    unknown_lr_schedule,
);

hardware_case!(hw_zero_processors, hw_unknown_dataflow, hw_wrong_type, hw_zero_memory, hw_memory_wrong_type);

#[test]
fn cli_zero_processors() {
    let err = rejected(&[MODEL, "--hardware", HW, "--processors", "0"]);
    assert!(err.contains("--processors"), "names the flag: {err}");
    insta::assert_snapshot!("cli_zero_processors", err);
}

#[test]
fn no_hardware() {
    let err = rejected(&["tests/data/bad/no_hardware.yaml"]);
    assert!(err.contains("tests/data/bad/no_hardware.yaml"), "names the file: {err}");
    assert!(err.contains("--hardware"), "says how to fix it: {err}");
    insta::assert_snapshot!("no_hardware", err);
}

#[test]
fn missing_model_file() {
    let err = rejected(&["tests/data/bad/does_not_exist.yaml", "--hardware", HW]);
    assert!(err.contains("tests/data/bad/does_not_exist.yaml"), "names the file: {err}");
}

#[test]
fn layer_unknown_field() {
    let err = bad_model("layer_unknown_field");
    assert!(err.contains("tests/data/bad/layer_unknown_field.yaml:7:"), "names file and line: {err}");
    assert!(err.contains("bias"), "names the field: {err}");
    insta::assert_snapshot!("layer_unknown_field", err);
}

#[test]
fn tab_indent() {
    let err = bad_model("tab_indent");
    assert!(err.contains("tests/data/bad/tab_indent.yaml:7:1"), "names file, line and column: {err}");
    assert!(err.contains("indent with spaces"), "says how to fix it: {err}");
    insta::assert_snapshot!("tab_indent", err);
}

#[test]
fn messages_speak_yaml_not_rust() {
    for case in ["wrong_type", "negative_size"] {
        let err = bad_model(case);
        for rust in ["u64", "u32", "f64", "usize", "struct "] {
            assert!(!err.contains(rust), "{case}: Rust type name `{rust}` in: {err}");
        }
    }
    let err = bad_hardware("hw_wrong_type");
    assert!(err.contains("expected a number"), "{err}");
}
