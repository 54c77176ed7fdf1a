"""``fit`` on a BatchedMLP: the same loop, every instance as if trained alone."""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import MLP, BatchedMLP
from tinylens.errors import ConfigError, DivergenceError
from tinylens.training import TrainConfig, fit

TOL = 1e-12  # float64; the batched products sum in another order


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_fit_trains_each_instance_like_fit_on_the_network_alone(optimizer):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(300, 2))
    y = np.minimum(X[:, :1], X[:, 1:])
    cfg = TrainConfig(epochs=6, batch_size=64, optimizer=optimizer, lr=0.05)
    seeds = [1, 2, 3]
    batched = BatchedMLP([2, 3, 1], seeds, bias=False)
    history = fit(batched, (X, y), cfg, rng=9)
    finals = []
    for k, seed in enumerate(seeds):
        alone = MLP([2, 3, 1], rng=seed, bias=False, dtype=np.float64)
        h = fit(alone, (X, y), cfg, rng=9)  # the same shuffles
        for name, value in alone.state_dict().items():
            np.testing.assert_allclose(batched.instance(k).state_dict()[name], value, atol=TOL)
        finals.append(h.train_loss[-1])
    # fit records the mean over instances of each one's epoch loss
    assert history.train_loss[-1] == pytest.approx(np.mean(finals), rel=1e-10)


def test_a_diverging_instance_is_frozen_and_the_others_train_on():
    X = np.linspace(-1, 1, 64).reshape(-1, 1)
    y = 100 * np.abs(X)
    batched = BatchedMLP([1, 4, 1], [0, 1, 2, 3])
    # Blow up instance 2 only: huge weights make its loss overflow at the first step.
    batched.weights[0].data[2] *= 1e200
    cfg = TrainConfig(epochs=3, batch_size=16, optimizer="sgd", lr=1e-3, shuffle=False)
    fit(batched, (X, y), cfg, rng=0)
    assert batched.diverged_.tolist() == [False, False, True, False]
    assert batched.diverged_step_[2] == 0
    assert all(np.all(p.data[2] == 0) for p in batched.parameters())
    assert np.isfinite(batched.loss(X, y)).all()


def test_fit_raises_when_every_instance_diverges():
    X = np.linspace(-1, 1, 32).reshape(-1, 1)
    batched = BatchedMLP([1, 2, 1], [0, 1])
    with pytest.raises(DivergenceError, match="diverged"):
        fit(batched, (X, 1e3 * X), TrainConfig(epochs=5, batch_size=32, lr=50.0), rng=0)


def test_batched_training_is_mse_only():
    X = np.zeros((4, 2))
    with pytest.raises(ConfigError, match="mse"):
        fit(BatchedMLP([2, 2], [0]), (X, np.array([0, 1, 0, 1])), TrainConfig(epochs=1), rng=0)


def test_snapshots_and_validation_work_unchanged():
    X = np.random.default_rng(1).uniform(-1, 1, size=(64, 1))
    batched = BatchedMLP([1, 2, 1], range(5), bias=False)
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.1, snapshot_every=2)
    history = fit(batched, (X, np.abs(X)), cfg, rng=0, val=(X, np.abs(X)))
    assert [e for e, _ in history.snapshots] == [0, 2, 4]
    assert history.snapshots[-1][1]["layers.0.weight"].shape == (5, 2, 1)
    assert history.val_loss[-1] == pytest.approx(batched.loss(X, np.abs(X)).mean())
