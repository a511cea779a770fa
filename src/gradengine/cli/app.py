"""The `gradengine` command: train an MLP on a 2-D dataset, with a live progress bar and plots.

gradengine demo                 moons, good defaults, pictures in runs/demo
gradengine train --dataset ...  the same with every setting chosen on the command line
gradengine graph ...            draw a computation graph
gradengine playground           train live in the browser (a local server)
gradengine --version            gradengine 0.1.0

(This module is gradengine.cli.app; gradengine.cli.main is its function main.)
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

from gradengine import __version__
from gradengine.cli.train import DATASETS, ENGINES, MULTICLASS_DATASETS, default_classes
from gradengine.files import write_atomic
from gradengine.run_settings import (
    DEFAULT_LR,
    Settings,
    estimate,
    fraction,
    integer_in,
    layer_sizes,
    positive_float,
    size_text,
    time_text,
    too_big,
)
from gradengine.serialize import json_number

# gradengine is on no package index: its extras install from a clone (or a git URL).
INSTALL_HINT = 'pip install matplotlib tqdm (or, in a clone of gradengine: pip install ".[train]")'
ACTIVATIONS = ("relu", "tanh", "sigmoid")
#: The most --classes: the pictures tell the classes apart by color (plots.CLASS_COLORS).
MAX_CLASSES = 7
#: What to try after the demo, in one line.
NEXT = (
    "next: gradengine train --dataset spiral --classes 3 --engine compiled; or see backprop: "
    'gradengine graph --expr "tanh(x*w + b)" --set x=2,w=-3,b=6.8813735870195432'
)


DEMO = Settings("moons", 200, [16, 16], "adam", 0.05, 100, 1337, 0.2)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """count and noun, plural (nouns, else noun + "s") unless count is 1: "1 point", "2 points"."""
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


# -- the parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The `gradengine` parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="gradengine",
        description="Train small neural networks built on a scalar autodiff engine.",
    )
    parser.add_argument("--version", action="version", version=f"gradengine {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", help="train on two moons with good defaults and draw the pictures"
    )
    demo.add_argument(
        "--out", metavar="DIR", default="runs/demo", help="where to write (%(default)s)"
    )
    _add_run_options(demo)

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
        "--classes",
        type=integer_in(2, MAX_CLASSES),
        default=None,
        metavar="N",
        help="number of classes of blobs (default 3) or spiral (default 2)",
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
        "--activation",
        choices=ACTIVATIONS,
        default="relu",
        help="activation of the hidden layers (default: %(default)s)",
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
    _add_run_options(train)

    _add_graph_command(commands)
    importlib.import_module("gradengine.cli.playground").add_parser(commands)
    return parser


def _add_run_options(command: argparse.ArgumentParser) -> None:
    """The flags of demo and train that change how a run goes, not what it computes."""
    command.add_argument(
        "--engine",
        choices=("auto", *ENGINES),
        default="auto",
        help="eager builds every step's graph anew; compiled records one point's graph once "
        "and replays it over the batch: faster, the same numbers to rounding; auto: compiled "
        "when it fits in memory, else eager (default: %(default)s)",
    )
    command.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar and nothing on stdout; errors still go to stderr",
    )


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


# -- before a run starts ---------------------------------------------------------------------------

#: A run estimated to take longer than this says so, and how to stop it, before it starts.
LONG_RUN_SECONDS = 60


def long_run_notice(settings: Settings, n_outputs: int, command: str) -> str | None:
    """What a run estimated to take more than LONG_RUN_SECONDS will take, and how to stop it."""
    need = estimate(settings, n_outputs)
    if need.seconds <= LONG_RUN_SECONDS:
        return None
    return (
        f"gradengine {command}: this run may take up to about {time_text(need.seconds)} and "
        f"{size_text(need.bytes)} of memory (estimated); the first step can take "
        f"{time_text(need.seconds / settings.steps)} or more before progress shows. "
        "Press Ctrl-C to stop it."
    )


# -- running -------------------------------------------------------------------------------------


def say(*parts: object) -> None:
    """print() to stdout, which goes quiet for good once its reader has gone (| head -1)."""
    try:
        print(*parts, flush=True)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Send the rest of stdout to devnull, so neither later prints nor the exit flush fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is no file (a test's capture)
        pass
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives until exit)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    0 ok, 1 failure, 2 bad input (a usage error, or a ValueError/TypeError from the library),
    130 interrupted (Ctrl-C). Never a traceback. When stdout's reader goes away
    (gradengine demo | head -1) a training run goes on quietly, still writes its files, and
    exits as it would have; anywhere else a closed pipe ends the command with 141, as SIGPIPE.
    """
    started = time.perf_counter()  # "total" in a run's timings is measured from here
    try:
        return _main(argv, started)
    except KeyboardInterrupt:
        _complain("interrupted")
        return 130
    except BrokenPipeError:  # a reader went away where say() was not used: exit as SIGPIPE would
        _silence_stdout()
        return 141
    except (ValueError, TypeError) as error:
        _complain(f"error: {error}")
        return 2
    except Exception as error:  # the command line shows no tracebacks
        _complain(f"{type(error).__name__}: {error}")
        return 1


