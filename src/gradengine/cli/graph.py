"""`gradengine graph`: write the DOT, SVG, HTML page and explanation of an example graph."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from gradengine.cli.examples import EXAMPLES
from gradengine.files import write_atomic
from gradengine.viz import draw, explain, to_dot, to_html

DEFAULT_EXAMPLE = "expression"


def add_parser(subparsers: Any) -> None:
    """Register the `graph` subcommand on an argparse subparsers object."""
    listing = "; ".join(f"{name}: {example.description}" for name, example in EXAMPLES.items())
    parser = subparsers.add_parser(
        "graph",
        help="draw a computation graph and step through its backward pass in the browser",
        description=(
            "Write graph.dot, graph.svg (when Graphviz's `dot` is installed), graph.html "
            "(open it in a browser: arrow keys step, space plays) and explain.txt for an "
            "example computation graph."
        ),
        epilog=f"examples: {listing}",
    )
    parser.add_argument(
        "--example",
        choices=list(EXAMPLES),
        default=DEFAULT_EXAMPLE,
        help="which graph (default: %(default)s)",
    )
    parser.add_argument(
        "--out", metavar="DIR", default="graph", help="folder to write into (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Build the example, backpropagate, write the four files; 0 on success, 1 on failure."""
    example = EXAMPLES[args.example]
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"gradengine graph: cannot create the folder {out}: {error}", file=sys.stderr)
        return 1
    root = example.build()
    root.backward()
    print(f"{args.example}: {example.description}")
    write_atomic(out / "graph.dot", to_dot(root))
    write_atomic(out / "explain.txt", explain(root))
    to_html(root, out / "graph.html", subtitle=example.description)
    written = [out / "graph.dot", out / "graph.html", out / "explain.txt"]
    if shutil.which("dot") is None:
        print("graph.svg skipped: Graphviz's `dot` is not installed (apt-get install graphviz)")
    else:
        try:
            draw(root, out / "graph.svg")
            written.insert(1, out / "graph.svg")
        except ImportError as error:
            print(f"graph.svg skipped: {error}")
    for path in written:
        print(f"wrote {path}")
    print(f"open {out / 'graph.html'} in a browser: arrow keys step, space plays")
    return 0
