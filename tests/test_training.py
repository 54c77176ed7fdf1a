"""The training loop: learning, determinism, parity with torch, divergence, resume."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from tinylens.engine import MLP
from tinylens.errors import ConfigError, DataError, DivergenceError, ShapeError
from tinylens.torch import to_torch
from tinylens.training import Callback, TrainConfig, fit

# Engine and torch run the same float64 formulas in different orders (BLAS blocking, fused
# kernels): after a few hundred updates the weights agree to ~1e-13; 1e-9 leaves room.
PARITY_ATOL = 1e-9


def xor_data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def test_fit_learns_a_nonlinear_problem():
    X, y = xor_data()
    net = MLP([2, 16, 2], rng=0)
    h = fit(net, (X, y), TrainConfig(epochs=60, optimizer="adam", lr=0.02), rng=0)
    assert h.train_loss[-1] < h.train_loss[0] / 3
    assert h.train_accuracy[-1] > 0.9
    assert h.epoch == list(range(1, 61))


def test_same_seed_gives_bit_identical_weights():
    X, y = xor_data()
    states = []
    for _ in range(2):
        net = MLP([2, 8, 8, 2], rng=42)
        fit(net, (X, y), TrainConfig(epochs=5, batch_size=16, optimizer="momentum"), rng=7)
        states.append(net.state_dict())
    for key in states[0]:
        assert np.array_equal(states[0][key], states[1][key]), key
    other = MLP([2, 8, 8, 2], rng=42)
    fit(other, (X, y), TrainConfig(epochs=5, batch_size=16, optimizer="momentum"), rng=8)
    assert not np.array_equal(other.state_dict()["layers.0.weight"], states[0]["layers.0.weight"])


@pytest.mark.parametrize(
    "optimizer",
    ["sgd", "momentum", "nesterov", "ema_momentum", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_engine_and_torch_follow_the_same_trajectory(optimizer):
    X, y = xor_data(128)
    net = MLP([2, 8, 2], rng=3, dtype=np.float64)
    module = to_torch(net)
    cfg = TrainConfig(epochs=4, batch_size=16, optimizer=optimizer, lr=0.01)
    h_engine = fit(net, (X, y), cfg, rng=11, val=(X, y))
    h_torch = fit(module, (X, y), cfg, rng=11, val=(X, y))
    np.testing.assert_allclose(h_engine.train_loss, h_torch.train_loss, atol=PARITY_ATOL)
    np.testing.assert_allclose(h_engine.val_loss, h_torch.val_loss, atol=PARITY_ATOL)
    for name, value in module.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[name], value.numpy(), atol=PARITY_ATOL)


def test_regression_targets_of_shape_n_are_reshaped_not_broadcast():
    x = np.linspace(-1, 1, 64).reshape(-1, 1)
    net = MLP([1, 8, 1], rng=0)
    h = fit(net, (x, np.abs(x[:, 0])), TrainConfig(epochs=50, optimizer="adam", lr=0.02), rng=0)
    assert h.train_loss[-1] < 0.01  # broadcasting to (64, 64) would stall near the variance


def test_divergence_names_epoch_and_step_and_keeps_last_good_weights():
    X, y = xor_data()
    net = MLP([2, 16, 2], rng=0)
    cfg = TrainConfig(epochs=5, optimizer="sgd", lr=1e6, divergence_threshold=1e6)
    with pytest.raises(DivergenceError) as info:
        fit(net, (X, y), cfg, rng=0)
    err = info.value
    assert err.epoch == 1 and err.step >= 0 and err.restored_epoch == 0
    assert "epoch 1, step" in str(err) and "learning rate" in str(err)
    assert all(np.isfinite(p.data).all() for p in net.parameters())


def _state(net) -> dict[str, np.ndarray]:
    sd = net.state_dict()
    return {k: (v.detach().numpy() if isinstance(v, torch.Tensor) else v) for k, v in sd.items()}


def _same_state(got: dict, want: dict) -> None:
    """Exact: the restored weights are a copy of a stored state, within one backend."""
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_array_equal(np.asarray(got[key]), np.asarray(want[key]), err_msg=key)


def _model(backend: str, sizes: list[int]):
    """A fresh float64 ``MLP(sizes, rng=0)`` on ``backend``."""
    net = MLP(sizes, rng=0, dtype=np.float64)
    return to_torch(net) if backend == "torch" else net


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_divergence_restores_exactly_the_weights_of_the_last_good_epoch(backend):
    # SGD at lr 1.2 on a line, 4 steps an epoch: epoch 1 ends with finite weights, and the loss
    # passes 1e3 at step 3 of epoch 2, after 3 updates of that epoch (measured on this seed)
    x = np.linspace(-1, 1, 64).reshape(-1, 1)
    cfg = TrainConfig(epochs=8, optimizer="sgd", lr=1.2, batch_size=16, divergence_threshold=1e3)
    model = _model(backend, [1, 8, 1])
    with pytest.raises(DivergenceError) as info:
        fit(model, (x, 3 * x), cfg, rng=0)
    err = info.value
    assert (err.epoch, err.step, err.restored_epoch) == (2, 3, 1)
    assert "epoch 2, step 3" in str(err) and "restored to the end of epoch 1" in str(err)
    # the oracle: the same run stopped after epoch 1 by itself (same backend: bit-identical)
    one_epoch = _model(backend, [1, 8, 1])
    fit(one_epoch, (x, 3 * x), dataclasses.replace(cfg, epochs=1), rng=0)
    _same_state(_state(model), _state(one_epoch))


def test_nan_data_is_refused_before_training():
    X, y = xor_data()
    X[3, 1] = np.nan
    with pytest.raises(DataError, match="1 NaN"):
        fit(MLP([2, 4, 2], rng=0), (X, y), TrainConfig(epochs=1), rng=0)


def test_labels_that_do_not_fit_the_output_layer():
    X, y = xor_data()
    with pytest.raises(ShapeError, match="labels go up to 1 but the network has 1 outputs"):
        fit(MLP([2, 4, 1], rng=0), (X, y), TrainConfig(epochs=1, loss="cross_entropy"), rng=0)


def test_labels_are_checked_once_before_training():
    """fit checks labels before the first step (each step then skips the checks): fractional
    or negative labels are refused, not truncated or wrapped around."""
    X, y = xor_data()
    net = MLP([2, 4, 2], rng=0)
    before = net.state_dict()
    with pytest.raises(ShapeError, match="whole numbers"):
        fit(net, (X, y + 0.5), TrainConfig(epochs=1, loss="cross_entropy"), rng=0)
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 1\]; got -1"):
        fit(net, (X, y - 1), TrainConfig(epochs=1, loss="cross_entropy"), rng=0)
    for name, value in before.items():
        assert np.array_equal(net.state_dict()[name], value), name


def test_snapshots_start_with_the_initial_weights():
    X, y = xor_data()
    net = MLP([2, 4, 2], rng=0)
    initial = net.state_dict()
    h = fit(net, (X, y), TrainConfig(epochs=6, snapshot_every=2), rng=0)
    assert [e for e, _ in h.snapshots] == [0, 2, 4, 6]
    assert np.array_equal(h.snapshots[0][1]["layers.0.weight"], initial["layers.0.weight"])
    assert np.array_equal(
        h.snapshots[-1][1]["layers.0.weight"], net.state_dict()["layers.0.weight"]
    )


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_early_stopping_restores_the_best_epoch(backend):
    X, y = xor_data(64)
    Xv, yv = xor_data(64, seed=1)
    model = _model(backend, [2, 32, 2])
    cfg = TrainConfig(epochs=300, optimizer="adam", lr=0.05, early_stopping=5)
    h = fit(model, (X, y), cfg, rng=0, val=(Xv, yv))
    assert h.stopped_early and h.best_epoch is not None
    assert len(h.epoch) == h.best_epoch + 5
    best = min(h.val_loss)
    assert h.val_loss[h.best_epoch - 1] == best < h.val_loss[-1]  # restoring matters here
    # the oracle: the same run trained for best_epoch epochs, no early stopping (same backend:
    # bit-identical weights)
    plain = _model(backend, [2, 32, 2])
    fit(plain, (X, y), dataclasses.replace(cfg, epochs=h.best_epoch, early_stopping=0), rng=0)
    _same_state(_state(model), _state(plain))
    # and, recomputed from the returned weights, the validation loss is the best one recorded
    xv = torch.from_numpy(Xv) if backend == "torch" else Xv
    logits = model(xv).detach().numpy() if backend == "torch" else model.forward(xv)
    z = logits - logits.max(axis=1, keepdims=True)
    val_loss = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(yv)), yv])
    assert val_loss == pytest.approx(best, rel=1e-12)


def test_callback_can_stop_training():
    class StopAtThree(Callback):
        def on_epoch_end(self, epoch, net, history):
            return epoch == 3

    X, y = xor_data()
    h = fit(MLP([2, 4, 2], rng=0), (X, y), TrainConfig(epochs=10), rng=0, callbacks=[StopAtThree()])
    assert h.epoch == [1, 2, 3] and h.stopped_early


@pytest.mark.parametrize("backend", ["engine", "torch"])
def test_a_killed_run_resumes_to_the_same_weights(tmp_path, backend):
    X, y = xor_data()
    cfg = TrainConfig(epochs=6, batch_size=32, optimizer="adam", lr=0.01, snapshot_every=2)

    def make():
        net = MLP([2, 8, 2], rng=5, dtype=np.float64)
        return to_torch(net) if backend == "torch" else net

    def state(net):
        if backend == "torch":
            return {k: v.numpy().copy() for k, v in net.state_dict().items()}
        return net.state_dict()

    straight = make()
    fit(straight, (X, y), cfg, rng=1)

    class Kill(Callback):
        def on_epoch_end(self, epoch, net, history):
            if epoch == 3:
                raise KeyboardInterrupt

    ckpt = tmp_path / "ckpt.safetensors"
    first = make()
    with pytest.raises(KeyboardInterrupt):
        fit(first, (X, y), cfg, rng=1, checkpoint=ckpt, callbacks=[Kill()])
    resumed = make()  # a fresh process: fresh weights, fresh generator
    h = fit(resumed, (X, y), cfg, rng=1, checkpoint=ckpt)
    assert h.epoch == [1, 2, 3, 4, 5, 6]
    assert [e for e, _ in h.snapshots] == [0, 2, 4, 6]
    for name, value in state(straight).items():
        np.testing.assert_array_equal(state(resumed)[name], value)


def test_resume_refuses_a_checkpoint_of_other_settings(tmp_path):
    X, y = xor_data()
    ckpt = tmp_path / "c.safetensors"
    fit(MLP([2, 4, 2], rng=0), (X, y), TrainConfig(epochs=2), rng=0, checkpoint=ckpt)
    with pytest.raises(ConfigError, match="other training settings"):
        fit(MLP([2, 4, 2], rng=0), (X, y), TrainConfig(epochs=3), rng=0, checkpoint=ckpt)


def test_train_config_rejects_unknown_and_bad_settings():
    with pytest.raises(ConfigError, match="did you mean 'optimizer'"):
        TrainConfig.from_dict({"optimiser": "adam"})
    with pytest.raises(ConfigError, match="epochs must be a positive integer"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="unknown optimizer 'adma'"):
        TrainConfig(optimizer="adma")
    assert TrainConfig.from_dict(TrainConfig(epochs=3, betas=(0.8, 0.9)).to_dict()) == TrainConfig(
        epochs=3, betas=(0.8, 0.9)
    )


def test_fit_rejects_models_it_cannot_train():
    with pytest.raises(ConfigError, match="not str"):
        fit("model", xor_data(), TrainConfig(epochs=1))


def test_dropout_training_is_deterministic_per_seed():
    from tinylens.engine import Dropout, Linear, ReLU, Sequential

    X, y = xor_data()

    def build():
        rng = np.random.default_rng(0)
        return Sequential(
            [Linear(2, 16, rng=rng), ReLU(), Dropout(0.2, rng=rng), Linear(16, 2, rng=rng)]
        )

    a, b = build(), build()
    for net in (a, b):
        fit(net, (X, y), TrainConfig(epochs=3, batch_size=32), rng=4)
    for key, value in a.state_dict().items():
        assert np.array_equal(value, b.state_dict()[key])


def test_torch_fit_trains_a_plain_sequential():
    X, y = xor_data()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    h = fit(model, (X, y), TrainConfig(epochs=40, optimizer="adam", lr=0.02), rng=0)
    assert h.train_accuracy[-1] > 0.9
