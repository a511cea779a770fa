"""benchmarks/run.py --quick runs and reports a well-formed table; no timing is asserted."""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gradengine

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"

EXPECTED_ENGINES = {
    "moons": [
        "micrograd",
        "gradengine",
        "gradengine",
        "gradengine",
        "gradengine",
        "PyTorch",
        "NumPy",
        "PyTorch",
    ],
    "random graph": ["micrograd", "gradengine"],
    "chain": ["micrograd", "gradengine"],
}
README = """# project

<!-- section:intro -->
intro stays
<!-- /section:intro -->

<!-- section:speed -->
old numbers
<!-- /section:speed -->

## License
"""


def run_script(*args: str, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        env=env,
    )


@pytest.fixture(scope="module")
def quick_dir(tmp_path_factory):
    """A directory holding results.json and README.md from one quick run, and its stdout."""
    for module in ("micrograd", "numpy", "sklearn", "torch"):
        pytest.importorskip(module)
    out = tmp_path_factory.mktemp("bench")
    readme = out / "README.md"
    readme.write_text(README)
    results = out / "results.json"
    args = ["--quick", "--json", str(results), "--markdown", "--readme", str(readme)]
    done = run_script(*args, cwd=out)
    assert done.returncode == 0, done.stderr
    (out / "stdout.txt").write_text(done.stdout)
    return out


@pytest.fixture(scope="module")
def quick(quick_dir):
    """(stdout, JSON report, rewritten README) of one quick run."""
    stdout = (quick_dir / "stdout.txt").read_text()
    report = json.loads((quick_dir / "results.json").read_text())
    return stdout, report, (quick_dir / "README.md").read_text()


def kind(workload):
    return "moons" if workload == "moons" else workload.split(",")[0]


def rows_of(report, workload_kind):
    return [row for row in report["rows"] if kind(row["workload"]) == workload_kind]


def test_every_engine_has_a_row_for_every_workload(quick):
    _, report, _ = quick
    for workload_kind, engines in EXPECTED_ENGINES.items():
        names = [row["engine"].split()[0] for row in rows_of(report, workload_kind)]
        assert names == engines
    assert len(report["rows"]) == sum(len(e) for e in EXPECTED_ENGINES.values())


def test_every_number_is_finite_and_timings_are_ordered(quick):
    _, report, _ = quick
    for row in report["rows"]:
        numbers = [v for v in row.values() if isinstance(v, (int, float))]
        assert all(math.isfinite(v) for v in numbers), row
        assert 0 < row["ms_min"] <= row["ms_median"], row
        assert row["timed"] >= 1
        expected_timed = 1 if "per-scalar" in row["engine"] else 3
        assert row["timed"] >= expected_timed, row


def test_speedups_are_micrograd_median_over_engine_median(quick):
    _, report, _ = quick
    for workload_kind in EXPECTED_ENGINES:
        rows = rows_of(report, workload_kind)
        micrograd = rows[0]
        assert micrograd["speedup"] == 1.0
        for row in rows:
            assert row["speedup"] == pytest.approx(micrograd["ms_median"] / row["ms_median"])


def test_gradengine_trains_exactly_like_micrograd(quick):
    _, report, _ = quick
    steps = report["sizes"]["moons_steps"]
    rows = rows_of(report, "moons")
    micrograd, gradengine, python, numpy, per_sample, torch_batched, numpy_batched, _ = rows
    assert gradengine["compared"] == steps
    assert gradengine["max_rel_diff"] <= 1e-9
    assert gradengine["final_accuracy"] == micrograd["final_accuracy"]
    assert 0 <= micrograd["final_accuracy"] <= 1
    # compile_graph's straight-line Python replays eager mode bit for bit: the same losses
    assert "compiled per sample (compile_graph), Python backend" in per_sample["engine"]
    assert per_sample["max_rel_diff"] == gradengine["max_rel_diff"]
    assert per_sample["final_accuracy"] == micrograd["final_accuracy"]
    # batched engines (batched replay, PyTorch, NumPy) sum in another order: near-equality only
    assert "compiled, Python backend" in python["engine"]
    assert "compiled, NumPy backend" in numpy["engine"]
    for row in (python, numpy, torch_batched, numpy_batched):
        assert row["compared"] == steps
        assert row["max_rel_diff"] <= 1e-9
        assert row["final_accuracy"] == micrograd["final_accuracy"]


