"""A run as a Python script that reproduces it with gradengine, and its compiled program's text.

The script makes the same data (generator, seed, split, removed and added points), the same
MLP and optimizer, draws the same batches, applies the page's edits at the steps they were made,
and prints each step's loss: run it and get the page's losses (to rounding, for a run the
NumPy backend replayed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradengine.playground.run import Run

_DATA = {
    "moons": "data.make_moons(SAMPLES, noise=NOISE, random_state=SEED)",
    "circles": "data.make_circles(SAMPLES, noise=NOISE, factor=0.5, random_state=SEED)",
    "spiral": "data.make_spiral(SAMPLES, n_classes=2, noise=NOISE, random_state=SEED)",
    "xor": "data.make_xor(SAMPLES, noise=NOISE, random_state=SEED)",
    "blobs": (
        "data.make_blobs(SAMPLES, centers=[[-1.0, -1.0], [1.0, 1.0]], cluster_std=0.5 + NOISE, "
        "random_state=SEED)"
    ),
    "own": "([], [])",
}

_LOSS = {
    "hinge": "    terms = [(1 + -y * s).relu() for s, y in zip(scores, wanted)]  # hinge\n",
    "mse": "    terms = [(s - y) ** 2 for s, y in zip(scores, wanted)]  # squared error\n",
}

_TEMPLATE = '''\
"""Reproduce a gradengine playground run: {steps} steps, printing each step's loss.

Setup: #{query}
Run it with: python {name} [model.json]  (the optional path receives the trained model)
"""

import random
import sys

from gradengine import MLP, data, losses, total
from gradengine.optim import SGD, Adam

SAMPLES, NOISE, SEED, TEST_FRACTION = {samples}, {noise!r}, {seed}, {test_fraction!r}
STEPS = {steps}
BATCH = {batch}  # 0: every training point in every step
L2 = {l2!r}
#: What the page did between steps: {{step: [edit, ...]}}, applied before that step runs.
EDITS = {edits}

# The data: generated, split once (each row keeps its index), removed points dropped.
X, y = {data}
rows = [[a, b, i] for i, (a, b) in enumerate(X)]
train, test, y_train, y_test = ([], [], [], [])
if X:
    train, test, y_train, y_test = data.train_test_split(
        rows, y, test_size=TEST_FRACTION, random_state=SEED
    )
removed = set({removed})
train_points = [(a, b, c) for (a, b, i), c in zip(train, y_train) if int(i) not in removed]
test_points = [(a, b, c) for (a, b, i), c in zip(test, y_test) if int(i) not in removed]
train_points += {added}  # points added by hand before the first step

# The network: 2 inputs, the hidden layers, one output score (its sign is the class);
# one activation per layer, the output's last.
model = MLP(2, {nouts}, seed=SEED, activation={activations})
parameters = model.parameters()
optimizer = {optimizer}


def loss_of(points):
    """The mean {loss} loss of the model's scores on points{l2_note}."""
    scores = [model([a, b]) for a, b, _ in points]
    wanted = [{target} for _, _, c in points]
{loss_line}    loss = {loss_value}
    return loss + losses.l2(parameters, alpha=L2) if L2 > 0 else loss


def apply(edit):
    """Do what the page did: set a parameter, add a point, or remove one."""
    if "set" in edit:
        index, value = edit["set"]
        parameters[index].data = value
    elif "add" in edit:
        train_points.append(tuple(edit["add"]))
    else:
        part, index = edit["remove"]
        del (train_points if part == "train" else test_points)[index]


rng = random.Random(SEED)
for step in range(STEPS + 1):
    for edit in EDITS.get(step, []):
        apply(edit)
    if step == STEPS:
        break
    if BATCH == 0 or BATCH >= len(train_points):
        batch = train_points
    else:
        batch = [train_points[i] for i in rng.sample(range(len(train_points)), BATCH)]
    optimizer.zero_grad()
    loss = loss_of(batch)
    loss.backward()
    optimizer.step()
    print(f"step {{step + 1}} loss {{loss.data!r}}")

if len(sys.argv) > 1:
    model.save(sys.argv[1])
'''


def script(run: Run) -> str:
    """The Python script that reproduces run up to its current step."""
    setup = run.setup
    edits: dict[int, list[dict[str, object]]] = {}
    for edit in run.edits:
        edits.setdefault(edit["step"], []).append({k: v for k, v in edit.items() if k != "step"})
    first_setup = run.first_setup
    if setup.optimizer == "sgd":
        optimizer = f"SGD(parameters, lr={setup.lr!r}, momentum={setup.momentum!r})"
    else:
        optimizer = f"Adam(parameters, lr={setup.lr!r})"
    if setup.loss == "bce":
        loss_line, loss_value = "", "losses.binary_cross_entropy_with_logits(scores, wanted)"
    else:
        loss_line, loss_value = _LOSS[setup.loss], "total(terms) * (1.0 / len(terms))"
    return _TEMPLATE.format(
        steps=run.steps,
        query=first_setup.query(),
        name="playground_run.py",
        samples=setup.samples,
        noise=setup.noise,
        seed=setup.seed,
        test_fraction=setup.test_fraction,
        batch=setup.batch,
        l2=setup.l2,
        edits=_edits_literal(edits) if edits else "{}",
        data=_DATA[setup.dataset],
        removed=list(first_setup.removed),
        added=[list(p) for p in first_setup.added],
        nouts=[*setup.hidden, 1],
        activations=[*setup.activations, setup.output],
        optimizer=optimizer,
        loss=setup.loss,
        l2_note=", plus L2 Σ p²" if setup.l2 > 0 else "",
        target="float(c)" if setup.loss == "bce" else "2.0 * c - 1.0",
        loss_line=loss_line,
        loss_value=loss_value,
    )


def _edits_literal(edits: dict[int, list[dict[str, object]]]) -> str:
    """{step: [edit, ...]} as a Python literal, one step per line."""
    lines = [f"    {step}: {edit_list!r}," for step, edit_list in sorted(edits.items())]
    return "{\n" + "\n".join(lines) + "\n}"


def program_text(run: Run) -> str:
    """print(program) as comments, then the compiled step's generated code if it has one."""
    program = getattr(run.stepper, "program", None)
    if program is None:
        return "This run uses the eager engine: every step builds its graph anew."
    told = "\n".join("# " + line for line in ["print(program):", *str(program).splitlines()])
    source: str = program.source
    return told if source == str(program) else f"{told}\n\n{source}"
