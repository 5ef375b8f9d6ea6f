//! Weight versions for delayed updates (DESIGN §6).
//!
//! Version `j` of a layer's weights holds the updates of minibatches `0..j` (version 0 is
//! the initialisation). In minibatch `i` the forward pass of layer l reads version
//! `max(0, i − s_l)` — the updates of minibatches ≤ i − 1 − s_l — and the input-gradient
//! pass reads `max(0, i − s'_l)` (or the forward's version with weight stashing). The
//! update of minibatch i is applied to the newest version i, giving version i + 1. A ring
//! of the last `max(s_l, s'_l) + 1` versions per layer is all that is ever read.

use std::collections::VecDeque;

use nalgebra::DMatrix;

use super::Real;

/// Past weight versions of one layer, newest at the back.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightRing<F: Real> {
    versions: VecDeque<DMatrix<F>>,
    cap: usize,
}

impl<F: Real> WeightRing<F> {
    /// A ring holding `initial` as version 0 and keeping at most `max_staleness + 1` versions.
    pub fn new(initial: DMatrix<F>, max_staleness: usize) -> Self {
        let mut versions = VecDeque::with_capacity(max_staleness + 1);
        versions.push_back(initial);
        WeightRing { versions, cap: max_staleness + 1 }
    }

    /// Restores a ring from its versions (oldest first).
    pub fn from_versions(versions: Vec<DMatrix<F>>, max_staleness: usize) -> Self {
        let mut r = WeightRing { versions: versions.into(), cap: max_staleness + 1 };
        while r.versions.len() > r.cap {
            r.versions.pop_front();
        }
        r
    }

    /// The version `s` updates behind the newest (clamped to the oldest kept, which is
    /// version 0 while fewer than `s` updates have happened).
    pub fn behind(&self, s: usize) -> &DMatrix<F> {
        let n = self.versions.len();
        &self.versions[n - 1 - s.min(n - 1)]
    }

    /// The newest version.
    pub fn newest(&self) -> &DMatrix<F> {
        self.behind(0)
    }

    /// Appends a new newest version, dropping the oldest beyond the capacity.
    pub fn push(&mut self, w: DMatrix<F>) {
        self.versions.push_back(w);
        while self.versions.len() > self.cap {
            self.versions.pop_front();
        }
    }

    /// All kept versions, oldest first.
    pub fn versions(&self) -> impl Iterator<Item = &DMatrix<F>> {
        self.versions.iter()
    }

    /// Number of kept versions.
    pub fn len(&self) -> usize {
        self.versions.len()
    }

    /// Never empty; for clippy.
    pub fn is_empty(&self) -> bool {
        self.versions.is_empty()
    }
}
