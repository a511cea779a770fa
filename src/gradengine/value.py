"""Value: a scalar that remembers how it was computed, and backpropagates through that history.

Every operation below computes its result and records, beside it, the local derivative of the
result with respect to each input. ``backward`` visits the nodes from the output back, and each
node adds its grad times the local derivative to each parent's grad (the chain rule). A whole
neuron records instead the numbers it was computed from, and its node computes the derivatives
from them when backward() asks (nodes.py): one object per neuron rather than three.

The derivatives of each operation are written once, in the table of operations after the class,
as a function of the inputs and the result. It is written with operators and the functions of a
namespace ``m`` (``m.exp``, ``m.log``, ...), so the same line computes floats here (``m`` is
``ieee``), Values for gradients of gradients (higher.py) and arrays in compiled mode (compile/).

Where the rest lives: nodes.py holds the node classes that operations make (how a node keeps its
parents), hidden.py an MLP's hidden layers kept as numbers, walk.py the topological walk,
compat.py micrograd's internals (``_prev``, ``_backward``, ...), anomaly.py the checked versions
of ``_node`` and ``backward``.
"""

from __future__ import annotations

import importlib
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache, partial, reduce
from operator import add, mul
from typing import Any, ClassVar, SupportsIndex

from gradengine import ieee, pickling
from gradengine.checks import as_float, as_list, describe, type_name
from gradengine.compat import MicrogradSurface
from gradengine.walk import Shared, exclusive, paused_gc, walk

Number = int | float
#: Makes a node: (data, parents, d(data)/d(parent) for each parent, operation) -> Value.
NodeMaker = Callable[[float, tuple["Value", ...], tuple[float, ...], "Operation"], "Value"]
#: Makes a neuron's node: (data, its parents as two groups, (b, w1..wn) and (x1..xn), the numbers
#: b, [w1..wn], [x1..xn] it was computed from, operation) -> Value.
NeuronMaker = Callable[
    [float, Shared, Shared, float, list[float], Sequence[float], "Operation"], "Value"
]


#: A leaf's children: none. (Any other empty collection makes a leaf too, a little later.)
_NO_CHILDREN: tuple[()] = ()


