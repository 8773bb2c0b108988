#!/usr/bin/env python3
"""PyTorch against l3rs, alternated in one run: the same models, real batches, threads and step.

Each round times, per model and thread count, one `l3rs bench --measure-step` process and one PyTorch process
(this script with --worker), in alternating order (ours first in even rounds, PyTorch first in odd ones), so a
change of the machine's load lands on both sides of each ratio. Both sides:
- step on the same real batches: Fashion-MNIST training images (data/fashion-mnist), normalised like ccexam's
  MNIST net ((x/255 - 0.1307)/0.3081); for 3x32x32 models padded with black to 32x32 and repeated over 3 channels.
  The batches go to one file (float32 inputs, then float32 labels) that both processes read, cycled step by step;
- run zero_grad, forward, cross-entropy, backward, Adam (lr 1e-4) per step;
- warm up (default 10 steps; PyTorch also tries channels-last, 10 steps each, and keeps the faster format),
  then take the median of --steps (default 50) timed steps;
- set their threads: ours OPENBLAS_NUM_THREADS and --threads (the worker pool, which also runs the sgemm blocks); PyTorch
  OMP_NUM_THREADS, MKL_NUM_THREADS, torch.set_num_threads and one inter-op thread, checked with
  torch.get_num_threads() before timing.
Prints a table of the medians over rounds, each round's ratio ours / PyTorch, the ratio of process CPU time per
timed step (at one thread a measure that time slices taken by other processes do not move; at more threads it
counts spinning threads too), and the load average before and after; writes the raw samples as JSON (--out).
Not part of the tests.

The torchvision ResNets take l3rs's names with the input side, e.g. --models resnet18@64,resnet18@112 --batch 64
(Fashion-MNIST padded with black to the side); PyTorch builds the same module tree (checked by parameter count).

Usage: python3 benchmarks/torch_reference.py [--l3rs .build/release/l3rs] [--models ...] [--threads 1,2]
           [--rounds 3] [--steps 50] [--warmup 10] [--batch 128] [--out .build/bench/torch.json]
"""
import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


# --- models (PyTorch twins of l3rs's ModelZoo) ---------------------------------------------------------------

def build_model(name):
    import torch
    from torch import nn

    def mlp():
        # l3rs ModelZoo.mlp: Flatten, Linear+ReLU per hidden width [256, 128], Linear head.
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))

    def ccexam_mnist():
        # ccexam MNISTNet(28), 421,642 parameters.
        features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        classifier = nn.Sequential(nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
        return nn.Sequential(features, nn.Flatten(), classifier)

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + (x if self.downsample is None else self.downsample(x)))

    def resnet(channels, width=16, stages=(1, 1, 1)):
        # l3rs ModelZoo.resnet: conv1 3x3 (no bias), bn1, ReLU, BasicBlock stages (stride 2 from stage 2),
        # global average pooling, fc.
        layers = [nn.Conv2d(channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        current = width
        for stage, blocks in enumerate(stages):
            out = width << stage
            for block in range(blocks):
                layers.append(BasicBlock(current, out, 2 if stage > 0 and block == 0 else 1))
                current = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(current, 10)]
        return nn.Sequential(*layers)

    def torchvision_resnet(blocks_per_stage):
        # torchvision's resnet18 / resnet34 (l3rs ModelZoo.torchvisionResNet), 10 classes: conv1 7x7 stride 2
        # (no bias), bn1, ReLU, max-pool 3x3 stride 2, four BasicBlock stages of widths 64-512 (stride 2 from
        # the second), global average pooling, fc. Written out here because torchvision is not installed
        # beside the CPU torch wheel; the parameter count is checked against l3rs's in `main`.
        layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        current = 64
        for stage, blocks in enumerate(blocks_per_stage):
            out = 64 << stage
            for block in range(blocks):
                layers.append(BasicBlock(current, out, 2 if stage > 0 and block == 0 else 1))
                current = out
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(current, 10)]
        return nn.Sequential(*layers)

    base, _, _ = name.partition("@")
    return {"mlp": mlp, "ccexam-mnist": ccexam_mnist, "resnet-28": lambda: resnet(1),
            "resnet-32": lambda: resnet(3), "resnet18": lambda: torchvision_resnet((2, 2, 2, 2)),
            "resnet34": lambda: torchvision_resnet((3, 4, 6, 3))}[base]()


INPUT_SHAPES = {"mlp": (1, 28, 28), "ccexam-mnist": (1, 28, 28), "resnet-28": (1, 28, 28), "resnet-32": (3, 32, 32)}
# The torchvision ResNets, 10 classes.
PARAMETER_COUNTS = {"resnet18": 11_181_642, "resnet34": 21_289_802}


def input_shape(model):
    """(C, H, W) of a model name; `resnet18@64` is torchvision's ResNet-18 on 3x64x64 (l3rs's spelling)."""
    base, _, side = model.partition("@")
    if base in PARAMETER_COUNTS:
        size = int(side) if side else 224
        return (3, size, size)
    return INPUT_SHAPES[model]


