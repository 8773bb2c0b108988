#!/usr/bin/env python3
"""Reference forward and backward of torchvision's ResNet-18; writes Tests/NetworkTests/Fixtures/resnet18_reference.json.

The weights are not stored: every tensor is regenerated from a formula that Tests/NetworkTests/
TorchvisionReferenceTests.swift repeats bit for bit (SplitMix64 seeded by the FNV-1a hash of the tensor's
state_dict name, values rounded to float32 from float64 arithmetic that is correctly rounded in both
languages). The fixture holds only what the Swift model must reproduce for a 2x3x64x64 input (64x64 so the
last stage's BatchNorm still sees 2x2x2 values per channel: at 32x32 it would see 2, normalise every channel
to +-1 and cut the gradient to the earlier stages):

- eval_logits: evaluation mode (running statistics from the formula);
- then, in training mode (batch statistics): train_logits, train_loss (mean cross-entropy, labels 3 and 7),
  the L2 norm of every parameter's gradient, the first 8 values of a few gradients and of the input gradient,
  and a few running statistics after the one training forward (momentum 0.1, unbiased variance).

Backends:
- torch (used when `import torch` works): torchvision.models.resnet18 when torchvision is importable, else the
  same net written with torch.nn.functional; float64, autograd for the gradients. Debian's python3-torch and
  python3-torchvision (1.13 / 0.14, CPU, about 150 MB with their libraries) are enough: the committed fixture
  was written with them (/usr/bin/python3), and `--compare` put the numpy net within 1.1e-14 of torchvision.
- numpy (otherwise): the net written out here in float64 numpy, forward and backward by hand, checked by the
  script itself against central finite differences in float64 before anything is written.
`--compare` runs both and prints their largest differences (needs torch).

Run from the repository root: python3 tools/resnet_reference.py [--backend numpy|torch] [--compare] [--out FILE]
The Swift test also runs `--backend torch --out <temp>` itself where python3 or the bench venv
(.build/bench/torch-venv, `make bench`) imports torch, and compares with that file too.
"""
import argparse
import json
import os

import numpy as np

BLOCKS = [2, 2, 2, 2]
CLASSES = 10
INPUT_SHAPE = (2, 3, 64, 64)
LABELS = [3, 7]
INPUT_SEED = 0xDA7A
MOMENTUM, EPSILON = 0.1, 1e-5
GRADIENT_SLICES = ["conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                   "layer3.1.bn2.bias", "layer4.1.conv2.weight", "fc.weight", "fc.bias"]
BUFFER_SLICES = ["bn1.running_mean", "bn1.running_var", "layer2.0.downsample.1.running_var", "layer4.1.bn2.running_mean"]
SLICE = 8
OUT = "Tests/NetworkTests/Fixtures/resnet18_reference.json"

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# --- the shared weight formula -------------------------------------------------------------------------------
def fnv1a(text):
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK
    return h


def unit_floats(seed, count):
    """The first `count` nextUnitFloat() of SplitMix64(seed: seed), exactly (k/2^24 is exact in float64)."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float64) / 16777216.0


def formula(name, shape, kind, fan_in):
    u = unit_floats(fnv1a(name), int(np.prod(shape, dtype=np.int64)))
    if kind == "weight":
        v = (2 * u - 1) * np.sqrt(3.0 / fan_in)
    elif kind == "bias":
        v = (2 * u - 1) * 0.1
    elif kind in ("scale", "variance"):
        v = 0.5 + u
    elif kind in ("shift", "mean"):
        v = (2 * u - 1) * 0.2
    else:
        v = np.zeros_like(u)
    return v.astype(np.float32).astype(np.float64).reshape(shape)


def block_plan():
    """(name, input channels, width, stride, has downsample) of every BasicBlock, torchvision's order."""
    cin = 64
    for stage, count in enumerate(BLOCKS):
        width = 64 << stage
        for block in range(count):
            stride = 2 if stage > 0 and block == 0 else 1
            yield f"layer{stage + 1}.{block}", cin, width, stride, stride != 1 or cin != width
            cin = width


def entries():
    """(name, shape, kind, fan_in) in torchvision's state_dict order."""
    out = []

    def conv(name, cin, cout, k):
        out.append((name + ".weight", (cout, cin, k, k), "weight", cin * k * k))

    def bn(name, c):
        out.extend([(name + ".weight", (c,), "scale", 0), (name + ".bias", (c,), "shift", 0),
                    (name + ".running_mean", (c,), "mean", 0), (name + ".running_var", (c,), "variance", 0),
                    (name + ".num_batches_tracked", (), "count", 0)])

    conv("conv1", 3, 64, 7)
    bn("bn1", 64)
    for p, cin, width, stride, downsample in block_plan():
        conv(p + ".conv1", cin, width, 3); bn(p + ".bn1", width)
        conv(p + ".conv2", width, width, 3); bn(p + ".bn2", width)
        if downsample:
            conv(p + ".downsample.0", cin, width, 1); bn(p + ".downsample.1", width)
    out.append(("fc.weight", (CLASSES, 512), "weight", 512))
    out.append(("fc.bias", (CLASSES,), "bias", 512))
    return out


def state_dict():
    return {name: formula(name, shape, kind, fan_in) for name, shape, kind, fan_in in entries()}


def trainable(name):
    return not (name.endswith("running_mean") or name.endswith("running_var") or name.endswith("num_batches_tracked"))


def make_input():
    return (2 * unit_floats(INPUT_SEED, int(np.prod(INPUT_SHAPE))) - 1).astype(np.float32).astype(np.float64).reshape(INPUT_SHAPE)


# --- numpy float64 network, forward and backward by hand -----------------------------------------------------
def windows(x, k, stride, pad, fill=0.0):
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    w = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))
    return w[:, :, ::stride, ::stride], xp.shape


