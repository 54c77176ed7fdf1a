"""Tests of networks: MLP structure and hook names, dtypes, initialisation from a passed
Generator, state round trips, the input boundary, and the affine view (exact with Fractions)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

from tinylens.engine import (
    MLP,
    AffineNet,
    Dropout,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from tinylens.errors import ConfigError, ShapeError, UnknownNameError

TORCH_ATOL = 1e-12  # same float64 weights and formulas; only summation order differs
INIT_STD_RTOL = 0.05  # sample std of 120k draws: standard error ~0.2%, so 5% is ~25 sigma
INIT_MEAN_ATOL_SIGMAS = 6.0  # sample mean within 6 standard errors of 0
F32_BATCH = 1e-5  # float32 matmuls round differently for different batch sizes (BLAS blocking)
F32_ROUNDING = 1e-7  # float32 weights are float64 draws rounded to 24 bits (rel. error 6e-8)


# -- structure ----------------------------------------------------------------------------------
def test_mlp_structure_and_hook_names() -> None:
    net = MLP([4, 8, 6, 3], rng=np.random.default_rng(0))
    assert [type(m) for m in net.layers] == [Linear, ReLU, Linear, ReLU, Linear]
    assert net.hook_names == ["layers.0", "layers.1", "layers.2", "layers.3", "layers.4"]
    assert [m.name for m in net.layers] == net.hook_names
    assert net.sizes == [4, 8, 6, 3]
    assert (net.in_features, net.out_features) == (4, 3)
    assert net.n_parameters() == (4 * 8 + 8) + (8 * 6 + 6) + (6 * 3 + 3)
    assert [name for name, _ in net.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
        "layers.4.weight",
        "layers.4.bias",
    ]
    assert net.module("layers.2") is net.layers[2]
    with pytest.raises(UnknownNameError, match=r"did you mean 'layers\.2'"):
        net.module("layers2")


def test_mlp_matches_the_layer_layout_of_torch_sequential() -> None:
    net = MLP([3, 5, 2], activation="tanh", rng=0, dtype=np.float64)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    ref = ref.double()
    sd = net.state_dict()
    assert list(sd) == [f"layers.{k}" for k in ref.state_dict()]
    ref.load_state_dict({k.removeprefix("layers."): torch.from_numpy(v) for k, v in sd.items()})
    x = np.random.default_rng(1).normal(size=(7, 3))
    np.testing.assert_allclose(
        net.forward(x), ref(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=TORCH_ATOL
    )


def test_output_activation_and_bias_options() -> None:
    net = MLP([2, 3, 1], activation="tanh", output_activation="sigmoid", rng=0, bias=False)
    assert [type(m) for m in net.layers] == [Linear, Tanh, Linear, Sigmoid]
    assert all(lin.bias is None for lin in net.linears)
    assert [n for n, _ in net.named_parameters()] == ["layers.0.weight", "layers.2.weight"]
    out = net.forward(np.random.default_rng(0).normal(size=(5, 2)))
    assert np.all((out > 0) & (out < 1))
    # "identity" hidden layers add no modules either (a deep linear net).
    deep_linear = MLP([2, 3, 3, 1], activation="identity", rng=0)
    assert all(isinstance(m, Linear) for m in deep_linear.layers)
    assert not any(isinstance(m, Identity) for m in MLP([2, 3, 1], rng=0).layers)


def test_bad_mlp_configurations_raise() -> None:
    with pytest.raises(ConfigError, match="at least two positive widths"):
        MLP([3])
    with pytest.raises(ConfigError, match="at least two positive widths"):
        MLP([3, 0, 1])
    with pytest.raises(UnknownNameError, match=r"unknown activation 'rleu'.*did you mean 'relu'"):
        MLP([2, 3, 1], activation="rleu", rng=0)
    with pytest.raises(UnknownNameError, match="did you mean 'xavier'"):
        MLP([2, 3, 1], init="xavire", rng=0)


# -- dtype --------------------------------------------------------------------------------------
def test_float32_by_default_and_float64_on_request() -> None:
    x = np.random.default_rng(0).normal(size=(4, 3))  # float64 input
    net32 = MLP([3, 5, 2], rng=0)
    assert net32.dtype == np.float32
    assert all(
        p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in net32.parameters()
    )
    assert net32.forward(x).dtype == np.float32  # the boundary casts the input
    net64 = MLP([3, 5, 2], rng=0, dtype=np.float64)
    assert all(p.data.dtype == np.float64 for p in net64.parameters())
    assert net64.forward(x).dtype == np.float64
    # The same draws, rounded: float32 and float64 nets from one seed hold the same weights.
    for p32, p64 in zip(net32.parameters(), net64.parameters(), strict=True):
        np.testing.assert_allclose(p32.data, p64.data, rtol=F32_ROUNDING)
    assert net32.astype(np.float64).dtype == np.float64
    with pytest.raises(ConfigError, match="share one dtype"):
        Sequential([Linear(2, 2, dtype=np.float32), Linear(2, 2, dtype=np.float64)])


# -- initialisation -----------------------------------------------------------------------------
FAN_IN, FAN_OUT = 400, 300


@pytest.mark.parametrize(
    ("scheme", "expected_std", "bound", "bias_bound"),
    [
        ("he", math.sqrt(2 / FAN_IN), None, 0.0),
        ("he_uniform", math.sqrt(2 / FAN_IN), math.sqrt(6 / FAN_IN), 0.0),
        ("xavier", math.sqrt(2 / (FAN_IN + FAN_OUT)), math.sqrt(6 / (FAN_IN + FAN_OUT)), 0.0),
        ("xavier_normal", math.sqrt(2 / (FAN_IN + FAN_OUT)), None, 0.0),
        ("torch", 1 / math.sqrt(3 * FAN_IN), 1 / math.sqrt(FAN_IN), 1 / math.sqrt(FAN_IN)),
    ],
)
def test_init_statistics(
    scheme: str, expected_std: float, bound: float | None, bias_bound: float
) -> None:
    lin = Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(0), init=scheme, dtype=np.float64)
    w = lin.weight.data
    assert w.shape == (FAN_OUT, FAN_IN)
    assert w.std() == pytest.approx(expected_std, rel=INIT_STD_RTOL)
    assert abs(w.mean()) < INIT_MEAN_ATOL_SIGMAS * expected_std / math.sqrt(w.size)
    if bound is not None:
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # uniform: the bound is nearly reached
    assert lin.bias is not None
    b = lin.bias.data
    if bias_bound == 0.0:
        np.testing.assert_array_equal(b, 0.0)
    else:
        assert np.abs(b).max() <= bias_bound and np.any(b != 0)


def test_auto_init_picks_he_for_relu_and_xavier_before_a_linear_output() -> None:
    rng_seed = 3
    net = MLP([FAN_IN, FAN_OUT, 200], rng=rng_seed, dtype=np.float64)
    he = Linear(FAN_IN, FAN_OUT, rng=np.random.default_rng(rng_seed), init="he")
    np.testing.assert_allclose(net.layers[0].weight.data, he.weight.data, rtol=F32_ROUNDING)
    w_out = net.layers[2].weight.data
    assert np.abs(w_out).max() <= math.sqrt(6 / (FAN_OUT + 200))


def test_weights_come_from_the_passed_generator_only() -> None:
    global_state = np.random.get_state()  # noqa: NPY002 - checking the legacy global is the point
    a = MLP([3, 8, 2], rng=np.random.default_rng(7))
    b = MLP([3, 8, 2], rng=np.random.default_rng(7))
    c = MLP([3, 8, 2], rng=np.random.default_rng(8))
    d = MLP([3, 8, 2], rng=7)  # an int is a seed
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k], v)
        np.testing.assert_array_equal(d.state_dict()[k], v)
    assert not np.array_equal(a.state_dict()["layers.0.weight"], c.state_dict()["layers.0.weight"])
    # The generator is consumed, not copied: a second net from it differs from the first.
    rng = np.random.default_rng(7)
    first, second = MLP([3, 8, 2], rng=rng), MLP([3, 8, 2], rng=rng)
    assert not np.array_equal(first.layers[0].weight.data, second.layers[0].weight.data)
    # Library code never touches NumPy's legacy global generator.
    after = np.random.get_state()  # noqa: NPY002
    assert global_state[0] == after[0] and np.array_equal(global_state[1], after[1])
    assert global_state[2:] == after[2:]


# -- state ----------------------------------------------------------------------------------------
def test_state_dict_is_a_copy_and_load_state_dict_restores() -> None:
    net = MLP([3, 4, 2], rng=0)
    x = np.random.default_rng(1).normal(size=(5, 3))
    before = net.forward(x)
    sd = net.state_dict()
    sd["layers.0.weight"][...] = 0.0  # editing the copy leaves the net alone
    np.testing.assert_array_equal(net.forward(x), before)
    sd = net.state_dict()
    net.layers[0].weight.data[...] += 1.0
    assert not np.array_equal(sd["layers.0.weight"], net.state_dict()["layers.0.weight"])

    other = MLP([3, 4, 2], rng=99)
    arrays_before = [p.data for p in other.parameters()]
    assert other.load_state_dict(sd) is other
    np.testing.assert_array_equal(other.forward(x), before)
    # Loading writes into the existing arrays (an optimizer holding them keeps working).
    assert all(p.data is a for p, a in zip(other.parameters(), arrays_before, strict=True))

    with pytest.raises(ConfigError, match="missing"):
        other.load_state_dict({k: v for k, v in sd.items() if k != "layers.2.bias"})
    with pytest.raises(ConfigError, match="unexpected"):
        other.load_state_dict({**sd, "layers.9.weight": np.zeros(1)})
    with pytest.raises(ShapeError, match=r"layers.2.bias: got shape \(3,\), expected \(2,\)"):
        other.load_state_dict({**sd, "layers.2.bias": np.zeros(3)})


def test_copy_is_independent() -> None:
    net = Sequential(
        [
            Linear(3, 4, rng=np.random.default_rng(0)),
            ReLU(),
            Dropout(0.5, rng=np.random.default_rng(1)),
            Linear(4, 2, rng=np.random.default_rng(2)),
        ]
    )
    x = np.random.default_rng(3).normal(size=(6, 3))
    twin = net.copy()
    assert twin.hook_names == net.hook_names
    assert all(
        p is not q and p.data is not q.data
        for p, q in zip(net.parameters(), twin.parameters(), strict=True)
    )
    # The dropout generator is copied too: both draw the same masks from here on.
    np.testing.assert_array_equal(twin.forward(x), net.forward(x))
    twin.layers[0].weight.data[...] = 0.0
    assert np.any(net.layers[0].weight.data != 0.0)
    net.eval()
    assert twin.training


def test_predict_restores_the_training_mode() -> None:
    net = Sequential(
        [
            Linear(3, 50, rng=np.random.default_rng(0)),
            Dropout(0.5, rng=np.random.default_rng(1)),
            Linear(50, 1, rng=np.random.default_rng(2)),
        ]
    )
    x = np.random.default_rng(3).normal(size=(20, 3)).astype(np.float32)
    net.train()
    out = net.predict(x)
    assert net.training and all(m.training for m in net.layers)
    np.testing.assert_array_equal(net.predict(x), out)  # dropout was off: deterministic
    net.eval()
    np.testing.assert_array_equal(net.forward(x), out)
    net.predict(x)
    assert not net.training and not any(m.training for m in net.layers)
    # Even when predict raises.
    net.train()
    with pytest.raises(ShapeError):
        net.predict(np.zeros((2, 4)))
    assert net.training and all(m.training for m in net.layers)
    # Batching changes nothing but the BLAS blocking of a float32 matmul.
    np.testing.assert_allclose(net.predict(x, batch_size=3), out, rtol=F32_BATCH, atol=F32_BATCH)


def test_check_input_names_the_feature_counts() -> None:
    net = MLP([2, 3, 1], rng=0)
    with pytest.raises(ShapeError, match=r"input has 3 features; the network expects \(batch, 2\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ShapeError, match=r"reshape\(1, -1\)"):
        net.forward(np.zeros(2))
    with pytest.raises(ShapeError, match=r"shape \(2, 2, 2\)"):
        net.forward(np.zeros((2, 2, 2)))
    # A LayerNorm first declares the width too.
    ln_first = Sequential([LayerNorm(2), Linear(2, 1, rng=np.random.default_rng(0))])
    with pytest.raises(ShapeError, match="expects"):
        ln_first.forward(np.zeros((4, 3), dtype=np.float32))


def test_a_network_needs_engine_modules() -> None:
    with pytest.raises(ConfigError, match="at least one layer"):
        Sequential([])
    with pytest.raises(ConfigError, match="not an engine module"):
        Sequential([Linear(2, 2), torch.nn.ReLU()])  # type: ignore[list-item]


# -- the affine view ------------------------------------------------------------------------------
def test_affine_round_trip() -> None:
    net = MLP([3, 5, 4, 2], rng=np.random.default_rng(0), dtype=np.float64)
    aff = AffineNet.from_module(net)
    assert aff.sizes == [3, 5, 4, 2]
    assert aff.activations == ["relu", "relu", "identity"]
    x = np.random.default_rng(1).normal(size=(10, 3))
    np.testing.assert_array_equal(aff(x), net.forward(x))
    back = aff.to_module(dtype=np.float64)
    assert back.hook_names == net.hook_names
    assert [type(m) for m in back.layers] == [type(m) for m in net.layers]
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[k], v)
    again = AffineNet.from_module(back)
    for a, b in zip(aff.layers, again.layers, strict=True):
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)


def test_affine_view_of_a_bias_free_net_has_zero_biases() -> None:
    net = MLP([2, 3, 1], rng=0, bias=False, dtype=np.float64)
    aff = AffineNet.from_module(net)
    assert all(np.array_equal(layer.bias, np.zeros(layer.out_features)) for layer in aff.layers)
    x = np.random.default_rng(1).normal(size=(4, 2))
    np.testing.assert_array_equal(aff(x), net.forward(x))


def test_affine_view_rejects_what_it_cannot_store() -> None:
    with pytest.raises(ConfigError, match="no place in the affine view"):
        AffineNet.from_module(Sequential([Linear(2, 2), LayerNorm(2), Linear(2, 1)]))
    with pytest.raises(ConfigError, match="cannot store"):
        AffineNet.from_module(Sequential([Linear(2, 2), LeakyReLU(0.2), Linear(2, 1)]))


def test_exact_fraction_evaluation_of_a_tiny_net() -> None:
    F = Fraction
    w1 = [[F(1, 3), F(-2, 7)], [F(-1, 2), F(5, 4)], [F(2, 9), F(1, 11)]]
    b1 = [F(1, 5), F(-1, 3), F(0)]
    w2 = [[F(3, 2), F(-4, 3), F(7, 5)]]
    b2 = [F(-1, 13)]
    aff = AffineNet.from_lists(
        [
            (np.array(w1, dtype=object), np.array(b1, dtype=object), "relu"),
            (np.array(w2, dtype=object), np.array(b2, dtype=object), "identity"),
        ]
    )
    assert aff.is_exact
    inputs = [[F(1, 2), F(-3, 5)], [F(-7, 3), F(2, 1)], [F(0), F(0)], [F(9, 10), F(4, 7)]]

    def reference(x: list[Fraction]) -> Fraction:  # plain-Python, exact
        hidden = [
            max(sum(w * xi for w, xi in zip(row, x, strict=True)) + b, F(0))
            for row, b in zip(w1, b1, strict=True)
        ]
        return sum(w * h for w, h in zip(w2[0], hidden, strict=True)) + b2[0]

    out = aff(np.array(inputs, dtype=object))
    assert out.shape == (4, 1) and out.dtype == object
    for row, x in zip(out, inputs, strict=True):
        assert isinstance(row[0], Fraction)
        assert row[0] == reference(x)
    # The float path agrees to rounding.
    floats = np.array([[float(v) for v in x] for x in inputs])
    np.testing.assert_allclose(
        aff.to_float()(floats).ravel(), [float(reference(x)) for x in inputs], rtol=1e-14
    )
    np.testing.assert_allclose(
        aff.to_module(dtype=np.float64).forward(floats).ravel(),
        [float(reference(x)) for x in inputs],
        rtol=1e-14,
    )
