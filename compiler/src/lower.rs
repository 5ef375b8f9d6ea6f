//! Pass 2: lower a [`Network`] to the training [`TaskGraph`] (DESIGN §4).
//!
//! Per weight layer l, with `P_l = B·T·positions`, `K_l` = fan-in and `N_l` = outputs:
//! `F_l = (P_l, K_l, N_l)`, `G_l = (P_l, N_l, K_l)` (l ≥ 2), `W_l = (K_l, P_l, N_l)`, and
//! element-wise `S_l`, `E_l` (B·T·outputs) and `U_l` (K_l·N_l parameters).
//!
//! Operations per element on the vector unit (a documented choice, DESIGN §9):
//! `S`: lif 3 (decay, add, compare), iir2 4 (+1 with pooling); `E`: lif 4, iir2 5 (+1 with
//! pooling for the un-pool, +1 on the last layer for the loss); `U`: SGD 2, Adam 8.

use spikepipe_ir::{
    BitsSpec, Dependence, EdgeKind, Network, NeuronKind, Optimizer, PoolKind, SplitDim, Task, TaskGraph,
    TaskKind, Work,
};

/// Bytes of `elements` values of `bits` bits each.
pub fn tensor_bytes(elements: u64, bits: u64) -> u64 {
    (elements as u128 * bits as u128).div_ceil(8) as u64
}

fn neuron_ops(kind: NeuronKind) -> (u64, u64) {
    match kind {
        NeuronKind::Lif => (3, 4),
        NeuronKind::Iir2 => (4, 5),
    }
}

/// Lowers a network; task `cycles` stay 0 until [`crate::cost::annotate`].
pub fn lower(name: &str, net: &Network, bits: &BitsSpec, optimizer: Optimizer) -> TaskGraph {
    lower_with(name, net, bits, optimizer, &[])
}

