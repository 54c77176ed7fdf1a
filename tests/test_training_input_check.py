"""fit's check of the inputs' finiteness, folded into the first epoch for plain MLPs.

``EngineBackend.defer_input_check`` replaces a whole pass over X by a look at the first layer's
pre-activations during the first epoch. It must refuse exactly what the pass refused, with the
same message, leave the weights as they were, tell a bad input from a diverging network, and
fall back to the pass whenever the fused step does not run.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import MLP, Dropout, Linear, ReLU, Sequential
from tinylens.errors import DataError, DivergenceError
from tinylens.training import Callback, TrainConfig, fit
from tinylens.training.backends import all_finite


def data(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def noop_hook(activation, name):
    return None


class HookAtStart(Callback):
    def on_fit_start(self, net, history):
        net.add_hook("layers.0", noop_hook)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("path", ["fused", "hook", "hook_at_start", "dropout"])
def test_a_non_finite_input_anywhere_is_refused_and_the_weights_are_kept(bad, path):
    X, y = data()
    X[-1, 2] = bad  # the last row: with shuffling it may come in any batch
    X[57, 0] = bad
    callbacks = []
    if path == "dropout":  # not a plain MLP: no fused step, the whole-X pass
        net = Sequential([Linear(4, 8, rng=np.random.default_rng(0)), ReLU(), Dropout(0.1, rng=0),
                          Linear(8, 2, rng=np.random.default_rng(1))])  # fmt: skip
    else:
        net = MLP([4, 8, 2], rng=0)
    if path == "hook":
        net.add_hook("layers.1", noop_hook)
    if path == "hook_at_start":
        callbacks.append(HookAtStart())
    before = net.state_dict()
    with pytest.raises(DataError, match="training data: X has 2 NaN or infinite values"):
        fit(net, (X, y), TrainConfig(epochs=2, batch_size=16, optimizer="adam"), rng=0,
            quiet=True, callbacks=callbacks)  # fmt: skip
    for name, value in before.items():
        assert np.array_equal(net.state_dict()[name], value), name


def test_finite_inputs_whose_products_overflow_are_a_divergence_not_bad_data():
    """A non-finite first-layer product from finite inputs is the network's problem."""
    X, y = data()
    X[:] = 3e38  # finite, but any sum of two overflows float32
    with (
        np.errstate(over="ignore", invalid="ignore"),
        pytest.raises(DivergenceError, match="epoch 1, step 0"),
    ):
        fit(MLP([4, 8, 2], rng=0), (X, y), TrainConfig(epochs=1), rng=0, quiet=True)


def test_a_finished_checkpoint_still_checks_the_inputs(tmp_path):
    X, y = data()
    path = tmp_path / "run.npz"
    fit(MLP([4, 8, 2], rng=0), (X, y), TrainConfig(epochs=1), rng=0, quiet=True, checkpoint=path)
    X[3, 3] = np.nan
    with pytest.raises(DataError, match="X has 1 NaN"):  # no epoch left to run
        fit(MLP([4, 8, 2], rng=0), (X, y), TrainConfig(epochs=1), rng=0, quiet=True,
            checkpoint=path)  # fmt: skip


def test_all_finite_agrees_with_isfinite():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 7)).astype(np.float32)
    assert all_finite(X)
    X[:] = 3e38  # finite entries whose row sums overflow: the exact check decides
    assert all_finite(X)
    for bad in (np.nan, np.inf, -np.inf):
        Y = X.copy()
        Y[10, 6] = bad
        assert not all_finite(Y) and not all_finite(np.asfortranarray(Y))
        assert not all_finite(Y[:, ::2])  # strided: the elementwise check
        assert all_finite(Y[:, :6:2])  # the bad column left out
    assert all_finite(np.empty((0, 3), dtype=np.float32))
    images = rng.normal(size=(6, 1, 5, 5)).astype(np.float32)  # rows of a 4-D array
    assert all_finite(images)
    images[4, 0, 2, 3] = np.nan
    assert not all_finite(images)
