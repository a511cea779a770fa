"""The package as users get it: a wheel and an sdist build from this checkout, hold what they must,
and the wheel installs into a fresh virtual environment where the command runs.

Nothing is downloaded: the build runs without isolation (hatchling is in the test extra), the
wheel installs with --no-deps --no-index, and the environment borrows this one's packages
(matplotlib, tqdm) so that the demo's pictures can be drawn there too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import build  # noqa: F401  (python -m build is part of the test extra)
import hatchling  # noqa: F401  (the build backend, so the build needs no download)
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = [
    "gradengine/__init__.py",
    "gradengine/py.typed",
    "gradengine/cli/expression.py",
    "gradengine/viz/page.html",
    "gradengine/viz/page.js",
    "gradengine/viz/page.css",
    "gradengine/playground/static/index.html",
    "gradengine/playground/static/playground.js",
    "gradengine/playground/static/playground.css",
    "gradengine/playground/static/class_mode.js",
]


def run(*command: str | Path, cwd: Path = ROOT, timeout: float = 120, env=None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist of this checkout, built without network access."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return out


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_the_wheel_holds_the_package_its_data_and_its_metadata(dist: Path) -> None:
    wheel = only(dist, "gradengine-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "gradengine = gradengine.cli:main" in archive.read(entry_points).decode()
    for name in PACKAGE_FILES:
        assert name in names, name
    assert not any(name.startswith(("tests/", "docs/", "benchmarks/")) for name in names)
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL"))
    assert set(urls) == {"Homepage", "Documentation", "Changelog"}
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"train", "viz", "torch", "bench", "test", "docs"} <= extras


def test_the_sdist_holds_what_a_build_from_it_needs(dist: Path, tmp_path: Path) -> None:
    sdist = only(dist, "gradengine-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        archive.extractall(tmp_path, filter="data")
    for name in ["pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"]:
        assert name in names, name
    for name in PACKAGE_FILES:
        assert f"src/{name}" in names, name
    # ... and a wheel builds from the unpacked sdist alone
    unpacked = only(tmp_path, "gradengine-*")
    run(
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--wheel",
        "--outdir",
        tmp_path / "w",
        unpacked,
    )
    assert only(tmp_path / "w", "gradengine-*.whl").name == only(dist, "gradengine-*.whl").name


def test_the_wheel_installs_in_a_fresh_environment_where_the_command_runs(
    dist: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    # --system-site-packages lends the environment matplotlib and tqdm; gradengine itself comes
    # from the wheel, which the environment's own site-packages put first.
    run(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    wheel = only(dist, "gradengine-*.whl")
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--no-deps",
        "--no-index",
        "--ignore-installed",  # a copy of gradengine in the borrowed site-packages must not count
        "--quiet",
        wheel,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    where = run(
        python, "-c", "import gradengine; print(gradengine.__file__)", cwd=tmp_path, env=env
    )
    assert Path(where.strip()).is_relative_to(venv), where  # the wheel's copy, not this checkout
    command = python.parent / ("gradengine.exe" if os.name == "nt" else "gradengine")
    assert "demo" in run(command, "--help", cwd=tmp_path, env=env)
    graph = run(
        command,
        "graph",
        "--expr",
        "tanh(x*w + b)",
        "--set",
        "x=2,w=-3,b=6.8813735870195432",
        "--out",
        "g",
        cwd=tmp_path,
        env=env,
    )
    assert "wrote g/graph.html" in graph
    assert "grad x = -1.5" in (tmp_path / "g" / "explain.txt").read_text(encoding="utf-8")
    demo = run(command, "demo", cwd=tmp_path, env=env, timeout=240)
    assert "test accuracy" in demo
    assert (tmp_path / "runs" / "demo" / "boundary.png").is_file()
