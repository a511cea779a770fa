"""Datasets: scikit-learn's points where it has the generator, geometry, seeding, splitting."""

import math
import random
import statistics

import pytest

from gradengine.data import (
    accuracy,
    make_blobs,
    make_circles,
    make_moons,
    make_spiral,
    make_xor,
    train_test_split,
)

SIZES = [1, 2, 3, 10, 99, 100, 257, (3, 5), (0, 4)]


@pytest.mark.parametrize("n", SIZES, ids=str)
def test_make_moons_equals_scikit_learn(n):
    datasets = pytest.importorskip("sklearn.datasets")
    points, labels = make_moons(n, shuffle=False)
    X_sk, y_sk = datasets.make_moons(n, shuffle=False)
    assert points == X_sk.tolist()
    assert labels == y_sk.tolist()


@pytest.mark.parametrize("n", SIZES, ids=str)
@pytest.mark.parametrize("factor", [0.8, 0.3, 0.0])
def test_make_circles_equals_scikit_learn(n, factor):
    datasets = pytest.importorskip("sklearn.datasets")
    points, labels = make_circles(n, shuffle=False, factor=factor)
    X_sk, y_sk = datasets.make_circles(n, shuffle=False, factor=factor)
    assert points == X_sk.tolist()
    assert labels == y_sk.tolist()


def test_moons_lie_on_their_half_circles():
    X, y = make_moons(51, shuffle=False)
    assert y == [0] * 25 + [1] * 26
    for (a, b), label in zip(X, y):
        # class 0: the unit upper half circle; class 1: radius 1 around (1, 0.5), lower half
        cx, cy = (0.0, 0.0) if label == 0 else (1.0, 0.5)
        assert math.hypot(a - cx, b - cy) == pytest.approx(1.0)
        assert (b >= cy - 1e-12) if label == 0 else (b <= cy + 1e-12)
    assert X[0] == pytest.approx([1.0, 0.0]) and X[24] == pytest.approx([-1.0, 0.0], abs=1e-15)


def test_circles_have_radius_1_and_factor():
    X, y = make_circles(40, factor=0.3, random_state=0)
    radii = {
        label: sorted({round(math.hypot(*x), 12) for x, c in zip(X, y) if c == label})
        for label in (0, 1)
    }
    assert radii == {0: [1.0], 1: [0.3]}


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: make_moons(50, noise=0.1, random_state=seed),
        lambda seed: make_circles(50, noise=0.1, random_state=seed),
        lambda seed: make_blobs(50, random_state=seed),
        lambda seed: make_xor(50, noise=0.1, random_state=seed),
        lambda seed: make_spiral(50, n_classes=3, noise=0.1, random_state=seed),
    ],
    ids=["moons", "circles", "blobs", "xor", "spiral"],
)
def test_a_seed_reproduces_the_data_and_another_seed_changes_it(make):
    assert make(7) == make(7)
    assert make(7) != make(8)
    X, y = make(7)
    assert len(X) == len(y) == 50
    assert all(len(x) == 2 and all(type(v) is float for v in x) for x in X)
    assert all(type(c) is int for c in y)


def test_a_random_instance_is_used_as_the_source():
    assert make_moons(20, noise=0.1, random_state=random.Random(3)) == make_moons(
        20, noise=0.1, random_state=3
    )


def test_shuffle_reorders_points_with_their_labels():
    plain = make_moons(30, shuffle=False)
    shuffled = make_moons(30, shuffle=True, random_state=1)
    pairs = lambda data: sorted((tuple(x), c) for x, c in zip(*data))  # noqa: E731
    assert pairs(shuffled) == pairs(plain)
    assert shuffled != plain


def test_noise_has_the_requested_standard_deviation():
    plain, _ = make_circles(4000, shuffle=False)
    noisy, _ = make_circles(4000, shuffle=False, noise=0.2, random_state=0)
    offsets = [n[i] - p[i] for n, p in zip(noisy, plain) for i in (0, 1)]
    assert statistics.fmean(offsets) == pytest.approx(0.0, abs=0.01)
    assert statistics.stdev(offsets) == pytest.approx(0.2, rel=0.05)


def test_blobs_split_samples_evenly_around_the_given_centers():
    centers = [[0.0, 0.0], [5.0, 5.0], [-5.0, 3.0]]
    X, y = make_blobs(3001, centers=centers, cluster_std=[0.1, 0.2, 0.3], random_state=0)
    assert [y.count(j) for j in range(3)] == [1001, 1000, 1000]
    for j, (center, std) in enumerate(zip(centers, [0.1, 0.2, 0.3])):
        points = [x for x, c in zip(X, y) if c == j]
        for i in (0, 1):
            coordinate = [p[i] for p in points]
            assert statistics.fmean(coordinate) == pytest.approx(center[i], abs=0.05)
            assert statistics.stdev(coordinate) == pytest.approx(std, rel=0.1)


def test_blob_centers_are_drawn_in_the_box_minus_10_to_10():
    X, y = make_blobs(500, centers=4, cluster_std=0.01, random_state=5)
    assert sorted(set(y)) == [0, 1, 2, 3]
    assert all(-10.1 < v < 10.1 for x in X for v in x)


def test_xor_labels_opposite_signs_as_1():
    X, y = make_xor(200, random_state=0)
    assert y == [1 if (a > 0) != (b > 0) else 0 for a, b in X]
    assert all(-1 <= v <= 1 for x in X for v in x)
    assert 60 < sum(y) < 140


