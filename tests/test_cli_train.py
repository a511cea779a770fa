"""The training loop: losses, updates, schedule and records, checked against plain-float math."""

import json
import math

import pytest

from gradengine.cli import train
from gradengine.engine import Value
from gradengine.nn import MLP, Neuron
from gradengine.optim import SGD, Adam

ALPHA = 1e-4

# Four points on each side of the line x1 = x2, with labels 1 above it (x2 > x1).
X_TINY = [[0.1, 0.9], [-0.5, 0.2], [0.3, 0.8], [-0.9, -0.1], [0.7, 0.2], [0.4, -0.6], [0.9, 0.1]]
Y_TINY = [1, 1, 1, 1, 0, 0, 0]
TINY = train.Dataset("tiny", X_TINY[:5], Y_TINY[:5], X_TINY[5:], Y_TINY[5:], n_classes=2)


def scores(mlp, X):
    return [[v.data for v in mlp.forward(x)] for x in X]


def bce_loss(mlp, X, y):
    """mean(log(1 + e^z) - t z) + alpha Σ p², in plain floats."""
    zs = [row[0] for row in scores(mlp, X)]
    data = sum(math.log1p(math.exp(z)) - t * z for z, t in zip(zs, y)) / len(y)
    return data + ALPHA * sum(p.data**2 for p in mlp.parameters())


def hinge_loss(mlp, X, y):
    """mean(max(0, 1 - s z)) with s = ±1, + alpha Σ p², in plain floats."""
    zs = [row[0] for row in scores(mlp, X)]
    data = sum(max(0.0, 1.0 - (2 * t - 1) * z) for z, t in zip(zs, y)) / len(y)
    return data + ALPHA * sum(p.data**2 for p in mlp.parameters())


def cross_entropy_loss(mlp, X, y):
    """mean(log Σ_j e^z_j - z_c) + alpha Σ p², in plain floats."""
    rows = scores(mlp, X)
    data = sum(math.log(sum(math.exp(z) for z in row)) - row[c] for row, c in zip(rows, y))
    return data / len(y) + ALPHA * sum(p.data**2 for p in mlp.parameters())


def central_difference_gradient(loss, mlp, X, y, h=1e-6):
    """d loss / d p for every parameter, by (loss(p + h) - loss(p - h)) / 2h."""
    grads = []
    for p in mlp.parameters():
        original = p.data
        p.data = original + h
        up = loss(mlp, X, y)
        p.data = original - h
        down = loss(mlp, X, y)
        p.data = original
        grads.append((up - down) / (2 * h))
    return grads


def test_one_sgd_step_moves_every_parameter_by_minus_lr_times_the_gradient():
    mlp = MLP(2, [4, 1], seed=3)
    before = [p.data for p in mlp.parameters()]
    expected_grads = central_difference_gradient(bce_loss, mlp, X_TINY[:5], Y_TINY[:5])
    lr = 0.3
    train.fit(mlp, TINY, SGD(mlp.parameters(), lr=lr), steps=1, loss_name="bce", alpha=ALPHA)
    after = [p.data for p in mlp.parameters()]
    for p0, p1, g in zip(before, after, expected_grads, strict=True):
        assert p1 == pytest.approx(p0 - lr * g, abs=1e-7)


def test_second_step_uses_fresh_gradients_not_accumulated_ones():
    mlp = MLP(2, [4, 1], seed=5)
    snapshots = []
    optimizer = SGD(mlp.parameters(), lr=0.2)
    train.fit(
        mlp,
        TINY,
        optimizer,
        steps=2,
        loss_name="bce",
        alpha=ALPHA,
        lr_end_factor=1.0,
        callback=lambda record: snapshots.append([p.data for p in mlp.parameters()]),
    )
    after_first, after_second = snapshots
    for p, value in zip(mlp.parameters(), after_first, strict=True):
        p.data = value
    grads = central_difference_gradient(bce_loss, mlp, X_TINY[:5], Y_TINY[:5])
    for p1, p2, g in zip(after_first, after_second, grads, strict=True):
        assert p2 == pytest.approx(p1 - 0.2 * g, abs=1e-7)


