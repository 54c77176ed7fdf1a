"""The CNN plane shared among worker threads (issue 15, speed): the same regions, in the same
order, with every number the same, for any thread count; errors still end it cleanly."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from tinylens.errors import ConfigError  # noqa: E402
from tinylens.geometry import Slice, conv_slice  # noqa: E402
from tinylens.geometry.conv_layers import image_layers  # noqa: E402
from tinylens.geometry.conv_slice import split_image_slice  # noqa: E402


def plane_args(seed: int) -> tuple:
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    net = nn.Sequential(*layers, nn.Linear(16, 4)).double().eval()
    plane = Slice.through(*np.random.default_rng(seed).random((3, 64)))
    return image_layers(net, (1, 8, 8)), plane.origin, plane.directions, plane.domain


@pytest.mark.parametrize("seed", [0, 1])
def test_any_thread_count_gives_the_same_regions_bit_for_bit(seed, monkeypatch):
    monkeypatch.setattr(conv_slice, "SHARE_FROM", 1)  # share out as soon as there are two
    shared = []
    real = conv_slice._walk
    monkeypatch.setattr(conv_slice, "_walk", lambda *a: shared.append(a[4:]) or real(*a))
    args = plane_args(seed)
    one = split_image_slice(*args, chunk=4, quiet=True, workers=1)
    assert not any(own for own in shared)  # one thread never shares out
    for workers in (2, 3):
        shared.clear()
        many = split_image_slice(*args, chunk=4, quiet=True, workers=workers)
        assert sum(own == (True,) for own in shared) > 5  # subtrees ran on the workers
        assert len(one.codes) > 50 and one.counts_per_layer == many.counts_per_layer
        for name in ("codes", "W", "c", "areas", "centroids"):
            np.testing.assert_array_equal(getattr(many, name), getattr(one, name))
        for a, b in zip(many.vertices, one.vertices, strict=True):
            np.testing.assert_array_equal(a, b)


def test_an_error_on_a_worker_ends_the_enumeration(monkeypatch):
    """Too many regions, found on a worker thread: the one-line error reaches the caller."""
    monkeypatch.setattr(conv_slice, "SHARE_FROM", 1)
    args = plane_args(2)
    total = split_image_slice(*args, quiet=True, workers=1).counts_per_layer[-1]  # any chunk
    with pytest.raises(ConfigError, match="more than"):
        split_image_slice(*args, chunk=4, quiet=True, workers=2, max_regions=total - 1)
