"""Datasets and input encodings, as SpikePipe's executor reads and encodes them.

- ``digits``: the bundled UCI 8×8 digits (``digits.csv.gz`` next to this file), values
  / 16, the first 1437 rows for training and the other 360 for testing;
- ``idx:DIR``: MNIST-format ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``, / 255;
- ``cifar10:DIR``: torchvision's ``cifar-10-batches-py`` folder (DIR may be that folder or
  its parent), / 255, channel-major [3, 32, 32].

Encodings: ``rate`` (a Bernoulli spike with probability = pixel value at every step)
and ``current`` (the pixel value as a constant input current at every step).
"""

import gzip
import os
import pickle
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS_TRAIN = 1437


class Split:
    def __init__(self, images, labels):
        self.images = images  # float32 [n, features]
        self.labels = labels  # int64 [n]

    def __len__(self):
        return len(self.labels)

    def truncate(self, n):
        if n is not None and n < len(self):
            self.images = self.images[:n]
            self.labels = self.labels[:n]


def _read(path):
    with open(path, "rb") as f:
        raw = f.read()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def digits():
    text = gzip.decompress(open(os.path.join(HERE, "digits.csv.gz"), "rb").read()).decode()
    rows = np.array([[int(v) for v in line.split(",")] for line in text.splitlines() if line.strip()])
    images = (rows[:, :64].astype(np.float32) / np.float32(16.0)).astype(np.float32)
    labels = rows[:, 64].astype(np.int64)
    return "digits", Split(images[:DIGITS_TRAIN], labels[:DIGITS_TRAIN]), Split(images[DIGITS_TRAIN:], labels[DIGITS_TRAIN:])


def _find(directory, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(directory, name)
        if os.path.isfile(p):
            return p
    raise FileNotFoundError(f"{os.path.join(directory, stem)}: file not found (tried with and without .gz)")


def _idx_split(directory, prefix):
    ip = _find(directory, f"{prefix}-images-idx3-ubyte")
    lp = _find(directory, f"{prefix}-labels-idx1-ubyte")
    b = _read(ip)
    magic, n, r, c = struct.unpack(">IIII", b[:16])
    if magic != 2051:
        raise ValueError(f"{ip}: bad IDX magic number {magic} (expected 2051)")
    images = np.frombuffer(b, dtype=np.uint8, count=n * r * c, offset=16).reshape(n, r * c)
    lb = _read(lp)
    magic, m = struct.unpack(">II", lb[:8])
    if magic != 2049 or m != n:
        raise ValueError(f"{lp}: bad labels (magic {magic}, {m} labels for {n} images)")
    labels = np.frombuffer(lb, dtype=np.uint8, count=m, offset=8).astype(np.int64)
    return Split((images.astype(np.float32) / np.float32(255.0)).astype(np.float32), labels)


def idx(directory):
    return f"idx:{directory}", _idx_split(directory, "train"), _idx_split(directory, "t10k")


def cifar10(directory):
    d = directory
    if not os.path.isfile(os.path.join(d, "test_batch")):
        d = os.path.join(directory, "cifar-10-batches-py")
    if not os.path.isfile(os.path.join(d, "test_batch")):
        raise FileNotFoundError(f"{directory}: no cifar-10-batches-py/test_batch (torchvision's CIFAR-10 format)")

    def load(names):
        xs, ys = [], []
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                batch = pickle.load(f, encoding="bytes")
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8))
            ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
        return Split(np.concatenate(xs).astype(np.float32) / np.float32(255.0), np.concatenate(ys))

    return f"cifar10:{directory}", load([f"data_batch_{i}" for i in range(1, 6)]), load(["test_batch"])


def load(spec, train_limit=None, test_limit=None):
    """(name, train, test) for ``digits``, ``idx:DIR`` or ``cifar10:DIR``."""
    if spec == "digits":
        name, train, test = digits()
    elif spec.startswith("idx:") and len(spec) > 4:
        name, train, test = idx(spec[4:])
    elif spec.startswith("cifar10:") and len(spec) > 8:
        name, train, test = cifar10(spec[8:])
    else:
        raise ValueError(f"unknown dataset `{spec}` (expected digits, idx:DIR or cifar10:DIR)")
    train.truncate(train_limit)
    test.truncate(test_limit)
    return name, train, test


def encode(images, steps, encoding, input_shape, generator=None):
    """[b, features] probabilities → [T, b, *input_shape] input spikes or currents."""
    x = images.unsqueeze(0).expand(steps, *images.shape)
    if encoding == "rate":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (u < x.clamp(0.0, 1.0)).to(x.dtype)
    else:
        x = x.contiguous()
    return x.reshape(steps, images.shape[0], *input_shape)
