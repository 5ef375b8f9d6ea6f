//! A terminal progress bar for [`Progress`] events (indicatif).

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Progress;

/// Shows one bar per epoch on stderr; hidden when stderr is not a terminal or `quiet`.
pub struct EpochBar {
    bar: Option<ProgressBar>,
    hidden: bool,
    label: String,
}

impl EpochBar {
    /// A bar labelled `label` (e.g. "pipelined", "baseline").
    pub fn new(label: &str, quiet: bool) -> Self {
        EpochBar { bar: None, hidden: quiet || !std::io::stderr().is_terminal(), label: label.to_string() }
    }

    /// Feeds one event.
    pub fn update(&mut self, p: Progress) {
        if self.hidden {
            return;
        }
        match p {
            Progress::EpochStart { epoch, epochs, batches } => {
                let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{prefix} {bar:30.cyan/blue} {pos}/{len} batches {msg} [{elapsed_precise} < {eta_precise}]",
                ) {
                    bar.set_style(style);
                }
                bar.set_prefix(format!("{} epoch {epoch}/{epochs}", self.label));
                self.bar = Some(bar);
            }
            Progress::Batch { done, loss, .. } => {
                if let Some(b) = &self.bar {
                    b.set_position(done as u64);
                    b.set_message(format!("loss {loss:.4}"));
                }
            }
            Progress::Eval(e) => {
                if let Some(b) = &self.bar {
                    b.println(format!(
                        "{} iteration {}: test accuracy {:.4}",
                        self.label, e.iteration, e.test_accuracy
                    ));
                }
            }
            Progress::EpochEnd(_) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
            }
        }
    }
}
