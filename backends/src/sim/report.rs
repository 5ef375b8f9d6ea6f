//! The simulation report: JSON (fixed key order) and a plain-text table.

use std::fmt::Write as _;

use serde::Serialize;
use spikepipe_ir::{compute_staleness, Schedule};

use super::engine::Outcome;
use super::plan::Plan;
use super::trace::Trace;
use super::SimConfig;

/// What a simulation measured. See the [module docs](super) for the definitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    /// Model name.
    pub model: String,
    /// Scheduling method of the schedule.
    pub method: String,
    /// Processors P.
    pub processors: u32,
    /// `dedicated` or `shared`.
    pub links: String,
    /// Iterations N simulated.
    pub iterations: u32,
    /// Chunk instances simulated (chunks × N).
    pub chunk_instances: u64,
    /// Transfer instances simulated.
    pub transfer_instances: u64,
    /// End of the last instance.
    pub total_cycles: u64,
    /// `total_cycles` in microseconds at `hardware.clock_mhz`.
    pub total_us: f64,
    /// End of iteration 0's last chunk (pipeline latency of one minibatch).
    pub first_iteration_cycles: u64,
    /// Measured steady-state period (`null` for N = 1).
    pub achieved_period_cycles: Option<f64>,
    /// The schedule's II.
    pub scheduled_period_cycles: u64,
    /// `achieved / scheduled` (1 = the schedule's promise kept).
    pub period_ratio: Option<f64>,
    /// Whether the measurement window started after the pipeline filled: `h ≥ max_in_flight`
    /// (see the module docs). If not, a delayed run may still be catching up and the
    /// achieved period is not a steady-state figure (it can even be below the scheduled).
    pub steady_state_reached: bool,
    /// Iterations that make the window start after the fill: `2·max_in_flight + 2`.
    pub recommended_iterations: u32,
    /// Largest delay of a chunk instance past its scheduled slot.
    pub max_start_delay_cycles: u64,
    /// Largest time a ready transfer waited for its link.
    pub max_link_wait_cycles: u64,
    /// Per processor.
    pub utilization: Vec<ProcessorUtilization>,
    /// Mean busy % over processors.
    pub mean_busy_percent: f64,
    /// Bytes of all simulated transfers (N iterations).
    pub bytes_between_processors: u64,
    /// `bytes_between_processors / N`.
    pub bytes_between_processors_per_iteration: f64,
    /// Per link (dedicated: each ordered pair used; shared: the bus).
    pub link_usage: Vec<LinkUsage>,
    /// Most iterations in flight at once (activation sets to store).
    pub max_in_flight: u32,
    /// Observed staleness per layer.
    pub staleness: Vec<ObservedStaleness>,
    /// Measured peak bytes live per processor (see the module docs).
    pub peak_memory_bytes: Vec<u64>,
    /// The schedule's prediction ([`spikepipe_ir::peak_memory_bytes`]), for comparison.
    pub predicted_peak_memory_bytes: Vec<u64>,
    /// The hardware's memory per processor, if given.
    pub memory_bytes: Option<u64>,
    /// Recorded instances (only with [`SimConfig::record_trace`]); not serialized.
    #[serde(skip)]
    pub trace: Option<Trace>,
}

/// Busy time of one processor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProcessorUtilization {
    /// Processor index.
    pub processor: u32,
    /// Cycles spent running chunks.
    pub busy_cycles: u64,
    /// `100 · busy / total_cycles`.
    pub busy_percent: f64,
    /// `100 − busy_percent`.
    pub bubble_percent: f64,
    /// `100 · (busy cycles of one iteration) / achieved period`.
    pub steady_state_percent: Option<f64>,
}

/// Traffic on one link.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LinkUsage {
    /// `p0→p1` or `bus`.
    pub link: String,
    /// Transfer instances carried.
    pub transfers: u64,
    /// Bytes carried.
    pub bytes: u64,
    /// Cycles occupied.
    pub busy_cycles: u64,
    /// `100 · busy / total_cycles`.
    pub busy_percent: f64,
}