def _complain(message: str) -> None:
    """message on stderr, once, whatever state stderr is in."""
    with contextlib.suppress(OSError, ValueError):
        print(f"gradengine: {message}", file=sys.stderr, flush=True)


def _main(argv: list[str] | None, started: float) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # argparse exits on --help, --version and on usage errors
        return exit_.code if isinstance(exit_.code, int) else 2
    if args.command == "playground":
        playground: ModuleType = importlib.import_module("gradengine.cli.playground")
        served: int = playground.run(args)
        return served
    if args.command == "graph":
        if getattr(args, "unavailable", None):
            print(f"gradengine graph: {args.unavailable}", file=sys.stderr)
            return 1
        graph_command: ModuleType = importlib.import_module("gradengine.cli.graph")
        code: int = graph_command.run(args)
        return code
    if args.command == "demo":
        demo = dataclasses.replace(DEMO, engine=args.engine)
        return run(demo, Path(args.out), command="demo", started=started, quiet=args.quiet)
    classes = default_classes(args.dataset)
    if args.classes is not None:
        if args.dataset not in MULTICLASS_DATASETS and args.classes != classes:
            print(
                f"gradengine train: error: argument --classes: {args.dataset} has {classes} "
                f"classes; --classes applies to {' and '.join(MULTICLASS_DATASETS)}",
                file=sys.stderr,
            )
            return 2
        classes = args.classes
    settings = Settings(
        dataset=args.dataset,
        samples=args.samples,
        hidden=args.hidden,
        optimizer=args.optimizer,
        lr=args.lr if args.lr is not None else DEFAULT_LR[args.optimizer],
        steps=args.steps,
        seed=args.seed,
        test_fraction=args.test_fraction,
        activation=args.activation,
        classes=classes,
        engine=args.engine,
    )
    out = Path(args.out) if args.out is not None else Path("runs") / args.dataset
    return run(settings, out, command="train", started=started, quiet=args.quiet)


#: The files a run writes into its folder; report.json last, so that it marks a complete run.
RUN_FILES = ("curves.png", "boundary.png", "model.json", "report.json")


def run(
    settings: Settings,
    out: Path,
    *,
    command: str,
    started: float | None = None,
    quiet: bool = False,
) -> int:
    """Check everything, train with a progress bar, report, and write the four files into out.

    The folder is created only when training is done; the files of an earlier run in it are
    removed first, so it never mixes two runs. report.json is written last. started is the
    perf_counter() time the command began (now if None): the printed total counts from there.
    quiet: no progress bar and nothing on stdout (errors and warnings still go to stderr).
    """
    if started is None:
        started = time.perf_counter()
    tell = _say_nothing if quiet else say
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

    from gradengine.cli import plots, train
    from gradengine.nn import MLP

    if settings.engine == "auto":  # compiled: faster, and less memory (a row per point)
        compiled = dataclasses.replace(settings, engine="compiled")
        fits = too_big(compiled, train.n_outputs(settings.classes)) is None
        settings = compiled if fits else dataclasses.replace(settings, engine="eager")
    problem = too_big(settings, train.n_outputs(settings.classes))
    if problem:
        print(f"gradengine {command}: error: {problem}", file=sys.stderr)
        return 2
    notice = long_run_notice(settings, train.n_outputs(settings.classes), command)
    if notice and not quiet:
        print(notice, file=sys.stderr, flush=True)

    dataset = train.load_dataset(
        settings.dataset,
        settings.samples,
        test_size=settings.test_fraction,
        seed=settings.seed,
        n_classes=settings.classes,
    )
    sizes = [2, *settings.hidden, train.n_outputs(dataset.n_classes)]
    mlp = MLP(2, sizes[1:], seed=settings.seed, activation=settings.activation)
    optimizer = train.make_optimizer(settings.optimizer, mlp, settings.lr)
    n_train, n_test = len(dataset.X_train), len(dataset.X_test)
    engine = ", compiled" if settings.engine == "compiled" else ""
    tell(
        f"{settings.dataset}: {_points_text(n_train, n_test)}, "
        f"{plural(dataset.n_classes, 'class', 'classes')}\n{mlp}\n"
        f"{settings.optimizer}, lr {settings.lr:g} decaying to {settings.lr / 10:g}, "
        f"{plural(settings.steps, 'step')}{engine}",
    )  # flushed before the progress bar starts drawing on stderr

    training_started = time.perf_counter()
    with tqdm.tqdm(
        total=settings.steps, desc="training", unit="step", file=sys.stderr, disable=quiet
    ) as bar:
        done = 0

        def show(record: train.StepRecord) -> None:
            nonlocal done
            done += 1
            test = "-" if record.test_accuracy is None else f"{record.test_accuracy:.1%}"
            postfix = {"loss": f"{record.loss:.4f}", "train": f"{record.train_accuracy:.1%}"}
            bar.set_postfix({**postfix, "test": test}, refresh=False)
            bar.update(1)

        try:
            history = train.fit(
                mlp,
                dataset,
                optimizer,
                steps=settings.steps,
                seed=settings.seed,
                callback=show,
                engine=settings.engine,
            )
        except FloatingPointError as error:
            bar.close()
            print(
                f"gradengine {command}: training diverged at step {done}: {error}\n"
                "try a smaller --lr",
                file=sys.stderr,
            )
            return 1
    training_seconds = time.perf_counter() - training_started

    result = history.as_dict()
    report: dict[str, Any] = {
        "gradengine_version": __version__,
        "command": command,
        "settings": asdict(settings),
        "data": {"n_train": n_train, "n_test": n_test, "n_classes": dataset.n_classes},
        "model": {"sizes": sizes, "parameters": len(mlp.parameters())},
        **result,
    }
    report["timings"]["training_wall_seconds"] = training_seconds

    # Everything is written before anything is printed: a reader that stops early (| head -1)
    # never costs the run its files.
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    out.mkdir(parents=True, exist_ok=True)
    try:
        for name in RUN_FILES:  # an earlier run's files, which must not sit beside these
            (out / name).unlink(missing_ok=True)
        plotting = time.perf_counter()
        curves = plots.plot_curves(history, out / "curves.png")
        boundary = plots.plot_boundary(
            mlp,
            dataset.X_train,
            dataset.y_train,
            dataset.X_test,
            dataset.y_test,
            out / "boundary.png",
        )
        plot_seconds = time.perf_counter() - plotting
        report["timings"]["plot_seconds"] = plot_seconds
        mlp.save(out / "model.json")
        report["timings"]["total_seconds"] = time.perf_counter() - started
        _write_json(out / "report.json", report)
    except BaseException:
        for folder in created:  # the folders this run made and never filled, deepest first
            if any(folder.iterdir()):
                break
            folder.rmdir()
        raise

    if not all(math.isfinite(record.loss) for record in history.steps):
        print(
            f"gradengine {command}: warning: the loss overflowed: report.json writes it as "
            '"inf" or "nan"; try a smaller --lr',
            file=sys.stderr,
        )
    test_accuracy = history.final_test_accuracy
    tell(f"train accuracy: {history.final_train_accuracy:6.1%}  ({plural(n_train, 'point')})")
    if test_accuracy is not None:
        tell(f"test accuracy:  {test_accuracy:6.1%}  ({plural(n_test, 'point')})")
    tell(
        _timings_text(
            training_seconds, history.compile_seconds, settings.steps, plot_seconds, started
        )
    )
    tell(f"wrote {out / 'model.json'} and {out / 'report.json'}")
    tell(f"pictures: {curves} (loss and accuracy per step)")
    tell(f"          {boundary} (decision boundary)")
    if command == "demo":
        tell(NEXT)
    return 0