@pytest.mark.parametrize(
    ("loss_name", "oracle"), [("hinge", hinge_loss), ("bce", bce_loss)], ids=["hinge", "bce"]
)
def test_first_record_holds_the_loss_and_accuracy_of_the_initial_parameters(loss_name, oracle):
    mlp = MLP(2, [8, 1], seed=11)
    expected_loss = oracle(mlp, X_TINY[:5], Y_TINY[:5])
    predicted = [1 if row[0] > 0 else 0 for row in scores(mlp, X_TINY)]
    right = [p == t for p, t in zip(predicted, Y_TINY)]
    history = train.fit(mlp, TINY, Adam(mlp.parameters(), lr=0.01), steps=1, loss_name=loss_name)
    first = history.steps[0]
    assert first.loss == pytest.approx(expected_loss, rel=1e-12)
    assert first.train_accuracy == sum(right[:5]) / 5
    assert first.test_accuracy == sum(right[5:]) / 2


def test_three_classes_train_with_cross_entropy_and_the_argmax():
    dataset = train.load_dataset("blobs", 60, test_size=0.25, seed=0)
    assert dataset.n_classes == 3
    mlp = MLP(2, [8, 3], seed=0)
    expected_first_loss = cross_entropy_loss(mlp, dataset.X_train, dataset.y_train)
    history = train.fit(mlp, dataset, Adam(mlp.parameters(), lr=0.05), steps=40)
    assert history.loss_name == "cross_entropy"
    assert history.steps[0].loss == pytest.approx(expected_first_loss, rel=1e-12)
    assert history.steps[-1].loss < history.steps[0].loss
    assert history.final_train_accuracy >= 0.9


def test_learning_rate_decays_linearly_to_the_end_factor():
    mlp = MLP(2, [4, 1], seed=1)
    history = train.fit(mlp, TINY, Adam(mlp.parameters(), lr=0.1), steps=4, lr_end_factor=0.1)
    lrs = [record.lr for record in history.steps]
    assert lrs == pytest.approx([0.1 * (1 - 0.9 * k / 4) for k in range(4)], rel=1e-12)


def test_final_accuracies_are_those_of_the_final_parameters():
    mlp = MLP(2, [8, 1], seed=2)
    history = train.fit(mlp, TINY, Adam(mlp.parameters(), lr=0.05), steps=5)
    predicted = [1 if row[0] > 0 else 0 for row in scores(mlp, X_TINY)]
    right = [p == t for p, t in zip(predicted, Y_TINY)]
    assert history.final_train_accuracy == sum(right[:5]) / 5
    assert history.final_test_accuracy == sum(right[5:]) / 2


def test_moons_are_learned():
    dataset = train.load_dataset("moons", 100, test_size=0.2, seed=1337)
    mlp = MLP(2, [16, 16, 1], seed=1337)
    history = train.fit(mlp, dataset, Adam(mlp.parameters(), lr=0.05), steps=60)
    assert history.final_train_accuracy >= 0.95
    assert history.final_test_accuracy >= 0.9


def test_minibatches_are_seeded_and_of_the_asked_size():
    dataset = train.load_dataset("moons", 40, seed=0)

    def run():
        mlp = MLP(2, [4, 1], seed=0)
        history = train.fit(
            mlp, dataset, SGD(mlp.parameters(), lr=0.1), steps=6, batch_size=7, seed=9
        )
        return [p.data for p in mlp.parameters()], history

    params_a, history_a = run()
    params_b, history_b = run()
    assert params_a == params_b
    assert [r.loss for r in history_a.steps] == [r.loss for r in history_b.steps]
    for record in history_a.steps:  # an accuracy over 7 points is a multiple of 1/7
        assert record.train_accuracy * 7 == pytest.approx(round(record.train_accuracy * 7))


def test_callback_sees_every_step_in_order():
    mlp = MLP(2, [4, 1], seed=0)
    seen = []
    history = train.fit(mlp, TINY, Adam(mlp.parameters(), lr=0.01), steps=3, callback=seen.append)
    assert [record.step for record in seen] == [0, 1, 2]
    assert seen == history.steps


