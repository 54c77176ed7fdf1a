"""Optimizer paths on 2-D surfaces: the gradients are right, and the steps are the engine's own.

Oracles: central finite differences (surface gradients), the engine's backward pass (the
2-parameter net), and the update rules of ``engine/optim.py`` written out in plain Python.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinylens.engine import OPTIMIZERS, Linear, MSELoss, Sequential, Tanh
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.studies.optimizers import (
    SURFACES,
    optimizer_path,
    optimizer_paths,
    resolved_hyperparameters,
    update_rule_text,
    update_rules_mathml,
)
from tinylens.studies.optimizers.paths import NET_X, NET_Y, net_grad, net_loss

# Central differences with h = 1e-6 on these polynomials and tanh have truncation error
# ~h² |f'''| ~ 1e-9 and rounding error ~eps |f| / h ~ 1e-8 (f up to ~1e2 on these windows).
FD_TOL = 1e-5


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_gradients_match_finite_differences(name):
    surf = SURFACES[name]
    rng = np.random.default_rng(0)
    h = 1e-6
    for _ in range(5):
        p = np.array([rng.uniform(*surf.xlim), rng.uniform(*surf.ylim)])
        fd = np.array(
            [
                (surf.f(p[0] + h, p[1]) - surf.f(p[0] - h, p[1])) / (2 * h),
                (surf.f(p[0], p[1] + h) - surf.f(p[0], p[1] - h)) / (2 * h),
            ]
        )
        g = surf.grad(p)
        assert np.allclose(g, fd, rtol=FD_TOL, atol=FD_TOL), (name, p, g, fd)
    for m in surf.minima:
        assert np.allclose(surf.grad(np.array(m)), 0.0, atol=1e-12)


def test_net_surface_is_the_loss_of_an_engine_network():
    """The 'net' surface is the MSE of a real 2-weight engine network, gradient included."""
    net = Sequential(
        [
            Linear(1, 1, bias=False, dtype=np.float64),
            Tanh(),
            Linear(1, 1, bias=False, dtype=np.float64),
        ]
    )
    mse = MSELoss()
    X, Y = NET_X.reshape(-1, 1), NET_Y.reshape(-1, 1)
    for w1, w2 in [(0.3, -1.2), (1.0, 2.0), (-2.5, 0.7)]:
        net.layers[0].weight.data[...] = w1
        net.layers[2].weight.data[...] = w2
        loss = mse.forward(net.forward(X), Y)
        net.backward(mse.backward())
        # Same float64 arithmetic in a different order: agreement to a few ulps.
        assert math.isclose(loss, float(net_loss(np.array(w1), np.array(w2))), rel_tol=1e-12)
        engine_grad = [net.layers[0].weight.grad.item(), net.layers[2].weight.grad.item()]
        assert np.allclose(engine_grad, net_grad(np.array([w1, w2])), rtol=1e-10, atol=1e-14)


def test_sgd_path_is_plain_gradient_descent():
    path = optimizer_path("beale", "sgd", steps=5, lr=1e-3)
    surf = SURFACES["beale"]
    p = np.array(surf.start)
    for k in range(5):
        p = p - 1e-3 * surf.grad(p)
        assert np.array_equal(path.points[k + 1], p)
    assert np.allclose(path.effective_lr, 1e-3, rtol=1e-12)


def test_momentum_steps_follow_the_documented_rule():
    # b1 = g1; b_t = mu b + g; theta -= lr b (PyTorch's form, engine/optim.py)
    lr, mu = 1e-3, 0.9
    path = optimizer_path("rosenbrock", "momentum", steps=3, lr=lr)
    surf = SURFACES["rosenbrock"]
    p, b = np.array(surf.start), None
    for k in range(3):
        g = surf.grad(p)
        b = g.copy() if b is None else mu * b + g
        p = p - lr * b
        assert np.array_equal(path.points[k + 1], p)
        assert np.array_equal(path.moments["momentum"][k], b)


def test_adam_steps_follow_the_documented_rule():
    lr, b1, b2, eps = 0.05, 0.9, 0.999, 1e-8
    path = optimizer_path("net", "adam", steps=4, lr=lr)
    surf = SURFACES["net"]
    p, m, v = np.array(surf.start), np.zeros(2), np.zeros(2)
    for t in range(1, 5):
        g = surf.grad(p)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        # The engine computes m by lerp and folds the bias corrections differently (as
        # PyTorch does): equal up to float64 rounding.
        assert np.allclose(path.points[t], p, rtol=1e-13, atol=1e-15)
        assert np.allclose(path.moments["m"][t - 1], m, rtol=1e-13)
        assert np.allclose(path.moments["v"][t - 1], v, rtol=1e-13)
    # The first Adam step has length lr per coordinate: the second moment normalises it.
    assert np.allclose(np.abs(path.steps[0]), lr, rtol=1e-6)


def test_rmsprop_first_step():
    lr, alpha, eps = 0.01, 0.99, 1e-8
    path = optimizer_path("beale", "rmsprop", steps=1, lr=lr)
    g = SURFACES["beale"].grad(np.array(SURFACES["beale"].start))
    v = (1 - alpha) * g * g
    expected = np.array(SURFACES["beale"].start) - lr * g / (np.sqrt(v) + eps)
    assert np.allclose(path.points[1], expected, rtol=1e-14)


def test_ema_momentum_at_ten_times_the_rate_is_heavy_ball_momentum():
    """v = 0.9 v + 0.1 g with lr 0.01 takes the steps of b = 0.9 b + g with lr 0.001."""
    a = optimizer_path("rosenbrock", "momentum", steps=200, lr=1e-3)
    b = optimizer_path("rosenbrock", "ema_momentum", steps=200, lr=1e-2)
    assert np.allclose(a.points, b.points, rtol=1e-9, atol=1e-12)


def test_divergence_stops_the_path():
    path = optimizer_path("rosenbrock", "sgd", steps=100, lr=0.05)
    assert path.diverged
    assert len(path.points) < 101 and np.isfinite(path.points).all()


def test_every_default_path_is_finite_and_makes_progress():
    for name in SURFACES:
        for opt, path in optimizer_paths(name, list(OPTIMIZERS), steps=300).items():
            assert not path.diverged, (name, opt)
            assert path.losses[-1] < path.losses[0], (name, opt)


def test_path_errors():
    with pytest.raises(UnknownNameError, match="did you mean 'beale'"):
        optimizer_path("beal", "sgd")
    with pytest.raises(UnknownNameError):
        optimizer_path("beale", "sgdd")
    with pytest.raises(ConfigError, match="steps must be a positive integer"):
        optimizer_path("beale", "sgd", steps=0)


def test_update_rules_are_well_formed_mathml_with_the_numbers_used():
    rules = {n: resolved_hyperparameters(n) for n in OPTIMIZERS}
    rules["adam"]["lr"] = 0.0123
    fragment = update_rules_mathml(rules)
    root = ET.fromstring(f"<div>{fragment}</div>")  # well-formed XML, no entities
    maths = [e for e in root.iter() if e.tag == "math"]
    assert len(maths) >= 2 * len(OPTIMIZERS)
    assert "<mn>0.0123</mn>" in fragment
    assert "script" not in fragment and "http" not in fragment  # renders offline
    assert update_rule_text("sgd", {"lr": 0.5}) == "θ ← θ − 0.5·g"
    assert update_rule_text("sgd", {"lr": 0.5, "weight_decay": 0.1}).startswith("g ← g + 0.1·θ")
    assert "(1 − 0.001·0.01)·θ" in update_rule_text("adamw")
