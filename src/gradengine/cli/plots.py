"""Pictures of a training run: loss and accuracy per step, and the learned decision boundary.

matplotlib (the `train` extra) is imported only here, and drawn with its Agg renderer straight
onto a Figure: no window, no display needed, and the pyplot state of a notebook is left alone.
"""

from __future__ import annotations

import io
import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gradengine.checks import type_name
from gradengine.files import write_atomic
from gradengine.nn import MLP

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from gradengine.cli.train import History

# gradengine is on no package index: its extras install from a clone (or a git URL).
INSTALL_HINT = 'pip install matplotlib (or, in a clone of gradengine: pip install ".[train]")'
MAX_RESOLUTION = 2000
CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def plot_curves(history: History, path: str | os.PathLike[str]) -> Path:
    """Draw loss (left) and train/test accuracy (right) against the step; save to path."""
    figure = _new_figure(figsize=(10, 4))
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    steps = [record.step for record in history.steps]
    losses = [record.loss for record in history.steps]
    loss_axes.plot(steps, losses, color="#444444", linewidth=1.5)
    if losses and min(losses) > 0:
        loss_axes.set_yscale("log")
    loss_axes.set(title=f"Loss ({history.loss_name} + L2)", xlabel="step", ylabel="loss")
    loss_axes.grid(True, which="both", alpha=0.3)

    train = [100 * record.train_accuracy for record in history.steps]
    accuracy_axes.plot(steps, train, label="train", color=CLASS_COLORS[0], linewidth=1.5)
    test = [record.test_accuracy for record in history.steps]
    if all(a is not None for a in test):
        test_percent = [100 * a for a in test if a is not None]
        accuracy_axes.plot(steps, test_percent, label="test", color=CLASS_COLORS[1], linewidth=1.5)
    accuracy_axes.set(title="Accuracy", xlabel="step", ylabel="accuracy (%)", ylim=(0, 102))
    accuracy_axes.grid(True, alpha=0.3)
    accuracy_axes.legend(loc="lower right")
    return _save(figure, path)


def plot_boundary(
    mlp: MLP,
    X_train: Sequence[Sequence[float]],
    y_train: Sequence[int],
    X_test: Sequence[Sequence[float]],
    y_test: Sequence[int],
    path: str | os.PathLike[str],
    *,
    resolution: int = 250,
) -> Path:
    """Shade each region by the class the MLP predicts there; train points ●, test points ▲."""
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral):
        raise TypeError(f"resolution must be an integer, got {type_name(resolution)}")
    if not 2 <= resolution <= MAX_RESOLUTION:
        # the grid has resolution² points, each a forward pass of the MLP
        raise ValueError(
            f"resolution must be from 2 to {MAX_RESOLUTION} grid points per side, got {resolution}"
        )
    np = _numpy()
    train_xy, test_xy = _points(X_train, y_train, "train"), _points(X_test, y_test, "test")
    everything = np.vstack([train_xy, test_xy])
    if len(everything) == 0:
        raise ValueError("plot_boundary needs at least one point, got empty X_train and X_test")
    low, high = everything.min(axis=0), everything.max(axis=0)
    pad = 0.1 * (high - low) + 0.1
    gx, gy = np.meshgrid(
        np.linspace(low[0] - pad[0], high[0] + pad[0], resolution),
        np.linspace(low[1] - pad[1], high[1] + pad[1], resolution),
    )
    scores = _scores(mlp, np.column_stack([gx.ravel(), gy.ravel()]))
    labels = np.asarray([*y_train, *y_test], dtype=int)
    n_classes = max(int(labels.max(initial=1)) + 1, scores.shape[1])
    colors = [CLASS_COLORS[c % len(CLASS_COLORS)] for c in range(n_classes)]

    figure = _new_figure(figsize=(6.5, 5.5))
    axes = figure.subplots()
    from matplotlib.colors import ListedColormap

    axes.contourf(
        gx,
        gy,
        _classes(scores).reshape(gx.shape),
        levels=np.arange(n_classes + 1) - 0.5,
        cmap=ListedColormap(colors),
        alpha=0.25,
    )
    if scores.shape[1] == 1:  # the boundary itself: where the score crosses 0
        axes.contour(gx, gy, scores[:, 0].reshape(gx.shape), levels=[0.0], colors="#333333")
    for xy, y, marker, size, kind in (
        (train_xy, y_train, "o", 28, "train"),
        (test_xy, y_test, "^", 60, "test"),
    ):
        classes = np.asarray(y, dtype=int)
        for c in range(n_classes):
            if (classes == c).any():
                axes.scatter(
                    xy[classes == c, 0],
                    xy[classes == c, 1],
                    s=size,
                    marker=marker,
                    color=colors[c],
                    edgecolors="black",
                    linewidths=0.6,
                    label=f"{kind}, class {c}",
                )
    title = "Decision boundary"
    if len(test_xy):
        correct = _classes(_scores(mlp, test_xy)) == np.asarray(y_test, dtype=int)
        title += f" (test accuracy {correct.mean():.1%})"
    axes.set(
        title=title,
        xlabel="$x_1$",
        ylabel="$x_2$",
        xlim=(gx.min(), gx.max()),
        ylim=(gy.min(), gy.max()),
    )
    axes.legend(loc="best", fontsize="small", framealpha=0.9)
    return _save(figure, path)


def _points(X: Sequence[Sequence[float]], y: Sequence[int], what: str) -> Any:
    """X as an (n, 2) array, after checking it has one label per point."""
    np = _numpy()
    if len(X) != len(y):
        raise ValueError(
            f"X_{what} and y_{what} must have the same length, got {len(X)} and {len(y)}"
        )
    if len(X) == 0:
        return np.empty((0, 2))
    xy = np.asarray(X, dtype=float).reshape(len(X), -1)
    if xy.shape[1] != 2:
        raise ValueError(f"X_{what} must hold 2-D points [x1, x2], got {xy.shape[1]} coordinates")
    return xy


def _classes(scores: Any) -> Any:
    """score > 0 for one output per point, else the argmax output."""
    return (scores[:, 0] > 0).astype(int) if scores.shape[1] == 1 else scores.argmax(axis=1)


def _scores(mlp: MLP, points: Any) -> Any:
    """The MLP's outputs for every row of points at once (floats, no graph): one row per point."""
    np = _numpy()
    activations = points
    for layer in mlp.layers:
        weights = np.array([[w.data for w in neuron.w] for neuron in layer.neurons]).T
        biases = np.array([neuron.b.data for neuron in layer.neurons])
        activations = activations @ weights + biases
        kind = getattr(layer.neurons[0], "kind", "relu" if layer.neurons[0].nonlin else "linear")
        if kind == "relu":
            activations = np.maximum(activations, 0.0)
        elif kind == "tanh":
            activations = np.tanh(activations)
        elif kind == "sigmoid":
            activations = 1.0 / (1.0 + np.exp(-activations))
    return activations


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A Figure drawn by Agg, never shown."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            f"plots need matplotlib, which is not installed: {INSTALL_HINT}"
        ) from error
    return Figure(figsize=figsize, dpi=100, layout="tight")


def _numpy() -> Any:
    """numpy, which matplotlib itself depends on."""
    try:
        import numpy
    except ImportError as error:
        raise ImportError(f"plots need matplotlib and numpy: {INSTALL_HINT}") from error
    return numpy


def _save(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Render the figure in memory, then write it atomically: never half a picture."""
    target = Path(path)
    suffix = target.suffix or ".png"
    image = io.BytesIO()
    figure.savefig(image, format=suffix[1:])
    write_atomic(target, image.getvalue())
    return target
