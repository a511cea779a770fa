"""Batched replay: record the loss of ONE sample, replay it over a whole batch.

``compile_batched(sample, parameters, batch)`` calls ``sample(inputs)`` once, with one Value
per number of the first row of ``batch`` (a sample's inputs and its label), and records the
graph it returns: the sample's loss (and, if it returns ``(loss, outputs)``, the Values asked
for, such as the scores). Replaying it over N rows, as JAX's vmap does:

- a node that depends on the sample's inputs becomes a row: N numbers, one per sample (an array
  of length N on the NumPy backend, a list on the Python backend);
- a node of parameters only (an L2 penalty, say) stays one number;
- the weighted sums of a layer's neurons become one matrix product ``X[N x n] @ W[k x n].T + b``
  (NumPy backend);
- the batch's loss is the mean (``reduction="mean"``) or sum of the per-sample losses, plus the
  ``penalty``, a Value of the parameters only, counted once.

So recording and compiling cost the same for 100 samples or 100,000. A program returns what was
asked of it (``result.loss``, the per-sample ``result.losses`` and ``result.outputs``), not only
the loss, and keeps the parameters in an array between steps (``program.params``, the gradients
in ``program.grads``): the optimizers' ``step_arrays`` update them there, and
``store_parameters()`` gives the model's Values their numbers back.

A graph that reads ``.data`` in Python control flow can record differently for different
samples. Before replaying one recording for all, a few more rows are recorded and compared
(``check``); if any differs, the program falls back to recording every sample of the batch
(``compile_graph``), says so in ``print(program)``, and replays batches of that size only.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from gradengine.checks import type_name
from gradengine.compile import (
    BACKENDS,
    Program,
    compile_graph,
)
from gradengine.compile.sample_graph import JOIN, BatchResult, SampleGraph, rows_of
from gradengine.engine import Value, topological_order
from gradengine.fast import paused_gc

__all__ = ["BatchResult", "BatchedProgram", "compile_batched"]

REDUCTIONS = ("mean", "sum")

Sample = Callable[[list[Value]], "Value | tuple[Value, Sequence[Value]]"]


def _signature(root: Value, inputs: list[Value], parameters: AbstractSet[Value]) -> list[Any]:
    """The graph's shape: each computed node's operation and its parents, a parent named by
    its place among the computed nodes, as ("input", k), as itself (a parameter: the same Value
    in every sample's graph) or as ("constant", its number)."""
    code: dict[Value, Any] = {x: ("input", k) for k, x in enumerate(inputs)}
    shape: list[Any] = []
    for node in topological_order(root):
        parents = node._parents
        if not parents:
            if node not in code:
                code[node] = node if node in parameters else ("constant", node.data)
            continue
        op = node._operation
        key = op.__reduce_ex__(4) if hasattr(op, "kind") else id(op)
        shape.append((key, tuple(map(code.__getitem__, parents))))
        code[node] = len(shape)
    return shape


def _call(sample: Sample, row: Sequence[float]) -> tuple[list[Value], Value, list[Value]]:
    """(the inputs made for row, the loss sample returns for them, the outputs it returns)."""
    inputs = [Value(float(x)) for x in row]
    got = sample(inputs)
    if isinstance(got, Value):
        return inputs, got, []
    if isinstance(got, tuple) and len(got) == 2 and isinstance(got[0], Value):
        outputs: list[Any] = [got[1]] if isinstance(got[1], Value) else list(got[1])
        for k, o in enumerate(outputs):
            if not isinstance(o, Value):
                raise TypeError(f"sample's outputs[{k}] must be a Value, got {type_name(o)}")
        return inputs, got[0], outputs
    raise TypeError(
        "sample(inputs) must return the sample's loss (a Value) or (loss, outputs), "
        f"got {type_name(got)}"
    )


class BatchedProgram:
    """One sample's graph replayed over batches; see the module doc."""

    def __init__(
        self,
        sample: Sample,
        parameters: list[Value],
        width: int,
        backend: str,
        reduction: str,
        engine: Any,
        graph: SampleGraph | None,
        why: str = "",
    ) -> None:
        self.sample = sample
        self.parameters = parameters
        self.width = width  # numbers per row
        self.backend = backend
        self.reduction = reduction
        self._engine = engine
        self.graph = graph
        self.fallback_reason = why  # non-empty: every sample recorded (engine is a Program)
        self.params: Any = engine.new_parameters() if graph is not None else None
        self.grads: Any = None
        self.load_parameters()

    @property
    def batched(self) -> bool:
        """True when one sample's recording is replayed for every sample."""
        return self.graph is not None

    def load_parameters(self) -> None:
        """params := each parameter's .data (the model's numbers into the array)."""
        data = [p.data for p in self.parameters]
        if self.graph is None:
            self.params = data
        else:
            self._engine.set_parameters(self.params, data)

    def store_parameters(self) -> None:
        """Each parameter's .data := params, and its .grad := the last step's gradient."""
        data = [float(x) for x in self.params]
        grads = None if self.grads is None else [float(g) for g in self.grads]
        for k, p in enumerate(self.parameters):
            p.data = data[k]
            if grads is not None:
                p.grad = grads[k]

    def step(self, batch: object) -> BatchResult:
        """Loss and gradients of the batch at ``params``; the gradients into ``grads``."""
        return self._replay(batch, gradients=True)

    def forward(self, batch: object) -> BatchResult:
        """The loss, per-sample losses and outputs of the batch at ``params``; no gradients."""
        return self._replay(batch, gradients=False)

    def run(self, batch: object) -> BatchResult:
        """As Program.run: read the parameters' .data, replay, add the gradients to .grad."""
        self.load_parameters()
        result = self.step(batch)
        for p, g in zip(self.parameters, self.grads, strict=True):
            p.grad += float(g)
        return result

    def _replay(self, batch: object, *, gradients: bool) -> BatchResult:
        if self.graph is None:
            return self._replay_each(batch, gradients)
        data = self._engine.batch(batch, self.width)
        result: BatchResult
        with paused_gc():
            result, grads = self._engine.run(self.params, data, gradients, self.reduction)
        if gradients:
            self.grads = grads
        return result

    def _replay_each(self, batch: object, gradients: bool) -> BatchResult:
        """The fallback: today's Program over every sample's recording."""
        program: Program = self._engine
        rows = rows_of(batch, self.width)
        if len(rows) * self.width != len(program.inputs):
            raise ValueError(
                f"this program recorded every sample of a batch of "
                f"{len(program.inputs) // self.width} (its samples' graphs differ), "
                f"got {len(rows)} rows"
            )
        # The recording's leaves are the parameters' Values: lend them params, then restore them.
        kept = [(p.data, p.grad) for p in self.parameters]
        for p, x in zip(self.parameters, self.params, strict=True):
            p.data = x
            p.grad = 0.0
        losses, outputs = [], []
        try:
            loss = program.run([x for row in rows for x in row])
            if gradients:
                self.grads = [p.grad for p in self.parameters]
            for row in rows:  # each sample's loss and outputs, eagerly (the recording has none)
                _, sample_loss, outs = _call(self.sample, row)
                losses.append(sample_loss.data)
                outputs.append([o.data for o in outs])
        finally:
            for p, (data, grad) in zip(self.parameters, kept, strict=True):
                p.data, p.grad = data, grad
        columns = [list(col) for col in zip(*outputs, strict=True)] if outputs else []
        return BatchResult(loss, losses, columns)

    @property
    def source(self) -> str:
        """The code this program runs: the generated Python (the Python backend's loop over the
        samples, a per-sample program's replay), else print(program)'s account of the NumPy
        engine's array operations."""
        if self.graph is None:
            text: str = self._engine.source
            return text
        return getattr(self._engine, "source", "") or str(self)

    def __str__(self) -> str:
        if self.graph is None:
            return (
                f"per-sample recording ({self.backend} backend): {self.fallback_reason}; "
                f"every sample of the batch was recorded, and batches of "
                f"{len(self._engine.inputs) // self.width} rows replay\n{self._engine}"
            )
        graph = self.graph
        rows, once = graph.counts()
        rec = graph.rec
        lines = [
            f"batched program ({self.backend} backend): one sample's graph replayed over the batch",
            f"  per sample: {_count(len(rec.inputs), 'input')}, {_count(rows, 'node')} (a row "
            f"of N numbers each); parameters only: {_count(len(rec.parameters), 'parameter')}, "
            f"{_count(once, 'node')} (one number each)",
            f"  loss: the {self.reduction} over the samples of {graph.names[0]}"
            + ("" if graph.penalty < 0 else f", plus {graph.names[1]} once"),
            f"  outputs: {len(graph.outputs)} per sample",
        ]
        lines += ["  " + line for line in self._engine.describe()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        kind = "batched" if self.graph is not None else "per-sample"
        return f"<BatchedProgram: {kind}, {self.backend} backend>"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def compile_batched(
    sample: Sample,
    parameters: Sequence[Value],
    batch: object,
    *,
    penalty: Value | None = None,
    reduction: str = "mean",
    backend: str = "auto",
    check: int = 3,
) -> BatchedProgram:
    """Record ``sample(inputs)`` for the first row of batch, replay it over any batch.

    ``sample`` gets one Value per number of a row (a sample's inputs, then its label, say) and
    returns that sample's loss, or ``(loss, outputs)``. ``penalty`` is a Value of the parameters
    only, added once to the batch's loss. ``check`` more rows of batch are recorded to compare
    their graphs with the first's; if one differs the program records every row instead.
    """
    if not callable(sample):
        raise TypeError(
            f"sample must be a function of one sample's inputs, got {type_name(sample)}"
        )
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    if penalty is not None and not isinstance(penalty, Value):
        raise TypeError(f"penalty must be a Value (or None), got {type_name(penalty)}")
    if not isinstance(check, int) or isinstance(check, bool) or check < 0:
        raise ValueError(f"check must be an int >= 0, got {check!r}")
    params = list(parameters)
    if (
        isinstance(batch, (str, bytes))
        or not (hasattr(batch, "__len__") and hasattr(batch, "__getitem__"))
        or len(batch) == 0
    ):
        raise ValueError(
            "batch must be a non-empty sequence of rows (the sample recorded is its first), "
            f"got {type_name(batch)}"
        )
    n = len(batch)
    first = batch[0]
    width = len(first) if hasattr(first, "__len__") and not isinstance(first, str) else -1

    def row(s: int) -> list[float]:
        """Row s of batch as floats (only the rows recorded are read: no cost in N)."""
        r = batch[s]
        return rows_of([r.tolist() if hasattr(r, "tolist") else r], width, s)[0]

    if backend == "auto":
        backend = "numpy" if importlib.util.find_spec("numpy") is not None else "python"
    with paused_gc():
        row0 = row(0)
        picks = sorted({n - 1 - (k * (n - 1)) // max(check, 1) for k in range(check)} - {0})
        recorded = _record(sample, params, penalty, row0, row, picks)
        if isinstance(recorded, str):
            rows = rows_of(batch.tolist() if hasattr(batch, "tolist") else batch, width)
            return _per_sample(sample, params, rows, penalty, reduction, backend, recorded)
        graph = recorded
        penalty = None  # the graph holds positions only: the penalty's node can go now
    engine: Any
    if backend == "python":
        from gradengine.compile.batched_python import PythonBatched

        engine = PythonBatched(graph)
    else:
        from gradengine.compile.batched_numpy import NumpyBatched

        engine = NumpyBatched(graph)
    program = BatchedProgram(sample, params, width, backend, reduction, engine, graph)
    _check_reproduces(program, row0, graph.recorded_loss)
    return program


def _record(
    sample: Sample,
    params: list[Value],
    penalty: Value | None,
    row0: list[float],
    row: Callable[[int], list[float]],
    picks: list[int],
) -> SampleGraph | str:
    """The graph of sample(row0) as positions, or why rows picks record other graphs.

    The sample's Values are local here: once the recording holds their positions, returning
    drops them (a wide layer's local derivatives) before an engine is built.
    """
    inputs, loss, outputs = _call(sample, row0)
    if picks:
        parameters = set(params)
        shape = _signature(JOIN(loss, *outputs), inputs, parameters)
        for s in picks:
            other_inputs, other_loss, other_outputs = _call(sample, row(s))
            other = _signature(JOIN(other_loss, *other_outputs), other_inputs, parameters)
            if other != shape:
                return f"samples 0 and {s} record different graphs (data-dependent control flow)"
    return SampleGraph(loss, outputs, penalty, params, inputs)


def _per_sample(
    sample: Sample,
    params: list[Value],
    rows: list[list[float]],
    penalty: Value | None,
    reduction: str,
    backend: str,
    why: str,
) -> BatchedProgram:
    """The fallback program: every row's graph recorded, compiled by compile_graph."""
    inputs: list[Value] = []
    losses: list[Value] = []
    for row in rows:
        xs, loss, _ = _call(sample, row)
        inputs += xs
        losses.append(loss)
    total = losses[0]
    for loss in losses[1:]:
        total = total + loss
    if reduction == "mean":
        total = total / len(losses)
    if penalty is not None:
        total = total + penalty
    program = compile_graph(total, params, inputs, backend=backend, allow_unused=True)
    return BatchedProgram(sample, params, len(rows[0]), backend, reduction, program, None, why)


def _check_reproduces(program: BatchedProgram, row: list[float], want: float) -> None:
    """Replayed on the recorded row at the recorded parameters, the loss must be the graph's
    (want: the recorded sample's loss plus the penalty)."""
    got = program.forward([row]).loss
    if not (got == want or (math.isnan(got) and math.isnan(want))) and not math.isclose(
        got, want, rel_tol=1e-9, abs_tol=1e-300
    ):
        raise ValueError(
            f"the batched program computes {got!r} where the recorded sample's graph holds "
            f"{want!r}: an operation's value function does not compute what its nodes hold"
        )
