"""Exact conversion between the engine and PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from tinylens.engine import MLP, Dropout, Flatten, LayerNorm, Linear, ReLU, Sequential
from tinylens.errors import ConfigError
from tinylens.torch import from_torch, to_torch, torch_mlp

# float32 forward passes through different BLAS kernels agree to a few ulps of the outputs.
FLOAT32_ATOL = 1e-6


@pytest.mark.parametrize(
    "activation", ["relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu"]
)
def test_to_torch_computes_the_same_function(activation):
    net = MLP([6, 16, 8, 3], activation=activation, rng=0)
    module = to_torch(net)
    x = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
    out = module(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(out, net.forward(x), atol=FLOAT32_ATOL, rtol=0)


def test_module_paths_equal_engine_hook_names():
    net = MLP([4, 8, 3], rng=0)
    names = [n for n, _ in to_torch(net).named_modules() if n.startswith("layers.")]
    assert names == net.hook_names
    assert list(to_torch(net).state_dict()) == list(net.state_dict())


def test_roundtrip_is_bit_exact_and_keeps_structure():
    rng = np.random.default_rng(0)
    net = Sequential(
        [
            Flatten(),
            Linear(12, 8, rng=rng),
            ReLU(),
            LayerNorm(8),
            Dropout(0.1),
            Linear(8, 2, rng=rng, bias=False),
        ],
        input_names=None,
    )
    net.layers[3].weight.assign(rng.normal(size=8))
    back = from_torch(to_torch(net))
    assert [m.kind for m in back.layers] == [m.kind for m in net.layers]
    for key, value in net.state_dict().items():
        assert np.array_equal(back.state_dict()[key], value)
    x = rng.normal(size=(5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(
        to_torch(net).eval()(torch.from_numpy(x)).detach().numpy(),
        net.predict(x),
        atol=FLOAT32_ATOL,
    )


def test_from_torch_of_a_users_plain_sequential():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 5), nn.Tanh(), nn.Sequential(nn.Linear(5, 4), nn.ReLU()), nn.Linear(4, 1)
    ).double()
    net = from_torch(model)
    assert net.dtype == np.float64 and net.sizes == [3, 5, 4, 1]
    x = np.random.default_rng(0).normal(size=(7, 3))
    np.testing.assert_allclose(
        net.forward(x), model(torch.from_numpy(x)).detach().numpy(), atol=1e-13
    )


def test_unsupported_modules_are_named():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    with pytest.raises(ConfigError, match=r"cannot convert 1 \(BatchNorm1d\)"):
        from_torch(model)

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x):
            return self.a(x) * 2

    with pytest.raises(ConfigError, match="custom forward"):
        from_torch(Custom())


def test_torch_mlp_matches_engine_mlp_from_the_same_seed():
    module, net = torch_mlp([3, 5, 2], rng=9), MLP([3, 5, 2], rng=9)
    for key, value in net.state_dict().items():
        assert np.array_equal(module.state_dict()[key].numpy(), value)


# -- networks with skip connections (issue 16) -------------------------------------------------

# float64 forward passes that sum the same terms in another order agree to a few ulps.
FLOAT64_ATOL = 1e-12


class _Skip(nn.Module):
    """Every kind of skip the read-back handles: the inputs concatenated to a deep layer, a
    residual sum, a difference, two Linear layers in a row (composed exactly) and a ReLU output
    that skips a layer (carried by one unit)."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(4, 4)
        self.c, self.d = nn.Linear(4, 4), nn.Linear(4 + 3 + 4, 2)

    def forward(self, x):
        h1 = torch.relu(self.a(x))
        h2 = nn.functional.relu(self.c(self.b(h1))) + h1  # Linear after Linear; a residual
        h3 = torch.relu(h2 - h1)
        return self.d(torch.cat([h3, x, h1], dim=1))


def _skip_model():
    torch.manual_seed(3)
    return _Skip().double().eval()


def test_from_torch_reads_a_network_with_skip_connections():
    model = _skip_model()
    net = from_torch(model)
    assert [m.kind for m in net.layers] == ["linear", "relu"] * 3 + ["linear"]
    x = np.random.default_rng(0).normal(size=(200, 3)) * 3
    want = model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(net.forward(x), want, atol=FLOAT64_ATOL, rtol=0)


def test_the_layered_network_equals_the_graph_exactly_at_rational_points():
    from fractions import Fraction

    from tinylens.torch import trace_relu_graph

    model = _skip_model()
    graph = trace_relu_graph(model)
    net = graph.to_affine()
    assert net.is_exact
    rng = np.random.default_rng(1)
    pts = np.array(
        [[Fraction(int(v), 7) for v in row] for row in rng.integers(-40, 40, size=(300, 3))],
        dtype=object,
    )
    assert (net.forward(pts) == graph.forward(pts)).all()  # exact, every point
    # ... and the graph interpreter is the torch module (float64, a few ulps)
    x = pts.astype(np.float64)
    np.testing.assert_allclose(
        graph.forward(x), model(torch.from_numpy(x)).detach().numpy(), atol=FLOAT64_ATOL, rtol=0
    )


def test_a_skipped_relu_output_costs_one_carrier_unit_and_an_input_two():
    from tinylens.torch import trace_relu_graph

    class Deep(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.c = nn.Linear(2, 3), nn.Linear(3, 3), nn.Linear(3 + 3 + 2, 1)

        def forward(self, x):
            h1 = torch.relu(self.a(x))
            h2 = torch.relu(self.b(h1))
            return self.c(torch.cat([h2, h1, x], dim=1))

    net = trace_relu_graph(Deep()).to_affine()
    # layer 1: 3 units + x carried (2 inputs x a pair); layer 2: 3 units + h1 (3 x 1 unit) +
    # x's pair units again (4 x 1 unit: each is a ReLU output, never negative)
    assert net.sizes == [2, 3 + 4, 3 + 3 + 4, 1]


def test_an_operation_the_read_back_cannot_do_is_named():
    from tinylens.torch import trace_relu_graph

    class Sig(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x):
            return torch.sigmoid(self.a(x)) + x

    class Rows(Sig):
        def forward(self, x):
            return torch.cat([self.a(x), x], dim=0)

    class Shift(Sig):
        def forward(self, x):
            return self.a(x) + 1

    for model, what in [(Sig(), "sigmoid"), (Rows(), "along dim 0"), (Shift(), "a constant")]:
        with pytest.raises(ConfigError, match=f"cannot read back .*{what}.*supported are"):
            trace_relu_graph(model)
        with pytest.raises(ConfigError, match="custom forward"):
            from_torch(model)


def test_non_finite_weights_are_refused():
    from tinylens.torch import trace_relu_graph

    model = _skip_model()
    with torch.no_grad():
        model.a.weight[0, 0] = float("nan")
    with pytest.raises(ConfigError, match="non-finite"):
        trace_relu_graph(model)
