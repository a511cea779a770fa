"""Compiled mode at scale: one full-batch SGD step of the moons MLP, against PyTorch and JAX.

    python benchmarks/scaling.py                      # N in 100, 1000, 10000 x H in 16, 64, 256
    python benchmarks/scaling.py --samples 100 --widths 16 --steps 5 --rounds 1   # a tiny run
    python benchmarks/scaling.py --worker ENGINE N H STEPS   # one measurement (JSON on stdout)

The step: a 2 -> H -> H -> 1 ReLU MLP on N moons points, hinge loss (mean) + 1e-4 * Σ p², its
gradient and one SGD update, every engine starting from the same weights. Engines:

- gradengine: ``compile_batched`` (one sample recorded, replayed over the batch, the NumPy
  backend) with the parameters in the program's array and ``SGD.step_arrays``;
- fit: ``gradengine.cli.train.fit(engine="compiled")``, each step's forward + backward + update
  as fit records it;
- cli: ``gradengine train --engine compiled --optimizer sgd``, the same seconds from its report;
- torch: PyTorch float64 tensors, one matmul per layer, autograd, the same update;
- jax: ``jax.jit`` of the loss's value_and_grad and the update, float64 (if JAX is installed).

Each engine runs in a fresh interpreter with one BLAS thread, the engines taking turns, and
``--rounds`` times over; a cell's step times are every timed step of every round, reported as
min, median and mean milliseconds. Peak memory is the growth of the process's peak resident set
size over the step loop (and recording), from the interpreter with the model and data loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rss import current_rss_bytes, peak_rss_bytes

HERE = Path(__file__).resolve().parent
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
ENGINES = ("gradengine", "fit", "cli", "torch", "jax")
ALPHA = 1e-4
LR = 0.1
WARMUP = 2  # untimed steps first (JAX compiles on its first call: that is its compile time)


# -- one engine, one cell (a worker process) ------------------------------------------------------


def moons(n: int) -> tuple[list[list[float]], list[float]]:
    """n moons points and their labels as ±1 (noise 0.1, seed 0)."""
    from gradengine import data

    X, y = data.make_moons(n, noise=0.1, random_state=0)
    return X, [2.0 * c - 1.0 for c in y]


def initial_layers(h: int) -> list[tuple[list[list[float]], list[float]]]:
    """The (W, b) of each layer of gradengine's MLP(2, [h, h, 1], seed=0), W as rows."""
    from gradengine import MLP

    model = MLP(2, [h, h, 1], seed=0)
    return [
        ([[w.data for w in n.w] for n in layer.neurons], [n.b.data for n in layer.neurons])
        for layer in model.layers
    ]


def run_gradengine(n: int, h: int, steps: int) -> dict[str, Any]:
    import numpy as np

    from gradengine import MLP, losses
    from gradengine.compile.batched import compile_batched
    from gradengine.optim import SGD

    X, y = moons(n)
    rows = np.array([[*x, t] for x, t in zip(X, y, strict=True)])
    model = MLP(2, [h, h, 1], seed=0)
    params = model.parameters()
    optimizer = SGD(params, lr=LR)

    def sample(v: Any) -> Any:
        scores = model.forward(v[:2])
        return losses.loss_of_inputs("hinge", [scores[0], v[2]]), scores

    before = current_rss_bytes()
    start = time.perf_counter()
    program = compile_batched(
        sample, params, rows, penalty=losses.l2(params, alpha=ALPHA), backend="numpy", check=0
    )
    compile_seconds = time.perf_counter() - start
    seconds, first = [], None
    for k in range(WARMUP + steps):
        start = time.perf_counter()
        result = program.step(rows)
        optimizer.step_arrays(program.params, program.grads)
        if k >= WARMUP:
            seconds.append(time.perf_counter() - start)
        first = result.loss if first is None else first
    return {
        "seconds": seconds,
        "compile": compile_seconds,
        "peak": peak_rss_bytes() - before,
        "loss0": first,
    }


def fit_dataset(n: int) -> Any:
    from gradengine.cli import train

    X, y = moons(n)
    return train.Dataset("moons", X, [int(t > 0) for t in y], [], [], 2)