def _say_nothing(*parts: object) -> None:
    """say() under --quiet."""


def _points_text(n_train: int, n_test: int) -> str:
    """The points, each noun agreeing with its count: "160 training and 40 test points"."""
    if n_train == 1 or n_test == 1:
        return f"{plural(n_train, 'training point')} and {plural(n_test, 'test point')}"
    return f"{n_train} training and {n_test} test points"


def _timings_text(
    training: float, compiling: float, steps: int, pictures: float, started: float
) -> str:
    """ "training 6.1 s (61 ms per step), pictures 1.2 s, total 7.5 s", total from started.

    Each is rounded to 0.1 s; the total, which also counts setup and writing, is never shown
    below the sum of the two shown before it.
    """
    training_text, pictures_text = round(training, 1), round(pictures, 1)
    total = max(round(time.perf_counter() - started, 1), round(training_text + pictures_text, 1))
    per_step = 1000 * (training - compiling) / steps
    how = f"{compiling:.1f} s compiling, " if compiling else ""
    return (
        f"training {training_text:.1f} s ({how}{per_step:.0f} ms per step), "
        f"pictures {pictures_text:.1f} s, total {total:.1f} s"
    )


def _unwritable(out: Path) -> str | None:
    """Why files cannot be written into the directory out, or None if they can.

    Nothing is created: the folder is made only when there is something to put in it.
    """
    existing = out
    while not existing.exists():
        if existing.is_symlink():  # a dangling link: mkdir would fail
            return f"cannot write into {str(out)!r}: {str(existing)!r} is a broken symlink"
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        kind = "not a directory" if existing == out else f"{str(existing)!r} is not a directory"
        return f"cannot write into {str(out)!r}: {kind}"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"cannot write into {str(out)!r}: permission denied"
    return None


def _json_ready(x: object) -> object:
    """x with every non-finite float written as serialize writes it: "nan", "inf", "-inf"."""
    if isinstance(x, float):
        return json_number(x)
    if isinstance(x, dict):
        return {key: _json_ready(value) for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(item) for item in x]
    return x


def _write_json(path: Path, content: dict[str, Any]) -> None:
    """Write content as indented JSON, atomically; a non-finite number becomes "inf" or "nan"."""
    write_atomic(path, json.dumps(_json_ready(content), indent=2, allow_nan=False) + "\n")
