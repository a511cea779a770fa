"""Gradients of gradients: derivatives as Values, Hessians, and forward mode.

``backward()`` computes each local derivative once, as a float, while the graph is built. Here the
same derivative functions of the table of operations in engine.py are evaluated again with Values
(the namespace ``VALUES``), so a gradient is itself a graph that can be differentiated again, to
any order. Nothing here reads or writes any node's ``.grad``.

- ``grad(output, inputs, create_graph=False)``: d(output)/d(input), as ``torch.autograd.grad``.
- ``grad(f)``, ``value_and_grad(f)``: functions of Values, as JAX's ``grad``.
- ``hessian(f, xs)``, ``hvp(f, xs, v)``: second derivatives by reverse mode over reverse mode.
- ``jvp(f, xs, tangents)``: forward mode. Pushing a tangent t through the graph from the inputs,
  t(node) = Σ d(node)/d(parent) t(parent), is exactly what dual numbers a + b ε compute
  (f(a + b ε) = f(a) + f'(a) b ε); here it reuses the local derivatives recorded in the graph.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Sequence
from typing import Any, overload

from gradengine import anomaly
from gradengine.checks import as_float, describe
from gradengine.engine import LEAF, Operation, Value, floats, topological_order
from gradengine.fast import total

Scalar = Value | float

__all__ = ["VALUES", "grad", "hessian", "hvp", "jvp", "local_grads", "value_and_grad"]


def _real(x: Any) -> float:
    """The number x holds: its data for a Value, x itself for a number."""
    return x.data if isinstance(x, Value) else float(x)


# Decisions as nodes. A derivative that depends on a comparison (relu's 1[x > 0], x ** y's
# cases at 0) is written with m.step, m.where and comparisons of m.real(x). With m = VALUES each
# of these is a node of the gradient's graph, holding 1.0 or 0.0 (a condition) or the branch
# taken, so a compiled replay of that graph decides again at every run. Their derivatives are 0
# (a condition) and 1 or 0 (where): they change the graph's values, never its slopes. In eager
# mode a decision passes its gradient to the branch taken only: nothing to its condition or to
# the other branch, as when the decision was a plain number (not even 0 * inf = nan).


def _no_slopes(m: Any, *inputs_and_value: Any) -> tuple[float, ...]:
    """d(condition)/d(each input) = 0: a decision is a constant wherever it is differentiable"""
    return (0.0,) * (len(inputs_and_value) - 1)


def _is_true(m: Any, c: Any) -> Any:
    """c > 0: a condition node holds 1.0 (true) or 0.0 (false)"""
    return m.real(c) > 0


# fmt: off
STEP = Operation("step", lambda m, x: m.step(x), _no_slopes)  # 1[x > 0], 1 at nan (relu's slope)
LESS = Operation("less", lambda m, a, b: m.where(m.real(a) < m.real(b), 1.0, 0.0), _no_slopes)
LESS_EQUAL = Operation("less_equal",
                       lambda m, a, b: m.where(m.real(a) <= m.real(b), 1.0, 0.0), _no_slopes)
GREATER = Operation("greater", lambda m, a, b: m.where(m.real(a) > m.real(b), 1.0, 0.0),
                    _no_slopes)
GREATER_EQUAL = Operation("greater_equal",
                          lambda m, a, b: m.where(m.real(a) >= m.real(b), 1.0, 0.0), _no_slopes)
EQUAL = Operation("equal", lambda m, a, b: m.where(m.real(a) == m.real(b), 1.0, 0.0), _no_slopes)
NOT_EQUAL = Operation("not_equal",
                      lambda m, a, b: m.where(m.real(a) != m.real(b), 1.0, 0.0), _no_slopes)
AND = Operation("and", lambda m, a, b: m.where(_is_true(m, a) & _is_true(m, b), 1.0, 0.0),
                _no_slopes)
OR = Operation("or", lambda m, a, b: m.where(_is_true(m, a) | _is_true(m, b), 1.0, 0.0),
               _no_slopes)
NOT = Operation("not", lambda m, a: m.where(_is_true(m, a), 0.0, 1.0), _no_slopes)
# a if c else b, its inputs in the order (a, b, c): d/da = 1[c], d/db = 1 - 1[c], d/dc = 0
WHERE = Operation("where", lambda m, a, b, c: m.where(_is_true(m, c), a, b),
                  lambda m, a, b, c, out: (m.step(c), 1.0 - m.step(c), 0.0))
# fmt: on
CONDITIONS = frozenset({STEP, LESS, LESS_EQUAL, GREATER, GREATER_EQUAL, EQUAL, NOT_EQUAL})
CONDITIONS |= {AND, OR, NOT}


def _condition(operation: Operation, *operands: Value | float) -> Value:
    """The node operation(*operands), 1.0 or 0.0, which passes no gradient back (local grads ())"""
    parents = tuple([x if isinstance(x, Value) else Value(x) for x in operands])
    data = float(operation.value(floats, *[p.data for p in parents]))
    return Value.node(data, parents, (), operation)


def _where(c: Value, a: Any, b: Any, condition: Condition | None = None) -> Value:
    """The node where(c, a, b), its inputs ordered (branch taken, other, condition true now):
    its gradient goes to the branch taken, whole (local grads (1.0,): nothing to the rest).
    Given the Condition of c, the wheres of one derivative share its negation and constants."""
    if not c.data > 0:
        a, b = b, a
        c = _condition(NOT, c) if condition is None else condition.negated()
    if condition is None:
        taken, other = (x if isinstance(x, Value) else Value(x) for x in (a, b))
    else:
        taken, other = condition.value(a), condition.value(b)
    return Value.node(taken.data, (taken, other, c), (1.0,), WHERE)


class _Decisions(threading.local):
    """How many times, in this thread, a derivative read a decision as a Python bool."""

    read_in_python = 0


_decisions = _Decisions()


class Condition:
    """A comparison of Values as a node holding 1.0 or 0.0; & | ~ combine conditions, and
    m.where(condition, a, b) makes the node that picks a or b by it."""

    __slots__ = ("node", "_negation", "_constants")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, node: Value) -> None:
        self.node = node
        self._negation: Value | None = None
        self._constants: dict[tuple[float, float], Value] = {}

    def negated(self) -> Value:
        """The node not(condition), made once"""
        if self._negation is None:
            self._negation = _condition(NOT, self.node)
        return self._negation

    def value(self, x: Any) -> Value:
        """x as a Value: a number as one constant leaf for all the wheres of this condition"""
        if isinstance(x, Value):
            return x
        number = as_float(x, "a branch of where")
        key = (number, math.copysign(1.0, number))  # 0.0 and -0.0 are two constants
        if key not in self._constants:
            self._constants[key] = Value(number)
        return self._constants[key]

    def _combine(self, other: object, operation: Operation, identity: bool) -> Any:
        if isinstance(other, Condition):
            return Condition(_condition(operation, self.node, other.node))
        if isinstance(other, bool):  # True & c is c, False & c is False (and | the other way)
            return self if other is identity else other
        return NotImplemented

    def __and__(self, other: object) -> Any:
        return self._combine(other, AND, True)

    def __or__(self, other: object) -> Any:
        return self._combine(other, OR, False)

    __rand__, __ror__ = __and__, __or__

    def __invert__(self) -> Condition:
        return Condition(self.negated())

    def __bool__(self) -> bool:
        """The decision at the data of the moment, for a derivative that branches in Python:
        its gradients are then marked as not replayable (compile_graph refuses them)."""
        _decisions.read_in_python += 1
        return self.node.data > 0

    def __repr__(self) -> str:
        return f"Condition({self.node.data > 0}, {self.node._op})"


def _comparison(operation: Operation) -> Callable[[Real, object], Any]:
    def compare(self: Real, other: object) -> Any:
        if isinstance(other, Real):
            other = other.value
        elif not isinstance(other, (Value, int, float)) or isinstance(other, bool):
            return NotImplemented
        return Condition(_condition(operation, self.value, other))

    compare.__doc__ = f"the condition node {operation.name}(self, other)"
    return compare


class Real:
    """m.real(x) of a Value x: comparing it with a number or another gives a Condition node."""

    __slots__ = ("value",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, value: Value) -> None:
        self.value = value

    __lt__, __le__ = _comparison(LESS), _comparison(LESS_EQUAL)
    __gt__, __ge__ = _comparison(GREATER), _comparison(GREATER_EQUAL)
    __eq__, __ne__ = _comparison(EQUAL), _comparison(NOT_EQUAL)

    def __float__(self) -> float:
        """The number itself, for a derivative that computes with it in Python (not replayable)"""
        _decisions.read_in_python += 1
        return self.value.data

    def __repr__(self) -> str:
        return f"Real({self.value.data!r})"


class VALUES:
    """The numbers namespace ``m`` for Values: the derivative functions compute graphs."""

    @staticmethod
    def divide(a: Any, b: Any) -> Any:
        """a / b (IEEE-754 for two numbers: x / 0 = ±inf)"""
        if isinstance(a, Value) or isinstance(b, Value):
            return a / b
        return floats.divide(a, b)

    @staticmethod
    def power(a: Any, b: Any) -> Any:
        """a ** b"""
        if isinstance(a, Value):
            return a**b
        if isinstance(b, Value):
            return Value(a) ** b
        return floats.power(a, b)

    @staticmethod
    def sqrt(x: Any) -> Any:
        """√x (nan below 0)"""
        if isinstance(x, Value):
            return x**0.5
        try:
            return math.sqrt(x)
        except ValueError:
            return math.nan

    @staticmethod
    def exp(x: Any) -> Any:
        """e^x"""
        return x.exp() if isinstance(x, Value) else floats.exp(x)

    @staticmethod
    def log(x: Any) -> Any:
        """ln x"""
        return x.log() if isinstance(x, Value) else floats.log(x)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        """1 / (1 + e^-x)"""
        return x.sigmoid() if isinstance(x, Value) else floats.sigmoid(x)

    @staticmethod
    def tanh(x: Any) -> Any:
        """tanh x"""
        return x.tanh() if isinstance(x, Value) else floats.tanh(x)

    @staticmethod
    def step(x: Any) -> Any:
        """1[x > 0]: for a Value, a step node (derivative 0, as PyTorch treats relu's mask)"""
        return _condition(STEP, x) if isinstance(x, Value) else floats.step(x)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        """a if condition else b: for a Condition (or a Value c, true for c > 0), a where node"""
        if isinstance(condition, Condition):
            return _where(condition.node, a, b, condition)
        if isinstance(condition, Value):
            return _where(condition, a, b)
        return a if condition else b

    @staticmethod
    def real(x: Any) -> Any:
        """The number x holds: for a Value, a Real whose comparisons are condition nodes"""
        return Real(x) if isinstance(x, Value) else x


def _inputs(inputs: object) -> list[Value]:
    """inputs as a list of Values: one Value, or a non-empty sequence of them."""
    if isinstance(inputs, Value):
        return [inputs]
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Sequence):
        raise TypeError(f"inputs must be a Value or a sequence of Values, got {describe(inputs)}")
    xs = list(inputs)
    if not xs:
        raise ValueError(
            "inputs is empty: name at least one Value to differentiate with respect to"
        )
    for i, x in enumerate(xs):
        if not isinstance(x, Value):
            raise TypeError(f"inputs[{i}] must be a Value, got {describe(x)}")
    return xs


