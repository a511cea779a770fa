"""gradengine against micrograd 0.1.0, PyTorch and NumPy: prints a table and writes it as JSON.

    python benchmarks/run.py                      # full sizes, a few minutes
    python benchmarks/run.py --quick              # tiny sizes, a few seconds
    python benchmarks/run.py --markdown           # also print the README's speed section
    python benchmarks/run.py --readme docs/speed.md   # rewrite that section with this run's table

Speed-ups are ratios to micrograd measured in the same run (micrograd's median / the engine's
median), so they hold even when a busy machine makes every absolute timing slower.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import graphs
from compiled_bench import (
    DIGITS_ENGINES,
    FULL_COMPILED,
    QUICK_COMPILED,
    SCALING_ENGINES,
    CompiledSizes,
    multiply_adds,
    summary,
)
from measure import FULL, QUICK, WORKLOADS, Sizes
from report import Row, markdown_report, replace_section, text_report, write_atomically

HERE = Path(__file__).resolve().parent
BENCH_EXTRA = 'pip install ".[bench]" (in a clone of gradengine)'
# import name -> distribution name, for the error message when one is missing
BENCH_MODULES = {
    "micrograd": "micrograd",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
    "torch": "torch",
}
STARTED = time.perf_counter()
# One BLAS and OpenMP thread in every engine's process: on two shared cores, OpenBLAS's second
# thread made a 1797 x 32 x 64 matrix product 200x slower (it waits for a core), and PyTorch's
# steps of small arrays erratic.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
#: Engines too slow for more than one moons run (measure.py times them once per process).
ONE_RUN_ENGINES = ("micrograd", "torch-scalar")
#: A scaling cell estimated to need more memory than this is skipped as well.
SCALING_MEMORY_LIMIT = 6 * 2**30


def require_bench_extras() -> None:
    """Exit with the install command if a benchmark dependency is missing."""
    missing = []
    for module, distribution in BENCH_MODULES.items():
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(distribution)
    if missing:
        raise SystemExit(
            f"the benchmarks need {', '.join(missing)} (not installed); "
            f"install the benchmark extra: {BENCH_EXTRA}"
        )


def machine() -> dict[str, Any]:
    """The CPU model, core count and interpreter the numbers were measured on."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "os": f"{platform.system()} {platform.machine()}",
        "gc": "enabled" if gc.isenabled() else "disabled",
        "threads": "one BLAS/OpenMP thread per engine",
    }


def utc_now() -> str:
    """The time now, UTC, to the minute."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")


def versions() -> dict[str, str]:
    """Installed versions of every engine in the table."""
    names = ("gradengine", "micrograd", "torch", "numpy", "scikit-learn")
    return {name: importlib.metadata.version(name) for name in names}


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def in_fresh_interpreter(script: str, *args: str) -> Any:
    """Run benchmarks/<script> with args in a new Python process; the JSON it prints."""
    done = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **ONE_THREAD},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{script} {' '.join(args[:2])} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def measure_all(sizes: Sizes) -> dict[str, dict[str, Any]]:
    """Raw measurements for every workload and engine, each in its own interpreter."""
    results: dict[str, dict[str, Any]] = {"moons": measure_moons(sizes)}
    for workload, engines in WORKLOADS.items():
        if workload == "moons":
            continue
        results[workload] = {}
        for engine in engines:
            progress(f"{workload}: {engine}")
            results[workload][engine] = in_fresh_interpreter(
                "measure.py", workload, engine, json.dumps(asdict(sizes))
            )
    for engine in WORKLOADS["chain"]:
        # tracemalloc cannot follow micrograd through a long chain; the resident set size can
        progress(f"chain: {engine}, peak RSS")
        rss = in_fresh_interpreter("rss.py", engine, str(sizes.chain_nodes))
        results["chain"][engine]["rss"] = rss
    return results


def measure_moons(sizes: Sizes) -> dict[str, Any]:
    """The moons engines in rounds, one fresh interpreter and one run per engine and round.

    The fast engines' steps take a fraction of a millisecond, and a shared machine has phases,
    some seconds long, in which everything runs up to twice as slow: run one engine's repeats
    back to back and a phase can fall on it alone. Interleaved, the phases fall on all of them.
    """
    once = Sizes(**{**asdict(sizes), "repeats": 1})
    results: dict[str, Any] = {}
    for round_ in range(sizes.repeats):
        for engine in WORKLOADS["moons"]:
            if round_ and engine in ONE_RUN_ENGINES:
                continue
            progress(f"moons: {engine}, round {round_ + 1} of {sizes.repeats}")
            result = in_fresh_interpreter("measure.py", "moons", engine, json.dumps(asdict(once)))
            if engine not in results:
                results[engine] = result
                continue
            for key in ("runs", "setup_seconds"):
                if key in result:
                    results[engine][key] += result[key]
    return results


def measure_digits(sizes: CompiledSizes) -> dict[str, Any]:
    """Each engine's digits epochs, in its own interpreter."""
    raw = {}
    for engine in DIGITS_ENGINES:
        progress(f"digits: {engine}")
        raw[engine] = in_fresh_interpreter(
            "compiled_bench.py", "digits", engine, json.dumps(asdict(sizes))
        )
    return raw


