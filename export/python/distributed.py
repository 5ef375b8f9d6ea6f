"""torchrun entry point: the schedule's pipeline stages on separate ranks.

Examples:
  torchrun --nproc-per-node 2 distributed.py --epochs 5              # 2-stage pipedream, CPU (gloo)
  torchrun --nproc-per-node 8 distributed.py --device cuda --dataset cifar10:/data/cifar10

Placement: config.json lists the stages `spikepipe export` found in the schedule (the
processors grouped by the layers they run). Rank r runs stage r mod S of replica r div S
(S stages, R replicas each, world size S·R). A pipeline of S > 1 stages runs on
torch.distributed.pipelining (PipelineStage + ScheduleGPipe over the minibatch's
micro-batches). Replicas of a stage split the minibatch by the sample ranges of the
schedule and all-reduce their gradients among themselves; a single-stage (data-parallel)
schedule is wrapped in DistributedDataParallel. Backend gloo on
CPU, nccl on CUDA.

Staleness: torch.distributed.pipelining runs one minibatch's micro-batches through the
stages synchronously, so PipeDream's overlap of different minibatches does not happen
here. The schedule's weight staleness is realised explicitly instead, exactly as in
train.py: every stage keeps the versions of its layers' weights its delays need; in
minibatch i the forward pass of layer l reads version i - s_l and its input-gradient
pass version i - s'_l, and the update goes to the newest weights. So the numbers
(losses, accuracy) are the schedule's; the wall time is a synchronous pipeline's.
"""

import os
import sys
import time

import torch
import torch.distributed as dist
from torch import nn

import data as datasets
from model import WeightRing, delays, load_config, load_executor_weights, Net
from train import arg_parser, epoch_order, evaluate, lr_scheduler, make_optimizer, print_report, settings


class StageModule(nn.Module):
    """The layers of one stage; activations travel batch-first and flat ([b, T·elements])
    so the pipeline can cut micro-batches along dim 0 (a flat copy also gets plain
    strides, which the pipeline's receive buffers copy)."""

    def __init__(self, layers, last, loss_kind, in_shape, steps):
        super().__init__()
        self.in_shape = in_shape
        self.steps = steps
        self.layers = nn.ModuleList(layers)
        self.last = last
        self.loss_kind = loss_kind
        self.versions = None

    def forward(self, x):
        x = x.reshape(x.shape[0], self.steps, *self.in_shape).transpose(0, 1)
        mem = None
        for layer, version in zip(self.layers, self.versions):
            x, mem = layer(x, version)
        if not self.last:
            return x.transpose(0, 1).reshape(x.shape[1], -1)
        src = mem.reshape(mem.shape[0], mem.shape[1], -1) if self.loss_kind == "membrane_ce" else x
        return src.sum(0)