def test_history_as_dict_is_json_with_timings():
    mlp = MLP(2, [4, 1], seed=0)
    history = train.fit(mlp, TINY, Adam(mlp.parameters(), lr=0.01), steps=3)
    report = json.loads(json.dumps(history.as_dict(), allow_nan=False))
    assert len(report["steps"]) == 3
    assert set(report["steps"][0]) == {
        "step",
        "loss",
        "train_accuracy",
        "test_accuracy",
        "lr",
        "seconds",
        "eval_seconds",
    }
    timings = report["timings"]
    assert timings["train_seconds"] == pytest.approx(sum(s["seconds"] for s in report["steps"]))
    assert 0 < timings["min_step_seconds"] <= timings["mean_step_seconds"]


@pytest.mark.parametrize("name", train.DATASETS)
def test_every_dataset_loads_and_splits(name):
    dataset = train.load_dataset(name, 30, test_size=0.2, seed=4)
    assert (len(dataset.X_train), len(dataset.X_test)) == (24, 6)
    assert len(dataset.y_train) == 24 and len(dataset.y_test) == 6
    assert all(len(x) == 2 for x in dataset.X_train + dataset.X_test)
    assert set(dataset.y_train + dataset.y_test) <= set(range(dataset.n_classes))


def test_predict_uses_the_sign_for_one_output_and_the_argmax_for_several():
    one = MLP(2, [1], seed=0)
    neuron = one.layers[0].neurons[0]
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 1.0, -1.0, 0.0  # score = x1 - x2
    assert train.predict(one, [[2.0, 1.0], [1.0, 2.0]]) == [1, 0]

    three = MLP(2, [3], seed=0)
    for neuron, (w1, w2) in zip(three.layers[0].neurons, [(1, 0), (0, 1), (-1, -1)]):
        neuron.w[0].data, neuron.w[1].data, neuron.b.data = float(w1), float(w2), 0.0
    assert train.predict(three, [[3.0, 1.0], [1.0, 3.0], [-2.0, -2.0]]) == [0, 1, 2]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"steps": 0}, ValueError, "steps must be an integer >= 1, got 0"),
        ({"steps": 2.5}, TypeError, "steps must be an integer >= 1, got float 2.5"),
        ({"steps": True}, TypeError, "steps .* got bool"),
        ({"steps": 2, "batch_size": 6}, ValueError, r"batch_size must be in 1\.\.5 .*got 6"),
        ({"steps": 2, "batch_size": 0}, ValueError, "batch_size"),
        ({"steps": 2, "batch_size": 2.5}, TypeError, "batch_size .* got float 2.5"),
        ({"steps": 2, "loss_name": "l1"}, ValueError, "unknown loss"),
    ],
)
def test_bad_arguments_are_refused(kwargs, error, message):
    mlp = MLP(2, [4, 1], seed=0)
    with pytest.raises(error, match=message):
        train.fit(mlp, TINY, Adam(mlp.parameters()), **kwargs)


def test_numpy_integers_count_as_steps_and_batch_sizes():
    np = pytest.importorskip("numpy")
    mlp = MLP(2, [4, 1], seed=0)
    history = train.fit(
        mlp, TINY, Adam(mlp.parameters()), steps=np.int64(2), batch_size=np.int32(3), seed=0
    )
    assert [record.step for record in history.steps] == [0, 1]


def test_an_empty_training_set_is_refused():
    empty = train.Dataset("empty", [], [], X_TINY, Y_TINY, n_classes=2)
    mlp = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="X_train is empty"):
        train.fit(mlp, empty, Adam(mlp.parameters()), steps=1)


def test_data_loss_refuses_an_unknown_loss():
    outputs = [MLP(2, [1], seed=0).forward(x) for x in X_TINY[:2]]
    with pytest.raises(ValueError, match=r"unknown loss 'l1'.*hinge"):
        train.data_loss(outputs, Y_TINY[:2], "l1")


def test_no_points_have_no_classes():
    assert train.classes([]) == []
    assert train.predict(MLP(2, [3], seed=0), []) == []


def test_binary_losses_refuse_three_classes():
    dataset = train.load_dataset("blobs", 30, seed=0)
    mlp = MLP(2, [4, 3], seed=0)
    with pytest.raises(ValueError, match="two classes"):
        train.fit(mlp, dataset, Adam(mlp.parameters()), steps=1, loss_name="hinge")


