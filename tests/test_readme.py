"""The README's Python snippets run as written, and its quick start is two commands."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of every ```python block, in order."""
    blocks = []
    for match in re.finditer(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.DOTALL | re.MULTILINE):
        blocks.append((text.count("\n", 0, match.start()) + 2, match.group(1)))
    return blocks


def section(text: str, name: str) -> str:
    """The text between <!-- section:name --> and <!-- /section:name -->."""
    match = re.search(
        rf"<!-- section:{name} -->(.*?)<!-- /section:{name} -->", text, flags=re.DOTALL
    )
    assert match is not None, f"README.md has no section {name!r}"
    return match.group(1)


def commands(markdown: str) -> list[str]:
    """The shell commands in a piece of Markdown's shell code blocks (continued lines joined)."""
    found = []
    fenced = re.finditer(r"^```(\w*)[ \t]*\n(.*?)^```", markdown, re.DOTALL | re.MULTILINE)
    for language, block in (m.groups() for m in fenced):
        if language not in ("", "bash", "sh", "shell", "console"):
            continue
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            line = " ".join(line.split()).removeprefix("$ ")
            if line and not line.startswith("#"):
                found.append(line)
    return found


def test_readme_python_blocks_run_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots render without a display
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert blocks, "README.md has no ```python blocks"
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for number, (line, code) in enumerate(blocks, start=1):
        try:
            exec(compile(code, f"README.md, block {number} (line {line})", "exec"), namespace)
        except Exception:
            pytest.fail(
                f"README.md python block {number} of {len(blocks)} (line {line}) failed:\n"
                f"{code}\n{traceback.format_exc()}",
                pytrace=False,
            )


def test_quick_start_is_exactly_two_commands() -> None:
    found = commands(section(README.read_text(encoding="utf-8"), "quickstart"))
    assert len(found) == 2, f"the quick start should be two commands, found {found}"
    assert all("pip install" in command for command in found), found
    assert sum("pytest" in command for command in found) == 1, found


def test_helpers_find_blocks_and_commands() -> None:
    text = (
        "a\n```python\nx = 1\n```\n```text\nnot a command\n```\n"
        "```bash\npip install . && \\\n  python -m pytest\n# a comment\n$ ls\n```\n"
    )
    assert python_blocks(text) == [(3, "x = 1\n")]
    assert commands(text) == ["pip install . && python -m pytest", "ls"]
