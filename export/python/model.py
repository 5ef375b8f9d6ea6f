"""The network of a SpikePipe model in snnTorch, written by `spikepipe export`.

Layer for layer the same computation as SpikePipe's executor (backends/src/exec):

- a weight layer computes ``y = W x`` (``+ b`` only with a bias) for all T steps at once,
  then its neuron runs step by step: ``lif`` is ``snn.Leaky`` and ``iir2`` is
  ``snn.Synaptic`` with the model's alpha, beta, threshold and reset; the spike function
  is ``H(v - threshold)`` with ``H(0) = 0`` and the model's surrogate derivative
  (fast sigmoid ``1 / (1 + k|x|)^2`` or triangle ``max(0, 1 - k|x|)``); the reset path is
  detached, as in snnTorch and the executor;
- pooling (stride = window) acts on the spikes, flatten is channel-major;
- the loss is softmax cross-entropy of the spike counts (or of the summed membrane of
  the last layer), summed over time.

Staleness: ``Net.forward(x, versions)`` takes, per layer, the weights the forward pass
reads and the weights the input-gradient pass reads (a ``WeightRing`` keeps them); the
weight gradient always lands in the layer's parameters, which hold the newest weights.
"""

import collections
import json
import struct

import numpy as np
import snntorch as snn
import torch
from torch import nn
import torch.nn.functional as F


# ---------------------------------------------------------------------------------------
# Spike function and surrogates (the executor's, exactly)


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, slope, triangle):
        ctx.save_for_backward(x)
        ctx.slope = slope
        ctx.triangle = triangle
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        ax = ctx.slope * x.abs()
        if ctx.triangle:
            d = torch.clamp(1.0 - ax, min=0.0)
        else:
            d = 1.0 / ((1.0 + ax) * (1.0 + ax))
        return grad * d, None, None


def surrogate(kind, slope):
    """The spike function with the model's surrogate derivative, for snnTorch's spike_grad."""
    triangle = kind == "triangle"
    slope = float(slope)

    def spike(x):
        return _Spike.apply(x, slope, triangle)

    return spike


def make_neuron(spec):
    """snn.Leaky (lif) or snn.Synaptic (iir2) with the layer's parameters."""
    reset = "subtract" if spec.get("reset", "subtract") == "subtract" else "zero"
    sur = spec.get("surrogate", {"kind": "fast_sigmoid", "slope": 25.0})
    grad = surrogate(sur["kind"], sur["slope"])
    common = dict(
        beta=float(spec["beta"]),
        threshold=float(spec.get("threshold", 1.0)),
        spike_grad=grad,
        reset_mechanism=reset,
    )
    if spec["kind"] == "iir2":
        alpha = spec.get("alpha")
        return snn.Synaptic(alpha=float(0.9 if alpha is None else alpha), **common)
    return snn.Leaky(**common)


class ZeroResetSynaptic(nn.Module):
    """iir2 with zero reset as the executor defines it: after a spike the old membrane is
    dropped but this step's current still adds (``v = beta v (1 - s) + i``).
    snn.Synaptic's zero reset sets the whole new membrane to 0, this step's current
    included, so it would compute a different network (snn.Leaky's zero reset agrees)."""

    def __init__(self, spec):
        super().__init__()
        sur = spec.get("surrogate", {"kind": "fast_sigmoid", "slope": 25.0})
        self.spike = surrogate(sur["kind"], sur["slope"])
        alpha = spec.get("alpha")
        self.alpha = float(0.9 if alpha is None else alpha)
        self.beta = float(spec["beta"])
        self.threshold = float(spec.get("threshold", 1.0))

    def forward(self, x, syn, mem):
        reset = (mem > self.threshold).to(x.dtype).detach()
        syn = self.alpha * syn + x
        mem = self.beta * mem * (1.0 - reset) + syn
        return self.spike(mem - self.threshold), syn, mem


# ---------------------------------------------------------------------------------------
# Synaptic operations with separate forward and input-gradient weights


class _StaleLinear(torch.autograd.Function):
    """y = x W_fᵀ (+ b_f); ∂x = ∂y W_g; ∂W and ∂b go to the newest parameters."""

    @staticmethod
    def forward(ctx, x, w_param, b_param, w_fwd, b_fwd, w_grad):
        ctx.save_for_backward(x, w_grad)
        ctx.has_bias = b_param is not None
        return F.linear(x, w_fwd, b_fwd)

    @staticmethod
    def backward(ctx, g):
        x, w_grad = ctx.saved_tensors
        gx = g @ w_grad if ctx.needs_input_grad[0] else None
        g2 = g.reshape(-1, g.shape[-1])
        gw = g2.t() @ x.reshape(-1, x.shape[-1])
        gb = g2.sum(0) if ctx.has_bias else None
        return gx, gw, gb, None, None, None


