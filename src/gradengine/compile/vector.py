"""The NumPy backend: scalar nodes of one kind at one level of the graph, run as one array op.

The level of a leaf is 0, that of a node one more than its highest parent's. Nodes at the same
level never depend on each other, so the nodes of one level with the same operation (and the
same number of inputs) form a vector: their parents are gathered by index arrays, the operation
runs once on arrays (``operation.value(NUMPY_M, *arrays)``, the very definition eager mode runs
with floats), and backward scatters ``grad * local derivative`` back onto the parents.

Two shapes get more than that:

- weighted sums (a Layer's neurons, ``b + w1*x1 + ... + wn*xn``) of n inputs become a k x n
  matrix of weights times a k x n matrix of inputs, summed along each row left to right;
- a chain of additions such as ``sum(losses)`` (each link used only by the next) becomes one
  cumulative sum instead of one level per link.

Values and gradients agree with eager mode's to rounding, not bit for bit: a matrix product
(BLAS) and NumPy's exp and log round differently from Python's floats, and gradients add a
node's contributions in another order. Row sums and chains add in eager mode's order.
"""

from __future__ import annotations

from typing import Any

try:
    import numpy as np
except ImportError as error:  # pragma: no cover - exercised without numpy only
    raise ImportError(
        "the NumPy backend of compiled mode needs NumPy: pip install numpy (or pip install "
        '".[bench]"), or compile with backend="python"'
    ) from error

from gradengine import engine as v
from gradengine import fast
from gradengine.compile import CONSTANT, INPUT, PARAMETER, Recording
from gradengine.compile.cross_entropy import CrossEntropy
from gradengine.compile.plan import CHAIN, LINEAR_WEIGHTED_SUMS, matrix_plan
from gradengine.compile.plan import groups as plan_groups
from gradengine.engine import floats


class NUMPY_M:
    """The namespace m of engine.py's operations, over float64 arrays (IEEE-754, no warnings)."""

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
    def log1p(x: Any) -> Any:
        with np.errstate(all="ignore"):
            return np.log1p(x)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        """1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below: floats.sigmoid's two branches."""
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


