"""Shared test configuration: hypothesis profiles (CI runs derandomized, so failures reproduce),
and a check that the gradengine under test is this checkout's."""

import os
from pathlib import Path

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