def test_compiled_rows_time_vs_pytorch_and_record_their_compile(quick):
    _, report, _ = quick
    rows = rows_of(report, "moons")
    torch_batched = rows[5]
    assert torch_batched["engine"].endswith("batched float64")
    for row in rows:
        assert row["vs_torch"] == pytest.approx(row["ms_median"] / torch_batched["ms_median"])
        assert row["ms_min"] <= row["ms_mean"]
        compiled = "compiled" in row["engine"]
        assert (row["setup_seconds"] is not None) == compiled
        if compiled:
            assert row["setup_seconds"] > 0


def test_digits_epochs_agree_with_eager_mode(quick):
    _, report, _ = quick
    digits = report["compiled"]["digits"]
    assert [(row["epoch"], row["engine"].split()[0]) for row in digits] == [
        (epoch, engine)
        for epoch in ("minibatches of 32", "full batch")
        for engine in ("gradengine", "gradengine", "gradengine", "PyTorch")
    ]
    for row in digits:
        assert 0 < row["ms_min"] <= row["ms_median"]
        assert row["timed"] == report["compiled"]["sizes"]["digits_epochs"]
        assert row["max_rel_diff"] <= 1e-9  # every engine's mean losses, epoch after epoch
        assert (row["setup_seconds"] is not None) == ("compiled" in row["engine"])
        if row["engine"].startswith("PyTorch"):
            assert row["vs_torch"] == 1.0


def test_scaling_cells_are_measured_or_skipped_with_an_estimate(quick):
    stdout, report, readme = quick
    sizes = report["compiled"]["sizes"]
    cells = report["compiled"]["scaling"]
    assert len(cells) == len(sizes["scaling_samples"]) * len(sizes["scaling_widths"])
    first, *rest = cells
    for cell in cells:
        assert sorted(cell["engines"]) == ["compiled-numpy", "eager", "torch"]
    for engine in first["engines"].values():  # the smallest cell always runs
        assert engine["ms_median"] > 0
        assert engine["peak_rss"] > engine["base_rss"] > 0
        assert engine.get("max_rel_diff", 0.0) <= 1e-9
    # --quick's limit is 0 s: every later cell is skipped, naming its estimate
    for cell in rest:
        for engine in cell["engines"].values():
            assert engine["skipped_seconds"] >= 0
    assert "skipped (est." in stdout and "skipped (est." in readme


def test_targets_are_reported(quick):
    stdout, report, readme = quick
    found = report["compiled"]["targets"]
    for target in found:
        assert isinstance(target["holds"], bool)
        assert target["target"] in stdout
    assert "The speed targets" in readme
    assert found[0]["target"].startswith("eager, micrograd's demo: >= 75x micrograd")
    assert not any("twice the median" in t["target"] for t in found)  # a retired target


def target_named(found, words):
    (target,) = [t for t in found if all(w in t["target"] for w in words)]
    return target


