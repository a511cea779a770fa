"""The documentation site: it builds with `mkdocs build --strict`, every page's Python runs (and
prints what the page says it prints), and every built page opens in chromium with no broken
internal link, no missing image, no console error and no request leaving the machine."""

from __future__ import annotations

import ast
import contextlib
import functools
import http.server
import io
import os
import re
import subprocess
import sys
import threading
import tokenize
import traceback
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))

#: The optional packages a page's Python needs: without them that page's blocks are skipped.
PAGE_NEEDS = {
    "cli.md": ("matplotlib", "tqdm"),
    "training.md": ("matplotlib",),
    "compiled.md": ("numpy",),
    "micrograd.md": ("graphviz",),
}
EXTRA = {"matplotlib": "train", "tqdm": "train", "numpy": "bench", "graphviz": "viz"}

FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.DOTALL | re.MULTILINE,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built strictly (any warning fails the build) into a fresh folder."""
    pytest.importorskip("mkdocs", reason='builds the site with mkdocs: pip install ".[docs]"')
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "-f",
            str(ROOT / "mkdocs.yml"),
            "-d",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=out.parent,  # mkdocs-jupyter keeps a .cache folder in the working directory
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def test_the_site_builds_strictly_with_every_page(site: Path) -> None:
    built = {p.relative_to(site).with_suffix("") for p in site.rglob("*.html")}
    for page in PAGES:
        assert page.relative_to(DOCS).with_suffix("") in built, page
    assert (site / "notebooks" / "moons.html").is_file()  # the notebook, rendered
    reference = (site / "reference" / "gradengine.html").read_text(encoding="utf-8")
    assert "::: gradengine" not in reference  # mkdocstrings replaced it
    assert {"gradengine.Value", "gradengine.Value.backward"} <= ids_in(reference)
    nn = (site / "reference" / "nn.html").read_text(encoding="utf-8")
    assert "gradengine.nn.MLP" in ids_in(nn)


# -- every page's Python runs --------------------------------------------------------------------


def code_blocks(text: str) -> list[tuple[int, str, str]]:
    """(line, language, code) of every fenced block, indentation removed, in order."""
    blocks = []
    for match in FENCE.finditer(text):
        indent = match.group("indent")
        body = "".join(line.removeprefix(indent) for line in match.group("body").splitlines(True))
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group("lang"), body))
    return blocks


def comments(code: str) -> dict[int, str]:
    """{line number: text of its trailing # comment}."""
    found = {}
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string[1:].strip()
    return found


def shown_output_matches(printed: str, shown: str) -> bool:
    """A `# 8.0` comment matches output 8.0; `# 8.0: why` too (the page explains after a colon)."""
    printed = printed.strip()
    return shown == printed or shown.startswith(printed + ":") or shown.startswith(printed + " (")


def lines_match(printed: list[str], shown: list[str]) -> bool:
    """printed equals shown, where a line "..." in shown stands for any run of lines."""
    if not shown:
        return not printed
    if shown[0] == "...":
        return any(lines_match(printed[k:], shown[1:]) for k in range(len(printed) + 1))
    return (
        bool(printed)
        and printed[0].rstrip() == shown[0].rstrip()
        and lines_match(printed[1:], shown[1:])
    )


def run_block(code: str, where: str, namespace: dict[str, object]) -> str:
    """Run code statement by statement; check each print against its comment; return all output."""
    tree = ast.parse(code, where)
    notes = comments(code)
    everything = io.StringIO()
    for statement in tree.body:
        piece = ast.Module(body=[statement], type_ignores=[])
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(piece, where, "exec"), namespace)
        everything.write(output.getvalue())
        is_print = (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Name)
            and statement.value.func.id == "print"
        )
        shown = notes.get(statement.end_lineno or statement.lineno)
        if is_print and shown is not None:
            assert shown_output_matches(output.getvalue(), shown), (
                f"{where}, line {statement.lineno}: printed {output.getvalue().strip()!r}, "
                f"the page says {shown!r}"
            )
    return everything.getvalue()


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_python_block_runs_and_prints_what_the_page_shows(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = page.relative_to(DOCS)
    for module in PAGE_NEEDS.get(name.as_posix(), ()):
        extra = EXTRA[module]
        pytest.importorskip(module, reason=f'docs/{name} needs {module}: pip install ".[{extra}]"')
    monkeypatch.chdir(tmp_path)  # blocks that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    blocks = code_blocks(page.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for k, (line, language, code) in enumerate(blocks):
        if language != "python":
            continue
        where = f"docs/{name}, block at line {line}"
        try:
            printed = run_block(code, where, namespace)
        except AssertionError:
            raise
        except Exception:
            pytest.fail(f"{where} failed:\n{code}\n{traceback.format_exc()}", pytrace=False)
        following = blocks[k + 1] if k + 1 < len(blocks) else None
        if following and following[1] == "text" and _adjacent(page, line, code, following[0]):
            shown = following[2].rstrip("\n").splitlines()
            assert lines_match(printed.rstrip("\n").splitlines(), shown), (
                f"{where} printed:\n{printed}\nbut the page shows:\n{following[2]}"
            )


def _adjacent(page: Path, line: int, code: str, next_line: int) -> bool:
    """Whether only blank lines stand between a python block and the next block."""
    lines = page.read_text(encoding="utf-8").splitlines()
    end = line - 1 + code.count("\n")  # the closing fence's index
    between = lines[end + 1 : next_line - 2]
    return all(not text.strip() for text in between)


def test_the_helpers_read_blocks_comments_and_outputs() -> None:
    text = "a\n```python\nprint(1)  # 1\n```\n\n```text\n1\n```\n    ```bash\n    ls\n    ```\n"
    assert code_blocks(text) == [
        (3, "python", "print(1)  # 1\n"),
        (7, "text", "1\n"),
        (10, "bash", "ls\n"),
    ]
    assert comments("x = 1  # one\nprint(x)\n") == {1: "one"}
    assert shown_output_matches("8.0\n", "8.0: 4 + 4")
    assert not shown_output_matches("8.0\n", "9.0")
    assert lines_match(["a", "b", "c"], ["a", "...", "c"])
    assert not lines_match(["a", "b"], ["a"])
    namespace: dict[str, object] = {}
    with pytest.raises(AssertionError, match="the page says '3'"):
        run_block("print(1 + 1)  # 3\n", "t", namespace)


# -- every built page in chromium ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(site: Path):
    """The built site over HTTP on localhost (search needs fetch, which file:// refuses)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


PAGE_FACTS = """() => ({
    images: [...document.images].map(img => [img.currentSrc || img.src,
                                             img.complete && img.naturalWidth > 0]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
})"""


def ids_in(html: str) -> set[str]:
    return set(re.findall(r"""\sid=["']([^"']+)["']""", html))


def test_every_page_opens_with_no_broken_link_image_or_error(site: Path, server: str, browser):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    assert len(pages) >= len(PAGES)
    problems: list[str] = []
    for name in pages:
        if name == "404.html":
            continue
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        watch(page, name, problems)
        page.goto(server + name, wait_until="load")
        page.wait_for_timeout(100)
        facts = page.evaluate(PAGE_FACTS)
        for source, loaded in facts["images"]:
            if not loaded:
                problems.append(f"{name}: image not loaded: {source}")
        for link in facts["links"]:
            problems += _broken(site, server, name, link)
        page.close()
    assert problems == []


def watch(page, name: str, problems: list[str]) -> None:
    """Record in problems every console error, page error, failed response and outside request."""

    def outside(route) -> None:
        problems.append(f"{name}: a request leaves the machine: {route.request.url}")
        route.abort()

    def console(message) -> None:
        if message.type == "error":
            problems.append(f"{name}: console: {message.text}")

    def response(answer) -> None:
        if answer.status >= 400:
            problems.append(f"{name}: {answer.status} {answer.url}")

    page.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), outside)
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(f"{name}: {error}"))
    page.on("response", response)


def _broken(site: Path, server: str, name: str, link: str) -> list[str]:
    """What is wrong with one link of a page: a missing file, or a missing #fragment in it."""
    if not link.startswith(server):
        return []  # outside the site: not followed (the test runs offline)
    parts = urlsplit(link)
    target = site / unquote(parts.path.removeprefix(urlsplit(server).path))
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        return [f"{name}: broken link {link}"]
    fragment = unquote(parts.fragment)
    if fragment and target.suffix == ".html" and fragment not in ids_in(target.read_text("utf-8")):
        return [f"{name}: link to a missing anchor {link}"]
    return []


def test_broken_finds_missing_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<h2 id="here">x</h2>')
    server = "http://127.0.0.1:1/"
    assert _broken(tmp_path, server, "p", urljoin(server, "a.html#here")) == []
    assert _broken(tmp_path, server, "p", urljoin(server, "a.html#gone")) != []
    assert _broken(tmp_path, server, "p", urljoin(server, "b.html")) != []
    assert _broken(tmp_path, server, "p", "https://example.org/") == []
