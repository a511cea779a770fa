"""write_atomic and read_bounded: the one writer and the one bounded reader of the package."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gradengine import MLP
from gradengine.files import read_bounded, write_atomic

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs (POSIX)")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_writes_str_as_utf8_and_bytes_as_they_are(tmp_path):
    write_atomic(tmp_path / "a.txt", "σ = 1\n")
    write_atomic(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "a.txt").read_bytes() == "σ = 1\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert leftovers(tmp_path) == []


def test_a_new_file_gets_0644_minus_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_replacing_a_file_keeps_its_permission_bits(tmp_path):
    path = tmp_path / "private.json"
    path.write_text("old")
    path.chmod(0o600)
    write_atomic(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlink_stays_a_link_and_its_target_is_replaced(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert leftovers(tmp_path) == []


@posix_only
def test_a_fifo_a_device_or_a_directory_is_refused_untouched(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    for target, kind in ((fifo, "FIFO"), (Path("/dev/null"), "device"), (folder, "directory")):
        with pytest.raises(ValueError, match=kind):
            write_atomic(target, "x")
    assert stat.S_ISFIFO(fifo.stat().st_mode) and folder.is_dir()
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert leftovers(tmp_path) == []


def test_a_missing_folder_or_a_bad_argument_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomic(tmp_path / "no" / "such.txt", "x")
    with pytest.raises(TypeError, match=r"path must be a file path.*NoneType"):
        write_atomic(None, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="content must be str or bytes, got int"):
        write_atomic(tmp_path / "x", 3)  # type: ignore[arg-type]
    with pytest.raises(UnicodeEncodeError):
        write_atomic(tmp_path / "x", "\udc80")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError, MemoryError])
def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    path = tmp_path / "model.json"
    path.write_text("old")

    def fail(*args: object) -> None:
        raise error("interrupted")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(error, match="interrupted"):
        write_atomic(path, "new")
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_failing_cleanup_never_hides_the_original_error(tmp_path, monkeypatch):
    def fail_replace(*args: object) -> None:
        raise KeyboardInterrupt("the real reason")

    def fail_unlink(*args: object) -> None:
        raise PermissionError("cleanup failed too")

    monkeypatch.setattr(os, "replace", fail_replace)
    monkeypatch.setattr(os, "unlink", fail_unlink)
    with pytest.raises(KeyboardInterrupt, match="the real reason"):
        write_atomic(tmp_path / "x.txt", "new")


def test_writes_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def replace(a: str, b: str) -> None:
        calls.append("replace")
        real_replace(a, b)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    write_atomic(tmp_path / "x.txt", "data")
    assert calls == ["fsync", "replace"]


def test_the_package_has_one_writer():
    """No module but files.py creates temporary files or renames them into place."""
    source = Path(__file__).resolve().parent.parent / "src" / "gradengine"
    for path in source.rglob("*.py"):
        if path.name == "files.py":
            continue
        text = path.read_text(encoding="utf-8")
        for needle in ("mkstemp", "os.replace(", "os.rename("):
            assert needle not in text, f"{path.relative_to(source)} uses {needle}"


# -- read_bounded ---------------------------------------------------------------------------------


def test_reads_a_regular_file_up_to_the_limit(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"12345")
    assert read_bounded(path, 5) == b"12345"
    with pytest.raises(ValueError, match="limit of 4 bytes"):
        read_bounded(path, 4)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_at_once(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    with pytest.raises(ValueError, match="expected a regular file, got a device"):
        read_bounded(device, 1 << 30)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        read_bounded(tmp_path, 10)


def load_in_a_child(path: str) -> subprocess.CompletedProcess[str]:
    """MLP.load(path) in a child process, with a timeout and (on POSIX) a 2 GB memory cap.

    The old code blocked forever on a FIFO and read /dev/zero until memory ran out: run here,
    a regression fails this test instead of hanging it or starving the machine.
    """
    script = textwrap.dedent(
        f"""
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        except (ImportError, ValueError, OSError):
            pass
        from gradengine import MLP
        try:
            MLP.load({path!r})
        except ValueError as error:
            print("ValueError:", error)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


@posix_only
def test_a_fifo_with_no_writer_fails_fast_instead_of_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = load_in_a_child(str(fifo))
    assert "ValueError:" in result.stdout and "FIFO" in result.stdout, result


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_mlp_load_refuses_an_endless_device(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    result = load_in_a_child(device)
    assert "ValueError:" in result.stdout and "regular file" in result.stdout, result


def test_mlp_load_refuses_a_file_beyond_the_size_limit(tmp_path, monkeypatch):
    from gradengine import serialize

    path = tmp_path / "model.json"
    MLP(2, [3, 1], seed=0).save(path)
    monkeypatch.setattr(serialize, "MAX_FILE_BYTES", 100)
    with pytest.raises(ValueError, match="limit of 100 bytes"):
        MLP.load(path)