class Value(MicrogradSurface):
    """A scalar node: data, grad = d(output)/d(self), and the parents it was computed from."""

    __slots__ = ("data", "grad", "label", "_operation", "_seen_by", "__weakref__")
    # Value(x) is a leaf: computed from nothing. Operations return the node classes of nodes.py,
    # subclasses of Value that hold the parents and the local derivatives.
    _parents: tuple[Value, ...] = ()
    _local_grads: tuple[float, ...] = ()
    # What the walk follows: the parents, or the Shared groups that hold them (a neuron's).
    _sources: tuple[Value | Shared, ...] = ()
    # True for a node that stands for Values not made yet (hidden.py): topological_order makes them.
    _packed: ClassVar[bool] = False
    #: Records a result: nodes.py sets it (its classes subclass Value, so this file cannot import
    #: them), and anomaly mode wraps it. _neuron records one whose parents are Shared groups.
    _node: ClassVar[NodeMaker]
    _neuron: ClassVar[NeuronMaker]
    #: Turns a Value just made into a node made the lecture's way, Value(data, children, op):
    #: set by nodes.py.
    _made_the_lectures_way: ClassVar[Callable[[Value, Iterable[Value], object], None]]

    def __init__(
        self,
        data: object,
        _children: Iterable[Value] = _NO_CHILDREN,
        _op: str = "",
        label: str = "",
    ) -> None:
        if isinstance(data, Value):
            raise TypeError(
                "Value(data) must be a real number, got a Value: use it directly, "
                "or Value(v.data) for a new leaf with the same number"
            )
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {describe(label)}")
        self.data: float = as_float(data, "Value(data)")
        self.grad = 0.0
        self.label = label
        self._operation: Operation = LEAF
        self._seen_by: object = None  # the last walk of the graph that reached this node
        if _children is not _NO_CHILDREN or _op:
            Value._made_the_lectures_way(self, _children, _op)  # micrograd's way (compat.py)

    @property
    def _op(self) -> str:
        """The symbol of the operation that computed this node ("" for a leaf), as micrograd's."""
        return self._operation.name

    def _send_grad(self) -> None:
        """parent.grad += self.grad * d(self)/d(parent), for each parent (a leaf has none)"""

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """How pickle and copy.deepcopy save a node: at any depth, without recursion"""
        return pickling.reduce(self, protocol)

    def __copy__(self) -> Value:
        """copy.copy: a new node with the same data, grad and parents."""
        copied: Value = pickling.shallow_copy(self)
        return copied

    # -- arithmetic -----------------------------------------------------------------------------

    def __add__(self, other: ValueLike) -> Value:
        """x + y; d/dx = 1, d/dy = 1"""
        other = as_value(other)
        x, y = self.data, other.data
        out = x + y
        return Value._node(out, (self, other), ADD.derivatives(ieee, x, y, out), ADD)

    def __radd__(self, other: Number) -> Value:
        """y + x"""
        return as_value(other) + self

    def __sub__(self, other: ValueLike) -> Value:
        """x - y; d/dx = 1, d/dy = -1"""
        other = as_value(other)
        x, y = self.data, other.data
        out = x - y
        return Value._node(out, (self, other), SUB.derivatives(ieee, x, y, out), SUB)

    def __rsub__(self, other: Number) -> Value:
        """y - x"""
        return as_value(other) - self

    def __mul__(self, other: ValueLike) -> Value:
        """x * y; d/dx = y, d/dy = x"""
        other = as_value(other)
        x, y = self.data, other.data
        out = x * y
        return Value._node(out, (self, other), MUL.derivatives(ieee, x, y, out), MUL)

    def __rmul__(self, other: Number) -> Value:
        """y * x"""
        return as_value(other) * self

    def __truediv__(self, other: ValueLike) -> Value:
        """x / y; d/dx = 1/y, d/dy = -x/y^2"""
        other = as_value(other)
        x, y = self.data, other.data
        out = ieee.divide(x, y)
        return Value._node(out, (self, other), DIV.derivatives(ieee, x, y, out), DIV)

    def __rtruediv__(self, other: Number) -> Value:
        """y / x"""
        return as_value(other) / self

    def __neg__(self) -> Value:
        """-x; d/dx = -1"""
        x = self.data
        return Value._node(-x, (self,), NEG.derivatives(ieee, x, -x), NEG)

    def __pow__(self, exponent: ValueLike) -> Value:
        """x ** y; d/dx = y * x^(y-1), d/dy = x^y * ln x (both 0 where PyTorch makes them 0)"""
        x = self.data
        if isinstance(exponent, Value):
            y = exponent.data
            out = ieee.power(x, y)
            return Value._node(out, (self, exponent), POW.derivatives(ieee, x, y, out), POW)
        # A number exponent is no node of its own: it is part of the operation, as in "**2".
        power = power_by(as_float(exponent, "the exponent"))
        out = power.value(ieee, x)
        return Value._node(out, (self,), power.derivatives(ieee, x, out), power)

    def __rpow__(self, base: Number) -> Value:
        """b ** x"""
        return as_value(base) ** self

    def pow(self, exponent: ValueLike) -> Value:
        """x ** y"""
        return self**exponent

    # -- functions --------------------------------------------------------------------------------

    def relu(self) -> Value:
        """max(x, 0); d/dx = 0 if x <= 0 else 1 (so nan passes through, as in PyTorch)"""
        x = self.data
        out = 0.0 if x <= 0 else x
        return Value._node(out, (self,), RELU.derivatives(ieee, x, out), RELU)

    def tanh(self) -> Value:
        """tanh(x); d/dx = 1 - tanh(x)^2"""
        x = self.data
        t = math.tanh(x)
        return Value._node(t, (self,), TANH.derivatives(ieee, x, t), TANH)

    def exp(self) -> Value:
        """e^x; d/dx = e^x"""
        x = self.data
        e = ieee.exp(x)
        return Value._node(e, (self,), EXP.derivatives(ieee, x, e), EXP)

    def log(self) -> Value:
        """ln x; d/dx = 1/x"""
        x = self.data
        out = ieee.log(x)
        return Value._node(out, (self,), LOG.derivatives(ieee, x, out), LOG)

    def sigmoid(self) -> Value:
        """σ(x) = 1 / (1 + e^-x); d/dx = σ(x)(1 - σ(x))"""
        x = self.data
        s = ieee.sigmoid(x)
        return Value._node(s, (self,), SIGMOID.derivatives(ieee, x, s), SIGMOID)

    # -- gradients ------------------------------------------------------------------------------

    def backward(self) -> None:
        """grad of every node := d(self)/d(node); leaves accumulate across calls, as in PyTorch."""
        # One pass at a time (walk.py): two threads adding into a shared leaf would lose sums.
        # The walk allocates no reference cycles, so the cyclic collector has nothing to find
        # here; left on, it rescans the whole graph many times (1,000,000-node chain: 1.5x).
        with exclusive("backward()"), paused_gc():
            order, leaves = walk(self)
            held = [leaf.grad for leaf in leaves]
            try:
                # -0.0 + g is g for every g, -0.0 included, so a single contribution keeps its
                # sign, as PyTorch's first contribution does (0.0 + -0.0 would be 0.0).
                for node in order:
                    node.grad = -0.0
                self.grad = 1.0
                for node in reversed(order):
                    node._send_grad()
                # Leaves accumulate as in PyTorch: this call's total is added to what they held,
                # so two calls give exactly twice the gradient. Interior nodes keep this call's.
                for leaf, before in zip(leaves, held):
                    if before:  # a leaf that held 0 takes this call's total as it is
                        leaf.grad += before
            except BaseException:  # an error or Ctrl-C midway: every leaf keeps what it held
                for leaf, before in zip(leaves, held):
                    leaf.grad = before
                raise

    def zero_grad(self) -> None:
        """grad := 0"""
        self.grad = 0.0

    def update(self, lr: float) -> None:
        """data := data - lr * grad (one step of gradient descent)"""
        rate = as_float(lr, "the learning rate lr")
        if not math.isfinite(rate):
            raise ValueError(f"the learning rate lr must be finite, got {rate}")
        self.data -= rate * self.grad

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label})"


