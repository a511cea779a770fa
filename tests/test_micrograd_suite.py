"""micrograd's own tests (test/test_engine.py of its PyPI sdist), run with the import changed."""

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytest.importorskip("torch")  # micrograd's tests check its gradients against PyTorch's

MICROGRAD = "micrograd==0.1.0"
PIP_DOWNLOAD = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-cov"]


@pytest.fixture(scope="module")
def micrograd_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """micrograd's test_engine.py, from its source distribution on the package index."""
    folder = tmp_path_factory.mktemp("micrograd")
    subprocess.run(
        [*PIP_DOWNLOAD, "--dest", str(folder), MICROGRAD],
        check=True,
        timeout=300,
    )
    (sdist,) = folder.glob("micrograd-*.tar.gz")
    with tarfile.open(sdist) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("test/test_engine.py"))
        source = archive.extractfile(member)
        assert source is not None
        text = source.read().decode("utf-8")
    assert "from micrograd.engine import Value" in text
    path = folder / "test_micrograd_engine.py"
    changed = text.replace("from micrograd.engine import Value", "from gradengine import Value")
    path.write_text(changed)
    return path


def test_micrograds_own_tests_pass_with_the_import_changed(micrograd_tests: Path) -> None:
    result = subprocess.run(
        [*PYTEST, "--rootdir", str(micrograd_tests.parent), str(micrograd_tests)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
