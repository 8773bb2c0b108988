#!/usr/bin/env python3
"""Independent float64 reference for the Optimizers module; writes Tests/OptimizersTests/Fixtures/optimizer_reference.json.

Each algorithm is written here from its published pseudo-code, in plain numpy, without looking at the Swift
code: PyTorch's documented algorithms for SGD (momentum, Nesterov), Adam, AdamW and RMSprop
(https://pytorch.org/docs/stable/optim.html, the "Algorithm" boxes), and Program 1 of the Lion paper
(Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023). PyTorch itself is not installable in
this environment, so the fixtures could not be produced by torch.optim directly; the pseudo-code is
followed line by line instead, with one dict of state per parameter group as PyTorch keeps it.

Per step, in PyTorch's order: clip_grad_norm_ over all parameters (coef = max_norm / (norm + 1e-6),
clamped to 1), then each group's update with lr = base_lr * schedule(step) * group multiplier and
weight_decay = wd if the group decays else 0.

Schedule (defined in docs of LearningRateSchedule): linear warm-up multiplier (k + 1) / W for k < W, then
f + (1 - f) * (1 + cos(pi * min(1, (k - W) / (T - W)))) / 2.

Inputs (initial parameters, gradients) are rounded to float32 first so that Swift sees exactly the same
numbers; everything after that is float64.

Run: python3 tools/optimizer_reference.py
"""
import json
import math
import os

import numpy as np

STEPS = 10
PARAMETERS = 7
# Two groups: a "body" that decays with multiplier 1 and a "head" with a 10x learning rate and no decay.
GROUPS = [
    {"name": "body", "offset": 0, "count": 4, "learning_rate_multiplier": 1.0, "applies_weight_decay": True},
    {"name": "head", "offset": 4, "count": 3, "learning_rate_multiplier": 10.0, "applies_weight_decay": False},
]
SCHEDULE = {"warmup_steps": 3, "total_steps": 10, "final_fraction": 0.1}
MAX_GRAD_NORM = 1.5
LEARNING_RATES = {
    "sgd": 0.05, "momentum": 0.02, "nesterov": 0.02, "adam": 0.01,
    "adamw": 0.01, "lion": 0.003, "rmsprop": 0.001,
}


def as_float32(x):
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def schedule_multiplier(step, schedule):
    if schedule is None:
        return 1.0
    warmup, total, final = schedule["warmup_steps"], schedule["total_steps"], schedule["final_fraction"]
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / (total - warmup))
    return final + (1.0 - final) * (1.0 + math.cos(math.pi * progress)) / 2.0


def sgd_group_step(theta, g, state, lr, wd, momentum, nesterov):
    """torch.optim.SGD algorithm box, dampening 0, maximize False."""
    if wd != 0:
        g = g + wd * theta
    if momentum != 0:
        if "b" not in state:
            state["b"] = g.copy()
        else:
            state["b"] = momentum * state["b"] + g
        if nesterov:
            g = g + momentum * state["b"]
        else:
            g = state["b"]
    return theta - lr * g, g


def adam_group_step(theta, g, state, lr, wd, decoupled, beta1=0.9, beta2=0.999, eps=1e-8):
    """torch.optim.Adam (decoupled=False) and torch.optim.AdamW (decoupled=True) algorithm boxes, amsgrad False."""
    t = state.get("t", 0) + 1
    state["t"] = t
    if decoupled:
        theta = theta - lr * wd * theta
    elif wd != 0:
        g = g + wd * theta
    m = beta1 * state.get("m", np.zeros_like(g)) + (1 - beta1) * g
    v = beta2 * state.get("v", np.zeros_like(g)) + (1 - beta2) * g * g
    state["m"], state["v"] = m, v
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    d = m_hat / (np.sqrt(v_hat) + eps)
    return theta - lr * d, d


def rmsprop_group_step(theta, g, state, lr, wd, alpha=0.99, eps=1e-8):
    """torch.optim.RMSprop algorithm box, centered False, momentum 0."""
    if wd != 0:
        g = g + wd * theta
    v = alpha * state.get("v", np.zeros_like(g)) + (1 - alpha) * g * g
    state["v"] = v
    d = g / (np.sqrt(v) + eps)
    return theta - lr * d, d


