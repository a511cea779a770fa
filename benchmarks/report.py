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


def fmt_ms(ms: float) -> str:
    """Three significant digits, trailing zeros kept (13.0, not 13), whole numbers from 100."""
    return f"{ms:,.0f}" if float(f"{ms:.3g}") >= 100 else f"{ms:#.3g}"


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
Every ratio compares an engine with micrograd 0.1.0 in that same run, so it holds on a faster
or busier machine even though the milliseconds do not. Each engine runs each workload in a
fresh interpreter that imports only what it needs.

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
pip install ".[bench]"
python benchmarks/run.py                      # this table, a few minutes; --quick for seconds
python benchmarks/run.py --readme README.md   # rewrite this section from a fresh run
```
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