ValueLike = Value | int | float


def as_value(x: object) -> Value:
    """x itself if it is a Value, else a constant: a leaf holding float(x)."""
    if isinstance(x, Value):
        return x
    return Value._node(as_float(x, "an operand of a Value operation"), (), (), LEAF)


# -- the operations -------------------------------------------------------------------------------


class Operation:
    """An operation of Values, defined by its value and its local derivatives d(result)/d(input).

    ``value(m, *inputs)`` gives the result and ``derivatives(m, *inputs, result)`` one derivative
    per input. Written with operators and ``m``'s functions (exp, log, power, divide, sqrt,
    sigmoid, tanh, step, where, real), one definition serves floats (m = ieee), Values (gradients of
    gradients) and arrays (compiled mode). With variadic=True both take the inputs as one tuple.
    """

    __slots__ = ("name", "value", "derivatives", "variadic")

    def __init__(
        self,
        name: str,
        value: Callable[..., Any],
        derivatives: Callable[..., Any],
        *,
        variadic: bool = False,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"an Operation's name must be a str, got {describe(name)}")
        for what, f in (("value", value), ("derivatives", derivatives)):
            if not callable(f):
                raise TypeError(f"Operation {name!r}: {what} must be a function, got {describe(f)}")
        if not isinstance(variadic, bool):
            raise TypeError(f"variadic must be True or False, got {type_name(variadic)}")
        self.name = name
        self.value = value
        self.derivatives = derivatives
        self.variadic = variadic

    def evaluate(self, m: Any, inputs: Sequence[Any]) -> Any:
        """The result for these inputs (floats, Values or arrays, as m computes them)."""
        return self.value(m, inputs) if self.variadic else self.value(m, *inputs)

    def local_grads(self, m: Any, inputs: Sequence[Any], result: Any) -> tuple[Any, ...]:
        """d(result)/d(input) for each input, in the numbers m computes with."""
        if self.variadic:
            return tuple(self.derivatives(m, inputs, result))
        return tuple(self.derivatives(m, *inputs, result))

    def __call__(self, *operands: ValueLike) -> Value:
        """The node for this operation applied to the operands (Values or numbers)."""
        parents = tuple(as_value(x) for x in operands)
        inputs = [p.data for p in parents]
        result = as_float(self.evaluate(ieee, inputs), f"the value of operation {self.name!r}")
        grads = self.local_grads(ieee, inputs, result)
        if len(grads) != len(parents):
            raise ValueError(
                f"operation {self.name!r}: derivatives gave {len(grads)} values for "
                f"{len(parents)} inputs; expected one derivative per input"
            )
        what = f"a derivative of operation {self.name!r}"
        return Value._node(result, parents, tuple(as_float(g, what) for g in grads), self)

    def __repr__(self) -> str:
        return f"Operation({self.name!r})"

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        """Pickled by name when a module holds it (ADD, TANH, ...): its functions are lambdas."""
        module = sys.modules.get(getattr(self.value, "__module__", ""))
        if module is not None:
            for name, constant in vars(module).items():
                if constant is self:
                    return (_constant, (module.__name__, name))
        return super().__reduce_ex__(protocol)  # a user's: pickled as it is, if it can be


def _constant(module: str, name: str) -> Operation:
    """The operation a module holds under name (how a pickled one is found again)."""
    operation: Operation = getattr(importlib.import_module(module), name)
    return operation


