"""The playground's HTTP server: the standard library's, on loopback, behind a token.

Every request must carry the token (``?token=``, the ``X-Playground-Token`` header, or the cookie
the page sets on its first load), a Host naming this server (127.0.0.1:PORT or localhost:PORT,
so a rebound DNS name is refused), and, when it has one, an Origin of this server's own. It
serves its own three files and a small JSON API; anything else is a 4xx, and no request, however
malformed, stops the server. The page draws a point's chain rule with the step-through view's
own script and style (gradengine.viz.html.view_files()), served beside the page's.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gradengine.playground import chain, export
from gradengine.playground.run import Run
from gradengine.playground.setup import parse_setup
from gradengine.viz.html import view_files

#: The largest request body read; the setup, a point or a weight take a few hundred bytes.
MAX_BODY = 64 * 1024
#: The most runs kept at once (one per tab); the least recently used is closed first.
MAX_RUNS = 8
#: The most steps one request may ask for.
MAX_STEPS_PER_REQUEST = 1000
JS, CSS = "text/javascript; charset=utf-8", "text/css; charset=utf-8"
#: The page's own files, in gradengine/playground/static.
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/playground.js": ("playground.js", JS),
    "/static/playground.css": ("playground.css", CSS),
}
#: The step-through view's files, from gradengine.viz.
VIEW = {"/static/page.js": ("page.js", JS), "/static/page.css": ("page.css", CSS)}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self' http://localhost:* http://127.0.0.1:*"
)


class RequestError(Exception):
    """A request this server refuses: an HTTP status and a message for the page."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class Playground(ThreadingHTTPServer):
    """The server: its token, its runs and its files."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, port: int = 0, token: str | None = None) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.token = token or secrets.token_hex(24)
        self.port = self.server_address[1]
        self.cookie_name = f"gradengine_playground_{self.port}"
        self.hosts = {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        self.origins = {f"http://{host}" for host in self.hosts}
        self.runs: OrderedDict[str, Run] = OrderedDict()
        self.runs_lock = threading.Lock()
        package = resources.files("gradengine.playground").joinpath("static")
        self.files = {
            path: (package.joinpath(name).read_bytes(), kind)
            for path, (name, kind) in STATIC.items()
        }
        view = view_files()
        self.files.update(
            {path: (view[name].encode(), kind) for path, (name, kind) in VIEW.items()}
        )
        # The page names its scripts and styles with the token: inside another site's page (a
        # notebook's iframe) the browser does not send the page's cookie with them.
        page, kind = self.files["/"]
        for path in self.files:
            if path != "/":
                page = page.replace(f'"{path}"'.encode(), f'"{path}?token={self.token}"'.encode())
        self.files["/"] = (page, kind)

    @property
    def url(self) -> str:
        """The address to open, with the token."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def add_run(self, run: Run, replaces: str | None) -> str:
        """Keep run under a new id (closing `replaces`, and the oldest run beyond MAX_RUNS)."""
        run_id = secrets.token_hex(8)
        with self.runs_lock:
            if replaces:
                self.runs.pop(replaces, None)
            self.runs[run_id] = run
            while len(self.runs) > MAX_RUNS:
                self.runs.popitem(last=False)
        return run_id

    def run(self, run_id: object) -> Run:
        """The run with this id; 404 when there is none (closed to make room, or never made)."""
        with self.runs_lock:
            run = self.runs.get(run_id) if isinstance(run_id, str) else None
            if run is None:
                raise RequestError(
                    HTTPStatus.NOT_FOUND,
                    "this run is closed (the server keeps the most recent runs): press Reset",
                )
            self.runs.move_to_end(run_id)  # type: ignore[arg-type]
            return run


