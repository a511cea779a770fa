"""The batched replay as one generated Python function: a loop over the samples.

One sample's recording becomes straight-line Python, a local name for every number: the nodes
of the parameters only (an L2 penalty) are computed once before the loop; the loop's body
computes one sample's nodes, then (for a step) its gradients, node by node from the loss back;
each parameter's gradient is summed over the samples in local names. The numbers are those of
the node-walking replay (batched_python.py), bit for bit, zeros up to their sign:

- values: each operation's float arithmetic as eager mode writes it (a neuron's
  b + w1*x1 + ... left to right), an operation it does not know called as
  ``operation.value(floats, ...)``, node by node;
- gradients: each sample's seeded with 1/N (mean) or 1 (sum); each node's contributions added
  in the walk's order (nodes from the last back, parents in operand order); what a node sends
  to a parameter over the samples added in sample order, as one sum per node and parameter
  (a neuron: ``sum(dz * x)``) or straight into the parameter's gradient (another operation),
  the order of the walk kept where the two meet (a later one's samples kept in a list).

A ReLU neuron that is inactive sends back ``grad * 0.0``: zeros, when its z and grad are finite
(then so is each of its weights and inputs), which leave every sum as it is; the loop skips it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from gradengine import engine as e
from gradengine import fast
from gradengine.compile import NODE, PARAMETER, Recording
from gradengine.compile.sample_graph import SampleGraph
from gradengine.compile.symbolic import Symbol, derivative_sources
from gradengine.engine import floats

#: The operations written as Python expressions (value and derivatives); the others are called.
_EXPRESSIONS = {
    e.ADD: "{0} + {1}",
    e.SUB: "{0} - {1}",
    e.MUL: "{0} * {1}",
    e.DIV: "divide({0}, {1})",
    e.NEG: "-{0}",
    e.RELU: "0.0 if {0} <= 0 else {0}",
    e.TANH: "tanh({0})",
    e.EXP: "exp({0})",
    e.LOG: "log({0})",
    e.SIGMOID: "sigmoid({0})",
}
#: A neuron's activation of its z (neurons of these operations are written out).
_ACTIVATIONS = {
    fast.RELU_WEIGHTED_SUM: "0.0 if {0} <= 0 else {0}",
    fast.TANH_WEIGHTED_SUM: "tanh({0})",
    fast.SIGMOID_WEIGHTED_SUM: "sigmoid({0})",
    fast.WEIGHTED_SUM: "{0}",
}
#: d(out)/dz of a neuron from its out, as ACTIVATION of batched_python.py computes it.
_SLOPES = {
    "tanh(weighted_sum)": "(1.0 - {0} * {0})",
    "sigmoid(weighted_sum)": "({0} * (1.0 - {0}))",
}
#: Terms per line of a long sum (CPython's compiler recurses once per operator of an expression).
_TERMS = 64
_SYMBOL = re.compile(r"\b(x\d+|out)\b")

# What the generated code calls; floats' functions compute as eager mode's (engine.Floats).
NAMESPACE: dict[str, Any] = {
    "floats": floats,
    "divide": floats.divide,
    "tanh": math.tanh,
    "exp": floats.exp,
    "log": floats.log,
    "sigmoid": floats.sigmoid,
    "inf": math.inf,
    "sumlr": fast.sum_left_to_right,
}


_HEADER = """\
# The batched replay of one sample's graph (gradengine, pure Python). replay(P, D, backward,
# seed): P the parameters, D the rows (a sample's inputs each), seed each sample's d loss / d its
# loss (1/N or 1). v<i> is node i's value (z<i> a neuron's sum), g<i> its gradient in a sample,
# G<i> the gradient of a parameter or a node of the parameters only; S.. a neuron's sums over the
# samples, L.. a node's contributions kept in sample order. Returns the samples' losses, the
# outputs' rows, the penalty and (backward) the parameters' gradients. F.., D.., A.. and K.. are
# the operations' functions called node by node, and the constants."""