def test_unknown_dataset_and_optimizer_are_refused():
    with pytest.raises(ValueError, match="moons"):
        train.load_dataset("swirls", 30)
    with pytest.raises(ValueError, match="sgd"):
        train.make_optimizer("rmsprop", MLP(2, [1]), 0.1)


def test_an_mlp_with_the_wrong_number_of_outputs_is_refused():
    with pytest.raises(ValueError, match="needs an MLP with 1 output, got one with 3"):
        train.fit(MLP(2, [3], seed=0), TINY, Adam(MLP(2, [1]).parameters()), steps=1)
    blobs = train.load_dataset("blobs", 30, seed=0)
    with pytest.raises(ValueError, match="needs an MLP with 3 outputs, got one with 1"):
        train.fit(MLP(2, [1], seed=0), blobs, Adam(MLP(2, [1]).parameters()), steps=1)


def test_wrong_types_are_refused_before_training():
    mlp = MLP(2, [1], seed=0)
    with pytest.raises(TypeError, match="Dataset"):
        train.fit(mlp, (X_TINY, Y_TINY), Adam(mlp.parameters()), steps=1)
    with pytest.raises(TypeError, match="MLP"):
        train.fit(mlp.layers[0], TINY, Adam(mlp.parameters()), steps=1)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_both_accuracies_of_a_step_are_of_the_parameters_before_its_update(optimizer):
    """An independent recomputation: snapshot the parameters before each update, then measure."""
    dataset = train.load_dataset("moons", 60, test_size=0.3, seed=5)
    mlp = MLP(2, [6, 1], seed=5)
    opt = train.make_optimizer(optimizer, mlp, 0.3)
    snapshots: list[list[float]] = []
    real_step = opt.step

    def step_and_remember() -> None:
        snapshots.append([p.data for p in mlp.parameters()])
        real_step()

    opt.step = step_and_remember  # type: ignore[method-assign]
    history = train.fit(mlp, dataset, opt, steps=8)
    assert len(snapshots) == 8
    twin = MLP(2, [6, 1], seed=0)
    changed = 0
    for record, snapshot in zip(history.steps, snapshots, strict=True):
        for p, x in zip(twin.parameters(), snapshot, strict=True):
            p.data = x
        test = accuracy(train.predict(twin, dataset.X_test), dataset.y_test)
        train_accuracy = accuracy(train.predict(twin, dataset.X_train), dataset.y_train)
        assert record.test_accuracy == test, record.step
        assert record.train_accuracy == train_accuracy, record.step
        after = [p.data for p in mlp.parameters()]
        changed += snapshot != after
    assert changed  # the parameters did move: the test could tell before from after


def accuracy(predicted: list[int], labels: list[int]) -> float:
    return sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)


def test_the_step_record_docstring_says_both_accuracies_are_before_the_update():
    doc = train.StepRecord.__doc__ or ""
    assert "both accuracies" in doc and "before" in doc


# -- the number of classes of blobs and spiral -----------------------------------------------------


@pytest.mark.parametrize(("name", "k"), [("spiral", 3), ("spiral", 5), ("blobs", 2), ("blobs", 4)])
def test_blobs_and_spiral_have_the_number_of_classes_asked_for(name, k):
    dataset = train.load_dataset(name, 60, test_size=0.25, seed=2, n_classes=k)
    assert dataset.n_classes == k
    assert set(dataset.y_train + dataset.y_test) == set(range(k))


def test_by_default_blobs_has_three_classes_and_the_others_two():
    for name in train.DATASETS:
        dataset = train.load_dataset(name, 60, seed=2)
        assert dataset.n_classes == train.default_classes(name) == (3 if name == "blobs" else 2)
        assert set(dataset.y_train + dataset.y_test) == set(range(dataset.n_classes))


@pytest.mark.parametrize(
    ("name", "k", "message"),
    [
        ("moons", 3, "moons has two classes; n_classes applies to blobs and spiral"),
        ("spiral", 1, "n_classes must be at least 2, got 1"),
        ("blobs", 0, "n_classes"),
    ],
)
def test_a_number_of_classes_that_cannot_be_made_is_refused(name, k, message):
    with pytest.raises(ValueError, match=message):
        train.load_dataset(name, 60, n_classes=k)


