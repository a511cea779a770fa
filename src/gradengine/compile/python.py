"""The pure-Python backend: the groups of plan.py as a few lines of generated Python each.

A recording's nodes are grouped as for the NumPy backend (nodes of one operation at one level;
chains of additions; the weighted sums of a Layer over a batch as a matrix product), and each
group becomes a few lines over plain lists of floats: a list comprehension or a ``map`` over its
parents' values, gathered by ``operator.itemgetter`` (or a slice) from one flat list of every
node's value. So the generated source grows with the number of groups, not of nodes, and
CPython compiles it in milliseconds (the moons step: 444 lines for 5,118 nodes, most of them
one line per weight in the loops that sum the weights' gradients).

Results are bit-identical to eager mode's (zeros up to their sign), for the values and for the
gradients: every value is computed by the same float operations in the same order, and every
gradient adds its contributions in exactly the order ``Value.backward()`` adds them (reversed
topological order, each node's parents in operand order). For each node, the contributions
that come one after another from the same group are added in one pass (a ``sum`` started from
the gradient so far); for a matrix product they are the dot products ``Σ_s gz[s,r] x[s,j]``
(a weight) and ``Σ_r gz[s,r] w[r,j]`` (an input), taken in that order. Where a matrix product's
rows do not come in one order (the samples of a weight's row, say, interleaved with other
uses of that weight), the group is replayed as separate weighted sums instead.

A ReLU neuron that is inactive sends back ``grad * 0.0``; the matrix product sends ``0.0 * x``,
the same number when grad and x are finite. When one of them is inf or nan, the run is replayed
again by a second program without matrix products (generated the first time it is needed).

The local derivatives are the expressions that each operation's own derivatives function writes
when it is run on symbols (symbolic.py), so they are stated once, in engine.py; operations the
generator does not know (``x ** c``, ``x ** y``, fused tanh and sigmoid neurons,
your own) are called through ``operation.value(floats, ...)`` and
``operation.derivatives(floats, ...)``, node by node.
"""

from __future__ import annotations

import builtins
import keyword
import math
import re
from collections.abc import Sequence
from functools import cache
from itertools import accumulate, pairwise, repeat
from operator import add, itemgetter, mul, neg, sub
from typing import Any

from gradengine import engine as v
from gradengine import fast
from gradengine.compile import CONSTANT, INPUT, NODE, PARAMETER, Recording
from gradengine.compile.plan import (
    CHAIN,
    LINEAR_WEIGHTED_SUMS,
    WEIGHTED,
    Group,
    MatrixPlan,
    matrix_plan,
)
from gradengine.compile.plan import groups as plan_groups
from gradengine.compile.symbolic import Symbol, derivative_sources
from gradengine.engine import floats
from gradengine.fast import paused_gc

#: Arity up to which a group's parents are gathered column by column (zip of columns); above
#: it, row by row (one itemgetter per node).
_COLUMNS = 8
#: A name in generated Python (not an attribute: p.data reads p).
_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")
#: Lines of generated Python compiled as one function, at most: longer, it is cut into parts of
#: about _PART lines (see _Program._parts).
_WHOLE = 2000
_PART = 300
#: Matrix products of at most this many weights are unrolled (each weight a local name).
_UNROLL = 4096

_SIMPLE = {
    v.ADD: "list(map(add, {0}, {1}))",
    v.SUB: "list(map(sub, {0}, {1}))",
    v.MUL: "list(map(mul, {0}, {1}))",
    v.DIV: "list(map(divide, {0}, {1}))",
    v.NEG: "list(map(neg, {0}))",
    v.RELU: "[0.0 if x <= 0 else x for x in {0}]",
    v.TANH: "list(map(tanh, {0}))",
    v.EXP: "list(map(exp, {0}))",
    v.LOG: "list(map(log, {0}))",
    v.SIGMOID: "list(map(sigmoid, {0}))",
}


@cache
def _derivatives(op: v.Operation, arity: int) -> list[Symbol | float]:
    """The derivatives of one of the _SIMPLE operations, as expressions (symbolic.py)."""
    derivatives = derivative_sources(op, arity)
    assert derivatives is not None, op  # each of them is written with operators and m's functions
    return derivatives


def _is_one(op: v.Operation, arity: int, slot: int) -> bool:
    d = _derivatives(op, arity)[slot]
    return not isinstance(d, Symbol) and d == 1.0


def _times(g: str, d: Symbol | float, k: int) -> str:
    """Source for [grad * d for each node of group k] (grads in list g), as eager mode has it."""
    if not isinstance(d, Symbol):
        return f"list(map(mul, {g}, repeat({d!r})))"
    names = sorted(d.names)  # x0, x1, ...: the inputs' lists; out: the results'
    lists = ", ".join(f"o{k}" if name == "out" else f"a{k}_{name[1:]}" for name in names)
    if d.names == {d.source}:  # the derivative is an input or the result itself
        return f"list(map(mul, {g}, {lists}))"
    return f"[g * {d.source} for g, {', '.join(names)} in zip({g}, {lists})]"


class NotFinite(Exception):
    """A matrix product of ReLU neurons met inf or nan: the run is replayed without them."""