# -- from measurements to rows -------------------------------------------------------------------


def largest_rel_diff(values: Sequence[float], reference: Sequence[float]) -> float:
    """max |v - r| / max(|v|, |r|) over pairs (0 where both are 0)."""
    worst = 0.0
    for v, r in zip(values, reference, strict=True):
        scale = max(abs(v), abs(r))
        if scale:
            worst = max(worst, abs(v - r) / scale)
    return worst


def normwise_rel_diff(values: Sequence[float], reference: Sequence[float]) -> float:
    """max |v - r| / max(|v|, |r|) over all pairs at once: the error relative to the largest."""
    scale = max(max(abs(v), abs(r)) for v, r in zip(values, reference, strict=True))
    worst = max(abs(v - r) for v, r in zip(values, reference, strict=True))
    return worst / scale if scale else 0.0


def ms_row(workload: str, engine: str, seconds: Sequence[float], **columns: Any) -> Row:
    """A row timed by `seconds`, one entry per timed repeat."""
    return Row(
        workload,
        engine,
        ms_min=min(seconds) * 1e3,
        ms_median=statistics.median(seconds) * 1e3,
        ms_mean=statistics.mean(seconds) * 1e3,
        timed=len(seconds),
        **columns,
    )


def moons_rows(results: dict[str, Any], sizes: Sizes, names: dict[str, str]) -> list[Row]:
    """One row per engine: time per step, and losses compared step by step with micrograd's."""
    weights = results["micrograd"]["weights"]
    for engine, result in results.items():
        if result["weights"] != weights:
            raise RuntimeError(f"{engine} did not start from micrograd's initial weights")
    reference = results["micrograd"]["runs"][0]["losses"]
    titles = {
        "micrograd": f"micrograd {names['micrograd']}",
        "gradengine": f"gradengine {names['gradengine']}",
        "compiled-python": f"gradengine {names['gradengine']} compiled, Python backend",
        "compiled-numpy": f"gradengine {names['gradengine']} compiled, NumPy backend",
        "compiled-python-per-sample": f"gradengine {names['gradengine']} compiled per sample "
        "(compile_graph), Python backend",
        "torch": f"PyTorch {names['torch']} batched float64",
        "numpy": f"NumPy {names['numpy']} batched, backward by hand",
        "torch-scalar": f"PyTorch {names['torch']} per-scalar 0-d tensors",
    }
    rows = []
    for engine, result in results.items():
        runs = result["runs"]
        losses = runs[0]["losses"]
        if any(run["losses"] != losses for run in runs):
            raise RuntimeError(f"{engine} gave different losses in two identical runs")
        rows.append(
            ms_row(
                "moons",
                titles[engine],
                [s for run in runs for s in run["step_seconds"]],
                max_rel_diff=largest_rel_diff(losses, reference[: len(losses)]),
                compared=len(losses),
                final_accuracy=(
                    runs[0]["accuracies"][-1] if len(losses) == sizes.moons_steps else None
                ),
                setup_seconds=min(result["setup_seconds"]) if "setup_seconds" in result else None,
            )
        )
    torch = next(row for row in rows if row.engine == titles["torch"])
    for row in rows:
        row.vs_torch = row.ms_median / torch.ms_median
    return rows


