"""The learning-bug class: a network whose optimizer never sees its gradients.

One of our source projects had a NumPy engine that never learned: its backward rebound the
gradient arrays the optimizer held, so every step applied stale zeros. Nothing crashed. These
tests catch that class of bug three ways: (1) after one step every parameter array has changed
and is still the very object the optimizer holds; (2) on learnable problems the loss falls by a
large factor within a fixed budget of steps, for every optimizer preset; (3) ``gradcheck`` is
shown to FAIL on deliberately broken modules (a check that cannot fail proves nothing).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import (
    MLP,
    OPTIMIZERS,
    Identity,
    Linear,
    Loss,
    MSELoss,
    Optimizer,
    Parameter,
    Sequential,
    Tanh,
    gradcheck,
    loss_fn,
    make_optimizer,
)

LEARN_FACTOR = 20.0  # a working loop cuts the loss >= 20x in the budget; a stale one by ~1x
LEARN_STEPS = 300  # full-batch steps; every preset below gets there in well under this
# Preset learning rates that make the budget comfortable (the presets' own defaults are tuned
# for minibatch training, and Adam's 1e-3 is slow on purpose).
LEARN_LR = {
    "sgd": 0.2,
    "momentum": 0.05,
    "nesterov": 0.05,
    "ema_momentum": 0.2,
    "adam": 0.02,
    "adamw": 0.02,
    "rmsprop": 0.005,
    "adagrad": 0.1,
}
BROKEN_SCALE = 1.01  # a 1% gradient error: small enough to be plausible, large enough to matter


def test_every_preset_has_a_learning_rate_here() -> None:
    assert set(LEARN_LR) == set(OPTIMIZERS)


def one_step_update_check(net: Sequential, opt: Optimizer, x: np.ndarray, y: np.ndarray) -> None:
    """Assert that one forward/backward/step updates every parameter the optimizer holds."""
    params = net.parameters()
    assert len(opt.params) == len(params)
    assert all(held is p for held, p in zip(opt.params, params, strict=True))
    arrays, grads = [p.data for p in params], [p.grad for p in params]
    before = [p.data.copy() for p in params]
    loss = MSELoss()
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    opt.step()
    after = net.parameters()
    for i, p in enumerate(after):
        name = f"{p.name} (parameter {i})"
        assert p is opt.params[i], f"{name}: the network no longer holds the optimizer's object"
        assert p.data is arrays[i], f"{name}: the update rebound the array instead of writing it"
        assert p.grad is grads[i], f"{name}: backward rebound the gradient array"
        assert np.all(p.data != before[i]), f"{name}: not every entry moved after one step"


def _tanh_net_and_data() -> tuple[Sequential, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # tanh and float64: every gradient entry is generically non-zero and every step visible.
    net = MLP([3, 6, 4, 2], activation="tanh", rng=rng, dtype=np.float64)
    x = rng.normal(size=(12, 3))
    return net, x, rng.normal(size=(12, 2))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_one_step_changes_every_parameter_the_optimizer_holds(name: str) -> None:
    net, x, y = _tanh_net_and_data()
    one_step_update_check(net, make_optimizer(name, net.parameters()), x, y)


class RebindingLinear(Linear):
    """The historical bug: backward binds fresh objects, so the optimizer's stay at zero."""

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        self.weight = Parameter(self.weight.data.copy(), "weight")
        if self.bias is not None:
            self.bias = Parameter(self.bias.data.copy(), "bias")
        return super().backward(grad_out, need_input_grad)


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_the_one_step_check_catches_rebinding(name: str) -> None:
    net, x, y = _tanh_net_and_data()
    broken = RebindingLinear(3, 6, rng=np.random.default_rng(1), dtype=np.float64)
    net = Sequential([broken, *net.layers[1:]])
    with pytest.raises(AssertionError):
        one_step_update_check(net, make_optimizer(name, net.parameters()), x, y)