def lion_group_step(theta, g, state, lr, wd, beta1=0.9, beta2=0.99):
    """Lion paper, Program 1: update = sign(interp(m, g, beta1)); p = p - lr * (update + wd * p); m = interp(m, g, beta2)."""
    m = state.get("m", np.zeros_like(g))
    c = beta1 * m + (1 - beta1) * g
    d = np.sign(c)
    theta = theta - lr * (d + wd * theta)
    state["m"] = beta2 * m + (1 - beta2) * g
    return theta, d


def group_step(kind, theta, g, state, lr, wd):
    if kind == "sgd":
        return sgd_group_step(theta, g, state, lr, wd, momentum=0.0, nesterov=False)
    if kind == "momentum":
        return sgd_group_step(theta, g, state, lr, wd, momentum=0.9, nesterov=False)
    if kind == "nesterov":
        return sgd_group_step(theta, g, state, lr, wd, momentum=0.9, nesterov=True)
    if kind == "adam":
        return adam_group_step(theta, g, state, lr, wd, decoupled=False)
    if kind == "adamw":
        return adam_group_step(theta, g, state, lr, wd, decoupled=True)
    if kind == "rmsprop":
        return rmsprop_group_step(theta, g, state, lr, wd)
    if kind == "lion":
        return lion_group_step(theta, g, state, lr, wd)
    raise ValueError(kind)


def run_case(name, kind, initial, gradients, groups, lr, wd, schedule, max_grad_norm):
    theta = initial.copy()
    states = [dict() for _ in groups]
    after, directions, norms = [], [], []
    for step, raw in enumerate(gradients):
        g_all = raw.copy()
        norm = float(np.sqrt(np.sum(g_all * g_all)))
        norms.append(norm)
        if max_grad_norm is not None:
            g_all = g_all * min(1.0, max_grad_norm / (norm + 1e-6))
        scheduled = lr * schedule_multiplier(step, schedule)
        direction = np.zeros_like(theta)
        for group, state in zip(groups, states):
            sl = slice(group["offset"], group["offset"] + group["count"])
            group_lr = scheduled * group["learning_rate_multiplier"]
            group_wd = wd if group["applies_weight_decay"] else 0.0
            theta[sl], direction[sl] = group_step(kind, theta[sl], g_all[sl], state, group_lr, group_wd)
        after.append(theta.tolist())
        directions.append(direction.tolist())
    return {
        "name": name, "optimizer": kind, "learning_rate": lr, "weight_decay": wd,
        "schedule": schedule, "max_grad_norm": max_grad_norm, "groups": groups,
        "initial_parameters": initial.tolist(), "gradients": gradients.tolist(),
        "gradient_norms": norms, "parameters_after_step": after,
        # The direction the update used; equals the rule's direction of the raw gradient only when there is
        # no clipping and no weight decay (the "plain" cases).
        "directions": directions,
    }


def main():
    rng = np.random.RandomState(20261129)
    initial = as_float32(rng.normal(0.0, 1.0, PARAMETERS))
    # Gradient magnitudes vary across steps so that clipping at 1.5 is active on some steps and not others.
    scales = np.array([0.3, 1.0, 0.5, 2.0, 0.2, 1.2, 0.4, 0.8, 1.5, 0.6])
    gradients = as_float32(rng.normal(0.0, 1.0, (STEPS, PARAMETERS)) * scales[:, None])
    whole = [{"name": "all", "offset": 0, "count": PARAMETERS, "learning_rate_multiplier": 1.0,
              "applies_weight_decay": True}]
    cases = []
    for kind, lr in LEARNING_RATES.items():
        cases.append(run_case(f"{kind}-plain", kind, initial, gradients, whole, lr, 0.0, None, None))
        cases.append(run_case(f"{kind}-groups-decay-schedule-clip", kind, initial, gradients, GROUPS, lr, 0.1,
                              SCHEDULE, MAX_GRAD_NORM))
    clipped = sum(1 for g in gradients if np.linalg.norm(g) > MAX_GRAD_NORM)
    assert 0 < clipped < STEPS, "the gradient sequence should exercise both clipped and unclipped steps"
    out = {
        "generator": "tools/optimizer_reference.py (float64 numpy, PyTorch pseudo-code and Lion paper; torch not installable here)",
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "Tests", "OptimizersTests", "Fixtures",
                        "optimizer_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases ({clipped} of {STEPS} steps clipped) to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
