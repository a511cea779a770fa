"""The micrograd lecture and micrograd's two notebooks, run over gradengine with the import changed.

Written from the lecture ("The spelled-out intro to neural networks and backpropagation") and
micrograd's trace_graph.ipynb and demo.ipynb: the manual backprop of one tanh neuron, operations
added the lecture's way (closures set as ``_backward``), the lecture's own MLP trained on four
samples (checked step by step against PyTorch float64), and both notebooks' code paths.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Any

import pytest

from gradengine import Operation, Value, detect_anomaly, gradcheck
from gradengine.viz import explain, to_dot, to_html

# -- (a) the lecture's manual backprop of o = tanh(x1*w1 + x2*w2 + b) ------------------------------

B = 6.8813735870195432


def lecture_neuron() -> dict[str, Value]:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(B, label="b")
    x1w1 = x1 * w1
    x2w2 = x2 * w2
    x1w1x2w2 = x1w1 + x2w2
    n = x1w1x2w2 + b
    o = n.tanh()
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


def check_lecture_grads(v: dict[str, Value]) -> None:
    assert v["o"].data == pytest.approx(0.7071067811865476, abs=1e-12)
    assert v["n"].grad == pytest.approx(0.5, abs=1e-12)
    assert v["x1"].grad == pytest.approx(-1.5, abs=1e-12)
    assert v["w1"].grad == pytest.approx(1.0, abs=1e-12)
    assert v["x2"].grad == pytest.approx(0.5, abs=1e-12)
    assert v["w2"].grad == pytest.approx(0.0, abs=1e-12)
    assert v["b"].grad == pytest.approx(0.5, abs=1e-12)


def test_manual_backprop_node_by_node_gives_the_lecture_numbers() -> None:
    v = lecture_neuron()
    assert v["o"]._op == "tanh"
    assert v["n"]._op == "+" and v["x1w1"]._op == "*"
    assert set(v["n"]._prev) == {v["x1w1x2w2"], v["b"]}
    v["o"].grad = 1.0
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1", "x1", "w1"):
        v[name]._backward()  # a leaf's _backward does nothing, as in micrograd
    check_lecture_grads(v)


def test_backward_gives_the_lecture_numbers() -> None:
    v = lecture_neuron()
    v["o"].backward()
    check_lecture_grads(v)


def test_lecture_neuron_matches_pytorch_float64() -> None:
    torch = pytest.importorskip("torch")
    x1, x2 = torch.tensor([2.0], dtype=torch.float64), torch.tensor([0.0], dtype=torch.float64)
    w1, w2 = torch.tensor([-3.0], dtype=torch.float64), torch.tensor([1.0], dtype=torch.float64)
    b = torch.tensor([B], dtype=torch.float64)
    for t in (x1, x2, w1, w2, b):
        t.requires_grad = True
    o = torch.tanh(x1 * w1 + x2 * w2 + b)
    o.backward()
    v = lecture_neuron()
    v["o"].backward()
    assert v["o"].data == pytest.approx(o.item(), abs=1e-15)
    for name, t in (("x1", x1), ("x2", x2), ("w1", w1), ("w2", w2), ("b", b)):
        assert t.grad is not None
        assert v[name].grad == pytest.approx(t.grad.item(), abs=1e-15)


def test_micrograd_constructor_keeps_label_and_children() -> None:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(a.data * b.data, (a, b), "*", label="c")
    assert c.label == "c" and c._op == "*" and set(c._prev) == {a, b}
    assert c.data == -6.0
    c.backward()  # no _backward was set: micrograd's default passes nothing back
    assert (a.grad, b.grad) == (0.0, 0.0)


# -- (b) operations the lecture's way ------------------------------------------------------------


def tanh(x: Value) -> Value:
    t = (math.exp(2 * x.data) - 1) / (math.exp(2 * x.data) + 1)
    out = Value(t, (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - t**2) * out.grad

    out._backward = _backward  # type: ignore[method-assign,misc,assignment]
    return out


def exp(x: Value) -> Value:
    out = Value(math.exp(x.data), (x,), "exp")

    def _backward() -> None:
        x.grad += out.data * out.grad

    out._backward = _backward  # type: ignore[method-assign,misc,assignment]
    return out


def add(a: Value, b: Value) -> Value:
    out = Value(a.data + b.data, (a, b), "+")

    def _backward() -> None:
        a.grad += 1.0 * out.grad
        b.grad += 1.0 * out.grad

    out._backward = _backward  # type: ignore[method-assign,misc,assignment]
    return out


def mul(a: Value, b: Value) -> Value:
    out = Value(a.data * b.data, (a, b), "*")

    def _backward() -> None:
        a.grad += b.data * out.grad
        b.grad += a.data * out.grad

    out._backward = _backward  # type: ignore[method-assign,misc,assignment]
    return out


def power(a: Value, k: float) -> Value:
    out = Value(a.data**k, (a,), f"**{k}")

    def _backward() -> None:
        a.grad += k * a.data ** (k - 1) * out.grad

    out._backward = _backward  # type: ignore[method-assign,misc,assignment]
    return out


def test_lecture_tanh_gives_the_same_numbers_as_the_built_in() -> None:
    ours = lecture_neuron()
    theirs = lecture_neuron()
    o = tanh(theirs["n"])
    assert type(o) is Value
    assert o._op == "tanh" and o._prev == (theirs["n"],)
    ours["o"].backward()
    o.backward()
    assert o.data == pytest.approx(ours["o"].data, abs=1e-15)
    for name in ("x1", "x2", "w1", "w2", "b"):
        assert theirs[name].grad == pytest.approx(ours[name].grad, abs=1e-15)


def test_lecture_manual_backprop_through_a_lecture_node() -> None:
    v = lecture_neuron()
    o = tanh(v["n"])
    o.grad = 1.0
    o._backward()
    for name in ("n", "x1w1x2w2", "x2w2", "x1w1"):
        v[name]._backward()
    assert v["x1"].grad == pytest.approx(-1.5) and v["w1"].grad == pytest.approx(1.0)
    assert v["x2"].grad == pytest.approx(0.5) and v["w2"].grad == pytest.approx(0.0)


def test_tanh_from_exp_division_by_power_minus_one_and_subtraction() -> None:
    # The lecture's second form: e = (2n).exp(); o = (e - 1) / (e + 1), with / as * (**-1).
    v = lecture_neuron()
    e = exp(v["n"] * 2)
    o = (e - 1) * power(e + 1, -1)
    assert o.data == pytest.approx(0.7071067811865476, abs=1e-12)
    o.backward()
    check_lecture_grads({**v, "o": o, "n": v["n"]})
    built_in = v["n"] * 2
    assert (built_in.exp() - 1).data == pytest.approx((e - 1).data, abs=0)
    assert (e - 1)._op == "-"  # one node, where micrograd makes e + (-1)


def test_a_plus_a_gives_grad_two() -> None:
    a = Value(3.0, label="a")
    b = a + a
    b.backward()
    assert a.grad == 2.0
    a2 = Value(3.0, label="a")
    c = add(a2, a2)  # the lecture's fixed __add__ (+=), with the same Value twice
    assert c._prev == (a2,)
    c.backward()
    assert a2.grad == 2.0


def test_shared_subgraph_lecture_example() -> None:
    a, b = Value(-2.0, label="a"), Value(3.0, label="b")
    d = mul(a, b)
    e = add(a, b)
    f = mul(d, e)
    f.backward()
    # f = ab(a+b): df/da = 2ab + b^2 = -3, df/db = a^2 + 2ab = -8
    assert a.grad == -3.0 and b.grad == -8.0
    # mixed with built-in nodes sharing the same subgraph
    a.grad = b.grad = 0.0
    g = d * e + tanh(d)
    g.backward()
    t = math.tanh(-6.0)
    assert a.grad == pytest.approx(-3.0 + (1 - t * t) * 3.0, rel=1e-14)
    assert b.grad == pytest.approx(-8.0 + (1 - t * t) * -2.0, rel=1e-14)


def test_repeated_backward_accumulates_leaves_exactly_and_resets_interior() -> None:
    v = lecture_neuron()
    o = tanh(add(mul(v["x1"], v["w1"]), mul(v["x2"], v["w2"])) + v["b"])
    o.backward()
    first = {k: v[k].grad for k in ("x1", "x2", "w1", "w2", "b")}
    o.backward()
    for k, g in first.items():
        assert v[k].grad == 2 * g  # exactly twice
    assert o.grad == 1.0  # interior nodes hold the latest pass


def test_viz_explain_anomaly_and_gradcheck_handle_lecture_nodes(tmp_path: Any) -> None:
    v = lecture_neuron()
    o = tanh(v["n"])
    o.label = "o"
    o.backward()
    dot = to_dot(o)
    assert 'label="tanh"' in dot and "{ o | data\\ 0.707107" in dot
    text = explain(o)
    assert "tanh" in text and "o" in text
    to_html(o, tmp_path / "page.html")
    assert (tmp_path / "page.html").stat().st_size > 0
    with detect_anomaly():
        x = Value(1.0)
        y = exp(x)
        y.backward()
        assert x.grad == pytest.approx(math.e)
    result = gradcheck(lambda x, w: tanh(add(mul(x, w), exp(w))), [0.3, -0.7])
    assert result.ok, result


def test_anomaly_mode_names_a_lecture_node_that_makes_nan() -> None:
    def bad(x: Value) -> Value:
        out = Value(1.0, (x,), "bad")

        def _backward() -> None:
            x.grad += math.nan * out.grad

        out._backward = _backward  # type: ignore[method-assign,misc,assignment]
        return out

    x = Value(1.0)
    with detect_anomaly(), pytest.raises((FloatingPointError, ValueError, ArithmeticError)):
        bad(x).backward()


# -- (c) the lecture's own MLP, trained on four samples -----------------------------------------


class LNeuron:
    def __init__(self, nin: int) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(random.uniform(-1, 1))

    def __call__(self, x: Sequence[Any]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.tanh()

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]


class LLayer:
    def __init__(self, nin: int, nout: int) -> None:
        self.neurons = [LNeuron(nin) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Any:
        outs = [n(x) for n in self.neurons]
        return outs[0] if len(outs) == 1 else outs

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class LMLP:
    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin, *nouts]
        self.layers = [LLayer(sz[i], sz[i + 1]) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Any]) -> Any:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]


XS = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
YS = [1.0, -1.0, -1.0, 1.0]


def test_lecture_training_matches_pytorch_step_by_step() -> None:
    torch = pytest.importorskip("torch")
    random.seed(0)  # a seed under which every one of the 20 steps lowers the loss
    n = LMLP(3, [4, 4, 1])
    params = n.parameters()
    assert len(params) == 41
    tparams = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True) for p in params]

    def torch_forward(x: list[float]) -> Any:
        it = iter(tparams)
        out: list[Any] = [torch.tensor(xi, dtype=torch.float64) for xi in x]
        for layer in n.layers:
            nxt = []
            for neuron in layer.neurons:
                ws = [next(it) for _ in neuron.w]
                b = next(it)
                act = sum((wi * xi for wi, xi in zip(ws, out)), b)
                nxt.append(torch.tanh(act))
            out = nxt
        return out[0]

    losses = []
    for _step in range(20):
        ypred = [n(x) for x in XS]
        loss = sum(((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred)), Value(0.0))
        for p in params:
            p.grad = 0.0
        loss.backward()
        for p in params:
            p.data += -0.1 * p.grad

        tloss = sum((torch_forward(x) - ygt) ** 2 for ygt, x in zip(YS, XS))
        for t in tparams:
            t.grad = None
        tloss.backward()
        with torch.no_grad():
            for t in tparams:
                t += -0.1 * t.grad
        assert loss.data == pytest.approx(tloss.item(), abs=1e-12, rel=0)
        for p, t in zip(params, tparams):
            assert p.data == pytest.approx(t.item(), abs=1e-12, rel=0)
        losses.append(loss.data)
    assert losses[-1] < losses[0] / 100
    assert all(b < a for a, b in itertools.pairwise(losses)), losses


def test_lecture_training_with_plain_sum_from_zero() -> None:
    # The lecture writes sum((yout - ygt)**2 for ...): Python's sum starts from the int 0.
    random.seed(7)
    n = LMLP(3, [4, 4, 1])
    first = last = 0.0
    for k in range(20):
        ypred = [n(x) for x in XS]
        loss = sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))
        assert isinstance(loss, Value)
        for p in n.parameters():
            p.grad = 0.0
        loss.backward()
        for p in n.parameters():
            p.data += -0.1 * p.grad
        first = loss.data if k == 0 else first
        last = loss.data
    assert last < first


# -- (d) micrograd's notebooks ---------------------------------------------------------------------


def trace(root: Value) -> tuple[set[Value], set[tuple[Value, Value]]]:
    """trace_graph.ipynb's trace: every node and edge, by walking _prev."""
    nodes: set[Value] = set()
    edges: set[tuple[Value, Value]] = set()

    def build(v: Value) -> None:
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def notebook_draw_dot(root: Value, rankdir: str = "LR") -> Any:
    """trace_graph.ipynb's draw_dot: a record per value, a small node per operation."""
    graphviz = pytest.importorskip("graphviz")
    dot = graphviz.Digraph(format="svg", graph_attr={"rankdir": rankdir})
    nodes, edges = trace(root)
    for n in nodes:
        uid = str(id(n))
        dot.node(name=uid, label=f"{{ {n.label} | data {n.data:.4f} | grad {n.grad:.4f} }}",
                 shape="record")  # fmt: skip
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for n1, n2 in edges:
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)
    return dot