# -- learnable problems ---------------------------------------------------------------------------
def train(
    net: Sequential, opt: Optimizer, loss: Loss, x: np.ndarray, y: np.ndarray, steps: int
) -> tuple[float, float]:
    first = loss.forward(net.forward(x), y)
    for _ in range(steps):
        loss.forward(net.forward(x), y)
        net.backward(loss.backward())
        opt.step()
    return first, loss.forward(net.forward(x), y)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_preset_learns_abs(name: str) -> None:
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(-1, 1)
    net = MLP([1, 16, 1], rng=np.random.default_rng(0))  # float32, the default
    opt = make_optimizer(name, net.parameters(), lr=LEARN_LR[name])
    first, last = train(net, opt, MSELoss(), x, np.abs(x), LEARN_STEPS)
    assert last < first / LEARN_FACTOR, f"{name}: loss {first:.4g} -> {last:.4g}"


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_preset_learns_a_linearly_separable_classification(name: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(200, 2)).astype(np.float32)
    score = x @ np.array([1.5, -1.0], dtype=np.float32) + 0.2
    keep = np.abs(score) > 0.2  # a margin, so the problem is cleanly separable
    x, labels = x[keep], (score[keep] > 0).astype(np.int64)
    net = MLP([2, 8, 2], rng=np.random.default_rng(2))
    opt = make_optimizer(name, net.parameters(), lr=LEARN_LR[name])
    first, last = train(net, opt, loss_fn("cross_entropy"), x, labels, LEARN_STEPS)
    assert last < first / LEARN_FACTOR, f"{name}: loss {first:.4g} -> {last:.4g}"
    assert np.array_equal(net.predict(x).argmax(axis=1), labels)


def test_a_rebinding_module_does_not_learn() -> None:
    """The loss test above would have caught the historical bug: here is that bug, caught."""
    x = np.linspace(-1, 1, 64).reshape(-1, 1)
    net = Sequential(
        [
            RebindingLinear(1, 16, rng=np.random.default_rng(0), dtype=np.float64),
            Tanh(),
            RebindingLinear(16, 1, rng=np.random.default_rng(1), dtype=np.float64),
        ]
    )
    opt = make_optimizer("adam", net.parameters(), lr=LEARN_LR["adam"])
    first, last = train(net, opt, MSELoss(), x, np.abs(x), LEARN_STEPS)
    assert last == first  # the optimizer only ever saw zeros


# -- gradcheck must be able to fail -------------------------------------------------------------
class ScaledWeightGradLinear(Linear):
    """A broken Linear: its weight gradient is 1% too large."""

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        out = super().backward(grad_out, need_input_grad)
        self.weight.grad *= BROKEN_SCALE
        return out


class WrongTanh(Tanh):
    """A broken activation: derivative 1 - t instead of 1 - t^2."""

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return grad_out * (1 - self._t)


class HalfMSELoss(MSELoss):
    """A broken loss: the factor 2 of the derivative forgotten."""

    def backward(self) -> np.ndarray:
        return super().backward() / 2


def test_gradcheck_fails_on_a_1_percent_weight_gradient_error() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4))
    good = Linear(4, 3, rng=np.random.default_rng(4), dtype=np.float64)
    bad = ScaledWeightGradLinear(4, 3, rng=np.random.default_rng(4), dtype=np.float64)
    assert gradcheck(good, x).passed
    result = gradcheck(bad, x)
    assert not result.passed and not result
    assert "FAILED" in str(result)
    # The error is located: the weight is wrong by ~1%, the bias and input are right.
    assert result.max_rel_error["weight"] == pytest.approx(BROKEN_SCALE - 1, rel=1e-3)
    assert result.max_rel_error["bias"] < 1e-6 and result.max_rel_error["input"] < 1e-6


def test_gradcheck_fails_on_a_broken_layer_inside_a_network() -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))

    def net(first: type[Linear]) -> Sequential:
        return Sequential(
            [
                first(3, 4, rng=np.random.default_rng(6), dtype=np.float64),
                Tanh(),
                Linear(4, 2, rng=np.random.default_rng(7), dtype=np.float64),
            ]
        )

    assert gradcheck(net(Linear), x, y, loss="mse").passed
    result = gradcheck(net(ScaledWeightGradLinear), x, y, loss="mse")
    assert not result.passed
    assert result.max_rel_error["layers.0.weight"] > 1e-3
    assert result.max_rel_error["layers.2.weight"] < 1e-6


def test_gradcheck_fails_on_a_wrong_activation_derivative_and_a_wrong_loss() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(4, 5))
    assert gradcheck(Tanh(), x).passed
    assert not gradcheck(WrongTanh(), x).passed
    target = rng.normal(size=(4, 5))
    assert gradcheck(Identity(), x, target, loss=MSELoss()).passed
    assert not gradcheck(Identity(), x, target, loss=HalfMSELoss()).passed
