//! Fuzzing of the two inputs users hand us: spec YAML and schedule JSON.
//!
//! - arbitrary bytes and structured mutations of the bundled YAML go to the front end:
//!   it must return a value or a clear error (file, field), never panic;
//! - mutations of valid schedule JSON go to the simulator: it must simulate or reject
//!   with a message, never panic or hang.
//!
//! CI runs a bounded number of cases. For a long run:
//! `FUZZ_SECONDS=600 cargo test --release --test fuzz -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use spikepipe_backends::sim::{simulate, SimConfig};
use spikepipe_compiler::parse::{parse_hardware, parse_model};
use spikepipe_compiler::{compile, load_specs, CompileOptions, Method};
use spikepipe_ir::Schedule;

/// xorshift64*: a tiny deterministic generator, so every run is reproducible by seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "3",
    "65536",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999",
    "0.0",
    "-0.5",
    "1e308",
    "nan",
    ".inf",
    "null",
    "true",
    "\"x\"",
    "[]",
    "{}",
    "[1, 2]",
    "~",
    "!linear {}",
];

/// One structured mutation of a text: replace a number, drop/duplicate/swap lines,
/// insert an interesting token, or flip a byte.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return INTERESTING[rng.below(INTERESTING.len())].to_string();
    }
    let i = rng.below(lines.len());
    match rng.below(6) {
        0 => {
            // Replace the first number on the line.
            let line = &lines[i];
            if let Some(start) = line.find(|c: char| c.is_ascii_digit()) {
                let end = line[start..]
                    .find(|c: char| !c.is_ascii_digit() && c != '.')
                    .map_or(line.len(), |e| start + e);
                let token = INTERESTING[rng.below(INTERESTING.len())];
                lines[i] = format!("{}{}{}", &line[..start], token, &line[end..]);
            }
        }
        1 => {
            lines.remove(i);
        }
        2 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        3 => {
            let j = rng.below(lines.len());
            lines.swap(i, j);
        }
        4 => {
            let token = INTERESTING[rng.below(INTERESTING.len())];
            let pos = rng.below(lines[i].len() + 1);
            let pos = (0..=pos).rev().find(|&p| lines[i].is_char_boundary(p)).unwrap_or(0);
            lines[i].insert_str(pos, token);
        }
        _ => {
            let mut bytes = lines[i].clone().into_bytes();
            if !bytes.is_empty() {
                let k = rng.below(bytes.len());
                bytes[k] = b" :{}[],-#\"'0a"[rng.below(13)];
            }
            lines[i] = String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    lines.join("\n")
}

fn bundled(dir: &str) -> Vec<String> {
    let mut files: Vec<_> =
        std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

fn valid_schedules() -> Vec<String> {
    let specs =
        load_specs("models/mlp-digits.yaml".as_ref(), Some("models/hw/sa32-ws.yaml".as_ref()), Some(3))
            .expect("bundled specs parse");
    [Method::Heuristic, Method::Pipedream, Method::Gpipe]
        .into_iter()
        .map(|m| compile(&specs, &CompileOptions::new(m)).expect("bundled model compiles").to_json())
        .collect()
}

/// Feeds one YAML text to the model and hardware parsers; errors must render.
fn front_end(text: &str) -> bool {
    let model = parse_model("fuzz.yaml".as_ref(), text).map(|_| ()).map_err(|e| e.to_string());
    let hw = parse_hardware("fuzz.yaml".as_ref(), text).map(|_| ()).map_err(|e| e.to_string());
    for r in [&model, &hw] {
        if let Err(msg) = r {
            assert!(msg.starts_with("fuzz.yaml"), "error does not name the file: {msg}");
        }
    }
    model.is_ok()
}

/// Feeds one JSON text to the simulator; rejections must render.
fn back_end(text: &str) -> bool {
    let Ok(s) = Schedule::from_json(text) else { return false };
    match simulate(&s, &SimConfig { iterations: 4, ..SimConfig::default() }) {
        Ok(_) => true,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            false
        }
    }
}

fn run(rng: &mut Rng, budget: Budget) -> (u64, u64, u64, u64) {
    let specs: Vec<String> = bundled("models").into_iter().chain(bundled("models/hw")).collect();
    let schedules = valid_schedules();
    assert!(!specs.is_empty() && !schedules.is_empty());
    let (mut yaml, mut yaml_ok, mut json, mut json_ok) = (0, 0, 0, 0);
    while budget.more(yaml + json) {
        let base = &specs[rng.below(specs.len())];
        let mut text = mutate(rng, base);
        for _ in 0..rng.below(3) {
            text = mutate(rng, &text);
        }
        if rng.below(10) == 0 {
            let len = rng.below(200);
            text = (0..len).map(|_| (rng.next() & 0x7f) as u8 as char).collect();
        }
        yaml += 1;
        yaml_ok += u64::from(front_end(&text));

        let base = &schedules[rng.below(schedules.len())];
        let mut text = mutate(rng, base);
        for _ in 0..rng.below(3) {
            text = mutate(rng, &text);
        }
        json += 1;
        json_ok += u64::from(back_end(&text));
    }
    (yaml, yaml_ok, json, json_ok)
}

#[derive(Clone, Copy)]
enum Budget {
    Cases(u64),
    Until(Instant),
}

impl Budget {
    fn more(self, done: u64) -> bool {
        match self {
            Budget::Cases(n) => done < n,
            Budget::Until(t) => Instant::now() < t,
        }
    }
}

#[test]
fn mutated_specs_and_schedules_never_panic() {
    let mut rng = Rng(0x5eed_0001);
    let (yaml, yaml_ok, json, json_ok) = run(&mut rng, Budget::Cases(3000));
    // Some mutations must survive (the fuzzer is not just producing garbage), and most
    // must be rejected (the checks are not vacuous).
    assert!(yaml_ok > 0 && yaml_ok < yaml, "{yaml_ok} of {yaml} YAML inputs accepted");
    assert!(json_ok > 0 && json_ok < json, "{json_ok} of {json} schedules accepted");
}

#[test]
#[ignore = "long fuzzing run; set FUZZ_SECONDS"]
fn fuzz_for_a_while() {
    let secs: u64 = std::env::var("FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_0002);
    let mut rng = Rng(seed | 1);
    let started = Instant::now();
    let (yaml, yaml_ok, json, json_ok) = run(&mut rng, Budget::Until(started + Duration::from_secs(secs)));
    println!(
        "fuzzed {:.0} s: {yaml} YAML inputs ({yaml_ok} accepted), {json} schedules ({json_ok} simulated), no panic",
        started.elapsed().as_secs_f64()
    );
}
