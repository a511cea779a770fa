"""Batched replay on NumPy: one sample's graph over N samples, a layer one matrix product.

The groups of plan.py (nodes of one operation at one level; chains of additions) are split into
rows and scalars. A group of k row nodes is one k x N block, a node's N numbers one row of it:
its operation runs once on its parents gathered as k x N blocks (a row) or k numbers (a scalar
parent, a column broadcast along the samples), with the very definition eager mode runs on
floats (``operation.value(NUMPY_M, ...)``). A layer's neurons (k weighted sums of one shared
input row, weights and biases of the parameters) are ``act([W b][k x n+1] @ [X; 1][n+1 x N])``.
Scalar nodes, the parameters among them, live in one flat array; an L2 penalty is one dot
product. Backward runs the groups in reverse: a block's gradient times each local derivative
goes back to its parents, summed over the samples for a scalar. A batch replays in tiles of
rows, each tile's forward and backward while its blocks are in the processor's cache.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any

import numpy as np

from gradengine.compile import CONSTANT, NODE, Recording
from gradengine.compile.batched_store import Context, Index, Operand
from gradengine.compile.plan import CHAIN, WEIGHTED, Group
from gradengine.compile.plan import groups as plan_groups
from gradengine.compile.sample_graph import BatchResult, SampleGraph, rows_of
from gradengine.compile.vector import NUMPY_M
from gradengine.engine import MUL, Operation


class M(NUMPY_M):
    """NUMPY_M, and √x (for x ** 0.5 and x ** -0.5) as floats.sqrt: nan below 0, -0.0 at -0.0."""

    @staticmethod
    def sqrt(x: Any) -> Any:
        return np.sqrt(x)


def _activate(name: str, z: Any) -> None:
    """z := act(z), in place; relu keeps a nan (as eager mode's z <= 0 test does)."""
    if name.startswith("relu"):
        np.maximum(z, 0.0, out=z)
    elif name.startswith("tanh"):
        np.tanh(z, out=z)
    elif name.startswith("sigmoid"):
        z[...] = M.sigmoid(z)


def _through_activation(name: str, g: Any, out: Any, ctx: Context, step: object) -> Any:
    """d(loss)/dz from d(loss)/d(out), in place in g (read by this step only); an inactive ReLU
    passes back g * 0.0, as eager mode."""
    if name.startswith("relu"):
        mask = ctx.buffer((step, "mask"), out.shape, np.bool_)
        np.not_equal(out, 0.0, out=mask)  # out = max(z, 0): not (out <= 0) is out != 0
        return np.multiply(g, mask, out=g)
    if name.startswith("tanh"):
        slope = ctx.buffer((step, "slope"), out.shape)
        np.multiply(out, out, out=slope)
        np.subtract(1.0, slope, out=slope)
        return np.multiply(slope, g, out=g)
    if name.startswith("sigmoid"):
        return np.multiply(g, out * (1.0 - out), out=g)
    return g


def _slice_or_index(positions: Any) -> Any:
    """positions of S as a slice when they run one after another (a view, not a gather)."""
    if len(positions) and np.array_equal(
        positions, np.arange(positions[0], positions[0] + len(positions))
    ):
        return slice(int(positions[0]), int(positions[0]) + len(positions))
    return positions


class _Step:
    """A group of nodes computed together: forward, then backward in reverse order."""

    is_row = False
    block = -1
    members: list[int] = []  # noqa: RUF012 - each step sets its own

    def forward(self, ctx: Context) -> None:
        raise NotImplementedError

    def backward(self, ctx: Context) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class _Elementwise(_Step):
    """k nodes of one operation: one call of its definition on N x k blocks (or k scalars)."""

    def __init__(
        self, op: Operation, members: list[int], operands: list[Operand], row: bool, sidx: Any
    ):
        self.op, self.members, self.operands, self.is_row = op, members, operands, row
        self.out_index = _slice_or_index(sidx[members])
        self.k = len(members)
        self.any_needed = any(operand.needed for operand in operands)

    def forward(self, ctx: Context) -> None:
        inputs = [operand.get(ctx) for operand in self.operands]
        out = self.op.value(M, *inputs)
        self.inputs, self.out = inputs, out
        if self.is_row:
            np.copyto(ctx.B[self.block], out)  # copyto broadcasts a scalar result
        else:
            ctx.S[self.out_index] = out

    def backward(self, ctx: Context) -> None:
        if self.is_row and not ctx.written[self.block]:
            return  # no gradient reached these nodes
        g = ctx.GB[self.block] if self.is_row else ctx.GS[self.out_index]
        if not self.any_needed:
            return
        local = self.op.derivatives(M, *self.inputs, self.out)
        for operand, d in zip(self.operands, local, strict=True):
            if operand.needed:  # g * 1.0 is g exactly: no copy for a sum's operands
                operand.add(ctx, g if type(d) is float and d == 1.0 else g * d)

    def describe(self) -> str:
        where = "a row per sample" if self.is_row else "parameters only, once"
        return f"{self.op.name} x{self.k}: {where}"


class _Layer(_Step):
    """k neurons of one shared input row: act([W b][k x n+1] @ [X; 1][n+1 x N]), the bias in
    the product (a row of ones under X)."""

    is_row = True

    def __init__(
        self, op: Operation, members: list[int], parents: list[tuple[int, ...]], x: Any, sidx: Any
    ):
        n = len(parents[0]) // 2
        self.op, self.n, self.k, self.members = op, n, len(members), members
        wb = [[*ps[1 : n + 1], ps[0]] for ps in parents]  # a neuron's (w1..wn, b)
        self.wb = Index(sidx[np.array(wb, dtype=np.intp).reshape(self.k, n + 1)])
        self.x: Operand = x

    def forward(self, ctx: Context) -> None:
        X1 = self.x.with_ones(ctx, self)
        WB = self.wb.get(ctx.S)
        self.X1, self.W = X1, WB[:, :-1]
        z = ctx.B[self.block]
        np.matmul(WB, X1, out=z)
        _activate(self.op.name, z)

    def backward(self, ctx: Context) -> None:
        if not ctx.written[self.block]:
            return
        gz = _through_activation(self.op.name, ctx.GB[self.block], ctx.B[self.block], ctx, self)
        self.wb.add(ctx.GS, gz @ self.X1.T)  # the weights' and the bias's gradients
        if self.x.needed:
            self.x.add_product(ctx, self.W.T, gz)

    def describe(self) -> str:
        n, k = self.n, self.k
        return f"{self.op.name} x{k}: X[N x {n}] @ W[{k} x {n}].T + b[{k}], one matrix product"


class _WeightedSums(_Step):
    """k weighted sums of other shapes: b + w1*x1 + ... + wn*xn on N x k blocks, left to right."""

    def __init__(
        self, op: Operation, members: list[int], operands: list[Operand], row: bool, sidx: Any
    ):
        self.op, self.members, self.operands, self.is_row = op, members, operands, row
        self.out_index = sidx[members]
        self.k, self.n = len(members), len(operands) // 2

    def forward(self, ctx: Context) -> None:
        xs = [operand.get(ctx) for operand in self.operands]
        n = self.n
        z = xs[0]
        for w, x in zip(xs[1 : n + 1], xs[n + 1 :], strict=True):
            z = z + w * x
        out = np.array(np.broadcast_to(z, (self.k, ctx.n) if self.is_row else (self.k,)))
        _activate(self.op.name, out)
        self.xs = xs
        if self.is_row:
            np.copyto(ctx.B[self.block], out)
        else:
            ctx.S[self.out_index] = out

    def backward(self, ctx: Context) -> None:
        if self.is_row:
            if not ctx.written[self.block]:
                return
            g, out = ctx.GB[self.block], ctx.B[self.block]
        else:
            g, out = ctx.GS[self.out_index], ctx.S[self.out_index]
        gz = _through_activation(self.op.name, g, out, ctx, self)
        n, xs = self.n, self.xs
        self.operands[0].add(ctx, gz)
        for j in range(n):
            self.operands[1 + j].add(ctx, gz * xs[n + 1 + j])
            self.operands[n + 1 + j].add(ctx, gz * xs[1 + j])

    def describe(self) -> str:
        where = "a row per sample" if self.is_row else "parameters only, once"
        return f"{self.op.name} x{self.k}: {self.n} multiply-adds on blocks, {where}"


class _Chain(_Step):
    """A chain of additions start + t1 + t2 + ...: its links as a running sum."""

    def __init__(self, members: list[int], start: Operand, terms: Operand, row: bool, sidx: Any):
        self.members, self.start, self.terms, self.is_row = members, start, terms, row
        self.out_index = _slice_or_index(sidx[members])
        self.both: Any = None

    def forward(self, ctx: Context) -> None:
        start, terms = self.start.get(ctx), self.terms.get(ctx)
        if self.is_row:
            start = np.broadcast_to(start, (1, ctx.n))
            terms = np.broadcast_to(terms, (len(self.members), ctx.n))
            both = np.concatenate([start, terms])
            np.copyto(ctx.B[self.block], np.cumsum(both, axis=0)[1:])
        else:
            both = self.both
            if both is None:
                both = self.both = np.empty(len(self.members) + 1)
            both[:1] = start
            both[1:] = terms
            ctx.S[self.out_index] = np.cumsum(both)[1:]

    def backward(self, ctx: Context) -> None:
        if self.is_row and not ctx.written[self.block]:
            return
        g = ctx.GB[self.block] if self.is_row else ctx.GS[self.out_index]
        # link j's gradient reaches start and every term up to j: a reversed running sum
        back = np.cumsum(g[::-1], axis=0)[::-1]
        self.terms.add(ctx, back)
        self.start.add(ctx, back[:1])

    def describe(self) -> str:
        where = "a row per sample" if self.is_row else "parameters only, once"
        return f"chain of {len(self.members)} additions: a running sum, {where}"


class _CrossEntropyRow(_Step):
    """One sample's softmax cross entropy over w logits and w targets, both rows: w x N arrays,
    summed over j left to right as losses.cross_entropy sums them."""

    is_row = True

    def __init__(self, members: list[int], logits: Operand, targets: Operand, w: int) -> None:
        self.members, self.logits, self.targets, self.w = members, logits, targets, w

    def forward(self, ctx: Context) -> None:
        Z, T = self.logits.get(ctx), self.targets.get(ctx)
        Z = np.broadcast_to(Z, (self.w, ctx.n))
        T = np.broadcast_to(T, (self.w, ctx.n))
        # ln Σ e^z = top + ln Σ e^(z - top): no e^(...) overflows; a nan anywhere gives nan
        top = Z.max(axis=0)
        E = np.exp(Z - top)
        total = np.add.reduce(E, axis=0)  # the rows one after another: left to right
        log_total = top + np.log(total)
        # t_j = 0 adds 0, even for z_j = -inf: one-hot targets pick z_c exactly
        weighted = np.where(T == 0, 0.0, T * Z)
        np.subtract(log_total, np.add.reduce(weighted, axis=0), out=ctx.B[self.block][0])
        self.Z, self.T, self.E, self.total = Z, T, E, total

    def backward(self, ctx: Context) -> None:
        if not ctx.written[self.block]:
            return
        g = ctx.GB[self.block]  # 1 x N
        if self.logits.needed:  # (p_j - t_j), p = softmax(z)
            self.logits.add(ctx, g * (self.E / self.total - self.T))
        if self.targets.needed:
            self.targets.add(ctx, g * -self.Z)

    def describe(self) -> str:
        return f"cross_entropy x1: softmax of Z[N x {self.w}], one array op each, a row per sample"


class _HingeRow(_Step):
    """One sample's hinge loss max(0, 1 - y s) of its score s and label y, both rows: a few array
    operations on 1 x N rows, with losses.hinge's conventions (nan stays nan; no gradient where
    1 - y s <= 0, or is nan)."""

    is_row = True

    def __init__(self, members: list[int], score: Operand, label: Operand) -> None:
        self.members, self.score, self.label = members, score, label

    def forward(self, ctx: Context) -> None:
        s, y = self.score.get(ctx), self.label.get(ctx)
        out = ctx.B[self.block]
        np.multiply(y, s, out=out)
        np.subtract(1.0, out, out=out)
        np.copyto(out, 0.0, where=out < 0)
        self.s, self.y = s, y

    def backward(self, ctx: Context) -> None:
        if not ctx.written[self.block]:
            return
        g = ctx.GB[self.block]  # 1 x N
        active = ctx.B[self.block] > 0  # 1 - y s > 0, as the loss's own test
        if self.score.needed:
            self.score.add(ctx, np.where(active, -self.y, 0.0) * g)
        if self.label.needed:
            self.label.add(ctx, np.where(active, -self.s, 0.0) * g)

    def describe(self) -> str:
        return "hinge x1: max(0, 1 - y s) on rows, a row per sample"


class _SquaredNorm(_Step):
    """An L2 penalty alpha * Σ p_i^2 over parameters only: one dot product."""

    def __init__(self, member: int, alpha: float, parents: tuple[int, ...], sidx: Any) -> None:
        self.member, self.alpha = int(sidx[member]), alpha
        self.p = Index(sidx[list(parents)])

    def forward(self, ctx: Context) -> None:
        p = self.p.get(ctx.S)
        ctx.S[self.member] = self.alpha * float(p @ p)

    def backward(self, ctx: Context) -> None:
        g = ctx.GS[self.member]
        self.p.add(ctx.GS, (g * 2.0 * self.alpha) * self.p.get(ctx.S))

    def describe(self) -> str:
        return f"l2 x1: alpha * p @ p over {self.p.idx.size} parameters, once"


class _SumOfSquares(_Step):
    """A chain of additions of squares a*a (and other terms) over parameters only, such as
    micrograd's ``alpha * sum(p*p for p in parameters)``: alpha (Σ others + a @ a), one dot
    product."""

    def __init__(
        self, member: int, alpha: float, bases: Index, needed: bool, others: Operand
    ) -> None:
        self.member, self.alpha, self.bases, self.needed = member, alpha, bases, needed
        self.others = others

    def forward(self, ctx: Context) -> None:
        a = self.bases.get(ctx.S)
        total = float(self.others.get(ctx).sum()) + float(a @ a)
        ctx.S[self.member] = total if self.alpha == 1.0 else self.alpha * total

    def backward(self, ctx: Context) -> None:
        g = ctx.GS[self.member] * self.alpha
        if self.needed:  # d(a*a)/da = a + a
            self.bases.add(ctx.GS, (2.0 * g) * self.bases.get(ctx.S))
        self.others.add(ctx, g)

    def describe(self) -> str:
        scaled = "" if self.alpha == 1.0 else f"{self.alpha!r} * "
        return f"sum of {self.bases.idx.size} squares: {scaled}a @ a, parameters only, once"


@dataclass
class _Squares:
    """A sum of squares found in a recording: its squares, the node it computes (the chain's
    last, or the product of that and a constant alpha) and alpha."""

    squares: list[int]
    out: int
    alpha: float


def _sums_of_squares(rec: Recording, groups: list[Group], row: list[bool]) -> dict[int, _Squares]:
    """Scalar chains of additions with at least 8 terms a*a, each used by its chain only:
    the chain's last node -> its sum of squares (computed as one dot product)."""
    uses = Counter(chain.from_iterable(rec.parents))
    users: dict[int, int] = {}  # a node used once -> its user
    for i, ps in enumerate(rec.parents):
        for p in ps:
            users[p] = i
    found: dict[int, _Squares] = {}
    for group in groups:
        if group.kind != CHAIN or any(row[i] for i in group.members):
            continue
        squares = [
            t
            for t in [group.start, *group.terms]
            if rec.operations[t] is MUL
            and rec.kinds[t] == NODE
            and rec.parents[t][0] == rec.parents[t][1]
            and uses[t] == 1
        ]
        if len(squares) < 8:
            continue
        last = group.members[-1]
        found[last] = _Squares(squares, last, 1.0)
        user = users.get(last, -1)
        if uses[last] == 1 and rec.operations[user] is MUL and user != rec.root:
            (factor,) = [p for p in rec.parents[user] if p != last] or [last]
            if rec.kinds[factor] == CONSTANT:  # alpha * sum: alpha is part of the step
                found[last] = _Squares(squares, user, rec.constants[rec.slots[factor]])
    return found


class NumpyBatched:
    """The NumPy engine of compile_batched (see the module doc)."""

    def __init__(self, graph: SampleGraph) -> None:
        rec: Recording = graph.rec
        self.graph = graph
        n_nodes = len(rec)
        row = list(graph.row)
        # S holds the parameters first (in their order: a layer's weights are then a strided
        # view), then one number for every other node, in the recording's order.
        n_params = len(rec.parameters)
        self.n_params = n_params
        sidx = np.empty(n_nodes, dtype=np.intp)
        others = np.ones(n_nodes, dtype=bool)
        for slot, i in enumerate(graph.parameter_nodes):
            if i >= 0:
                sidx[i] = slot
                others[i] = False
        sidx[others] = n_params + np.arange(int(others.sum()))
        self.sidx = sidx
        self.S = np.zeros(n_params + int(others.sum()))
        for i, (kind, slot) in enumerate(zip(rec.kinds, rec.slots, strict=True)):
            if kind == CONSTANT:
                self.S[sidx[i]] = rec.constants[slot]
        n_inputs = len(rec.inputs)
        place: dict[int, tuple[int, int]] = {}
        for slot, i in enumerate(graph.input_nodes):
            if i >= 0:
                place[i] = (0, slot)
        widths = [n_inputs]
        needs = rec.needs_grad
        self.steps: list[_Step] = []
        groups = [g for g in plan_groups(rec) if graph.root not in g.members]
        self.squares = _sums_of_squares(rec, groups, row)
        absorbed = {i for found in self.squares.values() for i in [*found.squares, found.out]}
        for group in groups:
            if absorbed and group.kind != CHAIN:
                kept = [k for k, i in enumerate(group.members) if i not in absorbed]
                if not kept:
                    continue
                members = [group.members[k] for k in kept]
                group = replace(group, members=members, parents=[group.parents[k] for k in kept])
            if group.kind == CHAIN and any(row[i] for i in group.members):
                for i in group.members:
                    row[i] = True
            for step in self._steps(group, row, place, widths, needs, rec):
                if step.is_row:
                    step.block = len(widths)
                    for c, i in enumerate(step.members):
                        place[i] = (step.block, c)
                    widths.append(len(step.members))
                self.steps.append(step)
        self.row = row
        self.place = place
        self.widths = widths
        self.GS = np.zeros_like(self.S)
        # a node of parameters only never depends on a row: scalars first, then rows
        self.scalar_steps = [step for step in self.steps if not step.is_row]
        self.row_steps = [step for step in self.steps if step.is_row]
        self.scalar_steps_reversed = self.scalar_steps[::-1]
        self.row_steps_reversed = self.row_steps[::-1]
        self._contexts: dict[int, Context] = {}
        # Rows replayed together: forward and backward of one tile at a time keep its blocks
        # in the core's cache (the widest 512 KB at most, 512 to 2,048 rows); at N = 10,000
        # and H = 256 the step is then ~20% faster than over whole-batch arrays, whose every
        # elementwise pass goes to memory.
        widest = max(widths[1:], default=1)  # of the blocks computed (the inputs are read)
        self.tile = 2 ** max(9, min(11, (65536 // widest).bit_length() - 1))
        graph.release()

    def _steps(
        self,
        group: Group,
        row: list[bool],
        place: dict[int, tuple[int, int]],
        widths: list[int],
        needs: list[bool],
        rec: Recording,
    ) -> list[_Step]:
        sidx = self.sidx

        def operand(ids: list[int], row_step: bool = True) -> Operand:
            return Operand(ids, row, place, widths, needs, sidx, row_step)

        if group.kind == CHAIN and group.members[-1] in self.squares:
            sos = self.squares[group.members[-1]]
            bases = [rec.parents[t][0] for t in sos.squares]
            others = [t for t in [group.start, *group.terms] if t not in sos.squares]
            needed = any(needs[i] for i in bases)
            out = int(sidx[sos.out])
            bases_at = Index(sidx[bases])
            return [_SumOfSquares(out, sos.alpha, bases_at, needed, operand(others, False))]
        if group.kind == CHAIN:
            is_row = row[group.members[-1]]
            start, terms = operand([group.start], is_row), operand(group.terms, is_row)
            return [_Chain(group.members, start, terms, is_row, sidx)]
        op = group.op
        found: list[_Step] = []
        for is_row in (False, True):
            members = [i for i in group.members if row[i] == is_row]
            if not members:
                continue
            parents = [rec.parents[i] for i in members]
            if (
                not is_row
                and len(members) == 1
                and getattr(op, "kind", "") == "l2"
                and len(parents[0]) == getattr(op, "size", 0) - 1
            ):
                alpha = dict(op.numbers)[0]  # type: ignore[attr-defined]
                found.append(_SquaredNorm(members[0], alpha, parents[0], sidx))
                continue
            kind = getattr(op, "kind", "")
            if (
                is_row
                and len(members) == 1
                and kind in ("cross_entropy", "hinge")
                and not getattr(op, "numbers", True)
                and len(parents[0]) == 2 * getattr(op, "width", 0)
            ):  # one sample's loss of its w predictions and w targets (a hinge's w is 1)
                w = len(parents[0]) // 2
                predicted, targets = operand(list(parents[0][:w])), operand(list(parents[0][w:]))
                if kind == "cross_entropy":
                    found.append(_CrossEntropyRow(members, predicted, targets, w))
                else:
                    found.append(_HingeRow(members, predicted, targets))
                continue
            if group.kind == WEIGHTED:
                n = len(parents[0]) // 2
                shared = all(ps[n + 1 :] == parents[0][n + 1 :] for ps in parents)
                scalar_weights = not any(row[p] for ps in parents for p in ps[: n + 1])
                if is_row and shared and scalar_weights:
                    x = operand(list(parents[0][n + 1 :]))
                    found.append(_Layer(op, members, parents, x, sidx))
                    continue
                columns = [operand([ps[j] for ps in parents], is_row) for j in range(2 * n + 1)]
                found.append(_WeightedSums(op, members, columns, is_row, sidx))
                continue
            arity = len(parents[0])
            columns = [operand([ps[j] for ps in parents], is_row) for j in range(arity)]
            found.append(_Elementwise(op, members, columns, is_row, sidx))
        return found

    # -- the interface of BatchedProgram --------------------------------------------------------

    def new_parameters(self) -> Any:
        return np.zeros(self.n_params)

    def set_parameters(self, params: Any, data: list[float]) -> None:
        params[:] = data

    def batch(self, batch: object, width: int) -> Any:
        """batch as an N x width float64 array; TypeError or ValueError saying what it is."""
        if not isinstance(batch, np.ndarray):
            return np.array(rows_of(batch, width), dtype=np.float64)
        if batch.ndim != 2 or batch.shape[1] != width or batch.shape[0] == 0:
            raise ValueError(
                f"batch must be N >= 1 rows of {width} numbers (one per input), "
                f"got an array of shape {batch.shape}"
            )
        return np.asarray(batch, dtype=np.float64)

    def _context(self, n: int) -> Context:
        """The buffers for tiles of n samples (the last four sizes are kept: a full tile and the
        last, for training and test batches)."""
        ctx = self._contexts.pop(n, None)
        if ctx is None:
            ctx = Context(self.S, self.GS, self.widths, n)
            if len(self._contexts) >= 4:
                self._contexts.pop(next(iter(self._contexts)))
        self._contexts[n] = ctx
        return ctx

    def run(
        self, params: Any, data: Any, gradients: bool, reduction: str
    ) -> tuple[BatchResult, Any]:
        with np.errstate(all="ignore"):  # inf and nan are results, as in eager mode
            return self._run(params, data, gradients, reduction)

    def _run(
        self, params: Any, data: Any, gradients: bool, reduction: str
    ) -> tuple[BatchResult, Any]:
        """Scalar steps forward; then, tile by tile, the row steps forward and backward; then
        the scalar steps backward (their gradients summed over every tile)."""
        graph, S, GS, tile = self.graph, self.S, self.GS, self.tile
        n = len(data)
        inputs = data.T  # an input's numbers one row, as in the blocks (a view: read once)
        S[: self.n_params] = params
        ctx = self._context(min(n, tile))
        for step in self.scalar_steps:
            step.forward(ctx)
        if gradients:
            GS.fill(0.0)
            if graph.penalty >= 0:
                GS[self.sidx[graph.penalty]] = 1.0
        b, c = self.place[graph.loss]
        seed = 1.0 / n if reduction == "mean" else 1.0
        losses = np.empty(n)
        outputs = [np.empty(n) for _ in graph.outputs]
        for start in range(0, n, tile):
            end = min(n, start + tile)
            if end - start != ctx.n:
                ctx = self._context(end - start)
            ctx.B[0] = inputs[:, start:end]
            for step in self.row_steps:
                step.forward(ctx)
            losses[start:end] = ctx.B[b][c]
            for out, i in zip(outputs, graph.outputs, strict=True):
                out[start:end] = self._row_of(ctx, i)
            if gradients:
                if not ctx.GB:  # the inputs' too: a loss may be one
                    ctx.GB = [np.empty((w, ctx.n)) for w in self.widths]
                ctx.written = [False] * len(self.widths)
                ctx.grad_of(b)[c] = seed
                for step in self.row_steps_reversed:
                    step.backward(ctx)
        total = float(losses.sum())
        loss = total / n if reduction == "mean" else total
        if graph.penalty >= 0:
            loss += float(S[self.sidx[graph.penalty]])
        result = BatchResult(loss, losses, outputs)
        if not gradients:
            return result, None
        for step in self.scalar_steps_reversed:
            step.backward(ctx)
        return result, GS[: self.n_params].copy()

    def _row_of(self, ctx: Context, i: int) -> Any:
        """Node i's numbers over the tile (a scalar node's one number)."""
        if self.row[i]:
            b, r = self.place[i]
            return ctx.B[b][r]
        return ctx.S[self.sidx[i]]

    def describe(self) -> list[str]:
        return [step.describe() for step in self.steps]
