#!/usr/bin/env python3
"""snnTorch reference of models/mlp-fmnist.yaml, for speed (and optionally accuracy).

Network: 784-500-500-10, nn.Linear (with bias, PyTorch default init) + snn.Synaptic
(alpha 0.9, beta 0.8, threshold 1, subtract reset, fast-sigmoid surrogate slope 25),
T = 25, batch 128, Adam lr 5e-4, rate-coded input (spikegen.rate: Bernoulli(pixel) per
step), cross-entropy on output spike counts (SF.ce_count_loss).

    python bench/snntorch_mlp_fmnist.py --threads 1 --batches 40
    python bench/snntorch_mlp_fmnist.py --threads 2 --epochs 1   # also trains + tests

Prints one line `snntorch threads=N batches=B samples/s=X` (training steps only, after
two warm-up batches), then with --epochs the test accuracy after each epoch.
"""
import argparse
import gzip
import os
import time

import numpy as np
import torch
import torch.nn as nn
import snntorch as snn
from snntorch import functional as SF
from snntorch import spikegen
from snntorch import surrogate


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 2051:
        n, r, c = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, r * c)
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, np.uint8, offset=8)


def find(d, stem):
    for cand in (stem + ".gz", stem):
        p = os.path.join(d, cand)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(os.path.join(d, stem))


def load(d, prefix):
    x = read_idx(find(d, f"{prefix}-images-idx3-ubyte")).astype(np.float32) / 255.0
    y = read_idx(find(d, f"{prefix}-labels-idx1-ubyte")).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


class Net(nn.Module):
    def __init__(self, sizes=(784, 500, 500, 10), alpha=0.9, beta=0.8, steps=25):
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=25)
        self.fcs = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.lifs = nn.ModuleList(
            snn.Synaptic(alpha=alpha, beta=beta, threshold=1.0, spike_grad=grad,
                         reset_mechanism="subtract")
            for _ in sizes[1:])
        self.steps = steps

    def forward(self, x):  # x: [T, B, 784] spikes
        states = [lif.init_synaptic() for lif in self.lifs]
        out = []
        for t in range(self.steps):
            cur = x[t]
            for i, (fc, lif) in enumerate(zip(self.fcs, self.lifs)):
                syn, mem = states[i]
                cur, syn, mem = lif(fc(cur), syn, mem)
                states[i] = (syn, mem)
            out.append(cur)
        return torch.stack(out)  # [T, B, 10]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--train-limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load(a.data, "train")
    xte, yte = load(a.data, "t10k")
    if a.train_limit:
        xtr, ytr = xtr[:a.train_limit], ytr[:a.train_limit]
    net = Net(steps=a.steps)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.9, 0.999))
    loss_fn = SF.ce_count_loss()

    def step(xb, yb):
        spk = net(spikegen.rate(xb, num_steps=a.steps))
        loss = loss_fn(spk, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    # Speed: fixed number of batches after 2 warm-up batches.
    perm = torch.randperm(len(ytr))
    nb = a.batches + 2
    t0 = None
    for i in range(nb):
        if i == 2:
            t0 = time.perf_counter()
        idx = perm[(i * a.batch) % len(ytr):][:a.batch]
        step(xtr[idx], ytr[idx])
    dt = time.perf_counter() - t0
    print(f"snntorch threads={a.threads} batches={a.batches} batch={a.batch} "
          f"samples/s={a.batches * a.batch / dt:.0f}", flush=True)

    if a.epochs:
        net = Net(steps=a.steps)
        opt = torch.optim.Adam(net.parameters(), lr=a.lr, betas=(0.9, 0.999))
        for ep in range(a.epochs):
            t0 = time.perf_counter()
            perm = torch.randperm(len(ytr))
            tot, n = 0.0, 0
            for i in range(0, len(ytr), a.batch):
                idx = perm[i:i + a.batch]
                tot += step(xtr[idx], ytr[idx]) * len(idx)
                n += len(idx)
            with torch.no_grad():
                correct = 0
                for i in range(0, len(yte), 1000):
                    spk = net(spikegen.rate(xte[i:i + 1000], num_steps=a.steps))
                    correct += (spk.sum(0).argmax(1) == yte[i:i + 1000]).sum().item()
            print(f"epoch {ep + 1} train_loss={tot / n:.4f} test_acc={correct / len(yte):.4f} "
                  f"seconds={time.perf_counter() - t0:.1f}", flush=True)


if __name__ == "__main__":
    main()