class TooLarge(Exception):
    """The graph's straight-line code would be too long to compile in reasonable time."""


def _derivative_terms(op: e.Operation, arity: int) -> list[Symbol | float] | None:
    """The table's derivatives as expressions of x0.. and out (symbolic.py), None if called."""
    if op in (e.ADD, e.SUB, e.MUL, e.DIV, e.NEG, e.TANH, e.EXP, e.LOG, e.SIGMOID, fast.TOTAL):
        return derivative_sources(op, arity)
    return None


class LoopWriter:
    """Writes the replay of one sample's graph (a SampleGraph) as one Python function."""

    def __init__(
        self, graph: SampleGraph, neurons: dict[int, Any], max_lines: int = 60_000
    ) -> None:
        rec: Recording = graph.rec
        self.graph, self.rec, self.row = graph, rec, graph.row
        self.neurons = neurons  # the neuron nodes the node-walking replay sums as neurons
        self.max_lines = max_lines
        self.namespace: dict[str, Any] = dict(NAMESPACE)
        self._consts = 0
        self.nodes = [i for i, kind in enumerate(rec.kinds) if kind == NODE and i != graph.root]
        self.before: list[str] = []  # once, before the loop: the parameters-only nodes
        self.forward: list[str] = []  # in the loop: one sample's nodes
        self.backward: list[str] = []  # in the loop, for a step: one sample's gradients
        self.early: list[str] = []  # once before the loop, for a step: gradients known then
        self.after: list[str] = []  # once after the loop, for a step: the rest
        self.text = ""  # the function's source, once written
        self._write()

    # -- names ---------------------------------------------------------------------------------

    def const(self, value: Any, prefix: str) -> str:
        name = f"{prefix}{self._consts}"
        self._consts += 1
        self.namespace[name] = value
        return name

    def _count(self, lines: list[str], more: int = 1) -> None:
        self._lines += more
        if self._lines > self.max_lines:
            raise TooLarge(f"more than {self.max_lines:,} lines")

    def _emit(self, lines: list[str], line: str) -> None:
        lines.append(line)
        self._count(lines)

    # -- the forward pass ----------------------------------------------------------------------

    def _write(self) -> None:
        rec, row = self.rec, self.row
        self._lines = 0
        self._walk()
        # each parent of a node on the way back gets at least a line: no need to write them all
        at_least = sum(1 for c in self.walk for p in rec.parents[c] if rec.needs_grad[p])
        self._count([], at_least)
        self._lines = 0
        v = [f"v{i}" for i in range(len(rec))]
        self.v = v
        for i in self.nodes:
            self._value(i, self.forward if row[i] else self.before)
        self._backward_plan()

    def _sum(self, lines: list[str], name: str, first: str, terms: Sequence[str]) -> None:
        """name = first + terms[0] + terms[1] + ..., left to right, a few dozen per line."""
        if not terms:
            self._emit(lines, f"{name} = {first}")
            return
        start = first
        for at in range(0, len(terms), _TERMS):
            self._emit(lines, f"{name} = {' + '.join([start, *terms[at : at + _TERMS]])}")
            start = name

    def _value(self, i: int, lines: list[str]) -> None:
        rec, v = self.rec, self.v
        op, ps = rec.operations[i], rec.parents[i]
        args = [v[p] for p in ps]
        if op in _EXPRESSIONS:
            self._emit(lines, f"{v[i]} = {_EXPRESSIONS[op].format(*args)}")
        elif op in _ACTIVATIONS or i in self.neurons:
            k = len(ps) // 2
            z = f"z{i}"
            products = [f"{args[1 + j]} * {args[1 + k + j]}" for j in range(k)]
            self._sum(lines, z, args[0], products)
            activation = _ACTIVATIONS.get(op)
            if activation is None:  # named as a neuron: summed as one (batched_python.py)
                activation = self.const(self.neurons[i][0], "A") + "({0})"
            self._emit(lines, f"{v[i]} = {activation.format(z)}")
        elif op is fast.TOTAL:
            self._sum(lines, v[i], args[0], args[1:])
        else:
            f = self.const(op.value, "F")
            self._emit(lines, f"{v[i]} = {f}(floats, {', '.join(args)})")

    # -- the backward pass: what goes where, in the walk's order ---------------------------------

    def _walk(self) -> None:
        """The nodes the backward pass visits, from the last back: those a gradient reaches."""
        rec, graph = self.rec, self.graph
        needs, parents = rec.needs_grad, rec.parents
        has = [False] * len(rec)
        has[graph.loss] = True
        if graph.penalty >= 0:
            has[graph.penalty] = True
        walk = [i for i in reversed(self.nodes) if needs[i]]
        for c in walk:
            if has[c]:
                for p in parents[c]:
                    if needs[p]:
                        has[p] = True
        self.walk = [c for c in walk if has[c]]

    def _backward_plan(self) -> None:
        rec, graph, row = self.rec, self.graph, self.row
        needs, parents = rec.needs_grad, rec.parents
        n = len(rec)
        walk = self.walk
        # Each number's events, in the walk's order: ("seed", value), ("scalar", node, slot),
        # ("sum", accumulator, factor), ("each", node, slots) (a row node, sample by sample).
        events: list[list[tuple[Any, ...]]] = [[] for _ in range(n)]
        self.place: dict[tuple[int, int], int] = {}  # (scalar node, slot): where in events
        if graph.penalty >= 0 and needs[graph.penalty]:
            events[graph.penalty].append(("seed", "1.0"))
        for c in walk:
            ps = parents[c]
            if not row[c]:
                for q, p in enumerate(ps):
                    if needs[p]:
                        self.place[c, q] = len(events[p])
                        events[p].append(("scalar", c, q))
            elif c in self.neurons:
                k = len(ps) // 2
                scalar_x = [j for j in range(k) if needs[ps[k + 1 + j]] and not row[ps[k + 1 + j]]]
                if needs[ps[0]]:
                    events[ps[0]].append(("sum", f"S{c}_b", None))
                for j in range(k):
                    w, x = ps[1 + j], ps[k + 1 + j]
                    if needs[w]:
                        events[w].append(("sum", f"S{c}_{j}", None))
                    if j in scalar_x:
                        events[x].append(("sum", f"S{c}_b", self.v[w]))
            else:
                seen: dict[int, list[int]] = {}
                for q, p in enumerate(ps):
                    if needs[p] and not row[p]:
                        seen.setdefault(p, []).append(q)
                for p, slots in seen.items():
                    events[p].append(("each", c, slots))
        self.events = events
        # A node of the parameters only whose gradient is whole before the loop: all it gets
        # comes from such nodes (an L2 penalty's).
        early = [False] * n
        for c in walk:
            if not row[c]:
                early[c] = all(
                    ev[0] == "seed" or (ev[0] == "scalar" and early[ev[1]]) for ev in events[c]
                )
        self.is_early = early
        # How far each number's events are added before the loop (its prefix of early events),
        # and which "each" event adds into the gradient in the loop (the first after it).
        self.prefix = [0] * n
        self.in_loop: set[tuple[int, int]] = set()  # (node sending, number receiving)
        for p in range(n):
            evs = events[p]
            k = 0
            while k < len(evs) and (
                evs[k][0] == "seed" or (evs[k][0] == "scalar" and early[evs[k][1]])
            ):
                k += 1
            self.prefix[p] = k
            if k < len(evs) and evs[k][0] == "each":
                self.in_loop.add((evs[k][1], p))
        self.started = [False] * n  # compile time: the gradient of p has a value
        self._write_early()
        self._write_loop_backward()
        self._write_after()

    def _fold(self, lines: list[str], p: int, term: str, row_event: bool = False) -> None:
        """G<p> gets term, as the walk adds it (a row node's start: 0.0 + its sum)."""
        name = f"G{p}"
        if not self.started[p]:
            self.started[p] = True
            self._emit(lines, f"{name} = {'0.0 + ' if row_event else ''}{term}")
        else:
            self._emit(lines, f"{name} = {name} + {term}")

    def _local_derivatives(self, c: int, lines: list[str], out: str) -> list[str]:
        """An expression for d(c)/d(parent q) for each q (names d<c>_<q> if it is called)."""
        rec, v = self.rec, self.v
        op, ps = rec.operations[c], rec.parents[c]
        args = [v[p] for p in ps]
        if op is e.RELU:
            return [f"(0.0 if {args[0]} <= 0 else 1.0)"]
        terms = _derivative_terms(op, len(ps))
        if terms is not None:
            names = {f"x{q}": a for q, a in enumerate(args)} | {"out": out}
            return [
                repr(t)
                if not isinstance(t, Symbol)
                else _SYMBOL.sub(lambda m: names[m[0]], t.source)
                for t in terms
            ]
        d = self.const(op.derivatives, "D")
        targets = [f"d{c}_{q}" for q in range(len(ps))]
        self._emit(lines, f"{', '.join(targets)}, = {d}(floats, {', '.join([*args, out])})")
        return targets

    @staticmethod
    def _times(g: str, d: str) -> str:
        """g * d as the walk computes it (g * 1.0 is g)."""
        if d == "1.0":
            return g
        return f"{g} * {d}" if re.fullmatch(r"[\w.]+", d) else f"{g} * ({d})"

    def _scalar_backward(self, c: int, lines: list[str], only_early: bool) -> None:
        """A node of the parameters only: its grad times each local derivative to its parents."""
        rec = self.rec
        needs = rec.needs_grad
        ds = self._local_derivatives(c, lines, self.v[c])
        for q, p in enumerate(rec.parents[c]):
            if not needs[p]:
                continue
            term = self._times(f"G{c}", ds[q])
            where = self.place[c, q]
            if not only_early or where < self.prefix[p]:
                self._fold(lines, p, term)
            else:  # added after the loop, in its place among the others
                self._emit(lines, f"t{c}_{q} = {term}")

    def _write_early(self) -> None:
        lines = self.early
        graph = self.graph
        if graph.penalty >= 0 and self.events[graph.penalty][:1] == [("seed", "1.0")]:
            self._fold(lines, graph.penalty, "1.0")
        for c in self.walk:
            if not self.row[c] and self.is_early[c]:
                self._scalar_backward(c, lines, only_early=True)
        for _, p in sorted(self.in_loop):
            if not self.started[p]:  # the walk's 0.0 before the row node's first sample
                self.started[p] = True
                self._emit(lines, f"G{p} = 0.0")
        # accumulators: a neuron's sums and the lists of a row node's later contributions
        self.sums: set[str] = set()
        self.lists: set[str] = set()
        for p, evs in enumerate(self.events):
            for ev in evs:
                if ev[0] == "sum":
                    self.sums.add(ev[1])
                elif ev[0] == "each" and (ev[1], p) not in self.in_loop:
                    self.lists.add(f"L{ev[1]}_{p}")
        sums = sorted(self.sums)
        for at in range(0, len(sums), _TERMS):
            self._emit(lines, f"{' = '.join(sums[at : at + _TERMS])} = 0.0")
        for name in sorted(self.lists):
            self._emit(lines, f"{name} = []")
            self._emit(lines, f"{name}_append = {name}.append")

    # -- one sample's backward pass, in the loop --------------------------------------------------

    def _write_loop_backward(self) -> None:
        rec, row, graph, v = self.rec, self.row, self.graph, self.v
        needs, parents = rec.needs_grad, rec.parents
        lines = self.backward
        # Row numbers: a ReLU neuron's contributions may be skipped, so its targets start at 0.0.
        conditional: set[int] = set()
        for c in self.walk:
            if row[c] and rec.operations[c] is fast.RELU_WEIGHTED_SUM and c in self.neurons:
                ps = parents[c]
                k = len(ps) // 2
                conditional |= {x for x in ps[k + 1 :] if row[x] and needs[x]}
        for x in sorted(conditional):
            self._emit(lines, f"g{x} = 0.0")
        begun = set(conditional)
        if needs[graph.loss]:
            self._emit(lines, f"g{graph.loss} = seed")
            begun.add(graph.loss)

        def add(target: int, term: str, into: list[str], indent: str) -> None:
            if target in begun:
                into.append(f"{indent}g{target} += {term}")
            else:
                begun.add(target)
                into.append(f"{indent}g{target} = {term}")
            self._count(into)

        for c in self.walk:
            if not row[c]:
                continue
            g = f"g{c}"
            ps = parents[c]
            if c in self.neurons:
                self._neuron_backward(c, g, add)
                continue
            ds = self._local_derivatives(c, lines, v[c])
            for q, p in enumerate(ps):
                if not needs[p]:
                    continue
                term = self._times(g, ds[q])
                if row[p]:
                    add(p, term, lines, "")
                elif (c, p) in self.in_loop:
                    self._emit(lines, f"G{p} += {term}")
                else:
                    self._emit(lines, f"L{c}_{p}_append({term})")

    def _neuron_backward(self, c: int, g: str, add: Any) -> None:
        rec, row, v = self.rec, self.row, self.v
        needs, ps = rec.needs_grad, rec.parents[c]
        lines = self.backward
        k = len(ps) // 2
        op = rec.operations[c]
        relu = op is fast.RELU_WEIGHTED_SUM
        name = op.name
        body: list[str] = []
        indent = "    " if relu else ""
        dz = f"dz{c}"
        if relu:
            # inactive with finite z and grad: every contribution a zero that changes no sum
            z = f"z{c}"
            lines.append(f"if not (-inf < {z} <= 0 and -inf < {g} < inf):")
            self._count(lines)
            body.append(f"{indent}{dz} = {g} * 0.0 if {z} <= 0 else {g}")
        elif name in _SLOPES:
            body.append(f"{dz} = {g} * {_SLOPES[name].format(v[c])}")
        elif op is fast.WEIGHTED_SUM:
            dz = g
        else:
            slope = self.const(self.neurons[c][1], "A")
            body.append(f"{dz} = {g} * {slope}({v[c]})")
        self._count(body, len(body))
        if f"S{c}_b" in self.sums:
            body.append(f"{indent}S{c}_b += {dz}")
            self._count(body)
        for j in range(k):
            w, x = ps[1 + j], ps[k + 1 + j]
            if needs[w]:
                body.append(f"{indent}S{c}_{j} += {dz} * {v[x]}")
                self._count(body)
            if needs[x] and row[x]:
                add(x, f"{dz} * {v[w]}", body, indent)
        if relu and len(body) == 1:
            body.append(f"{indent}pass")
        lines += body

    # -- after the loop ---------------------------------------------------------------------------

    def _write_after(self) -> None:
        rec, row = self.rec, self.row
        lines = self.after
        for c in self.walk:
            if row[c]:
                self._after_row(c)
            elif self.is_early[c]:
                for q, p in enumerate(rec.parents[c]):
                    if rec.needs_grad[p] and self.place[c, q] >= self.prefix[p]:
                        self._fold(lines, p, f"t{c}_{q}")
            else:
                self._scalar_backward(c, lines, only_early=False)

    def _after_row(self, c: int) -> None:
        """What row node c sent its parameters-only parents over the samples, in its place."""
        rec = self.rec
        lines = self.after
        ps = rec.parents[c]
        if c in self.neurons:
            k = len(ps) // 2
            needs = rec.needs_grad
            if needs[ps[0]]:
                self._fold(lines, ps[0], f"S{c}_b", row_event=True)
            for j in range(k):
                w, x = ps[1 + j], ps[k + 1 + j]
                if needs[w]:
                    self._fold(lines, w, f"S{c}_{j}", row_event=True)
                if needs[x] and not self.row[x]:
                    self._fold(lines, x, f"{self.v[w]} * S{c}_b", row_event=True)
            return
        for p in dict.fromkeys(ps):
            if not rec.needs_grad[p] or self.row[p]:
                continue
            if (c, p) in self.in_loop:
                continue
            start = f"G{p}" if self.started[p] else "0.0"  # the walk's 0.0 if it is the first
            self.started[p] = True
            self._emit(lines, f"G{p} = sumlr(L{c}_{p}, {start})")

    # -- the function -----------------------------------------------------------------------------

    def source(self) -> str:
        rec, graph, row, v = self.rec, self.graph, self.row, self.v
        head: list[str] = []
        params = [v[i] if i >= 0 else "_" for i in graph.parameter_nodes]
        if params:
            head.append(f"{', '.join(params)}, = P")
        constants = [
            i for i, kind in enumerate(rec.kinds) if kind not in (NODE, PARAMETER) and not row[i]
        ]
        if constants:
            values = self.const([rec.constants[rec.slots[i]] for i in constants], "K")
            head.append(f"{', '.join(v[i] for i in constants)}, = {values}")
        inputs = [v[i] if i >= 0 else "_" for i in graph.input_nodes]
        outputs = graph.outputs
        body = [_HEADER, "def replay(P, D, backward, seed):", *("    " + line for line in head)]
        body += ["    " + line for line in self.before]
        body.append("    losses = []")
        body.append("    losses_append = losses.append")
        row_outputs = sorted({o for o in outputs if row[o]})
        for o in row_outputs:
            body.append(f"    out{o} = []")
            body.append(f"    out{o}_append = out{o}.append")
        body.append("    if backward:")
        body += ["        " + line for line in self.early] or ["        pass"]
        body.append(f"    for {', '.join(inputs)}, in D:")
        body += ["        " + line for line in self.forward]
        body.append(f"        losses_append({v[graph.loss]})")
        body += [f"        out{o}_append({v[o]})" for o in row_outputs]
        if self.backward:
            body.append("        if backward:")
            body += ["            " + line for line in self.backward]
        columns, named = [], set()  # an output asked for twice: two lists, as the walk gives
        for o in outputs:
            if not row[o]:
                columns.append(f"[{v[o]}] * len(D)")
            else:
                columns.append(f"list(out{o})" if o in named else f"out{o}")
                named.add(o)
        outs = ", ".join(columns)
        penalty = v[graph.penalty] if graph.penalty >= 0 else "None"
        body.append("    if not backward:")
        body.append(f"        return losses, [{outs}], {penalty}, None")
        body += ["    " + line for line in self.after]
        grads = [f"G{i}" if i >= 0 and self.started[i] else "0.0" for i in graph.parameter_nodes]
        body.append(f"    return losses, [{outs}], {penalty}, [{', '.join(grads)}]")
        return "\n".join(body) + "\n"

    def lines_per_sample(self) -> tuple[int, int]:
        return len(self.forward), len(self.backward)


def compile_loop(
    graph: SampleGraph, neurons: dict[int, Any], max_lines: int
) -> tuple[Any, LoopWriter]:
    """The replay function of graph and its writer (TooLarge if its code would be too long)."""
    writer = LoopWriter(graph, neurons, max_lines)
    text = writer.source()
    writer.text = text
    exec(compile(text, "<gradengine batched replay>", "exec"), writer.namespace)
    return writer.namespace["replay"], writer
