"""Graphviz's dot runs with a time limit: past it, dot and what it started are stopped, and big
graphs are laid out quickly enough to finish, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from gradengine import Value
from gradengine.viz import draw
from gradengine.viz.dot_program import QUICK_LAYOUT_PAST, DotTimeoutError, run_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's `dot` not installed")
posix_only = pytest.mark.skipif(os.name != "posix", reason="the stand-in dot is a shell script")


def power_graph(factors: int) -> Value:
    """x*x*...*x: x used by every product, the shape dot's full layout takes minutes over."""
    x = Value(1.0, label="x")
    y = x
    for _ in range(factors - 1):
        y = y * x
    y.backward()
    return y


def slow_dot(folder: Path) -> Path:
    """A stand-in `dot` on PATH that starts a child which would outlive it, then waits forever;
    the child's process id is written to folder/child."""
    script = folder / "dot"
    script.write_text(f'#!/bin/sh\nsleep 300 &\necho $! > "{folder}/child"\nsleep 300\n')
    script.chmod(0o755)
    return folder / "child"


def alive(pid: int) -> bool:
    """Whether pid is a running process (a zombie counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(path: Path, seconds: float = 10.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


@posix_only
def test_dot_past_its_time_limit_is_stopped_with_everything_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_file = slow_dot(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path) + os.pathsep + os.environ.get("PATH", ""))
    started = time.monotonic()
    with pytest.raises(DotTimeoutError, match=r"did not finish within 0\.5 s and was stopped"):
        run_dot("digraph { a -> b }", "svg", timeout=0.5)
    assert time.monotonic() - started < 30  # not the stand-in's 300 s
    child = int(wait_for(child_file))
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(child), "the process dot started outlived the time limit"


@posix_only
def test_draw_and_the_graph_command_stop_a_slow_dot_and_say_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip(
        "graphviz", reason='draw() needs the graphviz package: pip install ".[viz]"'
    )
    from gradengine.cli import graph as graph_command
    from gradengine.cli.app import main

    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    slow_dot(bin_folder)
    monkeypatch.setenv("PATH", str(bin_folder) + os.pathsep + os.environ.get("PATH", ""))
    with pytest.raises(RuntimeError, match=r"draw\(\): Graphviz's dot did not finish within 0\.5"):
        draw(power_graph(3), tmp_path / "g.svg", timeout=0.5)
    assert not (tmp_path / "g.svg").exists()

    monkeypatch.setattr(graph_command, "SVG_SECONDS", 0.5)
    out = tmp_path / "out"
    assert main(["graph", "--expr", "x*x", "--set", "x=1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "graph.svg skipped: Graphviz's dot did not finish within 0.5 s" in printed
    assert sorted(p.name for p in out.iterdir()) == ["explain.txt", "graph.dot", "graph.html"]


def test_draw_refuses_a_timeout_that_is_not_a_positive_number(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="timeout must be a number of seconds, got"):
        draw(power_graph(2), tmp_path / "g.svg", timeout="10")  # type: ignore[arg-type]
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            draw(power_graph(2), tmp_path / "g.svg", timeout=bad)


@needs_dot
def test_the_graph_command_draws_a_hundred_factors_with_the_quick_layout(tmp_path: Path) -> None:
    expression = "*".join(["x"] * 100)
    command = [sys.executable, "-m", "gradengine", "graph", "--expr", expression, "--set", "x=1"]
    # The full layout of this graph runs for minutes: a run that long fails here.
    done = subprocess.run(
        [*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    if "graph.svg skipped: draw() needs the graphviz Python package" in done.stdout:
        pytest.skip("the graphviz Python package is not installed")
    assert (
        f"graph.svg: the graph has 100 values, more than {QUICK_LAYOUT_PAST}: laid out with "
        "Graphviz's quick layout" in done.stdout
    )
    assert "<svg" in (tmp_path / "graph.svg").read_text(encoding="utf-8")


@needs_dot
def test_draw_lays_out_a_big_graph_quickly_and_says_so(tmp_path: Path) -> None:
    pytest.importorskip(
        "graphviz", reason='draw() needs the graphviz package: pip install ".[viz]"'
    )
    with pytest.warns(
        UserWarning, match=r"100 values, more than 40: laid out with Graphviz's quick"
    ):
        draw(power_graph(100), tmp_path / "g.svg", timeout=60)
    assert "<svg" in (tmp_path / "g.svg").read_text(encoding="utf-8")
    small = power_graph(QUICK_LAYOUT_PAST)  # at the limit: the full layout, and no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        draw(small, tmp_path / "small.svg")
    assert "<svg" in (tmp_path / "small.svg").read_text(encoding="utf-8")
