"""Ctrl-C that is never lost: raised as KeyboardInterrupt as usual, and remembered.

Python raises KeyboardInterrupt wherever the main thread happens to be when the signal comes.
When that is a finalizer (a generator or an object being freed), Python reports the exception
as "ignored" and carries on, and a training run would go on as if nothing had been pressed. So
while the command runs, Ctrl-C also sets a flag, and the training loop checks it at every step.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_pressed = threading.Event()


def _on_ctrl_c(signum: int, frame: FrameType | None) -> None:
    _pressed.set()
    raise KeyboardInterrupt


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, Ctrl-C is remembered as well as raised; the handler is restored after.

    Only where Python's own handler is installed and this is the main thread: a handler of the
    caller's (a test runner, a notebook) is left alone.
    """
    ours = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    _pressed.clear()
    if not ours:
        yield
        return
    signal.signal(signal.SIGINT, _on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def check() -> None:
    """KeyboardInterrupt if Ctrl-C was pressed, even if Python dropped the first one."""
    if _pressed.is_set():
        raise KeyboardInterrupt
