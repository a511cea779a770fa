"""One point's chain rule: its whole computation graph at the run's current weights, as the
step-through view's data (gradengine.viz.graph_payload, drawn in the page by page.js).

The graph is built on a copy of the model (the run's .grad stays as the last step left it):
the point's inputs x1, x2, every neuron as one node over its w1..wn, b and inputs, the score,
and this point's loss, then backward(). Each neuron's output is tagged ``neuron-<k>`` (k counts
the neurons layer by layer, as the page does), so the page can highlight the neuron hovered.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gradengine.engine import Value
from gradengine.playground import engines
from gradengine.playground.setup import PLANE_LIMIT
from gradengine.viz import graph_payload

if TYPE_CHECKING:
    from gradengine.playground.run import Run

#: The most nodes the page draws: a larger network is refused with a message.
MAX_NODES = 2000


def _coordinate(fields: Mapping[str, object], key: str) -> float:
    x = fields.get(key)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"{key} must be a number, got {x!r:.40}")
    if not (math.isfinite(x) and abs(x) <= PLANE_LIMIT):
        raise ValueError(f"{key} must be a number within ±{PLANE_LIMIT:g}, got {x!r}")
    return float(x)


def point_graph(run: Run, x: float, y: float, label: int) -> tuple[Value, list[Value]]:
    """The loss of the point (x, y) of class label at the run's weights, after backward(), and
    every neuron's output (layer by layer, the score last)."""
    twin = copy.deepcopy(run.mlp)
    out: list[Value] = [Value(x, label="x1"), Value(y, label="x2")]
    neurons: list[Value] = []
    last = len(twin.layers) - 1
    for li, layer in enumerate(twin.layers):
        names = (
            ["score"] if li == last else [f"h{li + 1}.{j + 1}" for j in range(len(layer.neurons))]
        )
        for name, n in zip(names, layer.neurons, strict=True):
            # The lecture's names, w1..wn and b, each prefixed by the neuron it belongs to.
            for k, w in enumerate(n.w):
                w.label = f"{name}.w{k + 1}"
            n.b.label = f"{name}.b"
        out = layer.forward(out)
        for name, node in zip(names, out, strict=True):
            node.label = name
        neurons.extend(out)
    wanted = engines.targets([label], run.setup.loss)
    loss = engines.data_loss(out[:1], wanted, run.setup.loss)
    loss.label = "loss"
    loss.backward()
    return loss, neurons


def point_view(run: Run, fields: Mapping[str, object]) -> dict[str, Any]:
    """The view of one point's graph: {"graph": graph_payload(...), "title", "subtitle"}.

    fields: x, y (numbers), label (0 or 1), neuron (the one to highlight, or None) and hide
    (class mode: "grad", "data", or "" / None for off).
    """
    x, y = _coordinate(fields, "x"), _coordinate(fields, "y")
    label = fields.get("label")
    if isinstance(label, bool) or label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r:.40}")
    hide = fields.get("hide") or None
    if hide is not None and not isinstance(hide, str):
        raise ValueError(f'hide must be "grad", "data" or "", got {hide!r:.40}')
    neuron = fields.get("neuron")
    size = len(run.parameters) + sum(run.setup.hidden) + 10
    if size > MAX_NODES:
        raise ValueError(
            f"this network's graph has about {size} nodes; the page draws at most {MAX_NODES}"
        )
    loss, neurons = point_graph(run, x, y, int(label))
    chosen = None
    if isinstance(neuron, int) and not isinstance(neuron, bool) and 0 <= neuron < len(neurons):
        chosen = neurons[neuron]
    tags = {f"neuron-{k}": node for k, node in enumerate(neurons)}
    graph = graph_payload(loss, hide=hide, highlight=chosen, tags=tags)
    return {
        "graph": graph,
        "title": f"One point's chain rule at step {run.steps}: ({x:.3g}, {y:.3g}), class {label}",
        "subtitle": (
            f"the loss of this point alone ({run.setup.loss}, without L2) at the current "
            f"weights: {graph['subtitle']}"
        ),
    }
