//! Reading a schedule file the user hands in (`simulate`, `train --schedule`): it is
//! parsed, verified and re-costed before anything runs on it, so a hand-edited file is
//! rejected with every broken rule listed instead of silently trusted.

use std::path::Path;

use spikepipe_compiler::{emit, plain_types, recost, Specs};
use spikepipe_ir::{verify_schedule, ModelSpec, Network, Schedule, Violations, SCHEDULE_FORMAT};

use super::bad_input;
use super::outputs::os_message;

/// Reads and parses a schedule file, with messages that name the problem.
pub fn load(path: &Path) -> anyhow::Result<Schedule> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| bad_input(format!("cannot read schedule {}: {}", path.display(), os_message(&e))))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad_input(format!("{} is not valid JSON: {e}", path.display())))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(SCHEDULE_FORMAT) => {}
        Some("spikepipe-schedule/1") => {
            return Err(bad_input(format!(
                "{}: a spikepipe-schedule/1 file, written before the traffic model counted only the \
                 block of a tensor that two chunks share (docs/design.md, section 4); its transfers \
                 no longer match. Compile the model again to get a {SCHEDULE_FORMAT} file",
                path.display()
            )))
        }
        Some(other) => {
            return Err(bad_input(format!(
                "{}: unsupported schedule format {other:?} (expected {SCHEDULE_FORMAT:?})",
                path.display()
            )))
        }
        None => {
            return Err(bad_input(format!(
                "{}: not a schedule file (no \"format\": {SCHEDULE_FORMAT:?} field)",
                path.display()
            )))
        }
    }
    Schedule::from_json(&text).map_err(|e| {
        bad_input(format!("{}: malformed schedule: {}", path.display(), plain_types(&e.to_string())))
    })
}

/// Checks a schedule against the format's rules and its chunks' cycles against the cost
/// model on its own hardware.
pub fn verify(path: &Path, s: &Schedule) -> anyhow::Result<()> {
    let mut all = Vec::new();
    if let Err(Violations(v)) = verify_schedule(s) {
        all.extend(v);
    }
    if let Err(Violations(v)) = recost::check_cycles(s) {
        all.extend(v);
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(anyhow::Error::new(Violations(all)).context(format!("{}: invalid schedule", path.display())))
    }
}

/// [`load`] then [`verify`].
pub fn load_verified(path: &Path) -> anyhow::Result<Schedule> {
    let s = load(path)?;
    verify(path, &s)?;
    Ok(s)
}

/// Checks that a schedule was compiled for this model: same name, and the same spec hash
/// as the model with the schedule's hardware gives (so an edited model, or another model
/// with the same layer count, is caught).
pub fn check_belongs(
    path: &Path,
    s: &Schedule,
    model_path: &Path,
    model: &ModelSpec,
    net: &Network,
) -> anyhow::Result<()> {
    if s.model.name != model.name {
        return Err(bad_input(format!(
            "{}: the schedule was compiled for model `{}`, but {} is model `{}`; compile one for it with `spikepipe compile {} -o FILE`",
            path.display(),
            s.model.name,
            model_path.display(),
            model.name,
            model_path.display()
        )));
    }
    let specs = Specs { model: model.clone(), network: net.clone(), hardware: s.hardware.clone() };
    let hash = emit::spec_hash(&specs);
    if s.model.spec_hash != hash {
        return Err(bad_input(format!(
            "{}: the schedule was compiled from a different version of `{}` (spec_hash {} in the file, {} from {} with the schedule's hardware); recompile it with `spikepipe compile {} -o FILE`",
            path.display(),
            model.name,
            s.model.spec_hash,
            hash,
            model_path.display(),
            model_path.display()
        )));
    }
    Ok(())
}
