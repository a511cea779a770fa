"""Compiled mode: record a scalar graph once, then replay its forward and backward passes fast.

``compile_graph(loss, parameters, inputs)`` walks the graph under ``loss`` once and records, for
every node, its operation and the positions of its parents. ``program.run(input_values)`` then
recomputes every value from the parameters' current ``.data`` and the given input values, runs
the backward pass and adds each parameter's (and input's) gradient to its ``.grad``, exactly as
``loss.backward()`` would (leaves accumulate), and returns the output value.

Two backends replay the same recording:

- ``"python"``: nodes of the same operation at the same level of the graph (plan.py) become a
  few lines of generated Python each, a list comprehension over lists of floats; a Layer's
  neurons over a batch a loop over the samples with the weights as local names. No dependency;
  results equal eager mode's bit for bit (same operations, same order of every sum; zeros up
  to their sign).
- ``"numpy"``: the same groups as array operations, a Layer over a batch one matrix product,
  chains of additions one cumulative sum. Needs NumPy (``pip install ".[bench]"``); values
  and gradients equal eager mode's to rounding (matrix products and NumPy's exp round their
  own way; a node's gradient contributions are added in another order).

``backend="auto"`` picks NumPy when it can be imported.

Limits, as with any tracing compiler:

- Python control flow that read ``.data`` while the graph was built (an ``if``, a ``max`` over
  Values, the number of iterations of a loop) is frozen into the recording. Replaying with other
  weights or inputs follows the recorded branches; only ReLU masks and the data-dependent cases
  of the operations' derivatives are recomputed, those of a derivative taken inside the loss
  with ``grad(..., create_graph=True)`` included (they are nodes: step, where, comparisons).
- A leaf that is neither a parameter nor an input (the 2 in ``x * 2``) is a constant: its
  ``.data`` at compile time is frozen and it receives no gradient. Interior nodes keep the
  ``.data`` and ``.grad`` of the eager pass that built them.
- Nodes made the lecture's way (``Value(data, children, op)`` with a ``_backward`` closure), and
  nodes whose operation cannot recompute them from floats, are refused with an error naming
  them.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, MutableSequence, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from gradengine import engine as _v
from gradengine import fast
from gradengine.anomaly import is_anomaly_enabled
from gradengine.checks import as_float, describe, type_name
from gradengine.engine import PARENTS_DONE, Operation, Value, floats
from gradengine.fast import paused_gc

__all__ = ["Program", "Recording", "compile_graph"]

BACKENDS = ("auto", "python", "numpy")

PARAMETER, INPUT, CONSTANT, NODE = "parameter", "input", "constant", "node"


_BUILT_IN = frozenset(
    {_v.ADD, _v.SUB, _v.MUL, _v.DIV, _v.NEG, _v.RELU, _v.TANH, _v.EXP, _v.LOG, _v.SIGMOID}
    | {fast.WEIGHTED_SUM, fast.RELU_WEIGHTED_SUM, fast.TOTAL}
)


def _check_replayable(node: Value, op: Operation) -> None:
    """An operation that is not built in must compute its value and derivatives from floats."""
    inputs = [p.data for p in node._parents]
    try:
        result = float(op.value(floats, *inputs))
        grads = tuple(op.derivatives(floats, *inputs, result))
    except Exception as error:
        raise TypeError(
            f"cannot compile the {op.name!r} node {_describe_node(node)}: its operation "
            f"cannot recompute it from its inputs ({type(error).__name__}: {error})"
        ) from error
    if len(grads) != len(inputs):
        raise TypeError(
            f"cannot compile the {op.name!r} node: its derivatives gave {len(grads)} values "
            f"for {len(inputs)} inputs"
        )


def _replayable(node: Value, op: Operation) -> Operation:
    """op itself if it can recompute node from floats (cross_entropy: the array operation of
    compile/cross_entropy.py, when it applies); TypeError naming the node otherwise."""
    from gradengine import losses

    if isinstance(op, losses.LossOperation):
        if op.kind != "cross_entropy":
            # The library's losses are defined on floats: no trial run (for an L2 penalty of a
            # wide model it would make tens of thousands of floats, held by the allocator).
            return op
        from gradengine.compile.cross_entropy import replay_operation

        op = replay_operation(node, op)
    _check_replayable(node, op)
    return op


def _numbered(root: Value) -> tuple[list[Value], dict[Value, int]]:
    """engine.topological_order(root), and each node's place in it.

    The same walk, whose record of the nodes seen is the dict of places itself (-1 until
    placed): no set of every node beside it. Keyed by the nodes (hashed by identity), not by
    their id(): no int object per node for its id, which for a wide layer's tens of thousands
    of weights would stay in the allocator.
    """
    order: list[Value] = []
    place: dict[Value, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if node is PARENTS_DONE:  # the node below it on the stack has all its parents in order
            node = stack.pop()
            place[node] = len(order)
            order.append(node)
        elif node not in place:
            place[node] = -1
            stack += [node, PARENTS_DONE, *[p for p in reversed(node._parents) if p not in place]]
    return order, place


def _describe_node(node: Value) -> str:
    label = f" labelled {node.label!r}" if node.label else ""
    return f"{type(node).__name__}(data={node.data!r}){label}"


class Recording:
    """A graph as positions: nodes in topological order, each with its operation and parents.

    ``kinds[i]`` is parameter, input, constant or node; ``slots[i]`` a leaf's position in the
    parameter, input or constant list; ``needs_grad[i]`` whether any parameter or input is
    under node i (only those nodes' gradients are computed).
    """

    def __init__(
        self,
        loss: Value,
        parameters: Sequence[Value],
        inputs: Sequence[Value],
        *,
        allow_unused: bool = False,
        input_grads: bool = True,
    ) -> None:
        if not isinstance(input_grads, bool):
            raise TypeError(f"input_grads must be True or False, got {type_name(input_grads)}")
        self.input_grads = input_grads
        if not isinstance(loss, Value):
            raise TypeError(f"compile_graph: loss must be a Value, got {type_name(loss)}")
        self.parameters = _leaf_list(parameters, "parameters")
        self.inputs = _leaf_list(inputs, "inputs")
        order, index = _numbered(loss)
        n = len(order)
        # Lists made at their size, not grown: for a wide layer's tens of thousands of weights,
        # each copy a growing list leaves behind stays in the process's heap.
        self.order = order
        self.kinds = kinds = [CONSTANT] * n
        # a leaf's place in the parameters, inputs or constants; -1 for a computed node
        self.slots = slots = array("l", [-1]) * n
        first_missing = _place_leaves(index, kinds, slots, self.parameters, self.inputs)
        self.operations = operations = [_v.LEAF] * n
        self.parents: list[tuple[int, ...]] = [()] * n
        self.constants: list[float] = []
        position_of = index.__getitem__
        for i, node in enumerate(order):
            op = node._operation
            parents = node._parents  # a neuron's are put together when read: read them once
            if parents:
                if op is _v.LEAF:
                    raise TypeError(
                        f"cannot compile {_describe_node(node)} (operation {node._op!r}): it "
                        "was made the lecture's way, Value(data, children, op), and its "
                        "derivatives are hidden in its _backward closure; define it as a "
                        "gradengine.Operation"
                    )
                if op not in _BUILT_IN:
                    op = _replayable(node, op)
                self.parents[i] = tuple(map(position_of, parents))
                kinds[i] = NODE
            elif kinds[i] == CONSTANT:
                slots[i] = len(self.constants)
                self.constants.append(node.data)
            operations[i] = op
        del index, position_of  # (the bound method holds the dict too)
        if first_missing is not None and not allow_unused:
            what, k, leaf = first_missing
            raise ValueError(
                f"{what}[{k}] ({_describe_node(leaf)}) is not in the graph of the loss: is the "
                "parameter list the model's? Pass allow_unused=True if it is meant to get no "
                "gradient"
            )
        wanted = (PARAMETER, INPUT) if input_grads else (PARAMETER,)
        needs = [kind in wanted for kind in self.kinds]
        needed = needs.__getitem__
        for i, ps in enumerate(self.parents):
            if ps and any(map(needed, ps)):
                needs[i] = True
        self.needs_grad = needs
        self.root = len(order) - 1
        self.output_data = loss.data

    def __len__(self) -> int:
        return len(self.kinds)  # kinds are kept when an engine lets the nodes go

    def operation_counts(self) -> Counter[str]:
        """How many interior nodes each operation has."""
        return Counter(
            op.name for op, kind in zip(self.operations, self.kinds, strict=True) if kind == NODE
        )

    def leaf_summary(self) -> str:
        counts = Counter(self.kinds)
        return (
            f"{len(self)} nodes: {counts[NODE]} computed, {counts[PARAMETER]} parameters, "
            f"{counts[INPUT]} inputs, {counts[CONSTANT]} constants"
        )


def _leaf_list(values: object, what: str) -> list[Value]:
    """values as a list of leaves (each once: see _place_leaves); TypeError or ValueError."""
    if values is None:
        return []
    if isinstance(values, Value) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of Values, got {type_name(values)}")
    out = list(values)
    for k, v in enumerate(out):
        if not isinstance(v, Value):
            raise TypeError(f"{what}[{k}] must be a Value, got {type_name(v)}")
        if v._parents:
            raise ValueError(
                f"{what}[{k}] was computed by operation {v._op!r}: {what} must be leaves "
                "(Values you made, such as a model's weights)"
            )
    return out


def _place_leaves(
    index: dict[Value, int],
    kinds: list[str],
    slots: MutableSequence[int],
    parameters: list[Value],
    inputs: list[Value],
) -> tuple[str, int, Value] | None:
    """kinds[i] and slots[i] of each parameter's and input's node i; ValueError for a leaf given
    twice. Returns the first leaf that is not in the graph (what, k, leaf), or None.

    A leaf's kind, once set, tells whether it was given before: no set of every leaf is made.
    """
    first_missing: tuple[str, int, Value] | None = None
    elsewhere: dict[Value, str] = {}  # the kinds of the leaves outside the graph (few)
    for kind, what, leaves in ((PARAMETER, "parameters", parameters), (INPUT, "inputs", inputs)):
        for k, leaf in enumerate(leaves):
            i = index.get(leaf, -1)
            if i >= 0:
                before = kinds[i]
                kinds[i], slots[i] = kind, k
            else:
                before = elsewhere.get(leaf, CONSTANT)
                elsewhere[leaf] = kind
                if first_missing is None:
                    first_missing = what, k, leaf
            if before == kind:
                raise ValueError(f"{what}[{k}] appears twice in {what}")
            if before == PARAMETER:
                raise ValueError(
                    f"inputs[{k}] is also one of the parameters: a leaf is one or other"
                )
    return first_missing


class Program:
    """A compiled graph: ``run(input_values)`` replays forward and backward; see the module doc."""

    def __init__(self, recording: Recording, backend: str, engine: Any) -> None:
        self.recording = recording
        self.backend = backend
        self._engine = engine
        self.parameters = recording.parameters
        self.inputs = recording.inputs

    def run(self, input_values: Sequence[float] | None = None) -> float:
        """Recompute the graph, add the gradients to the leaves' .grad; return the output value.

        ``input_values`` is a flat sequence of numbers, one per input given at compile time (the
        same shape as recorded); None takes the inputs' current ``.data``.
        """
        n = len(self.inputs)
        if input_values is None:
            values: Any = [x.data for x in self.inputs]
        else:
            values = _input_list(input_values, n)
        if is_anomaly_enabled():
            from gradengine.compile.anomalies import check

            check(self.recording, values)
        result: float = self._engine.run(values)
        return result

    step = run

    @property
    def source(self) -> str:
        """The code this program runs: the Python backend's generated Python itself, or a
        listing of the NumPy backend's array operations (forward, then backward)."""
        text: str = self._engine.source
        return text

    def __str__(self) -> str:
        rec = self.recording
        lines = [f"compiled program ({self.backend} backend), {rec.leaf_summary()}"]
        counts = rec.operation_counts()
        width = max((len(name) for name in counts), default=0)
        for name, count in sorted(counts.items(), key=lambda item: -item[1]):
            lines.append(f"  {name:<{width}}  x{count}")
        lines += self._engine.describe()
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Program: {len(self.recording)} nodes, {self.backend} backend>"


def _input_list(input_values: object, n: int) -> list[float]:
    """input_values as a list of n floats, checked as Value() checks its data."""
    if isinstance(input_values, (str, bytes, Mapping, AbstractSet)) or not isinstance(
        input_values, Iterable
    ):
        raise TypeError(
            f"input_values must be a flat sequence of {n} numbers (one per input recorded), "
            f"got {describe(input_values)}"
        )
    values = list(input_values)
    if len(values) != n:
        raise ValueError(
            f"expected {n} input values (one per input recorded), got {len(values)}: a batch "
            "of another shape needs a graph built and compiled for it"
        )
    if all(type(x) is float for x in values):
        return values
    return [as_float(x, f"input_values[{k}]") for k, x in enumerate(values)]


def _numpy_available() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def compile_graph(
    loss: Value,
    parameters: Sequence[Value],
    inputs: Sequence[Value] | None = None,
    *,
    backend: str = "auto",
    allow_unused: bool = False,
    input_grads: bool = True,
) -> Program:
    """Record the graph under ``loss`` once; the Program replays it (``program.run(inputs)``).

    ``parameters`` are the leaves that receive gradients and are read afresh on every run (their
    current ``.data``); ``inputs`` the leaves whose values each run takes from its argument, and
    whose ``.grad`` each run adds to as well, unless ``input_grads=False`` (a training loop that
    never reads them: the backward pass then stops at the parameters). Every other leaf is a
    constant. backend: "auto" (NumPy if installed), "python" or "numpy".
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    # The graph makes no reference cycles, nor does compiling it: left on, the cyclic collector
    # would walk every node of the graph again and again (digits, full batch: 2x slower).
    with paused_gc():
        return _compile(loss, parameters, inputs, backend, allow_unused, input_grads)


def _compile(
    loss: Value,
    parameters: Sequence[Value],
    inputs: Sequence[Value] | None,
    backend: str,
    allow_unused: bool,
    input_grads: bool,
) -> Program:
    recording = Recording(
        loss, parameters, inputs or [], allow_unused=allow_unused, input_grads=input_grads
    )
    if backend == "auto":
        backend = "numpy" if _numpy_available() else "python"
    engine: Any
    if backend == "python":
        from gradengine.compile.python import PythonEngine

        engine = PythonEngine(recording)
    else:
        from gradengine.compile.vector import NumpyEngine

        engine = NumpyEngine(recording)
    program = Program(recording, backend, engine)
    _check_reproduces(program, recording)
    return program


def _check_reproduces(program: Program, recording: Recording) -> None:
    """The replayed output at the recorded leaf data must be the recorded output."""
    got = program._engine.forward([x.data for x in recording.inputs])
    want = recording.output_data
    same = got == want or (math.isnan(got) and math.isnan(want))
    if not same and not math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-300):
        raise ValueError(
            f"the compiled program computes {got!r} where the graph holds {want!r}: a leaf's "
            ".data changed after the graph was built, or an operation's value function does not "
            "compute what its nodes hold"
        )
