"""``fit`` on a BatchedMLP: the same loop, every instance as if trained alone."""

from __future__ import annotations

import math

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


@pytest.mark.parametrize(
    "blow_up, threshold",
    [
        (1e200, 1e12),  # the loss overflows to inf
        (1e200, math.inf),  # inf, with no threshold: still caught
        (np.nan, 1e12),  # NaN weights, NaN loss
        (1e6, 1e12),  # finite, 6.9e12 at the first step: above the threshold
    ],
)
def test_a_diverging_instance_is_frozen_and_the_others_train_on(blow_up, threshold):
    X = np.linspace(-1, 1, 64).reshape(-1, 1)
    y = 100 * np.abs(X)
    batched = BatchedMLP([1, 4, 1], [0, 1, 2, 3])
    # Blow up instance 2 only: its loss is bad at the first step.
    batched.weights[0].data[2] *= blow_up
    cfg = TrainConfig(
        epochs=3,
        batch_size=16,
        optimizer="sgd",
        lr=1e-3,
        shuffle=False,
        divergence_threshold=threshold,
    )
    history = fit(batched, (X, y), cfg, rng=0)
    # The others trained as if alone, and the epoch's loss is the mean over them.
    alone = BatchedMLP([1, 4, 1], [0, 1, 3])
    alone_history = fit(alone, (X, y), cfg, rng=0)
    for a, b in zip(batched.parameters(), alone.parameters(), strict=True):
        assert np.array_equal(a.data[[0, 1, 3]], b.data)
    assert history.train_loss == alone_history.train_loss
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


# -- the batched trainer's work arrays (issue 18): the same numbers as allocating every step ------
def _reference_one_hidden_relu(self, x, yT, chunks, losses, scale):
    """The hot path as it was before its work arrays were kept for the run: fresh arrays at
    every step, ``X[idx]`` gathers. Same operations in the same order, so the same bits."""
    n0, n1, n2 = self.sizes
    batch, dtype = x.shape[0], self.dtype
    has_bias = self.biases is not None
    xa = np.concatenate([x, np.ones((batch, 1), dtype=dtype)], axis=1) if has_bias else x
    xaT = np.ascontiguousarray(xa.T)
    ones = np.ones(batch, dtype=dtype)
    W0, W1 = self.weights
    for sl in chunks:
        k = sl.stop - sl.start
        A = np.empty((k, n1, xa.shape[1]), dtype=dtype)
        A[:, :, :n0] = W0.data[sl]
        if has_bias:
            A[:, :, n0] = self.biases[0].data[sl]
        z = (A.reshape(k * n1, -1) @ xaT).reshape(k, n1, batch)
        mask = z > 0
        z = np.maximum(z, 0)
        w1 = W1.data[sl]
        out = w1 @ z
        if has_bias:
            out += self.biases[1].data[sl, :, None]
        out -= yT
        losses[sl] = np.einsum("kob,kob->k", out, out) / (n2 * batch)
        if has_bias:
            self.biases[1].grad[sl] = out @ ones
            self.biases[1].grad[sl] *= scale
        if n2 == 1:
            e = mask * out
            G = (e.reshape(k * n1, batch) @ xa).reshape(k, n1, -1)
            W1.grad[sl, 0, :] = np.einsum("kjm,kjm->kj", A, G)
            W1.grad[sl] *= scale
            G *= w1.transpose(0, 2, 1) * scale
        else:
            out *= scale
            W1.grad[sl] = out @ z.transpose(0, 2, 1)
            e = (w1.transpose(0, 2, 1) @ out) * mask
            G = (e.reshape(k * n1, batch) @ xa).reshape(k, n1, -1)
        W0.grad[sl] = G[:, :, :n0]
        if has_bias:
            self.biases[0].grad[sl] = G[:, :, n0]


