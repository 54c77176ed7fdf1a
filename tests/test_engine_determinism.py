"""Determinism: the same seed gives bit-identical weights after a few hundred training steps.

Everything random (weights, data, dropout masks) comes from Generators built from one seed,
so two runs must agree exactly, in float32, not merely to a tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import (
    MLP,
    Dropout,
    Linear,
    ReLU,
    Sequential,
    loss_fn,
    make_optimizer,
)

N_STEPS = 300
BATCH = 32


def train_run(seed: int, optimizer: str) -> dict[str, np.ndarray]:
    """Minibatch training with dropout; every random draw comes from ``seed``."""
    rng = np.random.default_rng(seed)
    net = Sequential(
        [
            Linear(2, 16, rng=rng),
            ReLU(),
            Dropout(0.2, rng=rng),
            Linear(16, 16, rng=rng),
            ReLU(),
            Linear(16, 3, rng=rng),
        ]
    )
    x = rng.normal(size=(256, 2)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    opt = make_optimizer(optimizer, net.parameters(), lr=0.01)
    loss = loss_fn("cross_entropy")
    for _ in range(N_STEPS):
        idx = rng.integers(0, len(x), size=BATCH)
        loss.forward(net.forward(x[idx]), labels[idx])
        net.backward(loss.backward())
        opt.step()
    assert all(p.data.dtype == np.float32 for p in net.parameters())
    return net.state_dict()


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_same_seed_gives_bit_identical_weights(optimizer: str) -> None:
    first, second = train_run(0, optimizer), train_run(0, optimizer)
    assert list(first) == list(second)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_a_different_seed_gives_different_weights() -> None:
    a, b = train_run(0, "adam"), train_run(1, "adam")
    assert not np.array_equal(a["layers.0.weight"], b["layers.0.weight"])


def test_full_batch_mlp_training_is_deterministic() -> None:
    def run() -> dict[str, np.ndarray]:
        net = MLP([1, 8, 8, 1], rng=np.random.default_rng(5))
        x = np.linspace(-1, 1, 50, dtype=np.float32).reshape(-1, 1)
        opt, mse = make_optimizer("rmsprop", net.parameters(), lr=0.003), loss_fn("mse")
        for _ in range(N_STEPS):
            mse.forward(net.forward(x), np.sin(3 * x))
            net.backward(mse.backward())
            opt.step()
        return net.state_dict()

    a, b = run(), run()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
