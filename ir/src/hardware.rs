//! The hardware spec: P identical systolic-array processors and their links (DESIGN §2).
//!
//! ```
//! use spikepipe_ir::{Dataflow, HardwareSpec};
//! let json = r#"{"processors":4,"array":{"rows":32,"cols":32,"dataflow":"ws"},
//!   "vector_lanes":32,"clock_mhz":500,"link":{"bytes_per_cycle":16,"latency_cycles":20}}"#;
//! let hw: HardwareSpec = serde_json::from_str(json).unwrap();
//! assert_eq!(hw.array.dataflow, Dataflow::Ws);
//! assert_eq!(hw.bits.spike, 1); // bit widths default to 1/16/16/16
//! assert_eq!(hw.transfer_cycles(100), 20 + 7);
//! ```

use serde::{Deserialize, Serialize};

/// A machine of `processors` identical systolic-array processors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HardwareSpec {
    /// Number of processors P.
    pub processors: u64,
    /// The systolic array of each processor.
    pub array: ArraySpec,
    /// Lanes of the vector unit doing element-wise work.
    pub vector_lanes: u64,
    /// Clock in MHz (used only to report seconds).
    #[serde(default = "default_clock")]
    pub clock_mhz: f64,
    /// Point-to-point link between two processors.
    pub link: LinkSpec,
    /// Bit widths of the tensors (default spike 1, others 16).
    #[serde(default)]
    pub bits: BitsSpec,
    /// Memory of each processor in bytes (one capacity for everything a schedule keeps
    /// alive there; see `docs/memory.md`). `None`: unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
}

fn default_clock() -> f64 {
    1000.0
}

/// Systolic array geometry and dataflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArraySpec {
    /// Rows R.
    pub rows: u64,
    /// Columns C.
    pub cols: u64,
    /// Dataflow.
    pub dataflow: Dataflow,
}

/// Which operand stays in the array (SCALE-Sim's naming).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataflow {
    /// Output stationary.
    Os,
    /// Weight stationary.
    Ws,
    /// Input stationary.
    Is,
    /// Reconfigurable array: each GEMM uses its cheapest dataflow.
    Best,
}

impl Dataflow {
    /// The name as written in YAML.
    pub fn name(self) -> &'static str {
        match self {
            Dataflow::Os => "os",
            Dataflow::Ws => "ws",
            Dataflow::Is => "is",
            Dataflow::Best => "best",
        }
    }
}

/// Inter-processor link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// Bandwidth in bytes per cycle.
    pub bytes_per_cycle: u64,
    /// Fixed latency of one transfer in cycles.
    pub latency_cycles: u64,
}

impl LinkSpec {
    /// Cycles to move `bytes` between two different processors:
    /// `latency + ceil(bytes / bandwidth)`. The one transfer-cost formula: the verifier
    /// reads it through [`HardwareSpec::transfer_cycles`], the compiler through its cost
    /// model.
    pub fn transfer_cycles(&self, bytes: u64) -> u64 {
        self.latency_cycles.saturating_add(bytes.div_ceil(self.bytes_per_cycle.max(1)))
    }
}

/// Bit widths of the tensors moved between tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BitsSpec {
    /// Spikes (normally 1).
    pub spike: u64,
    /// Activations (synaptic currents, membrane state).
    pub activation: u64,
    /// Gradients.
    pub gradient: u64,
    /// Weights.
    pub weight: u64,
}

impl Default for BitsSpec {
    fn default() -> Self {
        BitsSpec { spike: 1, activation: 16, gradient: 16, weight: 16 }
    }
}

impl HardwareSpec {
    /// Cycles to move `bytes` between two different processors ([`LinkSpec::transfer_cycles`]).
    pub fn transfer_cycles(&self, bytes: u64) -> u64 {
        self.link.transfer_cycles(bytes)
    }

    /// Cycles of `elements · ops_per_element` operations on the vector unit:
    /// `ceil(elements · ops / lanes)`.
    pub fn elementwise_cycles(&self, elements: u64, ops_per_element: u64) -> u64 {
        elements.saturating_mul(ops_per_element).div_ceil(self.vector_lanes.max(1))
    }

    /// Cycles to sum `partials` partial results of `elements` each into one: one add per
    /// element for every partial beyond the first, on the vector unit.
    pub fn reduce_cycles(&self, elements: u64, partials: u64) -> u64 {
        self.elementwise_cycles(elements, partials.saturating_sub(1))
    }
}
