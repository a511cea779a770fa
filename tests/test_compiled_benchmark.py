"""benchmarks/compiled.py --quick runs and prints a row per engine; no timing is asserted."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_compiled_benchmark_quick_prints_every_engine() -> None:
    for module in ("numpy", "sklearn"):
        pytest.importorskip(module)
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compiled.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for engine in ("eager", "compiled python", "compiled numpy"):
        assert engine in done.stdout
    assert "record+compile" in done.stdout
