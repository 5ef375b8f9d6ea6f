//! The one progress display of the command line, on stderr and only when stderr is a
//! terminal (and not `--quiet`): a bar over a known number of steps (`compare`,
//! `report`), or a line with the elapsed time for one long call that reports nothing
//! (`compile`'s ILP solve, a long `simulate`). Nothing is printed into pipes or logs.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Whether progress may be drawn.
pub fn visible(quiet: bool) -> bool {
    !quiet && std::io::stderr().is_terminal()
}

fn draw(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{line}");
    let _ = err.flush();
}

fn clock(start: Instant) -> String {
    let secs = start.elapsed().as_secs();
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

struct State {
    total: u64,
    done: u64,
}

/// Progress over a known number of steps; shareable between threads.
pub struct Bar {
    state: Mutex<State>,
    shown: bool,
    start: Instant,
}

impl Bar {
    /// A bar of `total` steps.
    pub fn new(total: u64, quiet: bool) -> Self {
        Bar {
            state: Mutex::new(State { total: total.max(1), done: 0 }),
            shown: visible(quiet),
            start: Instant::now(),
        }
    }

    /// Adds steps to the total (work discovered later).
    pub fn add_total(&self, n: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.total += n;
        }
    }

    /// Shows what is being done now (without completing a step).
    pub fn show(&self, msg: &str) {
        if !self.shown {
            return;
        }
        const WIDTH: u64 = 30;
        let Ok(s) = self.state.lock() else { return };
        let filled = (WIDTH * s.done.min(s.total) / s.total) as usize;
        draw(&format!(
            "[{}{}] {}/{} {} {msg}",
            "#".repeat(filled),
            "-".repeat(WIDTH as usize - filled),
            s.done,
            s.total,
            clock(self.start)
        ));
    }

    /// Completes one step and shows `msg`.
    pub fn inc(&self, msg: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.done += 1;
        }
        self.show(msg);
    }

    /// Clears the line.
    pub fn finish(&self) {
        if self.shown {
            draw("");
        }
    }
}

/// "MESSAGE 00:12" redrawn every quarter second while one long call runs; cleared on drop.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts ticking (does nothing when progress is not visible).
    pub fn start(msg: impl Into<String>, quiet: bool) -> Ticker {
        let stop = Arc::new(AtomicBool::new(false));
        if !visible(quiet) {
            return Ticker { stop, thread: None };
        }
        let msg = msg.into();
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                draw(&format!("{msg} {}", clock(start)));
                std::thread::sleep(Duration::from_millis(250));
            }
            draw("");
        });
        Ticker { stop, thread: Some(thread) }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
