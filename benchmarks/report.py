"""The benchmark's results as text tables, Markdown, and the README's speed section."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradengine.files import write_atomic

SECTION_START, SECTION_END = "<!-- section:speed -->", "<!-- /section:speed -->"


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
    ms_mean: float | None = None
    vs_torch: float | None = None  # this median / PyTorch batched float64's (time, lower wins)
    setup_seconds: float | None = None  # compiled mode: recording + compiling, once


def fmt_ms(ms: float) -> str:
    """Three significant digits, trailing zeros kept (13.0, not 13), whole numbers from 100."""
    return f"{ms:,.0f}" if float(f"{ms:.3g}") >= 100 else f"{ms:#.3g}"


def fmt_opt(x: float | None, fmt: Callable[[float], str]) -> str:
    return "-" if x is None else fmt(x)


def sci(x: float) -> str:
    return "0" if x == 0 else f"{x:.1e}"


MOONS_COLUMNS = ["engine", "ms/step min", "ms/step median", "ms/step mean", "vs micrograd"]
MOONS_COLUMNS += ["time vs PyTorch", "record+compile s", "max loss rel. diff", "steps compared"]
MOONS_COLUMNS += ["final accuracy"]
DIGITS_COLUMNS = ["epoch", "engine", "ms min", "ms median", "ms mean", "vs eager"]
DIGITS_COLUMNS += ["time vs PyTorch", "record+compile s", "max loss rel. diff"]
SCALING_COLUMNS = ["samples", "hidden", "eager ms/step", "eager peak MB", "compiled ms/step"]
SCALING_COLUMNS += ["record+compile s", "compiled peak MB", "PyTorch ms/step", "PyTorch peak MB"]
SCALING_COLUMNS += ["compiled time vs PyTorch"]
TARGET_COLUMNS = ["target", "measured", "holds"]
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
            fmt_opt(row.ms_mean, fmt_ms),
            f"{row.speedup:,.1f}x",
            fmt_opt(row.vs_torch, lambda r: f"{r:.2f}x"),
            fmt_opt(row.setup_seconds, lambda t: f"{t:.3f}"),
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


def mb(x: float | None) -> str:
    return fmt_opt(x, lambda b: f"{b / 2**20:,.0f}")


def scaling_cell(cell: dict[str, Any] | None) -> tuple[str, str]:
    """(ms per step, peak MB) of one engine in one cell, or why it was skipped."""
    if cell is None:
        return "-", "-"
    if "skipped_seconds" in cell:
        return f"skipped (est. {cell['skipped_seconds']:,.0f} s)", "-"
    return fmt_ms(cell["ms_median"]), mb(cell["peak_rss"])


def compiled_tables(report: dict[str, Any]) -> list[tuple[str, Table]]:
    """(title, table) for the digits epochs, the scaling table and the targets, if measured."""
    compiled = report.get("compiled")
    if not compiled:
        return []
    sizes = compiled["sizes"]
    digits = [
        [
            row["epoch"],
            row["engine"],
            fmt_ms(row["ms_min"]),
            fmt_ms(row["ms_median"]),
            fmt_ms(row["ms_mean"]),
            f"{row['vs_eager']:,.1f}x",
            f"{row['vs_torch']:.2f}x",
            fmt_opt(row["setup_seconds"], lambda t: f"{t:.2f}"),
            fmt_opt(row["max_rel_diff"], sci),
        ]
        for row in compiled["digits"]
    ]
    scaling = []
    for cell in compiled["scaling"]:
        engines = cell["engines"]
        eager, compiled_cell, torch = (engines.get(e) for e in ("eager", "compiled-numpy", "torch"))
        ratio_text = "-"
        if compiled_cell and torch and "ms_median" in compiled_cell and "ms_median" in torch:
            ratio_text = f"{compiled_cell['ms_median'] / torch['ms_median']:.2f}x"
        setup = "-"
        if compiled_cell and "setup_seconds" in compiled_cell:
            setup = f"{compiled_cell['setup_seconds']:.2f}"
        scaling.append(
            [
                f"{cell['samples']:,}",
                str(cell["width"]),
                *scaling_cell(eager)[:1],
                scaling_cell(eager)[1],
                scaling_cell(compiled_cell)[0],
                setup,
                scaling_cell(compiled_cell)[1],
                *scaling_cell(torch),
                ratio_text,
            ]
        )
    targets = [
        [t["target"], t["measured"], "yes" if t["holds"] else "no"] for t in compiled["targets"]
    ]
    return [
        (
            f"digits, one epoch ({sizes['digits_samples']:,} samples, MLP(64, [32, 10]), "
            f"softmax cross-entropy, SGD)",
            (DIGITS_COLUMNS, digits),
        ),
        (
            "scaling, moons step with a 2 -> H -> H -> 1 MLP (ms per step, peak RSS per process)",
            (SCALING_COLUMNS, scaling),
        ),
        ("targets", (TARGET_COLUMNS, targets)),
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


def when_line(report: dict[str, Any]) -> str:
    """When the run started and ended (UTC), and the machine's load average then."""
    w = report.get("when")
    if not w:
        return "date and load not recorded"

    def load(averages: Sequence[float]) -> str:
        return ", ".join(f"{a:.2f}" for a in averages)

    return (
        f"run {w['started']} to {w['ended']} UTC; load average (1, 5, 15 min) "
        f"{load(w['load_start'])} at the start, {load(w['load_end'])} at the end"
    )