/// Lowers a network with activation checkpointing on the 1-based layers `recompute`
/// (the last layer is never recomputed: its `E` follows its `S` at once). For such a
/// layer `l`, a task `R_l` re-runs `F_l`'s GEMM once the error of layer `l+1` exists
/// (`E_{l+1} → R_l`, no data), and `E_l` re-runs the neuron's forward pass from `R_l`'s
/// synaptic current before its reverse-time sweep (`E_l` gains `S_l`'s operations per
/// element). `S_l → E_l` is dropped: the neuron state is never kept across the pipeline.
pub fn lower_with(
    name: &str,
    net: &Network,
    bits: &BitsSpec,
    optimizer: Optimizer,
    recompute: &[u32],
) -> TaskGraph {
    let mut g = petgraph::graph::DiGraph::new();
    let bt = net.batch * net.timesteps;
    let count = net.layers.len();
    let mut prev_s = None;
    let mut prev_e = None;
    let (mut pending_recompute, mut recompute_before) = (None, None);
    let data = |bytes| Dependence { kind: EdgeKind::Data, bytes, sliced_by: None };
    let sliced = |bytes, dim| Dependence { kind: EdgeKind::Data, bytes, sliced_by: Some(dim) };
    // Updated weights: an `F`/`G` chunk split along N needs only its columns/rows of W.
    let feedback = |bytes| Dependence { kind: EdgeKind::WeightFeedback, bytes, sliced_by: Some(SplitDim::N) };
    for (i, layer) in net.layers.iter().enumerate() {
        let l = layer.index;
        let last = i + 1 == count;
        let (pl, kl, nl) = (bt * layer.op.positions(), layer.op.fan_in(), layer.op.out_channels());
        let outputs = bt * layer.op.output_elements();
        let (fw_ops, bw_ops) = neuron_ops(layer.neuron.kind);
        let pool_op = layer.pool.is_some() as u64;
        let task = |kind, work| Task { layer: l, kind, work, cycles: 0 };
        let f = g.add_node(task(TaskKind::Forward, Work::Gemm { m: pl, k: kl, n: nl }));
        let s = g.add_node(task(
            TaskKind::Neuron,
            Work::Elementwise { elements: outputs, ops_per_element: fw_ops + pool_op },
        ));
        let again = !last && recompute.contains(&l);
        let e = g.add_node(task(
            TaskKind::NeuronBackward,
            Work::Elementwise {
                elements: outputs,
                ops_per_element: bw_ops + pool_op + last as u64 + if again { fw_ops + pool_op } else { 0 },
            },
        ));
        let gi = (i > 0).then(|| g.add_node(task(TaskKind::InputGrad, Work::Gemm { m: pl, k: nl, n: kl })));
        let w = g.add_node(task(TaskKind::WeightGrad, Work::Gemm { m: kl, k: pl, n: nl }));
        let upd_ops = match optimizer {
            Optimizer::Sgd => 2,
            Optimizer::Adam => 8,
        };
        let u = g.add_node(task(
            TaskKind::Update,
            Work::Elementwise { elements: kl * nl, ops_per_element: upd_ops },
        ));

        let in_elems = bt * layer.op.input_elements();
        let in_bits = if i == 0 { bits.spike } else { input_bits(net, i, bits) };

        g.add_edge(f, s, data(tensor_bytes(outputs, bits.activation)));
        if again {
            let r = g.add_node(task(TaskKind::Recompute, Work::Gemm { m: pl, k: kl, n: nl }));
            g.add_edge(r, e, data(tensor_bytes(outputs, bits.activation)));
            if let Some(ps) = prev_s {
                g.add_edge(ps, r, sliced(tensor_bytes(in_elems, in_bits), SplitDim::M));
            }
            pending_recompute = Some(r);
        } else {
            g.add_edge(s, e, data(tensor_bytes(outputs, bits.activation)));
        }
        // Recompute layer l−1 only once layer l's error exists (latest sensible time).
        if let Some(r) = recompute_before.take() {
            g.add_edge(e, r, data(0));
        }
        recompute_before = pending_recompute.take();
        if let Some(ps) = prev_s {
            g.add_edge(ps, f, sliced(tensor_bytes(in_elems, in_bits), SplitDim::M));
            g.add_edge(ps, w, sliced(tensor_bytes(in_elems, in_bits), SplitDim::M));
        }
        if let Some(gi) = gi {
            g.add_edge(e, gi, sliced(tensor_bytes(outputs, bits.gradient), SplitDim::M));
            g.add_edge(u, gi, feedback(tensor_bytes(kl * nl, bits.weight)));
        }
        g.add_edge(e, w, sliced(tensor_bytes(outputs, bits.gradient), SplitDim::N));
        g.add_edge(w, u, data(tensor_bytes(kl * nl, bits.gradient)));
        g.add_edge(u, f, feedback(tensor_bytes(kl * nl, bits.weight)));
        // The error of layer l−1 comes from G_l; wire it once G_l exists.
        if let (Some(gi), Some(pe)) = (gi, prev_e) {
            g.add_edge(gi, pe, data(tensor_bytes(in_elems, bits.gradient)));
        }
        prev_s = Some(s);
        prev_e = Some(e);
    }
    TaskGraph { model: name.to_string(), graph: g }
}

/// Bit width of what layer `i` (0-based) reads: spikes, or activations after avg pooling.
fn input_bits(net: &Network, i: usize, bits: &BitsSpec) -> u64 {
    match net.layers[i - 1].pool {
        Some(p) if p.kind == PoolKind::Avg => bits.activation,
        _ => bits.spike,
    }
}

/// Bytes of the input minibatch (spikes into `F_1` and `W_1`).
pub fn input_bytes(net: &Network, bits: &BitsSpec) -> u64 {
    let per_step: u64 = net.input.iter().product();
    tensor_bytes(net.batch * net.timesteps * per_step, bits.spike)
}