def run_fit(n: int, h: int, steps: int) -> dict[str, Any]:
    from gradengine import MLP
    from gradengine.cli import train
    from gradengine.optim import SGD

    dataset = fit_dataset(n)
    model = MLP(2, [h, h, 1], seed=0)
    before = current_rss_bytes()
    history = train.fit(
        model,
        dataset,
        SGD(model.parameters(), lr=LR),
        steps=WARMUP + steps,
        engine="compiled",
        alpha=ALPHA,
    )
    return {
        "seconds": [r.seconds for r in history.steps[WARMUP:]],
        "compile": history.compile_seconds,
        "peak": peak_rss_bytes() - before,
        "loss0": history.steps[0].loss,
    }


def run_cli(n: int, h: int, steps: int) -> dict[str, Any]:
    from gradengine.cli import main

    samples = n * 5 // 4  # 20% held out for testing: n training points
    with tempfile.TemporaryDirectory() as out:
        before = current_rss_bytes()
        args = ["train", "--dataset", "moons", "--samples", str(samples), "--hidden", f"{h},{h}"]
        args += ["--optimizer", "sgd", "--lr", str(LR), "--steps", str(WARMUP + steps)]
        args += ["--engine", "compiled", "--quiet", "--out", out]
        code = main(args)
        if code != 0:
            raise SystemExit(f"gradengine {' '.join(args)} exited with {code}")
        report = json.loads((Path(out) / "report.json").read_text())
    return {
        "seconds": [s["seconds"] for s in report["steps"][WARMUP:]],
        "compile": report["timings"]["compile_seconds"],
        "peak": peak_rss_bytes() - before,
        "loss0": report["steps"][0]["loss"],
        "n_train": report["data"]["n_train"],
    }


def run_torch(n: int, h: int, steps: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    X, y = moons(n)
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.float64)
    params = []
    for W, b in initial_layers(h):
        for array in (W, b):
            params.append(torch.tensor(array, dtype=torch.float64, requires_grad=True))
    before = current_rss_bytes()
    seconds, first = [], None
    for k in range(WARMUP + steps):
        start = time.perf_counter()
        z = inputs
        for i in range(3):
            z = z @ params[2 * i].T + params[2 * i + 1]
            if i < 2:
                z = z.relu()
        loss = (1 - labels * z[:, 0]).relu().mean() + ALPHA * sum((p * p).sum() for p in params)
        for p in params:
            p.grad = None
        loss.backward()  # type: ignore[no-untyped-call]
        with torch.no_grad():
            for p in params:
                assert p.grad is not None
                p -= LR * p.grad
        if k >= WARMUP:
            seconds.append(time.perf_counter() - start)
        first = loss.item() if first is None else first
    return {"seconds": seconds, "compile": 0.0, "peak": peak_rss_bytes() - before, "loss0": first}


def run_jax(n: int, h: int, steps: int) -> dict[str, Any]:
    import jax

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    import jax.numpy as jnp

    X, y = moons(n)
    inputs = jnp.array(X, dtype=jnp.float64)
    labels = jnp.array(y, dtype=jnp.float64)
    params = [(jnp.array(W), jnp.array(b)) for W, b in initial_layers(h)]

    def loss_of(params: Any) -> Any:
        z = inputs
        for i, (W, b) in enumerate(params):
            z = z @ W.T + b
            if i < 2:
                z = jax.nn.relu(z)
        data_loss = jnp.mean(jax.nn.relu(1 - labels * z[:, 0]))
        return data_loss + ALPHA * sum(jnp.sum(W * W) + jnp.sum(b * b) for W, b in params)

    @jax.jit
    def step(params: Any) -> Any:
        loss, grads = jax.value_and_grad(loss_of)(params)
        return loss, jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    before = current_rss_bytes()
    seconds, first, compile_seconds = [], None, 0.0
    for k in range(WARMUP + steps):
        start = time.perf_counter()
        loss, params = step(params)
        loss.block_until_ready()
        elapsed = time.perf_counter() - start
        if k == 0:
            compile_seconds = elapsed
        if k >= WARMUP:
            seconds.append(elapsed)
        first = float(loss) if first is None else first
    return {
        "seconds": seconds,
        "compile": compile_seconds,
        "peak": peak_rss_bytes() - before,
        "loss0": first,
    }


WORKERS = {
    "gradengine": run_gradengine,
    "fit": run_fit,
    "cli": run_cli,
    "torch": run_torch,
    "jax": run_jax,
}


# -- the table (the parent process) ---------------------------------------------------------------


