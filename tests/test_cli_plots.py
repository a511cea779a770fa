"""The pictures: well-formed PNGs, the boundary where the model puts it, clear errors otherwise."""

import random
import re
import sys

import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure
from matplotlib.image import imread

from gradengine.cli import plots, train
from gradengine.nn import MLP
from gradengine.optim import Adam


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_curves_are_a_png_of_the_requested_size(tmp_path):
    dataset = train.load_dataset("moons", 30, seed=0)
    mlp = MLP(2, [4, 1], seed=0)
    history = train.fit(mlp, dataset, Adam(mlp.parameters(), lr=0.05), steps=5)
    path = plots.plot_curves(history, tmp_path / "curves.png")
    assert path == tmp_path / "curves.png"
    assert is_png(path)
    assert imread(path).shape[:2] == (400, 1000)  # figsize (10, 4) inches at 100 dpi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png"]  # no temporary left


def test_boundary_shades_each_side_with_its_class_color(tmp_path):
    mlp = MLP(2, [1], seed=0)
    neuron = mlp.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 1.0, 0.0, 0.0  # class 1 where x1 > 0
    corners = [[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]]
    path = plots.plot_boundary(mlp, corners[:2], [0, 1], corners[2:], [0, 1], tmp_path / "b.png")
    assert is_png(path)
    image = imread(path)
    height, width = image.shape[:2]
    row = image[height // 2]
    # Medians over stretches of the middle row, so a legend or a point cannot decide alone.
    left = sorted(tuple(pixel[:3]) for pixel in row[int(0.2 * width) : int(0.4 * width)])
    right = sorted(tuple(pixel[:3]) for pixel in row[int(0.7 * width) : int(0.9 * width)])
    red, _, blue = left[len(left) // 2]
    assert blue > red  # class 0 (x1 < 0): blue tint
    red, _, blue = right[len(right) // 2]
    assert red > blue  # class 1 (x1 > 0): orange tint


@pytest.mark.parametrize("sizes", [[1], [5, 1], [6, 4, 3]], ids=["linear", "one hidden", "3 out"])
def test_grid_scores_equal_the_models_outputs(sizes):
    np = pytest.importorskip("numpy")
    mlp = MLP(2, sizes, seed=7)
    rng = random.Random(0)
    points = [[rng.uniform(-3, 3), rng.uniform(-3, 3)] for _ in range(20)]
    expected = [[v.data for v in mlp.forward(x)] for x in points]
    got = plots._scores(mlp, np.array(points))
    assert got.shape == (20, sizes[-1])
    for got_row, expected_row in zip(got.tolist(), expected, strict=True):
        assert got_row == pytest.approx(expected_row, rel=1e-12, abs=1e-12)


def test_without_matplotlib_the_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    mlp = MLP(2, [1], seed=0)
    hint = 'pip install matplotlib (or, in a clone of gradengine: pip install ".[train]")'
    with pytest.raises(ImportError, match=re.escape(f"not installed: {hint}")):
        plots.plot_boundary(mlp, [[0.0, 0.0]], [0], [], [], tmp_path / "b.png")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken_savefig(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    mlp = MLP(2, [1], seed=0)
    with pytest.raises(OSError, match="disk full"):
        plots.plot_boundary(mlp, [[0.0, 0.0]], [0], [], [], tmp_path / "b.png")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("resolution", "error", "message"),
    [
        (2.5, TypeError, "resolution must be an integer, got float"),
        (True, TypeError, "got bool"),
        (1, ValueError, "from 2 to 2000 .*got 1"),
        (10**6, ValueError, "got 1000000"),
    ],
)
def test_a_bad_resolution_is_refused(tmp_path, resolution, error, message):
    mlp = MLP(2, [1], seed=0)
    with pytest.raises(error, match=message):
        plots.plot_boundary(
            mlp, [[0.0, 0.0]], [0], [], [], tmp_path / "b.png", resolution=resolution
        )
    assert list(tmp_path.iterdir()) == []


def test_a_small_numpy_resolution_is_drawn(tmp_path):
    np = pytest.importorskip("numpy")
    mlp = MLP(2, [1], seed=0)
    path = plots.plot_boundary(
        mlp, [[0.0, 0.0], [1.0, 1.0]], [0, 1], [], [], tmp_path / "b.png", resolution=np.int64(2)
    )
    assert is_png(path)


@pytest.mark.parametrize(
    ("X_train", "y_train", "message"),
    [
        ([[0.0, 0.0], [1.0, 1.0]], [0], "same length"),
        ([[0.0, 0.0, 0.0]], [0], "2-D points"),
        ([], [], "at least one point"),
    ],
)
def test_bad_points_are_refused(tmp_path, X_train, y_train, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_boundary(MLP(2, [1], seed=0), X_train, y_train, [], [], tmp_path / "b.png")


def drawn_curves(monkeypatch, tmp_path, losses, test_accuracies):
    """The Figure plot_curves draws for a history with these losses and test accuracies."""
    history = train.History("hinge")
    for step, (loss, test) in enumerate(zip(losses, test_accuracies, strict=True)):
        history.steps.append(train.StepRecord(step, loss, 0.5, test, 0.1, 0.01, 0.0))
    figures = []
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.append(figure) or path)
    plots.plot_curves(history, tmp_path / "curves.png")
    (figure,) = figures
    return figure


def test_positive_losses_are_drawn_on_a_log_scale(tmp_path, monkeypatch):
    figure = drawn_curves(monkeypatch, tmp_path, [2.0, 1.0, 0.5], [0.5, 0.6, 0.7])
    loss_axes, accuracy_axes = figure.axes
    assert loss_axes.get_yscale() == "log"
    assert [line.get_label() for line in accuracy_axes.get_lines()] == ["train", "test"]
    assert accuracy_axes.get_lines()[1].get_ydata().tolist() == [50.0, 60.0, 70.0]


def test_a_loss_of_zero_keeps_the_linear_scale(tmp_path, monkeypatch):
    # a hinge loss reaches exactly 0 once every margin is met; log(0) cannot be drawn
    figure = drawn_curves(monkeypatch, tmp_path, [1.0, 0.0], [0.5, 1.0])
    assert figure.axes[0].get_yscale() == "linear"
    assert figure.axes[0].get_lines()[0].get_ydata().tolist() == [1.0, 0.0]


def test_without_a_test_set_only_the_training_accuracy_is_drawn(tmp_path, monkeypatch):
    figure = drawn_curves(monkeypatch, tmp_path, [1.0, 0.5], [None, None])
    accuracy_axes = figure.axes[1]
    assert [line.get_label() for line in accuracy_axes.get_lines()] == ["train"]
    assert accuracy_axes.get_lines()[0].get_ydata().tolist() == [50.0, 50.0]


def test_without_numpy_the_boundary_error_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy now fails
    hint = 'numpy: pip install matplotlib (or, in a clone of gradengine: pip install ".[train]")'
    with pytest.raises(ImportError, match=re.escape(hint)):
        plots.plot_boundary(MLP(2, [1], seed=0), [[0.0, 0.0]], [0], [], [], tmp_path / "b.png")
    assert list(tmp_path.iterdir()) == []
