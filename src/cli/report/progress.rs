//! One progress bar over the whole `report` run, on stderr; hidden when stderr is not a
//! terminal or with `--quiet`. (A plain ANSI line: the root crate does not depend on
//! indicatif, and the executor's per-epoch bar does not fit a run of many steps.)

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Progress over a known number of steps.
pub struct RunBar {
    total: u64,
    done: u64,
    hidden: bool,
    start: Instant,
}

impl RunBar {
    /// A bar of `total` steps.
    pub fn new(total: u64, quiet: bool) -> Self {
        RunBar {
            total: total.max(1),
            done: 0,
            hidden: quiet || !std::io::stderr().is_terminal(),
            start: Instant::now(),
        }
    }

    /// Adds steps to the total (work discovered later).
    pub fn add_total(&mut self, n: u64) {
        self.total += n;
    }

    /// Shows what is being done now (without completing a step).
    pub fn show(&self, msg: &str) {
        if self.hidden {
            return;
        }
        const WIDTH: u64 = 30;
        let filled = (WIDTH * self.done.min(self.total) / self.total) as usize;
        let secs = self.start.elapsed().as_secs();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r\x1b[2K[{}{}] {}/{} {:02}:{:02} {}",
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled),
            self.done,
            self.total,
            secs / 60,
            secs % 60,
            msg
        );
        let _ = err.flush();
    }

    /// Completes one step.
    pub fn inc(&mut self, msg: &str) {
        self.done += 1;
        self.show(msg);
    }

    /// Clears the line.
    pub fn finish(&self) {
        if !self.hidden {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
}
