//! Time to accuracy: how long, on a schedule's hardware, training takes to reach a test
//! accuracy (definitions in docs/time-to-accuracy.md).
//!
//! - An *iteration* is one minibatch update; the trainer evaluates the test set every
//!   N iterations and at every epoch's end ([`EvalPoint`]).
//! - The *iterations to target* are those of the first evaluation whose accuracy is at
//!   or above the target.
//! - The *simulated time* of k ≥ 1 iterations on a schedule is `fill + (k − 1) · period`
//!   cycles at the hardware clock, where `fill` is the makespan of iteration 0 (the
//!   latest end of its chunks and transfers; later iterations start one period apart, so
//!   iteration k − 1 ends `(k − 1) · period` after iteration 0 does) — [`PipelineTiming`].

use serde::{Deserialize, Serialize};
use spikepipe_ir::Schedule;

/// One test evaluation during training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Iterations (updates) trained before the evaluation.
    pub iteration: u64,
    /// 1-based epoch the evaluation happened in.
    pub epoch: u64,
    /// Test accuracy of the newest weights.
    pub test_accuracy: f64,
    /// Fraction of test samples with no output spike at all (a silent output layer).
    #[serde(default)]
    pub silent_outputs: f64,
    /// Firing rate of every layer on the test set (spikes per neuron and step).
    #[serde(default)]
    pub firing_rates: Vec<f64>,
}

/// Timing of a schedule: what one more iteration costs on the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PipelineTiming {
    /// Makespan of iteration 0 in cycles.
    pub fill_cycles: u64,
    /// Cycles between the starts of consecutive iterations.
    pub period_cycles: u64,
    /// Hardware clock in Hz.
    pub clock_hz: f64,
}

impl PipelineTiming {
    /// The timing of a compiled schedule.
    pub fn from_schedule(s: &Schedule) -> Self {
        let chunks = s.tasks.iter().flat_map(|t| t.chunks.iter().map(|c| c.end()));
        let transfers = s.transfers.iter().map(|t| t.end());
        let fill = chunks.chain(transfers).max().unwrap_or(0).max(s.period_cycles);
        PipelineTiming {
            fill_cycles: fill,
            period_cycles: s.period_cycles,
            clock_hz: s.hardware.clock_mhz * 1e6,
        }
    }

    /// Seconds for `k` iterations: `(fill + (k − 1) · period) / clock`, 0 for none.
    pub fn seconds(&self, k: u64) -> f64 {
        if k == 0 || self.clock_hz <= 0.0 {
            return 0.0;
        }
        (self.fill_cycles as f64 + (k - 1) as f64 * self.period_cycles as f64) / self.clock_hz
    }
}

/// Iterations and simulated seconds to reach a test accuracy.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TimeToAccuracy {
    /// Target test accuracy (0–1).
    pub target: f64,
    /// Iterations of the first evaluation at or above the target (`None`: never reached).
    pub iterations: Option<u64>,
    /// Simulated seconds of those iterations (`None`: not reached, or no schedule).
    pub seconds: Option<f64>,
    /// Whether the target was reached.
    pub reached: bool,
}

/// The time to `target` of a run with these evaluations, on `timing` if known.
pub fn time_to_accuracy(evals: &[EvalPoint], target: f64, timing: Option<&PipelineTiming>) -> TimeToAccuracy {
    let hit = evals.iter().filter(|e| e.test_accuracy >= target).map(|e| e.iteration).min();
    TimeToAccuracy {
        target,
        iterations: hit,
        seconds: hit.and_then(|k| timing.map(|t| t.seconds(k))),
        reached: hit.is_some(),
    }
}

/// How far below the no-delay run's final test accuracy the default target lies.
pub const TARGET_MARGIN: f64 = 0.005;

/// The default target (`train --baseline`, `tune`, `report --train`): the no-delay run's
/// final test accuracy − [`TARGET_MARGIN`], at least 0.
pub fn default_target(no_delay_final_accuracy: f64) -> f64 {
    (no_delay_final_accuracy - TARGET_MARGIN).max(0.0)
}

/// Iterations between evaluations for about `per_epoch` evaluations per epoch of
/// `train_samples` samples in batches of `batch` (at least 1).
pub fn eval_interval(train_samples: usize, batch: u64, per_epoch: usize) -> usize {
    train_samples.div_ceil(batch.max(1) as usize).div_ceil(per_epoch.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_target_and_eval_interval() {
        assert_eq!(default_target(0.9), 0.9 - 0.005);
        assert_eq!(default_target(0.001), 0.0);
        // 1 437 samples in batches of 64: 23 iterations, 8 evaluations → every 3.
        assert_eq!(eval_interval(1437, 64, 8), 3);
        assert_eq!(eval_interval(10, 64, 8), 1);
        assert_eq!(eval_interval(60_000, 128, 4), 118);
    }
}
