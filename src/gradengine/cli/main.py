"""The `gradengine` command: train an MLP on a 2-D dataset, with a live progress bar and plots.

gradengine demo                 moons, good defaults, pictures in runs/demo
gradengine train --dataset ...  the same with every setting chosen on the command line
gradengine graph ...            draw a computation graph
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from gradengine.train import DATASETS

INSTALL_HINT = 'pip install "gradengine[train]"'
DEFAULT_LR = {"sgd": 0.5, "adam": 0.05}


@dataclass(frozen=True)
class Settings:
    """Everything that decides a training run."""

    dataset: str
    samples: int
    hidden: list[int]
    optimizer: str
    lr: float
    steps: int
    seed: int
    test_fraction: float


DEMO = Settings("moons", 200, [16, 16], "adam", 0.05, 100, 1337, 0.2)


# -- argument types: each names what it expects, so argparse reports "argument --flag: ..." -----


def integer_in(minimum: int, maximum: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer >= minimum (and <= maximum, if given)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if number < minimum or (maximum is not None and number > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise argparse.ArgumentTypeError(f"expected at least {minimum}{upper}, got {number}")
        return number

    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    number = _float(text)
    if not (number > 0 and math.isfinite(number)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return number


def fraction(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    number = _float(text)
    if not 0 < number < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1 (exclusive), got {text!r}"
        )
    return number


def layer_sizes(text: str) -> list[int]:
    """An argparse type: comma-separated hidden layer sizes such as 16,16."""
    parts = text.split(",")
    try:
        sizes = [int(part) for part in parts]
    except ValueError:
        sizes = []
    if not sizes or any(size < 1 or size > 1024 for size in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes from 1 to 1024 such as 16,16, got {text!r}"
        )
    return sizes


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


# -- the parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The `gradengine` parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="gradengine",
        description="Train small neural networks built on a scalar autodiff engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="train on two moons with good defaults and draw the pictures"
    )
    demo.add_argument(
        "--out", metavar="DIR", default="runs/demo", help="where to write (%(default)s)"
    )

    train = commands.add_parser(
        "train",
        help="train an MLP on a 2-D dataset",
        description="Train an MLP on a 2-D dataset; write curves.png, boundary.png, "
        "model.json and report.json into --out.",
    )
    train.add_argument(
        "--dataset",
        choices=DATASETS,
        default="moons",
        help="the points to classify; blobs has 3 classes, the others 2 (default: %(default)s)",
    )
    train.add_argument(
        "--samples",
        type=integer_in(10, 100_000),
        default=200,
        metavar="N",
        help="number of points, train and test together (default: %(default)s)",
    )
    train.add_argument(
        "--hidden",
        type=layer_sizes,
        default=[16, 16],
        metavar="SIZES",
        help="hidden layer sizes, comma-separated (default: 16,16)",
    )
    train.add_argument(
        "--optimizer",
        choices=("sgd", "adam"),
        default="adam",
        help="plain SGD or Adam (default: %(default)s)",
    )
    train.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="initial learning rate, decayed linearly to a tenth (default: 0.05 adam, 0.5 sgd)",
    )
    train.add_argument(
        "--steps",
        type=integer_in(1, 1_000_000),
        default=200,
        help="training steps, each over every training point (default: %(default)s)",
    )
    train.add_argument(
        "--seed",
        type=integer_in(0, 2**32 - 1),
        default=1337,
        help="seeds the data, the split and the initial weights (default: %(default)s)",
    )
    train.add_argument(
        "--test-fraction",
        type=fraction,
        default=0.2,
        metavar="F",
        help="share of the points held out for testing (default: %(default)s)",
    )
    train.add_argument(
        "--out", metavar="DIR", default=None, help="where to write (default: runs/DATASET)"
    )

    _add_graph_command(commands)
    return parser


def _add_graph_command(commands: Any) -> None:
    """Register `graph` from gradengine.cli.graph, or a stand-in that explains its absence."""
    try:
        module = importlib.import_module("gradengine.cli.graph")
    except ImportError as error:
        # prefix_chars="+" lets every argument through as a word, so the stand-in can explain.
        stand_in = commands.add_parser(
            "graph", help="draw a computation graph (unavailable)", prefix_chars="+"
        )
        stand_in.add_argument("words", nargs="*", help=argparse.SUPPRESS)
        stand_in.set_defaults(unavailable=f"the graph command could not be loaded: {error}")
        return
    module.add_parser(commands)


# -- running -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 failure, 2 usage error)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help and on usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "graph":
        if getattr(args, "unavailable", None):
            print(f"gradengine graph: {args.unavailable}", file=sys.stderr)
            return 1
        graph_command: ModuleType = importlib.import_module("gradengine.cli.graph")
        code: int = graph_command.run(args)
        return code
    if args.command == "demo":
        return run(DEMO, Path(args.out), command="demo")
    settings = Settings(
        dataset=args.dataset,
        samples=args.samples,
        hidden=args.hidden,
        optimizer=args.optimizer,
        lr=args.lr if args.lr is not None else DEFAULT_LR[args.optimizer],
        steps=args.steps,
        seed=args.seed,
        test_fraction=args.test_fraction,
    )
    out = Path(args.out) if args.out is not None else Path("runs") / args.dataset
    return run(settings, out, command="train")


def run(settings: Settings, out: Path, *, command: str) -> int:
    """Check everything, train with a progress bar, report, and write the four files into out."""
    started = time.perf_counter()
    try:
        tqdm = importlib.import_module("tqdm")
        importlib.import_module("matplotlib.figure")
    except ImportError as error:
        print(
            f"gradengine {command}: needs matplotlib and tqdm ({error}); install them with:\n"
            f"    {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 1
    n_test = math.ceil(settings.test_fraction * settings.samples)  # as train_test_split rounds
    if n_test >= settings.samples:
        print(
            f"gradengine {command}: error: argument --test-fraction: {settings.test_fraction} "
            f"of {settings.samples} samples leaves none for training",
            file=sys.stderr,
        )
        return 2
    problem = _unwritable(out)
    if problem:
        print(f"gradengine {command}: error: argument --out: {problem}", file=sys.stderr)
        return 2

    from gradengine import __version__, train
    from gradengine.cli import plots
    from gradengine.nn import MLP

    dataset = train.load_dataset(
        settings.dataset, settings.samples, test_size=settings.test_fraction, seed=settings.seed
    )
    sizes = [2, *settings.hidden, train.n_outputs(dataset.n_classes)]
    mlp = MLP(2, sizes[1:], seed=settings.seed)
    optimizer = train.make_optimizer(settings.optimizer, mlp, settings.lr)
    print(
        f"{settings.dataset}: {len(dataset.X_train)} training and {len(dataset.X_test)} test"
        f" points, {dataset.n_classes} classes\n{mlp}\n"
        f"{settings.optimizer}, lr {settings.lr:g} decaying to {settings.lr / 10:g},"
        f" {settings.steps} steps",
        flush=True,  # before the progress bar starts drawing on stderr
    )

    with tqdm.tqdm(total=settings.steps, desc="training", unit="step", file=sys.stderr) as bar:

        def show(record: train.StepRecord) -> None:
            test = "-" if record.test_accuracy is None else f"{record.test_accuracy:.1%}"
            postfix = {"loss": f"{record.loss:.4f}", "train": f"{record.train_accuracy:.1%}"}
            bar.set_postfix({**postfix, "test": test}, refresh=False)
            bar.update(1)

        try:
            history = train.fit(
                mlp, dataset, optimizer, steps=settings.steps, seed=settings.seed, callback=show
            )
        except FloatingPointError as error:
            bar.close()
            print(
                f"gradengine {command}: training diverged at step {bar.n}: {error}\n"
                "try a smaller --lr",
                file=sys.stderr,
            )
            return 1

    test_accuracy = history.final_test_accuracy
    print(f"train accuracy: {history.final_train_accuracy:6.1%}  ({len(dataset.X_train)} points)")
    if test_accuracy is not None:
        print(f"test accuracy:  {test_accuracy:6.1%}  ({len(dataset.X_test)} points)")
    per_step = history.train_seconds / settings.steps
    print(f"training took {history.train_seconds:.1f} s ({1000 * per_step:.0f} ms per step)")

    plotting = time.perf_counter()
    curves = plots.plot_curves(history, out / "curves.png")
    boundary = plots.plot_boundary(
        mlp, dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test, out / "boundary.png"
    )
    plot_seconds = time.perf_counter() - plotting
    mlp.save(out / "model.json")

    result = history.as_dict()
    result["timings"]["plot_seconds"] = plot_seconds
    result["timings"]["total_seconds"] = time.perf_counter() - started
    report = {
        "gradengine_version": __version__,
        "command": command,
        "settings": asdict(settings),
        "data": {
            "n_train": len(dataset.X_train),
            "n_test": len(dataset.X_test),
            "n_classes": dataset.n_classes,
        },
        "model": {"sizes": sizes, "parameters": len(mlp.parameters())},
        **result,
    }
    _write_json(out / "report.json", report)
    print(f"wrote {out / 'model.json'} and {out / 'report.json'}")
    print(f"pictures: {curves} (loss and accuracy per step)")
    print(f"          {boundary} (decision boundary)")
    return 0


def _unwritable(out: Path) -> str | None:
    """Why files cannot be written into the directory out (creating it), or None if they can."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        return f"cannot write into {str(out)!r}: {error.strerror or error}"
    return None


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Write JSON to a temporary file beside path, then rename it: never a half-written file."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(content, file, indent=2, allow_nan=False)
            file.write("\n")
        os.chmod(temporary, 0o644)  # mkstemp makes it private (0600); a report is not secret
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
