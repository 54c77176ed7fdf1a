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