class _Restart(Exception):
    """A matrix group's gradients cannot be added in eager mode's order: plan it without."""

    def __init__(self, group: int) -> None:
        super().__init__(group)
        self.group = group


def _names(prefix: str, count: int) -> str:
    return ", ".join(f"{prefix}{q}" for q in range(count))


def _progression(idx: Sequence[int]) -> tuple[int, int] | None:
    """(start, step) if idx is an arithmetic progression of a nonzero step, else None."""
    if len(idx) < 2:
        return None
    step = idx[1] - idx[0]
    if step == 0:
        return None
    first = idx[0]
    for q, i in enumerate(idx):
        if i != first + q * step:
            return None
    return first, step


class _Matrix:
    """A matrix group: members numbered (s, r) -> s * R + r, rows in eager mode's order."""

    def __init__(self, plan: MatrixPlan, s_order: list[int], r_order: list[int]) -> None:
        self.bias = [plan.bias[r] for r in r_order]
        self.weights = [plan.weights[r] for r in r_order]
        self.inputs = [plan.inputs[s] for s in s_order]
        self.out = [[plan.out[s][r] for r in r_order] for s in s_order]
        self.S, self.R = len(s_order), len(r_order)
        self.n = len(plan.weights[0])
        # weights as local names, one expression per neuron, up to this many multiply-adds
        self.unrolled = self.R * self.n <= _UNROLL


def _eager_orders(plan: MatrixPlan) -> tuple[list[int], list[int]] | None:
    """The order of the samples (for every weight row) and of the weight rows (for every sample)
    in which Value.backward() visits the nodes (highest position first), if each is one order."""
    S, R = len(plan.out), len(plan.out[0])
    s_order = sorted(range(S), key=lambda s: -plan.out[s][0])
    r_order = sorted(range(R), key=lambda r: -plan.out[0][r])
    for r in range(R):
        if sorted(range(S), key=lambda s: -plan.out[s][r]) != s_order:
            return None
    for s in range(S):
        if sorted(range(R), key=lambda r: -plan.out[s][r]) != r_order:
            return None
    return s_order, r_order


