"""The learner's engine reads as one short file: traced line counts, and the file alone works.

The tracer counts the distinct lines of the package that run (sys.settrace), as STYLE.md
measures micrograd: 27 lines of engine.py for `c = a + b; c.backward()`, 64 lines in 2 files for
one sample of its moons demo.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import gradengine
from gradengine import MLP, Value
from gradengine.engine import topological_order

PACKAGE = Path(gradengine.__file__).parent
ENGINE = PACKAGE / "engine.py"


def traced_lines(work: Callable[[], object]) -> set[tuple[str, int]]:
    """(file relative to the package, line) of every line of the package that work() runs."""
    seen: set[tuple[str, int]] = set()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        filename = frame.f_code.co_filename
        if filename.startswith(str(PACKAGE)):
            seen.add((os.path.relpath(filename, PACKAGE), frame.f_lineno))
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        work()
    finally:
        sys.settrace(previous)
    return seen


def test_adding_two_values_and_backward_runs_at_most_40_lines_of_one_file() -> None:
    a, b = Value(2.0), Value(3.0)

    def add() -> None:
        c = a + b
        c.backward()

    lines = traced_lines(add)
    assert {f for f, _ in lines} == {"engine.py"}
    assert len(lines) <= 40, len(lines)
    assert (a.grad, b.grad) == (1.0, 1.0)


def test_one_sample_of_the_moons_demo_runs_at_most_120_lines_in_3_files() -> None:
    random.seed(1337)
    model = MLP(2, [16, 16, 1])
    x = [Value(0.5), Value(-0.25)]

    def sample() -> None:
        score = model(x)
        loss = (1 + -1 * score).relu()  # type: ignore[operator]
        loss.backward()

    lines = traced_lines(sample)
    files = {f for f, _ in lines}
    assert files <= {"engine.py", "nn.py", os.path.join("fast", "neurons.py")}, files
    assert len(files) <= 3 and len(lines) <= 120, (len(files), len(lines))


def test_the_engine_file_is_at_most_250_lines() -> None:
    assert len(ENGINE.read_text(encoding="utf-8").splitlines()) <= 250


def test_the_engine_file_alone_computes_the_seed_example_and_the_lecture_neuron(
    tmp_path: Path,
) -> None:
    shutil.copy(ENGINE, tmp_path / "engine.py")
    script = """
import math
from engine import Value
# the seed's computation graph: f = (a*b + c) * d, by hand: df/da = b*d, df/db = a*d, df/dc = d
a, b, c, d = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
f = (a * b + c) * d
f.backward()
assert f.data == -8.0 and (a.grad, b.grad, c.grad, d.grad) == (6.0, -4.0, -2.0, 4.0)
# the lecture's neuron: o = tanh(x1 w1 + x2 w2 + b), do/dn = 1 - o**2 = 0.5 at n = atanh(1/sqrt2)
x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
bias = Value(6.8813735870195432)
o = (x1 * w1 + x2 * w2 + bias).tanh()
o.backward()
assert abs(o.data - 1 / math.sqrt(2)) < 1e-12
assert abs(x1.grad - -1.5) < 1e-12 and abs(w1.grad - 1.0) < 1e-12
assert abs(x2.grad - 0.5) < 1e-12 and w2.grad == 0.0
print("ok")
"""
    (tmp_path / "check.py").write_text(script, encoding="utf-8")
    done = subprocess.run(  # -S -E: no site-packages, no PYTHONPATH: only the standard library
        [sys.executable, "-S", "-E", "check.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_every_built_in_operation_gives_a_value() -> None:
    a, b = Value(2.0), Value(3.0)
    results = [a + b, a - b, a * b, a / b, a**b, a**2, 2**a, -a]
    results += [a.relu(), a.tanh(), a.exp(), a.log(), a.sigmoid(), 1 + a, 1 - a, 2 * a, 1 / a]
    assert all(type(r) is Value for r in results)
    neuron = MLP(2, [3, 1], seed=0)([1.0, 2.0])
    assert type(neuron) is Value
    assert all(type(v) is Value for v in topological_order(neuron))


def test_micrograds_names_work_with_the_word_replaced() -> None:
    from gradengine import draw_dot
    from gradengine.engine import Value as EngineValue
    from gradengine.nn import MLP as NnMLP
    from gradengine.nn import Layer, Neuron

    assert EngineValue is Value and NnMLP is MLP and callable(draw_dot)
    assert Value(42, _op="x")._op == "x"  # micrograd accepts a leaf with an op label
    n = Neuron(2)
    assert type(n([1.0, 2.0])) is Value
    assert len(Layer(2, 3)([1.0, 2.0])) == 3  # type: ignore[arg-type]


def test_the_lectures_network_can_be_tanh_throughout() -> None:
    mlp = MLP(3, [4, 4, 1], seed=1, activation=["tanh", "tanh", "tanh"])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    outs = [mlp(x) for x in xs]
    assert all(-1.0 < o.data < 1.0 for o in outs)  # type: ignore[union-attr]
    assert mlp.activations == ["tanh", "tanh", "tanh"]
    back = MLP.from_dict(mlp.to_dict())
    assert [back(x).data for x in xs] == [o.data for o in outs]  # type: ignore[union-attr]
    assert back.activations == ["tanh", "tanh", "tanh"]
    # the default stays micrograd's: a linear output that can overshoot 1
    assert MLP(3, [4, 1], activation="tanh").activations == ["tanh", "linear"]
    assert math.isfinite(outs[0].data)  # type: ignore[union-attr]
