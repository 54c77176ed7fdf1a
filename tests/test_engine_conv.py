"""Convolution, max pooling, unflatten and the small CNN: torch and finite differences as oracles.

Tolerances: float64 forward and backward against torch agree to rounding (1e-12 absolute on
O(1) values: the same sums in a different order); gradcheck uses its documented tolerances.
Float32 networks are compared at 1e-5 (float32 rounding over a few hundred products).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import tinylens as tl
from tinylens.engine import Conv2d, MaxPool2d, Unflatten, build_module, gradcheck, small_cnn
from tinylens.errors import ConfigError, ShapeError, WeightsFileError
from tinylens.training import TrainConfig, fit

F64_TOL = 1e-12  # float64, same arithmetic up to summation order
F32_TOL = 1e-5  # float32 rounding over ~200-term dot products of O(1) values

CONV_CASES = [
    # (in, out, kernel, stride, padding, image (h, w))
    (1, 3, 3, 1, 1, (7, 7)),
    (3, 4, 3, 2, 0, (7, 8)),
    (2, 2, (2, 3), (2, 1), (1, 0), (6, 5)),
    (2, 3, 5, 1, 2, (5, 6)),
    (1, 2, 1, 1, 0, (3, 3)),
]


def _torch_conv(c: Conv2d) -> nn.Conv2d:
    t = nn.Conv2d(
        c.in_channels,
        c.out_channels,
        c.kernel_size,
        stride=c.stride,
        padding=c.padding,
        bias=c.bias is not None,
        dtype=torch.float64,
    )
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(c.weight.data))
        if c.bias is not None:
            t.bias.copy_(torch.from_numpy(c.bias.data))
    return t


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch_forward_and_backward(case, bias):
    c_in, c_out, k, s, p, (h, w) = case
    rng = np.random.default_rng(0)
    conv = Conv2d(c_in, c_out, k, stride=s, padding=p, bias=bias, rng=rng, dtype=np.float64)
    t = _torch_conv(conv)
    x = rng.normal(size=(3, c_in, h, w))
    xt = torch.tensor(x, requires_grad=True)
    out_t = t(xt)
    g = rng.normal(size=tuple(out_t.shape))
    out_t.backward(torch.from_numpy(g))
    out = conv.forward(x)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=0, atol=F64_TOL)
    dx = conv.backward(g)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=F64_TOL)
    np.testing.assert_allclose(conv.weight.grad, t.weight.grad.numpy(), rtol=0, atol=1e-11)
    if bias:
        np.testing.assert_allclose(conv.bias.grad, t.bias.grad.numpy(), rtol=0, atol=1e-11)


@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_conv2d_gradcheck(case):
    c_in, c_out, k, s, p, (h, w) = case
    rng = np.random.default_rng(1)
    conv = Conv2d(c_in, c_out, k, stride=s, padding=p, rng=rng)
    result = gradcheck(conv, rng.normal(size=(2, c_in, h, w)))
    assert result.passed, str(result)


def test_conv2d_chunked_im2col_equals_one_piece(monkeypatch):
    """The chunking that bounds memory must not change a single number."""
    import tinylens.engine.conv as conv_module

    rng = np.random.default_rng(2)
    conv = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    x = rng.normal(size=(7, 2, 6, 6))
    g = rng.normal(size=(7, 3, 6, 6))
    whole = conv.forward(x), conv.backward(g), conv.weight.grad.copy(), conv.bias.grad.copy()
    monkeypatch.setattr(conv_module, "_CHUNK_ELEMENTS", 2 * 18 * 36)  # two samples per chunk
    assert len(conv._scratch(7, 6, 6, np.dtype(np.float64))) == 2
    parts = conv.forward(x), conv.backward(g), conv.weight.grad.copy(), conv.bias.grad.copy()
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=F64_TOL)


@pytest.mark.parametrize(("k", "s", "p"), [(2, None, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
def test_maxpool_matches_torch_including_ties(k, s, p):
    rng = np.random.default_rng(3)
    pool = MaxPool2d(k, s, p)
    t = nn.MaxPool2d(k, s, p)
    for x in (rng.normal(size=(2, 3, 7, 8)), np.round(rng.normal(size=(2, 3, 7, 8)))):
        xt = torch.tensor(x, requires_grad=True)
        out_t = t(xt)
        g = rng.normal(size=tuple(out_t.shape))
        out_t.backward(torch.from_numpy(g))
        np.testing.assert_array_equal(pool.forward(x), out_t.detach().numpy())
        # Rounded inputs tie often; the gradient must go to the same (first) maximum.
        np.testing.assert_allclose(pool.backward(g), xt.grad.numpy(), rtol=0, atol=F64_TOL)


def test_maxpool_gradcheck():
    rng = np.random.default_rng(4)
    # Distinct values keep every window's maximum away from a tie (where it is not smooth).
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) / 10.0
    assert gradcheck(MaxPool2d(2), x).passed
    assert gradcheck(MaxPool2d(3, 2, 1), x).passed


def test_unflatten_round_trip_and_errors():
    u = Unflatten((2, 3, 4))
    x = np.arange(48.0).reshape(2, 24)
    y = u.forward(x)
    assert y.shape == (2, 2, 3, 4)
    np.testing.assert_array_equal(u.backward(y), x)
    np.testing.assert_array_equal(y, torch.from_numpy(x).unflatten(1, (2, 3, 4)).numpy())
    with pytest.raises(ShapeError, match="2x3x4 images flattened"):
        u.forward(np.zeros((2, 23)))
    with pytest.raises(ConfigError):
        Unflatten((0, 3))


def test_bad_layer_arguments_are_config_errors():
    with pytest.raises(ConfigError):
        Conv2d(1, 0, 3)
    with pytest.raises(ConfigError):
        Conv2d(1, 2, 3, stride=0)
    with pytest.raises(ConfigError):
        Conv2d(1, 2, (3, 3, 3))
    with pytest.raises(ConfigError, match="half the kernel"):
        MaxPool2d(2, padding=2)
    with pytest.raises(ShapeError, match=r"expected \(batch, 3, height, width\)"):
        Conv2d(3, 2, 3, rng=0).forward(np.zeros((2, 1, 5, 5), dtype=np.float32))


def test_small_cnn_structure_gradcheck_and_torch_parity():
    net = small_cnn((8, 8), channels=(2, 3), classes=4, rng=0, dtype=np.float64)
    kinds = [m.kind for m in net.layers]
    assert kinds == [
        "unflatten",
        *("conv2d", "relu", "maxpool2d") * 2,
        "flatten",
        "linear",
    ]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 64))
    result = gradcheck(net, x, rng.integers(0, 4, size=3), loss="cross_entropy")
    assert result.passed, str(result)
    module = tl.to_torch(net)
    assert [n for n, _ in module.named_modules()][2:] == net.hook_names
    with torch.no_grad():
        out_t = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), out_t, rtol=0, atol=F64_TOL)
    back = tl.from_torch(module)
    assert [m.kind for m in back.layers] == kinds
    np.testing.assert_array_equal(back.forward(x), net.forward(x))


def test_small_cnn_float32_matches_torch_on_mnist_size():
    net = small_cnn(rng=1)
    x = np.random.default_rng(6).random((4, 784), dtype=np.float32)
    with torch.no_grad():
        out_t = tl.to_torch(net)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(net.forward(x), out_t, rtol=0, atol=F32_TOL)


def test_wrong_image_size_is_one_clear_shape_error():
    net = small_cnn((28, 28), rng=0)
    with pytest.raises(ShapeError, match=r"64 features; the network expects \(batch, 784\)"):
        net.forward(np.zeros((2, 64), dtype=np.float32))
    # A network that starts with a convolution takes images; the size is followed to the
    # first linear layer, so a wrong size is named before any arithmetic.
    conv_first = tl.Sequential(net.layers[1:])
    with pytest.raises(ShapeError, match=r"8x8 reach layers\.7 as 64 features; it expects 784"):
        conv_first.forward(np.zeros((2, 1, 8, 8), dtype=np.float32))
    with pytest.raises(ShapeError, match=r"images of shape \(batch, 1, height, width\)"):
        conv_first.forward(np.zeros((2, 784), dtype=np.float32))
    assert conv_first.forward(np.zeros((2, 1, 28, 28), dtype=np.float32)).shape == (2, 10)


def test_weights_file_round_trip_and_torch_conversion_of_every_new_layer(tmp_path):
    net = tl.Sequential(
        [
            Unflatten((2, 6, 6)),
            Conv2d(2, 3, (3, 2), stride=(1, 2), padding=(1, 0), rng=0),
            tl.engine.ReLU(),
            MaxPool2d(3, 2, 1),
            Conv2d(3, 2, 1, bias=False, rng=1),
            tl.engine.Flatten(),
            tl.engine.Linear(2 * 3 * 2, 3, rng=np.random.default_rng(2)),
        ]
    )
    x = np.random.default_rng(7).random((5, 72), dtype=np.float32)
    path = tl.save(net, tmp_path / "cnn.safetensors")
    back = tl.load(path)
    np.testing.assert_array_equal(back.forward(x), net.forward(x))
    assert [m.config() for m in back.layers] == [m.config() for m in net.layers]
    for m in net.layers:  # every module rebuilds from its config alone
        assert build_module(m.config()).config() == m.config()
    with torch.no_grad():
        out_t = tl.to_torch(net)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out_t, net.forward(x), rtol=0, atol=F32_TOL)
    twin = tl.from_torch(tl.to_torch(net))
    np.testing.assert_array_equal(twin.forward(x), net.forward(x))
    with pytest.raises(WeightsFileError, match="affine view"):
        tl.load_affine(path)


def test_from_torch_refuses_what_the_engine_cannot_compute():
    with pytest.raises(ConfigError, match="groups=1"):
        tl.from_torch(nn.Sequential(nn.Conv2d(2, 2, 3, groups=2)))
    with pytest.raises(ConfigError, match="dilation=1"):
        tl.from_torch(nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)))
    with pytest.raises(ConfigError, match="Unflatten"):
        tl.from_torch(nn.Sequential(nn.Unflatten(2, (2, 2))))


def test_fit_trains_a_small_cnn_on_flat_image_rows_unchanged():
    from tinylens.data import digits

    data = digits()
    train, test = data.split(0.25, rng=0)
    net = small_cnn(data.image_shape, channels=(4, 8), rng=0)
    history = fit(net, train, TrainConfig(epochs=3, optimizer="adam", lr=0.01), rng=0, val=test)
    # Chance is 0.1; three epochs of a 4-8 channel CNN on 8x8 digits reach well above 0.7.
    assert history.val_accuracy[-1] > 0.7