def test_each_ratio_target_holds_exactly_when_its_row_meets_the_bound(quick):
    _, report, _ = quick
    found = report["compiled"]["targets"]
    moons = rows_of(report, "moons")
    numpy = next(r for r in moons if r["engine"].endswith("compiled, NumPy backend"))
    python = next(r for r in moons if r["engine"].endswith("compiled, Python backend"))
    _, graph = rows_of(report, "random graph")
    _, chain = rows_of(report, "chain")
    digits = {
        r["epoch"]: r["vs_torch"] for r in report["compiled"]["digits"] if "NumPy" in r["engine"]
    }
    expected = [
        (("moons demo step", "<= 0.3x PyTorch"), numpy["vs_torch"], numpy["vs_torch"] <= 0.3),
        (("pure Python", ">= 500x"), python["speedup"], python["speedup"] >= 500),
        (("full-batch", "<= 1.0x"), digits["full batch"], digits["full batch"] <= 1.0),
        (
            ("minibatches of 32", "<= 1.5x"),
            digits["minibatches of 32"],
            digits["minibatches of 32"] <= 1.5,
        ),
        (("random graph", ">= 4x micrograd"), graph["speedup"], graph["speedup"] >= 4),
        (
            ("chain", "peak RSS", "<= 0.35x"),
            chain["rss_vs_micrograd"],
            chain["rss_vs_micrograd"] <= 0.35,
        ),
    ]
    for words, value, holds in expected:
        target = target_named(found, words)
        assert target["measured"] == f"{value:,.2f}x"
        assert target["holds"] == holds


def test_record_and_compile_targets_name_each_workload_and_the_half_second(quick):
    _, report, _ = quick
    setups = [t for t in report["compiled"]["targets"] if t["target"].startswith("record+compile")]
    moons = {
        r["engine"].split(" compiled, ")[-1]: r["setup_seconds"]
        for r in rows_of(report, "moons")
        if " compiled, " in r["engine"]
    }
    digits = [r["setup_seconds"] for r in report["compiled"]["digits"] if r["setup_seconds"]]
    expected = [moons["Python backend"], moons["NumPy backend"], *digits[len(digits) // 2 :]]
    assert [float(t["measured"].removesuffix(" s")) for t in setups][: len(expected)] == [
        pytest.approx(s, abs=5e-4) for s in expected
    ]
    for target in setups:
        assert target["target"].endswith("<= 0.5 s")
        assert target["holds"] == (float(target["measured"].removesuffix(" s")) <= 0.5)


def test_the_run_is_dated_with_the_machine_load(quick):
    stdout, report, readme = quick
    when = report["when"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when["started"])
    assert when["started"] <= when["ended"]
    assert len(when["load_start"]) == len(when["load_end"]) == 3
    line = f"run {when['started']} to {when['ended']} UTC"
    assert line in stdout and line in readme


def test_per_scalar_pytorch_matches_micrograd_on_its_steps(quick):
    _, report, _ = quick
    scalar = rows_of(report, "moons")[-1]
    assert "per-scalar" in scalar["engine"]
    assert scalar["compared"] >= 1
    assert scalar["max_rel_diff"] <= 1e-9


def test_graph_gradients_agree(quick):
    _, report, _ = quick
    _, gradengine = rows_of(report, "random graph")
    assert gradengine["max_rel_diff"] <= 1e-6
    assert gradengine["compared"] == report["sizes"]["graph_inputs"] + 1
    for row in rows_of(report, "chain"):
        assert row["max_rel_diff"] <= 1e-9  # against 1.0001 ** (n / 2), derived by hand


def test_chain_memory_is_reported_for_both_engines(quick):
    _, report, _ = quick
    micrograd, gradengine = rows_of(report, "chain")
    for row in (micrograd, gradengine):
        assert row["bytes_per_node"] > 0
        assert row["us_per_node"] > 0
    assert gradengine["memory_vs_micrograd"] == pytest.approx(
        gradengine["bytes_per_node"] / micrograd["bytes_per_node"]
    )


def test_machine_is_described(quick):
    stdout, report, _ = quick
    machine = report["machine"]
    assert machine["cpu"]
    assert machine["cores"] >= 1
    assert machine["python"].endswith(".".join(map(str, sys.version_info[:3])))
    assert machine["cpu"] in stdout.splitlines()[0]


def test_text_and_markdown_tables_list_every_row(quick):
    stdout, report, _ = quick
    for row in report["rows"]:
        assert row["engine"] in stdout
    table_lines = [line for line in stdout.splitlines() if line.startswith("|")]
    compiled = report["compiled"]
    compiled_rows = sum(len(compiled[key]) for key in ("digits", "scaling", "targets"))
    # 6 tables' headers and rules; the memory table repeats the 2 chain rows
    assert len(table_lines) == len(report["rows"]) + compiled_rows + 2 * 6 + 2
    for line in table_lines:
        assert line.endswith("|")


def test_readme_section_is_rewritten_between_its_markers(quick):
    _, _, readme = quick
    assert "old numbers" not in readme
    assert "intro stays" in readme
    assert readme.endswith("<!-- /section:speed -->\n\n## License\n")
    section = readme.split("<!-- section:speed -->")[1].split("<!-- /section:speed -->")[0]
    assert "## Speed" in section
    assert "python benchmarks/run.py" in section
    assert "| gradengine" in section


def test_from_json_prints_the_same_tables_without_measuring(quick_dir, tmp_path):
    before = (quick_dir / "stdout.txt").read_text()
    done = run_script("--from-json", str(quick_dir / "results.json"), "--markdown", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress lines: nothing was measured
    table = before.split("\nwritten to ")[0]
    markdown = before.split("\n## Speed")[1].split("\nspeed section of")[0]
    assert done.stdout.startswith(table)
    assert done.stdout.rstrip().endswith(markdown.rstrip())


def test_from_json_rejects_a_file_that_is_not_a_report(tmp_path):
    (tmp_path / "other.json").write_text('{"rows": [{"speed": 1}]}')
    done = run_script("--from-json", str(tmp_path / "other.json"), cwd=tmp_path)
    assert done.returncode == 1
    assert "is not a results file written by benchmarks/run.py" in done.stderr


def test_missing_dependency_names_the_extra(tmp_path):
    (tmp_path / "torch.py").write_text("raise ImportError('torch is hidden for this test')\n")
    package = Path(gradengine.__file__).parent.parent  # site-packages, or a checkout's src
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(package)]), "PATH": "/usr/bin:/bin"}
    done = run_script("--quick", "--json", str(tmp_path / "r.json"), cwd=tmp_path, env=env)
    assert done.returncode != 0
    assert 'pip install ".[bench]"' in done.stderr
    assert "torch" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_bad_repeats_is_a_usage_error(tmp_path):
    done = run_script("--repeats", "0", cwd=tmp_path)
    assert done.returncode == 2
    assert "expected an integer >= 1, got 0" in done.stderr


