#!/usr/bin/env python3
"""PyTorch reference for `l3rs bench`: the same models, batch and optimizer on the CPU with one thread.

Times one training step (zero_grad, forward, cross-entropy, backward, Adam step) on a synthetic batch, with a
warm-up and the median of several repeats, exactly as `l3rs bench` times its own step, and writes
{model: seconds per step} as JSON. `make bench` runs it when torch is importable and passes the file to
`l3rs bench --torch-reference`, which prints our time over PyTorch's per model. Not part of the tests.

Usage: python3 benchmarks/torch_reference.py [--batch 128] [--repeats 7] [--out .build/bench/torch.json]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def mlp():
    # l3rs ModelZoo.mlp: Flatten, Linear+ReLU per hidden width [256, 128], Linear head.
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10)), (1, 28, 28)


def ccexam_mnist():
    # ccexam MNISTNet(28), 421,642 parameters.
    features = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
    classifier = nn.Sequential(nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(features, nn.Flatten(), classifier), (1, 28, 28)


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


def resnet(input_shape, width=16, stages=(1, 1, 1)):
    # l3rs ModelZoo.resnet: conv1 3×3 (no bias), bn1, ReLU, BasicBlock stages (stride 2 from stage 2),
    # global average pooling, fc.
    layers = [nn.Conv2d(input_shape[0], width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    channels = width
    for stage, blocks in enumerate(stages):
        out = width << stage
        for block in range(blocks):
            layers.append(BasicBlock(channels, out, 2 if stage > 0 and block == 0 else 1))
            channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers), tuple(input_shape)


MODELS = {
    "mlp": mlp,
    "ccexam-mnist": ccexam_mnist,
    "resnet-28": lambda: resnet((1, 28, 28)),
    "resnet-32": lambda: resnet((3, 32, 32)),
}


def step_seconds(name, batch, repeats, warmup=2):
    torch.manual_seed(0)
    model, shape = MODELS[name]()
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_function = nn.CrossEntropyLoss()
    x = torch.rand((batch,) + shape) * 2 - 1
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=False)
        loss_function(model(x), y).backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mlp,ccexam-mnist,resnet-32")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=".build/bench/torch.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    for name in args.models.split(","):
        results[name] = step_seconds(name, args.batch, args.repeats)
        print(f"torch {torch.__version__} 1 thread: {name} batch {args.batch}: {results[name] * 1e3:.2f} ms/step")
    with open(args.out, "w") as file:
        json.dump(results, file, indent=1)


if __name__ == "__main__":
    main()