# --- real batches ------------------------------------------------------------------------------------------

def read_idx(path):
    with gzip.open(path, "rb") as file:
        data = file.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_batches(path, data_dir, shape, batch, count):
    """`count` consecutive Fashion-MNIST training batches shaped for the model, to `path` (see the module doc)."""
    images = read_idx(os.path.join(data_dir, "train-images-idx3-ubyte.gz"))[:batch * count]
    labels = read_idx(os.path.join(data_dir, "train-labels-idx1-ubyte.gz"))[:batch * count]
    channels, height, width = shape
    if (height, width) != images.shape[1:]:
        # Black borders, as if the photograph were larger.
        top, left = (height - images.shape[1]) // 2, (width - images.shape[2]) // 2
        padded = np.zeros((images.shape[0], height, width), dtype=np.uint8)
        padded[:, top:top + images.shape[1], left:left + images.shape[2]] = images
        images = padded
    x = (images.astype(np.float32) / 255 - 0.1307) / 0.3081
    x = np.repeat(x[:, None], channels, axis=1)
    with open(path, "wb") as file:
        file.write(np.ascontiguousarray(x, dtype="<f4").tobytes())
        file.write(labels.astype("<f4").tobytes())


def read_batches(path, shape, batch):
    raw = np.fromfile(path, dtype="<f4")
    per_image = int(np.prod(shape))
    count = raw.size // (batch * (per_image + 1))
    x = raw[:count * batch * per_image].reshape((count, batch) + tuple(shape))
    y = raw[count * batch * per_image:count * batch * (per_image + 1)].reshape(count, batch).astype(np.int64)
    return x, y


# --- the PyTorch side (one process per measurement) --------------------------------------------------------

def torch_worker(args):
    import torch
    from torch import nn
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    assert torch.get_num_threads() == args.threads, f"torch runs {torch.get_num_threads()} threads, asked {args.threads}"
    torch.manual_seed(0)
    shape = input_shape(args.model)
    base = args.model.partition("@")[0]
    if base in PARAMETER_COUNTS:
        count = sum(p.numel() for p in build_model(args.model).parameters())
        assert count == PARAMETER_COUNTS[base], f"{args.model}: {count} parameters, l3rs has {PARAMETER_COUNTS[base]}"
    x_all, y_all = read_batches(args.batches, shape, args.batch)
    inputs = [torch.from_numpy(x.copy()) for x in x_all]
    labels = [torch.from_numpy(y.copy()) for y in y_all]
    loss_function = nn.CrossEntropyLoss()

    def make(memory_format):
        model = build_model(args.model)
        if memory_format is torch.channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        xs = [x.contiguous(memory_format=memory_format) for x in inputs]
        counter = [0]

        def step():
            i = counter[0] % len(xs)
            counter[0] += 1
            optimizer.zero_grad(set_to_none=False)
            loss_function(model(xs[i]), labels[i]).backward()
            optimizer.step()
        return step

    def timed(step, count):
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            step()
            samples.append(time.perf_counter() - start)
        return samples

    formats = {"contiguous": torch.contiguous_format}
    if len(shape) == 3 and args.model != "mlp":
        formats["channels_last"] = torch.channels_last
    steps = {name: make(memory_format) for name, memory_format in formats.items()}
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    trial = {name: statistics.median(timed(step, 10)) for name, step in steps.items()}
    chosen = min(trial, key=trial.get)
    cpu_start = time.process_time()
    samples = timed(steps[chosen], args.steps)
    cpu_per_step = (time.process_time() - cpu_start) / args.steps
    print(json.dumps({"side": "torch", "model": args.model, "threads": torch.get_num_threads(),
                      "version": torch.__version__, "format": chosen, "trial": trial,
                      "median": statistics.median(samples), "cpuPerStep": cpu_per_step, "samples": samples}))


# --- the driver --------------------------------------------------------------------------------------------

def load_average():
    with open("/proc/loadavg") as file:
        return file.read().split()[0]


