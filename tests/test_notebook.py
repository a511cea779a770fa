"""examples/moons.ipynb runs from top to bottom and draws its pictures, so it never rots."""

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "moons.ipynb"


def test_moons_notebook_runs_and_draws_its_figures(tmp_path):
    shutil.copy(NOTEBOOK, tmp_path)
    notebook = nbformat.read(tmp_path / NOTEBOOK.name, as_version=4)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error

    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [output for output in outputs if output.output_type == "error"]
    images = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(images) == 3  # the data, the curves, the boundary
    for name in ("curves.png", "boundary.png", "model.json"):
        assert (tmp_path / name).stat().st_size > 0
    printed = "".join(output.get("text", "") for output in outputs)
    assert "final test accuracy" in printed
    assert "the loaded model predicts exactly as the trained one" in printed
