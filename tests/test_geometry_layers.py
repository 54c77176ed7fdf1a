"""Conv, pooling and BatchNorm models read as affine nets (issue 15): checked against torch."""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.errors import ConfigError
from tinylens.geometry import Slice, affine_from_torch, linear_regions
from tinylens.geometry._affine import forward_patterns, piecewise_stack

torch = pytest.importorskip("torch")
nn = torch.nn

TORCH_RTOL = 1e-9
"""Our dense composition (NumPy, OpenBLAS) against torch's conv / BatchNorm kernels (MKL or
oneDNN) in float64: different summation orders agree to ~1e-14 relative after a few layers;
1e-9 is far above that and far below any real disagreement."""


def small_cnn(seed: int = 0) -> nn.Sequential:
    """Conv (stride 2, padding 1) + BatchNorm + ReLU + AvgPool + conv + LeakyReLU + Linear,
    with BatchNorm statistics that are not the identity."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 3, 2, padding=1),
        nn.LeakyReLU(0.01),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(3 * 3 * 3, 5),
    ).double()
    bn = model[1]
    with torch.no_grad():
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    return model.eval()


def test_conv_bn_pool_net_equals_torch_in_eval_mode():
    model = small_cnn()
    net = affine_from_torch(model, (1, 8, 8))
    assert net.sizes == [64, 64, 27, 5]  # conv+bn folded; avgpool+conv folded; linear
    x = torch.rand(50, 1, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        want = model(x).numpy()
    got = net(x.reshape(50, -1).numpy())
    np.testing.assert_allclose(got, want, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(want).max())


def test_regions_of_a_cnn_on_a_plane_match_torch_at_every_interior_point():
    model = small_cnn(1)
    net = affine_from_torch(model, (1, 8, 8))
    X = np.random.default_rng(1).random((3, 64))
    plane = Slice.through(*X)
    regions = linear_regions(net, slice=plane)
    assert regions.volumes().sum() == pytest.approx(0.5, rel=1e-12)
    inside = plane.to_input(regions.interior_points)
    with torch.no_grad():
        want = model(torch.from_numpy(inside).reshape(-1, 1, 8, 8)).numpy()
    got = np.einsum("nod,nd->no", regions.W, regions.interior_points) + regions.c
    np.testing.assert_allclose(got, want, rtol=TORCH_RTOL, atol=TORCH_RTOL * np.abs(want).max())
    # dense sampling finds no pattern the enumeration missed
    g = (np.arange(80) + 0.5) / 80
    s, t = np.meshgrid(g, g)
    pts = np.stack([s.ravel(), t.ravel()], axis=1)
    pts = pts[pts.sum(axis=1) < 1]
    pats = forward_patterns(piecewise_stack(net), plane.to_input(pts))
    assert {"".join(map(str, p)) for p in pats} <= set(regions.pattern_strings)


def test_batchnorm_folding_against_the_module_alone():
    torch.manual_seed(3)
    bn = nn.BatchNorm1d(6).double()
    bn.train()
    bn(torch.randn(32, 6, dtype=torch.float64))  # real running statistics
    model = nn.Sequential(nn.Linear(4, 6), bn, nn.ReLU(), nn.Linear(6, 2)).double().eval()
    net = affine_from_torch(model, (4,))
    assert net.sizes == [4, 6, 2]
    x = torch.randn(20, 4, dtype=torch.float64)
    with torch.no_grad():
        want = model(x).numpy()
    np.testing.assert_allclose(net(x.numpy()), want, rtol=TORCH_RTOL, atol=1e-12)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2)), "MaxPool2d"),
        (nn.Sequential(nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 1)), "Sigmoid"),
        (nn.Sequential(nn.Linear(4, 3), nn.LeakyReLU(0.2)), "slope 0.2"),
        (nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), "training mode"),
        (nn.Sequential(nn.Conv2d(3, 2, 3)), "does not take inputs of shape"),
    ],
)
def test_unsupported_layers_are_named(model, match):
    shape = (1, 6, 6) if isinstance(model[0], nn.Conv2d) else (4,)
    with pytest.raises(ConfigError, match=match):
        affine_from_torch(model, shape)