@pytest.mark.parametrize(
    ("ms", "shown"),
    [
        (13.0147, "13.0"),
        (5.0, "5.00"),
        (0.0756, "0.0756"),
        (99.94, "99.9"),
        (99.96, "100"),
        (880.29, "880"),
        (1824.1, "1,824"),
    ],
)
def test_milliseconds_show_three_significant_digits(ms, shown):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from report import fmt_ms
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert fmt_ms(ms) == shown


def test_the_eager_demo_target_compares_median_steps_and_totals():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from run import eager_demo_target
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    micrograd = {"runs": [{"step_seconds": [1.4] * 100}]}  # 140 s in all, 1.4 s a step
    steady = {"step_seconds": [0.01] * 100}  # 1 s: 140x
    spiky = {"step_seconds": [0.01] * 99 + [0.05]}  # 1.04 s: 134.6x by total, 140x by median
    held = eager_demo_target({"micrograd": micrograd, "gradengine": {"runs": [steady, spiky]}})
    assert held["holds"]
    assert held["measured"] == "140x by median step, 137x by total"  # the median of 140, 134.6
    slow = {"step_seconds": [0.02] * 100}  # 70x both ways: under the floor
    missed = eager_demo_target({"micrograd": micrograd, "gradengine": {"runs": [slow] * 3}})
    assert not missed["holds"]
    assert missed["measured"] == "70x by median step, 70x by total"


