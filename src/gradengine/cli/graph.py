"""`gradengine graph`: write the DOT, SVG, HTML page and explanation of an example graph, or of
an expression typed on the command line (`--expr "tanh(x*w + b)" --set x=2,w=-3,b=6.88`)."""

from __future__ import annotations

import argparse
import shutil
import sys
import warnings
from pathlib import Path
from typing import Any

from gradengine.cli import expression
from gradengine.cli.examples import EXAMPLES
from gradengine.engine import Value
from gradengine.files import write_atomic
from gradengine.viz import MAX_DRAWN_VALUES, GraphTooLargeError, draw, explain, to_dot, to_html
from gradengine.viz.graph import HIDDEN_QUANTITIES, build_graph, number

DEFAULT_EXAMPLE = "expression"
#: How long Graphviz's dot may take to draw graph.svg before it is stopped and the SVG skipped.
SVG_SECONDS = 60.0


def add_parser(subparsers: Any) -> None:
    """Register the `graph` subcommand on an argparse subparsers object."""
    listing = "; ".join(f"{name}: {example.description}" for name, example in EXAMPLES.items())
    parser = subparsers.add_parser(
        "graph",
        help="draw a computation graph and step through its backward pass in the browser",
        description=(
            "Write graph.dot, graph.svg (when Graphviz's `dot` is installed), graph.html "
            "(open it in a browser: arrow keys step, space plays) and explain.txt for an "
            "example computation graph, or for an expression of your own (--expr with --set)."
        ),
        epilog=(
            f"examples: {listing}. "
            f'An expression, such as --expr "tanh(x*w + b)" --set x=2,w=-3,b=6.88, may use '
            f"names, numbers, + - * / **, unary minus and {', '.join(expression.FUNCTIONS)}. "
            'Name inner values with statements, in any order: --expr "L = d * f; d = e + c; '
            "e = a * b\" --set a=2,b=-3,c=10,f=-2 (the first statement's name is the output)."
        ),
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--example",
        choices=list(EXAMPLES),
        default=None,
        help=f"which built-in graph (default: {DEFAULT_EXAMPLE})",
    )
    which.add_argument(
        "--expr",
        metavar="EXPRESSION",
        help='an expression to draw, such as "tanh(x*w + b)", or statements that name inner '
        'values, such as "L = d * f; d = e + c; e = a * b" (parsed, never run as Python)',
    )
    parser.add_argument(
        "--set",
        metavar="NAME=NUMBER,...",
        action="append",
        default=[],
        dest="settings",
        help="the value of each name in --expr, such as x=2,w=-3,b=6.88 (may be repeated)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default="graph", help="folder to write into (default: %(default)s)"
    )
    parser.add_argument(
        "--hide",
        choices=HIDDEN_QUANTITIES,
        default=None,
        help="class mode: show every grad (or the data of every computed value) as ? in "
        "graph.dot, graph.svg and graph.html, revealed on the page by a click or all at once "
        "with R; explain.txt keeps every number (the answers)",
    )


def graph_to_draw(args: argparse.Namespace) -> tuple[Value, str, str]:
    """The graph the arguments ask for, its one-line description, and its title (or "")."""
    if args.expr is None:
        if args.settings:
            raise ValueError("--set gives the values of the names in --expr; add --expr")
        name = args.example or DEFAULT_EXAMPLE
        example = EXAMPLES[name]
        return example.build(), example.description, ""
    values: dict[str, float] = {}
    for text in args.settings:
        for key, value in expression.parse_settings(text).items():
            if key in values:
                raise ValueError(f"--set gives {key} twice")
            values[key] = value
    root = expression.build(args.expr, values)
    where = ", ".join(f"{key} = {number(value)}" for key, value in values.items())
    description = f"{args.expr.strip()} at {where}" if where else args.expr.strip()
    shown = root.label if expression.statements(args.expr) else args.expr.strip()
    return root, description, f"Backpropagation through {shown}"


def run(args: argparse.Namespace) -> int:
    """Build the graph, backpropagate, write the four files; 0 on success, 1 on failure, 2 when
    the expression or its values are refused."""
    try:
        root, description, title = graph_to_draw(args)
        build_graph(root, limit=MAX_DRAWN_VALUES)  # refuse a graph too large to draw, up front
    except (ValueError, GraphTooLargeError) as error:
        print(f"gradengine graph: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"gradengine graph: cannot create the folder {out}: {error}", file=sys.stderr)
        return 1
    root.backward()
    print(
        description
        if args.expr is not None
        else f"{args.example or DEFAULT_EXAMPLE}: {description}"
    )
    hide = args.hide
    write_atomic(out / "graph.dot", to_dot(root, hide=hide))
    write_atomic(out / "explain.txt", explain(root))
    to_html(root, out / "graph.html", title=title or None, subtitle=description, hide=hide)
    written = [out / "graph.dot", out / "graph.html", out / "explain.txt"]
    if shutil.which("dot") is None:
        print(
            "graph.svg skipped: Graphviz's `dot` is not installed (apt-get install graphviz, "
            "brew install graphviz, or winget install graphviz)"
        )
    else:
        try:
            with warnings.catch_warnings(record=True) as notes:
                warnings.simplefilter("always", UserWarning)
                draw(root, out / "graph.svg", hide=hide, timeout=SVG_SECONDS)
            written.insert(1, out / "graph.svg")
            for note in notes:
                print(f"graph.svg: {str(note.message).removeprefix('draw(): ')}")
        except (ImportError, RuntimeError) as error:  # no graphviz package, dot failed or slow
            print(f"graph.svg skipped: {str(error).removeprefix('draw(): ')}")
    for path in written:
        print(f"wrote {path}")
    print(f"open {out / 'graph.html'} in a browser: arrow keys step, space plays")
    if hide is not None:
        shown = "every grad" if hide == "grad" else "the data of every computed value"
        print(
            f"class mode: {shown} shows as ? (click one to reveal it, R for all); "
            f"{out / 'explain.txt'} holds the answers"
        )
    return 0