/// Staleness of one weight layer: observed (maximum over iterations) and scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObservedStaleness {
    /// 1-based weight layer.
    pub layer: u32,
    /// Observed s_l of `F_l`.
    pub forward: Option<u64>,
    /// The schedule's s_l.
    pub forward_scheduled: u64,
    /// Observed s'_l of `G_l` (`null` without `G_l`).
    pub input_grad: Option<u64>,
    /// The schedule's s'_l.
    pub input_grad_scheduled: Option<u64>,
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn pct(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        round6(100.0 * a as f64 / b as f64)
    }
}

/// Achieved period from iteration finish times (see module docs).
pub(crate) fn achieved_period(finish: &[u64]) -> Option<f64> {
    let n = finish.len();
    if n < 2 {
        return None;
    }
    let h = (n / 2).min(n - 2);
    let span = finish[n - 1] - finish[h];
    Some(round6(span as f64 / (n - 1 - h) as f64))
}

pub(crate) fn build(s: &Schedule, plan: &Plan, config: &SimConfig, out: Outcome) -> SimReport {
    let n = config.iterations;
    let total = out.total_cycles;
    let achieved = achieved_period(&out.iter_finish);
    let mut per_iter_busy = vec![0u64; plan.processors as usize];
    for c in &plan.chunks {
        per_iter_busy[c.processor as usize] += c.cycles;
    }
    let utilization: Vec<ProcessorUtilization> = (0..plan.processors as usize)
        .map(|q| {
            let busy = pct(out.proc_busy[q], total);
            ProcessorUtilization {
                processor: q as u32,
                busy_cycles: out.proc_busy[q],
                busy_percent: busy,
                bubble_percent: round6(100.0 - busy),
                steady_state_percent: achieved
                    .filter(|a| *a > 0.0)
                    .map(|a| round6(100.0 * per_iter_busy[q] as f64 / a)),
            }
        })
        .collect();
    let mean_busy = if utilization.is_empty() {
        0.0
    } else {
        round6(utilization.iter().map(|u| u.busy_percent).sum::<f64>() / utilization.len() as f64)
    };
    let link_names: Vec<String> = plan
        .links
        .iter()
        .map(|l| match l.pair {
            Some((a, b)) => format!("p{a}→p{b}"),
            None => "bus".to_string(),
        })
        .collect();
    let link_usage: Vec<LinkUsage> = link_names
        .iter()
        .enumerate()
        .map(|(l, name)| LinkUsage {
            link: name.clone(),
            transfers: out.link_count[l],
            bytes: out.link_bytes[l],
            busy_cycles: out.link_busy[l],
            busy_percent: pct(out.link_busy[l], total),
        })
        .collect();
    let bytes: u64 = out.link_bytes.iter().sum();
    let scheduled = compute_staleness(s);
    let staleness = (0..plan.layers as usize)
        .map(|l| {
            let sch = scheduled.get(l);
            ObservedStaleness {
                layer: l as u32 + 1,
                forward: out.staleness[l][0],
                forward_scheduled: sch.map_or(0, |x| x.forward),
                input_grad: out.staleness[l][1],
                input_grad_scheduled: sch.and_then(|x| x.input_grad),
            }
        })
        .collect();
    let predicted = spikepipe_ir::peak_memory_bytes(s);
    let mhz = if s.hardware.clock_mhz > 0.0 { s.hardware.clock_mhz } else { 1000.0 };
    let trace = config.record_trace.then(|| Trace {
        chunks: out.chunk_events,
        transfers: out.transfer_events,
        memory: out.memory_samples,
        links: link_names.clone(),
        processors: plan.processors,
        period_cycles: plan.period,
    });
    SimReport {
        model: s.model.name.clone(),
        method: s.method.clone(),
        processors: plan.processors,
        links: config.links.name().to_string(),
        iterations: n,
        chunk_instances: out.chunk_instances,
        transfer_instances: out.transfer_instances,
        total_cycles: total,
        total_us: round6(total as f64 / mhz),
        first_iteration_cycles: out.iter_finish.first().copied().unwrap_or(0),
        achieved_period_cycles: achieved,
        scheduled_period_cycles: s.period_cycles,
        period_ratio: achieved.map(|a| round6(a / s.period_cycles.max(1) as f64)),
        steady_state_reached: n >= 2 && (n as usize / 2).min(n as usize - 2) >= out.max_in_flight as usize,
        recommended_iterations: out.max_in_flight.saturating_mul(2).saturating_add(2),
        max_start_delay_cycles: out.max_start_delay,
        max_link_wait_cycles: out.max_link_wait,
        utilization,
        mean_busy_percent: mean_busy,
        bytes_between_processors: bytes,
        bytes_between_processors_per_iteration: round6(bytes as f64 / n.max(1) as f64),
        link_usage,
        max_in_flight: out.max_in_flight,
        staleness,
        peak_memory_bytes: out.peak_memory,
        predicted_peak_memory_bytes: predicted,
        memory_bytes: s.hardware.memory_bytes,
        trace,
    }
}