def run_json(command, env):
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: {' '.join(command)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"error: no JSON line from {' '.join(command)}:\n{result.stdout}{result.stderr}")
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l3rs", default=".build/release/l3rs")
    parser.add_argument("--models", default="mlp,ccexam-mnist,resnet-32")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=50, help="timed steps per measurement (the median is kept)")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--batch-count", type=int, default=16, help="real batches cycled through")
    parser.add_argument("--data", default="data/fashion-mnist")
    parser.add_argument("--work", default=".build/bench")
    parser.add_argument("--out", default=".build/bench/torch.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--batches", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.threads = int(args.threads)
        torch_worker(args)
        return
    if args.steps < 50 or args.warmup < 10:
        print("note: fewer than 50 timed steps or 10 warm-up steps is below what the comparison promises")
    models = args.models.split(",")
    threads = [int(t) for t in args.threads.split(",")]
    os.makedirs(args.work, exist_ok=True)
    batch_files = {}
    for model in models:
        batch_files[model] = os.path.join(args.work, f"batches-{model}-{args.batch}.f32")
        write_batches(batch_files[model], args.data, input_shape(model), args.batch, args.batch_count)
    start_load = load_average()
    if float(start_load) > (os.cpu_count() or 1):
        print(f"warning: load average {start_load} exceeds the {os.cpu_count()} cores: threads wait for time slices, and "
              "PyTorch's OpenMP barriers (spinning threads) suffer most at 2 threads; read only the 1-thread ratios")
    print(f"ours / PyTorch, alternated: {args.rounds} rounds, {args.warmup} warm-up steps, median of {args.steps}, "
          f"batch {args.batch}, real Fashion-MNIST batches; load average {start_load} at the start", flush=True)
    results = {}
    for round_index in range(args.rounds):
        for model in models:
            for count in threads:
                env = dict(os.environ, OPENBLAS_NUM_THREADS=str(count), OMP_NUM_THREADS=str(count),
                           MKL_NUM_THREADS=str(count))
                ours = [args.l3rs, "bench", "--launcher", "none", "--measure-step", "--models", model,
                        "--threads", str(count), "--batch", str(args.batch), "--repeats", str(args.steps),
                        "--warmup", str(args.warmup), "--batches", batch_files[model]]
                theirs = [sys.executable, os.path.abspath(__file__), "--worker", "--model", model, "--threads", str(count),
                          "--batch", str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup),
                          "--batches", batch_files[model]]
                order = [("ours", ours), ("torch", theirs)]
                if round_index % 2:
                    order.reverse()
                entry = results.setdefault(f"{model}@{count}", {"ours": [], "torch": [], "ratios": [], "formats": [],
                                                                "cpuRatios": []})
                measured = {}
                for side, command in order:
                    measured[side] = run_json(command, env)
                    ran = {measured[side]["threads"], measured[side].get("blasThreads", count)}
                    if ran != {count}:
                        sys.exit(f"error: {side} ran {sorted(ran)} threads, asked {count}")
                entry["ours"].append(measured["ours"]["median"])
                entry["torch"].append(measured["torch"]["median"])
                entry["formats"].append(measured["torch"]["format"])
                entry["ratios"].append(measured["ours"]["median"] / measured["torch"]["median"])
                entry["cpuRatios"].append(measured["ours"]["cpuPerStep"] / measured["torch"]["cpuPerStep"])
                print(f"round {round_index + 1} {model} {count} thr: ours {measured['ours']['median'] * 1e3:.2f} ms, "
                      f"torch {measured['torch']['median'] * 1e3:.2f} ms ({measured['torch']['format']}), "
                      f"ratio {entry['ratios'][-1]:.2f}; CPU ms per step {measured['ours']['cpuPerStep'] * 1e3:.2f} / "
                      f"{measured['torch']['cpuPerStep'] * 1e3:.2f}, ratio {entry['cpuRatios'][-1]:.2f}; "
                      f"load {load_average()}", flush=True)
    end_load = load_average()
    header = ["model", "threads", "ours ms", "PyTorch ms", "ours / PyTorch (median of rounds)", "per-round ratios",
              "CPU time ratio (median)", "PyTorch format"]
    rows = []
    for key, entry in results.items():
        model, count = key.rsplit("@", 1)
        rows.append([model, count, f"{statistics.median(entry['ours']) * 1e3:.2f}",
                     f"{statistics.median(entry['torch']) * 1e3:.2f}", f"{statistics.median(entry['ratios']):.2f}x",
                     ", ".join(f"{r:.2f}" for r in entry["ratios"]), f"{statistics.median(entry['cpuRatios']):.2f}x",
                     "/".join(sorted(set(entry["formats"])))])
    for model in models:
        ours = [statistics.median(results[f"{model}@{t}"]["ours"]) for t in threads]
        theirs = [statistics.median(results[f"{model}@{t}"]["torch"]) for t in threads]
        if len(threads) > 1:
            print(f"{model}: {threads[-1]} threads over {threads[0]}: ours {ours[0] / ours[-1]:.2f}x, "
                  f"PyTorch {theirs[0] / theirs[-1]:.2f}x")
    widths = [max(len(str(row[i])) for row in rows + [header]) for i in range(len(header))]
    print("| " + " | ".join(h.rjust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).rjust(w) for c, w in zip(row, widths)) + " |")
    print(f"load average {start_load} at the start, {end_load} at the end")
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as file:
        json.dump({"rounds": args.rounds, "steps": args.steps, "warmup": args.warmup, "batch": args.batch,
                   "load": [start_load, end_load], "results": results}, file, indent=1)


if __name__ == "__main__":
    main()