def test_ab_compares_two_trees_and_refuses_a_folder_without_the_package(tmp_path):
    pytest.importorskip("sklearn", reason='the moons benchmark needs pip install ".[bench]"')
    ab = ROOT / "benchmarks" / "ab.py"
    src = str(ROOT / "src")
    runs = [([], "best step"), (["--collector"], "mean step"), (["--compiled"], "median step")]
    for flags, step in runs:
        done = subprocess.run(
            [sys.executable, str(ab), src, src, "--rounds", "1", "--steps", "2", *flags],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0].startswith(f"A, {step}: min ") and lines[1].startswith(f"B, {step}: min ")
        assert re.fullmatch(r"B/A: \d+\.\d{3} by min, \d+\.\d{3} by median", lines[2])
    refused = subprocess.run(
        [sys.executable, str(ab), str(tmp_path), src], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "holds no gradengine package" in refused.stderr


def test_collector_probe_reports_each_variant_and_what_sets_it_apart():
    for module in ("numpy", "sklearn"):
        pytest.importorskip(module)
    probe = ROOT / "benchmarks" / "collector.py"
    done = subprocess.run(
        [sys.executable, str(probe), "--steps", "6", "--runs", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "micrograd's demo in eager mode: 6 steps in each fresh interpreter"
    heads = [line for line in lines[1:] if not line.startswith("  ")]
    runs = [line for line in lines[1:] if line.startswith("  ")]
    pattern = r"(.+): ([\d,]+) objects a step; ([\d,]+) tracked before the first"
    found = [re.fullmatch(pattern, line) for line in heads]
    assert all(found) and len(found) == 4, heads
    names = [m.group(1) for m in found]
    assert names == [
        "as written",
        "without the regularization term",
        "scikit-learn not imported",
        "the fewest objects an engine could make (fewest.py)",
    ]
    objects, tracked = ([int(m.group(i).replace(",", "")) for m in found] for i in (2, 3))
    # Σ p² over the model's 337 parameters is 337 products and 337 sums: those objects go.
    assert objects[0] - objects[1] >= 2 * 337
    assert objects[2] == objects[0]
    # Without scikit-learn's import the old objects are far fewer.
    assert tracked[2] < tracked[0] / 2
    # Counted by hand, one object per operation of loss(): 200 inputs in 100 lists, 100 model
    # outputs, 3 per sample's loss, 100 sums and a product for the mean, 337 products, 337 sums
    # and a product for the regularization, and the total: 1,477, with loss()'s pair beside it.
    assert 1477 <= objects[3] <= 1480
    assert len(runs) == 8
    run = r"  run [12]: full collections in steps \[(\d+: \d+ ms(, )?)*\] and \d+ younger ones; "
    run += r"over 2x the median \(\d+\.\d ms\) after the 5th: steps \[5?\]; total [\d,]+ ms"
    assert all(re.fullmatch(run, line) for line in runs), runs


def test_collector_probe_refuses_zero_steps():
    probe = ROOT / "benchmarks" / "collector.py"
    done = subprocess.run(
        [sys.executable, str(probe), "--steps", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--steps and --runs must be at least 1" in done.stderr


def test_the_scaling_benchmark_prints_every_cell_with_every_engine(tmp_path):
    """benchmarks/scaling.py at a tiny size: a row per cell, three timings per engine."""
    pytest.importorskip("numpy")
    results = tmp_path / "cells.json"
    args = ["--samples", "20,30", "--widths", "4", "--steps", "2", "--rounds", "1"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scaling.py"), *args, "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert done.returncode == 0, done.stderr
    cells = json.loads(results.read_text())
    assert [(c["N"], c["H"]) for c in cells] == [(20, 4), (30, 4)]
    rows = [line for line in done.stdout.splitlines() if re.match(r"\| \d", line)]
    assert len(rows) == 2
    for cell in cells:
        for engine in ("gradengine", "fit"):
            e = cell[engine]
            assert 0 < e["min_ms"] <= e["median_ms"] and e["min_ms"] <= e["mean_ms"]
            assert e["compile_s"] > 0 and math.isfinite(e["loss0"])
        if "torch" in cell:  # the same weights and data: the same first loss
            assert cell["gradengine"]["loss0"] == pytest.approx(cell["torch"]["loss0"], rel=1e-12)
            assert cell["fit"]["loss0"] == pytest.approx(cell["torch"]["loss0"], rel=1e-12)