def _close(a: Any, b: Any) -> Any:
    """Elementwise: equal, both nan, or within 1e-9 of each other relatively."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(all="ignore"):
        close = (a == b) | (np.abs(a - b) <= 1e-9 * np.maximum(np.abs(a), np.abs(b)))
    return close | both_nan


def _same(a: Any, b: Any) -> bool:
    return bool(np.all(_close(a, b)))


class _Elementwise:
    """k nodes of one operation with the same number of inputs: one call on arrays."""

    def __init__(self, op: v.Operation, outs: list[int], parents: list[tuple[int, ...]]) -> None:
        self.op, self.name = op, op.name
        self.out = np.array(outs)
        self.cols = [np.array(col) for col in zip(*parents, strict=True)]
        self.plans = [_scatter_plan(col) for col in self.cols]
        self.scalar = False  # True: the operation runs with floats, node by node
        self.fallback: str | None = None  # why it does, when it does
        self.locals: list[Any] = []
        self.wanted = [True] * len(self.cols)

    def keep_needed(self, needs: Any) -> None:
        """Send gradient only to the parents that need one (not to constants)."""
        self.wanted = [bool(needs[col].any()) for col in self.cols]

    def check(self, data: Any) -> None:
        """Fall back to floats, node by node, if the operation does not work on arrays or its
        array values or derivatives are not eager mode's (self.fallback then says why)."""
        try:
            self.fallback = self._array_problem(data)
        except Exception as error:
            self.fallback = f"it fails on arrays ({type(error).__name__}: {error})"
        self.scalar = self.fallback is not None

    def _array_problem(self, data: Any) -> str | None:
        """Why the array operation's values or derivatives differ from eager mode's, or None."""
        args = [data[c] for c in self.cols]
        result = self.op.value(NUMPY_M, *args)
        grads = tuple(self.op.derivatives(NUMPY_M, *args, result))
        if len(grads) != len(self.cols):
            return f"its derivatives on arrays are {len(grads)} values for {len(self.cols)} inputs"
        result = np.broadcast_to(np.asarray(result, dtype=np.float64), self.out.shape)
        wanted = data[self.out]
        if not _same(result, wanted):
            k = int(np.argmax(~_close(result, wanted)))
            return (
                f"its array value {float(result[k])!r} is not eager mode's {float(wanted[k])!r} "
                f"(node {int(self.out[k])})"
            )
        arrays = [np.broadcast_to(np.asarray(g, dtype=np.float64), self.out.shape) for g in grads]
        for k, node in enumerate(self.out.tolist()):
            row = [float(a[k]) for a in args]
            expected = tuple(self.op.derivatives(floats, *row, float(wanted[k])))
            for j, (g, e) in enumerate(zip(arrays, expected, strict=True)):
                if not _same(g[k], float(e)):
                    return (
                        f"its array derivative in input {j + 1}, {float(g[k])!r}, is not eager "
                        f"mode's {float(e)!r} (node {node})"
                    )
        return None

    def forward(self, V: Any, want_grads: bool) -> None:
        args = [V[c] for c in self.cols]
        if self.scalar:
            rows = list(zip(*(a.tolist() for a in args), strict=True))
            results = [float(self.op.value(floats, *row)) for row in rows]
            V[self.out] = results
            if want_grads:
                grads = [
                    tuple(self.op.derivatives(floats, *row, r))
                    for row, r in zip(rows, results, strict=True)
                ]
                self.locals = [np.array(col, dtype=np.float64) for col in zip(*grads, strict=True)]
            return
        result = self.op.value(NUMPY_M, *args)
        V[self.out] = result
        if want_grads:
            self.locals = list(self.op.derivatives(NUMPY_M, *args, V[self.out]))

    def backward(self, G: Any) -> None:
        g = G[self.out]
        for plan, local, wanted in zip(self.plans, self.locals, self.wanted, strict=True):
            if not wanted:
                continue
            if isinstance(local, float) and local == 1.0:
                _scatter(G, plan, g)
            else:
                _scatter(G, plan, g * local)

    def describe(self) -> str:
        how = f"floats, node by node: {self.fallback}" if self.scalar else "one array op"
        n = len(self.cols)
        return f"{self.name} x{len(self.out)} ({n} input{'s' if n != 1 else ''} each): {how}"