def available(engine: str) -> bool:
    """Whether the engine's package imports here (JAX is optional)."""
    import importlib.util

    needs = {"torch": ["torch"], "jax": ["jax"], "cli": ["matplotlib", "tqdm"]}
    return all(importlib.util.find_spec(m) is not None for m in needs.get(engine, []))


def measure_one(engine: str, n: int, h: int, steps: int) -> dict[str, Any]:
    """The worker's JSON, from a fresh interpreter with one BLAS thread."""
    worker = [sys.executable, str(Path(__file__).resolve()), "--worker", engine]
    done = subprocess.run(
        [*worker, str(n), str(h), str(steps)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **ONE_THREAD, "JAX_PLATFORMS": "cpu"},
        cwd=HERE,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{engine} at N={n}, H={h} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(
    samples: Sequence[int], widths: Sequence[int], engines: Sequence[str], steps: int, rounds: int
) -> list[dict[str, Any]]:
    """Every cell: each engine's step times over every round (the engines taking turns)."""
    cells = []
    for n in samples:
        for h in widths:
            runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
            for _ in range(rounds):
                for engine in engines:
                    runs[engine].append(measure_one(engine, n, h, steps))
            cell: dict[str, Any] = {"N": n, "H": h}
            for engine, results in runs.items():
                seconds = [s for r in results for s in r["seconds"]]
                cell[engine] = {
                    "min_ms": 1e3 * min(seconds),
                    "median_ms": 1e3 * statistics.median(seconds),
                    "mean_ms": 1e3 * statistics.fmean(seconds),
                    "compile_s": max(r["compile"] for r in results),
                    "peak_mb": max(r["peak"] for r in results) / 1e6,
                    "loss0": results[0]["loss0"],
                }
            cells.append(cell)
            print(f"  measured N={n}, H={h}", file=sys.stderr, flush=True)
    return cells


def table(cells: list[dict[str, Any]], engines: Sequence[str]) -> str:
    """The cells as a Markdown table: ms per step (min / median / mean), ratios to PyTorch."""
    head = ["N", "H"]
    for engine in engines:
        head.append(f"{engine} ms (min / med / mean)")
        if engine != "torch" and "torch" in engines:
            head.append(f"{engine} / torch (med)")
    head += ["record+compile s", "peak MB (gradengine / torch)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cell in cells:
        row = [f"{cell['N']:,}", str(cell["H"])]
        for engine in engines:
            e = cell[engine]
            row.append(f"{e['min_ms']:.3g} / {e['median_ms']:.3g} / {e['mean_ms']:.3g}")
            if engine != "torch" and "torch" in engines:
                row.append(f"{e['median_ms'] / cell['torch']['median_ms']:.2f}x")
        ours = cell.get("gradengine", cell.get("fit", {}))
        row.append(f"{ours.get('compile_s', float('nan')):.2f}")
        theirs = cell["torch"]["peak_mb"] if "torch" in engines else float("nan")
        row.append(f"{ours.get('peak_mb', float('nan')):.0f} / {theirs:.0f}")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def sizes(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=sizes, default=[100, 1_000, 10_000])
    parser.add_argument("--widths", type=sizes, default=[16, 64, 256])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each engine per cell")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--json", metavar="FILE", help="also write the cells as JSON")
    parser.add_argument("--worker", nargs=4, metavar=("ENGINE", "N", "H", "STEPS"))
    args = parser.parse_args(argv)
    if args.worker:
        engine, n, h, steps = args.worker
        print(json.dumps(WORKERS[engine](int(n), int(h), int(steps))))
        return 0
    engines = [e for e in args.engines.split(",") if available(e)]
    skipped = [e for e in args.engines.split(",") if e not in engines]
    cells = measure(args.samples, args.widths, engines, args.steps, args.rounds)
    print(table(cells, engines))
    if "torch" in engines:
        same = [e for e in ("gradengine", "fit", "jax") if e in engines]  # cli: its own split
        worst = max(
            (
                abs(c[e]["loss0"] - c["torch"]["loss0"]) / abs(c["torch"]["loss0"])
                for c in cells
                for e in same
            ),
            default=0.0,
        )
        print(f"\nfirst losses of {', '.join(same)}: within {worst:.1e} of PyTorch's (relative)")
    if skipped:
        print(f"\nnot installed, not run: {', '.join(skipped)}")
    if args.json:
        Path(args.json).write_text(json.dumps(cells, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
