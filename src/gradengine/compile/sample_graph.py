"""One sample's recording, as the batched engines read it: which nodes are rows (depend on the
sample), where the loss, penalty and outputs are; what a replay returns; a batch as rows."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradengine.checks import type_name
from gradengine.compile import INPUT, NODE, PARAMETER, Recording
from gradengine.engine import Operation, Value

# The recording's root joins the loss, the penalty and the outputs; it is never computed.
JOIN = Operation("batch", lambda m, *xs: 0.0, lambda m, *xs_and_out: (0.0,) * (len(xs_and_out) - 1))


@dataclass
class BatchResult:
    """What one replay computed: the batch's loss, each sample's loss, each output's row."""

    loss: float
    losses: Any  # N numbers: an array (NumPy backend) or a list
    outputs: list[Any]  # one row of N numbers per output asked for


class SampleGraph:
    """One sample's recording, and which of its nodes are rows (depend on the sample)."""

    def __init__(
        self,
        loss: Value,
        outputs: Sequence[Value],
        penalty: Value | None,
        parameters: Sequence[Value],
        inputs: Sequence[Value],
    ) -> None:
        parts = [loss, *([] if penalty is None else [penalty]), *outputs]
        root = JOIN(*parts)
        rec = Recording(root, parameters, inputs, allow_unused=True, input_grads=False)
        self.rec = rec
        self.root = rec.root
        joined = rec.parents[rec.root]  # the loss, the penalty, the outputs: in that order
        self.loss = joined[0]
        self.penalty = -1 if penalty is None else joined[1]
        self.outputs = list(joined[1 if penalty is None else 2 :])
        # the node of each parameter and input (-1: not in the graph), as machine integers
        self.parameter_nodes = array("l", [-1]) * len(rec.parameters)
        self.input_nodes = array("l", [-1]) * len(rec.inputs)
        for i, (kind, slot) in enumerate(zip(rec.kinds, rec.slots, strict=True)):
            if kind == PARAMETER:
                self.parameter_nodes[slot] = i
            elif kind == INPUT:
                self.input_nodes[slot] = i
        row = [False] * len(rec)
        for i in self.input_nodes:
            if i >= 0:
                row[i] = True
        for i, ps in enumerate(rec.parents):
            if ps and i != rec.root and any(row[p] for p in ps):
                row[i] = True
        self.row = row
        if not row[self.loss]:
            raise ValueError(
                "the loss of one sample does not depend on its inputs: record the loss of one "
                "sample, its inputs (and label) as the Values `sample` is given"
            )
        self.names = [rec.operations[i].name for i in joined]  # what print(program) names
        self._counts: tuple[int, int] | None = None
        self.recorded_loss = loss.data + (0.0 if penalty is None else penalty.data)
        # The engines read positions only: without the nodes, the sample's Values (a layer's
        # local derivatives, the penalty's) can be freed before an engine is built.
        rec.order = []

    def release(self) -> None:
        """Free the recording's node-by-node lists once an engine holds the plan in arrays
        (tens of MB for a layer of 256 neurons); what print(program) reads is kept."""
        self._counts = self.counts()
        rec = self.rec
        rec.order, rec.parents, rec.constants, rec.needs_grad = [], [], [], []
        rec.operations, rec.kinds, self.row = [], [], []
        rec.slots = array("l")

    def counts(self) -> tuple[int, int]:
        """(nodes computed per sample, nodes computed once: of the parameters only)."""
        if self._counts is not None:
            return self._counts
        computed = [i for i, kind in enumerate(self.rec.kinds) if kind == NODE and i != self.root]
        rows = sum(1 for i in computed if self.row[i])
        return rows, len(computed) - rows


def rows_of(batch: object, width: int, first: int = 0) -> list[list[float]]:
    """batch as a list of rows of `width` floats; TypeError or ValueError naming the row (the
    first of them is batch[first])."""
    if hasattr(batch, "tolist"):
        batch = batch.tolist()
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
        raise TypeError(f"batch must be a sequence of rows of numbers, got {type_name(batch)}")
    rows: list[list[float]] = []
    for s, row in enumerate(batch, first):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise TypeError(f"batch[{s}] must be a row of {width} numbers, got {type_name(row)}")
        if len(row) != width:
            raise ValueError(
                f"batch[{s}] has {len(row)} numbers; each row needs {width} (one per input)"
            )
        try:
            rows.append([float(x) for x in row])
        except (TypeError, ValueError):
            raise TypeError(f"batch[{s}] must hold numbers, got {row!r:.60}") from None
    if not rows:
        raise ValueError("batch is empty: it needs at least one row")
    return rows
