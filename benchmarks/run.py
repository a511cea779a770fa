"""gradengine against micrograd 0.1.0, PyTorch and NumPy: prints a table and writes it as JSON.

    python benchmarks/run.py                      # full sizes, a few minutes
    python benchmarks/run.py --quick              # tiny sizes, a few seconds
    python benchmarks/run.py --markdown           # also print the README's speed section
    python benchmarks/run.py --readme README.md   # rewrite that section with this run's table

Speed-ups are ratios to micrograd measured in the same run (micrograd's median / the engine's
median), so they hold even when a busy machine makes every absolute timing slower.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

BENCH_EXTRA = 'pip install "gradengine[bench]"'
# import name -> distribution name, for the error message when one is missing
BENCH_MODULES = {
    "micrograd": "micrograd",
    "numpy": "numpy",
    "sklearn": "scikit-learn",
    "torch": "torch",
}
SECTION_START, SECTION_END = "<!-- section:speed -->", "<!-- /section:speed -->"
GRAPH_SEED = 0


@dataclass(frozen=True)
class Sizes:
    """How big each workload is."""

    moons_samples: int
    moons_steps: int
    torch_scalar_steps: int
    graph_nodes: int
    graph_inputs: int
    chain_nodes: int
    # tracemalloc walks the whole call stack on every allocation, so under micrograd's recursive
    # backward its cost grows with the square of the chain: it measures a shorter chain.
    tracemalloc_nodes: int
    repeats: int


FULL = Sizes(100, 100, 3, 200_000, 1_000, 1_000_000, 10_000, 3)
QUICK = Sizes(20, 3, 1, 3_000, 100, 10_000, 2_000, 3)


@dataclass
class Row:
    """One line of the table; None where a column does not apply to the workload."""

    workload: str
    engine: str
    ms_min: float
    ms_median: float
    timed: int  # how many timings min and median are taken over
    speedup: float = 1.0  # micrograd's median / this median
    max_rel_diff: float | None = None  # vs micrograd: losses (moons) or gradients (graphs)
    compared: int | None = None  # how many losses or gradients that difference covers
    final_accuracy: float | None = None
    us_per_node: float | None = None
    bytes_per_node: float | None = None  # tracemalloc's peak during build + backward
    memory_vs_micrograd: float | None = None
    rss_bytes_per_node: float | None = None  # peak resident memory gained, fresh interpreter
    rss_vs_micrograd: float | None = None


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
    }


def versions() -> dict[str, str]:
    """Installed versions of every engine in the table."""
    names = ("gradengine", "micrograd", "torch", "numpy", "scikit-learn")
    return {name: importlib.metadata.version(name) for name in names}


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


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """(seconds work() took, its result)"""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def ms_row(workload: str, engine: str, seconds: Sequence[float], **columns: Any) -> Row:
    """A row timed by `seconds`, one entry per timed repeat."""
    return Row(
        workload,
        engine,
        ms_min=min(seconds) * 1e3,
        ms_median=statistics.median(seconds) * 1e3,
        timed=len(seconds),
        **columns,
    )


def bench_moons(sizes: Sizes, names: dict[str, str]) -> list[Row]:
    """micrograd's moons demo in every engine, from the same initial weights."""
    import batched
    import moons
    from micrograd.engine import Value as MicrogradValue
    from micrograd.nn import MLP as MicrogradMLP

    from gradengine import MLP, Value

    X, y = moons.moons(sizes.moons_samples)
    steps = sizes.moons_steps
    weights = moons.initial_weights(moons.seeded_model(MicrogradMLP))

    def gradengine_model() -> Any:
        model = moons.seeded_model(MLP)
        if moons.initial_weights(model) != weights:
            raise RuntimeError("random.seed(1337) gave gradengine other weights than micrograd")
        return model

    progress(f"moons: micrograd, {steps} steps")
    gc.collect()
    reference = moons.train(MicrogradValue, moons.seeded_model(MicrogradMLP), X, y, steps)
    gc.collect()  # micrograd's graphs are reference cycles: free them before timing the others

    runs: dict[str, list[moons.Run]] = {"gradengine": [], "torch": [], "numpy": []}
    for repeat in range(sizes.repeats):
        progress(f"moons: gradengine, PyTorch and NumPy, {steps} steps (repeat {repeat + 1})")
        runs["gradengine"].append(moons.train(Value, gradengine_model(), X, y, steps))
        runs["torch"].append(batched.train_torch(weights, X, y, steps))
        runs["numpy"].append(batched.train_numpy(weights, X, y, steps))
    if any(run.losses != runs["gradengine"][0].losses for run in runs["gradengine"]):
        raise RuntimeError("gradengine gave different losses in two identical runs")

    scalar_steps = min(sizes.torch_scalar_steps, steps)
    progress(f"moons: PyTorch per-scalar tensors, {scalar_steps} step(s)")
    scalar_model = moons.ScalarTorchMLP(weights)
    scalar = moons.train(moons.scalar_tensor, scalar_model, X, y, scalar_steps)

    def row(engine: str, timed_runs: Sequence[moons.Run]) -> Row:
        first = timed_runs[0]
        return ms_row(
            "moons",
            engine,
            [s for run in timed_runs for s in run.step_seconds],
            max_rel_diff=largest_rel_diff(first.losses, reference.losses[: len(first.losses)]),
            compared=len(first.losses),
            final_accuracy=first.accuracies[-1] if len(first.losses) == steps else None,
        )

    return [
        row(f"micrograd {names['micrograd']}", [reference]),
        row(f"gradengine {names['gradengine']}", runs["gradengine"]),
        row(f"PyTorch {names['torch']} batched float64", runs["torch"]),
        row(f"NumPy {names['numpy']} batched, backward by hand", runs["numpy"]),
        row(f"PyTorch {names['torch']} per-scalar 0-d tensors", [scalar]),
    ]


