"""Threads, signal handlers and interrupts: backward() is exact or refused, never wrong or hung."""

import math
import signal
import sys
import threading

import pytest

from gradengine import MLP, Value, detect_anomaly, engine, total
from gradengine.engine import topological_order


@pytest.fixture
def fast_switching():
    """Switch threads every microsecond, so that races show up in a few iterations."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


def run_threads(target, count):
    errors = []

    def guarded(i):
        try:
            target(i)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread hung"
    assert errors == []


def model_and_loss():
    mlp = MLP(3, [8, 8, 1], seed=1)
    points = [[0.1 * i, -0.2 * i, 0.3] for i in range(12)]
    loss = total([(mlp.forward(p)[0] - 1.0) ** 2 for p in points])
    return mlp, loss


def test_four_threads_backward_through_one_graph_add_exactly_four_gradients(fast_switching):
    mlp, loss = model_and_loss()
    loss.backward()
    once = [p.grad for p in mlp.parameters()]
    for _ in range(3):
        mlp.zero_grad()
        run_threads(lambda i: loss.backward(), 4)
        # 4 backward() calls in turn: each leaf holds once + once + once + once, exactly
        expected = [((g + g) + g) + g for g in once]
        assert [p.grad for p in mlp.parameters()] == expected


def test_threads_whose_graphs_share_a_leaf_lose_no_contribution(fast_switching):
    shared = Value(1.5)
    rounds = 50

    def work(i):
        for _ in range(rounds):
            (shared * (i + 1.0)).backward()

    run_threads(work, 4)
    assert shared.grad == rounds * (1.0 + 2.0 + 3.0 + 4.0)


def test_a_signal_handler_calling_backward_mid_walk_is_refused_not_hung():
    if not hasattr(signal, "setitimer"):
        pytest.skip("needs signal.setitimer (POSIX)")
    x = Value(2.0)
    y = x
    for _ in range(300_000):
        y = y * 1.0000001
    errors = []

    def handler(signum, frame):
        try:
            (x * 3.0).backward()
        except RuntimeError as error:
            errors.append(error)

    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        y.backward()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # the handler ran while backward() was walking, and was refused with a clear error
    assert errors and "inside a running backward()" in str(errors[0])
    assert x.grad == pytest.approx(1.0000001**300_000, rel=1e-9)


def test_a_failing_backward_leaves_every_leaf_as_it_was():
    x, w = Value(2.0), Value(-3.0)
    x.grad, w.grad = 5.0, 7.0

    def broken():
        raise KeyboardInterrupt

    out = Value(1.0, (x * w,), "broken")
    out._backward = broken
    y = out + x
    with pytest.raises(KeyboardInterrupt):
        y.backward()
    assert (x.grad, w.grad) == (5.0, 7.0)
    # and the next backward works and accumulates onto what they held
    (x * w).backward()
    assert (x.grad, w.grad) == (5.0 - 3.0, 7.0 + 2.0)


def test_anomaly_mode_in_one_thread_does_not_check_another():
    entered, done = threading.Event(), threading.Event()
    results = []

    def checked():
        with detect_anomaly():
            entered.set()
            done.wait(10)

    thread = threading.Thread(target=checked)
    thread.start()
    assert entered.wait(10)
    try:
        results.append((Value(1.0) / 0).data)  # not in anomaly mode here: IEEE-754 inf
    finally:
        done.set()
        thread.join(10)
    assert results == [math.inf]


def test_entering_and_leaving_anomaly_mode_from_many_threads_leaves_it_off(fast_switching):
    def work(i):
        for _ in range(200):
            with detect_anomaly(), pytest.raises(FloatingPointError):
                Value(1.0) / 0

    run_threads(work, 4)
    assert (Value(1.0) / 0).data == math.inf  # off again everywhere
    assert engine.WATCHERS == [] and engine.CHECKS == []  # nothing is watching any more


def test_topological_order_from_inside_a_lecture_backward_reads_the_graph_unchanged():
    x = Value(1.0)
    out = Value(2.0, (x,), "peek")
    seen = []

    def peeking():
        seen.append(topological_order(out))  # the walk keeps its marks to itself
        x.grad += 3.0 * out.grad

    out._backward = peeking
    out.backward()
    assert seen == [[x, out]] and x.grad == 3.0
