"""One point's chain rule: its whole computation graph at the run's current weights, as a page.

The graph is built on a copy of the model (the run's .grad stays as the last step left it):
the point's inputs x1, x2, every neuron as one node over its w1..wn, b and inputs, the score,
and this point's loss, then backward(). The page is gradengine.viz.to_html's step-through
view; point_page is the one place that makes it, so another view can replace it.
"""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from gradengine.engine import Value
from gradengine.playground import engines
from gradengine.playground.setup import PLANE_LIMIT
from gradengine.viz import to_html

if TYPE_CHECKING:
    from gradengine.playground.run import Run

#: The most nodes the page draws: a larger network is refused with a message.
MAX_NODES = 2000


def _coordinate(fields: Mapping[str, str], key: str) -> float:
    try:
        x = float(fields.get(key, ""))
    except ValueError:
        raise ValueError(f"{key} must be a number, got {fields.get(key, '')[:40]!r}") from None
    if not (math.isfinite(x) and abs(x) <= PLANE_LIMIT):
        raise ValueError(f"{key} must be a number within ±{PLANE_LIMIT:g}, got {x!r}")
    return x


def point_graph(run: Run, x: float, y: float, label: int, neuron: int | None) -> Value:
    """The loss of the point (x, y) of class label, at the run's weights, after backward()."""
    twin = copy.deepcopy(run.mlp)
    out: list[Value] = [Value(x, label="x1"), Value(y, label="x2")]
    count = 0
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
            node.label = f"★ {name}" if neuron == count else name
            count += 1
    wanted = engines.targets([label], run.setup.loss)
    loss = engines.data_loss(out[:1], wanted, run.setup.loss)
    loss.label = "loss"
    loss.backward()
    return loss


def point_page(run: Run, fields: Mapping[str, str]) -> str:
    """The step-through page of one point's graph; fields: x, y, label, neuron and hide."""
    x, y = _coordinate(fields, "x"), _coordinate(fields, "y")
    label_text = fields.get("label", "")
    if label_text not in ("0", "1"):
        raise ValueError(f"label must be 0 or 1, got {label_text[:40]!r}")
    neuron_text = fields.get("neuron", "")
    neuron = int(neuron_text) if neuron_text.isdigit() and len(neuron_text) < 6 else None
    size = len(run.parameters) + sum(run.setup.hidden) + 10
    if size > MAX_NODES:
        raise ValueError(
            f"this network's graph has about {size} nodes; the page draws at most {MAX_NODES}"
        )
    loss = point_graph(run, x, y, int(label_text), neuron)
    title = f"One point's chain rule at step {run.steps}: ({x:.3g}, {y:.3g}), class {label_text}"
    subtitle = f"loss of this point alone ({run.setup.loss}, without L2) at the current weights"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "graph.html"
        to_html(loss, path, title=title, subtitle=subtitle, force=True)
        page = path.read_text("utf-8")
    hide = fields.get("hide", "")
    if hide not in ("", "grads", "values"):
        raise ValueError(f"hide must be grads or values, got {hide[:40]!r}")
    return with_class_mode(page, hide) if hide else page


def with_class_mode(page: str, hide: str) -> str:
    """page with its grads (hide="grads") or values ("values") shown as ? until revealed."""
    script = resources.files("gradengine.playground").joinpath("static").joinpath("class_mode.js")
    tag = f'<script data-hide="{hide}">\n{script.read_text("utf-8")}</script>\n'
    head, body_end, tail = page.rpartition("</body>")
    return head + tag + body_end + tail if body_end else page + tag