def text_report(report: dict[str, Any], rows: Sequence[Row]) -> str:
    parts = [f"machine: {machine_line(report)}", when_line(report)]
    for title, (header, cells) in tables(rows, report["sizes"]) + compiled_tables(report):
        parts.append(f"{title}:\n{text_table(header, cells)}")
    return "\n\n".join(parts)


def markdown_report(report: dict[str, Any], rows: Sequence[Row]) -> str:
    """The README's speed section, generated from one run."""
    s = report["sizes"]
    (_, moons), (_, graphs), (_, memory) = tables(rows, s)
    compiled = compiled_markdown(report)
    return f"""## Speed

One run of `{report["command"]}` on {machine_line(report)}:
{when_line(report)} (the machine is shared: its other jobs slow every engine alike).
Every ratio compares an engine with micrograd 0.1.0 (or PyTorch) in that same run, so it holds on
a faster or busier machine even though the milliseconds do not. Each engine runs each workload in
a fresh interpreter that imports only what it needs, with one BLAS and OpenMP thread (NumPy and
PyTorch alike: on shared cores a second thread mostly waits for the first).

**micrograd's moons demo**: {s["moons_samples"]} samples, `MLP(2, [16, 16, 1])`, SVM max-margin
loss + 1e-4 L2, SGD for {s["moons_steps"]} steps; the demo's code unchanged with each engine's
`Value` and `MLP`, all from the same initial weights (`random.seed(1337)`). Time per training
step, min and median over every timed step ({s["repeats"]} runs of every step for the fast
engines, each run in its own interpreter, the engines taking turns run by run so that a slow
spell of a shared machine falls on all of them; micrograd's one run, which also gives the
reference losses; PyTorch with one 0-d tensor per scalar for its first {s["torch_scalar_steps"]}
step(s) only). "max loss rel. diff" is the largest relative difference from micrograd's loss
over the steps compared. The compiled
rows run as `fit(engine="compiled")` does, by batched replay: `compile_batched` records one
sample's loss (its point and label as inputs) once, with the L2 term once beside it, and replays
it over the 100 samples every step, the parameters kept in the program's array and updated by
`SGD.step_arrays` ("record+compile s": recording and compiling, the fastest of the runs; each
step's accuracy comes from the scores the replay returns). The row "compiled per sample
(compile_graph)" is the older way, kept for comparison: the whole batch's graph, every sample's
nodes, recorded once and replayed as straight-line Python. "time vs PyTorch" is the engine's
median step over PyTorch batched float64's.

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
{compiled}
To reproduce (the benchmark dependencies are an optional extra; the engine needs none):

```bash
pip install ".[bench]"
python benchmarks/run.py                      # this table, a few minutes; --quick for seconds
python benchmarks/run.py --readme docs/speed.md   # rewrite this section from a fresh run
```
"""


def compiled_markdown(report: dict[str, Any]) -> str:
    """The speed section's part on compiled mode: digits, scaling and the targets."""
    found = compiled_tables(report)
    if not found:
        return ""
    (_, digits), (_, scaling), (_, targets) = found
    c = report["compiled"]["sizes"]
    limit = c["scaling_limit_seconds"]
    return f"""
**Compiled mode on scikit-learn's digits**: the first {c["digits_samples"]:,} of them, 64 -> 32
-> 10 (`MLP(64, [32, 10])`, ReLU hidden layer), mean softmax cross-entropy, SGD at lr 0.5; one
epoch of minibatches of {c["digits_batch"]} (the last partial one left out) and one full-batch
epoch (one step over every sample), min, median and mean of {c["digits_epochs"]} epochs, all
engines from the same weights through the same batches. Eager mode calls
`losses.cross_entropy`; compiled mode is batched replay, as `fit` runs it: one sample's
cross-entropy recorded once (its 64 pixels and one-hot class as inputs) and replayed over every
minibatch and the full batch alike, SGD stepping the program's array (`step_arrays`); PyTorch
batched float64 uses `F.cross_entropy`. "max loss rel. diff" compares each epoch's mean loss
with eager mode's.

{markdown_table(*digits)}

**Scaling**: the moons step (max-margin loss + 1e-4 L2, SGD) with a 2 -> H -> H -> 1 MLP on N
samples, eager vs compiled (NumPy backend) vs PyTorch batched float64: median ms per step of
{c["scaling_steps"]} steps (eager: of up to 3), and the peak resident set size of each fresh
process, imports included. Compiled mode records as `fit` does: one sample, and the L2 term as
one `losses.l2` node (the demo's spelling, `1e-4 * sum(p * p ...)`, makes two nodes per
parameter, 133,000 at H = 256, each recorded). A cell whose time, estimated from the engine's
largest cell so far, exceeds {limit:,.0f} s is skipped.

{markdown_table(*scaling)}

**The speed targets**, from this run:

{markdown_table(*targets)}
"""


def write_atomically(path: Path, text: str) -> None:
    """Write text to path with gradengine's one atomic writer (fsync, rename, mode kept)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)


def replace_section(readme: Path, body: str) -> None:
    """Put body between the speed section's markers in readme, keeping the marker lines."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(SECTION_START), text.find(SECTION_END)
    if start < 0 or end < start:
        raise SystemExit(f"{readme} has no {SECTION_START} ... {SECTION_END} markers")
    head = text[: start + len(SECTION_START)]
    write_atomically(readme, f"{head}\n{body.strip()}\n{text[end:]}")
