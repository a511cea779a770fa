"""Four small graphs, each built, backpropagated, and printed with what its gradients mean.

1. a simple graph of several operations;  2. ReLU inside a graph;
3. one value reached along several paths;  4. a larger expression using every function.
"""

from __future__ import annotations

from gradengine import Value


def show(name: str, number: float, note: str = "") -> None:
    """Print one number, with an optional explanation after it."""
    print(f"   {name:<8} = {number!r:<22}{note}".rstrip())


def simple_graph() -> None:
    print("1. A simple graph: z = x*y + 1 at x = 2, y = 3")
    x, y = Value(2), Value(3)
    z = x * y + 1
    z.backward()
    show("z", z.data)
    show("dz/dx", x.grad, "= y: nudging x by h moves z by y*h")
    show("dz/dy", y.grad, "= x")


def relu_graph() -> None:
    print("2. ReLU in a graph: out = relu(w1*x) + relu(w2*x) at x = 3, w1 = 0.5, w2 = -1")
    x, w1, w2 = Value(3), Value(0.5), Value(-1)
    out = (w1 * x).relu() + (w2 * x).relu()
    out.backward()
    show("out", out.data, "= 1.5 + 0: the second ReLU's input is negative, so it outputs 0")
    show("dout/dx", x.grad, "= w1 only: no gradient flows back through a closed ReLU")
    show("dout/dw1", w1.grad, "= x")
    show("dout/dw2", w2.grad, "= 0: w2 cannot change the output while its ReLU is closed")


def several_paths() -> None:
    print("3. A value reached by several paths: b = a*a + a at a = 3")
    a = Value(3)
    b = a * a + a
    b.backward()
    show("b", b.data)
    show("db/da", a.grad, "= a + a + 1: one term per path from a to b, added up")


def larger_expression() -> None:
    print("4. A larger expression: f = tanh(x*y) + exp(x/y)*sigmoid(y) - log(x**2 + 1)")
    print("   at x = 0.5, y = -1.5; below, t = tanh(x*y), e = exp(x/y), s = sigmoid(y)")
    x, y = Value(0.5), Value(-1.5)
    f = (x * y).tanh() + (x / y).exp() * y.sigmoid() - (x**2 + 1).log()
    f.backward()
    show("f", f.data)
    show("df/dx", x.grad, "= y(1 - t²) + e·s/y - 2x/(x² + 1)")
    show("df/dy", y.grad, "= x(1 - t²) - e·s·x/y² + e·s(1 - s)")


def main() -> None:
    simple_graph()
    relu_graph()
    several_paths()
    larger_expression()


if __name__ == "__main__":
    main()
