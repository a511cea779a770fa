"""The moons demo on whole arrays: PyTorch float64 autograd, and NumPy with a hand-written backward.

Both start from the scalar model's initial weights and compute the demo's loss, so their losses
can be compared step by step with micrograd's; they show how fast this workload can physically go.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from moons import LayerWeights, Run

ALPHA = 1e-4


def learning_rate(k: int) -> float:
    """The demo's schedule: lr = 1 - 0.9 k / 100."""
    return 1.0 - 0.9 * k / 100


def as_matrices(weights: Sequence[LayerWeights]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(W, b) per layer, W of shape (nout, nin): one row [w1..wn, b] per neuron split apart."""
    layers = []
    for layer in weights:
        rows = np.array(layer, dtype=np.float64)
        layers.append((rows[:, :-1].copy(), rows[:, -1].copy()))
    return layers


def train_torch(weights: Sequence[LayerWeights], X: np.ndarray, y: np.ndarray, steps: int) -> Run:
    """The demo with batched float64 tensors: one matmul per layer, autograd for the backward."""
    import torch

    params = []
    for W, b in as_matrices(weights):
        params.append(torch.tensor(W, requires_grad=True))
        params.append(torch.tensor(b, requires_grad=True))
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.float64)
    last = len(params) // 2 - 1
    run = Run()
    for k in range(steps):
        start = time.perf_counter()
        h = inputs
        for i in range(last + 1):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i != last:
                h = h.relu()
        scores = h[:, 0]
        losses = (1 + -labels * scores).relu()
        data_loss = losses.sum() * (1.0 / len(losses))
        reg_loss = ALPHA * sum((p * p).sum() for p in params)
        total_loss = data_loss + reg_loss
        accuracy = ((labels > 0) == (scores > 0)).double().mean()
        for p in params:
            p.grad = None
        total_loss.backward()  # type: ignore[no-untyped-call]
        with torch.no_grad():
            for p in params:
                assert p.grad is not None  # backward() filled it in
                p -= learning_rate(k) * p.grad
        run.step_seconds.append(time.perf_counter() - start)
        run.losses.append(total_loss.item())
        run.accuracies.append(accuracy.item())
    return run


def train_numpy(weights: Sequence[LayerWeights], X: np.ndarray, y: np.ndarray, steps: int) -> Run:
    """The demo with NumPy float64 arrays and the backward pass written out by hand."""
    layers = as_matrices(weights)
    last = len(layers) - 1
    labels = y.astype(np.float64)
    n = len(labels)
    run = Run()
    for k in range(steps):
        start = time.perf_counter()
        # forward: z_i = h_{i-1} W_i^T + b_i, h_i = relu(z_i) except for the last layer
        hs, zs = [X], []
        for i, (W, b) in enumerate(layers):
            z = hs[-1] @ W.T + b
            zs.append(z)
            hs.append(np.maximum(z, 0.0) if i != last else z)
        scores = hs[-1][:, 0]
        margins = 1 + -labels * scores
        data_loss = np.maximum(margins, 0.0).sum() * (1.0 / n)
        reg_loss = ALPHA * sum(float((W * W).sum() + (b * b).sum()) for W, b in layers)
        total_loss = data_loss + reg_loss
        accuracy = np.mean((labels > 0) == (scores > 0))
        # backward: d loss / d score_i = -y_i [margin_i > 0] / n, then the chain rule per layer:
        # dW_i = g_i^T h_{i-1} + 2 alpha W_i, db_i = Σ_rows g_i + 2 alpha b_i,
        # g_{i-1} = (g_i W_i) * [z_{i-1} > 0]  (relu passes gradient where its input is > 0)
        g = (-labels * (margins > 0) * (1.0 / n))[:, None]
        grads = []
        for i in range(last, -1, -1):
            W, b = layers[i]
            grads.append((g.T @ hs[i] + 2 * ALPHA * W, g.sum(axis=0) + 2 * ALPHA * b))
            if i > 0:
                g = (g @ W) * (zs[i - 1] > 0)
        lr = learning_rate(k)
        for (W, b), (dW, db) in zip(layers, reversed(grads), strict=True):
            W -= lr * dW
            b -= lr * db
        run.step_seconds.append(time.perf_counter() - start)
        run.losses.append(float(total_loss))
        run.accuracies.append(float(accuracy))
    return run