def _no_value(m: Any, *inputs: Any) -> float:
    raise TypeError("a leaf is computed from nothing: it has no value function")


# A leaf (a Value of your own, or a constant such as the 2 in x * 2) has no inputs.
LEAF = Operation("", _no_value, lambda m, out: ())

# name, value, local derivatives: d(result)/d(each input), as a function of inputs and result.
ADD = Operation("+", lambda m, x, y: x + y, lambda m, x, y, out: (1.0, 1.0))
SUB = Operation("-", lambda m, x, y: x - y, lambda m, x, y, out: (1.0, -1.0))
MUL = Operation("*", lambda m, x, y: x * y, lambda m, x, y, out: (y, x))
# d/dy = -x/y^2 is computed as -(x/y)/y: y * y underflows to 0 for |y| < 1e-162 (-inf, not -1e200).
DIV = Operation(
    "/", lambda m, x, y: m.divide(x, y), lambda m, x, y, out: (m.divide(1.0, y), -m.divide(out, y))
)
NEG = Operation("neg", lambda m, x: -x, lambda m, x, out: (-1.0,))
RELU = Operation(
    "ReLU", lambda m, x: m.where(m.real(x) <= 0, 0.0, x), lambda m, x, out: (m.step(x),)
)
TANH = Operation("tanh", lambda m, x: m.tanh(x), lambda m, x, t: (1.0 - t * t,))
EXP = Operation("exp", lambda m, x: m.exp(x), lambda m, x, e: (e,))
LOG = Operation("log", lambda m, x: m.log(x), lambda m, x, out: (m.divide(1.0, x),))
SIGMOID = Operation("sigmoid", lambda m, x: m.sigmoid(x), lambda m, x, s: (s * (1.0 - s),))


def _power_derivatives(m: Any, x: Any, y: Any, out: Any) -> tuple[Any, Any]:
    """d(x^y)/dx = y x^(y-1) (0 where y = 0), d(x^y)/dy = x^y ln x (0 where x = 0 <= y)"""
    x_, y_ = m.real(x), m.real(y)
    d_base = m.where(y_ == 0, 0.0, y * m.power(x, y - 1.0))
    d_exponent = m.where((x_ == 0) & (y_ >= 0), 0.0, out * m.log(x))
    return d_base, d_exponent


POW = Operation("**", lambda m, x, y: m.power(x, y), _power_derivatives)


@lru_cache(maxsize=1024)
def power_by(exponent: float) -> Operation:
    """The operation x ** exponent for one number exponent, named as micrograd names it: "**2"."""
    c = exponent

    def derivatives(m: Any, x: Any, out: Any) -> tuple[Any]:
        """d(x^c)/dx = c x^(c-1), and 0 when c = 0 (as PyTorch, instead of 0 * inf at x = 0)"""
        return (0.0,) if c == 0 else (c * power_by(c - 1.0).value(m, x),)

    if c == 0.5:  # PyTorch computes these as √x and 1/√x: unlike C's pow at -0.0 and -inf
        return _Power("**0.5", lambda m, x: m.sqrt(x), derivatives, exponent=c)
    if c == -0.5:
        return _Power("**-0.5", lambda m, x: m.divide(1.0, m.sqrt(x)), derivatives, exponent=c)
    return _Power(f"**{c:g}", lambda m, x: m.power(x, c), derivatives, exponent=c)


class _Power(Operation):
    """x ** c for one number c, as power_by(c) makes it (and pickles it)."""

    __slots__ = ("exponent",)

    def __init__(
        self,
        name: str,
        value: Callable[..., Any],
        derivatives: Callable[..., Any],
        *,
        exponent: float,
    ) -> None:
        super().__init__(name, value, derivatives)
        self.exponent = exponent

    def __reduce_ex__(self, protocol: SupportsIndex) -> tuple[Any, ...]:
        return (power_by, (self.exponent,))


class _WeightedSum(Operation):
    """b + w1*x1 + ... + wn*xn over the inputs (b, w1..wn, x1..xn); derivatives(m, b, w, x, z)."""

    __slots__ = ()

    def evaluate(self, m: Any, inputs: Sequence[Any]) -> Any:
        n = len(inputs) // 2
        return self.value(m, inputs[0], inputs[1 : n + 1], inputs[n + 1 :])

    def local_grads(self, m: Any, inputs: Sequence[Any], result: Any) -> tuple[Any, ...]:
        n = len(inputs) // 2
        return tuple(self.derivatives(m, inputs[0], inputs[1 : n + 1], inputs[n + 1 :], result))