def bench_graphs(sizes: Sizes, names: dict[str, str]) -> list[Row]:
    """The random expression and the chain, in micrograd and gradengine."""
    import graphs
    from micrograd.engine import Value as MicrogradValue

    from gradengine import Value

    graphs.add_tanh_to_micrograd(MicrogradValue)
    engines = {
        f"micrograd {names['micrograd']}": MicrogradValue,
        f"gradengine {names['gradengine']}": Value,
    }
    inputs, program = graphs.random_program(sizes.graph_nodes, sizes.graph_inputs, GRAPH_SEED)
    exact_chain_grad = graphs.chain_gradient(sizes.chain_nodes)
    rows = []
    reference: tuple[list[float], list[float]] | None = None  # micrograd's root and gradients
    for engine, value in engines.items():
        seconds = []
        for repeat in range(sizes.repeats):
            progress(f"graph: {engine}, {sizes.graph_nodes:,} nodes (repeat {repeat + 1})")
            gc.collect()
            work = partial(graphs.expression_gradients, value, inputs, program)
            elapsed, (root, leaves) = graphs.with_deep_recursion(partial(timed, work))
            seconds.append(elapsed)
            result = [float(root.data)], [float(leaf.grad) for leaf in leaves]
            del root, leaves
        reference = reference or result
        rows.append(
            ms_row(
                f"random graph, {sizes.graph_nodes:,} nodes",
                engine,
                seconds,
                max_rel_diff=max(
                    largest_rel_diff(result[0], reference[0]),
                    normwise_rel_diff(result[1], reference[1]),
                ),
                compared=1 + len(result[1]),
                us_per_node=statistics.median(seconds) / sizes.graph_nodes * 1e6,
            )
        )
    for engine, value in engines.items():
        seconds = []
        for repeat in range(sizes.repeats):
            progress(f"chain: {engine}, {sizes.chain_nodes:,} nodes (repeat {repeat + 1})")
            gc.collect()
            work = partial(graphs.chain, value, sizes.chain_nodes)
            elapsed, (root, leaf) = graphs.with_deep_recursion(partial(timed, work))
            seconds.append(elapsed)
            grad = float(leaf.grad)
            del root, leaf
        progress(f"chain: {engine}, tracemalloc peak, {sizes.tracemalloc_nodes:,} nodes")
        gc.collect()
        work = partial(graphs.chain, value, sizes.tracemalloc_nodes)
        _, peak = graphs.with_deep_recursion(partial(graphs.peak_bytes, work))
        gc.collect()
        progress(f"chain: {engine}, peak RSS in a fresh interpreter, {sizes.chain_nodes:,} nodes")
        rss = rss_growth(engine.split()[0], sizes.chain_nodes)
        rows.append(
            ms_row(
                f"chain, {sizes.chain_nodes:,} nodes",
                engine,
                seconds,
                max_rel_diff=largest_rel_diff([grad], [exact_chain_grad]),
                compared=1,
                us_per_node=statistics.median(seconds) / sizes.chain_nodes * 1e6,
                bytes_per_node=peak / sizes.tracemalloc_nodes,
                rss_bytes_per_node=None if rss is None else rss / sizes.chain_nodes,
            )
        )
    return rows