def graph_rows(results: dict[str, Any], sizes: Sizes, names: dict[str, str]) -> list[Row]:
    """One row per engine: time per build + backward, results compared with micrograd's."""
    reference = results["micrograd"]
    return [
        ms_row(
            f"random graph, {sizes.graph_nodes:,} nodes",
            f"{engine} {names[engine]}",
            result["seconds"],
            max_rel_diff=max(
                largest_rel_diff([result["root"]], [reference["root"]]),
                normwise_rel_diff(result["grads"], reference["grads"]),
            ),
            compared=1 + len(result["grads"]),
            us_per_node=statistics.median(result["seconds"]) / sizes.graph_nodes * 1e6,
        )
        for engine, result in results.items()
    ]


def chain_rows(results: dict[str, Any], sizes: Sizes, names: dict[str, str]) -> list[Row]:
    """One row per engine: time and memory per node, the gradient against 1.0001^(n/2)."""
    exact = graphs.chain_gradient(sizes.chain_nodes)
    return [
        ms_row(
            f"chain, {sizes.chain_nodes:,} nodes",
            f"{engine} {names[engine]}",
            result["seconds"],
            max_rel_diff=largest_rel_diff([result["grad"]], [exact]),
            compared=1,
            us_per_node=statistics.median(result["seconds"]) / sizes.chain_nodes * 1e6,
            bytes_per_node=result["tracemalloc_peak"] / sizes.tracemalloc_nodes,
            rss_bytes_per_node=None if result["rss"] is None else result["rss"] / sizes.chain_nodes,
        )
        for engine, result in results.items()
    ]


# -- compiled mode: digits, scaling, the targets --------------------------------------------------

DIGITS_KINDS = {"minibatch": "minibatches of 32", "full": "full batch"}


def engine_title(engine: str, names: dict[str, str]) -> str:
    return {
        "eager": f"gradengine {names['gradengine']} eager",
        "compiled-python": f"gradengine {names['gradengine']} compiled, Python backend",
        "compiled-numpy": f"gradengine {names['gradengine']} compiled, NumPy backend",
        "torch": f"PyTorch {names['torch']} batched float64",
    }[engine]


