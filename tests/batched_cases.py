"""A random MLP case for the batched replay's tests: a model, one sample's loss, and rows."""

from __future__ import annotations

import random
from typing import Any

from gradengine import MLP, Value
from gradengine.losses import loss_of_inputs


def mlp_case(seed: int, activation: str, loss: str) -> tuple[MLP, Any, list[list[float]]]:
    rng = random.Random(seed)
    width = 3 if loss == "cross_entropy" else 1
    model = MLP(3, [rng.randint(1, 6), rng.randint(1, 5), width], seed=seed, activation=activation)
    rows = []
    for _ in range(rng.randint(1, 9)):
        x = [rng.uniform(-2, 2) for _ in range(3)]
        if loss == "hinge":
            label = [rng.choice([-1.0, 1.0])]
        elif loss == "bce_logits":
            label = [rng.random()]
        elif loss == "mse":
            label = [rng.uniform(-1, 1)]
        else:
            c = rng.randrange(3)
            label = [1.0 if j == c else 0.0 for j in range(3)]
        rows.append(x + label)

    def sample(v: list[Value]) -> tuple[Value, list[Value]]:
        scores = model.forward(v[:3])
        return loss_of_inputs(loss, [*scores, *v[3:]], width), scores

    return model, sample, rows
