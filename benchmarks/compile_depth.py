"""Compile time of a deep chain, per backend: python compile_depth.py [--nodes N] [--repeats R].

The chain is y = tanh(y * w + x), repeated: every node depends on the one before, so every
group of the plan holds one node, the worst case for the Python backend's generated code. Each
measure runs in a fresh interpreter, the backends taking turns; the script prints min, median
and mean of the compile time and the peak resident memory of each backend.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from importlib.util import find_spec


def measure(backend: str, nodes: int) -> dict[str, float]:
    """Build the chain, compile it once: seconds and peak resident MB (this process)."""
    from gradengine import Value, compile_graph

    w, x = Value(0.999), Value(0.5)
    y = x
    for _ in range((nodes - 2) // 3):  # *, + and tanh: 3 nodes a step, and the leaves w, x
        y = (y * w + x).tanh()
    start = time.perf_counter()
    compile_graph(y, [w], [x], backend=backend)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mb": peak / (2**20 if sys.platform == "darwin" else 2**10)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", default="python,numpy")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: measure this backend once
    args = parser.parse_args(argv)
    if args.nodes < 5 or args.repeats < 1:
        parser.error("--nodes must be at least 5 and --repeats at least 1")
    if args.one:
        print(json.dumps(measure(args.one, args.nodes)))
        return 0
    backends = [b for b in args.backends.split(",") if b != "numpy" or find_spec("numpy")]
    runs: dict[str, list[dict[str, float]]] = {b: [] for b in backends}
    for _ in range(args.repeats):
        for backend in backends:
            out = subprocess.run(
                [sys.executable, __file__, "--nodes", str(args.nodes), "--one", backend],
                capture_output=True,
                text=True,
                check=True,
            )
            runs[backend].append(json.loads(out.stdout))
    print(f"compile time of a {args.nodes:,}-node chain, {args.repeats} fresh processes each")
    for backend, results in runs.items():
        s = [r["seconds"] for r in results]
        peak = max(r["peak_mb"] for r in results)
        print(
            f"  {backend:<6}  min {min(s):.2f} s  median {statistics.median(s):.2f} s  "
            f"mean {statistics.mean(s):.2f} s  peak {peak:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
