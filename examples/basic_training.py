"""Train a small MLP to learn y = x1 + x2, then measure it on samples it has never seen.

8 samples, 6 for training and 2 for testing; a 2 -> 16 -> 16 -> 1 network; mean squared error;
plain gradient descent (SGD on the whole training set). Seeded, so every run prints the same.
"""

from __future__ import annotations

from gradengine import MLP, Value, total

# (x1, x2) pairs; the target is their sum.
SAMPLES = [
    (0.0, 0.0),
    (0.0, 1.0),
    (1.0, 0.0),
    (1.0, 1.0),
    (0.5, 0.5),
    (0.3, 0.8),
    (0.2, 0.6),
    (0.7, 0.4),
]
TRAIN, TEST = SAMPLES[:6], SAMPLES[6:]
EPOCHS = 300
LEARNING_RATE = 0.05
PRINT_EVERY = 30


def mse(model: MLP, samples: list[tuple[float, float]]) -> Value:
    """(1/n) Σ (model(x) - (x1 + x2))^2"""
    errors = [(model.forward([x1, x2])[0] - (x1 + x2)) ** 2 for x1, x2 in samples]
    return total(errors) / len(samples)


def main() -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    print(f"{model}; {len(TRAIN)} training and {len(TEST)} test samples of y = x1 + x2")

    for epoch in range(EPOCHS + 1):
        loss = mse(model, TRAIN)
        if epoch % PRINT_EVERY == 0:
            print(f"epoch {epoch:4d}  train loss {loss.data:.6f}")
        if epoch == EPOCHS:
            break
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= LEARNING_RATE * p.grad

    print(f"test loss {mse(model, TEST).data:.6f}")
    for x1, x2 in TEST:
        prediction = model.forward([x1, x2])[0].data
        print(f"  {x1} + {x2} = {x1 + x2:.4f}, predicted {prediction:.4f}")


if __name__ == "__main__":
    main()
