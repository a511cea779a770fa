"""explain(root): the backward pass told step by step, as the chain rule computes it.

explain() runs its own backward pass on the recorded local derivatives, in a list of its own:
it neither needs root.backward() to have been called nor changes any .grad, so its numbers are
the gradients of root alone even when .grad holds sums from earlier backward() calls.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from gradengine.checks import check_size
from gradengine.engine import Value
from gradengine.fast import paused_gc
from gradengine.higher import local_grads
from gradengine.viz.formulas import (
    derivative_text,
    forward_expression,
    grouped,
    local_formulas,
)
from gradengine.viz.graph import Graph, build_graph, check_root, number

#: How many paths into one gradient are listed by name before "and N more".
LISTED_PATHS = 6

#: mark(quantity, node, text): how a number of the account is written, given what it is ("data"
#: or "grad") and the node it belongs to; the page marks those class mode hides.
Mark = Callable[[str, int, str], str]


def unmarked(quantity: str, node: int, text: str) -> str:
    """text as it is: every number shown."""
    return text


@dataclass(frozen=True)
class Contribution:
    """One term of the chain rule: grad of `consumer` x local derivative, added to `parent`."""

    consumer: int
    parent: int
    upstream: float
    local: float
    amount: float
    running: float  # the parent's grad once this term is added


@dataclass
class BackwardStep:
    """What the backward pass does at one interior node, and the same in words."""

    node: int
    grad: float
    contributions: list[Contribution] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)


@dataclass
class BackwardAccount:
    """The whole backward pass: one step per interior node, every node's grad, the leaves' story."""

    graph: Graph
    steps: list[BackwardStep]
    grads: list[float]
    leaf_lines: list[str]
    omitted_steps: int


def forward_line(graph: Graph, i: int, mark: Mark = unmarked) -> str:
    """'d = a * b = 2.0 * 3.0 = 6.0', or 'a = 2.0 (a leaf)'."""
    node, names = graph.nodes[i], graph.names
    if not node._parents:
        return f"{names[i]} = {mark('data', i, number(node.data))} (a leaf: an input or a constant)"
    parents = graph.parents_of(i)
    in_names = forward_expression(node._op, [names[p] for p in parents])
    in_numbers = forward_expression(
        node._op, [mark("data", p, number(graph.nodes[p].data)) for p in parents]
    )
    return f"{names[i]} = {in_names} = {in_numbers} = {mark('data', i, number(node.data))}"


def received_line(
    graph: Graph, node: int, incoming: list[tuple[int, float]], mark: Mark = unmarked
) -> str:
    """How node's grad was assembled: from the output itself, one path, or several summed."""
    name, names = graph.names[node], graph.names
    grad = sum_in_order([amount for _, amount in incoming])
    if node == len(graph.nodes) - 1:
        return f"grad {name} = {mark('grad', node, f'1.0 (the output: ∂{name}/∂{name} = 1)')}"
    if len(incoming) == 1:
        consumer, amount = incoming[0]
        return (
            f"grad {name} = {mark('grad', node, number(amount))}, received from {names[consumer]}"
        )
    # In the order the forward pass ran; only the listed paths are formatted, as a value used a
    # million times receives a million terms.
    hidden = len(incoming) - LISTED_PATHS + 1 if len(incoming) > LISTED_PATHS else 0
    shown = heapq.nsmallest(len(incoming) - hidden, incoming, key=lambda pair: pair[0])
    parts = [
        f"{mark('grad', node, number(amount))} via {names[consumer]}" for consumer, amount in shown
    ]
    if hidden:
        parts.append(f"{hidden:,} more")
    listed = ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{name} receives {listed}: total {mark('grad', node, number(grad))}"


def sum_in_order(amounts: list[float]) -> float:
    """a1 + a2 + ..., left to right as backward() accumulates them."""
    total = 0.0
    for amount in amounts:
        total += amount
    return total


def told_step(
    graph: Graph,
    i: int,
    received: list[tuple[int, float]],
    grads: list[float],
    incoming: dict[int, list[tuple[int, float]]],
    mark: Mark = unmarked,
) -> BackwardStep:
    """Node i's step of the backward pass, in numbers and in words; adds its terms to grads."""
    node, names = graph.nodes[i], graph.names
    grad = grads[i]
    parents = graph.parents_of(i)
    formulas = local_formulas(node._op, [names[p] for p in parents], names[i])
    step = BackwardStep(node=i, grad=grad)
    step.lines = [forward_line(graph, i, mark), "  " + received_line(graph, i, received, mark)]
    for k, (p, local) in enumerate(zip(parents, local_grads(node), strict=True)):
        amount = grad * local
        grads[p] += amount
        incoming.setdefault(p, []).append((i, amount))
        step.contributions.append(Contribution(i, p, grad, local, amount, grads[p]))
        derivative = derivative_text(names[i], names[p], formulas[k], local)
        step.lines.append(
            f"  {derivative}, so {names[p]} receives {mark('grad', i, number(grad))} × "
            f"{grouped(number(local))} = {mark('grad', p, number(amount))}"
        )
    return step


def backward_account(
    graph: Graph, max_steps: int | None = None, mark: Mark = unmarked
) -> BackwardAccount:
    """Every node's grad by the chain rule, with the first max_steps steps told in words."""
    nodes, index = graph.nodes, graph.index
    grads = [0.0] * len(nodes)
    root = len(nodes) - 1
    grads[root] = 1.0
    # Terms waiting for their node's turn; a node's entry is dropped once told, so a long chain
    # holds one entry at a time.
    incoming: dict[int, list[tuple[int, float]]] = {root: []}
    steps: list[BackwardStep] = []
    omitted = 0
    for i in range(root, -1, -1):
        node = nodes[i]
        if not node._parents:
            continue
        received = incoming.pop(i)
        if max_steps is None or len(steps) < max_steps:
            steps.append(told_step(graph, i, received, grads, incoming, mark))
            continue
        # An untold step still passes its terms on: the leaves' lines need every one of them.
        omitted += 1
        grad = grads[i]
        for parent, local in zip(node._parents, local_grads(node)):
            p = index[id(parent)]
            amount = grad * local
            grads[p] += amount
            incoming.setdefault(p, []).append((i, amount))
    leaf_lines = []
    for i, node in enumerate(nodes):
        if not node._parents:
            story = received_line(graph, i, incoming.get(i, []), mark)
            leaf_lines.append(f"  {story}")
    return BackwardAccount(graph, steps, grads, leaf_lines, omitted)


def explain(root: Value, max_steps: int | None = None) -> str:
    """The backward pass of root in words: each node's local derivatives and what it passes on."""
    root = check_root(root, "explain()")
    if max_steps is not None:
        max_steps = check_size(max_steps, "max_steps", minimum=0)
    graph = build_graph(root)
    with paused_gc():
        account = backward_account(graph, max_steps)
    name = graph.names[-1]
    lines = [
        f"Backward pass of {name} = {number(root.data)}, from the output back to the leaves.",
        f"Each node's grad is ∂{name}/∂node; it passes grad × local derivative to each input,",
        "and a value used more than once adds up everything it receives.",
    ]
    for step in account.steps:
        lines.append("")
        lines.extend(step.lines)
    if account.omitted_steps:
        lines += ["", f"... {account.omitted_steps:,} more steps (max_steps={max_steps})"]
    lines += ["", f"Gradients of the leaves (∂{name}/∂leaf):", *account.leaf_lines]
    return "\n".join(lines) + "\n"