def _local_grads(node: Value) -> tuple[Any, ...]:
    """d(node)/d(parent) for each parent, as Values of the graph (node stands for its result)."""
    operation, parents = node._operation, node._parents
    if operation is LEAF:
        raise TypeError(
            f"operation {node._op!r} has no higher-order derivatives: the node {node!r} was made "
            "by hand, Value(data, children, op), with a _backward of its own (define its "
            "operation with gradengine.Operation to differentiate it again)"
        )
    name = getattr(node, "_op", operation.name) or operation.name
    read_before = _decisions.read_in_python
    try:
        grads = tuple(operation.derivatives(VALUES, *parents, node))
    except (TypeError, AttributeError) as error:
        raise TypeError(
            f"operation {name!r} has no higher-order derivatives: its derivatives cannot be "
            f"computed with Values ({error})"
        ) from error
    if len(grads) != len(parents):
        raise ValueError(
            f"operation {name!r}: derivatives gave {len(grads)} values for "
            f"{len(parents)} inputs; expected one derivative per input"
        )
    if _decisions.read_in_python != read_before:
        frozen = _decided_in_python(name)
        parents_of = [g if isinstance(g, Value) else Value(g) for g in grads]
        return tuple(Value.node(g.data, (g,), (1.0,), frozen) for g in parents_of)
    return grads


