"""The `gradengine` command as a user runs it: files written, accuracy reached, bad input."""

import dataclasses
import importlib
import json
import math
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
import types
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

import gradengine
from gradengine import run_settings
from gradengine.cli import app, plots, train
from gradengine.cli.app import RUN_FILES, _write_json, main
from gradengine.nn import MLP

SMALL = ["--samples", "40", "--hidden", "4", "--steps", "5", "--seed", "3"]


def ctrl_c(*args, **kwargs):
    """Stands in for any function: Ctrl-C while it runs."""
    raise KeyboardInterrupt


def is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_as_a_subprocess_writes_four_well_formed_files(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gradengine", "train", "--dataset", "moons", *SMALL]
    command += ["--optimizer", "sgd", "--lr", "0.2", "--test-fraction", "0.25", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "train accuracy" in result.stdout and "test accuracy" in result.stdout
    assert "training" in result.stderr  # the progress bar
    assert sorted(p.name for p in out.iterdir()) == [
        "boundary.png",
        "curves.png",
        "model.json",
        "report.json",
    ]
    assert is_png(out / "curves.png") and is_png(out / "boundary.png")
    for path in out.iterdir():  # readable by others, as files a user writes normally are
        assert path.stat().st_mode & 0o044 == 0o044, path.name

    report = json.loads((out / "report.json").read_text())
    assert report["settings"] == {
        "dataset": "moons",
        "samples": 40,
        "hidden": [4],
        "optimizer": "sgd",
        "lr": 0.2,
        "steps": 5,
        "seed": 3,
        "test_fraction": 0.25,
        "activation": "relu",
        "classes": 2,
        "engine": "compiled",  # --engine auto: compiled, which fits
    }
    assert report["data"] == {"n_train": 30, "n_test": 10, "n_classes": 2}
    assert [s["step"] for s in report["steps"]] == [0, 1, 2, 3, 4]
    assert report["steps"][0]["lr"] == 0.2
    for record in report["steps"]:
        assert math.isfinite(record["loss"]) and 0 <= record["train_accuracy"] <= 1
    assert report["timings"]["total_seconds"] >= report["timings"]["train_seconds"] > 0

    # The saved model reproduces the reported accuracy on the same split.
    mlp = MLP.load(out / "model.json")
    dataset = train.load_dataset("moons", 40, test_size=0.25, seed=3)
    right = sum(p == t for p, t in zip(train.predict(mlp, dataset.X_test), dataset.y_test))
    assert report["final_test_accuracy"] == right / len(dataset.y_test)
    assert f"{report['final_test_accuracy']:.1%}" in result.stdout


def test_multiclass_run_gets_one_output_per_class(tmp_path, capsys):
    assert main(["train", "--dataset", "blobs", *SMALL, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["sizes"] == [2, 4, 3]
    assert report["loss"] == "cross_entropy"
    assert len(MLP.load(tmp_path / "model.json").layers[-1].neurons) == 3


def test_demo_reaches_95_percent_and_says_where_the_pictures_are(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["final_test_accuracy"] >= 0.95
    assert report["settings"]["dataset"] == "moons"
    printed = capsys.readouterr().out
    assert str(tmp_path / "curves.png") in printed
    assert str(tmp_path / "boundary.png") in printed


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--dataset", "swirls"),
        ("--samples", "many"),
        ("--samples", "3"),
        ("--hidden", "16,x"),
        ("--hidden", "0"),
        ("--hidden", ""),
        ("--optimizer", "rmsprop"),
        ("--lr", "-0.1"),
        ("--lr", "0"),
        ("--lr", "nan"),
        ("--lr", "inf"),
        ("--steps", "0"),
        ("--steps", "2.5"),
        ("--seed", "-1"),
        ("--test-fraction", "0"),
        ("--test-fraction", "1"),
        ("--test-fraction", "half"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_flag(flag, value, tmp_path, capsys):
    assert main(["train", flag, value, "--out", str(tmp_path / "out")]) == 2
    assert f"argument {flag}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_unknown_flag_is_a_usage_error_as_a_subprocess(tmp_path):
    command = [sys.executable, "-m", "gradengine", "train", "--epochs", "3"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2
    assert "--epochs" in result.stderr and "usage:" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_test_fraction_leaving_no_training_points_is_refused(tmp_path, capsys):
    args = ["train", "--samples", "10", "--test-fraction", "0.95", "--out", str(tmp_path)]
    assert main(args) == 2
    assert "--test-fraction" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    printed = capsys.readouterr().out
    for command in ("demo", "train", "graph"):
        assert command in printed


@pytest.mark.parametrize("make_out", ["under_a_file", "is_a_file"])
def test_an_unwritable_out_fails_before_training(make_out, tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    out = blocker / "run" if make_out == "under_a_file" else blocker
    assert main(["train", *SMALL, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "--out" in captured.err and str(out) in captured.err
    assert "training" not in captured.err and "accuracy" not in captured.out
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("missing", ["tqdm", "matplotlib.figure"])
def test_without_the_train_extra_the_command_says_what_to_install(
    missing, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, missing, None)
    assert main(["train", *SMALL, "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    # gradengine is on no package index: the hint names the packages, and the extra in a clone
    assert (
        'pip install matplotlib tqdm (or, in a clone of gradengine: pip install ".[train]")' in err
    )
    assert "gradengine[train]" not in err
    assert not (tmp_path / "out").exists()


def test_divergence_is_reported_not_written(tmp_path, capsys):
    args = ["train", *SMALL, "--optimizer", "sgd", "--lr", "1e300", "--out", str(tmp_path)]
    assert main(args) == 1
    assert "diverged" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_graph_is_handed_to_its_module(monkeypatch, capsys):
    calls = []
    fake = types.ModuleType("gradengine.cli.graph")
    fake.add_parser = lambda commands: commands.add_parser("graph").add_argument("--example")
    fake.run = lambda args: calls.append(args.example) or 7
    monkeypatch.setitem(sys.modules, "gradengine.cli.graph", fake)
    assert main(["graph", "--example", "relu"]) == 7
    assert calls == ["relu"]


def test_without_its_module_graph_explains_instead_of_crashing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradengine.cli.graph", None)
    assert main(["train", "--help"]) == 0  # the other commands still work
    assert main(["graph", "--example", "relu"]) == 1
    assert "graph command could not be loaded" in capsys.readouterr().err


def test_a_dataset_without_test_points_reports_training_accuracy_only(
    tmp_path, monkeypatch, capsys
):
    whole = train.load_dataset

    def no_test_set(name, n_samples, **kwargs):
        d = whole(name, n_samples, **kwargs)
        return train.Dataset(d.name, d.X_train + d.X_test, d.y_train + d.y_test, [], [], 2)

    monkeypatch.setattr(train, "load_dataset", no_test_set)
    assert main(["train", *SMALL, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "40 training and 0 test points" in printed
    assert "train accuracy" in printed and "test accuracy" not in printed
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["final_test_accuracy"] is None
    assert all(record["test_accuracy"] is None for record in report["steps"])
    assert is_png(tmp_path / "curves.png") and is_png(tmp_path / "boundary.png")


def test_a_report_with_non_finite_numbers_writes_them_as_serialize_does(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"old": true}\n')
    path.chmod(0o600)
    _write_json(path, {"loss": math.nan, "steps": [{"loss": math.inf}, {"loss": -math.inf}]})
    assert json.loads(path.read_text()) == {
        "loss": "nan",
        "steps": [{"loss": "inf"}, {"loss": "-inf"}],
    }
    assert path.stat().st_mode & 0o777 == 0o600  # the one atomic writer keeps permissions
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left


def test_a_run_whose_loss_overflows_still_writes_a_strict_json_report(
    tmp_path, monkeypatch, capsys
):
    real_fit = train.fit

    def overflowing_fit(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        history.steps[-1] = dataclasses.replace(history.steps[-1], loss=math.inf)
        return history

    monkeypatch.setattr(train, "fit", overflowing_fit)
    assert main(["train", *SMALL, "--out", str(tmp_path)]) == 0
    text = (tmp_path / "report.json").read_text()
    report = json.loads(text, parse_constant=lambda name: pytest.fail(f"bare {name}"))
    assert report["steps"][-1]["loss"] == "inf"
    captured = capsys.readouterr()
    assert "warning: the loss overflowed" in captured.err and "overflowed" not in captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)


def test_ctrl_c_during_training_is_a_short_message_exit_130_and_no_folder(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(train, "fit", ctrl_c)
    out = tmp_path / "new" / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # not even the parent folder was created


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_as_a_real_signal_to_a_running_command(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gradengine", "train", "--steps", "100000"]
    child = subprocess.Popen(
        [*command, "--samples", "100", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell starts background jobs with SIGINT ignored, and Python keeps it ignored: the
        # child gets the default, as a command typed at a terminal does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert child.stdout is not None
        child.stdout.readline()  # the first line is printed just before training starts
        time.sleep(1.0)
        child.send_signal(signal.SIGINT)
        try:
            _, err = child.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()
            _, err = child.communicate()
            pytest.fail(f"still running 60 s after Ctrl-C; its stderr ends:\n{err[-3000:]}")
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not out.exists()


def test_an_interrupt_while_writing_never_leaves_an_old_report_beside_new_files(
    tmp_path, monkeypatch, capsys
):
    assert main(["train", *SMALL, "--out", str(tmp_path)]) == 0
    old_report = (tmp_path / "report.json").read_text()

    def interrupted_save(self, path):
        raise KeyboardInterrupt

    monkeypatch.setattr(MLP, "save", interrupted_save)
    assert main(["train", *SMALL, "--seed", "4", "--out", str(tmp_path)]) == 130
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["boundary.png", "curves.png"]  # this run's pictures, no stale report
    assert "report.json" not in left and old_report


def test_a_reused_folder_holds_the_files_of_the_last_run_only(tmp_path, capsys):
    (tmp_path / "report.json").write_text('{"stale": true}')
    (tmp_path / "notes.txt").write_text("mine")  # not one of the run's files: kept
    assert main(["train", *SMALL, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert "stale" not in report and report["settings"]["seed"] == 3
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_closed_stdout_is_no_traceback_and_the_files_are_still_written(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gradengine", "train", *SMALL, "--out", str(out)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    first = child.stdout.readline()  # as `| head -1` does: one line, then the pipe closes
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == 0, err
    assert first.startswith(b"moons:")
    assert "Traceback" not in err and "BrokenPipeError" not in err
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)


def test_demo_into_head_as_a_shell_pipeline(tmp_path):
    if shutil.which("head") is None or shutil.which("sh") is None:
        pytest.skip("needs sh and head")
    out = tmp_path / "demo"
    script = f'"{sys.executable}" -m gradengine demo --out "{out}" | head -1'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.startswith("moons:") and result.stdout.count("\n") == 1
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert (out / "report.json").is_file()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--hidden", ",".join(["1024"] * 11)], ["--hidden", "10,500,097 parameters", "limit"]),
        (["--steps", "1000000", "--samples", "100000"], ["would take about", "h (estimated)"]),
    ],
)
def test_a_run_too_big_for_any_machine_is_a_usage_error(args, fragments, tmp_path, capsys):
    assert main(["train", *args, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_a_run_that_needs_more_memory_than_there_is_is_refused_naming_the_estimate(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(run_settings, "available_memory", lambda: 8 * 10**9)
    # 8,192 hidden neurons x 32,000 training points: about 8 GB of floats, in under a day
    args = ["train", "--hidden", ",".join(["128"] * 64), "--samples", "40000", "--steps", "1"]
    args += ["--out", str(tmp_path / "o")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "GB of memory (estimated)" in err and "8.0 GB available" in err
    assert not (tmp_path / "o").exists()
    # the same settings with what the small run needs fit
    assert run_settings.estimate(app.DEMO, 1).bytes < 10**8


def test_the_memory_estimate_is_within_half_again_of_a_measurement():
    """The eager engine's BYTES_PER_* against tracemalloc on one step of two small runs."""
    for hidden, samples in (([24, 24], 100), ([48], 150)):
        settings = app.Settings("moons", samples, hidden, "adam", 0.05, 1, 0, 0.2)
        dataset = train.load_dataset("moons", samples, test_size=0.2, seed=0)
        mlp = MLP(2, [*hidden, 1], seed=0)
        optimizer = train.make_optimizer("adam", mlp, 0.05)
        peak = traced_peak_of_one_step(mlp, dataset, optimizer)
        estimated = run_settings.estimate(settings, 1).bytes
        assert peak / 1.5 < estimated < 1.5 * peak, (hidden, estimated, peak)


def traced_peak_of_one_step(mlp, dataset, optimizer):
    """tracemalloc's peak over one step of fit, after a first (which may import and compile)."""
    train.fit(mlp, dataset, optimizer, steps=1)
    tracemalloc.start()
    try:
        train.fit(mlp, dataset, optimizer, steps=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("error", "code"),
    [(ValueError("bad points"), 2), (TypeError("bad type"), 2), (RuntimeError("broken"), 1)],
)
def test_a_library_error_is_a_short_message_never_a_traceback(
    error, code, tmp_path, monkeypatch, capsys
):
    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(train, "load_dataset", failing)
    assert main(["train", *SMALL, "--out", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err
    assert str(error) in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_python_dash_m_gradengine_runs_the_command(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gradengine", "--help"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("gradengine", run_name="__main__")
    assert info.value.code == 0
    assert "demo" in capsys.readouterr().out
    monkeypatch.setattr(sys, "argv", ["gradengine", "nope"])
    with pytest.raises(SystemExit) as info:
        runpy.run_module("gradengine", run_name="__main__")
    assert info.value.code == 2
    assert "nope" in capsys.readouterr().err


def test_a_closed_pipe_outside_training_exits_as_sigpipe_would(monkeypatch, capsys):
    fake = types.ModuleType("gradengine.cli.graph")
    fake.add_parser = lambda commands: commands.add_parser("graph")

    def closed_pipe(args):
        raise BrokenPipeError(32, "Broken pipe")

    fake.run = closed_pipe
    monkeypatch.setitem(sys.modules, "gradengine.cli.graph", fake)
    assert main(["graph"]) == 141
    assert "Traceback" not in capsys.readouterr().err


def test_an_interrupt_before_the_first_file_removes_the_folder_the_run_made(
    tmp_path, monkeypatch, capsys
):
    from gradengine.cli import plots

    monkeypatch.setattr(plots, "plot_curves", ctrl_c)
    out = tmp_path / "new" / "run"
    assert main(["train", *SMALL, "--out", str(out)]) == 130
    assert list(tmp_path.iterdir()) == []  # neither folder the run made is left
    existing = tmp_path / "mine"
    existing.mkdir()  # a folder the user made stays, even empty
    assert main(["train", *SMALL, "--out", str(existing)]) == 130
    assert existing.is_dir() and list(existing.iterdir()) == []


# -- the module and the function main ---------------------------------------------------------


def test_gradengine_cli_main_is_the_function_and_its_module_is_app():
    import gradengine.cli

    assert gradengine.cli.main is app.main
    assert not isinstance(gradengine.cli.main, types.ModuleType)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("gradengine.cli.main")  # no module hides behind the function
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert 'gradengine = "gradengine.cli:main"' in pyproject  # the script entry point


# -- --version ------------------------------------------------------------------------------------


def test_version_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"gradengine {gradengine.__version__}\n"


def test_version_as_a_subprocess():
    command = [sys.executable, "-m", "gradengine", "--version"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "gradengine 0.1.0\n", "")


# -- --engine -------------------------------------------------------------------------------------


def test_a_compiled_run_reports_eager_mode_s_losses(tmp_path, capsys):
    assert main(["train", *SMALL, "--engine", "eager", "--out", str(tmp_path / "eager")]) == 0
    capsys.readouterr()
    assert main(["train", *SMALL, "--engine", "compiled", "--out", str(tmp_path / "c")]) == 0
    captured = capsys.readouterr()
    assert "5 steps, compiled\n" in captured.out
    assert "s compiling, " in captured.out  # the one-off recording, named in the timings
    assert "training: 100%" in captured.err  # the progress bar
    eager = json.loads((tmp_path / "eager" / "report.json").read_text())
    compiled = json.loads((tmp_path / "c" / "report.json").read_text())
    assert compiled["settings"]["engine"] == compiled["engine"] == "compiled"
    assert eager["settings"]["engine"] == eager["engine"] == "eager"
    assert compiled["timings"]["compile_seconds"] > 0 == eager["timings"]["compile_seconds"]
    for a, b in zip(compiled["steps"], eager["steps"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-12, abs=0)
        assert (a["train_accuracy"], a["test_accuracy"]) == (
            b["train_accuracy"],
            b["test_accuracy"],
        )
    assert compiled["final_test_accuracy"] == eager["final_test_accuracy"]


def test_a_compiled_run_of_many_classes_as_a_subprocess(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gradengine", "train", "--dataset", "spiral"]
    command += ["--classes", "3", "--engine", "compiled", *SMALL, "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("spiral: 32 training and 8 test points, 3 classes\n")
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["sizes"] == [2, 4, 3] and report["loss"] == "cross_entropy"


def test_the_compiled_engine_estimates_a_row_per_neuron_not_a_graph_per_point():
    """One sample's graph is recorded, and each neuron keeps a row of numbers per point: 10,000
    points through 2-256-256-1 fit in well under 1 GB (10,000 graphs of 66,561 weights would
    take tens of GB), and the estimate grows with the points, not with points x weights."""
    big = app.Settings("moons", 10_000, [256, 256], "sgd", 0.1, 2, 1, 0.2, engine="compiled")
    assert run_settings.estimate(big, 1).bytes < 10**9
    bigger = dataclasses.replace(big, samples=20_000)
    ratio = run_settings.estimate(bigger, 1).bytes / run_settings.estimate(big, 1).bytes
    assert 1.5 < ratio < 2.0  # twice the rows; the recording does not grow


# -- --activation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_the_hidden_activation_is_the_one_asked_for(activation, tmp_path, capsys):
    args = ["train", *SMALL, "--hidden", "4,3", "--activation", activation]
    assert main([*args, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert f"MLP(2 -> 4 {activation} -> 3 {activation} -> 1 linear, 31 parameters)" in printed
    model = MLP.load(tmp_path / "model.json")
    assert model.activation == activation
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["activation"] == activation
    # the saved model is the trained one: it reproduces the reported accuracy
    dataset = train.load_dataset("moons", 40, test_size=0.2, seed=3)
    accuracy = sum(p == t for p, t in zip(train.predict(model, dataset.X_train), dataset.y_train))
    assert report["final_train_accuracy"] == accuracy / len(dataset.y_train)


def test_an_unknown_activation_is_a_usage_error(tmp_path, capsys):
    assert main(["train", "--activation", "gelu", "--out", str(tmp_path / "o")]) == 2
    assert "argument --activation" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


# -- --classes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dataset", "k"), [("spiral", 3), ("blobs", 4), ("blobs", 2)])
def test_blobs_and_spiral_train_on_the_number_of_classes_asked_for(dataset, k, tmp_path, capsys):
    args = ["train", "--dataset", dataset, "--classes", str(k), *SMALL, "--out", str(tmp_path)]
    assert main(args) == 0
    assert f", {k} classes\n" in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["settings"]["classes"] == report["data"]["n_classes"] == k
    assert report["model"]["sizes"][-1] == (1 if k == 2 else k)
    assert report["loss"] == ("hinge" if k == 2 else "cross_entropy")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--dataset", "moons", "--classes", "3"], "moons has 2 classes; --classes applies to"),
        (["--dataset", "spiral", "--classes", "1"], "expected at least 2 and at most 7, got 1"),
        (["--dataset", "blobs", "--classes", "8"], "at most 7, got 8"),
        (["--dataset", "spiral", "--classes", "three"], "expected an integer, got 'three'"),
    ],
)
def test_classes_that_cannot_be_made_are_a_usage_error(args, fragment, tmp_path, capsys):
    assert main(["train", *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "argument --classes" in err and fragment in err
    assert not (tmp_path / "o").exists()


def test_every_class_has_a_color_of_its_own_in_the_pictures():
    assert len(set(plots.CLASS_COLORS)) == app.MAX_CLASSES


def test_two_classes_of_a_two_class_dataset_are_allowed(tmp_path, capsys):
    assert (
        main(["train", "--dataset", "xor", "--classes", "2", *SMALL, "--out", str(tmp_path)]) == 0
    )
    assert json.loads((tmp_path / "report.json").read_text())["data"]["n_classes"] == 2


# -- --quiet --------------------------------------------------------------------------------------


def test_quiet_prints_nothing_and_still_writes_every_file(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "gradengine", "train", *SMALL, "--quiet", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")  # no bar either
    assert sorted(p.name for p in out.iterdir()) == sorted(RUN_FILES)
    assert json.loads((out / "report.json").read_text())["settings"]["steps"] == 5


def test_quiet_still_reports_errors_on_stderr(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    assert main(["train", *SMALL, "--quiet", "--out", str(blocker)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "argument --out" in captured.err
    args = ["train", *SMALL, "--optimizer", "sgd", "--lr", "1e300", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 1
    assert "diverged at step" in capsys.readouterr().err


def test_demo_takes_quiet_and_engine_too(tmp_path, monkeypatch, capsys):
    seen = {}
    real_fit = train.fit

    def short_fit(*args, **kwargs):
        seen.update(kwargs)
        return real_fit(*args, **{**kwargs, "steps": 2})

    monkeypatch.setattr(train, "fit", short_fit)
    assert main(["demo", "--quiet", "--engine", "compiled", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr() == ("", "")
    assert seen["engine"] == "compiled"
    assert json.loads((tmp_path / "report.json").read_text())["settings"]["engine"] == "compiled"


# -- timings, plurals and what to try next ------------------------------------------------------

TIMINGS = re.compile(
    r"^training (\d+\.\d) s \((?:(\d+\.\d) s compiling, )?(\d+) ms per step\), "
    r"pictures (\d+\.\d) s, total (\d+\.\d) s$",
    re.MULTILINE,
)


def test_the_timings_count_the_wall_clock_from_the_start_of_the_command(
    tmp_path, monkeypatch, capsys
):
    real_fit, real_plot = train.fit, plots.plot_curves

    def slow_fit(*args, **kwargs):  # time that no step measures: training still counts it
        history = real_fit(*args, **kwargs)
        time.sleep(0.6)
        return history

    def slow_plot(*args, **kwargs):
        time.sleep(0.4)
        return real_plot(*args, **kwargs)

    monkeypatch.setattr(train, "fit", slow_fit)
    monkeypatch.setattr(plots, "plot_curves", slow_plot)
    started = time.perf_counter()
    assert main(["train", *SMALL, "--engine", "eager", "--out", str(tmp_path)]) == 0
    wall = time.perf_counter() - started
    match = TIMINGS.search(capsys.readouterr().out)
    assert match, "no timings line"
    training, _, per_step, pictures, total = match.groups()
    training, pictures, total = float(training), float(pictures), float(total)
    assert training >= 0.6 and pictures >= 0.4
    assert total >= training + pictures - 1e-9  # as printed, never less than its parts
    # from main()'s start to its last line; never less than its parts, each rounded by <= 0.05
    assert wall - 0.15 <= total <= wall + 0.1 + 1e-9
    assert abs(int(per_step) - 1000 * training / 5) <= 11  # training is rounded to 0.05 s
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["timings"]["training_wall_seconds"] >= 0.6 + report["timings"]["train_seconds"]
    assert report["timings"]["plot_seconds"] >= 0.4
    assert report["timings"]["total_seconds"] <= wall


def test_the_printed_total_is_never_below_its_rounded_parts(monkeypatch):
    monkeypatch.setattr(app.time, "perf_counter", lambda: 100.12)
    # 0.06 s and 0.06 s round to 0.1 and 0.1: the 0.12 s total is shown as 0.2, not 0.1
    text = app._timings_text(0.06, 0.0, 1, 0.06, started=100.0)
    assert text == "training 0.1 s (60 ms per step), pictures 0.1 s, total 0.2 s"
    text = app._timings_text(2.0, 0.5, 10, 1.0, started=96.0)
    assert text == "training 2.0 s (0.5 s compiling, 150 ms per step), pictures 1.0 s, total 4.1 s"


def test_one_step_one_point_and_one_class_are_singular(tmp_path, capsys):
    # 41 points with a test fraction of 0.01: 40 training points and 1 test point
    args = ["train", "--samples", "41", "--test-fraction", "0.01", "--steps", "1", "--hidden", "3"]
    assert main([*args, "--engine", "eager", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "moons: 40 training points and 1 test point, 2 classes\n" in printed
    assert ", 1 step\n" in printed
    assert "(40 points)" in printed and "(1 point)" in printed
    for wrong in ("1 steps", "1 points", "1 test points", "1 classes"):
        assert wrong not in printed


@pytest.mark.parametrize(
    ("count", "noun", "nouns", "expected"),
    [
        (1, "point", None, "1 point"),
        (0, "point", None, "0 points"),
        (2, "step", None, "2 steps"),
        (1, "class", "classes", "1 class"),
        (3, "class", "classes", "3 classes"),
    ],
)
def test_plural(count, noun, nouns, expected):
    assert app.plural(count, noun, nouns) == expected


def test_demo_ends_with_what_to_try_next_and_both_suggestions_run(tmp_path, monkeypatch, capsys):
    real_fit = train.fit
    monkeypatch.setattr(train, "fit", lambda *a, **k: real_fit(*a, **{**k, "steps": 1}))
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == app.NEXT
    commands = [part.split(": ", 1)[-1] for part in last.removeprefix("next: ").split("; ")]
    assert [shlex.split(c)[:2] for c in commands] == [
        ["gradengine", "train"],
        ["gradengine", "graph"],
    ]
    train_args = shlex.split(commands[0])[1:]
    assert app.build_parser().parse_args(train_args).classes == 3
    graph_args = shlex.split(commands[1])[1:]
    assert main([*graph_args, "--out", str(tmp_path / "graph")]) == 0
    assert (tmp_path / "graph" / "graph.html").is_file()
    # a train run does not suggest itself
    assert main(["train", *SMALL, "--out", str(tmp_path / "t")]) == 0
    assert "next:" not in capsys.readouterr().out


def test_the_default_engine_is_compiled_and_eager_is_refused_where_only_compiled_fits(
    tmp_path, monkeypatch, capsys
):
    settings = app.Settings("moons", 2000, [64, 64], "adam", 0.05, 2, 1, 0.2, engine="eager")
    eager_bytes = run_settings.estimate(settings, 1).bytes
    compiled = dataclasses.replace(settings, engine="compiled")
    compiled_bytes = run_settings.estimate(compiled, 1).bytes
    # batched replay keeps a row of numbers per point and neuron; eager a graph per point
    assert compiled_bytes < eager_bytes
    # room for compiled only
    free = int((eager_bytes + compiled_bytes) / 2 / run_settings.MEMORY_SHARE)
    monkeypatch.setattr(run_settings, "available_memory", lambda: free)
    args = ["train", "--samples", "2000", "--hidden", "64,64", "--steps", "2", "--seed", "1"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["settings"]["engine"] == "compiled"
    # asked for explicitly, eager is refused instead, naming the estimate
    assert main([*args, "--engine", "eager", "--out", str(tmp_path / "b")]) == 2
    assert "memory (estimated)" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