class Conv:
    def __init__(self, name, stride, pad):
        self.name, self.stride, self.pad = name, stride, pad

    def forward(self, x, p, train):
        w = p[self.name + ".weight"]
        self.x = x
        cols, _ = windows(x, w.shape[2], self.stride, self.pad)
        return np.einsum("nchwij,ocij->nohw", cols, w, optimize=True)

    def backward(self, dy, p, g):
        w = p[self.name + ".weight"]
        k, s = w.shape[2], self.stride
        cols, padded = windows(self.x, k, s, self.pad)
        g[self.name + ".weight"] += np.einsum("nchwij,nohw->ocij", cols, dy, optimize=True)
        dxp = np.zeros(padded)
        ho, wo = dy.shape[2], dy.shape[3]
        for i in range(k):
            for j in range(k):
                dxp[:, :, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s] += np.einsum("nohw,oc->nchw", dy, w[:, :, i, j], optimize=True)
        h, wd = self.x.shape[2], self.x.shape[3]
        return dxp[:, :, self.pad:self.pad + h, self.pad:self.pad + wd]


class BN:
    def __init__(self, name):
        self.name = name

    def forward(self, x, p, train):
        gamma, beta = p[self.name + ".weight"], p[self.name + ".bias"]
        self.train = train
        if train:
            m = x.shape[0] * x.shape[2] * x.shape[3]
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            rm, rv = self.name + ".running_mean", self.name + ".running_var"
            p[rm] = (1 - MOMENTUM) * p[rm] + MOMENTUM * mean
            p[rv] = (1 - MOMENTUM) * p[rv] + MOMENTUM * var * m / (m - 1)
            p[self.name + ".num_batches_tracked"] = p[self.name + ".num_batches_tracked"] + 1
        else:
            mean, var = p[self.name + ".running_mean"], p[self.name + ".running_var"]
        self.inv = 1 / np.sqrt(var + EPSILON)
        self.xhat = (x - mean[None, :, None, None]) * self.inv[None, :, None, None]
        return gamma[None, :, None, None] * self.xhat + beta[None, :, None, None]

    def backward(self, dy, p, g):
        gamma = p[self.name + ".weight"]
        g[self.name + ".weight"] += (dy * self.xhat).sum(axis=(0, 2, 3))
        g[self.name + ".bias"] += dy.sum(axis=(0, 2, 3))
        factor = (gamma * self.inv)[None, :, None, None]
        if not self.train:
            return factor * dy
        mean_dy = dy.mean(axis=(0, 2, 3), keepdims=True)
        mean_dy_xhat = (dy * self.xhat).mean(axis=(0, 2, 3), keepdims=True)
        return factor * (dy - mean_dy - self.xhat * mean_dy_xhat)


class ReLU:
    def forward(self, x, p, train):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy, p, g):
        return dy * self.mask