# -- compiled mode: the same records as eager mode ---------------------------------------------


def _fit(engine, name, steps=4, backend="python", classes=None, activation="relu", **kwargs):
    """fit of a fixed model on a fixed dataset; (history, parameters' data, parameters' grads)"""
    dataset = train.load_dataset(name, 60, test_size=0.25, seed=7, n_classes=classes)
    width = 1 if kwargs.get("loss_name") == "bce" else train.n_outputs(dataset.n_classes)
    mlp = MLP(2, [6, 5, width], seed=7, activation=activation)
    optimizer = Adam(mlp.parameters(), lr=0.05)
    history = train.fit(
        mlp, dataset, optimizer, steps=steps, engine=engine, backend=backend, seed=3, **kwargs
    )
    return history, [p.data for p in mlp.parameters()], [p.grad for p in mlp.parameters()]


def _records(history):
    return [(r.loss, r.train_accuracy, r.test_accuracy, r.lr) for r in history.steps]


PARITY = [
    pytest.param("moons", {}, id="moons-hinge"),
    pytest.param("moons", {"batch_size": 9}, id="moons-hinge-minibatches"),
    pytest.param("moons", {"activation": "tanh"}, id="moons-hinge-tanh"),
    pytest.param("blobs", {}, id="blobs-cross_entropy"),
    pytest.param("blobs", {"batch_size": 9, "activation": "sigmoid"}, id="blobs-minibatches"),
    pytest.param("spiral", {"classes": 4}, id="spiral-4-classes"),
]


@pytest.mark.parametrize(("name", "kwargs"), PARITY)
def test_compiled_python_backend_gives_eager_mode_s_records(name, kwargs):
    """The first loss bit for bit (the same float operations); gradients to rounding (eager
    mode divides by N inside the loss, the batched replay seeds each sample with 1/N)."""
    eager, eager_params, eager_grads = _fit("eager", name, **kwargs)
    compiled, params, grads = _fit("compiled", name, **kwargs)
    assert compiled.engine == "compiled" and eager.engine == "eager"
    assert compiled.steps[0].loss == eager.steps[0].loss
    for a, b in zip(compiled.steps, eager.steps, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-12, abs=0)
        assert (a.train_accuracy, a.test_accuracy, a.lr) == (
            b.train_accuracy,
            b.test_accuracy,
            b.lr,
        )
    assert params == pytest.approx(eager_params, rel=1e-11, abs=1e-14)
    assert grads == pytest.approx(eager_grads, rel=1e-9, abs=1e-14)
    assert compiled.final_train_accuracy == eager.final_train_accuracy
    assert compiled.final_test_accuracy == eager.final_test_accuracy
    assert len({r.loss for r in eager.steps}) == len(eager.steps)  # the loss did move


@pytest.mark.parametrize(("name", "kwargs"), PARITY)
def test_compiled_numpy_backend_gives_eager_mode_s_losses_to_1e_12(name, kwargs):
    pytest.importorskip("numpy")
    eager, eager_params, _ = _fit("eager", name, **kwargs)
    compiled, params, _ = _fit("compiled", name, backend="numpy", **kwargs)
    for a, b in zip(compiled.steps, eager.steps, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-12, abs=0)
        assert (a.train_accuracy, a.test_accuracy) == (b.train_accuracy, b.test_accuracy)
    assert params == pytest.approx(eager_params, rel=1e-12, abs=1e-15)


def test_compiled_bce_gives_eager_mode_s_losses_to_1e_12():
    eager, eager_params, _ = _fit("eager", "moons", loss_name="bce", batch_size=9)
    compiled, params, _ = _fit("compiled", "moons", loss_name="bce", batch_size=9)
    for a, b in zip(compiled.steps, eager.steps, strict=True):
        assert a.loss == pytest.approx(b.loss, rel=1e-12, abs=0)
    assert params == pytest.approx(eager_params, rel=1e-12, abs=1e-15)


