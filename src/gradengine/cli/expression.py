"""An expression a teacher types, such as "tanh(x*w + b)", built as gradengine operations.

The text is parsed with `ast` and walked node by node; nothing is ever evaluated by Python. Only
names, numbers, the operators + - * / ** (and unary minus or plus) and calls of the functions in
FUNCTIONS are accepted; anything else is refused with a ValueError that names what is not
allowed and the column where it stands.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from gradengine.value import Value

#: The functions an expression may call: Value's one-input operations.
FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "relu": Value.relu,
    "tanh": Value.tanh,
    "exp": Value.exp,
    "log": Value.log,
    "sigmoid": Value.sigmoid,
}
BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
#: What the refused operators are called in an error message.
REFUSED_OPERATORS = {
    ast.Mod: "% (remainder)",
    ast.FloorDiv: "// (floor division)",
    ast.MatMult: "@ (matrix product)",
    ast.LShift: "<< (shift)",
    ast.RShift: ">> (shift)",
    ast.BitOr: "| (bitwise or)",
    ast.BitXor: "^ (bitwise xor; write ** for a power)",
    ast.BitAnd: "& (bitwise and)",
    ast.Not: "not",
    ast.Invert: "~ (bitwise not)",
}
MAX_LENGTH = 1000  # characters; a drawable graph is far shorter
ALLOWED = (
    "an expression may use names, numbers, + - * / **, unary minus and the functions "
    + ", ".join(FUNCTIONS)
)

Number = float
Operand = Value | Number


def _where(source: str, node: ast.AST) -> str:
    """ "at column 5: 'x % 2'" for node, as the reader sees it in the expression."""
    segment = ast.get_source_segment(source, node) or ""
    column = getattr(node, "col_offset", 0) + 1
    return f"at column {column}: {segment!r}"


def _refuse(source: str, node: ast.AST, what: str) -> ValueError:
    return ValueError(f"{what} is not allowed ({_where(source, node)}); {ALLOWED}")


def parse(source: str) -> ast.expr:
    """source as a checked syntax tree; ValueError for bad syntax or anything not allowed."""
    if not isinstance(source, str):
        raise TypeError(f"an expression must be a str, got {type(source).__name__}")
    if not source.strip():
        raise ValueError(f"the expression is empty; {ALLOWED}")
    if len(source) > MAX_LENGTH:
        raise ValueError(f"the expression is {len(source):,} characters, more than {MAX_LENGTH:,}")
    try:
        tree = ast.parse(source.strip(), mode="eval").body
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise ValueError(f"{source.strip()!r} is not an expression{column}: {error.msg}") from None
    except (RecursionError, MemoryError):  # pragma: no cover (the length limit keeps it away)
        raise ValueError("the expression is nested too deeply") from None
    _check(source.strip(), tree)
    return tree


def _check(source: str, tree: ast.expr) -> None:
    """Raise ValueError at the first node of tree that is not allowed (an explicit stack)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.BinOp):
            if type(node.op) not in BINARY:
                name = REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise _refuse(source, node, f"the operator {name}")
            stack += [node.right, node.left]
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                name = REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
                raise _refuse(source, node, f"the operator {name}")
            stack.append(node.operand)
        elif isinstance(node, ast.Call):
            _check_call(source, node)
            stack.append(node.args[0])
        elif isinstance(node, ast.Name):
            if node.id in FUNCTIONS:
                raise _refuse(
                    source, node, f"{node.id} alone, without an argument (write {node.id}(x))"
                )
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _refuse(source, node, f"the constant {value!r} (not a real number)")
        else:
            raise _refuse(source, node, _kind(node))


def _check_call(source: str, node: ast.Call) -> None:
    function = node.func
    if not isinstance(function, ast.Name):
        raise _refuse(source, node, "calling anything but a function by its name")
    if function.id not in FUNCTIONS:
        raise _refuse(source, node, f"the function {function.id}")
    if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        raise _refuse(source, node, f"{function.id} with other than one argument")


def _kind(node: ast.AST) -> str:
    """What node is, in words: 'an attribute (.data)', 'a comparison', ..."""
    if isinstance(node, ast.Attribute):
        return f"an attribute (.{node.attr})"
    words = {
        ast.Compare: "a comparison",
        ast.BoolOp: "and/or",
        ast.IfExp: "if/else",
        ast.Subscript: "indexing",
        ast.Lambda: "lambda",
        ast.NamedExpr: "the := operator",
        ast.Tuple: "a tuple (a comma)",
        ast.List: "a list",
        ast.Dict: "a dict",
        ast.Set: "a set",
        ast.JoinedStr: "an f-string",
        ast.Await: "await",
        ast.Starred: "* unpacking",
    }
    for kind, text in words.items():
        if isinstance(node, kind):
            return text
    return f"{type(node).__name__} syntax"


