"""The README's Python snippets run as written, and its quick start is two commands."""

from __future__ import annotations

import ast
import io
import math
import re
import sys
import tokenize
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


def print_claims(code: str) -> list[tuple[int, int, str]]:
    """(first line, last line, comment) of every print(...) call followed by a # comment.

    The comment says what the call prints: `print(a.grad)  # 8.0`.
    """
    comments = {
        token.start[0]: token.string[1:].strip()
        for token in tokenize.generate_tokens(io.StringIO(code).readline)
        if token.type == tokenize.COMMENT
    }
    claims = []
    for node in ast.walk(ast.parse(code)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "print"
            and node.end_lineno in comments
        ):
            claims.append((node.lineno, node.end_lineno or node.lineno, comments[node.end_lineno]))
    return sorted(claims)


_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*(?:[eE][-+]?\d+)?|inf|nan)")


def same_text(printed: str, expected: str) -> bool:
    """printed == expected, numbers compared to 1e-9 relative (the rest exactly)."""
    printed_numbers, expected_numbers = _NUMBER.findall(printed), _NUMBER.findall(expected)
    if _NUMBER.split(printed) != _NUMBER.split(expected):
        return False
    if len(printed_numbers) != len(expected_numbers):
        return False
    for a, b in zip(printed_numbers, expected_numbers, strict=True):
        x, y = float(a.replace("_", "")), float(b.replace("_", ""))
        if not (x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-9)):
            return False
    return True


def matches_claim(printed: str, comment: str) -> bool:
    """Whether printed is what the comment claims: the comment itself, the part before a
    ": explanation", or the part after the last " = " of a worked formula; a printed
    "name = value" may be claimed by its value alone."""
    candidates = [comment]
    if ": " in comment:
        candidates.append(comment.split(": ", 1)[0])
    if " = " in comment:
        candidates.append(comment.rsplit(" = ", 1)[1])
    shown = [printed]
    if " = " in printed:
        shown.append(printed.rsplit(" = ", 1)[1])
    return any(same_text(text, candidate) for text in shown for candidate in candidates)


def run_and_check(text: str) -> tuple[int, list[str]]:
    """Run text's python blocks in order in one namespace; (claims checked, claims wrong)."""
    blocks = python_blocks(text)
    assert blocks, "README.md has no ```python blocks"
    namespace: dict[str, object] = {"__name__": "__readme__"}
    checked = 0
    wrong = []
    for number, (line, code) in enumerate(blocks, start=1):
        filename = f"README.md, block {number} (line {line})"
        printed: dict[int, list[str]] = {}

        def recording_print(
            *args: object,
            _filename: str = filename,
            _printed: dict[int, list[str]] = printed,
            **kwargs: object,
        ) -> None:
            caller = sys._getframe(1)
            if kwargs.get("file") is None and caller.f_code.co_filename == _filename:
                text = io.StringIO()
                print(*args, **{**kwargs, "file": text})  # type: ignore[arg-type]
                _printed.setdefault(caller.f_lineno, []).append(text.getvalue().rstrip("\n"))
            print(*args, **kwargs)  # type: ignore[arg-type]

        namespace["print"] = recording_print
        try:
            exec(compile(code, filename, "exec"), namespace)
        except Exception:
            pytest.fail(
                f"README.md python block {number} of {len(blocks)} (line {line}) failed:\n"
                f"{code}\n{traceback.format_exc()}",
                pytrace=False,
            )
        for first, last, comment in print_claims(code):
            outputs = [text for k in range(first, last + 1) for text in printed.get(k, [])]
            where = f"README.md line {line + first - 1}"
            if not outputs:
                wrong.append(f"{where}: the print claiming {comment!r} never ran")
            elif not all(matches_claim(text, comment) for text in outputs):
                wrong.append(f"{where}: prints {outputs[-1]!r}, the comment says {comment!r}")
            checked += 1
    return checked, wrong


def test_readme_python_blocks_run_in_order_and_print_what_they_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")  # plots render without a display
    checked, wrong = run_and_check(README.read_text(encoding="utf-8"))
    assert not wrong, "\n".join(wrong)
    assert checked >= 10, f"only {checked} print(...)  # output comments found in README.md"


def test_a_wrong_comment_beside_a_print_is_reported() -> None:
    text = "```python\nx = 2 + 2\nprint(x)  # 4\nprint(x + 0.5)  # 5.0\n```\n"
    text += "```python\nif False:\n    print(1)  # 1\n```\n"
    checked, wrong = run_and_check(text)
    assert checked == 3
    assert wrong == [
        "README.md line 4: prints '4.5', the comment says '5.0'",
        "README.md line 8: the print claiming '1' never ran",
    ]


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


def test_the_printed_values_are_checked_against_their_comments() -> None:
    code = "print(1)  # 1.0\nprint(\n    2,\n)  # 2\nprint(3)\n"
    assert print_claims(code) == [(1, 1, "1.0"), (2, 4, "2")]
    assert matches_claim("8.0", "8.0: 4 + 4 (micrograd gives 11)")
    assert matches_claim("148.3761", "1.0001 ** 50_000 = 148.3761")
    assert matches_claim("[2.0, 3.0]", "[2.0, 3.0]")
    assert matches_claim("0.30000000000000004", "0.3")
    assert matches_claim("True True", "True True")
    assert matches_claim("z = 7.0", "7.0")
    assert not matches_claim("z = 7.5", "7.0")
    assert not matches_claim("7.0", "8.0")
    assert not matches_claim("[2.0, 3.5]", "[2.0, 3.0]")
    assert not matches_claim("True", "False")
    assert not matches_claim("1.0 2.0", "1.0")
    assert not matches_claim("(1.0, 2.0)", "[1.0, 2.0]")