def test_compiled_mode_times_its_compilation_apart_from_the_steps():
    history, _, _ = _fit("compiled", "moons", steps=2)
    assert history.compile_seconds > 0
    report = json.loads(json.dumps(history.as_dict(), allow_nan=False))
    assert report["engine"] == "compiled"
    assert report["timings"]["compile_seconds"] == history.compile_seconds
    assert all(record.seconds > 0 and record.eval_seconds > 0 for record in history.steps)
    eager, _, _ = _fit("eager", "moons", steps=1)
    assert eager.compile_seconds == 0 and eager.as_dict()["engine"] == "eager"


def test_compiled_mode_without_a_test_set_reports_no_test_accuracy():
    mlp = MLP(2, [4, 1], seed=0)
    train_only = train.Dataset("tiny", X_TINY, Y_TINY, [], [], n_classes=2)
    history = train.fit(mlp, train_only, Adam(mlp.parameters()), steps=2, engine="compiled")
    assert [r.test_accuracy for r in history.steps] == [None, None]
    assert history.final_test_accuracy is None


class LectureNeuron(Neuron):
    """The lecture's tanh neuron: its node's derivative hidden in a _backward closure."""

    def __call__(self, x):
        act = self.b + sum(wi * xi for wi, xi in zip(self.w, x))
        t = math.tanh(act.data)
        out = Value(t, (act,), "tanh")

        def _backward():
            act.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out


def test_a_model_compiled_mode_cannot_replay_is_refused_before_the_first_step():
    mlp = MLP(2, [3, 1], seed=0)
    mlp.layers[0].neurons[1] = LectureNeuron(2)
    before = [p.data for p in mlp.parameters()]
    seen = []
    with pytest.raises(ValueError, match="engine='compiled' cannot replay this model") as info:
        train.fit(
            mlp, TINY, Adam(mlp.parameters()), steps=3, callback=seen.append, engine="compiled"
        )
    assert "lecture's way" in str(info.value) and "engine='eager'" in str(info.value)
    assert seen == [] and [p.data for p in mlp.parameters()] == before
    # eager mode trains the same model
    history = train.fit(mlp, TINY, Adam(mlp.parameters()), steps=3, engine="eager")
    assert len(history.steps) == 3


def test_labels_outside_the_classes_are_refused_in_compiled_mode_before_any_step():
    bad = train.Dataset("bad", X_TINY[:5], [0, 1, 2, 1, 0], [], [], n_classes=2)
    mlp = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match=r"dataset.y_train\[2\] must be a class in 0..1, got 2"):
        train.fit(mlp, bad, Adam(mlp.parameters()), steps=1, engine="compiled")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"engine": "jit"}, "engine must be 'eager' or 'compiled', got 'jit'"),
        ({"engine": "compiled", "backend": "cuda"}, "backend must be one of auto, python, numpy"),
    ],
)
def test_an_unknown_engine_or_backend_is_refused(kwargs, message):
    mlp = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match=message):
        train.fit(mlp, TINY, Adam(mlp.parameters()), steps=1, **kwargs)


def _trajectory(engine, **kwargs):
    """The first weight of the model as each step's callback reads it."""
    dataset = train.load_dataset("moons", 40, test_size=0.25, seed=7)
    mlp = MLP(2, [5, 1], seed=7)
    seen = []
    train.fit(
        mlp,
        dataset,
        SGD(mlp.parameters(), lr=0.1),
        steps=4,
        engine=engine,
        callback=lambda record: seen.append(mlp.parameters()[0].data),
        **kwargs,
    )
    return seen, mlp.parameters()[0].data


def test_compiled_fit_gives_the_model_its_parameters_every_sync_every_steps():
    eager, eager_last = _trajectory("eager")
    synced, _ = _trajectory("compiled", backend="python", sync_every=1)
    assert synced == pytest.approx(eager, rel=1e-12)
    every_other, _ = _trajectory("compiled", backend="python", sync_every=2)
    start = MLP(2, [5, 1], seed=7).parameters()[0].data
    # stored after steps 2 and 4 only: the callbacks of steps 1 and 3 see the weight before
    assert every_other == pytest.approx([start, eager[1], eager[1], eager[3]], rel=1e-12)
    unsynced, unsynced_last = _trajectory("compiled", backend="python")
    assert unsynced == [start] * 4 and unsynced_last == pytest.approx(eager_last, rel=1e-12)