def names(source: str) -> list[str]:
    """The names an expression uses, in the order they first appear."""
    # Function names appear only as callees: the check refuses them anywhere else.
    found = sorted(
        (n for n in ast.walk(parse(source)) if isinstance(n, ast.Name) and n.id not in FUNCTIONS),
        key=lambda n: n.col_offset,
    )
    return list(dict.fromkeys(n.id for n in found))


def build(source: str, values: Mapping[str, float]) -> Value:
    """The expression as a graph of Values: each name a leaf labelled with it, valued from values.

    Every name needs a value and every value a name; a name used twice is one leaf (x*x reaches
    x along two paths). Numbers are constants; arithmetic on numbers alone is done at once.
    """
    tree = parse(source)
    source = source.strip()
    named: dict[str, float] = {}
    for key, value in values.items():
        if normal_name(key) in named:
            raise ValueError(f"values gives {normal_name(key)} twice (names are read as NFKC)")
        named[normal_name(key)] = value
    values = named
    used = names(source)  # parses again: cheap, and keeps names() the one definition
    missing = [name for name in used if name not in values]
    unknown = [name for name in values if name not in used]
    if missing:
        given = ",".join(f"{name}=1" for name in used)
        raise ValueError(
            f"no value for {', '.join(missing)}: give every name a value, as in --set {given}"
        )
    if unknown:
        known = ", ".join(used) if used else "none"
        raise ValueError(
            f"--set gives {', '.join(unknown)}, which the expression does not use "
            f"(its names: {known})"
        )
    leaves = {name: Value(values[name], label=name) for name in used}
    result = _evaluate(source, tree, leaves)
    if not isinstance(result, Value):
        raise ValueError(
            f"{source!r} has no names, so there is nothing to differentiate: use a name, as in x*2"
        )
    return result


def _evaluate(source: str, tree: ast.expr, leaves: Mapping[str, Value]) -> Operand:
    """The checked tree's result, children before parents (an explicit stack, no recursion)."""
    results: dict[int, Operand] = {}
    stack: list[tuple[ast.expr, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        children = _children(node)
        if not ready and children:
            stack.append((node, True))
            stack += [(child, False) for child in reversed(children)]
            continue
        operands = [results.pop(id(child)) for child in children]
        try:
            results[id(node)] = _apply(node, operands, leaves)
        except (OverflowError, ZeroDivisionError, ValueError) as error:
            # Only arithmetic on numbers alone raises here: Values follow IEEE rules.
            raise ValueError(f"cannot compute {_where(source, node)}: {error}") from None
    return results[id(tree)]


def _children(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return [node.args[0]]
    return []


def _apply(node: ast.expr, operands: list[Operand], leaves: Mapping[str, Value]) -> Operand:
    """One node of the tree applied to its operands' results."""
    if isinstance(node, ast.Name):
        return leaves[node.id]
    if isinstance(node, ast.Constant):
        number = node.value
        assert isinstance(number, (int, float))  # the check refused every other constant
        return float(number)
    if isinstance(node, ast.BinOp):
        result: Operand = BINARY[type(node.op)](operands[0], operands[1])
        if isinstance(result, float) and not math.isfinite(result):
            raise OverflowError("the result is not a finite number")
        return result
    if isinstance(node, ast.UnaryOp):
        x = operands[0]
        if isinstance(node.op, ast.UAdd):
            return x
        return -x
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    x = operands[0]
    return FUNCTIONS[node.func.id](x if isinstance(x, Value) else Value(x))


def normal_name(name: str) -> str:
    """name in NFKC form, as Python's parser reads an identifier: "ｘ" is x, "ﬁ" is fi."""
    return unicodedata.normalize("NFKC", name)


def parse_settings(text: str) -> dict[str, float]:
    """ "x=2,w=-3,b=6.88" as {"x": 2.0, "w": -3.0, "b": 6.88}; ValueError naming a bad entry.

    Names are read as the expression's are (NFKC): "ｘ=1" gives the value of x.
    """
    values: dict[str, float] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, equals, number = (part.strip() for part in entry.partition("="))
        if not equals:
            raise ValueError(f"--set {entry!r} needs a value: write {entry}=1")
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"--set {entry!r}: {name!r} is not a name")
        try:
            value = float(number)
        except ValueError:
            raise ValueError(f"--set {entry!r}: {number!r} is not a number") from None
        name = normal_name(name)
        if name in values:
            raise ValueError(f"--set gives {name} twice")
        values[name] = value
    return values
