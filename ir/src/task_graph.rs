//! The training-task graph (DESIGN §4): a petgraph DAG of per-layer tasks, plus the
//! weight-feedback edges `U→F` and `U→G` that close the loop across iterations.
//!
//! Plain data: lowering builds it, the cost pass fills in `cycles`, schedulers read it.
//!
//! ```
//! use spikepipe_ir::{Task, TaskKind, Work};
//! let t = Task { layer: 2, kind: TaskKind::InputGrad,
//!                work: Work::Gemm { m: 8, k: 4, n: 3 }, cycles: 0 };
//! assert_eq!(t.id(), "G2");
//! ```

use petgraph::graph::{DiGraph, NodeIndex};
use serde::{Deserialize, Serialize};

/// What a task computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// `F_l`: forward synaptic GEMM.
    Forward,
    /// `S_l`: neuron forward (IIR filter, threshold, pooling).
    Neuron,
    /// `E_l`: neuron backward (reverse-time IIR × surrogate; loss on the last layer).
    NeuronBackward,
    /// `G_l`: input-gradient GEMM (l ≥ 2).
    InputGrad,
    /// `W_l`: weight-gradient GEMM.
    WeightGrad,
    /// `U_l`: optimizer update.
    Update,
    /// `R_l`: the forward GEMM of `F_l` run again during backward (activation
    /// checkpointing), so the neuron state need not be stored from `S_l` to `E_l`.
    Recompute,
}

impl TaskKind {
    /// Letter used in task ids (`F`, `S`, `E`, `G`, `W`, `U`).
    pub fn letter(self) -> char {
        match self {
            TaskKind::Forward => 'F',
            TaskKind::Neuron => 'S',
            TaskKind::NeuronBackward => 'E',
            TaskKind::InputGrad => 'G',
            TaskKind::WeightGrad => 'W',
            TaskKind::Update => 'U',
            TaskKind::Recompute => 'R',
        }
    }
    /// The snake_case name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            TaskKind::Forward => "forward",
            TaskKind::Neuron => "neuron",
            TaskKind::NeuronBackward => "neuron_backward",
            TaskKind::InputGrad => "input_grad",
            TaskKind::WeightGrad => "weight_grad",
            TaskKind::Update => "update",
            TaskKind::Recompute => "recompute",
        }
    }
    /// Whether this task runs on the systolic array.
    pub fn is_gemm(self) -> bool {
        matches!(self, TaskKind::Forward | TaskKind::InputGrad | TaskKind::WeightGrad | TaskKind::Recompute)
    }
}

/// The work of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Work {
    /// `out[M×N] = A[M×K] · B[K×N]` on the systolic array.
    Gemm {
        /// Rows of the output.
        m: u64,
        /// Reduction dimension.
        k: u64,
        /// Columns of the output.
        n: u64,
    },
    /// Element-wise work on the vector unit.
    Elementwise {
        /// Elements processed.
        elements: u64,
        /// Operations per element (see the cost model).
        ops_per_element: u64,
    },
}

/// One training task of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// 1-based weight layer.
    pub layer: u32,
    /// Kind of work.
    pub kind: TaskKind,
    /// Size of the work.
    pub work: Work,
    /// Cycles of the whole task on one processor (0 until the cost pass runs).
    pub cycles: u64,
}

impl Task {
    /// The task id, e.g. `F1`, `G2`.
    pub fn id(&self) -> String {
        format!("{}{}", self.kind.letter(), self.layer)
    }
}

/// Whether an edge is a dependence inside one iteration or the weight feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// Distance-0 data dependence inside one iteration.
    Data,
    /// `U_l → F_l` / `U_l → G_l`: updated weights for later iterations (cut by delayed gradients).
    WeightFeedback,
}

/// A tensor moved from one task to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependence {
    /// Data or weight feedback.
    pub kind: EdgeKind,
    /// Bytes of the tensor.
    pub bytes: u64,
    /// A consumer split along this dimension needs only its share of the tensor.
    pub sliced_by: Option<crate::SplitDim>,
}

/// The task graph of one model on one hardware description.
#[derive(Debug, Clone)]
pub struct TaskGraph {
    /// Model name.
    pub model: String,
    /// Tasks in a fixed order (layer by layer: F S E G W U) and their edges.
    pub graph: DiGraph<Task, Dependence>,
}

impl TaskGraph {
    /// Tasks in node order.
    pub fn tasks(&self) -> impl Iterator<Item = (NodeIndex, &Task)> {
        self.graph.node_indices().map(move |i| (i, &self.graph[i]))
    }
    /// The node of a task id such as `W3`.
    pub fn find(&self, id: &str) -> Option<NodeIndex> {
        self.tasks().find(|(_, t)| t.id() == id).map(|(i, _)| i)
    }
    /// Distance-0 edges `(from, to, bytes)` in edge order.
    pub fn data_edges(&self) -> impl Iterator<Item = (NodeIndex, NodeIndex, u64)> + '_ {
        self.graph
            .raw_edges()
            .iter()
            .filter(|e| e.weight.kind == EdgeKind::Data)
            .map(|e| (e.source(), e.target(), e.weight.bytes))
    }
    /// Sum of all task cycles.
    pub fn total_cycles(&self) -> u64 {
        self.graph.node_weights().map(|t| t.cycles).sum()
    }
    /// Number of weight layers.
    pub fn layers(&self) -> u32 {
        self.graph.node_weights().map(|t| t.layer).max().unwrap_or(0)
    }
}
