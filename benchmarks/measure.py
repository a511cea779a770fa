"""One engine on one workload, in a fresh interpreter: python measure.py WORKLOAD ENGINE SIZES.

Prints the raw measurements as JSON. run.py starts one such process per engine and workload,
so no engine runs beside another's imports or garbage: importing PyTorch alone adds some 150,000
objects that every full pass of the cyclic garbage collector would walk again.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

GRAPH_SEED = 0
WORKLOADS = {
    "moons": (
        "micrograd",
        "gradengine",
        "compiled-python",
        "compiled-numpy",
        "compiled-python-per-sample",
        "torch",
        "numpy",
        "torch-scalar",
    ),
    "graph": ("micrograd", "gradengine"),
    "chain": ("micrograd", "gradengine"),
}


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    moons_samples: int
    moons_steps: int
    torch_scalar_steps: int
    graph_nodes: int
    graph_inputs: int
    chain_nodes: int
    # tracemalloc walks the whole call stack on every allocation, so under micrograd's recursive
    # backward its cost grows with the square of the chain: it measures a shorter chain.
    tracemalloc_nodes: int
    repeats: int


FULL = Sizes(100, 100, 3, 200_000, 1_000, 1_000_000, 10_000, 3)
QUICK = Sizes(20, 3, 1, 3_000, 100, 10_000, 2_000, 3)


def scalar_engine(engine: str) -> tuple[Any, Any]:
    """(Value, MLP) of micrograd or gradengine."""
    if engine == "micrograd":
        import graphs
        from micrograd.engine import Value
        from micrograd.nn import MLP

        graphs.add_tanh_to_micrograd(Value)
        return Value, MLP
    from gradengine import MLP, Value

    return Value, MLP


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """(seconds work() took, its result)"""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def moons_part(engine: str, sizes: Sizes) -> dict[str, Any]:
    """Training runs of the moons demo (losses, accuracies, seconds per step) and the weights."""
    import moons

    X, y = moons.moons(sizes.moons_samples)
    steps = sizes.moons_steps
    if engine.startswith("compiled-"):
        import compiled_bench

        from gradengine import MLP

        weights = moons.initial_weights(moons.seeded_model(MLP))
        backend = engine.removeprefix("compiled-").removesuffix("-per-sample")
        replay = (
            compiled_bench.moons_per_sample
            if engine.endswith("-per-sample")
            else compiled_bench.moons_compiled
        )
        done = [replay(backend, X, y, steps) for _ in range(sizes.repeats)]
        return {
            "weights": weights,
            "runs": [asdict(run) for run, _ in done],
            "setup_seconds": [setup for _, setup in done],
        }
    if engine in ("micrograd", "gradengine"):
        value_class, mlp_class = scalar_engine(engine)
        weights = moons.initial_weights(moons.seeded_model(mlp_class))
        # micrograd is slow: its one run gives both the timings and the reference losses
        repeats = 1 if engine == "micrograd" else sizes.repeats
        runs = [
            moons.train(value_class, moons.seeded_model(mlp_class), X, y, steps)
            for _ in range(repeats)
        ]
    else:
        from gradengine import MLP

        weights = moons.initial_weights(moons.seeded_model(MLP))
        if engine == "torch-scalar":
            model = moons.ScalarTorchMLP(weights)
            steps = min(steps, sizes.torch_scalar_steps)
            runs = [moons.train(moons.scalar_tensor, model, X, y, steps)]
        else:
            import batched

            train = batched.train_torch if engine == "torch" else batched.train_numpy
            runs = [train(weights, X, y, steps) for _ in range(sizes.repeats)]
    return {"weights": weights, "runs": [asdict(run) for run in runs]}


def graph_part(engine: str, sizes: Sizes) -> dict[str, Any]:
    """Seconds per build + backward of the random expression, its root and leaf gradients."""
    import graphs

    Value, _ = scalar_engine(engine)
    inputs, program = graphs.random_program(sizes.graph_nodes, sizes.graph_inputs, GRAPH_SEED)
    seconds = []
    for _ in range(sizes.repeats):
        gc.collect()  # the previous repeat's graph, which micrograd leaves to the collector
        work = partial(graphs.expression_gradients, Value, inputs, program)
        elapsed, (root, leaves) = graphs.with_deep_recursion(partial(timed, work))
        seconds.append(elapsed)
        result = {"root": float(root.data), "grads": [float(leaf.grad) for leaf in leaves]}
        del root, leaves
    return {"seconds": seconds, **result}


def chain_part(engine: str, sizes: Sizes) -> dict[str, Any]:
    """Seconds per build + backward of the chain, its gradient, and tracemalloc's peak."""
    import graphs

    Value, _ = scalar_engine(engine)
    seconds = []
    for _ in range(sizes.repeats):
        gc.collect()
        work = partial(graphs.chain, Value, sizes.chain_nodes)
        elapsed, (root, leaf) = graphs.with_deep_recursion(partial(timed, work))
        seconds.append(elapsed)
        grad = float(leaf.grad)
        del root, leaf
    gc.collect()
    work = partial(graphs.chain, Value, sizes.tracemalloc_nodes)
    _, peak = graphs.with_deep_recursion(partial(graphs.peak_bytes, work))
    return {"seconds": seconds, "grad": grad, "tracemalloc_peak": peak}


PARTS = {"moons": moons_part, "graph": graph_part, "chain": chain_part}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in WORKLOADS or argv[1] not in WORKLOADS[argv[0]]:
        choices = "; ".join(f"{w}: {', '.join(e)}" for w, e in WORKLOADS.items())
        raise SystemExit(f"usage: python measure.py WORKLOAD ENGINE SIZES_JSON ({choices})")
    workload, engine, sizes = argv[0], argv[1], Sizes(**json.loads(argv[2]))
    print(json.dumps(PARTS[workload](engine, sizes), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
