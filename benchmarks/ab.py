"""A version against another: the moons demo step of two gradengine source trees, side by side.

    git worktree add /tmp/before <commit>
    python benchmarks/ab.py /tmp/before/src src --rounds 8
    python benchmarks/ab.py /tmp/before/src src --compiled   # the batched replay on NumPy

Each round runs one fresh interpreter per tree, the two taking turns, so that a slow spell of a
shared machine falls on both. Each interpreter times the demo's step (loss, zero_grad, backward,
update) with the garbage collector off, to compare the engines' own work, and reports its best.
With --collector it leaves the collector on, as the demo runs for its users, and reports the mean
step instead (its total over the steps), collections included. With --compiled it times the
demo's step as compiled mode runs it (``compile_batched``, NumPy, ``SGD.step_arrays``; the trees
need compile_batched) and reports the median step. Prints the min and median over the rounds of
each tree and the ratios B/A.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import gc, sys
sys.path[:0] = [{src!r}, {here!r}]
import gradengine, moons
assert gradengine.__file__.startswith({src!r}), gradengine.__file__
from gradengine import MLP, Value
X, y = moons.moons(100)
model = moons.seeded_model(MLP)
if not {collector}:
    gc.disable()
times = moons.train(Value, model, X, y, {steps}).step_seconds
print(sum(times) / len(times) if {collector} else min(times))
"""

COMPILED_CHILD = """
import statistics, sys
sys.path[:0] = [{src!r}, {here!r}]
import compiled_bench, gradengine, moons
assert gradengine.__file__.startswith({src!r}), gradengine.__file__
from gradengine import MLP
X, y = moons.moons(100)
program, batch, _ = compiled_bench.demo_program(moons.seeded_model(MLP), X, y, "numpy")
seconds, _, _ = compiled_bench.demo_replay(program, batch, {steps})
print(statistics.median(seconds))
"""


def step_time(src: Path, steps: int, collector: bool, compiled: bool = False) -> float:
    """Seconds of the fastest of `steps` demo steps (their mean with the collector on; their
    median compiled), in a fresh interpreter importing src."""
    where = {"src": str(src.resolve()), "here": str(HERE), "steps": steps}
    code = (
        COMPILED_CHILD.format(**where) if compiled else CHILD.format(**where, collector=collector)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the run of {src} failed:\n{done.stderr}")
    return float(done.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("a", type=Path, help="the first tree's src folder")
    parser.add_argument("b", type=Path, help="the second tree's src folder")
    parser.add_argument("--rounds", type=int, default=8, help="interpreters per tree")
    parser.add_argument("--steps", type=int, default=60, help="demo steps per interpreter")
    parser.add_argument(
        "--collector", action="store_true", help="leave the garbage collector on; time the mean"
    )
    parser.add_argument(
        "--compiled", action="store_true", help="compiled mode (batched, NumPy): the median step"
    )
    args = parser.parse_args(argv)
    for src in (args.a, args.b):
        if not (src / "gradengine" / "__init__.py").is_file():
            parser.error(f"{src} holds no gradengine package (give the src folder of a checkout)")
    if args.rounds < 1 or args.steps < 1:
        parser.error("--rounds and --steps must be at least 1")
    a, b = [], []
    for _ in range(args.rounds):
        a.append(step_time(args.a, args.steps, args.collector, args.compiled))
        b.append(step_time(args.b, args.steps, args.collector, args.compiled))
    step = "median step" if args.compiled else "mean step" if args.collector else "best step"
    for name, times in (("A", a), ("B", b)):
        median = statistics.median(times)
        print(f"{name}, {step}: min {min(times) * 1e3:.3f} ms, median {median * 1e3:.3f} ms")
    print(
        f"B/A: {min(b) / min(a):.3f} by min, "
        f"{statistics.median(b) / statistics.median(a):.3f} by median"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