class _WeightedSums:
    """k weighted sums of n inputs each: b[k] + rows of W[k x n] * X[k x n], left to right."""

    def __init__(self, op: v.Operation, outs: list[int], parents: list[tuple[int, ...]]) -> None:
        self.op, self.relu = op, op is fast.RELU_WEIGHTED_SUM
        n = len(parents[0]) // 2
        self.n = n
        self.parents = parents
        self.out = np.array(outs)
        self.V: Any = None  # the engine's array of values, set by NumpyEngine
        self.matrix = self._matrix_plan(parents, outs)
        self.used_matrix = False
        self.rows_planned = False
        self.wanted = [True, True, True]  # bias, weights, inputs: any of them needs a gradient
        if self.matrix is None:
            self._plan_rows()

    def keep_needed(self, needs: Any) -> None:
        columns = np.array(self.parents, dtype=np.intp)
        n = self.n
        self.wanted = [
            bool(needs[columns[:, 0]].any()),
            bool(needs[columns[:, 1 : n + 1]].any()),
            bool(needs[columns[:, n + 1 :]].any()),
        ]

    def _plan_rows(self) -> None:
        """Index arrays for the row sums (for a matrix product, made when inf or nan first
        needs them: for a big layer their scatter plans take longer than the rest)."""
        n = self.n
        idx = np.array(self.parents)
        # Transposed, n x k: row j holds the j-th weight (input) of every neuron, contiguous.
        self.b, self.w, self.x = idx[:, 0], idx[:, 1 : n + 1].T.copy(), idx[:, n + 1 :].T.copy()
        self.plans = [
            _scatter_plan(self.b),
            _scatter_plan(self.w.ravel()),
            _scatter_plan(self.x.ravel()),
        ]
        self.terms = np.empty((n + 1, len(self.out)))
        self.rows_planned = True

    def _matrix_plan(
        self, parents: list[tuple[int, ...]], outs: list[int]
    ) -> dict[str, Any] | None:
        """Index arrays for Z[s x r] = X[s x n] @ W[r x n].T + b[r] (plan.matrix_plan), or None."""
        found = matrix_plan(parents, outs)
        if found is None:
            return None
        n = self.n
        b = np.array(found.bias, dtype=np.intp)
        w = np.array(found.weights, dtype=np.intp).reshape(len(found.bias), n)
        x = np.array(found.inputs, dtype=np.intp).reshape(len(found.inputs), n)
        return {
            "b": b,
            "w": w,
            "x": x,
            "out": np.array(found.out, dtype=np.intp),
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
        if not self.rows_planned:
            self._plan_rows()
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
            wanted = self.wanted
            if wanted[0]:
                _scatter(G, plan["plans"][0], gz.sum(axis=0))
            if wanted[1]:
                _scatter(G, plan["plans"][1], (gz.T @ self.Xm).ravel())
            if wanted[2]:
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
        for k, contributions in enumerate((gb, gw, gx)):
            if self.wanted[k]:
                _scatter(G, self.plans[k], contributions.ravel())

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


class _CrossEntropy:
    """losses.cross_entropy over an n x w matrix of logits: softmax rows, one array op each."""

    def __init__(self, op: CrossEntropy, out: int, parents: tuple[int, ...]) -> None:
        n, w = len(op.classes), op.width
        self.n, self.w = n, w
        self.out = out
        self.index = np.array(parents, dtype=np.intp).reshape(n, w)
        self.rows = np.arange(n)
        self.classes = np.array(op.classes, dtype=np.intp)
        self.plan = _scatter_plan(self.index.ravel())
        self.local: Any = None

    def forward(self, V: Any, want_grads: bool) -> None:
        Z = V[self.index]
        top = Z.max(axis=1)
        E = np.exp(Z - top[:, None])
        total = E[:, 0].copy()
        for j in range(1, self.w):  # left to right, as eager mode sums each row
            total += E[:, j]
        losses = top + np.log(total) - Z[self.rows, self.classes]
        V[self.out] = np.add.accumulate(losses)[-1] / self.n
        if want_grads:
            P = E / total[:, None]
            P[self.rows, self.classes] -= 1.0
            self.local = P / self.n

    def backward(self, G: Any) -> None:
        _scatter(G, self.plan, (G[self.out] * self.local).ravel())

    def describe(self) -> str:
        return (
            f"cross_entropy of Z[{self.n}x{self.w}]: softmax of each row, one array op each; "
            f"replaces 1 node of {self.n * self.w} inputs"
        )


class _Total:
    """k totals x1 + ... + xa of a inputs each: one gather, left-to-right sums, one scatter."""

    def __init__(self, op: v.Operation, outs: list[int], parents: list[tuple[int, ...]]) -> None:
        self.op = op
        self.out = np.array(outs)
        self.index = np.array(parents, dtype=np.intp)  # k x a
        self.arity = self.index.shape[1]
        self._targets(np.ones(self.index.size, dtype=bool))

    def _targets(self, keep: Any) -> None:
        self.keep = None if keep.all() else keep
        self.plan = _scatter_plan(self.index.ravel()[keep]) if keep.any() else None

    def keep_needed(self, needs: Any) -> None:
        self._targets(needs[self.index.ravel()])

    def forward(self, V: Any, want_grads: bool) -> None:
        # the running sum along each row, so that every row adds left to right, as total() does
        V[self.out] = np.add.accumulate(V[self.index], axis=1)[:, -1]

    def backward(self, G: Any) -> None:
        if self.plan is None:
            return
        contributions = np.repeat(G[self.out], self.arity)  # d/dx_j = 1: grad itself
        _scatter(G, self.plan, contributions if self.keep is None else contributions[self.keep])

    def describe(self) -> str:
        k, a = self.index.shape
        return f"sum x{k} ({a} inputs each): rows of X[{k}x{a}] summed, one array op"


class _SumChain:
    """s + t1 + t2 + ... + tk as k additions, each used only by the next: one cumulative sum."""

    def __init__(self, nodes: list[int], start: int, terms: list[int]) -> None:
        self.out = np.array(nodes)
        self.last = nodes[-1]
        self.start = start
        self.terms = np.array(terms)
        self.targets = np.array([start, *terms], dtype=np.intp)
        self.keep: Any = None
        self.plan: Any = _scatter_plan(self.targets)
        self.buffer = np.empty(len(terms) + 1)

    def keep_needed(self, needs: Any) -> None:
        keep = needs[self.targets]
        self.keep = int(keep.sum())
        self.plan = _scatter_plan(self.targets[keep]) if self.keep else None

    def forward(self, V: Any, want_grads: bool) -> None:
        buffer = self.buffer
        buffer[0] = V[self.start]
        buffer[1:] = V[self.terms]
        V[self.out] = np.add.accumulate(buffer)[1:]

    def backward(self, G: Any) -> None:
        if self.plan is not None:
            count = len(self.targets) if self.keep is None else self.keep
            _scatter(G, self.plan, np.full(count, G[self.last]))

    def describe(self) -> str:
        k = len(self.terms)
        return (
            f"+ chain of {k} additions (such as sum(losses)): one cumulative sum over {k + 1} terms"
        )


class NumpyEngine:
    """Runs a recording level by level, each level's groups as array operations."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        data = np.array([node.data for node in rec.order], dtype=np.float64)
        pending: list[tuple[int, Any]] = []
        for group in plan_groups(rec):
            step: Any
            if group.kind == CHAIN:
                step = _SumChain(group.members, group.start, group.terms)
            elif group.op in LINEAR_WEIGHTED_SUMS:
                step = _WeightedSums(group.op, group.members, group.parents)
            elif isinstance(group.op, CrossEntropy):  # one node per group: each its own op
                step = _CrossEntropy(group.op, group.members[0], group.parents[0])
            elif group.op is fast.TOTAL:
                step = _Total(group.op, group.members, group.parents)
            else:
                step = _Elementwise(group.op, group.members, group.parents)
                with np.errstate(all="ignore"):
                    step.check(data)
            pending.append((group.level, step))
        self.steps = [step for _, step in pending]
        self.levels = [lv for lv, _ in pending]
        needs = np.array(rec.needs_grad, dtype=bool)
        for step in self.steps:
            if hasattr(step, "keep_needed"):
                step.keep_needed(needs)
        # backward only through the steps whose nodes need a gradient
        self.backward_steps = [step for step in reversed(self.steps) if needs[step.out].any()]
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
        self.used_inputs = (
            [rec.inputs[k] for k in self.input_slots.tolist()] if rec.input_grads else []
        )
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
        for step in self.backward_steps:
            step.backward(G)
        for p, g in zip(self.used_params, G[self.param_nodes].tolist(), strict=True):
            p.grad += g
        if self.used_inputs:
            for x, g in zip(self.used_inputs, G[self.input_nodes].tolist(), strict=True):
                x.grad += g
        return float(V[self.rec.root])

    @property
    def source(self) -> str:
        """What run() computes, one line per array operation (not Python to run: a listing)."""
        return _listing(self)

    def fallbacks(self) -> list[str]:
        """The groups of nodes that run with floats, node by node, each with the reason."""
        return [
            f"{step.name} x{len(step.out)}: {step.fallback}"
            for step in self.steps
            if isinstance(step, _Elementwise) and step.scalar
        ]

    def describe(self) -> list[str]:
        lines = [f"  as {len(self.steps)} array operations per pass, level by level:"]
        for lv, step in zip(self.levels, self.steps, strict=True):
            lines.append(f"    level {lv}: {step.describe()}")
        fallen = self.fallbacks()
        if fallen:
            lines.append(
                f"  {len(fallen)} of them fell back to floats, node by node (slower, the values "
                "eager mode's):"
            )
            lines += [f"    {text}" for text in fallen]
        return lines


_LISTING_HEADER = """\
# The replay of a compiled graph (gradengine's NumPy backend), one line per array operation.
# V holds every node's value, G every node's gradient; in3_0, out3, W3, ... are index arrays
# into them (one entry per node of step 3); G[i] += c adds up the contributions to a repeated i.
def run(X):
    V[parameters] = [p.data for p in parameters]; V[inputs] = X\
"""


def _listing(engine: NumpyEngine) -> str:
    """The forward and backward array operations of engine, as pseudo-Python."""
    number = {id(step): k for k, step in enumerate(engine.steps)}
    lines = [_LISTING_HEADER]
    for level, step in zip(engine.levels, engine.steps, strict=True):
        code, note = _forward_line(number[id(step)], step)
        count = np.size(step.out)
        lines.append(f"    {code}  # level {level}: {count} node{'s' if count > 1 else ''}{note}")
    lines += ["    if not backward:", "        return V[root]", "    G[:] = 0; G[root] = 1"]
    for step in engine.backward_steps:
        lines += [f"    {line}" for line in _backward_lines(number[id(step)], step)]
    lines.append("    for p, g in zip(parameters, G[parameters]): p.grad += g")
    if engine.used_inputs:
        lines.append("    for x, g in zip(inputs, G[inputs]): x.grad += g")
    lines.append("    return V[root]")
    return "\n".join(lines)


def _forward_line(k: int, step: Any) -> tuple[str, str]:
    """The code of a forward step, and what the comment adds about it."""
    if isinstance(step, _Elementwise):
        args = [f"V[in{k}_{q}]" for q in range(len(step.cols))]
        infix = step.name in ("+", "-", "*", "/", "**") and len(args) == 2
        call = f" {step.name} ".join(args) if infix else f"{step.name}({', '.join(args)})"
        return f"V[out{k}] = {call}", (", floats, node by node" if step.scalar else "")
    if isinstance(step, _WeightedSums):
        n = step.n
        if step.matrix is not None:
            s, r = step.matrix["out"].shape
            z, note = f"V[X{k}] @ V[W{k}].T + V[b{k}]", f", [{s}x{n}] @ [{r}x{n}].T"
        else:
            z, note = f"V[b{k}] + rowsum(V[W{k}] * V[X{k}])", ", rows summed left to right"
        return f"V[out{k}] = {f'relu({z})' if step.relu else z}", note
    if isinstance(step, _CrossEntropy):
        return f"V[out{k}] = mean(logsumexp(V[Z{k}], rows) - V[Z{k}][rows, classes{k}])", ""
    if isinstance(step, _Total):
        return f"V[out{k}] = rowsum(V[X{k}])", ", rows summed left to right"
    return f"V[out{k}] = cumsum(V[start{k}], V[terms{k}])", ""


def _backward_lines(k: int, step: Any) -> list[str]:
    if isinstance(step, _Elementwise):
        return [
            f"G[in{k}_{q}] += G[out{k}] * d(out{k})/d(in{k}_{q})"
            for q, wanted in enumerate(step.wanted)
            if wanted
        ]
    if isinstance(step, _WeightedSums):
        gz = f"G[out{k}] * (V[out{k}] > 0)" if step.relu else f"G[out{k}]"
        W, X = f"V[W{k}]", f"V[X{k}]"
        lines = [f"gz{k} = {gz}"]
        if step.matrix is not None:
            sums = [f"gz{k}.sum(axis=0)", f"gz{k}.T @ {X}", f"gz{k} @ {W}"]
        else:
            sums = [f"gz{k}", f"gz{k} * {X}", f"gz{k} * {W}"]
        targets = [f"G[b{k}]", f"G[W{k}]", f"G[X{k}]"]
        lines += [
            f"{t} += {c}" for t, c, wanted in zip(targets, sums, step.wanted, strict=True) if wanted
        ]
        return lines
    if isinstance(step, _CrossEntropy):
        return [f"G[Z{k}] += G[out{k}] * (softmax(V[Z{k}], rows) - onehot(classes{k})) / {step.n}"]
    if isinstance(step, _Total):
        return [f"G[X{k}] += G[out{k}]  # to each input"]
    return [f"G[start{k}, terms{k}] += G[out{k}][-1]"]