class Handler(BaseHTTPRequestHandler):
    """One request: checked (Host, Origin, token), then served or refused with a 4xx."""

    server: Playground
    server_version = "gradengine-playground"
    sys_version = ""
    timeout = 30  # a client that stops sending mid-request is dropped, not waited for
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s\n"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows only the address and the final line."""

    # -- entry points -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def do_HEAD(self) -> None:
        self._send_error(HTTPStatus.METHOD_NOT_ALLOWED, "only GET and POST")

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD

    def _handle(self, serve: Callable[[str, dict[str, list[str]]], None]) -> None:
        try:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query, max_num_fields=50)
            self._check(query)
            serve(parts.path, query)
        except RequestError as error:
            self._send_error(error.status, str(error))
        except (ValueError, TypeError) as error:  # a setting or number the page sent is wrong
            self._send_error(HTTPStatus.BAD_REQUEST, str(error))
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as error:  # the server keeps running whatever one request does
            self._send_error(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(error).__name__}: {error}")

    # -- checks -----------------------------------------------------------------------------------

    def _check(self, query: dict[str, list[str]]) -> None:
        host = (self.headers.get("Host") or "").lower()
        if host not in self.server.hosts:
            raise RequestError(HTTPStatus.FORBIDDEN, "this server answers only to its own address")
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() not in self.server.origins:
            raise RequestError(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
        # A cross-site request is refused unless it opens the page (a notebook's iframe of it).
        if (
            self.headers.get("Sec-Fetch-Site") == "cross-site"
            and self.headers.get("Sec-Fetch-Mode") != "navigate"
        ):
            raise RequestError(HTTPStatus.FORBIDDEN, "requests from other sites are refused")
        if not self._token_ok(query):
            raise RequestError(
                HTTPStatus.FORBIDDEN,
                "missing or wrong token: open the address the playground printed, with its token",
            )

    def _token_ok(self, query: dict[str, list[str]]) -> bool:
        expected = self.server.token.encode()
        offered = [*query.get("token", [])[:1], self.headers.get("X-Playground-Token", "")]
        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            cookie = SimpleCookie()
        if self.server.cookie_name in cookie:
            offered.append(cookie[self.server.cookie_name].value)
        return any(hmac.compare_digest(text.encode(), expected) for text in offered if text)

    def _body(self) -> dict[str, Any]:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length")
        try:
            length = int(length_text)
        except ValueError:
            raise RequestError(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length < 0 or length > MAX_BODY:
            raise RequestError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"a request body is at most {MAX_BODY} bytes"
            )
        if "json" not in self.headers.get("Content-Type", ""):
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send JSON")
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return body

    # -- routes -----------------------------------------------------------------------------------

    def _get(self, path: str, query: dict[str, list[str]]) -> None:
        if path in self.server.files:
            content, kind = self.server.files[path]
            cookie = None
            if path == "/":  # later requests of this page may carry the token as a cookie
                cookie = (
                    f"{self.server.cookie_name}={self.server.token}; Path=/; HttpOnly; "
                    "SameSite=Strict"
                )
            self._send(HTTPStatus.OK, content, kind, policy=PAGE_POLICY, cookie=cookie)
            return
        one = {key: values[0] for key, values in query.items()}
        if path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        elif path == "/api/export.py":
            run = self.server.run(one.get("run"))
            with run.lock:
                text = export.script(run)
            self._send_text(text, "text/x-python", download="playground_run.py")
        elif path == "/api/model.json":
            run = self.server.run(one.get("run"))
            with run.lock:
                text = run.model_json()
            self._send_text(text, "application/json", download="model.json")
        elif path == "/api/program":
            run = self.server.run(one.get("run"))
            with run.lock:
                text = export.program_text(run)
            self._send_text(text, "text/plain")
        else:
            raise RequestError(HTTPStatus.NOT_FOUND, "no such page")

    def _post(self, path: str, query: dict[str, list[str]]) -> None:
        body = self._body()
        if path == "/api/run":
            setup_text = body.get("setup", "")
            if not isinstance(setup_text, str) or len(setup_text) > MAX_BODY:
                raise ValueError("setup must be URL text such as dataset=moons&hidden=16,16")
            fields = {k: v[0] for k, v in parse_qs(setup_text, max_num_fields=50).items()}
            run = Run(parse_setup(fields))
            replaces = body.get("replaces")
            run_id = self.server.add_run(run, replaces if isinstance(replaces, str) else None)
            with run.lock:
                self._send_json({"run": run_id, **run.frame(_focus(body))})
            return
        run = self.server.run(body.get("run"))
        with run.lock:
            if path == "/api/step":
                run.step(_integer(body.get("steps", 1), "steps", 1, MAX_STEPS_PER_REQUEST))
            elif path == "/api/set":
                run.set_parameter(
                    _integer(body.get("index"), "index", 0, 10**7), _number(body.get("value"))
                )
            elif path == "/api/point":
                if "add" in body:
                    x, y, label = _triple(body["add"])
                    run.add_point(x, y, label)
                else:
                    part, index = _pair(body.get("remove"))
                    run.remove_point(part, index)
            elif path == "/api/graph":
                self._send_json(chain.point_view(run, body))
                return
            elif path != "/api/frame":
                raise RequestError(HTTPStatus.NOT_FOUND, "no such action")
            self._send_json(run.frame(_focus(body)))

    # -- responses --------------------------------------------------------------------------------

    def _send(
        self,
        status: HTTPStatus,
        content: bytes,
        kind: str,
        *,
        policy: str | None = None,
        cookie: str | None = None,
        download: str | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        if policy:
            self.send_header("Content-Security-Policy", policy)
        if cookie:
            self.send_header("Set-Cookie", cookie)
        if download:
            self.send_header("Content-Disposition", f'attachment; filename="{download}"')
        self.end_headers()
        self.wfile.write(content)

    def _send_json(self, content: dict[str, Any]) -> None:
        data = json.dumps(content, allow_nan=False, separators=(",", ":")).encode()
        self._send(HTTPStatus.OK, data, "application/json")

    def _send_text(self, text: str, kind: str, download: str | None = None) -> None:
        self._send(HTTPStatus.OK, text.encode(), f"{kind}; charset=utf-8", download=download)

    def _send_error(self, status: HTTPStatus, message: str) -> None:
        try:
            data = json.dumps({"error": message}).encode()
            self._send(status, data, "application/json")
        except (ConnectionError, TimeoutError, ValueError):
            self.close_connection = True


def _integer(x: object, what: str, low: int, high: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int) or not low <= x <= high:
        raise ValueError(f"{what} must be an integer from {low} to {high}, got {x!r:.40}")
    return x


def _number(x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"expected a number, got {x!r:.40}")
    return float(x)


def _focus(body: dict[str, Any]) -> int | None:
    focus = body.get("focus")
    return focus if isinstance(focus, int) and not isinstance(focus, bool) else None


def _triple(x: object) -> tuple[float, float, int]:
    if not isinstance(x, list) or len(x) != 3:
        raise ValueError(f"add must be [x, y, class], got {x!r:.60}")
    return _number(x[0]), _number(x[1]), _integer(x[2], "class", 0, 1)


def _pair(x: object) -> tuple[str, int]:
    if not isinstance(x, list) or len(x) != 2 or not isinstance(x[0], str):
        raise ValueError(f'remove must be ["train" or "test", index], got {x!r:.60}')
    return x[0], _integer(x[1], "index", 0, 10**7)