class _StaleConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_param, b_param, w_fwd, b_fwd, w_grad, stride, padding):
        ctx.save_for_backward(x, w_grad)
        ctx.conf = (stride, padding, b_param is not None, w_param.shape)
        return F.conv2d(x, w_fwd, b_fwd, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, g):
        x, w_grad = ctx.saved_tensors
        stride, padding, has_bias, wshape = ctx.conf
        gx = None
        if ctx.needs_input_grad[0]:
            gx = torch.nn.grad.conv2d_input(x.shape, w_grad, g, stride=stride, padding=padding)
        gw = torch.nn.grad.conv2d_weight(x, wshape, g, stride=stride, padding=padding)
        gb = g.sum((0, 2, 3)) if has_bias else None
        return gx, gw, gb, None, None, None, None, None


# ---------------------------------------------------------------------------------------
# The network


class Layer(nn.Module):
    """One weight layer: synapse (nn.Linear or nn.Conv2d), neuron, optional pooling."""

    def __init__(self, spec, bias):
        super().__init__()
        op = spec["op"]
        self.index = spec["index"]
        if "linear" in op:
            o = op["linear"]
            self.synapse = nn.Linear(o["in_features"], o["out_features"], bias=bias)
            self.conv = None
        else:
            o = op["conv2d"]
            self.synapse = nn.Conv2d(
                o["in_channels"], o["out_channels"], o["kernel"],
                stride=o["stride"], padding=o["padding"], bias=bias,
            )
            self.conv = (o["in_channels"], o["in_h"], o["in_w"], o["stride"], o["padding"])
        self.neuron_spec = spec["neuron"]
        if spec["neuron"]["kind"] == "iir2" and spec["neuron"].get("reset") == "zero":
            self.neuron = ZeroResetSynaptic(spec["neuron"])
        else:
            self.neuron = make_neuron(spec["neuron"])
        self.pool = spec.get("pool")
        self.output_shape = spec["output_shape"]

    def synapse_forward(self, x, version):
        """x: [T·b, features] or [T·b, C, H, W]."""
        if version is None:
            return self.synapse(x)
        w_fwd, b_fwd, w_grad = version
        bias = self.synapse.bias
        if self.conv is None:
            return _StaleLinear.apply(x, self.synapse.weight, bias, w_fwd, b_fwd, w_grad)
        _, _, _, stride, padding = self.conv
        return _StaleConv.apply(x, self.synapse.weight, bias, w_fwd, b_fwd, w_grad, stride, padding)

    def forward(self, x, version=None):
        """x: [T, b, ...] → (output [T, b, ...], membrane [T, b, ...])."""
        steps, b = x.shape[0], x.shape[1]
        if self.conv is not None:
            cin, h, w = self.conv[:3]
            x = x.reshape(steps * b, cin, h, w)
        else:
            x = x.reshape(steps * b, -1)
        y = self.synapse_forward(x, version)
        y = y.reshape(steps, b, *y.shape[1:])
        second = isinstance(self.neuron, (snn.Synaptic, ZeroResetSynaptic))
        zeros = torch.zeros_like(y[0])
        syn, mem = zeros, zeros
        spikes, mems = [], []
        for t in range(steps):
            if second:
                s, syn, mem = self.neuron(y[t], syn, mem)
            else:
                s, mem = self.neuron(y[t], mem)
            spikes.append(s)
            mems.append(mem)
        s = torch.stack(spikes)
        v = torch.stack(mems)
        if self.pool is not None:
            k = self.pool["kernel"]
            flat = s.reshape(steps * b, *s.shape[2:])
            if self.pool["kind"] == "max":
                flat = F.max_pool2d(flat, k, stride=k)
            else:
                flat = F.avg_pool2d(flat, k, stride=k)
            s = flat.reshape(steps, b, *flat.shape[1:])
        return s.reshape(steps, b, *self.output_shape), v


class Net(nn.Module):
    """The model's weight layers in order; ``forward`` returns the logits per sample."""

    def __init__(self, config, bias=False):
        super().__init__()
        network = config["network"]
        self.steps = network["timesteps"]
        self.input = network["input"]
        self.loss_kind = config["training"].get("loss", "spike_count_ce")
        self.layers = nn.ModuleList(Layer(spec, bias) for spec in network["layers"])

    def set_dtype(self, dtype):
        """Converts the network and writes the neuron constants in that precision (a float32
        buffer converted to float64 would keep its float32 rounding)."""
        self.to(dtype)
        for layer in self.layers:
            n, spec = layer.neuron, layer.neuron_spec
            if isinstance(n, ZeroResetSynaptic):
                continue
            n.beta = torch.tensor(float(spec["beta"]), dtype=dtype)
            n.threshold = torch.tensor(float(spec.get("threshold", 1.0)), dtype=dtype)
            if isinstance(n, snn.Synaptic):
                alpha = spec.get("alpha")
                n.alpha = torch.tensor(float(0.9 if alpha is None else alpha), dtype=dtype)
        return self

    def forward(self, x, versions=None):
        """x: encoded input [T, b, *input]; versions: per layer (w_fwd, b_fwd, w_grad) or None."""
        mem = None
        for i, layer in enumerate(self.layers):
            x, mem = layer(x, None if versions is None else versions[i])
        src = mem.reshape(mem.shape[0], mem.shape[1], -1) if self.loss_kind == "membrane_ce" else x
        return src.sum(0)

    def loss(self, logits, labels):
        """Summed cross-entropy (the executor scales the gradient by 1 / batch size)."""
        return F.cross_entropy(logits, labels, reduction="sum")


