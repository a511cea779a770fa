"""The playground: train an MLP live in the browser, and open any point's chain rule.

``gradengine playground`` on the command line, or from Python::

    from gradengine import playground
    page = playground.serve()      # a local server on 127.0.0.1, behind a token
    page.url                       # the address to open
    page                           # in Jupyter: the page itself, inline
    page.stop()
"""

from __future__ import annotations

import html
import threading
import webbrowser
from types import TracebackType
from typing import TYPE_CHECKING

from gradengine.checks import describe

if TYPE_CHECKING:  # the server module is imported when a server starts, not with gradengine
    from gradengine.playground.server import Playground

__all__ = ["Handle", "serve"]


class Handle:
    """A running playground server: its url, stop(), and the page inline in Jupyter."""

    def __init__(self, server: Playground, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.url: str = server.url
        self.port: int = server.port

    def stop(self) -> None:
        """Stop serving and free the port (safe to call twice)."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def _repr_html_(self) -> str:
        """An iframe showing the page, for Jupyter."""
        url = html.escape(self.url, quote=True)
        return (
            f'<iframe src="{url}" title="gradengine playground" width="100%" height="860" '
            f'style="border: 1px solid #ccc"></iframe><p><a href="{url}" target="_blank">'
            "open the playground in its own tab</a></p>"
        )

    def __repr__(self) -> str:
        return f"<gradengine playground at {self.url}>"

    def __enter__(self) -> Handle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def serve(port: int = 0, *, open_browser: bool = False, token: str | None = None) -> Handle:
    """Start the playground on 127.0.0.1:port (0: a free port) in a background thread."""
    from gradengine.playground.server import Playground

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise TypeError(f"port must be an int from 0 to 65535, got {describe(port)}")
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        raise ValueError("token must be a str of at least 16 characters, or None for a random one")
    server = Playground(port, token)
    thread = threading.Thread(
        target=server.serve_forever, name="gradengine-playground", daemon=True
    )
    thread.start()
    handle = Handle(server, thread)
    if open_browser:
        webbrowser.open(handle.url)
    return handle