def test_spiral_arms_grow_outwards_by_class():
    X, y = make_spiral(90, n_classes=3)
    assert y == [0] * 30 + [1] * 30 + [2] * 30
    radii = [math.hypot(*x) for x in X[:30]]
    assert radii == sorted(radii) and radii[-1] == pytest.approx(1.0)
    # arm j is arm 0 turned by 2πj/3
    turn = 2 * math.pi / 3
    a, b = X[5]
    assert X[35] == pytest.approx(
        [a * math.cos(turn) - b * math.sin(turn), a * math.sin(turn) + b * math.cos(turn)]
    )


BAD_CALLS = [
    (lambda: make_moons(0), ValueError, "n_samples"),
    (lambda: make_moons(-3), ValueError, "n_samples"),
    (lambda: make_moons(2.5), TypeError, "n_samples"),
    (lambda: make_moons("100"), TypeError, "n_samples"),
    (lambda: make_moons(True), TypeError, "n_samples"),
    (lambda: make_moons((1, 2, 3)), ValueError, "n_samples"),
    (lambda: make_moons((0, 0)), ValueError, "n_samples"),
    (lambda: make_moons(10, noise=-0.1), ValueError, "noise"),
    (lambda: make_moons(10, noise=math.nan), ValueError, "noise"),
    (lambda: make_moons(10, random_state="seed"), TypeError, "random_state"),
    (lambda: make_moons(10, shuffle="yes"), TypeError, "shuffle"),
    (lambda: make_circles(10, factor=1.0), ValueError, "factor"),
    (lambda: make_circles(10, factor=-0.5), ValueError, "factor"),
    (lambda: make_blobs(10, centers=0), ValueError, "centers"),
    (lambda: make_blobs(10, centers=[[1.0]]), ValueError, r"centers\[0\]"),
    (lambda: make_blobs(10, centers=[]), TypeError, "centers"),
    (lambda: make_blobs(10, cluster_std=-1.0), ValueError, "cluster_std"),
    (lambda: make_blobs(10, centers=2, cluster_std=[1.0]), ValueError, "cluster_std"),
    (lambda: make_xor(0), ValueError, "n_samples"),
    (lambda: make_spiral(10, n_classes=0), ValueError, "n_classes"),
    # Sizes beyond the limit are refused before any point is made.
    (lambda: make_moons(10**7 + 1), ValueError, "at most MAX_SAMPLES = 10,000,000, got 10000001"),
    (lambda: make_moons((10**7, 1)), ValueError, r"at most MAX_SAMPLES.*10000000 \+ 1"),
    (lambda: make_circles((1, 10**9)), ValueError, r"n_samples\[1\] .*got 1000000000"),
    (lambda: make_blobs(10**9), ValueError, "MAX_SAMPLES"),
    (lambda: make_blobs(10, centers=10**9), ValueError, "centers .*MAX_SAMPLES"),
    (lambda: make_xor(10**9), ValueError, "MAX_SAMPLES"),
    (lambda: make_spiral(10, n_classes=10**9), ValueError, "n_classes .*MAX_SAMPLES"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS)
def test_bad_generator_arguments_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_train_test_split_holds_out_a_random_quarter():
    X = [[float(i), -float(i)] for i in range(10)]
    y = list(range(10))
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    assert (len(X_train), len(X_test)) == (7, 3)  # ceil(0.25 * 10) = 3, as scikit-learn
    assert sorted(y_train + y_test) == y
    assert all(x == [float(c), -float(c)] for x, c in zip(X_train + X_test, y_train + y_test))
    assert train_test_split(X, y, random_state=0) == (X_train, X_test, y_train, y_test)
    assert train_test_split(X, y, random_state=1) != (X_train, X_test, y_train, y_test)


def test_train_test_split_takes_a_count():
    _, X_test, _, y_test = train_test_split([[0.0, 0.0]] * 5, [0] * 5, test_size=2)
    assert len(X_test) == len(y_test) == 2


@pytest.mark.parametrize(
    ("X", "y", "test_size", "error", "message"),
    [
        ([[0.0, 0.0]] * 3, [0] * 2, 0.25, ValueError, "same length"),
        ([[0.0, 0.0]] * 4, [0] * 4, 1.5, ValueError, "test_size"),
        ([[0.0, 0.0]] * 4, [0] * 4, 0.0, ValueError, "test_size"),
        ([[0.0, 0.0]] * 4, [0] * 4, 4, ValueError, "both need at least one"),
        ([[0.0, 0.0]], [0], 0.5, ValueError, "both need at least one"),
        ([[0.0, 0.0]] * 4, [0] * 4, "0.5", TypeError, "test_size"),
        ("X", [0], 0.5, TypeError, "X must be a list"),
    ],
)
def test_bad_splits_are_rejected(X, y, test_size, error, message):
    with pytest.raises(error, match=message):
        train_test_split(X, y, test_size=test_size)


def test_accuracy_is_the_fraction_correct():
    assert accuracy([1, 0, 1, 1], [1, 1, 1, 0]) == 0.5
    assert accuracy([2], [2]) == 1.0


@pytest.mark.parametrize(
    ("predicted", "labels", "error", "message"),
    [
        ([1, 0], [1], ValueError, "same length"),
        ([], [], ValueError, "at least one"),
        ([0.7, 0.1], [1, 0], TypeError, r"predicted\[0\].*int class label"),
        ([1, 0], [1, "0"], TypeError, r"labels\[1\]"),
        (5, [1], TypeError, "predicted must be a list"),
    ],
)
def test_bad_accuracy_input_is_rejected(predicted, labels, error, message):
    with pytest.raises(error, match=message):
        accuracy(predicted, labels)
