"""Compiled mode on micrograd's moons step: eager vs compiled (Python, NumPy) vs PyTorch batched.

    python benchmarks/compiled.py [--quick] [--steps N] [--repeats R]

Every engine trains the demo's model (MLP(2, [16, 16, 1]), random.seed(1337)) on the demo's 100
points from the same initial weights; compiled mode records the demo's loss once and replays it
each step (the data never change, so the points are constants of the recording). Prints the ms
per step (min / median / mean over repeats x steps), the ratios, the one-off record + compile
time, and how far the compiled losses are from eager mode's. All engines run in this process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from moons import demo_loss, demo_step, initial_weights, moons, seeded_model

from gradengine import MLP, Value, compile_graph


def eager(X: Any, y: Any, steps: int) -> tuple[list[float], list[float], float]:
    model = seeded_model(MLP)
    seconds, losses = [], []
    for k in range(steps):
        start = time.perf_counter()
        loss, _ = demo_step(Value, model, X, y, k)
        seconds.append(time.perf_counter() - start)
        losses.append(loss.data)
    return seconds, losses, 0.0


def compiled(backend: str, X: Any, y: Any, steps: int) -> tuple[list[float], list[float], float]:
    model = seeded_model(MLP)
    start = time.perf_counter()
    loss, _ = demo_loss(Value, model, X, y)
    program = compile_graph(loss, model.parameters(), backend=backend)
    setup = time.perf_counter() - start
    parameters = model.parameters()
    seconds, losses = [], []
    for k in range(steps):
        start = time.perf_counter()
        for p in parameters:
            p.grad = 0.0
        out = program.run()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in parameters:
            p.data -= learning_rate * p.grad
        seconds.append(time.perf_counter() - start)
        losses.append(out)
    return seconds, losses, setup


def torch_batched(X: Any, y: Any, steps: int) -> tuple[list[float], list[float], float]:
    import torch
    from batched import train_torch

    torch.set_num_threads(1)  # small arrays on shared cores: more threads only wait for each other

    run = train_torch(initial_weights(seeded_model(MLP)), X, y, steps)
    return run.step_seconds, run.losses, 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 steps, 1 repeat (for tests)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    steps, repeats = (2, 1) if args.quick else (args.steps, args.repeats)
    X, y = moons(100)
    engines: dict[str, Any] = {
        "eager": eager,
        "compiled python": lambda X, y, n: compiled("python", X, y, n),
        "compiled numpy": lambda X, y, n: compiled("numpy", X, y, n),
    }
    try:
        import torch  # noqa: F401

        engines["PyTorch batched float64"] = torch_batched
    except ImportError:
        print("(PyTorch is not installed: no PyTorch row)")
    rows: dict[str, tuple[list[float], list[float], float]] = {}
    for name, train in engines.items():
        seconds: list[float] = []
        setups: list[float] = []
        losses: list[float] = []
        for _ in range(repeats):
            s, losses, setup = train(X, y, steps)
            seconds += s
            setups.append(setup)
        rows[name] = (seconds, losses, min(setups))
    reference = statistics.median(rows["eager"][0])
    torch_median = (
        statistics.median(rows["PyTorch batched float64"][0])
        if "PyTorch batched float64" in rows
        else None
    )
    print(f"moons step, {steps} steps x {repeats} repeats, ms per step")
    header = f"{'engine':<24} {'min':>9} {'median':>9} {'mean':>9} {'vs eager':>9} {'vs torch':>9}"
    print(header + f" {'record+compile':>15} {'max |loss - eager|':>19}")
    eager_losses = rows["eager"][1]
    for name, (seconds, losses, setup) in rows.items():
        ms = [s * 1000 for s in seconds]
        median = statistics.median(seconds)
        vs_torch = f"{median / torch_median:8.2f}x" if torch_median else f"{'-':>9}"
        diff = max(abs(a - b) for a, b in zip(losses, eager_losses, strict=True))
        setup_text = f"{setup:14.3f}s" if setup else f"{'-':>15}"
        print(
            f"{name:<24} {min(ms):9.3f} {statistics.median(ms):9.3f} {statistics.mean(ms):9.3f} "
            f"{reference / median:8.1f}x {vs_torch} {setup_text} {diff:19.2e}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
