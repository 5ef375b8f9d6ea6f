"""Single-process training of the exported network with the schedule's staleness.

Examples:
  python train.py                                   # the model's epochs on digits
  python train.py --dataset idx:/usr/share/datasets/fashion-mnist --epochs 1 --format json
  python train.py --dataset cifar10:/data/cifar10 --device cuda --epochs 100
  python train.py --init init.ckpt --encoding current   # from the executor's initial weights

Staleness (from the schedule's per-layer entries, as SpikePipe's executor applies them):
in minibatch i the forward pass of layer l reads weight version i - s_l, the
input-gradient pass version i - s'_l (or the forward's version with --weight-stashing),
and the update is applied to the newest weights (version i + 1).
"""

import argparse
import json
import math
import os
import sys
import time

import torch

import data as datasets
from model import Net, WeightRing, delays, load_config, load_executor_weights, versions_for

HERE = os.path.dirname(os.path.abspath(__file__))


def arg_parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default=os.path.join(HERE, "config.json"), help="exported config (default: next to this file)")
    p.add_argument("--dataset", default="digits", help="digits | idx:DIR | cifar10:DIR")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation, shuffling and spike encoding")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the model's)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default=None, help="default: the model's")
    p.add_argument("--encoding", choices=["rate", "current"], default=None, help="default: the model's")
    p.add_argument("--lr-schedule", choices=["constant", "cosine"], default=None,
                   help="learning rate over the run (default: the model's): constant, or cosine decay to 0 over --epochs")
    p.add_argument("--weight-stashing", action="store_true", help="input-gradient passes read the forward pass's version")
    p.add_argument("--bias", action="store_true", help="add a bias to every weight layer (y = W x + b)")
    p.add_argument("--init", metavar="CKPT", help="start from the newest weights of a `spikepipe train --save` checkpoint")
    p.add_argument("--train-limit", type=int, default=None, help="use only the first N training samples")
    p.add_argument("--test-limit", type=int, default=None, help="use only the first N test samples")
    p.add_argument("--batch-order", metavar="FILE", help="JSON list (one per epoch) of training-sample orders, instead of shuffling")
    p.add_argument("--loss-log", metavar="FILE", help="write the mean loss of every minibatch here (JSON)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-epoch progress on stderr")
    return p


def settings(config, args):
    """The model's training settings with the command line's overrides."""
    t = dict(config["training"])
    if args.epochs is not None:
        t["epochs"] = args.epochs
    if args.lr is not None:
        t["lr"] = args.lr
    if args.optimizer is not None:
        t["optimizer"] = args.optimizer
    if args.encoding is not None:
        t["encoding"] = args.encoding
    if args.lr_schedule is not None:
        t["lr_schedule"] = args.lr_schedule
    t.setdefault("encoding", "rate")
    t.setdefault("lr_schedule", "constant")
    t.setdefault("optimizer", "adam")
    return t


