"""`gradengine playground`: serve the live training page on 127.0.0.1 until Ctrl-C."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Register the `playground` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser(
        "playground",
        help="train a network live in the browser and open any point's chain rule",
        description="Serve the playground on 127.0.0.1 (behind a token, as Jupyter does) and "
        "open it in the browser. Ctrl-C stops it.",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=0,
        help="the port to listen on (default: a free one)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address without opening a browser"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {port}")
    return port


def _has_display() -> bool:
    """Whether a browser could open a window: always on macOS and Windows, else with a display."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; 0 then, 2 when the port cannot be had."""
    import threading
    import webbrowser

    from gradengine.playground.server import Playground

    try:
        server = Playground(args.port)
    except OSError as error:
        why = "is in use" if error.errno == errno.EADDRINUSE else f"cannot be used ({error})"
        print(f"gradengine playground: error: argument --port: {args.port} {why}", file=sys.stderr)
        return 2
    print(f"gradengine playground: serving at {server.url}", flush=True)
    print("(open that address, token included; Ctrl-C stops the server)", flush=True)
    if not args.no_browser:
        if _has_display():
            threading.Thread(target=webbrowser.open, args=(server.url,), daemon=True).start()
        else:
            print("(no display here: open the address in a browser yourself)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\ngradengine playground: stopped", flush=True)
    finally:
        server.server_close()
    return 0