/// Bytes for people: `812.4 MiB`, `3.1 KiB`, `17 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |x| x.to_string())
}

impl SimReport {
    /// Pretty JSON in a fixed key order (byte-identical for equal runs).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A human-readable summary.
    pub fn to_table(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "simulated {} iterations of {} ({}, P={}, {} links)",
            self.iterations, self.model, self.method, self.processors, self.links
        );
        let _ = writeln!(o, "  total cycles            {} ({:.3} µs)", self.total_cycles, self.total_us);
        let _ = writeln!(o, "  first iteration         {} cycles", self.first_iteration_cycles);
        let _ = writeln!(
            o,
            "  period                  achieved {} / scheduled {} cycles (ratio {})",
            opt(self.achieved_period_cycles),
            self.scheduled_period_cycles,
            opt(self.period_ratio.map(|r| format!("{r:.4}")))
        );
        if !self.steady_state_reached && self.iterations >= 2 {
            let _ = writeln!(
                o,
                "  warning                 the pipeline holds {} iterations: the period was measured before it \
                 filled; use --iterations {} or more for a steady-state figure",
                self.max_in_flight, self.recommended_iterations
            );
        }
        let _ = writeln!(
            o,
            "  max delay               chunk start {} cycles, link wait {} cycles",
            self.max_start_delay_cycles, self.max_link_wait_cycles
        );
        let _ = writeln!(o, "  max in flight           {} iterations", self.max_in_flight);
        let _ = writeln!(
            o,
            "  bytes between procs     {} ({} per iteration)",
            self.bytes_between_processors, self.bytes_between_processors_per_iteration
        );
        let _ = writeln!(o, "\n  processor  busy cycles   busy %  bubble %  steady %");
        for u in &self.utilization {
            let _ = writeln!(
                o,
                "  p{:<9} {:>11} {:>8.2} {:>9.2} {:>9}",
                u.processor,
                u.busy_cycles,
                u.busy_percent,
                u.bubble_percent,
                opt(u.steady_state_percent.map(|x| format!("{x:.2}")))
            );
        }
        let _ = writeln!(o, "  mean       {:>11} {:>8.2}", "", self.mean_busy_percent);
        if !self.link_usage.is_empty() {
            let _ = writeln!(o, "\n  link       transfers        bytes  busy cycles   busy %");
            for l in &self.link_usage {
                let _ = writeln!(
                    o,
                    "  {:<10} {:>9} {:>12} {:>12} {:>8.2}",
                    l.link, l.transfers, l.bytes, l.busy_cycles, l.busy_percent
                );
            }
        }
        let _ = writeln!(o, "\n  processor  peak memory (predicted)");
        for (q, peak) in self.peak_memory_bytes.iter().enumerate() {
            let predicted = self.predicted_peak_memory_bytes.get(q).copied().unwrap_or(0);
            let over = match self.memory_bytes {
                Some(cap) if *peak > cap => format!("  over the {} memory", human_bytes(cap)),
                _ => String::new(),
            };
            let _ = writeln!(o, "  p{q:<9} {:>11} ({}){over}", human_bytes(*peak), human_bytes(predicted));
        }
        let _ = writeln!(o, "\n  layer  forward s (sched)  input-grad s' (sched)");
        for st in &self.staleness {
            let _ = writeln!(
                o,
                "  {:<6} {:>9} {:>7}  {:>13} {:>7}",
                st.layer,
                opt(st.forward),
                format!("({})", st.forward_scheduled),
                opt(st.input_grad),
                format!("({})", opt(st.input_grad_scheduled))
            );
        }
        o
    }
}