def counts(dot: Any) -> tuple[int, int]:
    body = [line.strip() for line in dot.body]
    edges = sum("->" in line for line in body)
    return len(body) - edges, edges


def test_trace_graph_notebook_first_example() -> None:
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    nodes, edges = trace(y)
    assert len(nodes) == 6 and len(edges) == 5  # x, 2, x*2, 1, +, relu
    dot = notebook_draw_dot(y)
    assert counts(dot) == (6 + 3, 5 + 3)
    source = dot.source
    for op in ("*", "+", "ReLU"):
        assert f"label={op}" in source or f'label="{op}"' in source
    assert "data 3.0000 | grad 1.0000" in source
    assert "data 1.0000 | grad 2.0000" in source  # x


def test_trace_graph_notebook_neuron_example() -> None:
    from gradengine import nn

    random.seed(1337)
    neuron = nn.Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = neuron(x)
    y.backward()
    nodes, edges = trace(y)
    # gradengine's neuron is one fused node over b, w1, w2, x1, x2 (micrograd draws 2n + 1)
    assert len(nodes) == 6 and len(edges) == 5
    assert y._op == "relu(weighted_sum)"
    dot = notebook_draw_dot(y)
    assert counts(dot) == (7, 6)


def test_trace_graph_notebook_renders_svg() -> None:
    graphviz = pytest.importorskip("graphviz")
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    try:
        svg = notebook_draw_dot(y).pipe(format="svg")
    except graphviz.ExecutableNotFound:
        pytest.skip("Graphviz's dot is not installed")
    assert b"<svg" in svg


