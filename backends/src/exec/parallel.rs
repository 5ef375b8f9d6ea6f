//! The executor's worker threads: a rayon pool of a fixed size per trainer.
//!
//! Results come back in index order whatever the thread count, which (with the fixed
//! chunking of a batch) keeps every sum in the same order and so every number the same.

use std::sync::Arc;

use rayon::prelude::*;

/// A pool of `threads` workers (or none, for one thread).
#[derive(Debug, Clone)]
pub struct Workers {
    pool: Option<Arc<rayon::ThreadPool>>,
    threads: usize,
}

impl Workers {
    /// `threads` workers; 0 means one per available core. If the OS refuses to start
    /// threads, work runs on the calling thread (same results, slower).
    pub fn new(threads: usize) -> Self {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
        } else {
            threads
        };
        let pool = (threads > 1)
            .then(|| rayon::ThreadPoolBuilder::new().num_threads(threads).build().ok().map(Arc::new))
            .flatten();
        Workers { pool, threads }
    }

    /// Worker count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// `f(0..n)`, results in index order.
    pub fn map<R: Send, G: Fn(usize) -> R + Sync + Send>(&self, n: usize, f: G) -> Vec<R> {
        match &self.pool {
            Some(pool) if n > 1 => pool.install(|| (0..n).into_par_iter().map(f).collect()),
            _ => (0..n).map(f).collect(),
        }
    }
}