class _Source:
    """Where Python source is collected, with the constants (index lists, getters) it names."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self._count = 0

    def const(self, value: Any, prefix: str = "k") -> str:
        name = f"{prefix}{self._count}"
        self._count += 1
        self.namespace[name] = value
        return name

    def gather(self, src: str, idx: Sequence[int], length: int = -1) -> str:
        """An expression for the sequence src[i] for i in idx (a slice where it can be one)."""
        if length == len(idx) and list(idx) == list(range(length)):
            return src
        if len(idx) == 1:
            return f"({src}[{idx[0]}],)"
        run = _progression(idx)
        if run is not None:
            first, step = run
            stop = idx[-1] + step
            stop_text = "" if stop < 0 else str(stop)
            if step == 1:
                return f"{src}[{first}:{stop_text}]"
            return f"{src}[{first}:{stop_text}:{step}]"
        return f"{self.const(itemgetter(*idx), 'I')}({src})"


class _Program:
    """One generated replay function for a recording (with or without matrix products)."""

    def __init__(self, rec: Recording, use_matrix: bool) -> None:
        self.rec = rec
        disabled: set[int] = set()
        while True:
            try:
                self._build(use_matrix, disabled)
                break
            except _Restart as restart:
                disabled.add(restart.group)

    # -- layout and forward pass ------------------------------------------------------------------

    def _build(self, use_matrix: bool, disabled: set[int]) -> None:
        rec = self.rec
        self.groups = plan_groups(rec)
        self.matrices: list[_Matrix | None] = []
        for k, group in enumerate(self.groups):
            found = None
            if use_matrix and k not in disabled and group.op in LINEAR_WEIGHTED_SUMS:
                plan = matrix_plan(group.parents, group.members)
                orders = _eager_orders(plan) if plan is not None else None
                if plan is not None and orders is not None:
                    found = _Matrix(plan, *orders)
                    group.members = [node for row in found.out for node in row]
            self.matrices.append(found)
        src = _Source()
        self.src = src
        n = len(rec)
        pos = [-1] * n
        self.pos = pos
        leaves: dict[str, list[int]] = {PARAMETER: [], INPUT: [], CONSTANT: []}
        for i, kind in enumerate(rec.kinds):
            if kind != NODE:
                leaves[kind].append(i)
        for kind in leaves:
            leaves[kind].sort(key=lambda i: rec.slots[i])
        self.param_nodes, self.input_nodes = leaves[PARAMETER], leaves[INPUT]
        at = 0
        for i in [*leaves[PARAMETER], *leaves[INPUT], *leaves[CONSTANT]]:
            pos[i] = at
            at += 1
        self.spans: list[tuple[int, int]] = []
        self.group_of = [-1] * n
        self.member_at = [-1] * n
        for k, group in enumerate(self.groups):
            start = at
            for m, i in enumerate(group.members):
                pos[i] = at
                self.group_of[i] = k
                self.member_at[i] = m
                at += 1
            self.spans.append((start, at))
        template = [0.0] * n
        for i in leaves[CONSTANT]:
            template[pos[i]] = rec.constants[rec.slots[i]]
        ns = src.namespace
        ns.update(
            T=template,
            PU=[rec.parameters[rec.slots[i]] for i in leaves[PARAMETER]],
            IU=[rec.inputs[rec.slots[i]] for i in leaves[INPUT]],
            O=[],
            floats=floats,
            add=add,
            sub=sub,
            mul=mul,
            neg=neg,
            repeat=repeat,
            accumulate=accumulate,
            divide=floats.divide,
            exp=floats.exp,
            log=floats.log,
            sigmoid=floats.sigmoid,
            tanh=math.tanh,
            isfinite=math.isfinite,
            sumlr=fast.sum_left_to_right,
            NotFinite=NotFinite,
            keep=_keep,
        )
        lines = src.lines
        lines.append("V = T[:]")
        n_params = len(leaves[PARAMETER])
        if n_params:
            lines.append(f"V[0:{n_params}] = [p.data for p in PU]")
        if leaves[INPUT]:
            slots = [rec.slots[i] for i in leaves[INPUT]]
            gathered = src.gather("X", slots, len(rec.inputs))
            lines.append(f"V[{n_params}:{n_params + len(slots)}] = {gathered}")
        for k, group in enumerate(self.groups):
            self._forward(k, group)
        self.forward_lines = len(lines)
        lines.append("if not backward:")
        lines.append(f"    return V[{pos[rec.root]}]")
        self._backward()
        lines.append(f"return V[{pos[rec.root]}]")

    def _column(self, idx: Sequence[int]) -> str:
        return self.src.gather("V", [self.pos[i] for i in idx], len(self.rec))

    def _rows(self, rows: Sequence[Sequence[int]]) -> str:
        """A list of tuples, row q the values at rows[q] (each row as long as the first)."""
        if len(rows[0]) == 1:
            return f"[(x,) for x in {self._column([row[0] for row in rows])}]"
        getters = [itemgetter(*(self.pos[i] for i in row)) for row in rows]
        return f"[f(V) for f in {self.src.const(getters, 'F')}]"

    def _forward(self, k: int, group: Group) -> None:
        lines, span = self.src.lines, self.spans[k]
        out = f"V[{span[0]}:{span[1]}]"
        if group.kind == CHAIN:
            start = self.pos[group.start]
            terms = self._column(group.terms)
            lines.append(f"o{k} = list(accumulate({terms}, initial=V[{start}]))")
            lines.append(f"del o{k}[0]")
            lines.append(f"{out} = o{k}")
            return
        matrix = self.matrices[k]
        if matrix is not None:
            self._forward_matrix(k, group, matrix)
            return
        op, arity = group.op, len(group.parents[0])
        if group.op in LINEAR_WEIGHTED_SUMS:
            self._forward_weighted(k, group)
            return
        if op in _SIMPLE or (op is fast.TOTAL and arity <= _COLUMNS):
            columns = [self._column(col) for col in zip(*group.parents, strict=True)]
            for q, column in enumerate(columns):
                lines.append(f"a{k}_{q} = {column}")
            args = [f"a{k}_{q}" for q in range(arity)]
            if op is fast.TOTAL:
                if arity == 1:
                    lines.append(f"o{k} = list(a{k}_0)")
                else:
                    names = [f"x{q}" for q in range(arity)]
                    lines.append(
                        f"o{k} = [{' + '.join(names)} for {', '.join(names)} "
                        f"in zip({', '.join(args)})]"
                    )
            else:
                lines.append(f"o{k} = {_SIMPLE[op].format(*args)}")
        else:
            if arity <= _COLUMNS:
                columns = [self._column(col) for col in zip(*group.parents, strict=True)]
                lines.append(f"r{k} = list(zip({', '.join(columns)}))")
            else:
                lines.append(f"r{k} = {self._rows(group.parents)}")
            if op is fast.TOTAL:
                lines.append(f"o{k} = [sumlr(r[1:], r[0]) for r in r{k}]")
            else:
                c = len(self.src.namespace["O"])
                self.src.namespace["O"].append(op)
                lines.append(f"o{k} = [float(O[{c}].value(floats, *r)) for r in r{k}]")
        lines.append(f"{out} = o{k}")

    def _forward_weighted(self, k: int, group: Group) -> None:
        """Weighted sums, each its own weight row: b + w1*x1 + ..., left to right."""
        lines = self.src.lines
        n = len(group.parents[0]) // 2
        lines.append(f"b{k} = {self._column([ps[0] for ps in group.parents])}")
        if n <= _COLUMNS // 2:
            for j in range(n):
                lines.append(f"w{k}_{j} = {self._column([ps[1 + j] for ps in group.parents])}")
                lines.append(f"x{k}_{j} = {self._column([ps[1 + n + j] for ps in group.parents])}")
            terms = " + ".join(["b", *(f"w{j} * x{j}" for j in range(n))])
            names = ", ".join(["b", *(f"w{j}" for j in range(n)), *(f"x{j}" for j in range(n))])
            columns = ", ".join(
                [f"b{k}", *(f"w{k}_{j}" for j in range(n)), *(f"x{k}_{j}" for j in range(n))]
            )
            lines.append(f"z{k} = [{terms} for {names} in zip({columns})]")
            lines.append(f"WC{k} = [{', '.join(f'w{k}_{j}' for j in range(n))}]")
            lines.append(f"XC{k} = [{', '.join(f'x{k}_{j}' for j in range(n))}]")
        else:
            lines.append(f"Wr{k} = {self._rows([ps[1 : n + 1] for ps in group.parents])}")
            lines.append(f"Xr{k} = {self._rows([ps[n + 1 :] for ps in group.parents])}")
            lines.append(
                f"z{k} = [sumlr(map(mul, w, x), b) for b, w, x in zip(b{k}, Wr{k}, Xr{k})]"
            )
            lines.append(f"WC{k} = list(zip(*Wr{k}))")
            lines.append(f"XC{k} = list(zip(*Xr{k}))")
        self._activate(k, group)

    def _activate(self, k: int, group: Group) -> None:
        span = self.spans[k]
        if group.op is fast.RELU_WEIGHTED_SUM:
            self.src.lines.append(f"o{k} = [0.0 if z <= 0 else z for z in z{k}]")
        else:
            self.src.lines.append(f"o{k} = z{k}")
        self.src.lines.append(f"V[{span[0]}:{span[1]}] = o{k}")

    def _forward_matrix(self, k: int, group: Group, matrix: _Matrix) -> None:
        """Z[s, r] = b[r] + W[r] . X[s] for every input row s and weight row r, left to right."""
        lines = self.src.lines
        R, n = matrix.R, matrix.n
        flat_x = [self.pos[i] for row in matrix.inputs for i in row]
        flat_w = [self.pos[i] for row in matrix.weights for i in row]
        chunks = "*[iter({})] * " + str(n)
        lines.append(f"Xr{k} = list(zip({chunks.format(self.src.gather('V', flat_x))}))")
        lines.append(f"Wf{k} = {self.src.gather('V', flat_w)}")
        lines.append(f"b{k} = {self._column(matrix.bias)}")
        span = self.spans[k]
        relu = group.op is fast.RELU_WEIGHTED_SUM
        if matrix.unrolled:
            # The weights as local names; one loop over the samples, each neuron one expression.
            lines.append(f"{_names(f'w{k}_', R * n)}, = Wf{k}")
            lines.append(f"{_names(f'b{k}_', R)}, = b{k}")
            sums = []
            for r in range(R):
                z = " + ".join([f"b{k}_{r}", *(f"w{k}_{r * n + j} * _x{j}" for j in range(n))])
                sums.append(f"(0.0 if (z := {z}) <= 0 else z)" if relu else z)
            lines.append(f"o{k} = []")
            lines.append(f"for {_names('_x', n)}, in Xr{k}:")
            lines.append(f"    o{k} += ({', '.join(sums)},)")
        else:
            lines.append(f"Wr{k} = list(zip(*[iter(Wf{k})] * {n}))")
            lines.append(
                f"z{k} = [sumlr(map(mul, w, x), b) for x in Xr{k} for w, b in zip(Wr{k}, b{k})]"
            )
            lines.append(f"o{k} = [0.0 if z <= 0 else z for z in z{k}]" if relu else f"o{k} = z{k}")
        lines.append(f"V[{span[0]}:{span[1]}] = o{k}")

    # -- backward pass ----------------------------------------------------------------------------

    def _backward(self) -> None:
        rec = self.rec
        needs = rec.needs_grad
        n = len(rec)
        # What each node receives, in the order Value.backward() adds it: (child, slot) for one
        # contribution, a block (highest child, slot, lowest child, group, kind, where) for all
        # those of one matrix group to one weight, bias or input.
        contributions: list[list[tuple[Any, ...]]] = [[] for _ in range(n)]
        in_matrix = [False] * n
        for k, matrix in enumerate(self.matrices):
            if matrix is not None:
                if not all(needs[i] for i in self.groups[k].members):
                    raise _Restart(k)
                for i in self.groups[k].members:
                    in_matrix[i] = True
        kinds, parents = rec.kinds, rec.parents
        for i in range(rec.root, -1, -1):
            if kinds[i] != NODE or not needs[i] or in_matrix[i]:
                continue
            for slot, p in enumerate(parents[i]):
                if needs[p]:
                    contributions[p].append((i, slot))
        blocked: set[int] = set()
        for k, matrix in enumerate(self.matrices):
            if matrix is not None:
                blocked |= self._blocks(k, matrix, contributions)
        for p in blocked:
            self._check_blocks(contributions[p])
        self.contributions = contributions
        self.used: set[tuple[int, str]] = set()  # (group, what its backward must provide)
        # Plan every fold first (a matrix group that cannot keep eager order restarts the build),
        # then write the code, from the last group back.
        folds: list[tuple[str, list[int]]] = []
        for k in range(len(self.groups) - 1, -1, -1):
            group = self.groups[k]
            targets = [group.members[-1]] if group.kind == CHAIN else group.members
            if any(needs[i] for i in targets):
                folds.append((f"g{k}", targets))
        if self.param_nodes:
            folds.append(("gP", self.param_nodes))
        if self.input_nodes and rec.input_grads:
            folds.append(("gI", self.input_nodes))
        planned = {name: self._plan_fold(targets) for name, targets in folds}
        self.used_by: dict[int, set[str]] = {}  # what each group provides: one lookup per group
        for group_number, what in self.used:
            self.used_by.setdefault(group_number, set()).add(what)
        lines = self.src.lines
        for k in range(len(self.groups) - 1, -1, -1):
            if f"g{k}" not in planned:
                continue
            self._emit_fold(f"g{k}", planned[f"g{k}"])
            self._contributions(k)
        if self.param_nodes:
            self._emit_fold("gP", planned["gP"])
            lines.append("for p, g in zip(PU, gP):")
            lines.append("    p.grad += g")
        if "gI" in planned:
            self._emit_fold("gI", planned["gI"])
            lines.append("for x, g in zip(IU, gI):")
            lines.append("    x.grad += g")

    def _source(self, i: int, slot: int) -> tuple[str, int]:
        """The list holding the contribution of node i to its parent number `slot`, and where."""
        k, m = self.group_of[i], self.member_at[i]
        group = self.groups[k]
        if group.kind == CHAIN:
            self.used.add((k, "d"))
            return f"d{k}", 0
        op = group.op
        if op is fast.TOTAL or (op in _SIMPLE and _is_one(op, len(group.parents[0]), slot)):
            return f"g{k}", m  # a derivative of 1: the contribution is the gradient itself
        if op is fast.WEIGHTED_SUM and slot == 0:
            return f"g{k}", m
        if op in LINEAR_WEIGHTED_SUMS:
            n = len(group.parents[0]) // 2
            if slot == 0:
                self.used.add((k, "db"))
                return f"db{k}", m
            what = "dw" if slot <= n else "dx"
            j = slot - 1 if slot <= n else slot - 1 - n
            self.used.add((k, f"{what}{j}"))
            return f"{what.upper()}{k}[{j}]", m
        if op not in _SIMPLE:  # called through the operation: one list, node after node
            self.used.add((k, "D"))
            return f"D{k}", m * len(group.parents[0]) + slot
        self.used.add((k, f"d{slot}"))
        return f"d{k}_{slot}", m

    def _blocks(
        self, k: int, matrix: _Matrix, contributions: list[list[tuple[Any, ...]]]
    ) -> set[int]:
        """Add matrix group k's blocks to the lists of the nodes they go to; those nodes."""
        needs = self.rec.needs_grad
        n = matrix.n
        got: set[int] = set()
        for r in range(matrix.R):
            column = [row[r] for row in matrix.out]  # one node per sample, highest first
            hi, lo = column[0], column[-1]
            b = matrix.bias[r]
            if needs[b]:
                contributions[b].append((hi, 0, lo, k, "b", r))
                got.add(b)
            for j, w in enumerate(matrix.weights[r]):
                if needs[w]:
                    contributions[w].append((hi, 1 + j, lo, k, "w", (r, j)))
                    got.add(w)
        for s, row in enumerate(matrix.out):  # one node per weight row, highest first
            hi, lo = row[0], row[-1]
            for j, x in enumerate(matrix.inputs[s]):
                if needs[x]:
                    contributions[x].append((hi, 1 + n + j, lo, k, "x", (s, j)))
                    got.add(x)
        return got

    def _check_blocks(self, items: list[tuple[Any, ...]]) -> None:
        """Sort a node's contributions into eager order; _Restart if a block would be split
        (another contribution from a child inside its range of children)."""
        items.sort(key=lambda item: (-item[0], item[1]))
        for a, b in pairwise(items):
            if (len(a) > 2 or len(b) > 2) and (a[2] if len(a) > 2 else a[0]) <= b[0]:
                raise _Restart(a[3] if len(a) > 2 else b[3])

    def _runs(self, target: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """(the shape of target's sum: one entry per run, what each run reads)"""
        if target == self.rec.root:
            return ("1",), ((),)
        shape: list[Any] = []
        params: list[Any] = []
        for item in self.contributions[target]:
            if len(item) == 2:
                name, m = self._source(*item)
                if shape and shape[-1][0] == "e" and shape[-1][1] == name:
                    params[-1].append(m)
                else:
                    shape.append(("e", name))
                    params.append([m])
            else:
                _, _, _, k, kind, where = item
                shape.append(self._matrix_run(k, kind, where, not shape))
                params.append(where)
        # an elementwise run's shape holds its length
        shape = [(*s, len(p)) if s[0] == "e" else s for s, p in zip(shape, params, strict=True)]
        return tuple(shape), tuple(tuple(p) if isinstance(p, list) else p for p in params)

    def _matrix_run(self, k: int, kind: str, where: Any, first: bool) -> tuple[str, int]:
        """A block of matrix group k as a run: a column sum or a dot product."""
        matrix = self._matrix(k)
        self.used.add((k, "gz"))
        if kind == "b":
            self.used.add((k, "GZC"))
            return ("b", k)
        if kind == "w":
            if matrix.unrolled:
                return ("wu", k)
            self.used.update({(k, "GZC"), (k, "XC")})
            return ("w", k)
        if matrix.unrolled and first:
            self.used.add((k, "XD"))
            return ("xd", k)
        self.used.update({(k, "GZR"), (k, "WC")})
        return ("x", k)

    def _plan_fold(self, targets: list[int]) -> list[tuple[tuple[Any, ...], list[int], list[Any]]]:
        """The targets in batches of one shape: (shape, positions among targets, reads)."""
        needs = self.rec.needs_grad
        batches: dict[tuple[Any, ...], tuple[list[int], list[Any]]] = {}
        for q, target in enumerate(targets):
            if needs[target]:
                shape, reads = self._runs(target)
            else:
                shape, reads = (), ()
            where, what = batches.setdefault(shape, ([], []))
            where.append(q)
            what.append(reads)
        return [(shape, where, what) for shape, (where, what) in batches.items()]

    def _emit_fold(
        self, name: str, batches: list[tuple[tuple[Any, ...], list[int], list[Any]]]
    ) -> None:
        """name = the gradient of each target, each a sum in eager mode's order."""
        src, lines = self.src, self.src.lines
        results: list[str] = []
        for b, (shape, _, reads) in enumerate(batches):
            acc = f"{name}_{b}"
            count = len(reads)
            if not shape:
                lines.append(f"{acc} = [-0.0] * {count}")
            started = False
            for q, run in enumerate(shape):
                per = [r[q] for r in reads]
                start = acc if started else None
                kind = run[0]
                if kind == "1":
                    lines.append(f"{acc} = [1.0] * {count}")
                elif kind == "e":
                    _, source, length = run
                    if length == 1 or (length <= 3 and count >= 8):
                        for c in range(length):
                            vec = src.gather(source, [p[c] for p in per])
                            if start is None:
                                lines.append(f"{acc} = {vec}")
                            else:
                                lines.append(f"{acc} = list(map(add, {start}, {vec}))")
                            start = acc
                    else:
                        getters = src.const([itemgetter(*p) for p in per], "F")
                        if start is None:
                            lines.append(f"{acc} = [sumlr(f({source}), -0.0) for f in {getters}]")
                        else:
                            lines.append(
                                f"{acc} = [sumlr(f({source}), a) for f, a in zip({getters}, {acc})]"
                            )
                elif kind == "xd":  # computed whole by the group: gather the targets' entries
                    k = run[1]
                    n = self._matrix(k).n
                    lines.append(f"{acc} = {src.gather(f'XD{k}', [s * n + j for s, j in per])}")
                elif kind == "wu":
                    self._emit_weight_loop(acc, run[1], per, start)
                else:
                    k = run[1]
                    table = src.const(per, "J")
                    if kind == "b":
                        term, loop = f"GZC{k}[r]", "r"
                    elif kind == "w":
                        term, loop = f"map(mul, GZC{k}[r], XC{k}[j])", "(r, j)"
                    else:
                        term, loop = f"map(mul, GZR{k}[s], WC{k}[j])", "(s, j)"
                    if start is None:
                        lines.append(f"{acc} = [sumlr({term}, -0.0) for {loop} in {table}]")
                    else:
                        lines.append(
                            f"{acc} = [sumlr({term}, a) for {loop}, a in zip({table}, {acc})]"
                        )
                started = True
            results.append(acc)
        if len(batches) == 1:
            lines.append(f"{name} = {results[0]}")
            return
        order: list[int] = [0] * sum(len(where) for _, where, _ in batches)
        at = 0
        for _, where, _ in batches:
            for q in where:
                order[q] = at
                at += 1
        joined = "[" + ", ".join(f"*{r}" for r in results) + "]"
        lines.append(f"{name} = {src.gather(joined, order, len(order))}")

    def _contributions(self, k: int) -> None:
        """After g<k>: what group k sends back to its parents, for the sources used."""
        used = self.used_by.get(k, set())
        if not used:
            return
        lines = self.src.lines
        group = self.groups[k]
        g = f"g{k}"
        if group.kind == CHAIN:
            lines.append(f"d{k} = {g}")
            return
        matrix = self.matrices[k]
        op = group.op
        if matrix is not None:
            self._matrix_contributions(k, group, matrix, used)
            return
        if op in LINEAR_WEIGHTED_SUMS:
            self._weighted_contributions(k, group, used)
            return
        o = f"o{k}"
        if op not in _SIMPLE:  # d(node)/d(parent q) for every node, every q, in one list
            c = self.src.namespace["O"].index(op)
            lines.append(
                f"D{k} = [g * float(d) for g, r, z in zip({g}, r{k}, {o}) "
                f"for d in O[{c}].derivatives(floats, *r, z)]"
            )
            return
        derivatives = _derivatives(op, len(group.parents[0]))
        for what in sorted(used):
            slot = int(what[1:])
            lines.append(f"d{k}_{slot} = {_times(g, derivatives[slot], k)}")

    def _matrix(self, k: int) -> _Matrix:
        matrix = self.matrices[k]
        assert matrix is not None
        return matrix

    def _matrix_contributions(self, k: int, group: Group, matrix: _Matrix, used: set[str]) -> None:
        """gz = the gradient of each z (0.0 where a ReLU is inactive), and what the runs read."""
        lines = self.src.lines
        S, R, n = matrix.S, matrix.R, matrix.n
        g = f"g{k}"
        if group.op is fast.RELU_WEIGHTED_SUM:
            # gz * x is grad * 0.0 for an inactive neuron only if grad and x are finite
            lines.append(
                f"if not (isfinite(sum({g})) and isfinite(sum(map(sum, Xr{k}))) "
                f"and isfinite(sum(Wf{k}))):"
            )
            lines.append("    raise NotFinite")
            lines.append(f"gz{k} = [0.0 if o <= 0 else g for g, o in zip({g}, o{k})]")
        else:
            lines.append(f"gz{k} = {g}")
        if "GZC" in used:
            lines.append(f"GZC{k} = [gz{k}[r::{R}] for r in range({R})]")
        if "XC" in used:
            lines.append(f"XC{k} = list(zip(*Xr{k}))")
        if "GZR" in used:
            lines.append(f"GZR{k} = [gz{k}[q:q + {R}] for q in range(0, {S * R}, {R})]")
        if "WC" in used:
            lines.append(f"WC{k} = [Wf{k}[j::{n}] for j in range({n})]")
        if "XD" in used:
            # d/dx[s, j] = gz[s, 0] w[0, j] + gz[s, 1] w[1, j] + ..., every sample in one loop
            lines.append(f"XD{k} = []")
            lines.append(f"for {_names('_g', R)}, in zip(*[iter(gz{k})] * {R}):")
            if group.op is fast.RELU_WEIGHTED_SUM:
                # An inactive neuron's gz is 0.0, and adding 0.0 * w (finite: checked above) to
                # a sum leaves it as it is: its row is skipped (ReLU layers: half the work).
                lines.append(f"    {' = '.join(f'_d{j}' for j in range(n))} = -0.0")
                for r in range(R):
                    lines.append(f"    if _g{r}:")
                    for j in range(n):
                        lines.append(f"        _d{j} += _g{r} * w{k}_{r * n + j}")
                lines.append(f"    XD{k} += ({_names('_d', n)},)")
            else:
                sums = [" + ".join(f"_g{r} * w{k}_{r * n + j}" for r in range(R)) for j in range(n)]
                lines.append(f"    XD{k} += ({', '.join(sums)},)")

    def _emit_weight_loop(self, acc: str, k: int, per: list[Any], start: str | None) -> None:
        """acc[t] += gz[s, r] x[s, j] for (r, j) = per[t], sample after sample (one loop)."""
        lines = self.src.lines
        matrix = self._matrix(k)
        R, n = matrix.R, matrix.n
        names = [f"{acc}_{t}" for t in range(len(per))]
        if start is None:
            lines.append(f"{' = '.join(names)} = -0.0")
        else:
            lines.append(f"{', '.join(names)}, = {start}")
        lines.append(
            f"for ({_names('_g', R)},), ({_names('_x', n)},) in zip(zip(*[iter(gz{k})] * {R}), "
            f"Xr{k}):"
        )
        if self.groups[k].op is fast.RELU_WEIGHTED_SUM:
            # as for the inputs: an inactive neuron (gz = 0.0, x finite) adds nothing
            rows: dict[int, list[str]] = {}
            for name, (r, j) in zip(names, per, strict=True):
                rows.setdefault(r, []).append(f"        {name} += _g{r} * _x{j}")
            for r, statements in rows.items():
                lines.append(f"    if _g{r}:")
                lines += statements
        else:
            for name, (r, j) in zip(names, per, strict=True):
                lines.append(f"    {name} += _g{r} * _x{j}")
        lines.append(f"{acc} = [{', '.join(names)}]")

    def _weighted_contributions(self, k: int, group: Group, used: set[str]) -> None:
        """d/db = 1, d/dw_j = x_j, d/dx_j = w_j (all 0.0 for an inactive ReLU neuron)."""
        lines = self.src.lines
        g = f"g{k}"
        n = len(group.parents[0]) // 2
        relu = group.op is fast.RELU_WEIGHTED_SUM
        if relu:
            lines.append(f"A{k} = [not z <= 0 for z in o{k}]")
            if "db" in used:
                lines.append(f"db{k} = [g if a else g * 0.0 for g, a in zip({g}, A{k})]")
        for what, columns in (("dw", f"XC{k}"), ("dx", f"WC{k}")):
            js = [j for j in range(n) if f"{what}{j}" in used]
            if not js:
                continue
            if relu:
                lines.append(
                    f"{what.upper()}{k} = [[g * y if a else g * 0.0 for g, y, a in "
                    f"zip({g}, {columns}[j], A{k})] if j in {set(js)!r} else None "
                    f"for j in range({n})]"
                )
            else:
                lines.append(
                    f"{what.upper()}{k} = [list(map(mul, {g}, {columns}[j])) if j in "
                    f"{set(js)!r} else None for j in range({n})]"
                )

    # -- the function ---------------------------------------------------------------------------

    def compile(self) -> Any:
        body = self.src.lines
        if len(body) <= _WHOLE:
            texts = [
                "\n".join(["def replay(X, backward=True):", *("    " + line for line in body)])
            ]
        else:
            texts = self._parts(body)
        texts[0] = f"{_HEADER}\n{texts[0]}"
        self.source = "\n\n\n".join(texts)
        # Code generated from the recording above (never from user text), run once to define it.
        for text in texts:
            exec(compile(text, "<gradengine compiled graph>", "exec"), self.src.namespace)
        return self.src.namespace["replay"]

    def _parts(self, body: list[str]) -> list[str]:
        """The body as functions of at most about _PART lines each, and replay() calling them.

        CPython compiles one function in time that grows with the square of its comprehensions
        and local names (a 20,000-node chain: a minute): each part is compiled on its own, and
        the names one part leaves to a later one travel in a dict S.
        """
        forward, backward = body[: self.forward_lines], body[self.forward_lines + 2 : -1]
        root = f"S['V'][{self.pos[self.rec.root]}]"
        globals_ = self.src.namespace.keys() | set(dir(builtins)) | set(keyword.kwlist)
        texts: list[str] = []
        calls: list[str] = ["S = {'X': X}"]
        defined = {"X"}  # the names an earlier part may have bound (S.get: None if it did not)
        for section, stop in (
            (forward, ["if not backward:", f"    return {root}"]),
            (backward, []),
        ):
            for chunk in _split(section):
                name = f"part{len(texts)}"
                names = set(_NAME.findall("\n".join(chunk))) - globals_
                loads = sorted(names & defined)
                defined |= names
                load = [f"    {', '.join(loads)}, = map(S.get, {tuple(loads)!r})"] if loads else []
                texts.append("\n".join([f"def {name}(S):", *load, *chunk, "    keep(S, locals())"]))
                calls.append(f"{name}(S)")
            calls += stop
        calls.append(f"return {root}")
        driver = "\n".join(["def replay(X, backward=True):", *("    " + line for line in calls)])
        return [*texts, driver]


_HEADER = """\
# The replay of a compiled graph (gradengine's Python backend). replay(X) puts every node's value
# in the list V (parameters, inputs, constants, then the groups of nodes, level by level), runs
# the backward pass and adds the gradients to the parameters' (PU) and inputs' (IU) .grad;
# replay(X, False) runs the forward pass only. The names it does not define are the program's:
# T (V before a run: the constants), itemgetters I.. and F.. and index lists J.. over V, the
# operations O called node by node, and gradengine.engine's float functions (floats).\
"""


def _split(lines: list[str]) -> list[list[str]]:
    """lines (indented as a function body) in runs of about _PART, cut between statements."""
    chunks: list[list[str]] = [[]]
    for line in lines:
        if len(chunks[-1]) >= _PART and not line.startswith(" "):
            chunks.append([])
        chunks[-1].append("    " + line)
    return [chunk for chunk in chunks if chunk]


def _keep(S: dict[str, Any], names: dict[str, Any]) -> None:
    """S gets a part's local names (but not S itself: no reference cycle)."""
    del names["S"]
    S.update(names)


class PythonEngine:
    """Runs a recording as one generated Python function of its groups (see the module doc)."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        program = _Program(rec, use_matrix=True)
        self.program = program
        self._replay = program.compile()
        self._exact: Any = None  # the program without matrix products, made when first needed
        self.lines = len(program.src.lines)
        self.source = program.source

    def _exact_replay(self) -> Any:
        if self._exact is None:
            self._exact = _Program(self.rec, use_matrix=False).compile()
        return self._exact

    def run(self, values: Any) -> float:
        values = list(map(float, values))  # numpy scalars would compute another way
        with paused_gc():  # no reference cycles are made: the collector would find nothing
            try:
                result: float = self._replay(values)
            except NotFinite:
                result = self._exact_replay()(values)
        return result

    def forward(self, values: Any) -> float:
        result: float = self._replay(values, False)
        return result

    def describe(self) -> list[str]:
        program = self.program
        lines = [
            f"  as {len(program.groups)} group operations per pass, level by level, in "
            f"{self.lines} lines of generated Python over lists of floats:"
        ]
        for group, matrix in zip(program.groups, program.matrices, strict=True):
            lines.append(f"    level {group.level}: {_describe(group, matrix)}")
        return lines


def _describe(group: Group, matrix: _Matrix | None) -> str:
    k = len(group.members)
    name = group.op.name
    if group.kind == CHAIN:
        return f"+ chain of {k} additions (such as sum(losses)): one running sum"
    arity = len(group.parents[0])
    if matrix is not None:
        S, R, n = matrix.S, matrix.R, matrix.n
        how = (
            f"a loop over the {S} samples, the {R * n} weights local names"
            if matrix.unrolled
            else "one sum(map(mul, w, x), b) per node"
        )
        return (
            f"{name} x{k} as a matrix product: X[{S}x{n}] @ W[{R}x{n}].T + b[{R}] -> "
            f"[{S}x{R}], {how}; replaces {k} nodes ({k * n} scalar multiply-adds)"
        )
    if group.kind == WEIGHTED and group.op in LINEAR_WEIGHTED_SUMS:
        n = arity // 2
        return f"{name} x{k}: rows of W[{k}x{n}] and X[{k}x{n}], each summed left to right"
    how = (
        "one list comprehension"
        if group.op in _SIMPLE or group.op is fast.TOTAL
        else "node by node"
    )
    return f"{name} x{k} ({arity} input{'s' if arity != 1 else ''} each): {how}"
