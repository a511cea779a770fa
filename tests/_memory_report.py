"""Peak memory of a block of code, and a pytest plugin that lists it in the terminal summary.

On Linux the peak is the growth of the process's resident-set high-water mark (VmHWM, which
writing "5" to /proc/self/clear_refs resets): it costs nothing while the block runs. tracemalloc,
the portable fallback, traces every allocation and makes a 1,000,000-node build and backward
about 4x slower (31.6 s against 7.2 s measured), so it is used only where /proc is missing.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int:
    """A memory figure of this process from /proc/self/status, in kB."""
    match = re.search(rf"^{key}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"no {key} in {_STATUS}")
    return int(match.group(1))


def _can_reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        _status_kb("VmHWM")
    except OSError:
        return False
    return True


@dataclass
class Peak:
    """The peak extra memory of a block, in megabytes, and how it was measured."""

    megabytes: float = 0.0
    method: str = ""


@contextmanager
def peak_memory() -> Iterator[Peak]:
    """Measure the peak memory the block adds on top of what the process held before it."""
    peak = Peak()
    if _can_reset_peak():
        before = _status_kb("VmRSS")
        yield peak
        peak.megabytes = (_status_kb("VmHWM") - before) / 1024
        peak.method = "resident-set high-water mark"
        return
    tracemalloc.start()
    try:
        yield peak
        peak.megabytes = tracemalloc.get_traced_memory()[1] / 2**20
        peak.method = "tracemalloc"
    finally:
        tracemalloc.stop()


@dataclass(eq=False)  # pytest keeps plugins in sets: identity hashing
class MemoryReport:
    """Collects (what, peak) rows during the run; prints them after the test summary."""

    rows: list[tuple[str, Peak]] = field(default_factory=list)

    def add(self, what: str, peak: Peak) -> None:
        self.rows.append((what, peak))
        print(f"peak memory of {what}: {peak.megabytes:,.0f} MB ({peak.method})")

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.rows:
            return
        terminalreporter.write_sep("=", "peak memory of the huge-graph tests")
        for what, peak in self.rows:
            terminalreporter.write_line(f"{peak.megabytes:8,.0f} MB  {what}  ({peak.method})")


def memory_report(config: pytest.Config) -> MemoryReport:
    """The run's MemoryReport, registered as a plugin the first time it is asked for."""
    name = "gradengine-memory-report"
    report = config.pluginmanager.get_plugin(name)
    if report is None:
        report = MemoryReport()
        config.pluginmanager.register(report, name)
    assert isinstance(report, MemoryReport)
    return report