def _reference_minibatches(X, y, perm, batch_size):
    for start in range(0, len(X), batch_size):
        idx = slice(start, start + batch_size) if perm is None else perm[start : start + batch_size]
        yield X[idx], y[idx]


def _use_reference(monkeypatch):
    import tinylens.engine.batched as engine_batched
    import tinylens.training.batched as training_batched

    monkeypatch.setattr(engine_batched.BatchedMLP, "_one_hidden_relu", _reference_one_hidden_relu)
    monkeypatch.setattr(training_batched, "minibatches", _reference_minibatches)


@pytest.mark.parametrize(
    "sizes, bias, dtype, threads",
    [
        ([2, 3, 1], False, np.float32, 1),  # circuits recover min
        ([2, 3, 1], True, np.float64, 2),
        ([1, 2, 1], False, np.float32, 3),  # abs
        ([2, 4, 2], True, np.float32, 1),  # two outputs: the other backward branch
    ],
)
def test_work_arrays_kept_for_the_run_give_the_same_bits(monkeypatch, sizes, bias, dtype, threads):
    import tinylens.engine.batched as engine_batched

    # Small chunks, so several chunks (and threads) share the work arrays within one step;
    # 250 samples in batches of 64: the epoch's last batch is shorter.
    monkeypatch.setattr(engine_batched, "_CHUNK_VALUES", 700)
    rng = np.random.default_rng(4)
    X = rng.uniform(-1, 1, size=(250, sizes[0]))
    y = np.abs(X @ rng.normal(size=(sizes[0], sizes[-1])))
    cfg = TrainConfig(epochs=5, batch_size=64, optimizer="momentum", lr=0.05)

    def train():
        net = BatchedMLP(sizes, range(13), bias=bias, dtype=dtype, threads=threads)
        history = fit(net, (X, y), cfg, rng=3, quiet=True)
        return net.state_dict(), history.train_loss

    new_state, new_loss = train()
    with monkeypatch.context() as m:
        _use_reference(m)
        ref_state, ref_loss = train()
    assert new_loss == ref_loss
    for name, value in ref_state.items():
        assert np.array_equal(new_state[name], value), name


def test_recovery_outcomes_and_weights_are_the_same_bits_as_before(monkeypatch):
    from tinylens.studies.recovery import RecoveryConfig, run_recovery

    # 50 seeds: two chunks of the hot path (43 and 7 instances at batch 1000)
    cfg = RecoveryConfig(target="min", seeds=50, steps=300)
    new = run_recovery(cfg, quiet=True).main
    with monkeypatch.context() as m:
        _use_reference(m)
        ref = run_recovery(cfg, quiet=True).main
    assert new.outcomes.tolist() == ref.outcomes.tolist()
    np.testing.assert_array_equal(new.losses, ref.losses)
    np.testing.assert_array_equal(new.curves, ref.curves)
    for a, b in zip(new.net.parameters(), ref.net.parameters(), strict=True):
        assert np.array_equal(a.data, b.data)


def test_the_kept_views_follow_parameter_arrays_that_are_replaced():
    """The hot path keeps views of the parameters for the run; an array put in a parameter's
    place (not written into it) must be the one the next step reads and writes."""
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, size=(50, 2)).astype(np.float32)
    y = np.minimum(x[:, :1], x[:, 1:])
    net = BatchedMLP([2, 3, 1], range(7), bias=False, dtype=np.float32)
    net.loss_and_grad(x, y)
    for p in net.parameters():
        p.data = p.data * np.float32(0.5)
        p.grad = np.zeros_like(p.data)
    losses = net.loss_and_grad(x, y)
    fresh = BatchedMLP([2, 3, 1], range(7), bias=False, dtype=np.float32)
    fresh.load_state_dict(net.state_dict())
    assert np.array_equal(losses, fresh.loss_and_grad(x, y))
    for a, b in zip(net.parameters(), fresh.parameters(), strict=True):
        assert np.array_equal(a.grad, b.grad)
