"""The examples run, and what they print is true."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str) -> ModuleType:
    """examples/<name>.py as a module (its main() is not run on import)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    load(name).main()
    return capsys.readouterr().out


def test_basic_training_learns_the_sum(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("basic_training", capsys)
    lines = out.splitlines()
    assert lines[0].startswith("MLP(2 -> 16 relu -> 16 relu -> 1 linear, 337 parameters)")
    assert "6 training and 2 test samples" in lines[0]

    train = [float(m) for m in re.findall(r"train loss (\S+)", out)]
    assert len(train) >= 5
    assert train[-1] < train[0] / 100

    (test_loss,) = [float(m) for m in re.findall(r"test loss (\S+)", out)]
    assert test_loss < 0.01

    predictions = re.findall(r"(\S+) \+ (\S+) = (\S+), predicted (\S+)", out)
    assert len(predictions) == 2
    squared_errors = []
    for x1, x2, target, predicted in predictions:
        assert float(target) == pytest.approx(float(x1) + float(x2), abs=1e-4)
        squared_errors.append((float(predicted) - float(target)) ** 2)
    # The printed test loss is the mean squared error of the printed predictions (4 decimals).
    assert test_loss == pytest.approx(sum(squared_errors) / 2, abs=2e-4)


def test_basic_training_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("basic_training", capsys) == run("basic_training", capsys)


def printed_numbers(out: str) -> dict[str, float]:
    """{'dz/dx': 3.0, ...} from the lines '   name = number   explanation'."""
    return {m[0]: float(m[1]) for m in re.findall(r"^ +(\S+) += (\S+)", out, flags=re.MULTILINE)}


def test_computation_graph_prints_hand_derived_values(capsys: pytest.CaptureFixture[str]) -> None:
    out = run("computation_graph", capsys)
    got = printed_numbers(out)

    x, y = 0.5, -1.5  # case 4, derived by hand
    t, e, s = math.tanh(x * y), math.exp(x / y), 1 / (1 + math.exp(-y))
    expected = {
        # 1. z = x*y + 1 at x = 2, y = 3
        "z": 7.0, "dz/dx": 3.0, "dz/dy": 2.0,
        # 2. relu(0.5 x) + relu(-x) at x = 3: only the first ReLU is open
        "out": 1.5, "dout/dx": 0.5, "dout/dw1": 3.0, "dout/dw2": 0.0,
        # 3. b = a*a + a at a = 3
        "b": 12.0, "db/da": 7.0,
        # 4. f = tanh(xy) + exp(x/y) sigmoid(y) - log(x^2 + 1)
        "f": t + e * s - math.log(x * x + 1),
        "df/dx": y * (1 - t * t) + e * s / y - 2 * x / (x * x + 1),
        "df/dy": x * (1 - t * t) - e * s * x / y**2 + e * s * (1 - s),
    }  # fmt: skip
    assert got.keys() == expected.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-15), name


def test_computation_graph_explains_each_of_its_four_cases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = run("computation_graph", capsys)
    headings = [line for line in out.splitlines() if re.match(r"\d\. ", line)]
    assert [h[:2] for h in headings] == ["1.", "2.", "3.", "4."]
    assert "ReLU" in headings[1] and "several paths" in headings[2]
    explained = [line for line in out.splitlines() if re.match(r" +d\S+ += \S+ +=", line)]
    assert len(explained) >= 8  # every gradient line says what it equals


def test_newton_example_beats_gradient_descent(capsys: pytest.CaptureFixture[str]) -> None:
    load("newton").main()
    out = capsys.readouterr().out
    counts = [int(n) for n in re.findall(r"(\d+) iterations to \|grad\| < 1e-12", out)]
    assert len(counts) == 4 and "did not reach" not in out
    assert counts[0] < counts[1] and counts[2] < counts[3]
    assert "0.693147180560" in out  # ln 2


def test_forward_vs_reverse_example_shows_each_mode_winning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    load("forward_vs_reverse").main(60)
    out = capsys.readouterr().out
    assert re.findall(r"(forward|reverse) mode wins", out) == ["reverse", "forward"]
    assert all(float(e) < 1e-12 for e in re.findall(r"agree to (\S+)", out))