def digits_rows(raw: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """One row per kind of epoch and engine: ms per epoch, ratios, losses against eager's."""
    rows = []
    for kind, title in DIGITS_KINDS.items():
        eager = raw["eager"][kind]
        eager_median = statistics.median(eager["seconds"])
        torch_median = statistics.median(raw["torch"][kind]["seconds"])
        for engine in DIGITS_ENGINES:
            result = raw[engine][kind]
            median = statistics.median(result["seconds"])
            rows.append(
                {
                    "epoch": title,
                    "engine": engine_title(engine, names),
                    **summary(result["seconds"]),
                    "timed": len(result["seconds"]),
                    "vs_eager": eager_median / median,
                    "vs_torch": median / torch_median,
                    "setup_seconds": result["setup_seconds"] if "compiled" in engine else None,
                    "max_rel_diff": largest_rel_diff(result["losses"], eager["losses"]),
                    "peak_rss": raw[engine]["peak_rss"],
                }
            )
    return rows


def scaling_results(sizes: CompiledSizes) -> list[dict[str, Any]]:
    """Every cell and engine, from the fewest multiply-adds up; a cell whose estimated time
    (from the engine's largest cell so far, per multiply-add) or memory is too much is skipped."""
    cells = [(n, h) for n in sizes.scaling_samples for h in sizes.scaling_widths]
    cells.sort(key=lambda cell: multiply_adds(*cell))
    rates: dict[str, tuple[float, float, float]] = {}  # s/step, s of setup, bytes: per MAC
    done: list[dict[str, Any]] = []
    for samples, width in cells:
        macs = multiply_adds(samples, width)
        engines: dict[str, Any] = {}
        for engine in SCALING_ENGINES:
            steps = min(sizes.scaling_steps, 3) if engine == "eager" else sizes.scaling_steps
            if engine in rates:
                per_step, per_setup, per_byte = rates[engine]
                seconds = macs * (per_step * steps + per_setup)
                memory = macs * per_byte
                if seconds > sizes.scaling_limit_seconds or memory > SCALING_MEMORY_LIMIT:
                    engines[engine] = {"skipped_seconds": seconds, "skipped_bytes": memory}
                    continue
            progress(f"scaling: {engine}, {samples:,} samples, hidden {width}")
            arguments = {"samples": samples, "width": width, "steps": steps}
            result = in_fresh_interpreter(
                "compiled_bench.py", "scaling", engine, json.dumps(arguments)
            )
            median = statistics.median(result["seconds"])
            grown = result["peak_rss"] - result["base_rss"]
            rates[engine] = (median / macs, result["setup_seconds"] / macs, grown / macs)
            engines[engine] = {
                **summary(result["seconds"]),
                "timed": len(result["seconds"]),
                "setup_seconds": result["setup_seconds"],
                "peak_rss": result["peak_rss"],
                "base_rss": result["base_rss"],
                "losses": result["losses"],
            }
        done.append({"samples": samples, "width": width, "multiply_adds": macs, "engines": engines})
    done.sort(key=lambda cell: (cell["samples"], cell["width"]))
    for cell in done:  # the engines' losses, where two or more ran, agree to rounding
        ran = [e for e in cell["engines"].values() if "losses" in e]
        for other in ran[1:]:  # over the steps both ran (eager runs fewer)
            steps = min(len(other["losses"]), len(ran[0]["losses"]))
            other["max_rel_diff"] = largest_rel_diff(
                other["losses"][:steps], ran[0]["losses"][:steps]
            )
    return done


def eager_demo_target(moons: dict[str, Any]) -> dict[str, Any]:
    """Eager mode on micrograd's demo: its median step and 100-step total against micrograd's.

    micrograd runs once; gradengine's figure is the median over its runs.
    """
    reference = moons["micrograd"]["runs"][0]["step_seconds"]
    runs = [run["step_seconds"] for run in moons["gradengine"]["runs"]]
    by_total = sum(reference) / statistics.median(sum(seconds) for seconds in runs)
    medians = [statistics.median(seconds) for seconds in runs]
    by_median = statistics.median(reference) / statistics.median(medians)
    return {
        "target": "eager, micrograd's demo: >= 75x micrograd by median step and by 100-step total",
        "measured": f"{by_median:.0f}x by median step, {by_total:.0f}x by total",
        "holds": by_median >= 75 and by_total >= 75,
    }


def ratio_target(target: str, value: float | None, bound: float, at_least: bool) -> dict[str, Any]:
    """A target on a ratio: what was measured, and whether it is >= (or <=) its bound."""
    if value is None:
        return {"target": target, "measured": "not measured", "holds": False}
    holds = value >= bound if at_least else value <= bound
    return {"target": target, "measured": f"{value:,.2f}x", "holds": bool(holds)}


def targets(
    rows: list[Row],
    digits: list[dict[str, Any]],
    scaling: list[dict[str, Any]],
    moons_results: dict[str, Any],
) -> list[dict[str, Any]]:
    """The speed targets, each with what this run measured and whether it holds."""
    moons = {row.engine.split(" compiled, ")[-1]: row for row in rows if row.workload == "moons"}
    numpy_row, python_row = moons["NumPy backend"], moons["Python backend"]
    graph = next(
        r for r in rows if r.workload.startswith("random graph") and "gradengine" in r.engine
    )
    chain = next(r for r in rows if r.workload.startswith("chain") and "gradengine" in r.engine)
    digits_numpy = {row["epoch"]: row for row in digits if "NumPy" in row["engine"]}
    found = [
        eager_demo_target(moons_results),
        ratio_target(
            "compiled NumPy (batched replay), moons demo step: <= 0.3x PyTorch batched "
            "float64's median",
            numpy_row.vs_torch,
            0.3,
            at_least=False,
        ),
        ratio_target(
            "compiled pure Python (batched replay), moons demo step: >= 500x micrograd",
            python_row.speedup,
            500,
            at_least=True,
        ),
        ratio_target(
            "digits, one full-batch epoch, compiled NumPy: <= 1.0x PyTorch's median",
            digits_numpy["full batch"]["vs_torch"],
            1.0,
            at_least=False,
        ),
        ratio_target(
            "digits, one epoch of minibatches of 32, compiled NumPy: <= 1.5x PyTorch's median",
            digits_numpy["minibatches of 32"]["vs_torch"],
            1.5,
            at_least=False,
        ),
        ratio_target(
            f"generic {graph.workload.removeprefix('random graph, ').removesuffix(' nodes')}-node "
            "random graph, eager: "
            ">= 4x micrograd (median build + backward)",
            graph.speedup,
            4.0,
            at_least=True,
        ),
        ratio_target(
            f"{chain.workload.removeprefix('chain, ').removesuffix(' nodes')}-node chain: peak RSS "
            "per node <= 0.35x "
            "micrograd's",
            chain.rss_vs_micrograd,
            0.35,
            at_least=False,
        ),
    ]
    setups = [
        (f"moons demo, {backend}", row.setup_seconds)
        for backend, row in (("Python", python_row), ("NumPy", numpy_row))
    ]
    setups += [
        (
            f"digits, {row['engine'].split(' compiled, ')[-1].removesuffix(' backend')}",
            row["setup_seconds"],
        )
        for row in digits
        if row["epoch"] == "full batch" and row["setup_seconds"] is not None
    ]
    compiled_cells = [
        (cell, cell["engines"]["compiled-numpy"])
        for cell in scaling
        if "setup_seconds" in cell["engines"].get("compiled-numpy", {})
    ]
    if compiled_cells:
        cell, slowest = max(compiled_cells, key=lambda c: c[1]["setup_seconds"])
        where = f"N = {cell['samples']:,}, H = {cell['width']}"
        setups.append((f"scaling's slowest cell ({where}), NumPy", slowest["setup_seconds"]))
    for what, seconds in setups:
        assert seconds is not None
        found.append(
            {
                "target": f"record+compile (batched replay), {what}: <= 0.5 s",
                "measured": f"{seconds:.3f} s",
                "holds": seconds <= 0.5,
            }
        )
    ran = [
        cell
        for cell in scaling
        if all("peak_rss" in cell["engines"][e] for e in ("compiled-numpy", "torch"))
    ]
    measured = sum(1 for cell in scaling for e in cell["engines"].values() if "peak_rss" in e)
    total = sum(len(cell["engines"]) for cell in scaling)
    found.append(
        {
            "target": "scaling table: every cell run by compiled NumPy and PyTorch (eager beside "
            "them where it fits the time limit), with peak memory",
            "measured": f"{len(ran)} of {len(scaling)} cells; {measured} of {total} engine runs "
            "(the rest skipped by their estimate)",
            "holds": len(scaling) > 0 and len(ran) == len(scaling),
        }
    )
    return found


def compare_to_micrograd(rows: list[Row]) -> None:
    """Fill in speedup and memory ratios against the micrograd row of the same workload."""
    reference = {row.workload: row for row in rows if row.engine.startswith("micrograd")}
    for row in rows:
        base = reference[row.workload]
        row.speedup = base.ms_median / row.ms_median
        if row.bytes_per_node is not None and base.bytes_per_node:
            row.memory_vs_micrograd = row.bytes_per_node / base.bytes_per_node
        if row.rss_bytes_per_node is not None and base.rss_bytes_per_node:
            row.rss_vs_micrograd = row.rss_bytes_per_node / base.rss_bytes_per_node


# -- command line ----------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {n}")
    return n


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: runs in seconds")
    parser.add_argument(
        "--json",
        type=Path,
        default=HERE / "results.json",
        metavar="PATH",
        help="where to write the results (default: benchmarks/results.json)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the README section")
    parser.add_argument(
        "--readme", type=Path, metavar="PATH", help="rewrite the speed section of this README"
    )
    parser.add_argument(
        "--repeats", type=positive_int, help="timed repeats per workload (default 3)"
    )
    parser.add_argument(
        "--from-json",
        type=Path,
        metavar="PATH",
        help="present the results of an earlier run instead of measuring",
    )
    return parser.parse_args(argv)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run every workload at the requested sizes: the report that --json writes."""
    require_bench_extras()
    sizes = QUICK if args.quick else FULL
    compiled_sizes = QUICK_COMPILED if args.quick else FULL_COMPILED
    command = ["python benchmarks/run.py"] + (["--quick"] if args.quick else [])
    if args.repeats:
        sizes = Sizes(**{**asdict(sizes), "repeats": args.repeats})
        compiled_sizes = CompiledSizes(**{**asdict(compiled_sizes), "digits_epochs": args.repeats})
        command.append(f"--repeats {args.repeats}")
    names = versions()
    started, load_start = utc_now(), os.getloadavg()
    results = measure_all(sizes)
    rows = moons_rows(results["moons"], sizes, names)
    rows += graph_rows(results["graph"], sizes, names)
    rows += chain_rows(results["chain"], sizes, names)
    compare_to_micrograd(rows)
    for row in rows:
        values = [v for v in asdict(row).values() if isinstance(v, float)]
        if not all(math.isfinite(v) for v in values):
            raise RuntimeError(f"a measurement is not finite: {row}")
    digits = digits_rows(measure_digits(compiled_sizes), names)
    scaling = scaling_results(compiled_sizes)
    when = {
        "started": started,
        "ended": utc_now(),
        "load_start": list(load_start),
        "load_end": list(os.getloadavg()),
    }
    return {
        "command": " ".join(command),
        "machine": machine(),
        "when": when,
        "versions": names,
        "sizes": asdict(sizes),
        "rows": [asdict(row) for row in rows],
        "compiled": {
            "sizes": asdict(compiled_sizes),
            "digits": digits,
            "scaling": scaling,
            "targets": targets(rows, digits, scaling, results["moons"]),
        },
    }


def load_report(path: Path) -> tuple[dict[str, Any], list[Row]]:
    """An earlier run's report and its rows; SystemExit naming the problem if it is not one."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        return report, [Row(**row) for row in report["rows"]]
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise SystemExit(
            f"{path} is not a results file written by benchmarks/run.py "
            f"({type(error).__name__}: {error})"
        ) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report, rows = load_report(args.from_json)
    else:
        report = measure(args)
        rows = [Row(**row) for row in report["rows"]]
        write_atomically(args.json, json.dumps(report, indent=2, allow_nan=False) + "\n")
    print(text_report(report, rows))
    if not args.from_json:
        print(f"\nwritten to {args.json}")
    if args.markdown:
        print("\n" + markdown_report(report, rows))
    if args.readme:
        replace_section(args.readme, markdown_report(report, rows))
        print(f"speed section of {args.readme} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
