"""How the CNN plane batches its work (issue 15, speed): row blocks in the box bounds, the
ReLU's parts in batches larger than a chunk, the last max pool's outputs per parent, BLAS on
one thread. None of them may change a region."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from tinylens.geometry import Slice, _windows, conv_slice  # noqa: E402
from tinylens.geometry._kink_maps import _KinkMaps  # noqa: E402
from tinylens.geometry.conv_layers import image_layers  # noqa: E402
from tinylens.geometry.conv_slice import split_image_slice  # noqa: E402


def two_stage(seed: int) -> tuple[nn.Module, tuple]:
    """The MNIST small_cnn's shape on 8x8 images, and a plane through three sparse images."""
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten()]
    net = nn.Sequential(*layers, nn.Linear(16, 4)).double().eval()
    rng = np.random.default_rng(seed)
    plane = Slice.through(*(rng.random((3, 64)) * (rng.random((3, 64)) < 0.6)))
    steps = image_layers(net, (1, 8, 8))
    return net, (steps, plane.origin, plane.directions, plane.domain)


def test_bounds_in_row_blocks_are_the_plain_formula_bit_for_bit(monkeypatch):
    """Any block size gives the interval arithmetic written out once, bit for bit (signs of
    zeros too), the same settled windows and the same box decisions of a pool."""
    rng = np.random.default_rng(0)
    R, F = 23, 48
    M = rng.standard_normal((R, 3, F)) * (rng.random((R, 3, F)) < 0.7)  # exact zeros too
    M[:, :, :4] = 0.0  # units zero throughout
    M[:3, 0] = -M[:3, 0]  # -0.0 constant terms
    V = rng.random((R, 5, 2)) * 2 - 1
    windows = rng.permutation(F).reshape(12, 4)
    lo, hi = V.min(axis=1), V.max(axis=1)
    c, h = (lo + hi) / 2, (hi - lo) / 2
    mid = M[:, 0] + c[:, :1] * M[:, 1] + c[:, 1:] * M[:, 2]
    spread = h[:, :1] * np.abs(M[:, 1]) + h[:, 1:] * np.abs(M[:, 2])
    want = (mid - spread, mid + spread, np.abs(M[:, 0]) + np.abs(M[:, 1]) + np.abs(M[:, 2]))
    # the pool's box decisions on the parts of these polygons after a ReLU (_KinkMaps)
    parts = _KinkMaps(M, np.arange(R).repeat(2), rng.integers(0, 2, (2 * R, F), np.uint8), (0, 1))
    settled, winners = [], []
    for block in (1, 5, 1000):
        monkeypatch.setattr(_windows, "ROW_BLOCK", block)
        got = _windows._bounds(V, M)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(np.signbit(a), np.signbit(b))
        settled.append(_windows._settled_after_relu(V, M, windows, got))
        winners.append(_windows._first_winners(V.repeat(2, axis=0), parts, windows))
    for code, done in settled[1:]:
        np.testing.assert_array_equal(code, settled[0][0])
        np.testing.assert_array_equal(done, settled[0][1])
    assert settled[0][1].any() and not settled[0][1].all()
    for code, undecided in winners[1:]:
        np.testing.assert_array_equal(code, winners[0][0])
        np.testing.assert_array_equal(undecided, winners[0][1])
    assert winners[0][1].any() and winners[0][0].any()


@pytest.mark.parametrize("seed", [0, 1])
def test_last_pool_outputs_equal_each_cells_whole_pooled_map(seed, monkeypatch):
    """The outputs summed once per parent, then per cell's open windows, equal each cell's
    whole pooled map through the network's own last layer (torch's weights)."""
    net, args = two_stage(seed)
    weight = net[-1].weight.detach().numpy()
    bias = net[-1].bias.detach().numpy()
    real = conv_slice.pooled_outputs
    checked = []

    def compared(M, windows, root, code, settled, linear, tail_bias):
        out = real(M, windows, root, code, settled, linear, tail_bias)
        idx = windows[np.arange(len(windows))[None, :], code]  # each cell's winning units
        pooled = M[root[:, None, None], np.arange(3)[:, None], idx[:, None, :]]
        want = pooled @ weight.T
        want[:, 0] += bias
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
        checked.append(len(root))
        return out

    monkeypatch.setattr(conv_slice, "pooled_outputs", compared)
    split = split_image_slice(*args, chunk=16, quiet=True)
    assert sum(checked) == len(split.codes) > 50  # every region's outputs came this way
    # and they are the network's: at each region's centroid
    _, origin, directions, _ = args
    x = origin + split.centroids @ directions
    with torch.no_grad():
        logits = net(torch.from_numpy(x).reshape(-1, 1, 8, 8)).numpy()
    ours = np.einsum("rok,rk->ro", split.W, split.centroids) + split.c
    np.testing.assert_allclose(ours, logits, rtol=1e-9, atol=1e-9 * np.abs(logits).max())


def test_relu_parts_go_to_the_pool_in_batches_with_the_same_regions(monkeypatch):
    """Batches of a chunk and one batch of every part a chunk of parents makes: the same
    regions, in another order (outputs within the rounding of their sums)."""
    _, args = two_stage(2)
    sizes = []
    real = conv_slice._max
    monkeypatch.setattr(conv_slice, "_max", lambda V, *a: sizes.append(len(V)) or real(V, *a))
    results, largest = [], []
    for open_windows in (0, 10**9):
        monkeypatch.setattr(conv_slice, "OPEN_WINDOWS", open_windows)
        sizes.clear()
        results.append(split_image_slice(*args, chunk=4, quiet=True))
        largest.append(max(sizes))
    small, large = results
    assert largest[0] == 4 < largest[1]
    assert len(small.codes) > 50 and small.counts_per_layer == large.counts_per_layer
    # the regions come in another order (the order of the cuts changes with the batches)
    one, other = (np.lexsort(r.codes.T[::-1]) for r in results)
    for name in ("codes", "areas", "centroids"):
        np.testing.assert_array_equal(getattr(small, name)[one], getattr(large, name)[other])
    for i, j in zip(one, other, strict=True):
        np.testing.assert_array_equal(small.vertices[i], large.vertices[j])
    for name in ("W", "c"):
        want = getattr(small, name)[one]
        np.testing.assert_allclose(getattr(large, name)[other], want, rtol=1e-12, atol=1e-14)


def test_blas_runs_on_one_thread_during_the_enumeration(monkeypatch):
    """Idle BLAS threads spin: the enumeration holds BLAS to one thread, with one worker too,
    and gives the limit back after."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads() -> set[int]:
        pools = threadpoolctl.threadpool_info()
        return {p["num_threads"] for p in pools if p["user_api"] == "blas"}

    before = blas_threads()
    seen = []
    real = conv_slice._walk
    monkeypatch.setattr(conv_slice, "_walk", lambda *a: seen.append(blas_threads()) or real(*a))
    _, args = two_stage(3)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        split_image_slice(*args, quiet=True, workers=1)
        assert blas_threads() <= {2}  # given back
    assert seen and all(s <= {1} for s in seen)
    assert blas_threads() == before
