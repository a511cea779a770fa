"""Shared test configuration: hypothesis profiles (CI runs derandomized, so failures reproduce),
and a check that the gradengine under test is this checkout's."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import gradengine

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

SOURCE = Path(__file__).resolve().parent.parent / "src" / "gradengine"


def files_unlike_the_source(installed: Path) -> list[str]:
    """The files of src/gradengine that the installed package lacks or holds different."""
    changed = []
    for path in sorted(SOURCE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            copy = installed / path.relative_to(SOURCE)
            if not copy.is_file() or copy.read_bytes() != path.read_bytes():
                changed.append(str(path.relative_to(SOURCE)))
    return changed


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once if the tests would import an older install instead of src/gradengine."""
    installed = Path(gradengine.__file__).resolve().parent
    changed = [] if installed == SOURCE else files_unlike_the_source(installed)
    if changed:
        pytest.exit(
            f"the gradengine installed at {installed} is not this checkout's src/gradengine "
            f"({', '.join(changed[:5])} differ): run pip install -e . (or pip install .) first",
            returncode=4,
        )


#: Debian's chromium, which the browser tests drive through playwright (no browser download).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium for a module's tests; they skip, saying why, without one."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason='drives chromium with playwright: pip install ".[test]"'
    )
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