def fail(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv=None):
    p = arg_parser("distributed.py", __doc__)
    p.add_argument("--microbatches", type=int, default=None,
                   help="micro-batches per minibatch (default: the schedule's for gpipe, else the stage count)")
    args = p.parse_args(argv)
    if args.batch_order or args.loss_log:
        fail("--batch-order and --loss-log are train.py's (single process)")
    config = load_config(args.config)
    dcfg = config["distributed"]
    if not dcfg["supported"]:
        fail(f"this schedule cannot run on distributed.py: {dcfg['reason']}")
    stages = dcfg["stages"]
    n_stages, replicas = len(stages), len(stages[0]["processors"])
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world != n_stages * replicas:
        fail(f"the schedule has {n_stages} stage(s) x {replicas} replica(s): run torchrun --nproc-per-node {n_stages * replicas}")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    cuda = args.device.startswith("cuda")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    stage_i, replica = rank % n_stages, rank // n_stages
    # Every rank creates every group, in the same order.
    pipe_groups = [dist.new_group([r * n_stages + s for s in range(n_stages)]) for r in range(replicas)]
    dp_groups = [dist.new_group([r * n_stages + s for r in range(replicas)]) for s in range(n_stages)]

    training = settings(config, args)
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(args.seed)
    net = Net(config, bias=args.bias).set_dtype(dtype)
    if args.init:
        load_executor_weights(net, args.init)
    net.to(device)
    all_delays = delays(config["staleness"], args.weight_stashing)
    first_layer = stages[stage_i]["layers"][0] - 1
    mine = list(range(first_layer, first_layer + len(stages[stage_i]["layers"])))
    is_last = stage_i == n_stages - 1
    steps, input_shape, batch = config["network"]["timesteps"], config["network"]["input"], config["network"]["batch"]
    in_shape = input_shape if first_layer == 0 else config["network"]["layers"][first_layer - 1]["output_shape"]
    module = StageModule([net.layers[i] for i in mine], is_last, net.loss_kind, in_shape, steps)
    my_delays = [all_delays[i] for i in mine]
    rings = [WeightRing(net.layers[i], max(f, g)) for i, (f, g) in zip(mine, my_delays)]
    opt = make_optimizer(module.parameters(), training)
    lo, hi = stages[stage_i]["samples"][replica]

    name, train, test = datasets.load(args.dataset, args.train_limit, args.test_limit)
    gen = torch.Generator(device=device).manual_seed(args.seed)
    micro = args.microbatches or (dcfg["micro_batches"] if dcfg["micro_batches"] > 1 else n_stages)

    def loss_fn(logits, target):
        # Summed cross-entropy over the whole minibatch's sample count, so that micro-batch
        # and replica gradients add up to the minibatch gradient.
        return net.loss(logits, target) / loss_fn.batch

    runners = {}

    def runner(mb, rows):
        """A pipeline stage and schedule for `mb` micro-batches of a `rows`-sample share
        (shapes are fixed per PipelineStage; the smaller last minibatch needs its own)."""
        from torch.distributed.pipelining import PipelineStage, ScheduleGPipe
        if (mb, rows) not in runners:
            stage = PipelineStage(module, stage_i, n_stages, device, group=pipe_groups[replica])
            runners[(mb, rows)] = ScheduleGPipe(stage, n_microbatches=mb, loss_fn=loss_fn, scale_grads=False)
        return runners[(mb, rows)]

    ddp = None
    if n_stages == 1 and replicas > 1:
        # snnTorch keeps each step's neuron state in buffers whose shape follows the
        # replica's share of the minibatch: nothing to broadcast.
        ddp = nn.parallel.DistributedDataParallel(module, process_group=dp_groups[0], broadcast_buffers=False)

    lr_sched = lr_scheduler(opt, training, len(train), batch)
    history = []
    for epoch in range(1, training["epochs"] + 1):
        start = time.time()
        order = epoch_order(len(train), args.seed, epoch, None)
        stats = torch.zeros(2, dtype=torch.float64, device=device)
        for b0 in range(0, len(order), batch):
            idx = order[b0:b0 + batch].numpy()
            n = len(idx)
            # Every rank encodes the whole minibatch from the shared stream (as train.py
            # does), then keeps its replica's share: same spikes as one process.
            imgs = torch.as_tensor(train.images[idx], dtype=dtype, device=device)
            x = datasets.encode(imgs, steps, training["encoding"], input_shape, gen)
            labels = torch.as_tensor(train.labels[idx], device=device)
            a, b = (lo * n) // batch, (hi * n) // batch
            x, labels = x[:, a:b].transpose(0, 1).reshape(b - a, -1), labels[a:b]
            loss_fn.batch = n
            module.versions = [(rf.behind(f)[0], rf.behind(f)[1], rf.behind(g)[0]) for rf, (f, g) in zip(rings, my_delays)]
            opt.zero_grad(set_to_none=False)
            if n_stages == 1:
                logits = (ddp or module)(x)
                loss = loss_fn(logits, labels)
                # DDP averages over replicas; the sum of their shares is the gradient.
                (loss * replicas).backward()
                stats += torch.tensor([loss.item() * n, (logits.argmax(1) == labels).sum().item()], dtype=torch.float64, device=device)
            else:
                # Equal micro-batches: the pipeline splits inputs and targets differently
                # when they do not divide evenly.
                mb = max(d for d in range(1, min(micro, b - a) + 1) if (b - a) % d == 0)
                sched = runner(mb, b - a)
                if stage_i == 0:
                    sched.step(x)
                elif is_last:
                    losses = []
                    out = sched.step(target=labels, losses=losses)
                    loss = sum(l.item() for l in losses) * n
                    stats += torch.tensor([loss, (out.argmax(1) == labels).sum().item()], dtype=torch.float64, device=device)
                else:
                    sched.step()
                if replicas > 1:
                    for prm in module.parameters():
                        dist.all_reduce(prm.grad, group=dp_groups[stage_i])
            opt.step()
            if lr_sched is not None:
                lr_sched.step()
            for ring in rings:
                ring.push()
        dist.all_reduce(stats)
        train_secs = time.time() - start
        acc = evaluate_gathered(net, stages, rank, test, steps, training["encoding"], input_shape, device, dtype, args.seed)
        e = {
            "epoch": epoch,
            "train_loss": stats[0].item() / len(train),
            "train_accuracy": stats[1].item() / len(train),
            "test_accuracy": acc,
            "seconds": time.time() - start,
            "samples_per_second": len(train) / train_secs if train_secs > 0 else 0.0,
        }
        history.append(e)
        if rank == 0 and not args.quiet:
            print(f"epoch {epoch}: loss {e['train_loss']:.4f} train acc {e['train_accuracy']:.4f} "
                  f"test acc {acc:.4f} ({e['seconds']:.1f} s)", file=sys.stderr)
    if rank == 0:
        final = history[-1]["test_accuracy"] if history else float("nan")
        print_report({
            "dataset": name,
            "epochs": history,
            "final_test_accuracy": final,
            "model": config["model"],
            "seed": args.seed,
            "staleness": config["staleness"],
            "staleness_source": config["staleness_source"] + f" (distributed.py, {n_stages} stage(s) x {replicas} replica(s))",
            "test_samples": len(test),
            "train_samples": len(train),
            "weight_stashing": bool(args.weight_stashing),
        }, args.format)
    dist.barrier()
    dist.destroy_process_group()
    return 0


def evaluate_gathered(net, stages, rank, test, steps, encoding, input_shape, device, dtype, seed):
    """Rank 0 collects every stage's newest weights and evaluates the whole network;
    the accuracy is broadcast back."""
    state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, state)
    acc = torch.zeros(1, dtype=torch.float64, device=device)
    if rank == 0:
        # Only the stage that owns a layer updates it: take every layer from the owner's
        # first replica (ranks 0..S-1).
        merged = dict(gathered[0])
        owner = {}
        for s_i, s in enumerate(stages):
            for l in s["layers"]:
                owner[l - 1] = s_i
        for k in list(merged):
            if k.startswith("layers."):
                li = int(k.split(".")[1])
                merged[k] = gathered[owner[li]][k]
        net.load_state_dict(merged)
        acc[0] = evaluate(net, test, steps, encoding, input_shape, device, dtype, seed)
    dist.broadcast(acc, 0)
    return acc.item()



if __name__ == "__main__":
    sys.exit(main())
