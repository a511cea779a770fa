"""The one way gradengine writes and reads files: atomically, and never without bounds.

write_atomic(path, content): readers see the old file or the new one, never half of either.
read_bounded(path, limit): the bytes of a regular file no larger than limit, or a ValueError;
it never blocks on a FIFO and never reads /dev/zero until memory runs out.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from gradengine.checks import check_size, describe

#: Permission bits of a new file before the umask: a model or a picture is not secret.
NEW_FILE_MODE = 0o644


def _kind(mode: int) -> str:
    """What a file of this st_mode is, for an error message."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _as_path(path: object, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a file path (str or os.PathLike), got {describe(path)}")
    return Path(os.fspath(path))


def _umask() -> int:
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], content: str | bytes) -> None:
    """Write content (str as UTF-8) to path via a temporary file beside it, fsync and rename.

    An existing regular file keeps its permission bits; a new one gets 0o644 minus the umask.
    A symlink stays a link: the file it points to is replaced. A directory, FIFO, device or
    socket is refused with a ValueError, and no temporary file is ever left behind.
    """
    target = _as_path(path, "path")
    if isinstance(content, str):
        data = content.encode("utf-8")  # before the disk is touched: a bad str fails here
    elif isinstance(content, (bytes, bytearray)):
        data = bytes(content)
    else:
        raise TypeError(f"content must be str or bytes, got {describe(content)}")
    target = Path(os.path.realpath(target))  # through any symlinks: keep the link, replace its file
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        mode = NEW_FILE_MODE & ~_umask()
    else:
        if not stat.S_ISREG(existing.st_mode):
            raise ValueError(
                f"refusing to write {str(path)!r}: it is {_kind(existing.st_mode)}, expected a "
                "regular file or a new name"
            )
        mode = stat.S_IMODE(existing.st_mode)
    directory = target.parent
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {directory} does not exist")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        # Cleaning up must never hide why the write failed (KeyboardInterrupt included).
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_bounded(path: str | os.PathLike[str], limit_bytes: int) -> bytes:
    """The bytes of the regular file at path; ValueError if it is larger than limit_bytes.

    Anything else (a FIFO, a device such as /dev/zero, a directory) is refused before it is
    opened for reading, so nothing blocks and nothing unbounded is read.
    """
    source = _as_path(path, "path")
    limit_bytes = check_size(limit_bytes, "limit_bytes", minimum=0)
    mode = os.stat(source).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"{source}: expected a regular file, got {_kind(mode)}")
    # O_NONBLOCK: should the path be swapped for a FIFO after the stat, open() still returns.
    fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        mode = os.fstat(file.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{source}: expected a regular file, got {_kind(mode)}")
        data = file.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise ValueError(f"{source}: larger than the limit of {limit_bytes:,} bytes")
    return data
