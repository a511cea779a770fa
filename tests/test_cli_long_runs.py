"""A training run estimated to take more than a minute says so before it starts: how long, how
much memory, and how to stop it."""

from __future__ import annotations

import dataclasses
import re

import pytest

from gradengine.cli import app

BIG = app.Settings("moons", 1000, [1024, 1024], "adam", 0.05, 100, 0, 0.2, engine="eager")


def test_a_run_estimated_past_a_minute_gets_a_notice_with_time_memory_and_ctrl_c() -> None:
    need = app.estimate(BIG, 1)
    assert need.seconds > 60  # the premise: 1,053,697 parameters x 1,000 points x 100 steps
    notice = app.long_run_notice(BIG, 1, "train")
    assert notice is not None
    hours = re.search(r"up to about ([\d.]+) h and ([\d.]+) (MB|GB) of memory", notice)
    assert hours is not None, notice
    assert float(hours[1]) == pytest.approx(need.seconds / 3600, abs=0.05)
    scale = 1e6 if hours[3] == "MB" else 1e9
    assert float(hours[2]) == pytest.approx(need.bytes / scale, abs=0.05)
    assert "Press Ctrl-C to stop it" in notice


def test_a_short_run_gets_no_notice() -> None:
    assert app.estimate(app.DEMO, 1).seconds < 60
    assert app.long_run_notice(app.DEMO, 1, "demo") is None
    one_minute = dataclasses.replace(BIG, steps=1, samples=10, hidden=[16])
    assert app.long_run_notice(one_minute, 1, "train") is None


def test_the_notice_is_shown_before_training_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    pytest.importorskip("matplotlib", reason='the train command needs pip install ".[train]"')
    pytest.importorskip("tqdm", reason='the train command needs pip install ".[train]"')
    from gradengine.cli import train

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # the user presses Ctrl-C as the first step starts

    monkeypatch.setattr(train, "fit", interrupted)
    argv = ["train", "--hidden", "256,256", "--samples", "1000", "--steps", "10"]
    assert app.main([*argv, "--engine", "eager", "--out", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert "this run may take up to about" in err and "Press Ctrl-C to stop it" in err
    assert err.index("Press Ctrl-C") < err.index("gradengine: interrupted")
    assert not (tmp_path / "run").exists()