def test_demo_notebook_three_steps() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    from gradengine.nn import MLP

    np = pytest.importorskip("numpy")
    np.random.seed(1337)
    random.seed(1337)
    np_x, np_y = datasets.make_moons(n_samples=100, noise=0.1)
    y = np_y * 2 - 1
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337

    def loss() -> tuple[Value, float]:
        inputs = [list(map(Value, xrow)) for xrow in np_x]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (s.data > 0) for yi, s in zip(y, scores)]  # type: ignore[union-attr]
        return total_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(3):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.data, acc))
    # what demo.ipynb prints: step 0 loss 0.8958441028683222, accuracy 50.0%, ...
    expected = [(0.8958441028683222, 0.5), (1.7235905336972022, 0.81), (0.7429006313851131, 0.77)]
    for (got, got_acc), (want, want_acc) in zip(history, expected, strict=True):
        assert got == pytest.approx(want, rel=1e-12)
        assert got_acc == want_acc

    # the notebook's decision boundary: the model over a mesh of points, one Value per point
    xx, yy = np.meshgrid(np.linspace(-2.0, 3.0, 5), np.linspace(-1.5, 2.0, 5))
    xmesh = np.c_[xx.ravel(), yy.ravel()]
    scores = list(map(model, [list(map(Value, xrow)) for xrow in xmesh]))
    z = np.array([s.data > 0 for s in scores]).reshape(xx.shape)  # type: ignore[union-attr]
    assert z.shape == (5, 5) and z.dtype == bool


# -- gradengine's own way: the lecture's tanh from exp as an Operation ----------------------------

TANH_FROM_EXP = Operation(
    "tanh",
    lambda m, x: (m.exp(2 * x) - 1) / (m.exp(2 * x) + 1),
    lambda m, x, t: (1 - t * t,),
)


def test_operation_tanh_from_exp_gives_the_lecture_numbers_and_passes_gradcheck() -> None:
    v = lecture_neuron()
    o = TANH_FROM_EXP(v["n"])
    assert o._op == "tanh" and o._prev == (v["n"],)
    o.backward()
    check_lecture_grads({**v, "o": o})
    for x in (-3.0, -0.4, 0.0, 0.9, 2.5):
        assert gradcheck(TANH_FROM_EXP, [x]).ok


def test_operation_tanh_from_exp_matches_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for x in (-3.0, -0.4, 0.0, 0.9, 2.5):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        out = torch.tanh(t)
        out.backward()
        leaf = Value(x)
        ours = TANH_FROM_EXP(leaf)
        ours.backward()
        assert ours.data == pytest.approx(out.item(), rel=1e-14, abs=1e-16)
        assert t.grad is not None
        assert leaf.grad == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-16)  # 1 - t^2 cancels
