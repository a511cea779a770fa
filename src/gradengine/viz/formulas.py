"""How each operation reads in words: its forward expression and its local derivatives."""

from __future__ import annotations

from collections.abc import Callable

from gradengine.viz.graph import number

# Each function as an explanation writes it; relu's symbol is micrograd's "ReLU".
FUNCTIONS = {"ReLU": "relu", "tanh": "tanh", "exp": "exp", "log": "log", "sigmoid": "sigmoid"}
INFIX = {"+", "-", "*", "/", "**"}


def forward_expression(op: str, parents: list[str]) -> str:
    """The operation applied to its operands' names: "a * b", "relu(a)", "b + w1*x1 + w2*x2"."""
    if op in INFIX and len(parents) == 2:
        return f"{grouped(parents[0])} {op} {grouped(parents[1])}"
    if op == "neg" and len(parents) == 1:
        return f"-{parents[0]}"
    if op.startswith("**") and len(parents) == 1:
        return f"{grouped(parents[0])}**{op[2:]}"
    if op in FUNCTIONS and len(parents) == 1:
        return f"{FUNCTIONS[op]}({parents[0]})"
    if op == "weighted_sum" and len(parents) % 2 == 1:
        n = len(parents) // 2
        terms = [
            f"{grouped(w)}*{grouped(x)}"
            for w, x in zip(parents[1 : n + 1], parents[n + 1 :], strict=True)
        ]
        return " + ".join([parents[0], *terms])
    if op == "sum":
        return " + ".join(parents)
    if op in NEURONS and len(parents) % 2 == 1:
        return f"{NEURONS[op]}({forward_expression('weighted_sum', parents)})"
    return f"{op}({', '.join(parents)})"


#: A whole neuron as one node (fast/neurons.py): the function applied to its weighted sum.
NEURONS = {
    "relu(weighted_sum)": "relu",
    "tanh(weighted_sum)": "tanh",
    "sigmoid(weighted_sum)": "sigmoid",
}


def grouped(operand: str) -> str:
    """operand in parentheses when it is negative, so that 2.0 * (-3.0) reads right.

    A number the page may hide (\x00 node \x01 number \x02) gets them inside the mark, so a
    hidden -3.0 reads ?, not (?).
    """
    if operand.startswith("\x00") and "\x01-" in operand:
        return operand.replace("\x01-", "\x01(-", 1).replace("\x02", ")\x02", 1)
    return f"({operand})" if operand.startswith("-") else operand


def _power(op: str) -> Callable[[list[str], str], list[str | None]]:
    def rule(p: list[str], out: str) -> list[str | None]:
        k = float(op[2:])
        if k - 1 == 1:
            return [f"{k:g}·{p[0]}"]
        return [f"{k:g}·{p[0]}^{k - 1:g}"]

    return rule


RULES: dict[str, Callable[[list[str], str], list[str | None]]] = {
    "+": lambda p, out: ["1", "1"],
    "-": lambda p, out: ["1", "-1"],
    "*": lambda p, out: [p[1], p[0]],
    "/": lambda p, out: [f"1/{p[1]}", f"-{p[0]}/{p[1]}²"],
    "neg": lambda p, out: ["-1"],
    "**": lambda p, out: [f"{p[1]}·{p[0]}^({p[1]} - 1)", f"{out}·ln {p[0]}"],
    "ReLU": lambda p, out: [f"(1 if {p[0]} > 0 else 0)"],
    "tanh": lambda p, out: [f"1 - {out}²"],
    "exp": lambda p, out: [out],
    "log": lambda p, out: [f"1/{p[0]}"],
    "sigmoid": lambda p, out: [f"{out}·(1 - {out})"],
}


def local_formulas(op: str, parents: list[str], out: str) -> list[str | None]:
    """d out / d parent as a formula in the names, one per parent (None where none is known)."""
    rule = RULES.get(op)
    if rule is None and op.startswith("**") and len(parents) == 1:
        rule = _power(op)
    if rule is not None:
        formulas = rule(parents, out)
        if len(formulas) == len(parents):
            return formulas
    if op == "weighted_sum" and len(parents) % 2 == 1:
        n = len(parents) // 2
        return ["1", *parents[n + 1 :], *parents[1 : n + 1]]
    if op == "sum":
        return ["1"] * len(parents)
    if op == "relu(weighted_sum)" and len(parents) % 2 == 1:
        # the weighted sum's derivatives while the ReLU is open, 0 while it is closed
        inner = local_formulas("weighted_sum", parents, out)
        return [f"({formula} if {out} > 0 else 0)" for formula in inner]
    if op in ("tanh(weighted_sum)", "sigmoid(weighted_sum)") and len(parents) % 2 == 1:
        # the weighted sum's derivatives times the function's own derivative at its result
        inner = local_formulas("weighted_sum", parents, out)
        outer = f"1 - {out}²" if op.startswith("tanh") else f"{out}·(1 - {out})"
        factor = f"({outer})" if op.startswith("tanh") else outer
        return [outer if formula == "1" else f"{factor}·{formula}" for formula in inner]
    return [None] * len(parents)


def derivative_text(out: str, parent: str, formula: str | None, value: float) -> str:
    """ "∂out/∂a = b = 3.0", or "∂out/∂a = 1.0" when the formula is only the number."""
    shown = number(value)
    if formula is None or _is_number(formula):
        return f"∂{out}/∂{parent} = {shown}"
    return f"∂{out}/∂{parent} = {formula} = {shown}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
