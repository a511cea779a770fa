"""Where the cyclic garbage collector runs in micrograd's demo, step by step.

    python benchmarks/collector.py [--steps 100] [--runs 3]

Runs the demo's steps in eager mode, each run in a fresh interpreter, and prints for each
variant the objects one step's loss() leaves for the collector to track and the tracked objects
before the first step; for each run, the steps in which a full collection ran (and how long it
took), the number of younger collections, the steps after the fifth that took over twice the
median, and the total. The variants show what the slow steps depend on:

- as written: the notebook's loss(), scikit-learn imported (it makes the data);
- without the regularization term: the same loss() without its 1e-4 * Σ p², whose 337 products
  and 337 sums are a third of the objects;
- scikit-learn not imported: the same data, passed in, so the old objects are mostly NumPy's;
- the fewest objects an engine could make: the same loss() over fewest.py's stand-in, one object
  per operation and one per call of the model, the least that the demo's own code asks for.

Each graph lives as long as the notebook keeps it (moons.train), so while a step is built
the collector finds two graphs alive: the new one and the one the previous step left.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import moons

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "as written": "written",
    "without the regularization term": "no-regularization",
    "scikit-learn not imported": "no-sklearn",
    "the fewest objects an engine could make (fewest.py)": "fewest",
}

CHILD = """
import gc, json, sys
sys.path.insert(0, {here!r})
variant, steps = {variant!r}, {steps}
import numpy as np
import moons
from gradengine import MLP, Value
if variant == "fewest":
    from fewest import MLP, Node as Value

def data_loss_only(Value, model, X, y):
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    return sum(losses) * (1.0 / len(losses)), 0.0

if variant == "no-regularization":
    moons.demo_loss = data_loss_only  # demo_steps calls it
if variant == "no-sklearn":  # the same numbers, made by another interpreter
    data = json.loads(sys.stdin.read())
    X, y = np.array(data["X"]), np.array(data["y"])
    del data
else:
    X, y = moons.moons(100)  # make_moons, as the notebook makes them
model = moons.seeded_model(MLP)
tracked = len(gc.get_objects())

run = moons.train(Value, model, X, y, steps)
# The objects one more loss() leaves tracked, counted after the run so as not to change its course.
gc.collect()
gc.disable()
before = {{id(o) for o in gc.get_objects()}}
loss = moons.demo_loss(Value, model, X, y)
per_step = sum(1 for o in gc.get_objects() if id(o) not in before)
print(json.dumps({{"per_step": per_step, "tracked": tracked, "collections": run.collections,
                  "seconds": run.step_seconds}}))
"""


def run_variant(variant: str, steps: int, data: str) -> dict[str, Any]:
    """What one fresh interpreter running `steps` demo steps of the variant reports."""
    code = CHILD.format(here=str(HERE), variant=variant, steps=steps)
    done = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the {variant} run failed:\n{done.stderr}")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def summary(report: dict[str, Any]) -> str:
    """Full collections (step: ms), younger ones, slow steps after the 5th, and the total."""
    seconds: list[float] = report["seconds"]
    collections: list[list[float]] = report["collections"]
    full = [f"{int(s)}: {t * 1e3:.0f} ms" for g, s, t in collections if g == 2]
    younger = sum(1 for g, _, _ in collections if g < 2)
    median = statistics.median(seconds)
    slow = moons.slow_steps(seconds)
    return (
        f"full collections in steps [{', '.join(full)}] and {younger} younger ones; "
        f"over 2x the median ({median * 1e3:.1f} ms) after the 5th: steps {slow}; "
        f"total {sum(seconds) * 1e3:,.0f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100, help="demo steps per interpreter")
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per variant")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.runs < 1:
        parser.error(f"--steps and --runs must be at least 1, got {args.steps} and {args.runs}")
    X, y = moons.moons(100)
    data = json.dumps({"X": X.tolist(), "y": y.tolist()})
    print(f"micrograd's demo in eager mode: {args.steps} steps in each fresh interpreter")
    for name, variant in VARIANTS.items():
        reports = [run_variant(variant, args.steps, data) for _ in range(args.runs)]
        print(
            f"{name}: {reports[0]['per_step']:,} objects a step; "
            f"{reports[0]['tracked']:,} tracked before the first"
        )
        for run, report in enumerate(reports, 1):
            print(f"  run {run}: {summary(report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