class WeightRing:
    """Past weight versions of one layer (newest last): version j holds the updates of
    minibatches 0..j-1. In minibatch i the forward pass reads version max(0, i - s) and
    the input-gradient pass version max(0, i - s'); the update goes to the newest."""

    def __init__(self, layer, keep):
        self.layer = layer
        self.keep = keep + 1
        self.versions = collections.deque()
        self.push()

    def push(self):
        syn = self.layer.synapse
        b = None if syn.bias is None else syn.bias.detach().clone()
        self.versions.append((syn.weight.detach().clone(), b))
        while len(self.versions) > self.keep:
            self.versions.popleft()

    def behind(self, s):
        n = len(self.versions)
        return self.versions[n - 1 - min(s, n - 1)]


def delays(staleness, stashing=False):
    """(forward, input-gradient) delay per layer from the schedule's staleness entries."""
    out = []
    for entry in staleness:
        f = int(entry["forward"])
        g = f if stashing else int(entry.get("input_grad") or 0)
        out.append((f, g))
    return out


def versions_for(rings, layer_delays):
    """Per layer (w_fwd, b_fwd, w_grad) for this minibatch."""
    out = []
    for ring, (f, g) in zip(rings, layer_delays):
        wf, bf = ring.behind(f)
        wg, _ = ring.behind(g)
        out.append((wf, bf, wg))
    return out


# ---------------------------------------------------------------------------------------
# Loading the executor's weights (`spikepipe train --save`, format spikepipe-exec-checkpoint/1)


def read_checkpoint(path):
    """Header (dict) and, per layer, the newest weights as an [N, K(+1)] float64 array."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"SPKEXEC1":
        raise ValueError(f"{path}: not a spikepipe executor checkpoint (bad magic)")
    (hlen,) = struct.unpack("<Q", data[8:16])
    header = json.loads(data[16 : 16 + hlen].decode("utf-8"))
    dtype = np.float32 if header["dtype"] == "f32" else np.float64
    size = np.dtype(dtype).itemsize
    pos = 16 + hlen
    weights = []
    for entry in header["layers"]:
        rows, cols, nvers = entry["rows"], entry["cols"], entry["versions"]
        n = rows * cols
        newest = None
        for _ in range(nvers):
            a = np.frombuffer(data, dtype=dtype, count=n, offset=pos)
            pos += n * size
            # Column-major rows × cols.
            newest = a.reshape(cols, rows).T.astype(np.float64)
        if header["optimizer"] == "adam":
            pos += 2 * n * size
        weights.append(newest)
    if pos != len(data):
        raise ValueError(f"{path}: {len(data) - pos} bytes of trailing data")
    return header, weights


def load_executor_weights(net, path):
    """Copies the checkpoint's newest weights (and biases) into ``net``; returns the header."""
    header, weights = read_checkpoint(path)
    if len(weights) != len(net.layers):
        raise ValueError(f"{path}: {len(weights)} layers, the model has {len(net.layers)}")
    for layer, w in zip(net.layers, weights):
        syn = layer.synapse
        fan_in = syn.weight[0].numel()
        has_bias = w.shape[1] == fan_in + 1
        if w.shape[0] != syn.weight.shape[0] or w.shape[1] not in (fan_in, fan_in + 1):
            raise ValueError(f"{path}: layer {layer.index} has shape {w.shape}")
        if has_bias != (syn.bias is not None):
            fix = "pass --bias" if has_bias else "drop --bias"
            raise ValueError(f"{path}: layer {layer.index} {'has' if has_bias else 'has no'} bias; {fix} to match it")
        with torch.no_grad():
            t = torch.from_numpy(w[:, :fan_in]).to(syn.weight.dtype).reshape(syn.weight.shape)
            syn.weight.copy_(t)
            if has_bias:
                syn.bias.copy_(torch.from_numpy(w[:, fan_in]).to(syn.bias.dtype))
    return header


def load_config(path):
    with open(path) as f:
        return json.load(f)
