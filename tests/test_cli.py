"""The `gradengine` command as a user runs it: files written, accuracy reached, bad input."""

import json
import math
import runpy
import subprocess
import sys
import types

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("tqdm")

from gradengine import train
from gradengine.cli.main import _write_json, main
from gradengine.nn import MLP

SMALL = ["--samples", "40", "--hidden", "4", "--steps", "5", "--seed", "3"]


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
    assert 'pip install "gradengine[train]"' in capsys.readouterr().err
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


def test_a_report_that_cannot_be_written_leaves_no_file_behind(tmp_path):
    path = tmp_path / "report.json"
    path.write_text('{"old": true}\n')
    with pytest.raises(ValueError, match="JSON"):
        _write_json(path, {"loss": math.nan})  # strict JSON has no nan
    assert path.read_text() == '{"old": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left
    _write_json(path, {"loss": 0.5})
    assert json.loads(path.read_text()) == {"loss": 0.5}


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