@functools.cache
def _decided_in_python(name: str) -> Operation:
    """The operation that marks the derivatives of operation `name`, which decided something in
    Python (an if on m.real(x)): each is itself (d/dx = 1), but cannot be recomputed, so that
    compile_graph refuses the graph, naming the operation, instead of freezing the decision."""

    def value(m: Any, x: Any) -> Any:
        raise TypeError(
            f"a derivative of operation {name!r} decided in Python on the data of the moment "
            "(an if or a float() of m.real(...)), so it cannot be recomputed: write the decision "
            "as m.where(condition, a, b) or m.step(x)"
        )

    return Operation(f"{name} (decided in Python)", value, lambda m, x, out: (1.0,))


@overload
def grad(
    output: Value,
    inputs: Value | Sequence[Value],
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Value]: ...


@overload
def grad(output: Callable[..., Value]) -> Callable[..., Any]: ...


def grad(
    output: Value | Callable[..., Value],
    inputs: Value | Sequence[Value] | None = None,
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> list[Value] | Callable[..., Any]:
    """[d(output)/d(x) for x in inputs], as Values; or, given a function f, the function ∇f.

    With create_graph=True the gradients are part of a graph built from output's, so they can be
    differentiated again; otherwise they are constants. An input output does not depend on is a
    ValueError, or a gradient of 0 with allow_unused=True (as torch.autograd.grad).
    ``grad(f)(*xs)`` is ∇f at xs: a Value for one argument, else a list (see value_and_grad).
    """
    if inputs is None and callable(output) and not isinstance(output, Value):
        f = output

        def gradient(*xs: Scalar) -> Value | list[Value]:
            """∇f(xs)"""
            return value_and_grad(f)(*xs)[1]

        gradient.__doc__ = f"∇{getattr(f, '__name__', 'f')}(xs): the gradient, as Values"
        return gradient
    if not isinstance(output, Value):
        raise TypeError(f"output must be a Value, got {describe(output)}")
    if inputs is None:
        raise TypeError("grad(output, inputs): inputs is missing")
    xs = _inputs(inputs)
    for flag, what in ((create_graph, "create_graph"), (allow_unused, "allow_unused")):
        if not isinstance(flag, bool):
            raise TypeError(f"{what} must be True or False, got {describe(flag)}")
    upstream: dict[int, Any] = {id(output): 1.0}
    order = topological_order(output)
    # In anomaly mode a derivative is judged only where it is used: d(x ** y)/dy = x^y ln x is
    # nan for x < 0, and no error unless the gradient asked for goes through it (check_results).
    with anomaly.paused():
        for node in reversed(order):
            g = upstream.get(id(node))
            parents = node._parents
            if g is None or not parents:
                continue
            for parent, contribution in _contributions(node, g, create_graph):
                before = upstream.get(id(parent))
                upstream[id(parent)] = contribution if before is None else before + contribution
    grads: list[Value] = []
    for i, x in enumerate(xs):
        g = upstream.get(id(x))
        if g is None:
            if not allow_unused:
                raise ValueError(
                    f"inputs[{i}] is not used to compute output: its gradient is undefined "
                    "(pass allow_unused=True for 0)"
                )
            g = 0.0
        if isinstance(g, Value) and create_graph:
            grads.append(g)
        else:
            grads.append(Value(_real(g)))
    anomaly.check_results(grads, known={id(node) for node in order})
    return grads


def _contributions(node: Value, g: Any, create_graph: bool) -> list[tuple[Value, Any]]:
    """(parent, g * d(node)/d(parent)) for each parent node passes its gradient g to."""
    operation, parents = node._operation, node._parents
    if operation in CONDITIONS:  # a decision: nothing
        return []
    if operation is WHERE and create_graph:  # g to the branch taken, -0.0 (adds nothing) to the
        taken, other, c = parents  # other, as where nodes: a replay picks them again
        return [(taken, VALUES.where(c, g, -0.0)), (other, VALUES.where(c, -0.0, g))]
    local = _local_grads(node) if create_graph else local_grads(node)
    return [(parent, g * d) for parent, d in zip(parents, local)]


def local_grads(node: Value) -> tuple[float, ...]:
    """d(node)/d(parent) for each parent, as floats: those its operation recorded or, for a node
    made by hand, those its own _backward gives when run once with grad 1."""
    if node._local_grads or not node._parents or node._operation in CONDITIONS:
        return node._local_grads  # (a decision's are (): it passes nothing back)
    # The chain rule is linear in the upstream grad: with grad 1 and the parents at 0,
    # _backward leaves exactly the local derivatives in the parents' grads.
    parents, held = node._parents, [(v, v.grad) for v in (node, *node._parents)]
    try:
        for p in parents:
            p.grad = 0.0
        node.grad = 1.0
        node._backward()
        return tuple(float(p.grad) for p in parents)
    finally:
        for v, grad in held:
            v.grad = grad


def _leaves(xs: Sequence[Scalar], what: str = "xs") -> list[Value]:
    """Each x as a Value: Values as they are (so grad(grad(f)) works), numbers as new leaves."""
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{what} must be a sequence of numbers, got {describe(xs)}")
    if not xs:
        raise ValueError(f"{what} is empty: f needs at least one argument")
    return [
        x if isinstance(x, Value) else Value(as_float(x, f"{what}[{i}]")) for i, x in enumerate(xs)
    ]


def _scalar_output(out: object) -> Value:
    if isinstance(out, Value):
        return out
    return Value(as_float(out, "the value of f (a Value or a number)"))


def value_and_grad(
    f: Callable[..., Value],
) -> Callable[..., tuple[Value, Value | list[Value]]]:
    """xs -> (f(xs), ∇f(xs)), as Values: the gradients can be differentiated again."""
    if not callable(f):
        raise TypeError(f"f must be a function of Values, got {describe(f)}")

    def both(*xs: Scalar) -> tuple[Value, Value | list[Value]]:
        """(f(xs), ∇f(xs))"""
        leaves = _leaves(xs)
        out = _scalar_output(f(*leaves))
        grads = grad(out, leaves, create_graph=True, allow_unused=True)
        return out, grads[0] if len(grads) == 1 else grads

    return both


def hessian(f: Callable[..., Value], xs: Sequence[float]) -> list[list[float]]:
    """H_ij = ∂²f / ∂x_i ∂x_j at xs (reverse mode over reverse mode)."""
    leaves = _leaves(xs)
    out = _scalar_output(f(*leaves))
    first = grad(out, leaves, create_graph=True, allow_unused=True)
    return [[h.data for h in grad(g, leaves, allow_unused=True)] for g in first]


def hvp(f: Callable[..., Value], xs: Sequence[float], v: Sequence[float]) -> list[float]:
    """H v = ∇(∇f · v) at xs: a Hessian-vector product without the Hessian."""
    leaves = _leaves(xs)
    vs = [as_float(vi, f"v[{i}]") for i, vi in enumerate(_sequence(v, "v"))]
    if len(vs) != len(leaves):
        raise ValueError(f"v must have one number per x: {len(leaves)} xs, {len(vs)} in v")
    out = _scalar_output(f(*leaves))
    first = grad(out, leaves, create_graph=True, allow_unused=True)
    dot = total([g * vi for g, vi in zip(first, vs)])
    return [h.data for h in grad(dot, leaves, allow_unused=True)]


def _sequence(xs: object, what: str) -> list[Any]:
    if isinstance(xs, (str, bytes)) or not isinstance(xs, Sequence):
        raise TypeError(f"{what} must be a sequence of numbers, got {describe(xs)}")
    return list(xs)


def jvp(
    f: Callable[..., Value | Sequence[Value]], xs: Sequence[float], tangents: Sequence[float]
) -> tuple[float | list[float], float | list[float]]:
    """(f(x), J t): the value and the directional derivative Σ_j ∂f/∂x_j t_j (forward mode).

    f returns a Value (then both are floats) or a list of Values (then both are lists). Each
    node's tangent is Σ d(node)/d(parent) t(parent), from the inputs forward, as dual numbers
    x + t ε propagate t: one pass gives the derivative of every output along t.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of Values, got {describe(f)}")
    leaves = _leaves(xs)
    ts = [as_float(t, f"tangents[{i}]") for i, t in enumerate(_sequence(tangents, "tangents"))]
    if len(ts) != len(leaves):
        raise ValueError(
            f"tangents must have one number per x: {len(leaves)} xs, {len(ts)} tangents"
        )
    result = f(*leaves)
    many = not isinstance(result, Value)
    outs = [_scalar_output(y) for y in (_sequence(result, "the value of f") if many else [result])]
    if not outs:
        raise ValueError("f returned an empty sequence")
    tangent: dict[int, float] = {}
    for leaf, t in zip(leaves, ts):
        tangent[id(leaf)] = tangent.get(id(leaf), 0.0) + t
    root = outs[0] if len(outs) == 1 else total(outs)
    for node in topological_order(root):
        parents = node._parents
        if not parents or id(node) in tangent:
            continue
        t_node: float | None = None
        for parent, d in zip(parents, local_grads(node)):
            t_parent = tangent.get(id(parent))
            if t_parent is not None:  # constants carry no tangent (not even 0 * inf)
                term = d * t_parent
                t_node = term if t_node is None else t_node + term
        if t_node is not None:
            tangent[id(node)] = t_node
    values = [y.data for y in outs]
    out_tangents = [tangent.get(id(y), 0.0) for y in outs]
    if many:
        return values, out_tangents
    return values[0], out_tangents[0]