def rss_growth(engine: str, n_nodes: int) -> int | None:
    """Peak RSS the chain adds to a fresh interpreter (None where `resource` is missing)."""
    if importlib.util.find_spec("resource") is None:  # Unix only
        return None
    script = Path(__file__).with_name("rss.py")
    done = subprocess.run(
        [sys.executable, str(script), engine, str(n_nodes)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {engine}'s peak RSS failed:\n{done.stderr}")
    return int(json.loads(done.stdout))


def compare_to_micrograd(rows: list[Row]) -> None:
    """Fill in speedup and memory ratio against the micrograd row of the same workload."""
    reference = {row.workload: row for row in rows if row.engine.startswith("micrograd")}
    for row in rows:
        base = reference[row.workload]
        row.speedup = base.ms_median / row.ms_median
        if row.bytes_per_node is not None and base.bytes_per_node:
            row.memory_vs_micrograd = row.bytes_per_node / base.bytes_per_node
        if row.rss_bytes_per_node is not None and base.rss_bytes_per_node:
            row.rss_vs_micrograd = row.rss_bytes_per_node / base.rss_bytes_per_node


STARTED = time.perf_counter()


def progress(message: str) -> None:
    print(f"  [{time.perf_counter() - STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


# -- presenting the results ------------------------------------------------------------------------


def fmt_ms(ms: float) -> str:
    return f"{ms:,.0f}" if ms >= 100 else f"{ms:.3g}"


def fmt_opt(x: float | None, fmt: Callable[[float], str]) -> str:
    return "-" if x is None else fmt(x)


def sci(x: float) -> str:
    return "0" if x == 0 else f"{x:.1e}"


MOONS_COLUMNS = ["engine", "ms/step min", "ms/step median", "vs micrograd"]
MOONS_COLUMNS += ["max loss rel. diff", "steps compared", "final accuracy"]
GRAPH_COLUMNS = ["workload", "engine", "ms min", "ms median", "vs micrograd", "µs/node"]
GRAPH_COLUMNS += ["max rel. diff"]
MEMORY_COLUMNS = ["engine", "tracemalloc peak bytes/node", "vs micrograd"]
MEMORY_COLUMNS += ["peak RSS bytes/node", "vs micrograd"]

Table = tuple[list[str], list[list[str]]]


def ratio(x: float | None) -> str:
    return fmt_opt(x, lambda r: f"{r:.2f}")


def whole(x: float | None) -> str:
    return fmt_opt(x, lambda b: f"{b:,.0f}")


def tables(rows: Sequence[Row], sizes: dict[str, int]) -> list[tuple[str, Table]]:
    """(title, (header, cells)) for the moons demo, the graphs, and the chain's memory."""
    moons = [
        [
            row.engine,
            fmt_ms(row.ms_min),
            fmt_ms(row.ms_median),
            f"{row.speedup:,.1f}x",
            fmt_opt(row.max_rel_diff, sci),
            str(row.compared),
            fmt_opt(row.final_accuracy, lambda a: f"{a:.0%}"),
        ]
        for row in rows
        if row.workload == "moons"
    ]
    graph_rows = [row for row in rows if row.workload != "moons"]
    graphs = [
        [
            row.workload,
            row.engine,
            fmt_ms(row.ms_min),
            fmt_ms(row.ms_median),
            f"{row.speedup:,.1f}x",
            fmt_opt(row.us_per_node, lambda u: f"{u:.2f}"),
            fmt_opt(row.max_rel_diff, sci),
        ]
        for row in graph_rows
    ]
    memory = [
        [
            row.engine,
            whole(row.bytes_per_node),
            ratio(row.memory_vs_micrograd),
            whole(row.rss_bytes_per_node),
            ratio(row.rss_vs_micrograd),
        ]
        for row in graph_rows
        if row.bytes_per_node is not None
    ]
    return [
        (
            f"moons demo, per training step ({sizes['moons_samples']} samples, "
            f"MLP(2, [16, 16, 1]), {sizes['moons_steps']} steps)",
            (MOONS_COLUMNS, moons),
        ),
        ("graphs, per build + backward", (GRAPH_COLUMNS, graphs)),
        (
            f"chain memory during build + backward (tracemalloc: "
            f"{sizes['tracemalloc_nodes']:,} nodes; RSS: {sizes['chain_nodes']:,} nodes)",
            (MEMORY_COLUMNS, memory),
        ),
    ]


def text_table(header: list[str], cells: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *cells]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *cells]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in lines)


def markdown_table(header: list[str], cells: list[list[str]]) -> str:
    rule = ["---" if name in ("workload", "engine") else "---:" for name in header]
    return "\n".join("| " + " | ".join(r) + " |" for r in [header, rule, *cells])


def machine_line(report: dict[str, Any]) -> str:
    m = report["machine"]
    return f"{m['cpu']}, {m['cores']} cores, {m['python']}, {m['os']}, garbage collector {m['gc']}"


def text_report(report: dict[str, Any], rows: Sequence[Row]) -> str:
    parts = [f"machine: {machine_line(report)}"]
    for title, (header, cells) in tables(rows, report["sizes"]):
        parts.append(f"{title}:\n{text_table(header, cells)}")
    return "\n\n".join(parts)


def markdown_report(report: dict[str, Any], rows: Sequence[Row]) -> str:
    """The README's speed section, generated from one run."""
    s = report["sizes"]
    (_, moons), (_, graphs), (_, memory) = tables(rows, s)
    return f"""## Speed

One run of `{report["command"]}` on {machine_line(report)}.
Every ratio compares two engines in that same run against micrograd 0.1.0, so it holds on a
faster or busier machine even though the milliseconds do not.

**micrograd's moons demo**: {s["moons_samples"]} samples, `MLP(2, [16, 16, 1])`, SVM max-margin
loss + 1e-4 L2, SGD for {s["moons_steps"]} steps; the demo's code unchanged with each engine's
`Value` and `MLP`, all from the same initial weights (`random.seed(1337)`). Time per training
step, min and median over every timed step ({s["repeats"]} runs of every step for the fast
engines; micrograd's one run, which also gives the reference losses; PyTorch with one 0-d
tensor per scalar for its first {s["torch_scalar_steps"]} step(s) only). "max loss rel. diff"
is the largest relative difference from micrograd's loss over the steps compared.

{markdown_table(*moons)}

**Graphs that no fused node can help**: a seeded random expression of
{s["graph_nodes"]:,} nodes over `+ - * / relu tanh` (micrograd 0.1.0 has no `tanh`, so it gets
the one from Karpathy's lecture, in its own closure style), and the chain
`x = x * 1.0001 + 0.5` ({s["chain_nodes"]:,} nodes). Time per build + backward, min and median
of {s["repeats"]}; micrograd runs with its recursion limit raised, in a thread with a large
stack. "max rel. diff" compares the root and the gradients with micrograd's (random graph;
gradients normwise: the largest difference over the largest gradient) or the gradient with
the exact 1.0001^(n/2) (chain).

{markdown_table(*graphs)}

**Memory of the chain**, per node, during build + backward. `tracemalloc` walks the whole call
stack on every allocation, which makes micrograd's recursive backward quadratic under it, so it
measures a {s["tracemalloc_nodes"]:,}-node chain; the peak resident set size each engine adds to
a fresh interpreter covers the full {s["chain_nodes"]:,} nodes.

{markdown_table(*memory)}

To reproduce (the benchmark dependencies are an optional extra; the engine needs none):

```bash
pip install "gradengine[bench]"
python benchmarks/run.py                      # this table, a few minutes; --quick for seconds
python benchmarks/run.py --readme README.md   # rewrite this section from a fresh run
```
"""


def write_atomically(path: Path, text: str) -> None:
    """Write text to path via a temporary file, so path is never left half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def replace_section(readme: Path, body: str) -> None:
    """Put body between the speed section's markers in readme, keeping the marker lines."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no {SECTION_START} ... {SECTION_END} markers")
    head = text[: start + len(SECTION_START)]
    write_atomically(readme, f"{head}\n{body.strip()}\n{text[end:]}")


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
        default=Path(__file__).with_name("results.json"),
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
    sys.path.insert(0, str(Path(__file__).parent))  # the workloads live beside this script
    sizes = QUICK if args.quick else FULL
    command = ["python benchmarks/run.py"] + (["--quick"] if args.quick else [])
    if args.repeats:
        sizes = Sizes(**{**asdict(sizes), "repeats": args.repeats})
        command.append(f"--repeats {args.repeats}")
    names = versions()
    rows = bench_moons(sizes, names) + bench_graphs(sizes, names)
    compare_to_micrograd(rows)
    for row in rows:
        values = [v for v in asdict(row).values() if isinstance(v, float)]
        if not all(math.isfinite(v) for v in values):
            raise RuntimeError(f"a measurement is not finite: {row}")
    return {
        "command": " ".join(command),
        "machine": machine(),
        "versions": names,
        "sizes": asdict(sizes),
        "rows": [asdict(row) for row in rows],
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