def make_optimizer(params, training):
    if training["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=training["lr"])
    # The executor's Adam: β 0.9 / 0.999, ε 1e-8, bias-corrected as PyTorch.
    return torch.optim.Adam(params, lr=training["lr"], betas=(0.9, 0.999), eps=1e-8)


def lr_scheduler(opt, training, samples, batch):
    """The executor's schedule over K = epochs x minibatches of `samples`: iteration k
    uses lr * (1 + cos(pi k / K)) / 2 with cosine (None with constant)."""
    if training["lr_schedule"] == "constant":
        return None
    k_total = max(training["epochs"] * -(-samples // batch), 1)
    return torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: 0.5 * (1.0 + math.cos(math.pi * min(k, k_total) / k_total)))


def epoch_order(n, seed, epoch, orders):
    if orders is not None:
        if epoch - 1 >= len(orders):
            raise ValueError(f"--batch-order has {len(orders)} epochs, epoch {epoch} needs one more")
        return torch.tensor(orders[epoch - 1], dtype=torch.long)
    g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
    return torch.randperm(n, generator=g)


def evaluate(net, split, steps, encoding, input_shape, device, dtype, seed, chunk=256):
    """Test accuracy of the newest weights; rate coding draws from a fixed stream."""
    if len(split) == 0:
        return 0.0
    g = torch.Generator(device=device).manual_seed(seed * 1_000_003 + 999_983)
    correct = 0
    with torch.no_grad():
        for start in range(0, len(split), chunk):
            imgs = torch.as_tensor(split.images[start:start + chunk], dtype=dtype, device=device)
            labels = torch.as_tensor(split.labels[start:start + chunk], device=device)
            x = datasets.encode(imgs, steps, encoding, input_shape, g)
            correct += (net(x).argmax(1) == labels).sum().item()
    return correct / len(split)


class Trainer:
    """The network, its optimizer and the weight versions the staleness needs."""

    def __init__(self, config, args):
        self.config = config
        self.training = settings(config, args)
        self.device = torch.device(args.device)
        self.dtype = getattr(torch, args.dtype)
        torch.manual_seed(args.seed)
        self.net = Net(config, bias=args.bias).set_dtype(self.dtype)
        if args.init:
            load_executor_weights(self.net, args.init)
        self.net.to(self.device)
        self.delays = delays(config["staleness"], args.weight_stashing)
        self.rings = [WeightRing(layer, max(f, g)) for layer, (f, g) in zip(self.net.layers, self.delays)]
        self.opt = make_optimizer(self.net.parameters(), self.training)
        self.steps = config["network"]["timesteps"]
        self.input_shape = config["network"]["input"]
        self.seed = args.seed
        self.gen = torch.Generator(device=self.device).manual_seed(args.seed)

    def train_batch(self, imgs, labels):
        """One minibatch: forward/backward with the delayed versions, one update of the
        newest weights. Returns (loss sum, correct predictions)."""
        x = datasets.encode(imgs, self.steps, self.training["encoding"], self.input_shape, self.gen)
        logits = self.net(x, versions_for(self.rings, self.delays))
        loss = self.net.loss(logits, labels)
        self.opt.zero_grad(set_to_none=True)
        (loss / len(labels)).backward()
        self.opt.step()
        for ring in self.rings:
            ring.push()
        return loss.item(), (logits.argmax(1) == labels).sum().item()


def run(config, args):
    t0 = time.time()
    name, train, test = datasets.load(args.dataset, args.train_limit, args.test_limit)
    tr = Trainer(config, args)
    needed = 1
    for d in tr.input_shape:
        needed *= d
    if train.images.shape[1] != needed:
        raise ValueError(f"dataset {name} has {train.images.shape[1]} features per sample but the network input {tr.input_shape} needs {needed}")
    orders = None
    if args.batch_order:
        with open(args.batch_order) as f:
            orders = json.load(f)
    batch = config["network"]["batch"]
    epochs, losses, evals = [], [], []
    iteration = 0
    sched = lr_scheduler(tr.opt, tr.training, len(train), batch)
    for epoch in range(1, tr.training["epochs"] + 1):
        start = time.time()
        order = epoch_order(len(train), args.seed, epoch, orders)
        loss_sum, correct = 0.0, 0
        for b0 in range(0, len(order), batch):
            idx = order[b0:b0 + batch].numpy()
            imgs = torch.as_tensor(train.images[idx], dtype=tr.dtype, device=tr.device)
            labels = torch.as_tensor(train.labels[idx], device=tr.device)
            loss, c = tr.train_batch(imgs, labels)
            if sched is not None:
                sched.step()
            if not (loss == loss and abs(loss) != float("inf")):
                raise FloatingPointError(f"loss became {loss} in epoch {epoch}, batch {b0 // batch}")
            losses.append(loss / len(idx))
            iteration += 1
            loss_sum += loss
            correct += c
        train_secs = time.time() - start
        acc = evaluate(tr.net, test, tr.steps, tr.training["encoding"], tr.input_shape, tr.device, tr.dtype, args.seed)
        n = max(len(train), 1)
        e = {
            "epoch": epoch,
            "train_loss": loss_sum / n,
            "train_accuracy": correct / n,
            "test_accuracy": acc,
            "seconds": time.time() - start,
            "samples_per_second": len(train) / train_secs if train_secs > 0 else 0.0,
        }
        epochs.append(e)
        # One evaluation per epoch; firing rates are not recorded here (spikepipe train
        # --eval-every has them).
        evals.append({"epoch": epoch, "iteration": iteration, "test_accuracy": acc,
                      "silent_outputs": None, "firing_rates": None})
        if not args.quiet:
            print(f"epoch {epoch}: loss {e['train_loss']:.4f} train acc {e['train_accuracy']:.4f} "
                  f"test acc {acc:.4f} ({e['seconds']:.1f} s)", file=sys.stderr)
    final = epochs[-1]["test_accuracy"] if epochs else evaluate(
        tr.net, test, tr.steps, tr.training["encoding"], tr.input_shape, tr.device, tr.dtype, args.seed)
    if args.loss_log:
        with open(args.loss_log, "w") as f:
            json.dump({"losses": losses}, f)
    # Time to accuracy needs the schedule's timing; `spikepipe train --schedule S
    # --target-accuracy X` computes it. The keys are kept so both outputs parse alike.
    return {
        "baseline_time_to_accuracy": None,
        "dataset": name,
        "evals": evals,
        "epochs": epochs,
        "final_test_accuracy": final,
        "mitigation": "stash" if args.weight_stashing else "none",
        "lr_schedule": tr.training["lr_schedule"],
        "model": config["model"],
        "seed": args.seed,
        "staleness": config["staleness"],
        "staleness_source": config["staleness_source"],
        "test_samples": len(test),
        "time_to_accuracy": None,
        "timing": None,
        "train_samples": len(train),
        "weight_stashing": bool(args.weight_stashing),
    }, time.time() - t0


def print_report(report, fmt):
    if fmt == "json":
        print(json.dumps(report, indent=2, sort_keys=True))
        return
    print(f"model {report['model']} on {report['dataset']} ({report['train_samples']} train / "
          f"{report['test_samples']} test samples), seed {report['seed']}")
    print(f"staleness: {report['staleness']} [{report['staleness_source']}]\n")
    print(f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'seconds':>7}")
    for e in report["epochs"]:
        print(f"{e['epoch']:>5}  {e['train_loss']:>10.4f}  {e['train_accuracy']:>9.4f}  "
              f"{e['test_accuracy']:>8.4f}  {e['seconds']:>7.2f}")
    print(f"\nfinal test accuracy: {report['final_test_accuracy']:.4f}")


def main(argv=None):
    args = arg_parser("train.py", __doc__).parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        config = load_config(args.config)
        report, _ = run(config, args)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print_report(report, args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