class MaxPool:
    """3x3, stride 2, padding 1 (implicit -inf); the first maximum in row-major window order wins."""
    def forward(self, x, p, train):
        cols, padded = windows(x, 3, 2, 1, fill=-np.inf)
        n, c, ho, wo = cols.shape[:4]
        flat = cols.reshape(n, c, ho, wo, 9)
        self.arg, self.shape, self.padded, self.out = flat.argmax(axis=-1), x.shape, padded, (ho, wo)
        return flat.max(axis=-1)

    def backward(self, dy, p, g):
        dxp = np.zeros(self.padded)
        ho, wo = self.out
        n, c = dy.shape[:2]
        ni, ci, yi, xi = np.meshgrid(np.arange(n), np.arange(c), np.arange(ho), np.arange(wo), indexing="ij")
        rows, cols = 2 * yi + self.arg // 3, 2 * xi + self.arg % 3
        np.add.at(dxp, (ni, ci, rows, cols), dy)
        return dxp[:, :, 1:1 + self.shape[2], 1:1 + self.shape[3]]


class Block:
    def __init__(self, name, downsample, stride):
        self.main = [Conv(name + ".conv1", stride, 1), BN(name + ".bn1"), ReLU(), Conv(name + ".conv2", 1, 1), BN(name + ".bn2")]
        self.short = [Conv(name + ".downsample.0", stride, 0), BN(name + ".downsample.1")] if downsample else []
        self.relu = ReLU()

    def forward(self, x, p, train):
        m, s = x, x
        for layer in self.main:
            m = layer.forward(m, p, train)
        for layer in self.short:
            s = layer.forward(s, p, train)
        return self.relu.forward(m + s, p, train)

    def backward(self, dy, p, g):
        d = self.relu.backward(dy, p, g)
        dm, ds = d, d
        for layer in reversed(self.main):
            dm = layer.backward(dm, p, g)
        for layer in reversed(self.short):
            ds = layer.backward(ds, p, g)
        return dm + ds


class ResNet18:
    def __init__(self):
        self.layers = [Conv("conv1", 2, 3), BN("bn1"), ReLU(), MaxPool()]
        self.layers += [Block(p, downsample, stride) for p, _, _, stride, downsample in block_plan()]

    def forward(self, x, p, train):
        for layer in self.layers:
            x = layer.forward(x, p, train)
        self.pooled_shape = x.shape
        self.features = x.mean(axis=(2, 3))
        return self.features @ p["fc.weight"].T + p["fc.bias"]

    def backward(self, dlogits, p, g):
        g["fc.weight"] += dlogits.T @ self.features
        g["fc.bias"] += dlogits.sum(axis=0)
        n, c, h, w = self.pooled_shape
        d = np.broadcast_to((dlogits @ p["fc.weight"])[:, :, None, None] / (h * w), self.pooled_shape).copy()
        for layer in reversed(self.layers):
            d = layer.backward(d, p, g)
        return d


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = len(labels)
    loss = -logp[np.arange(n), labels].mean()
    d = np.exp(logp)
    d[np.arange(n), labels] -= 1
    return loss, d / n


def numpy_reference(check=True):
    params = state_dict()
    x = make_input()
    net = ResNet18()
    eval_logits = net.forward(x, params, train=False)
    train_params = dict(params)
    logits = net.forward(x, train_params, train=True)
    loss, dlogits = cross_entropy(logits, LABELS)
    grads = {name: np.zeros_like(v) for name, v in params.items() if trainable(name)}
    dx = net.backward(dlogits, train_params, grads)
    if check:
        finite_difference_check(params, x, grads)
    return eval_logits, logits, loss, grads, dx, train_params


def finite_difference_check(params, x, grads):
    """Central differences in float64 on a few coordinates of several tensors: the hand-written backward must
    agree to 1e-6 relative, or nothing is written."""
    rng = np.random.default_rng(0)
    for name in ["conv1.weight", "bn1.bias", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
                 "layer3.0.bn1.weight", "layer4.1.conv1.weight", "fc.weight"]:
        for index in rng.choice(params[name].size, size=2, replace=False):
            def loss_at(delta):
                p = dict(params)
                p[name] = params[name].copy()
                p[name].flat[index] += delta
                return cross_entropy(ResNet18().forward(x, p, train=True), LABELS)[0]
            h = 1e-5
            numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
            analytic = grads[name].flat[index]
            error = abs(numeric - analytic) / max(abs(numeric), abs(analytic), 1e-8)
            print(f"finite difference {name}[{index}]: analytic {analytic:.9e} numeric {numeric:.9e} relative {error:.1e}")
            assert error < 1e-6 or abs(numeric - analytic) < 1e-10, f"{name}[{index}]: backward disagrees"


