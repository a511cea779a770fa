"""Hostile inputs at every public entry point: a TypeError or ValueError that says what was
expected and what was given, never an AttributeError, an IndexError, a crash or a wrong answer.

Each row is (call, expected error, fragments the message must contain). gradengine's own
modules are imported outright, so a broken one fails the file instead of skipping rows; rows that
expose a known defect are marked xfail(strict=True) with the reason, so that the fix turns them
into failures to un-mark.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gradengine import MLP, Layer, Neuron, Value, total, weighted_sum

# Our own modules are imported outright: a broken one must fail this file, not shrink it.
# (By module path: gradengine.gradcheck is also a function's name.)
optim, losses, data, serialize, cli, gradcheck_module, viz = (
    importlib.import_module(f"gradengine.{name}")
    for name in ("optim", "losses", "data", "serialize", "cli", "gradcheck", "viz")
)


def bug(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


def row(
    name: str,
    call: Callable[[], object],
    error: type[Exception],
    *fragments: str,
    marks: Any = (),
) -> Any:
    """One table row."""
    return pytest.param(call, error, fragments, id=name, marks=marks)


# Wrong types for a number, with the type name the message must report as given.
NOT_NUMBERS = [
    (None, "NoneType"),
    ("1.5", "str"),
    (b"1", "bytes"),
    (1j, "complex"),
    ([1.0], "list"),
    ({"a": 1}, "dict"),
    ([[1.0]], "list"),
]
NOT_SIZES = [*NOT_NUMBERS, (2.0, "float"), (True, "bool"), (Value(2.0), "Value")]
NOT_LISTS = [
    (None, "NoneType"),
    ("ab", "str"),
    (b"ab", "bytes"),
    (1.0, "float"),
    (Value(1.0), "Value"),
]


def v() -> Value:
    return Value(2.0)


def model() -> MLP:
    return MLP(2, [3, 1], seed=0)


def params() -> list[Value]:
    return model().parameters()


# -- Value and its operators ----------------------------------------------------------------------


def value_rows() -> Iterator[Any]:
    for bad, given in NOT_NUMBERS:
        yield row(f"Value({given})", lambda b=bad: Value(b), TypeError, "real number", given)
        yield row(f"Value + {given}", lambda b=bad: v() + b, TypeError, "real number", given)
        yield row(f"{given} + Value", lambda b=bad: b + v(), TypeError, "real number", given)
        yield row(f"Value - {given}", lambda b=bad: v() - b, TypeError, "real number", given)
        yield row(f"{given} - Value", lambda b=bad: b - v(), TypeError, "real number", given)
        yield row(f"Value * {given}", lambda b=bad: v() * b, TypeError, "real number", given)
        yield row(f"{given} * Value", lambda b=bad: b * v(), TypeError, "real number", given)
        yield row(f"Value / {given}", lambda b=bad: v() / b, TypeError, "real number", given)
        yield row(f"{given} / Value", lambda b=bad: b / v(), TypeError, "real number", given)
        yield row(f"Value ** {given}", lambda b=bad: v() ** b, TypeError, "exponent", given)
        yield row(f"{given} ** Value", lambda b=bad: b ** v(), TypeError, "real number", given)
    yield row("Value(Value)", lambda: Value(v()), TypeError, "real number", "got a Value")
    yield row("Value(label=3)", lambda: Value(1.0, label=3), TypeError, "label", "str", "int")  # type: ignore[arg-type]


def fused_rows() -> Iterator[Any]:
    b = v
    yield row("total([])", lambda: total([]), ValueError, "at least one", "empty")
    yield row("total([None])", lambda: total([None]), TypeError, "real number", "NoneType")  # type: ignore[list-item]
    yield row("total([[1.0]])", lambda: total([[1.0]]), TypeError, "real number", "list")  # type: ignore[list-item]
    for bad, given in [(None, "NoneType"), (5, "int"), (Value(1.0), "Value")]:
        yield row(f"total({given})", lambda x=bad: total(x), TypeError, "list", given)
    yield row(
        "total(dict)",
        lambda: total({1.0: "a"}),  # type: ignore[arg-type]
        TypeError,
        "dict",
    )
    yield row(
        "weighted_sum(bias=1.0)",
        lambda: weighted_sum(1.0, [b()], [1.0]),
        TypeError,
        "bias",
        "float",
    )  # type: ignore[arg-type]
    yield row(
        "weighted_sum(weights=[1.0])",
        lambda: weighted_sum(b(), [1.0], [1.0]),
        TypeError,
        "weight",
        "float",
    )  # type: ignore[list-item]
    yield row(
        "weighted_sum(inputs=[None])",
        lambda: weighted_sum(b(), [b()], [None]),
        TypeError,
        "real number",
        "NoneType",
    )  # type: ignore[list-item]
    yield row(
        "weighted_sum(sizes differ)", lambda: weighted_sum(b(), [b()], []), ValueError, "1", "0"
    )
    yield row(
        "weighted_sum(weights=None)",
        lambda: weighted_sum(b(), None, []),
        TypeError,
        "weights",
        "NoneType",
    )  # type: ignore[arg-type]
    yield row(
        "weighted_sum(inputs=None)",
        lambda: weighted_sum(b(), [b()], None),
        TypeError,
        "inputs",
        "NoneType",
    )  # type: ignore[arg-type]
    yield row(
        "weighted_sum(weights=dict)",
        lambda: weighted_sum(b(), {b(): 1}, [1.0]),
        TypeError,
        "dict",
    )  # type: ignore[arg-type]
    yield row(
        "weighted_sum(inputs=dict)",
        lambda: weighted_sum(b(), [b()], {1.0: 2}),
        TypeError,
        "dict",
    )  # type: ignore[arg-type]
    yield row(
        "weighted_sum(relu='yes')",
        lambda: weighted_sum(b(), [b()], [1.0], relu="yes"),
        TypeError,
        "relu",
        "str",
    )  # type: ignore[arg-type]


# -- nn -------------------------------------------------------------------------------------------


def nn_rows() -> Iterator[Any]:
    for bad, given in NOT_SIZES:
        yield row(
            f"MLP(nin={given})", lambda b=bad: MLP(b, [1]), TypeError, "nin", "integer", given
        )
        yield row(f"MLP(nouts=[{given}])", lambda b=bad: MLP(2, [b]), TypeError, "nouts[0]", given)
        yield row(f"Layer(nin={given})", lambda b=bad: Layer(b, 1), TypeError, "nin", given)
        yield row(f"Layer(nout={given})", lambda b=bad: Layer(2, b), TypeError, "nout", given)
        yield row(f"Neuron(nin={given})", lambda b=bad: Neuron(b), TypeError, "nin", given)
    for n in (0, -1):
        yield row(f"MLP(nin={n})", lambda n=n: MLP(n, [1]), ValueError, "nin", ">= 1", str(n))
        yield row(f"MLP(nouts=[{n}])", lambda n=n: MLP(2, [n]), ValueError, "nouts[0]", str(n))
        yield row(f"Layer(nout={n})", lambda n=n: Layer(2, n), ValueError, "nout", str(n))
    for bad, given in [*NOT_LISTS, (3, "int"), ({3: 1}, "dict")]:
        yield row(f"MLP(nouts={given})", lambda b=bad: MLP(2, b), TypeError, "nouts", given)
    yield row("MLP(nouts=[])", lambda: MLP(2, []), ValueError, "nouts", "empty")
    for bad, given in [("a", "str"), (1.5, "float"), (True, "bool"), (Value(1.0), "Value")]:
        yield row(f"MLP(seed={given})", lambda b=bad: MLP(2, [1], seed=b), TypeError, "seed", given)
    for bad, given in NOT_LISTS:
        yield row(f"mlp({given})", lambda b=bad: model()(b), TypeError, "list of 2", given)
        yield row(f"mlp.forward({given})", lambda b=bad: model().forward(b), TypeError, "2", given)
        yield row(f"layer({given})", lambda b=bad: Layer(2, 3)(b), TypeError, "2", given)
        yield row(f"neuron({given})", lambda b=bad: Neuron(2)(b), TypeError, "2", given)
    for xs in ([], [1.0], [1.0, 2.0, 3.0]):
        yield row(f"mlp({len(xs)} inputs)", lambda x=xs: model()(x), ValueError, "2", str(len(xs)))
        yield row(
            f"layer({len(xs)} inputs)", lambda x=xs: Layer(2, 3)(x), ValueError, "2", str(len(xs))
        )
        yield row(
            f"neuron({len(xs)} inputs)", lambda x=xs: Neuron(2)(x), ValueError, "2", str(len(xs))
        )
    for bad, given in NOT_NUMBERS:
        yield row(
            f"mlp([{given}, 1])", lambda b=bad: model()([b, 1.0]), TypeError, "real number", given
        )
    yield row("mlp(dict)", lambda: model()({0.5: 1, 1.5: 2}), TypeError, "dict")
    yield row("mlp(set)", lambda: model()({0.5, 1.5}), TypeError, "set")
    # nonlin takes any truthy value, as micrograd's does (48465c8): no row for nonlin='no'.
    yield row("Neuron(rng=5)", lambda: Neuron(2, rng=5), TypeError, "rng", "int")  # type: ignore[arg-type]


# -- optimizers and losses ------------------------------------------------------------------------


def optim_rows() -> Iterator[Any]:
    o = optim
    for bad, given in [*NOT_NUMBERS, (Value(0.1), "Value")]:
        yield row(f"SGD(lr={given})", lambda b=bad: o.SGD(params(), lr=b), TypeError, "lr", given)
        yield row(f"Adam(lr={given})", lambda b=bad: o.Adam(params(), lr=b), TypeError, "lr", given)
        yield row(
            f"SGD(momentum={given})",
            lambda b=bad: o.SGD(params(), 0.1, momentum=b),
            TypeError,
            "momentum",
            given,
        )
        yield row(
            f"Adam(eps={given})", lambda b=bad: o.Adam(params(), eps=b), TypeError, "eps", given
        )
    for bad in (math.nan, math.inf, -math.inf, -0.1):
        yield row(
            f"SGD(lr={bad})", lambda b=bad: o.SGD(params(), lr=b), ValueError, "lr", repr(bad)
        )
        yield row(
            f"Adam(lr={bad})", lambda b=bad: o.Adam(params(), lr=b), ValueError, "lr", repr(bad)
        )
        yield row(
            f"SGD(weight_decay={bad})",
            lambda b=bad: o.SGD(params(), 0.1, weight_decay=b),
            ValueError,
            "weight_decay",
            repr(bad),
        )
        yield row(
            f"Adam(betas=({bad}, 0.9))",
            lambda b=bad: o.Adam(params(), betas=(b, 0.9)),
            ValueError,
            "betas[0]",
            repr(bad),
        )
    yield row(
        "Adam(betas=(0.9, 1.0))",
        lambda: o.Adam(params(), betas=(0.9, 1.0)),
        ValueError,
        "betas[1]",
        "1.0",
    )
    yield row("Adam(betas=None)", lambda: o.Adam(params(), betas=None), TypeError, "betas", "None")
    yield row(
        "Adam(betas=triple)", lambda: o.Adam(params(), betas=(0.9, 0.9, 0.9)), TypeError, "pair"
    )
    yield row("Adam(eps=0)", lambda: o.Adam(params(), eps=0.0), ValueError, "eps", "0")
    for bad, given in [*NOT_LISTS, (model(), "MLP")]:
        # A str or bytes is iterable: its first item is reported as params[0].
        fragment = {"str": "str 'a'", "bytes": "int 97"}.get(given, given)
        yield row(
            f"SGD(params={given})", lambda b=bad: o.SGD(b, 0.1), TypeError, "params", fragment
        )
    yield row("SGD(params=[])", lambda: o.SGD([], 0.1), ValueError, "params", "empty")
    yield row(
        "SGD(params=[1.0])", lambda: o.SGD([1.0], 0.1), TypeError, "params[0]", "Value", "float"
    )
    yield row(
        "SGD(nesterov='y')",
        lambda: o.SGD(params(), 0.1, momentum=0.9, nesterov="y"),
        TypeError,
        "nesterov",
        "str",
    )
    yield row(
        "LinearSchedule(None)",
        lambda: o.LinearSchedule(None, 10),
        TypeError,
        "optimizer",
        "NoneType",
    )
    yield row(
        "LinearSchedule(steps=0)",
        lambda: o.LinearSchedule(o.SGD(params(), 0.1), 0),
        ValueError,
        "total_steps",
        "0",
    )
    yield row(
        "LinearSchedule(steps=1.5)",
        lambda: o.LinearSchedule(o.SGD(params(), 0.1), 1.5),
        TypeError,
        "total_steps",
        "float",
    )
    yield row(
        "LinearSchedule(end=nan)",
        lambda: o.LinearSchedule(o.SGD(params(), 0.1), 10, math.nan),
        ValueError,
        "end_factor",
        "nan",
    )


def losses_rows() -> Iterator[Any]:
    L = losses
    pairs = [
        ("mse", L.mse, [1.0]),
        ("hinge", L.hinge, [1]),
        ("bce", L.binary_cross_entropy_with_logits, [1]),
    ]
    for name, loss, good in pairs:
        for bad, given in NOT_LISTS:
            yield row(
                f"{name}({given}, ...)", lambda f=loss, b=bad, g=good: f(b, g), TypeError, given
            )
        yield row(f"{name}([], [])", lambda f=loss: f([], []), ValueError, "empty")
        yield row(
            f"{name}(sizes 1, 2)", lambda f=loss, g=good: f([v()], g * 2), ValueError, "1", "2"
        )
        for bad, given in NOT_NUMBERS[:4]:
            yield row(
                f"{name}([{given}], ...)",
                lambda f=loss, b=bad, g=good: f([b], g),
                TypeError,
                "[0]",
                given,
            )
            yield row(
                f"{name}(..., [{given}])",
                lambda f=loss, b=bad: f([v()], [b]),
                TypeError,
                "[0]",
                given,
            )
    yield row("hinge(label 0)", lambda: L.hinge([v()], [0]), ValueError, "-1 or +1", "0")
    yield row(
        "bce(target 2)",
        lambda: L.binary_cross_entropy_with_logits([v()], [2]),
        ValueError,
        "[0, 1]",
        "2",
    )
    yield row(
        "bce(target nan)",
        lambda: L.binary_cross_entropy_with_logits([v()], [math.nan]),
        ValueError,
        "nan",
    )
    yield row(
        "cross_entropy(class 2 of 2)",
        lambda: L.cross_entropy([[v(), v()]], [2]),
        ValueError,
        "[0, 2)",
        "2",
    )
    yield row(
        "cross_entropy(class 0.5)",
        lambda: L.cross_entropy([[v(), v()]], [0.5]),
        TypeError,
        "int",
        "float",
    )
    yield row(
        "cross_entropy(ragged)",
        lambda: L.cross_entropy([[v()], [v(), v()]], [0, 0]),
        ValueError,
        "1",
        "2",
    )
    yield row(
        "cross_entropy(flat logits)",
        lambda: L.cross_entropy([v()], [0]),
        TypeError,
        "logits[0]",
        "Value",
    )
    yield row("cross_entropy([], [])", lambda: L.cross_entropy([], []), ValueError, "empty")
    for bad in (math.nan, math.inf, -1.0):
        yield row(
            f"l2(alpha={bad})", lambda b=bad: L.l2(params(), b), ValueError, "alpha", repr(bad)
        )
    yield row("l2(alpha=Value)", lambda: L.l2(params(), v()), TypeError, "alpha", "Value")
    yield row("l2(None)", lambda: L.l2(None), TypeError, "parameters", "NoneType")
    yield row("l2([])", lambda: L.l2([]), ValueError, "parameters", "empty")


# -- data -----------------------------------------------------------------------------------------


def data_rows() -> Iterator[Any]:
    D = data
    for name in ("make_moons", "make_circles", "make_blobs", "make_xor", "make_spiral"):
        make = getattr(D, name)
        for bad, given in NOT_SIZES:
            yield row(f"{name}({given})", lambda f=make, b=bad: f(b), TypeError, "n_samples", given)
        for n in (0, -1):
            yield row(f"{name}({n})", lambda f=make, n=n: f(n), ValueError, "n_samples", str(n))
        yield row(
            f"{name}(random_state='a')",
            lambda f=make: f(10, random_state="a"),
            TypeError,
            "random_state",
            "str",
        )
        if name != "make_blobs":
            for bad in (math.nan, math.inf, -1.0):
                yield row(
                    f"{name}(noise={bad})",
                    lambda f=make, b=bad: f(10, noise=b),
                    ValueError,
                    "noise",
                    repr(bad),
                )
            yield row(
                f"{name}(noise='a')", lambda f=make: f(10, noise="a"), TypeError, "noise", "str"
            )
    yield row(
        "make_circles(factor=1)", lambda: D.make_circles(10, factor=1), ValueError, "factor", "1"
    )
    yield row(
        "make_blobs(centers=0)", lambda: D.make_blobs(10, centers=0), ValueError, "centers", "0"
    )
    yield row(
        "make_blobs(centers=[[1]])",
        lambda: D.make_blobs(10, centers=[[1]]),
        ValueError,
        "centers[0]",
    )
    yield row(
        "make_blobs(centers=[[nan, 1]])",
        lambda: D.make_blobs(10, centers=[[math.nan, 1]]),
        ValueError,
        "finite",
    )
    yield row(
        "make_blobs(cluster_std=-1)",
        lambda: D.make_blobs(10, cluster_std=-1),
        ValueError,
        "cluster_std",
        "-1",
    )
    yield row(
        "make_spiral(n_classes=0)",
        lambda: D.make_spiral(10, n_classes=0),
        ValueError,
        "n_classes",
        "0",
    )
    X, y = [[0.0, 0.0]] * 10, [0, 1] * 5
    for bad, given in NOT_LISTS[:3]:
        yield row(
            f"train_test_split({given}, y)",
            lambda b=bad: D.train_test_split(b, y),
            TypeError,
            "X",
            given,
        )
        yield row(
            f"accuracy({given}, y)", lambda b=bad: D.accuracy(b, y), TypeError, "predicted", given
        )
    yield row(
        "train_test_split(sizes differ)",
        lambda: D.train_test_split(X, y[:5]),
        ValueError,
        "10",
        "5",
    )
    yield row("train_test_split([], [])", lambda: D.train_test_split([], []), ValueError, "0")
    for bad in (math.nan, 1.0, -0.1):
        yield row(
            f"train_test_split(test_size={bad})",
            lambda b=bad: D.train_test_split(X, y, test_size=b),
            ValueError,
            "test_size",
            repr(bad),
        )
    yield row("accuracy([], [])", lambda: D.accuracy([], []), ValueError, "empty")
    yield row("accuracy(sizes differ)", lambda: D.accuracy([1], [1, 0]), ValueError, "1", "2")
    yield row(
        "accuracy([1.5], [1])", lambda: D.accuracy([1.5], [1]), TypeError, "predicted[0]", "float"
    )


# -- saving and loading, the command line, the tools ----------------------------------------------


def io_rows() -> Iterator[Any]:
    for bad, given in [(None, "NoneType"), (5, "int"), (b"m.json", "bytes"), ([1], "list")]:
        yield row(
            f"save({given})",
            lambda b=bad: model().save(b),
            TypeError,
            "path",
            given,
        )
        yield row(f"load({given})", lambda b=bad: MLP.load(b), TypeError, "path", given)


def tool_rows() -> Iterator[Any]:
    g, z = gradcheck_module, viz
    square = lambda x: x * x  # noqa: E731
    yield row("gradcheck(None)", lambda: g.gradcheck(None, [1.0]), TypeError, "f", "NoneType")
    yield row(
        "gradcheck(inputs=None)",
        lambda: g.gradcheck(square, None),
        TypeError,
        "inputs",
        "NoneType",
    )
    yield row("gradcheck(inputs=[])", lambda: g.gradcheck(square, []), ValueError, "inputs", "[]")
    yield row(
        "gradcheck(inputs=['a'])",
        lambda: g.gradcheck(square, ["a"]),
        TypeError,
        "inputs[0]",
        "str",
    )
    yield row(
        "gradcheck(inputs=[nan])",
        lambda: g.gradcheck(square, [math.nan]),
        ValueError,
        "finite",
        "nan",
    )
    yield row("gradcheck(eps=0)", lambda: g.gradcheck(square, [1.0], eps=0), ValueError, "eps", "0")
    yield row(
        "gradcheck(rtol=-1)",
        lambda: g.gradcheck(square, [1.0], rtol=-1),
        ValueError,
        "rtol",
        "-1",
    )
    yield row(
        "gradcheck(f returns float)",
        lambda: g.gradcheck(lambda x: 3.0, [1.0]),
        TypeError,
        "Value",
        "float",
    )
    for fn in ("to_dot", "to_mermaid", "explain", "graph_stats"):
        tool = getattr(z, fn)
        for bad, given in [(None, "NoneType"), (1.0, "float"), ([Value(1.0)], "list")]:
            yield row(f"{fn}({given})", lambda f=tool, b=bad: f(b), TypeError, "Value", given)
    yield row(
        "to_dot(rankdir='XX')",
        lambda: z.to_dot(v() * 2, rankdir="XX"),
        ValueError,
        "rankdir",
        "XX",
    )
    yield row(
        "explain(max_steps=-1)",
        lambda: z.explain(v() * 2, max_steps=-1),
        ValueError,
        "max_steps",
        "-1",
    )
    yield row("draw(path=None)", lambda: z.draw(v() * 2, None), TypeError, "path", "NoneType")
    yield row("draw(path='x.txt')", lambda: z.draw(v() * 2, "x.txt"), ValueError, "x.txt")


ROWS = [
    *value_rows(),
    *fused_rows(),
    *nn_rows(),
    *optim_rows(),
    *losses_rows(),
    *data_rows(),
    *io_rows(),
    *tool_rows(),
]


@pytest.mark.parametrize(("call", "error", "fragments"), ROWS)
def test_hostile_input_is_rejected_with_a_clear_message(
    call: Callable[[], object], error: type[Exception], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"{type(info.value).__name__}({message!r}) does not mention {missing}"


# -- bools and numpy scalars are numbers ---------------------------------------------------------


def accepted_rows() -> Iterator[Any]:
    """(name, call, expected) for numbers of other types, which must work like int and float."""
    np = pytest.importorskip("numpy")
    yield "Value(True)", lambda: Value(True).data, 1.0
    yield "Value(np.float64)", lambda: Value(np.float64(2.5)).data, 2.5
    yield "Value(np.int64)", lambda: Value(np.int64(3)).data, 3.0
    yield "Value(np.float32)", lambda: Value(np.float32(0.5)).data, 0.5
    yield "Value + np.float32", lambda: (v() + np.float32(1.5)).data, 3.5
    yield "np.float64 * Value", lambda: (np.float64(3.0) * v()).data, 6.0
    yield "np.int64 ** Value", lambda: (np.int64(3) ** v()).data, 9.0
    yield "Value ** np.int64", lambda: (v() ** np.int64(3)).data, 8.0
    yield "Value - True", lambda: (v() - True).data, 1.0
    # An int beyond the float range rounds to inf, as IEEE-754 rounds any overflow.
    yield "Value(10**400)", lambda: Value(10**400).data, math.inf
    yield "Value(-(10**400))", lambda: Value(-(10**400)).data, -math.inf
    yield "v.data = 10**400, then v * 2", _huge_data_times_two, math.inf
    yield "MLP(np.int64, [np.int64])", lambda: len(MLP(np.int64(2), [np.int64(3)]).parameters()), 9
    yield "mlp([True, np.float32])", lambda: _forward([True, np.float32(0.5)]), _forward([1.0, 0.5])
    yield "mlp(np.array)", lambda: _forward(np.array([1.0, 0.5])), _forward([1.0, 0.5])
    o = optim
    yield "SGD(lr=np.float64)", lambda: o.SGD(params(), lr=np.float64(0.1)).lr, 0.1
    yield "SGD(lr=True)", lambda: o.SGD(params(), lr=True).lr, 1.0
    yield (
        "LinearSchedule(total_steps=np.int64)",
        lambda: o.LinearSchedule(o.SGD(params(), 0.1), np.int64(5)).total_steps,
        5,
    )
    yield "mse(targets=[np.float64])", lambda: losses.mse([v()], [np.float64(1.0)]).data, 1.0
    yield "hinge(labels=[np.int64])", lambda: losses.hinge([v()], [np.int64(-1)]).data, 3.0
    yield "make_moons(np.int64)", lambda: len(data.make_moons(np.int64(10))[0]), 10
    yield "accuracy([np.int64], [1])", lambda: data.accuracy([np.int64(1)], [1]), 1.0
    g = gradcheck_module
    yield (
        "gradcheck([np.float64])",
        lambda: g.gradcheck(lambda x: x * x, [np.float64(1)]).ok,
        True,
    )
    yield (
        "gradcheck([True])",
        lambda: g.gradcheck(lambda x: x * x, [True]).ok,
        True,
    )


def _huge_data_times_two() -> float:
    x = v()
    x.data = 10**400  # an int too large for a float, set by hand: it counts as inf
    return (x * 2).data


def _forward(xs: object) -> float:
    out = MLP(2, [3, 1], seed=0)(xs)  # type: ignore[arg-type]
    assert isinstance(out, Value)
    return out.data


def _accepted_params() -> list[Any]:
    try:
        rows = list(accepted_rows())
    except pytest.skip.Exception:
        return [pytest.param(None, None, id="numpy", marks=pytest.mark.skip(reason="no numpy"))]
    return [pytest.param(r[1], r[2], id=r[0], marks=r[3] if len(r) > 3 else ()) for r in rows]


@pytest.mark.parametrize(("call", "expected"), _accepted_params())
def test_bools_and_numpy_scalars_are_accepted_as_numbers(
    call: Callable[[], object], expected: object
) -> None:
    assert call() == expected


# -- model files with garbage injected -------------------------------------------------------------


def _model_doc() -> dict[str, Any]:
    """A small saved model as the JSON document the file holds."""
    doc: dict[str, Any] = serialize.mlp_to_dict(MLP(2, [2, 1], seed=0))
    return doc


def _positions(doc: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """(path, value) of every number, string and bool in doc."""
    if isinstance(doc, dict):
        for key, item in doc.items():
            yield from _positions(item, (*path, key))
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _positions(item, (*path, i))
    else:
        yield path, doc


def _garbage_for(value: object) -> list[object]:
    """Replacements that are wrong wherever value stands."""
    if isinstance(value, bool):
        return [None, "true", 1, [], {}]
    if isinstance(value, int):
        return [None, "2", 2.5, True, [], {}]
    if isinstance(value, float):
        return [None, "garbage", True, [], {}, [value]]
    return [None, 1, "", [], {}]


def _garbage_docs() -> Iterator[Any]:
    doc = _model_doc()
    for path, value in _positions(doc):
        for garbage in _garbage_for(value):
            bad = copy.deepcopy(doc)
            parent = bad
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = garbage
            name = "/".join(map(str, path)) + f"={garbage!r}"
            yield pytest.param(json.dumps(bad), id=name)
    containers = [((), doc)] + [(p, x) for p, x in _walk_containers(doc) if p]
    for path, container in containers:
        name = "/".join(map(str, path)) or "top"
        if isinstance(container, dict):
            for key in container:
                bad = copy.deepcopy(doc)
                del _at(bad, path)[key]
                yield pytest.param(json.dumps(bad), id=f"{name} without {key}")
            bad = copy.deepcopy(doc)
            _at(bad, path)["extra"] = 0
            yield pytest.param(json.dumps(bad), id=f"{name} with an extra key")
        else:
            bad = copy.deepcopy(doc)
            _at(bad, path).append(copy.deepcopy(container[-1]))
            yield pytest.param(json.dumps(bad), id=f"{name} one item longer")
        for scalar in (0, "x"):
            if path:
                bad = copy.deepcopy(doc)
                _at(bad, path[:-1])[path[-1]] = scalar
                yield pytest.param(json.dumps(bad), id=f"{name}={scalar!r}")
    text = json.dumps(doc, indent=1)
    for cut in range(0, len(text) - 1, max(1, len(text) // 25)):
        yield pytest.param(text[:cut], id=f"truncated at {cut} of {len(text)}")
    yield pytest.param(text.replace("0.0", "NaN", 1), id="bare NaN")
    yield pytest.param(b"\xff\xfe" + text.encode(), id="not UTF-8")
    yield pytest.param(json.dumps([doc]), id="a list around the model")
    yield pytest.param(
        text.replace('"version": 1', '"version": 1, "version": 1', 1),
        id="duplicate key",
    )
    yield pytest.param(
        text.replace("0.0", "1e400", 1),
        id="number beyond float range",
    )
    yield pytest.param(
        "[" * 100_000,
        id="deeply nested",
    )


def _walk_containers(doc: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, doc
    items = doc.items() if isinstance(doc, dict) else enumerate(doc)
    for key, item in items:
        if isinstance(item, (dict, list)):
            yield from _walk_containers(item, (*path, key))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@pytest.mark.parametrize("content", list(_garbage_docs()))
def test_a_model_file_with_garbage_is_rejected_whole(content: str | bytes, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError) as info:
        MLP.load(path)
    assert str(path) in str(info.value)  # says which file; the load returned nothing at all


def test_a_failed_save_leaves_the_previous_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model().save(path)
    before = path.read_bytes()
    broken = model()
    broken.parameters()[0].data = "garbage"  # type: ignore[assignment]
    with pytest.raises((TypeError, ValueError)):
        broken.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temporary file left


# -- the command line ---------------------------------------------------------------------------

CLI_ROWS = [
    (["train", "--steps", "-1"], "--steps"),
    (["train", "--steps", "abc"], "--steps"),
    (["train", "--steps", "1e3"], "--steps"),
    (["train", "--steps", "99999999999999999999"], "--steps"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--lr", "inf"], "--lr"),
    (["train", "--lr", "-0.1"], "--lr"),
    (["train", "--hidden", ""], "--hidden"),
    (["train", "--hidden", "16,,1"], "--hidden"),
    (["train", "--hidden", "0"], "--hidden"),
    (["train", "--hidden", "99999999999"], "--hidden"),
    (["train", "--samples", "0"], "--samples"),
    (["train", "--samples", "99999999999999"], "--samples"),
    (["train", "--test-fraction", "1.5"], "--test-fraction"),
    (["train", "--test-fraction", "nan"], "--test-fraction"),
    (["train", "--dataset", "nope"], "--dataset"),
    (["train", "--optimizer", "nope"], "--optimizer"),
    (["train", "--seed", "x"], "--seed"),
    (["train", "--seed", "-1"], "--seed"),
    (["train", "--bogus"], "--bogus"),
    (["nope"], "nope"),
]


@pytest.mark.parametrize(("argv", "flag"), CLI_ROWS, ids=[" ".join(r[0]) for r in CLI_ROWS])
def test_a_bad_command_line_is_a_usage_error_naming_the_flag(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert flag in capsys.readouterr().err


# -- huge sizes: each in a child process with little memory, so a missing limit cannot hang

HUGE = [
    pytest.param(
        "from gradengine import MLP; MLP(10**9, [1])",
        id="MLP(nin=10**9)",
    ),
    pytest.param(
        "from gradengine import MLP; MLP(2, [10**9])",
        id="MLP(nouts=[10**9])",
    ),
    pytest.param(
        "from gradengine.data import make_moons; make_moons(10**9)",
        id="make_moons(10**9)",
    ),
]


@pytest.mark.parametrize("code", HUGE)
def test_a_huge_size_is_refused_up_front(code: str) -> None:
    child = textwrap.dedent(
        f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (128 << 20, 128 << 20))
        try:
            {code}
        except (TypeError, ValueError) as error:
            print("refused:", error)
        except BaseException as error:
            print(type(error).__name__)
        """
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", child], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("no answer within 60 s")
    assert result.stdout.startswith("refused:"), result.stdout + result.stderr
    assert "10" in result.stdout
