"""An expression a teacher types, such as "tanh(x*w + b)", built as gradengine operations.

The text is parsed with `ast` and walked node by node; nothing is ever evaluated by Python. Only
names, numbers, the operators + - * / ** (and unary minus or plus) and calls of the functions in
FUNCTIONS are accepted; anything else is refused with a ValueError that names what is not
allowed and the column where it stands. Names are NFKC-normalised, as Python's own are.

Inner values can be named with statements separated by ``;``, in any order, as the lecture
names them: ``L = d * f; d = e + c; e = a * b``. The first statement's name is the output; the
names no statement defines are the leaves, given values with --set.
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from gradengine.engine import Value

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
    """The leaf names an expression (or its statements) uses, in the order they first appear."""
    program = statements(source)
    trees = [parse(source)] if program is None else [tree for _, tree in program]
    found: list[str] = []
    for tree in trees:
        found += _names_in(tree)
    defined = {name for name, _ in program or []}
    return [name for name in dict.fromkeys(found) if name not in defined]


def _names_in(tree: ast.expr) -> list[str]:
    """The names a checked expression uses, in the order they appear."""
    # Function names appear only as callees: the check refuses them anywhere else.
    found = sorted(
        (n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id not in FUNCTIONS),
        key=lambda n: (n.lineno, n.col_offset),
    )
    return list(dict.fromkeys(n.id for n in found))


STATEMENT = "each statement is name = expression, separated by ;"
STARTS_A_STATEMENT = re.compile(r"\s*\w+\s*=(?!=)")


def statements(source: str) -> list[tuple[str, ast.expr]] | None:
    """[(name, checked expression)] of "L = d * f; d = e + c", or None for one expression."""
    if not isinstance(source, str) or "=" not in source or len(source) > MAX_LENGTH:
        return None  # parse() gives the message
    text = source.strip()
    try:
        module = ast.parse(text, mode="exec")
    except SyntaxError as error:
        if not STARTS_A_STATEMENT.match(text):
            return None  # no statement meant: parse() says what is wrong with the expression
        column = f" at column {error.offset}" if error.offset else ""
        raise ValueError(f"{text!r} does not parse{column}: {error.msg}; {STATEMENT}") from None
    except (RecursionError, MemoryError):  # pragma: no cover (the length limit keeps it away)
        raise ValueError("the expression is nested too deeply") from None
    if len(module.body) == 1 and isinstance(module.body[0], ast.Expr):
        return None  # one expression, such as x == y, which parse() refuses in its own words
    program: list[tuple[str, ast.expr]] = []
    for statement in module.body:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            segment = ast.get_source_segment(text, statement) or ""
            raise ValueError(f"{segment!r} is not allowed: {STATEMENT}, as in L = d * f; d = a + b")
        name = statement.targets[0].id
        if name in FUNCTIONS:
            raise ValueError(f"{name} is a function: give the value another name")
        if name in (defined for defined, _ in program):
            raise ValueError(f"{name} is defined twice: {STATEMENT}, one for each name")
        _check(text, statement.value)
        program.append((name, statement.value))
    return program


def _in_order(program: list[tuple[str, ast.expr]]) -> list[str]:
    """The defined names, each after the names its expression uses; ValueError for a cycle, or
    for a name the output (the first statement's) does not use."""
    defined = {name for name, _ in program}
    uses = {name: [n for n in _names_in(tree) if n in defined] for name, tree in program}
    output = program[0][0]
    reached, todo = {output}, [output]
    while todo:
        for used in uses[todo.pop()]:
            if used not in reached:
                reached.add(used)
                todo.append(used)
    unused = [name for name, _ in program if name not in reached]
    if unused:
        raise ValueError(
            f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} defined but not used by "
            f"{output}, the output (the first statement's name)"
        )
    order: list[str] = []
    state: dict[str, int] = {}  # 1 while its inputs are being ordered, 2 once ordered
    for start, _ in program:
        if state.get(start) == 2:
            continue
        state[start] = 1
        stack, path = [(start, iter(uses[start]))], [start]
        while stack:
            name, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                path.pop()
                state[name] = 2
                order.append(name)
            elif state.get(step) == 1:
                cycle = [*path[path.index(step) :], step]
                raise ValueError(f"{step} is defined through itself: {' -> '.join(cycle)}")
            elif state.get(step) is None:
                state[step] = 1
                stack.append((step, iter(uses[step])))
                path.append(step)
    return order


def build(source: str, values: Mapping[str, float]) -> Value:
    """The expression as a graph of Values: each name a leaf labelled with it, valued from values.

    Every name needs a value and every value a name; a name used twice is one leaf (x*x reaches
    x along two paths). Numbers are constants; arithmetic on numbers alone is done at once. With
    statements ("L = d * f; d = a * b"), each inner value is labelled with its name and the
    first statement's is the output.
    """
    program = statements(source)
    tree = parse(source) if program is None else None
    order = [] if program is None else _in_order(program)  # refuses a cycle or an unused name
    source = source.strip()
    named: dict[str, float] = {}
    for key, value in values.items():
        if normal_name(key) in named:
            raise ValueError(f"values gives {normal_name(key)} twice (names are read as NFKC)")
        named[normal_name(key)] = value
    values = named
    used = names(source)  # parses again: cheap, and keeps names() the one definition
    defined = [name for name, _ in program or []]
    given_defined = [name for name in values if name in defined]
    missing = [name for name in used if name not in values]
    unknown = [name for name in values if name not in used and name not in defined]
    if given_defined:
        raise ValueError(
            f"--set gives {', '.join(given_defined)}, which a statement defines: "
            "--set gives values only to the names no statement defines"
        )
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
    if program is not None and not used:
        raise ValueError(
            f"{source!r} has no names without a statement of their own, so there is nothing "
            "to differentiate: use a name given by --set, as in L = d * 2; d = x + 1"
        )
    leaves = {name: Value(values[name], label=name) for name in used}
    if tree is not None:
        result = _evaluate(source, tree, leaves)
    else:
        assert program is not None
        result = _run(source, program, order, leaves)
    if not isinstance(result, Value):
        raise ValueError(
            f"{source!r} has no names, so there is nothing to differentiate: use a name, as in x*2"
        )
    return result


def _run(
    source: str, program: list[tuple[str, ast.expr]], order: list[str], leaves: dict[str, Value]
) -> Value:
    """The first statement's value, the statements evaluated in order (see _in_order)."""
    trees = dict(program)
    known: dict[str, Operand] = dict(leaves)
    for name in order:
        result = _evaluate(source, trees[name], known)
        if isinstance(result, Value) and any(result is value for value in known.values()):
            raise ValueError(
                f"{name} = {ast.get_source_segment(source, trees[name])} only gives another "
                f"name to a value: write the operation that computes {name}"
            )
        named = result if isinstance(result, Value) else Value(result)  # a number: a leaf
        named.label = name
        known[name] = named
    result = known[program[0][0]]
    assert isinstance(result, Value)
    return result


def _evaluate(source: str, tree: ast.expr, leaves: Mapping[str, Operand]) -> Operand:
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


def _apply(node: ast.expr, operands: list[Operand], leaves: Mapping[str, Operand]) -> Operand:
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