def _weighted_sum_value(m: Any, b: Any, w: Sequence[Any], x: Sequence[Any]) -> Any:
    """b + w1*x1 + ... + wn*xn, summed left to right"""
    return _sum_left_to_right(map(mul, w, x), b)


def _weighted_sum_derivatives(
    m: Any, b: Any, w: Sequence[Any], x: Sequence[Any], z: Any
) -> tuple[Any, ...]:
    """d/db = 1, d/dwi = xi, d/dxi = wi"""
    return (1.0, *x, *w)


def _relu_weighted_sum_derivatives(
    m: Any, b: Any, w: Sequence[Any], x: Sequence[Any], out: Any
) -> tuple[Any, ...]:
    """those of weighted_sum, times 1[z > 0]: an inactive ReLU passes nothing back"""
    if m.real(out) <= 0:  # relu's output: 0 exactly when z <= 0
        return (0.0,) * (1 + len(w) + len(x))
    return (1.0, *x, *w)


WEIGHTED_SUM = _WeightedSum("weighted_sum", _weighted_sum_value, _weighted_sum_derivatives)
RELU_WEIGHTED_SUM = _WeightedSum(
    "relu(weighted_sum)",
    lambda m, b, w, x: RELU.value(m, _weighted_sum_value(m, b, w, x)),
    _relu_weighted_sum_derivatives,
)
TOTAL = Operation(
    "sum",
    lambda m, xs: _sum_left_to_right(xs[1:], xs[0]),
    lambda m, xs, out: (1.0,) * len(xs),
    variadic=True,
)

# Results must be bit-identical to micrograd's chain of additions. sum() adds left to right
# and is twice as fast as reduce() on Python <= 3.11; from 3.12 on it compensates rounding.
_sum_left_to_right: Callable[..., Any] = sum if sys.version_info < (3, 12) else partial(reduce, add)


# -- fused nodes: many elementary operations as one node ---------------------------------------


def weighted_sum(
    bias: Value, weights: Sequence[Value], inputs: Sequence[ValueLike], *, relu: bool = False
) -> Value:
    """z = b + w1*x1 + ... + wn*xn, summed left to right; d/db = 1, d/dwi = xi, d/dxi = wi.

    With relu=True the node is relu(z), a whole ReLU neuron: each derivative times 1[z > 0].
    """
    ws = as_list(weights, "the weights as a list of Values")
    xs = [as_value(x) for x in as_list(inputs, "the inputs as a list of Values or numbers")]
    for name, v in [("bias", bias), *(("weight", w) for w in ws)]:
        if not isinstance(v, Value):
            raise TypeError(f"weighted_sum: each {name} must be a Value, got {type_name(v)}")
    if not isinstance(relu, bool):
        raise TypeError(f"weighted_sum: relu must be True or False, got {type_name(relu)}")
    if len(ws) != len(xs):
        raise ValueError(f"expected {len(ws)} inputs (one per weight), got {len(xs)}")
    data = [v.data for v in xs]
    return _weighted_sum(Shared((bias, *ws)), Shared(tuple(xs)), data, relu)


def _weighted_sum(params: Shared, inputs: Shared, x: list[float], relu: bool) -> Value:
    """weighted_sum of params (b, w1..wn) and inputs, given their data (a Layer reads it once)."""
    # One node instead of micrograd's 2n + 1: the moons benchmark builds and walks 15x fewer.
    b, w = _parameter_data(params)
    z = _sum_left_to_right(map(mul, w, x), b)
    if relu:
        return Value._neuron(0.0 if z <= 0 else z, params, inputs, b, w, x, RELU_WEIGHTED_SUM)
    return Value._neuron(z, params, inputs, b, w, x, WEIGHTED_SUM)


def _parameter_data(params: Shared) -> tuple[float, list[float]]:
    """(b, [w1..wn]) of params (b, w1..wn); the last call's list while the weights are unchanged."""
    w = [p.data for p in params._sources]
    b = w.pop(0)  # a move of n pointers: cheaper than b, *w = ..., which copies the list
    last = params.data
    if last is not None and w == last:  # in C, identical floats first: true within a step
        return b, last  # so every node of the step refers to one list, and keeps no copy
    params.data = w
    return b, w


def total(values: Sequence[ValueLike]) -> Value:
    """x1 + x2 + ... + xn, summed left to right; d/dxi = 1"""
    xs = tuple(as_value(v) for v in as_list(values, "a list of Values or numbers to total"))
    if not xs:
        raise ValueError("total() needs at least one value, got an empty sequence")
    data = [v.data for v in xs]
    out = TOTAL.evaluate(ieee, data)
    return Value._node(out, xs, TOTAL.local_grads(ieee, data, out), TOTAL)
