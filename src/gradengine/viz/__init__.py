"""See backprop: drawings (DOT, Mermaid, an interactive page), a chain-rule account, statistics."""

from gradengine.viz.dot import draw, draw_dot, to_dot
from gradengine.viz.explain import explain
from gradengine.viz.graph import MAX_DRAWN_VALUES, GraphTooLargeError
from gradengine.viz.html import graph_payload, to_html
from gradengine.viz.mermaid import to_mermaid
from gradengine.viz.stats import GraphStats, graph_stats

__all__ = [
    "MAX_DRAWN_VALUES",
    "GraphStats",
    "GraphTooLargeError",
    "draw",
    "draw_dot",
    "explain",
    "graph_payload",
    "graph_stats",
    "to_dot",
    "to_html",
    "to_mermaid",
]
