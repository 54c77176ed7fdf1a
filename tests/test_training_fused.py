"""The fused plain-MLP step (training/_mlp_step.py) against the modules it replaces.

It must be an optimisation only: for every network it accepts, training with it gives the
same weights, bit for bit, as training through the modules (forced here by a hook that does
nothing, which makes ``fit`` take the modules' path), and it must refuse every network whose
arithmetic it does not reproduce.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import (
    MLP,
    CrossEntropyLoss,
    Dropout,
    LayerNorm,
    Linear,
    MSELoss,
    ReLU,
    Sequential,
)
from tinylens.engine.activations import Identity, LeakyReLU
from tinylens.training import TrainConfig, fit
from tinylens.training._mlp_step import PlainMLPStep


def _noop(activation, name):
    return None


def _train_both(make_net, X, y, cfg):
    fused, modules = make_net(), make_net()
    assert PlainMLPStep.for_network(fused) is not None
    handle = modules.add_hook(modules.hook_names[0], _noop)  # forces the modules' path
    h1 = fit(fused, (X, y), cfg, rng=3, quiet=True)
    h2 = fit(modules, (X, y), cfg, rng=3, quiet=True)
    handle.remove()
    return fused, modules, h1, h2


CASES = [
    # (sizes, output activation, task, optimizer, batch) -- batch 50 leaves a ragged last batch
    ([6, 16, 8, 4], "identity", "classification", "sgd", 50),
    ([6, 16, 8, 4], "identity", "classification", "adam", 64),
    ([6, 12, 1], "identity", "regression", "momentum", 50),
    ([6, 12, 12, 3], "relu", "regression", "adam", 32),
]


@pytest.mark.parametrize(("sizes", "out_act", "task", "optimizer", "batch"), CASES)
def test_fused_training_is_bit_identical_to_the_modules(sizes, out_act, task, optimizer, batch):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((230, sizes[0])).astype(np.float32)
    if task == "classification":
        y = rng.integers(0, sizes[-1], 230)
    else:
        y = rng.standard_normal((230, sizes[-1])).astype(np.float32)
    cfg = TrainConfig(epochs=4, batch_size=batch, optimizer=optimizer, lr=0.05)

    def make():
        return MLP(sizes, output_activation=out_act, rng=1)

    fused, modules, h1, h2 = _train_both(make, X, y, cfg)
    for (name, a), (_, b) in zip(fused.named_parameters(), modules.named_parameters(), strict=True):
        assert np.array_equal(a.data, b.data), name
    assert h1.train_loss == h2.train_loss
    d1, d2 = h1.to_dict(), h2.to_dict()
    d1.pop("seconds"), d2.pop("seconds")
    assert d1 == d2  # losses and accuracies, epoch by epoch
    assert h1.train_loss[-1] < h1.train_loss[0]  # it trained at all


def test_one_fused_call_gives_the_modules_gradients_and_output():
    rng = np.random.default_rng(1)
    net = MLP([5, 7, 7, 3], rng=2)
    x = rng.standard_normal((9, 5)).astype(np.float32)
    x[:, 0] = 0.0  # some units exactly at the kink
    y = rng.integers(0, 3, 9)
    loss = CrossEntropyLoss()
    out = net.forward(x)
    value = loss.forward(out, y)
    net.backward(loss.backward())
    grads = [p.grad.copy() for p in net.parameters()]
    for p in net.parameters():
        p.grad[...] = np.nan
    step = PlainMLPStep.for_network(net)
    fused_value, fused_out = step(x, y, CrossEntropyLoss().value_and_grad)
    assert fused_value == value and np.array_equal(fused_out, out)
    for g, p in zip(grads, net.parameters(), strict=True):
        assert np.array_equal(g, p.grad)


def test_mse_gradients_match_too():
    rng = np.random.default_rng(2)
    net = MLP([3, 4, 2], rng=0)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    t = rng.standard_normal((6, 2)).astype(np.float32)
    loss = MSELoss()
    loss.forward(net.forward(x), t)
    net.backward(loss.backward())
    grads = [p.grad.copy() for p in net.parameters()]
    mse = MSELoss()
    PlainMLPStep.for_network(net)(x, t, lambda out, t: (mse.forward(out, t), mse.backward()))
    for g, p in zip(grads, net.parameters(), strict=True):
        assert np.array_equal(g, p.grad)


def _lin(a, b, **kw):
    return Linear(a, b, rng=np.random.default_rng(0), **kw)


@pytest.mark.parametrize(
    "layers",
    [
        [_lin(3, 4), LeakyReLU(), _lin(4, 2)],
        [_lin(3, 4), ReLU(), Dropout(0.5, rng=0), _lin(4, 2)],
        [_lin(3, 4), LayerNorm(4), ReLU(), _lin(4, 2)],
        [_lin(3, 4, bias=False), ReLU(), _lin(4, 2)],
        [_lin(3, 4), ReLU(), ReLU(), _lin(4, 2)],
        [_lin(3, 4), ReLU(), Identity(), _lin(4, 2)],
        [ReLU(), _lin(3, 2)],
    ],
    ids=["leaky", "dropout", "layernorm", "no-bias", "relu-relu", "relu-identity", "act-first"],
)
def test_networks_it_does_not_reproduce_take_the_modules(layers):
    assert PlainMLPStep.for_network(Sequential(layers)) is None


def test_a_hook_added_mid_training_is_called(tmp_path):
    """A callback may add a hook between epochs: from then on the modules run, and the hook
    sees every step."""
    from tinylens.training.callbacks import Callback

    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 4)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    net = MLP([4, 8, 2], rng=0)
    calls = []

    class AddHook(Callback):
        def on_epoch_end(self, epoch, net, history):
            if epoch == 1:
                net.add_hook(net.hook_names[0], lambda a, n: calls.append(n))

    fit(net, (X, y), TrainConfig(epochs=3, batch_size=16), rng=0, quiet=True, callbacks=[AddHook()])
    assert len(calls) == 2 * 4  # epochs 2 and 3, four steps each
