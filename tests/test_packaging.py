"""The package as users get it: a wheel and an sdist build from this checkout, hold what they must,
and the wheel installs into a fresh virtual environment where the command runs.

The build runs without isolation (hatchling and build are in the test extra; without them these
tests are skipped) and downloads nothing. The fresh environment is made from this interpreter
without access to any installed package: the wheel alone runs the commands that need no extra,
and the demo runs once the wheel's own `train` extra is installed there from the package index
(skipped, saying so, when the index cannot be reached).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = [
    "gradengine/__init__.py",
    "gradengine/py.typed",
    "gradengine/cli/expression.py",
    "gradengine/run_settings.py",
    "gradengine/viz/page.html",
    "gradengine/viz/page.js",
    "gradengine/viz/page.css",
    "gradengine/playground/static/index.html",
    "gradengine/playground/static/playground.js",
    "gradengine/playground/static/playground.css",
]


def run(*command: str | Path, cwd: Path = ROOT, timeout: float = 120, env=None) -> str:
    done = launch(*command, cwd=cwd, timeout=timeout, env=env)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def launch(
    *command: str | Path, cwd: Path = ROOT, timeout: float = 120, env=None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist of this checkout, built without network access."""
    for module in ("build", "hatchling"):  # the build frontend, and the backend without download
        pytest.importorskip(
            module, reason=f'builds the package with {module}: pip install ".[test]"'
        )
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


# What pip says when the package index cannot be reached (no network, no proxy, no DNS).
UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "ProxyError",
    "ConnectTimeoutError",
    "Read timed out",
)


@pytest.fixture(scope="module")
def fresh(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment that sees no installed package, with the wheel installed alone."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    # Without --system-site-packages: inside another virtual environment that option lends the
    # base interpreter's packages, not the ones this run sees, so the environment borrows nothing.
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    wheel = only(dist, "gradengine-*.whl")
    pip(python, "--no-deps", "--no-index", wheel)
    return python


def pip(python: Path, *arguments: str | Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """This interpreter's pip, installing into the environment of python."""
    command = (sys.executable, "-m", "pip", "--python", python, "install", "--quiet", *arguments)
    done = launch(*command, timeout=timeout)
    if done.returncode != 0 and any(sign in done.stderr for sign in UNREACHABLE):
        pytest.skip(f"the package index cannot be reached to install {arguments[-1]}")
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return done


def clean_env() -> dict[str, str]:
    """This environment less what would point python at this checkout or this environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    return env


def command_of(python: Path) -> Path:
    return python.parent / ("gradengine.exe" if os.name == "nt" else "gradengine")


def test_the_wheel_installs_in_a_fresh_environment_where_the_command_runs(
    fresh: Path, tmp_path: Path
) -> None:
    env = clean_env()
    where = run(fresh, "-c", "import gradengine; print(gradengine.__file__)", cwd=tmp_path, env=env)
    assert Path(where.strip()).is_relative_to(fresh.parent.parent), where  # the wheel's copy
    command = command_of(fresh)
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
    # Without its train extra, the demo says what to install instead of failing on an import.
    done = launch(command, "demo", cwd=tmp_path, env=env)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "needs matplotlib and tqdm" in done.stderr and 'pip install ".[train]"' in done.stderr
    assert "Traceback" not in done.stderr


def test_the_wheel_with_its_train_extra_runs_the_demo(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    wheel = only(dist, "gradengine-*.whl")
    pip(python, f"gradengine[train] @ {wheel.as_uri()}", timeout=600)
    env = clean_env()
    demo = run(command_of(python), "demo", cwd=tmp_path, env=env, timeout=240)
    assert "test accuracy" in demo
    assert (tmp_path / "runs" / "demo" / "boundary.png").is_file()