# --- torch float64 reference ---------------------------------------------------------------------------------
def torch_reference():
    import torch
    import torch.nn.functional as F
    torch.set_default_dtype(torch.float64)
    tensors = {name: torch.tensor(v) for name, v in state_dict().items()}
    tensors = {name: (t.to(torch.int64) if name.endswith("num_batches_tracked") else t) for name, t in tensors.items()}
    global TORCH_LABEL
    try:
        import torchvision
        TORCH_LABEL = f"torchvision {torchvision.__version__} resnet18 (torch {torch.__version__})"
        net = torchvision.models.resnet18(num_classes=CLASSES).double()
        net.load_state_dict(tensors)

        def run(x, train):
            net.train(train)
            return net(x)
        params = dict(net.named_parameters())
        buffers = lambda: {k: v.detach().numpy().copy() for k, v in net.named_buffers()}
    except ImportError:
        TORCH_LABEL = f"torch {torch.__version__} functional"
        params = {k: v.clone().requires_grad_(True) for k, v in tensors.items() if trainable(k)}
        state = {k: v.clone() for k, v in tensors.items() if not trainable(k)}

        def bn(h, name, train):
            return F.batch_norm(h, state[name + ".running_mean"], state[name + ".running_var"], params[name + ".weight"],
                                params[name + ".bias"], training=train, momentum=MOMENTUM, eps=EPSILON)

        def run(x, train):
            h = F.relu(bn(F.conv2d(x, params["conv1.weight"], stride=2, padding=3), "bn1", train))
            h = F.max_pool2d(h, 3, 2, 1)
            for p, _, _, stride, downsample in block_plan():
                m = F.relu(bn(F.conv2d(h, params[p + ".conv1.weight"], stride=stride, padding=1), p + ".bn1", train))
                m = bn(F.conv2d(m, params[p + ".conv2.weight"], padding=1), p + ".bn2", train)
                s = h
                if downsample:
                    s = bn(F.conv2d(h, params[p + ".downsample.0.weight"], stride=stride), p + ".downsample.1", train)
                h = F.relu(m + s)
            return F.linear(h.mean(dim=(2, 3)), params["fc.weight"], params["fc.bias"])
        buffers = lambda: {k: v.numpy().copy() for k, v in state.items()}
    x = torch.tensor(make_input(), requires_grad=True)
    with torch.no_grad():
        eval_logits = run(x, False).numpy().copy()
    logits = run(x, True)
    loss = F.cross_entropy(logits, torch.tensor(LABELS))
    loss.backward()
    grads = {name: t.grad.numpy().copy() for name, t in params.items()}
    after = dict(state_dict())
    after.update(buffers())
    return eval_logits, logits.detach().numpy(), loss.item(), grads, x.grad.numpy(), after


TORCH_LABEL = "torch"


def fixture(result, backend):
    eval_logits, logits, loss, grads, dx, after = result
    def flat(a):
        return [float(v) for v in np.asarray(a).reshape(-1)]
    return {
        "backend": backend,
        "model": "resnet18", "classes": CLASSES, "input_shape": list(INPUT_SHAPE), "labels": LABELS,
        "input_seed": INPUT_SEED, "momentum": MOMENTUM, "epsilon": EPSILON,
        "eval_logits": flat(eval_logits),
        "train_logits": flat(logits),
        "train_loss": float(loss),
        "gradient_norms": {name: float(np.linalg.norm(g)) for name, g in grads.items()},
        "gradient_slices": {name: flat(grads[name])[:SLICE] for name in GRADIENT_SLICES},
        "input_gradient_slice": flat(dx)[:SLICE],
        "buffers_after_training_forward": {name: flat(after[name])[:SLICE] for name in BUFFER_SLICES},
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["numpy", "torch"])
    parser.add_argument("--compare", action="store_true", help="run numpy and torch and print their largest differences")
    parser.add_argument("--out", default=OUT, help=f"where to write the fixture (default {OUT})")
    args = parser.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
    if args.compare:
        a, b = fixture(numpy_reference(check=False), "numpy"), fixture(torch_reference(), "torch")
        print("numpy against", TORCH_LABEL)
        for key in ["eval_logits", "train_logits", "input_gradient_slice"]:
            print(key, max(abs(u - v) for u, v in zip(a[key], b[key])))
        print("gradient norms, largest relative difference",
              max(abs(a["gradient_norms"][k] - b["gradient_norms"][k]) / max(b["gradient_norms"][k], 1e-12) for k in a["gradient_norms"]))
        return
    backend = args.backend or ("torch" if have_torch else "numpy")
    result = torch_reference() if backend == "torch" else numpy_reference()
    if backend == "torch":
        backend = TORCH_LABEL
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(fixture(result, backend), f, indent=1)
        f.write("\n")
    print(f"{args.out} written ({backend} backend)")


if __name__ == "__main__":
    main()
