"""The node shapes' backward step (nodes.py), against IEEE-754 rules worked out by hand."""

from __future__ import annotations

import math

from gradengine import Value
from gradengine.losses import l2
from gradengine.nodes import _Fused


def test_a_fused_node_with_grad_zero_and_an_infinite_local_derivative_propagates_nan():
    big = Value(1e308)  # l2's local derivative 2 * alpha * p = 2e308 overflows to inf
    ps = [big, Value(1.0), Value(2.0)]
    node = l2(ps, alpha=1.0)
    assert isinstance(node, _Fused)
    out = node * 0.0  # node.grad = 0
    out.backward()
    assert node.grad == 0.0
    assert math.isnan(big.grad)  # 0 * inf = nan, as IEEE-754 and PyTorch say
    assert [p.grad for p in ps[1:]] == [0.0, 0.0]


def test_a_fused_node_with_an_infinite_grad_and_zero_local_derivatives_propagates_nan():
    ps = [Value(0.0), Value(0.0), Value(0.0)]
    node = l2(ps, alpha=1.0)  # every local derivative 2 * p is 0
    assert isinstance(node, _Fused)
    out = node * math.inf  # node.grad = inf
    out.backward()
    assert all(math.isnan(p.grad) for p in ps)  # inf * 0 = nan


def test_a_fused_node_with_grad_zero_and_finite_derivatives_adds_exactly_zero():
    ps = [Value(1.0), Value(-2.0), Value(3.0)]
    ps[0].grad = 5.0
    node = l2(ps, alpha=1.0)
    (node * 0.0).backward()
    assert [p.grad for p in ps] == [5.0, 0.0, 0.0]


def test_a_fused_node_adds_grad_times_each_local_derivative():
    ps = [Value(1.0), Value(-2.0), Value(3.0)]
    node = l2(ps, alpha=0.5)  # d/dp = p
    (node * 2.0).backward()
    assert [p.grad for p in ps] == [2.0, -4.0, 6.0]
