"""The batched (many-seeds) MLP: instance k is the single network trained alone.

Oracle: the engine's own single-network MLP, its optimizers and losses, run K times. In
float64 the batched products sum in another order, so the tolerance is 1e-12 (observed
differences: ~1e-15 after hundreds of steps).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.engine import MLP, BatchedMLP, loss_fn, make_optimizer
from tinylens.errors import ConfigError, ShapeError

TOL = 1e-12  # float64, different summation order, a few hundred steps


def _single_run(sizes, seed, opt_name, xs, ys, **kw):
    act = kw.get("activation", "relu")
    out_act = kw.get("output_activation", "identity")
    net = MLP(
        sizes,
        act,
        out_act,
        rng=seed,
        bias=kw.get("bias", True),
        dtype=np.float64,
        init=kw.get("init", "auto"),
    )
    opt = make_optimizer(opt_name, net.parameters(), lr=kw.get("lr", 0.05))
    mse = loss_fn("mse")
    losses = []
    for x, y in zip(xs, ys, strict=True):
        xk = x if x.ndim == 2 else x[kw["k"]]
        yk = y if y.ndim == 2 else y[kw["k"]]
        losses.append(mse.forward(net.forward(xk), yk))
        net.backward(mse.backward())
        opt.step()
    return net, np.array(losses)


def _batched_run(sizes, seeds, opt_name, xs, ys, **kw):
    net = BatchedMLP(
        sizes,
        seeds,
        kw.get("activation", "relu"),
        kw.get("output_activation", "identity"),
        bias=kw.get("bias", True),
        init=kw.get("init", "auto"),
    )
    opt = make_optimizer(opt_name, net.parameters(), lr=kw.get("lr", 0.05))
    losses = []
    for x, y in zip(xs, ys, strict=True):
        losses.append(net.loss_and_grad(x, y))
        opt.step()
    return net, np.array(losses)


def _data(steps, batch, n_in, n_out, rng, per_instance=None):
    shape = (steps, batch, n_in) if per_instance is None else (steps, per_instance, batch, n_in)
    xs = rng.uniform(-1, 1, size=shape)
    w = rng.normal(size=(n_in, n_out))
    ys = np.abs(xs @ w) - 0.3 * (xs @ w)
    return list(xs), list(ys)


@pytest.mark.parametrize(
    "opt_name",
    ["sgd", "momentum", "nesterov", "ema_momentum", "adam", "adamw", "rmsprop", "adagrad"],
)
@pytest.mark.parametrize("bias", [True, False])
def test_each_instance_trains_like_the_network_alone(opt_name, bias):
    sizes, seeds = [2, 3, 1], [0, 1, 7]
    xs, ys = _data(60, 32, 2, 1, np.random.default_rng(1))
    batched, b_losses = _batched_run(sizes, seeds, opt_name, xs, ys, bias=bias)
    for k, seed in enumerate(seeds):
        alone, losses = _single_run(sizes, seed, opt_name, xs, ys, bias=bias)
        np.testing.assert_allclose(b_losses[:, k], losses, rtol=TOL, atol=TOL)
        for name, value in alone.state_dict().items():
            np.testing.assert_allclose(batched.instance(k).state_dict()[name], value, atol=TOL)


@pytest.mark.parametrize(
    "sizes, act, out_act",
    [
        ([1, 2, 2, 2, 1], "relu", "relu"),  # the general path, a ReLU output like is_even's
        ([3, 4, 2], "tanh", "identity"),
        ([1, 1], "relu", "sigmoid"),  # the one-sigmoid-unit x < 10 net
        ([2, 5, 3, 2], "leaky_relu", "identity"),
        ([2, 4, 2], "relu", "identity"),  # the fast path with two outputs
    ],
)
def test_deeper_and_other_activations_match_too(sizes, act, out_act):
    seeds = [3, 4]
    xs, ys = _data(40, 16, sizes[0], sizes[-1], np.random.default_rng(2))
    kw = {"activation": act, "output_activation": out_act}
    batched, b_losses = _batched_run(sizes, seeds, "adam", xs, ys, **kw)
    for k, seed in enumerate(seeds):
        alone, losses = _single_run(sizes, seed, "adam", xs, ys, **kw)
        np.testing.assert_allclose(b_losses[:, k], losses, rtol=TOL, atol=TOL)
        np.testing.assert_allclose(batched.forward(xs[0])[k], alone.forward(xs[0]), atol=TOL)


def test_per_instance_batches():
    sizes, seeds = [2, 3, 1], [5, 6, 8]
    xs, ys = _data(30, 16, 2, 1, np.random.default_rng(3), per_instance=3)
    _, b_losses = _batched_run(sizes, seeds, "sgd", xs, ys)
    for k, seed in enumerate(seeds):
        _, losses = _single_run(sizes, seed, "sgd", xs, ys, k=k)
        np.testing.assert_allclose(b_losses[:, k], losses, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("init", ["auto", "he", "xavier", "torch", "he_uniform"])
def test_same_seed_same_initial_weights_bit_for_bit(init):
    seeds = [0, 11, np.random.default_rng(4)]
    batched = BatchedMLP([2, 3, 2, 1], seeds[:2], init=init, dtype=np.float32)
    for k in range(2):
        alone = MLP([2, 3, 2, 1], rng=seeds[k], init=init, dtype=np.float32)
        for name, value in alone.state_dict().items():
            assert np.array_equal(batched.instance(k).state_dict()[name], value), name


def test_threads_change_nothing_and_chunks_only_rounding(monkeypatch):
    import tinylens.engine.batched as mod

    xs, ys = _data(5, 64, 2, 1, np.random.default_rng(5))
    results = []
    for chunk, threads in [(1 << 17, 1), (200, 1), (200, 3)]:
        monkeypatch.setattr(mod, "_CHUNK_VALUES", chunk)
        net = BatchedMLP([2, 3, 1], range(10), threads=threads)
        opt = make_optimizer("sgd", net.parameters(), lr=0.1)
        for x, y in zip(xs, ys, strict=True):
            net.loss_and_grad(x, y)
            opt.step()
        results.append(net.state_dict())
    for name, value in results[1].items():  # same chunks, 1 or 3 threads: bit for bit
        assert np.array_equal(results[2][name], value), name
        # Other chunk sizes: BLAS may sum a product in another order, so only to rounding.
        np.testing.assert_allclose(results[0][name], value, rtol=0, atol=TOL)


def test_round_trips_and_selection():
    nets = [MLP([2, 4, 1], rng=s, dtype=np.float64) for s in range(4)]
    batched = BatchedMLP.from_networks(nets)
    assert len(batched) == 4 and batched.sizes == [2, 4, 1]
    x = np.random.default_rng(0).normal(size=(7, 2))
    out = batched.forward(x)
    assert out.shape == (4, 7, 1)
    for k, net in enumerate(nets):
        np.testing.assert_allclose(out[k], net.forward(x), atol=TOL)
    two = batched.select([3, 1])
    np.testing.assert_array_equal(two.forward(x)[0], out[3])
    state = batched.state_dict()
    fresh = BatchedMLP([2, 4, 1], range(10, 14))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.forward(x), out)
    np.testing.assert_allclose(batched.loss(x, np.zeros((7, 1))), (out**2).mean(axis=(1, 2)))


def test_user_mistakes_are_clear():
    with pytest.raises(ConfigError, match="at least one seed"):
        BatchedMLP([2, 3, 1], [])
    with pytest.raises(ConfigError, match="not batched"):
        BatchedMLP([2, 3, 1], [0], activation="gelu")
    with pytest.raises(ConfigError, match="unknown activation"):
        BatchedMLP([2, 3, 1], [0], activation="rleu")
    net = BatchedMLP([2, 3, 1], [0, 1])
    with pytest.raises(ShapeError, match="takes \\(batch, 2\\)"):
        net.forward(np.zeros((5, 3)))
    with pytest.raises(ShapeError, match="targets have shape"):
        net.loss_and_grad(np.zeros((5, 2)), np.zeros((4, 1)))
    with pytest.raises(ShapeError, match="share"):
        BatchedMLP.from_networks([MLP([2, 3, 1], rng=0), MLP([2, 4, 1], rng=0)])
    with pytest.raises(ConfigError, match="instance 5 does not exist"):
        net.instance(5)


def test_public_accessors_for_the_fast_paths():
    """Activation.apply is the module's function without state; Sequential.hooks_at lists a
    point's hooks (the fast paths read these instead of _f and _fwd_hooks)."""
    from tinylens.engine import MLP
    from tinylens.engine.activations import activation

    x = np.linspace(-2, 2, 9)
    for name in ("relu", "sigmoid", "tanh", "leaky_relu", "gelu"):
        act = activation(name)
        assert np.array_equal(act.apply(x), act.forward(x.copy())), name
    sig = activation("sigmoid").apply(np.array([0.0, np.log(3.0)]))
    np.testing.assert_allclose(sig, [0.5, 0.75], rtol=0, atol=1e-15)  # 1 / (1 + 1/3)
    net = MLP([2, 3, 1], rng=0)

    def hook(h, name):
        return h

    assert net.hooks_at("layers.1") == ()
    with net.hooks([("layers.1", hook)]):
        assert net.hooks_at("layers.1") == (hook,)
    assert net.hooks_at("layers.1") == ()
