"""Graphviz's `dot`, run with a time limit: when it expires, dot and all it started are ended.

Graphviz's full layout (network simplex) can run for minutes on a graph of a few hundred values
with one value used many times (x*x*...*x); past QUICK_LAYOUT_PAST values the drawing turns it
off and keeps dot's first ranking, which finishes in seconds and crosses a few more edges.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess

from gradengine.checks import describe

#: How long dot may run by default before it is stopped, in seconds.
DOT_SECONDS = 60.0
#: Graphs with more values than this are drawn with the quick layout.
QUICK_LAYOUT_PAST = 40
#: dot's options for the quick layout: no network-simplex passes, in ranking nor in placement.
QUICK_LAYOUT = ("-Gnslimit=0", "-Gnslimit1=0")
INSTALL_DOT = (
    "apt-get install graphviz (Debian/Ubuntu), brew install graphviz (macOS), "
    "or see https://graphviz.org/download/"
)


class DotTimeoutError(RuntimeError):
    """Graphviz's dot did not finish within its time limit, and was stopped."""


def check_timeout(timeout: object, what: str) -> float:
    """timeout as a positive float of seconds; TypeError or ValueError naming what otherwise."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{what} must be a number of seconds, got {describe(timeout)}")
    if not (timeout > 0 and math.isfinite(timeout)):
        raise ValueError(f"{what} must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


def run_dot(source: str, fmt: str, *, quick: bool = False, timeout: float = DOT_SECONDS) -> bytes:
    """The DOT source rendered by `dot -T fmt`: its output, or RuntimeError saying why not.

    DotTimeoutError when dot runs past timeout seconds; dot is then ended, with every process it
    started (its process group), as it is if the caller is interrupted while waiting.
    """
    program = shutil.which("dot")
    if program is None:
        raise FileNotFoundError(f"Graphviz's `dot` program was not found on PATH: {INSTALL_DOT}")
    command = [program, f"-T{fmt}", *(QUICK_LAYOUT if quick else ())]
    # In a group of its own, so that stopping it stops whatever it started too.
    if os.name == "nt":  # pragma: no cover - Windows only
        flags = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined,unused-ignore]
        new_session = False
    else:
        flags, new_session = 0, True
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        creationflags=flags,
        start_new_session=new_session,
    )
    out: bytes
    err: bytes
    try:
        out, err = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise DotTimeoutError(
            f"Graphviz's dot did not finish within {timeout:g} s and was stopped"
        ) from None
    finally:
        if process.poll() is None:
            _end(process)
    if process.returncode != 0:
        message = err.decode("utf-8", "replace").strip()[:500]
        raise RuntimeError(f"Graphviz's dot failed (exit code {process.returncode}): {message}")
    return out


def _end(process: subprocess.Popen[bytes]) -> None:
    """Kill process and every process in its group, then collect it."""
    if os.name == "nt":  # pragma: no cover - Windows only
        process.kill()
    else:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired, OSError, ValueError):
        process.communicate(timeout=5)
