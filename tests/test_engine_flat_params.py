"""Flat parameter buffers (engine/module.py FlatParameters) and the one-pass optimizer step.

The flat layout is an optimisation only: every optimizer must give the same bits with it as
parameter by parameter (the path the torch oracle tests in test_engine_optim.py check), the
per-parameter arrays must be views that alias the buffer both ways, and code that rebinds a
parameter's array must not be left training a stale copy.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import MLP, Adam, MSELoss, Optimizer, Parameter, Sequential, make_optimizer
from tinylens.engine.module import FlatParameters

N_STEPS = 25

# (id, optimizer from parameters): every preset and the options that add terms to the rules
CASES = {
    "sgd": lambda p: make_optimizer("sgd", p, lr=0.05),
    "momentum": lambda p: make_optimizer("momentum", p, lr=0.05),
    "nesterov": lambda p: make_optimizer("nesterov", p, lr=0.05),
    "ema_momentum": lambda p: make_optimizer("ema_momentum", p, lr=0.05),
    "sgd_dampening_weight_decay": lambda p: make_optimizer(
        "momentum", p, lr=0.05, dampening=0.3, weight_decay=0.01
    ),
    "adam": lambda p: make_optimizer("adam", p, lr=0.01),
    "adam_weight_decay": lambda p: Adam(p, lr=0.01, weight_decay=0.1),
    "adamw": lambda p: make_optimizer("adamw", p, lr=0.01),
    "rmsprop_centered_momentum": lambda p: make_optimizer(
        "rmsprop", p, lr=0.002, momentum=0.5, centered=True, weight_decay=0.05
    ),
    "adagrad": lambda p: make_optimizer("adagrad", p, lr=0.05, lr_decay=0.01),
}


def problem(dtype: type) -> tuple[Sequential, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    net = MLP([5, 7, 6, 3], rng=1, dtype=dtype)
    for p in net.parameters():  # one array per parameter (networks are built flat)
        p.data, p.grad = p.data.copy(order="K"), p.grad.copy(order="K")
    x = rng.normal(size=(12, 5)).astype(dtype)
    y = rng.normal(size=(12, 3)).astype(dtype)
    return net, x, y


def run(net: Sequential, opt: Optimizer, x: np.ndarray, y: np.ndarray, steps: int) -> None:
    loss = MSELoss()
    for _ in range(steps):
        loss.forward(net.forward(x), y)
        net.backward(loss.backward())
        opt.step()


def assert_same_bits(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        # the same bits, signed zeros included
        assert a[k].tobytes() == b[k].tobytes(), k


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_flat_step_gives_the_per_parameter_bits(name: str, dtype: type) -> None:
    flat_net, x, y = problem(dtype)
    loop_net, _, _ = problem(dtype)
    FlatParameters.of(flat_net.parameters())
    flat_opt, loop_opt = CASES[name](flat_net.parameters()), CASES[name](loop_net.parameters())
    assert flat_opt._flat is not None and loop_opt._flat is None  # the two paths under test
    start = loop_net.state_dict()
    run(flat_net, flat_opt, x, y, N_STEPS)
    run(loop_net, loop_opt, x, y, N_STEPS)
    assert_same_bits(flat_net.state_dict(), loop_net.state_dict())
    assert_same_bits(flat_opt.state_dict(), loop_opt.state_dict())
    moved = max(np.abs(loop_net.state_dict()[k] - start[k]).max() for k in start)
    assert moved > 1e-3  # the comparison means something only if the weights moved


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_a_flat_optimizer_state_saved_and_loaded_continues_identically(name: str) -> None:
    net, x, y = problem(np.float32)
    FlatParameters.of(net.parameters())
    opt = CASES[name](net.parameters())
    run(net, opt, x, y, 5)
    net_state, opt_state = net.state_dict(), opt.state_dict()
    run(net, opt, x, y, 5)
    # into a fresh flat optimizer, and into a per-parameter one: both continue the same way
    for flatten in (True, False):
        fresh, _, _ = problem(np.float32)
        fresh.load_state_dict(net_state)
        if flatten:
            FlatParameters.of(fresh.parameters())
        resumed = CASES[name](fresh.parameters())
        resumed.load_state_dict(opt_state)
        run(fresh, resumed, x, y, 5)
        assert_same_bits(fresh.state_dict(), net.state_dict())
        assert_same_bits(resumed.state_dict(), opt.state_dict())


def test_the_parameters_are_views_that_alias_the_buffer_both_ways() -> None:
    net, _, _ = problem(np.float32)
    before = net.state_dict()
    flat = FlatParameters.of(net.parameters())
    assert flat is not None and flat.data.size == net.n_parameters()
    assert_same_bits(net.state_dict(), before)  # values kept
    w = net.linears[0].weight
    assert w.data.flags.f_contiguous and not w.data.flags.c_contiguous  # layout kept
    w.data[2, 3] = 123.0
    offset = 0  # the first weight starts the buffer, in Fortran order: (2, 3) -> 3 * 7 + 2
    assert flat.data[offset + 3 * 7 + 2] == 123.0
    flat.data[:] = 0.5
    assert all((p.data == 0.5).all() for p in net.parameters())
    flat.grad[:] = 2.0
    assert all((p.grad == 2.0).all() for p in net.parameters())
    b = net.linears[-1].bias
    b.grad[...] = -1.0
    assert (flat.grad[-3:] == -1.0).all()
    # laid out already: of() and find() reuse it, copying nothing
    assert FlatParameters.of(net.parameters()).data is flat.data
    assert FlatParameters.find(net.parameters()).data is flat.data
    # in another order, or a subset that leaves a gap, it is not the layout
    assert FlatParameters.find(net.parameters()[::-1]) is None
    assert FlatParameters.find(net.parameters()[1:]) is None


def test_parameters_it_cannot_share_a_buffer_keep_their_arrays() -> None:
    a = Parameter(np.zeros(3, dtype=np.float32), "a")
    b = Parameter(np.zeros(2, dtype=np.float64), "b")
    arrays = (a.data, b.data)
    assert FlatParameters.of([a, b]) is None  # mixed dtypes
    assert FlatParameters.of([a, a]) is None  # one parameter twice
    assert (a.data, b.data) == arrays and a.data is arrays[0]


def test_a_rebound_parameter_still_learns() -> None:
    """Code that replaces ``p.data`` ends the shared layout; the optimizer must then update
    the parameter's new array, parameter by parameter, to the same bits."""
    net, x, y = problem(np.float32)
    ref, _, _ = problem(np.float32)
    flat = FlatParameters.of(net.parameters())
    opt, ref_opt = (
        make_optimizer("adam", net.parameters()),
        make_optimizer("adam", ref.parameters()),
    )
    run(net, opt, x, y, 3)
    run(ref, ref_opt, x, y, 3)
    w = net.linears[1].weight
    w.data = w.data.copy()  # rebinding, as Sequential.astype or gradcheck do
    assert not flat.intact()
    run(net, opt, x, y, 3)
    run(ref, ref_opt, x, y, 3)
    assert_same_bits(net.state_dict(), ref.state_dict())
    assert not np.array_equal(w.data, flat.views_of(flat.data)[2])  # the stale view fell behind


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_fit_lays_the_parameters_flat_and_trains_to_the_per_parameter_bits(optimizer, monkeypatch):
    """fit's flat layout against the same fit with the layout switched off (the optimizer
    then loops over the parameters, as before the flat buffers): the same weights, history."""
    from tinylens.training import TrainConfig, fit

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 2] > 0).astype(np.int64)
    cfg = TrainConfig(epochs=3, batch_size=32, optimizer=optimizer, lr=0.05)
    flat_net = MLP([5, 7, 6, 2], rng=1)
    h1 = fit(flat_net, (X, y), cfg, rng=4, quiet=True)
    assert FlatParameters.find(flat_net.parameters()) is not None
    monkeypatch.setattr(FlatParameters, "of", classmethod(lambda cls, params: None))
    loop_net = MLP([5, 7, 6, 2], rng=1)
    h2 = fit(loop_net, (X, y), cfg, rng=4, quiet=True)
    assert FlatParameters.find(loop_net.parameters()) is None
    assert_same_bits(flat_net.state_dict(), loop_net.state_dict())
    assert h1.train_loss == h2.train_loss and h1.train_accuracy == h2.train_accuracy


def test_arrays_taken_before_fit_are_the_trained_weights() -> None:
    """A network is laid out flat when it is built, so fit rebinds nothing: an array a user
    took from it before training is the trained weight after it (it used to go stale)."""
    from tinylens.training import TrainConfig, fit

    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.int64)
    net = MLP([4, 6, 2], rng=2)
    taken = [p.data for p in net.parameters()]
    before = [a.copy() for a in taken]
    fit(net, (X, y), TrainConfig(epochs=2, batch_size=16, lr=0.1), rng=0, quiet=True)
    for a, b, p in zip(taken, before, net.parameters(), strict=True):
        assert a is p.data and not np.array_equal(a, b)
    # copies get a buffer of their own (deepcopy splits the views), shared with nothing
    for other in (net.copy(), net.astype(np.float64)):
        flat = FlatParameters.find(other.parameters())
        assert flat is not None and not np.shares_memory(flat.data, taken[0])
        assert_same_bits(
            {k: v.astype(np.float64) for k, v in other.state_dict().items()},
            {k: v.astype(np.float64) for k, v in net.state_dict().items()},
        )
