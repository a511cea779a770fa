"""The NumPy backend: scalar nodes of one kind at one level of the graph, run as one array op.

The level of a leaf is 0, that of a node one more than its highest parent's. Nodes at the same
level never depend on each other, so the nodes of one level with the same operation (and the
same number of inputs) form a vector: their parents are gathered by index arrays, the operation
runs once on arrays (``operation.evaluate(NUMPY_M, arrays)``, the very definition eager mode runs
with floats), and backward scatters ``grad * local derivative`` back onto the parents.

Two shapes get more than that:

- weighted sums (a Layer's neurons, ``b + w1*x1 + ... + wn*xn``) of n inputs become a k x n
  matrix of weights times a k x n matrix of inputs, summed along each row left to right;
- a chain of additions such as ``sum(losses)`` (each link used only by the next) becomes one
  cumulative sum instead of one level per link.

Values equal eager mode's (sums run in eager mode's order); gradients sum a node's contributions
in another order, so they agree to rounding.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

try:
    import numpy as np
except ImportError as error:  # pragma: no cover - exercised without numpy only
    raise ImportError(
        "the NumPy backend of compiled mode needs NumPy: pip install numpy (or pip install "
        '".[bench]"), or compile with backend="python"'
    ) from error

from gradengine import ieee
from gradengine import value as v
from gradengine.compile import CONSTANT, INPUT, NODE, PARAMETER, Recording


class NUMPY_M:
    """The math namespace of value.py's operations, over float64 arrays (IEEE-754, no warnings)."""

    @staticmethod
    def divide(x: Any, y: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.divide(x, y)

    @staticmethod
    def power(x: Any, y: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.power(x, y)

    @staticmethod
    def exp(x: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.exp(x)

    @staticmethod
    def log(x: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.log(x)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        """1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: ieee.sigmoid's two branches."""
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(all="ignore"):
            e = np.exp(-np.abs(x))
            return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))

    @staticmethod
    def tanh(x: Any) -> Any:
        return np.tanh(x)

    @staticmethod
    def step(x: Any) -> Any:
        return np.where(np.asarray(x) <= 0, 0.0, 1.0)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        return np.where(condition, a, b)

    @staticmethod
    def real(x: Any) -> Any:
        return x


def _scatter_plan(index: Any) -> tuple[Any, Any | None]:
    """(target indices, None) when they are distinct, else (distinct targets, inverse map)."""
    unique, inverse = np.unique(index, return_inverse=True)
    if len(unique) == len(index):
        return index, None
    return unique, inverse.ravel()


def _scatter(grads: Any, plan: tuple[Any, Any | None], contributions: Any) -> None:
    """grads[index] += contributions, adding up repeated indices."""
    target, inverse = plan
    if inverse is None:
        grads[target] += contributions
        return
    if np.ndim(contributions) == 0:
        contributions = np.full(len(inverse), contributions)
    grads[target] += np.bincount(inverse, weights=contributions, minlength=len(target))


def _same(a: Any, b: Any) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(all="ignore"):
        close = (a == b) | (np.abs(a - b) <= 1e-9 * np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(close | both_nan))


class _Elementwise:
    """k nodes of one operation with the same number of inputs: one call on arrays."""

    def __init__(self, op: v.Operation, outs: list[int], parents: list[tuple[int, ...]]) -> None:
        self.op, self.name = op, op.name
        self.out = np.array(outs)
        self.cols = [np.array(col) for col in zip(*parents, strict=True)]
        self.plans = [_scatter_plan(col) for col in self.cols]
        self.scalar = False  # True: the operation runs with floats, node by node
        self.locals: list[Any] = []

    def check(self, data: Any) -> None:
        """Fall back to floats, node by node, if the operation does not work on arrays."""
        try:
            args = [data[c] for c in self.cols]
            result = self.op.evaluate(NUMPY_M, args)
            grads = self.op.local_grads(NUMPY_M, args, result)
            ok = len(grads) == len(self.cols) and _same(result, data[self.out])
            for g in grads:
                np.broadcast_to(np.asarray(g, dtype=np.float64), self.out.shape)
        except Exception:
            ok = False
        self.scalar = not ok

    def forward(self, V: Any, want_grads: bool) -> None:
        args = [V[c] for c in self.cols]
        if self.scalar:
            rows = list(zip(*(a.tolist() for a in args), strict=True))
            results = [float(self.op.evaluate(ieee, row)) for row in rows]
            V[self.out] = results
            if want_grads:
                grads = [
                    self.op.local_grads(ieee, row, r) for row, r in zip(rows, results, strict=True)
                ]
                self.locals = [np.array(col, dtype=np.float64) for col in zip(*grads, strict=True)]
            return
        result = self.op.evaluate(NUMPY_M, args)
        V[self.out] = result
        if want_grads:
            self.locals = list(self.op.local_grads(NUMPY_M, args, V[self.out]))

    def backward(self, G: Any) -> None:
        g = G[self.out]
        for plan, local in zip(self.plans, self.locals, strict=True):
            if isinstance(local, float) and local == 1.0:
                _scatter(G, plan, g)
            else:
                _scatter(G, plan, g * local)

    def describe(self) -> str:
        how = "floats, node by node" if self.scalar else "one array op"
        n = len(self.cols)
        return f"{self.name} x{len(self.out)} ({n} input{'s' if n != 1 else ''} each): {how}"


class _WeightedSums:
    """k weighted sums of n inputs each: b[k] + rows of W[k x n] * X[k x n], left to right."""

    def __init__(self, op: v.Operation, outs: list[int], parents: list[tuple[int, ...]]) -> None:
        self.op, self.relu = op, op is v.RELU_WEIGHTED_SUM
        n = len(parents[0]) // 2
        self.n = n
        idx = np.array(parents)
        self.out = np.array(outs)
        # Transposed, n x k: row j holds the j-th weight (input) of every neuron, contiguous.
        self.b, self.w, self.x = idx[:, 0], idx[:, 1 : n + 1].T.copy(), idx[:, n + 1 :].T.copy()
        self.plans = [
            _scatter_plan(self.b),
            _scatter_plan(self.w.ravel()),
            _scatter_plan(self.x.ravel()),
        ]
        self.distinct_weight_rows = len({tuple(row) for row in self.w.T.tolist()})
        self.terms = np.empty((n + 1, len(outs)))
        self.V: Any = None  # the engine's array of values, set by NumpyEngine
        self.matrix = self._matrix_plan(idx, outs)
        self.used_matrix = False

    def _matrix_plan(self, idx: Any, outs: list[int]) -> dict[str, Any] | None:
        """If every neuron is one of r (bias, weights) rows applied to one of s input rows, each
        pair once: index arrays for Z[s x r] = X[s x n] @ W[r x n].T + b[r], else None."""
        n = self.n
        weight_rows: dict[tuple[int, ...], int] = {}
        input_rows: dict[tuple[int, ...], int] = {}
        pairs: dict[tuple[int, int], int] = {}
        for row, out in zip(idx.tolist(), outs, strict=True):
            r = weight_rows.setdefault(tuple(row[: n + 1]), len(weight_rows))
            s = input_rows.setdefault(tuple(row[n + 1 :]), len(input_rows))
            pairs[(s, r)] = out
        k = len(outs)
        if len(weight_rows) * len(input_rows) != k or len(pairs) != k or len(weight_rows) == k:
            return None
        out_index = np.empty((len(input_rows), len(weight_rows)), dtype=np.intp)
        for (s, r), out in pairs.items():
            out_index[s, r] = out
        b = np.array([key[0] for key in weight_rows], dtype=np.intp)
        w = np.array([key[1:] for key in weight_rows], dtype=np.intp).reshape(len(weight_rows), n)
        x = np.array(list(input_rows), dtype=np.intp).reshape(len(input_rows), n)
        return {
            "b": b,
            "w": w,
            "x": x,
            "out": out_index,
            "plans": [_scatter_plan(b), _scatter_plan(w.ravel()), _scatter_plan(x.ravel())],
        }

    def forward(self, V: Any, want_grads: bool) -> None:
        plan = self.matrix
        if plan is not None:
            Xm, Wm = V[plan["x"]], V[plan["w"]]
            # inf or nan: the row sums below keep an inactive neuron's 0 derivatives exact
            if np.isfinite(Xm).all() and np.isfinite(Wm).all():
                self.used_matrix = True
                self.Xm, self.Wm = Xm, Wm
                z = Xm @ Wm.T + V[plan["b"]]
                V[plan["out"]] = np.where(z <= 0, 0.0, z) if self.relu else z
                return
        self.used_matrix = False
        W, X = V[self.w], V[self.x]
        self.W, self.X = W, X
        terms = self.terms
        terms[0] = V[self.b]
        np.multiply(W, X, out=terms[1:])
        z = np.add.accumulate(terms, axis=0)[-1]  # b + w1*x1 + ... in eager mode's order
        V[self.out] = np.where(z <= 0, 0.0, z) if self.relu else z

    def backward(self, G: Any) -> None:
        if self.used_matrix:
            plan = self.matrix
            assert plan is not None
            gz = G[plan["out"]]
            if self.relu:
                gz = np.where(self.V[plan["out"]] <= 0, gz * 0.0, gz)
            _scatter(G, plan["plans"][0], gz.sum(axis=0))
            _scatter(G, plan["plans"][1], (gz.T @ self.Xm).ravel())
            _scatter(G, plan["plans"][2], (gz @ self.Wm).ravel())
            return
        g = G[self.out]
        gb, gw, gx = g, g * self.X, g * self.W
        if self.relu:
            # An inactive neuron's derivatives are 0.0 (so 0, or nan if grad is not finite).
            active = ~(self.V[self.out] <= 0)
            zero = g * 0.0
            gb = np.where(active, g, zero)
            gw = np.where(active, gw, zero)
            gx = np.where(active, gx, zero)
        _scatter(G, self.plans[0], gb)
        _scatter(G, self.plans[1], gw.ravel())
        _scatter(G, self.plans[2], gx.ravel())

    def describe(self) -> str:
        k, n = len(self.out), self.n
        replaced = f"replaces {k} nodes ({k * n} scalar multiply-adds)"
        if self.matrix is not None:
            s, r = self.matrix["out"].shape
            return (
                f"{self.op.name} x{k} as a matrix product: X[{s}x{n}] @ W[{r}x{n}].T + b[{r}] "
                f"-> [{s}x{r}] (row sums of W[{k}x{n}] * X[{k}x{n}] if inf or nan); {replaced}"
            )
        return (
            f"{self.op.name} x{k}: W[{k}x{n}] * X[{k}x{n}] summed along rows + b[{k}]; {replaced}"
        )


class _SumChain:
    """s + t1 + t2 + ... + tk as k additions, each used only by the next: one cumulative sum."""

    def __init__(self, nodes: list[int], start: int, terms: list[int]) -> None:
        self.out = np.array(nodes)
        self.last = nodes[-1]
        self.start = start
        self.terms = np.array(terms)
        self.plan = _scatter_plan(np.array([start, *terms]))
        self.buffer = np.empty(len(terms) + 1)

    def forward(self, V: Any, want_grads: bool) -> None:
        buffer = self.buffer
        buffer[0] = V[self.start]
        buffer[1:] = V[self.terms]
        V[self.out] = np.add.accumulate(buffer)[1:]

    def backward(self, G: Any) -> None:
        _scatter(G, self.plan, np.full(len(self.terms) + 1, G[self.last]))

    def describe(self) -> str:
        k = len(self.terms)
        return (
            f"+ chain of {k} additions (such as sum(losses)): one cumulative sum over {k + 1} terms"
        )


def _chains(rec: Recording) -> dict[int, list[int]]:
    """Chains of additions: last node -> its nodes, each the left operand of the next."""
    uses = [0] * len(rec)
    for ps in rec.parents:
        for p in ps:
            uses[p] += 1
    is_add = [
        op is v.ADD and kind == NODE for op, kind in zip(rec.operations, rec.kinds, strict=True)
    ]
    follows: dict[int, int] = {}  # link -> the addition that continues it
    for i, ps in enumerate(rec.parents):
        if is_add[i]:
            left, right = ps
            if is_add[left] and uses[left] == 1 and left != right:
                follows[left] = i
    continued = set(follows.values())
    chains: dict[int, list[int]] = {}
    for head in range(len(rec)):
        if is_add[head] and head in follows and head not in continued:
            nodes = [head]
            while nodes[-1] in follows:
                nodes.append(follows[nodes[-1]])
            if len(nodes) >= 3:
                chains[nodes[-1]] = nodes
    return chains


class NumpyEngine:
    """Runs a recording level by level, each level's groups as array operations."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        n = len(rec)
        chains = _chains(rec)
        in_chain = {node for nodes in chains.values() for node in nodes[:-1]}
        level = [0] * n
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        self.steps: list[Any] = []
        pending: list[tuple[int, Any]] = []
        for i, (op, ps, kind) in enumerate(
            zip(rec.operations, rec.parents, rec.kinds, strict=True)
        ):
            if kind != NODE or i in in_chain:
                continue
            if i in chains:
                nodes = chains[i]
                start = rec.parents[nodes[0]][0]
                terms = [rec.parents[j][1] for j in nodes]
                lv = 1 + max(level[p] for p in [start, *terms])
                for j in nodes:
                    level[j] = lv
                pending.append((lv, _SumChain(nodes, start, terms)))
                continue
            level[i] = 1 + max(level[p] for p in ps)
            groups[(level[i], id(op), len(ps))].append(i)
        data = np.array([node.data for node in rec.order], dtype=np.float64)
        for (lv, _, _), members in groups.items():
            op = rec.operations[members[0]]
            parents = [rec.parents[i] for i in members]
            step: Any
            if op is v.WEIGHTED_SUM or op is v.RELU_WEIGHTED_SUM:
                step = _WeightedSums(op, members, parents)
            else:
                step = _Elementwise(op, members, parents)
                with np.errstate(all="ignore"):
                    step.check(data)
            pending.append((lv, step))
        pending.sort(key=lambda item: item[0])
        self.steps = [step for _, step in pending]
        self.levels = [lv for lv, _ in pending]
        self.V = np.array(data)
        for step in self.steps:
            step.V = self.V
        self.param_nodes = np.array(
            [i for i, kind in enumerate(rec.kinds) if kind == PARAMETER], dtype=np.intp
        )
        self.param_slots = [rec.slots[i] for i in self.param_nodes]
        self.input_nodes = np.array(
            [i for i, kind in enumerate(rec.kinds) if kind == INPUT], dtype=np.intp
        )
        self.input_slots = np.array([rec.slots[i] for i in self.input_nodes], dtype=np.intp)
        self.used_params = [rec.parameters[k] for k in self.param_slots]
        self.used_inputs = [rec.inputs[k] for k in self.input_slots.tolist()]
        const_nodes = [i for i, kind in enumerate(rec.kinds) if kind == CONSTANT]
        self.V[const_nodes] = [rec.constants[rec.slots[i]] for i in const_nodes]

    def _load(self, values: Any) -> None:
        V = self.V
        V[self.param_nodes] = [p.data for p in self.used_params]
        if len(self.input_nodes):
            V[self.input_nodes] = np.asarray(values, dtype=np.float64)[self.input_slots]

    def forward(self, values: Any) -> float:
        with np.errstate(all="ignore"):  # inf and nan propagate as IEEE-754 says, silently
            return self._forward(values)

    def _forward(self, values: Any) -> float:
        self._load(values)
        for step in self.steps:
            step.forward(self.V, False)
        return float(self.V[self.rec.root])

    def run(self, values: Any) -> float:
        with np.errstate(all="ignore"):
            return self._run(values)

    def _run(self, values: Any) -> float:
        self._load(values)
        V = self.V
        for step in self.steps:
            step.forward(V, True)
        G = np.zeros(len(V))
        G[self.rec.root] = 1.0
        for step in reversed(self.steps):
            step.backward(G)
        for p, g in zip(self.used_params, G[self.param_nodes].tolist(), strict=True):
            p.grad += g
        for x, g in zip(self.used_inputs, G[self.input_nodes].tolist(), strict=True):
            x.grad += g
        return float(V[self.rec.root])

    def describe(self) -> list[str]:
        lines = [f"  as {len(self.steps)} array operations per pass, level by level:"]
        for lv, step in zip(self.levels, self.steps, strict=True):
            lines.append(f"    level {lv}: {step.describe()}")
        return lines


_ = math
