"""The passes of :class:`~tinylens.engine.batched.BatchedMLP`: a forward and backward pass over
a chunk of instances, and the one-hidden-ReLU hot path of the circuit studies in work arrays
kept for the run. Each function takes the network as its first argument (``self``): the class
binds them as its methods.

Shapes: activations are ``(k, features, batch)`` for a chunk of ``k`` instances.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from tinylens.errors import ConfigError

if TYPE_CHECKING:
    from tinylens.engine.batched import BatchedMLP

__all__ = ["backward_chunk", "forward_chunk", "one_hidden_relu", "parallel"]

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n`` worker threads, created on first use."""
    with _POOLS_LOCK:
        if n not in _POOLS:
            _POOLS[n] = ThreadPoolExecutor(n, thread_name_prefix="tinylens-batched")
        return _POOLS[n]


@dataclass(slots=True)
class _Chunk:
    """One chunk's views into the run's arrays, made once: slicing and reshaping a dozen
    views per chunk and step measured as several percent of the step with 24 chunks."""

    sl: slice  # the chunk's instances
    A: np.ndarray  # [W0 | b0] of these instances, as (k * n1, m)
    z: np.ndarray  # pre-activations, then h, shape (k, n1, batch)
    z2: np.ndarray  # z as (k * n1, batch)
    mask: np.ndarray  # [z > 0] as floats, then e = mask * d
    mask2: np.ndarray  # mask as (k * n1, batch)
    on: np.ndarray  # [z > 0] as bools
    out: np.ndarray  # the outputs, then the residuals d, shape (k, n2, batch)
    w1: np.ndarray  # W1 of these instances, shape (k, n2, n1)
    G: np.ndarray  # e @ [x | 1], as (k * n1, m)
    loss: np.ndarray  # the instances' sums of squared residuals, shape (k,)


class _HotPlan:
    """The work arrays and per-chunk views of :func:`one_hidden_relu` for one batch size.

    ``A`` is ``[W0 | b0]`` for every instance (``W0``'s own array without biases), ``G`` the
    products ``e @ [x | 1]`` for every instance; ``z``, ``mask``, ``on`` and ``out`` are
    per worker thread, as large as one chunk. The views refer to the parameters' arrays,
    so the plan is rebuilt if an array is replaced (``is`` checks in :func:`_hot_plan`).
    """

    def __init__(self, net: BatchedMLP, chunks: list[slice], batch: int) -> None:
        n0, n1, n2 = net.sizes
        dtype, K = net.dtype, net.n_instances
        self.has_bias = net.biases is not None
        m = n0 + 1 if self.has_bias else n0
        self.arrays = _arrays(net)
        W0, W1 = net.weights
        self.xa = np.empty((batch, m), dtype=dtype)
        self.xaT = np.empty((m, batch), dtype=dtype)
        self.ones = np.ones(batch, dtype=dtype)
        self.A = np.empty((K, n1, m), dtype=dtype) if self.has_bias else W0.data
        # Without biases G is W0's gradient itself (scaled in place after the chunks).
        self.G = np.empty((K, n1, m), dtype=dtype) if self.has_bias else W0.grad
        self.losses = np.empty(K, dtype=dtype)
        self.n_workers = min(net.threads, len(chunks))
        kmax = max(sl.stop - sl.start for sl in chunks)
        slots = []
        for _ in range(self.n_workers):
            z = np.empty((kmax, n1, batch), dtype=dtype)
            slots.append(
                (
                    z,
                    np.empty_like(z),
                    np.empty(z.shape, dtype=np.bool_),
                    np.empty((kmax, n2, batch), dtype=dtype),
                )
            )
        self.chunks = []
        for c, sl in enumerate(chunks):
            k = sl.stop - sl.start
            z, mask, on, out = (a[:k] for a in slots[c % self.n_workers])
            self.chunks.append(
                _Chunk(
                    sl=sl,
                    A=self.A[sl].reshape(k * n1, m),
                    z=z,
                    z2=z.reshape(k * n1, batch),
                    mask=mask,
                    mask2=mask.reshape(k * n1, batch),
                    on=on,
                    out=out,
                    w1=W1.data[sl],
                    G=self.G[sl].reshape(k * n1, m),
                    loss=self.losses[sl],
                )
            )

    def fits(self, net: BatchedMLP) -> bool:
        """Whether the network still holds the arrays the views were made of."""
        return all(a is b for a, b in zip(_arrays(net), self.arrays, strict=True))


def _arrays(net: BatchedMLP) -> tuple[np.ndarray, ...]:
    params = net.parameters()
    return tuple(p.data for p in params) + tuple(p.grad for p in params)


def _hot_plan(net: BatchedMLP, chunks: list[slice], batch: int) -> _HotPlan:
    """The plan for this batch size, made on first use and kept with the network.

    NOTE: fresh 0.5 MB arrays for every operation and step cost page faults that measured
    as much as the arithmetic (issue 18: 35% of ``circuits recover`` in the kernel). The
    chunks are equal slices (the last one shorter), so their size and count name them; an
    epoch's shorter last batch gets a plan of its own.
    """
    spaces = net.__dict__.setdefault("_spaces", {})
    step = chunks[0].stop - chunks[0].start
    key = ("hot", batch, net.threads, net.dtype.str, step, len(chunks))
    plan = spaces.get(key)
    if plan is None or not plan.fits(net):
        plan = spaces[key] = _HotPlan(net, chunks, batch)
    return plan


def one_hidden_relu(
    self: BatchedMLP,
    x: np.ndarray,
    yT: np.ndarray,
    chunks: list[slice],
    losses: np.ndarray,
    scale: np.floating,
) -> None:
    """The hot path of the circuit studies: ``in -> relu hidden -> linear out`` on a shared
    batch, in work arrays and views made once per run (see :class:`_HotPlan`).

    Per chunk of ``k`` instances: ``z = [W0 | b0] @ [x | 1].T`` (one product for all),
    ``h = relu(z)``, ``out = W1 @ h + b1``, residual ``d = out - y``; backward
    ``e = mask * d`` broadcast over the hidden units and ``G = e @ [x | 1]``, again one
    product for all, from which both layers' gradients follow (one output unit):
    ``d[W0 | b0] = W1.T * G`` and ``dW1 = [W0 | b0] . G``. What is elementwise over tiny
    arrays (the gradients' scaling, ``dW1``'s dot products over 2 or 3 numbers) runs once
    over all instances after the chunks: the same operations on the same numbers.
    """
    n0, n2 = self.sizes[0], self.sizes[2]
    batch = x.shape[0]
    plan = _hot_plan(self, chunks, batch)
    has_bias = plan.has_bias
    xa, xaT, ones = plan.xa, plan.xaT, plan.ones
    xa[:, :n0] = x
    if has_bias:
        xa[:, n0] = 1
        plan.A[:, :, :n0] = self.weights[0].data
        plan.A[:, :, n0] = self.biases[0].data  # type: ignore[index]
    xaT[...] = xa.T
    matmul, multiply, greater, copyto, einsum = (
        np.matmul,
        np.multiply,
        np.greater,
        np.copyto,
        np.einsum,
    )
    b1 = self.biases[1] if has_bias else None  # type: ignore[index]
    norm = n2 * batch

    def work(slot: int, my_chunks: list[_Chunk]) -> None:
        for c in my_chunks:
            z, mask, out = c.z, c.mask, c.out
            matmul(c.A, xaT, out=c.z2)
            # NOTE: relu(z) as z * mask with a float mask: np.maximum(z, 0) ran slower
            # than this here. z * 0 is -0 for z < 0, and a -0 term changes no sum that
            # has a nonzero term.
            greater(z, 0, out=c.on)
            copyto(mask, c.on)  # measured faster than greater writing floats directly
            multiply(z, mask, out=z)
            matmul(c.w1, z, out=out)
            if b1 is not None:
                out += b1.data[c.sl, :, None]
            out -= yT  # the residual d; d loss / d out = scale * d
            einsum("kob,kob->k", out, out, out=c.loss)  # divided after the chunks
            if b1 is not None:
                matmul(out, ones, out=b1.grad[c.sl])
            if n2 == 1:
                # e_j = [z_j > 0] d (written over the mask), and G_j = e_j @ [x | 1]: one
                # product for every unit. Then d/dW1_j = scale sum_b d relu(z_j) =
                # scale A_j . G_j (as z = A [x|1]) and d/dA_j = scale W1_j G_j (after the
                # chunks): no pass over h, none to scale d.
                multiply(mask, out, out=mask)
                matmul(c.mask2, xa, out=c.G)
            else:
                out *= scale
                matmul(out, z.transpose(0, 2, 1), out=self.weights[1].grad[c.sl])
                matmul(c.w1.transpose(0, 2, 1), out, out=z)  # h is not needed again
                z *= mask
                matmul(c.z2, xa, out=c.G)

    self._parallel(work, plan.chunks)
    losses[...] = plan.losses / norm  # in the network's dtype, as per chunk before
    W0, W1 = self.weights
    G = plan.G
    if b1 is not None:
        b1.grad *= scale
    if n2 == 1:
        W1.grad[:, 0, :] = np.einsum("kjm,kjm->kj", plan.A, G)
        W1.grad *= scale
        G *= W1.data.transpose(0, 2, 1) * scale
    if has_bias:
        W0.grad[...] = G[:, :, :n0]
        self.biases[0].grad[...] = G[:, :, n0]  # type: ignore[index]


def forward_chunk(
    self: BatchedMLP, x: np.ndarray, sl: slice, *, keep: bool
) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``[(h0, None), (h1, z1), ...]`` for instances ``sl``, each of shape (k, n, batch).

    ``z`` (pre-activations) is kept only when ``keep`` and the activation needs it.
    """
    W0 = self.weights[0].data[sl]
    k, n1, n0 = W0.shape
    if x.ndim == 2:
        # One matrix product for every instance: rows (instance, unit), bias as a column.
        if self.biases is not None:
            A = np.concatenate([W0, self.biases[0].data[sl, :, None]], axis=2)
            xa = np.concatenate([x, np.ones((x.shape[0], 1), dtype=x.dtype)], axis=1)
            z = (A.reshape(k * n1, n0 + 1) @ xa.T).reshape(k, n1, -1)
        else:
            z = (W0.reshape(k * n1, n0) @ x.T).reshape(k, n1, -1)
        h_in = x  # shared; the backward pass uses it as (batch, n0)
    else:
        h_in = x[sl].transpose(0, 2, 1)
        z = np.matmul(W0, h_in)
        if self.biases is not None:
            z += self.biases[0].data[sl, :, None]
    trace: list[tuple[np.ndarray, np.ndarray | None]] = [(h_in, None)]
    for i in range(self.n_layers):
        if i > 0:
            z = np.matmul(self.weights[i].data[sl], trace[-1][0])
            if self.biases is not None:
                z += self.biases[i].data[sl, :, None]
        act = self.layer_activation(i)
        h = _act_forward(act, z)
        trace.append((h, z if keep and act in ("leaky_relu",) else None))
    return trace


def backward_chunk(
    self: BatchedMLP,
    x: np.ndarray,
    sl: slice,
    trace: list[tuple[np.ndarray, np.ndarray | None]],
    grad_out: np.ndarray,
) -> None:
    g = grad_out  # d loss / d output of the last layer, shape (k, n_out, batch)
    for i in range(self.n_layers - 1, -1, -1):
        h, z = trace[i + 1]
        gz = _act_backward(self.layer_activation(i), g, h, z)
        h_in = trace[i][0]
        W = self.weights[i]
        if i == 0 and x.ndim == 2:
            k, n1, batch = gz.shape
            W.grad[sl] = (gz.reshape(k * n1, batch) @ x).reshape(k, n1, -1)
        else:
            np.matmul(gz, h_in.transpose(0, 2, 1), out=W.grad[sl])
        if self.biases is not None:
            np.matmul(gz, np.ones(gz.shape[-1], dtype=gz.dtype), out=self.biases[i].grad[sl])
        if i > 0:
            Wd = W.data[sl]
            if Wd.shape[1] == 1:  # one output unit: the product is a broadcast
                g = Wd.transpose(0, 2, 1) * gz
            else:
                g = np.matmul(Wd.transpose(0, 2, 1), gz)


def _act_forward(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0, out=z)  # z is not needed again: h > 0 exactly where z > 0
    if name == "identity":
        return z
    if name == "sigmoid":
        from tinylens.engine.activations import sigmoid

        return sigmoid(z)
    if name == "tanh":
        return np.tanh(z)
    if name == "leaky_relu":
        return np.where(z > 0, z, z * z.dtype.type(0.01))
    raise ConfigError(f"activation {name!r} is not batched")  # pragma: no cover


def _act_backward(name: str, g: np.ndarray, h: np.ndarray, z: np.ndarray | None) -> np.ndarray:
    """d loss / d pre-activation from d loss / d output ``g`` and the output ``h``."""
    if name == "relu":
        # Derivative 0 at 0, as the engine's ReLU and torch. NOTE: a multiply by the mask, not
        # np.where (10x slower); a NaN arriving at an off unit stays NaN, but it can only come
        # from an instance whose loss is already non-finite, and training freezes those.
        return np.multiply(g, h > 0, out=g)
    if name == "identity":
        return g
    if name == "sigmoid":
        return g * h * (1 - h)  # the engine's order of operations
    if name == "tanh":
        return g * (1 - h * h)
    if name == "leaky_relu":
        assert z is not None
        return np.where(z > 0, g, g * g.dtype.type(0.01))
    raise ConfigError(f"activation {name!r} is not batched")  # pragma: no cover


Item = TypeVar("Item")


def parallel(self: BatchedMLP, work: Callable[[int, list[Item]], None], chunks: list[Item]) -> None:
    """Run ``work(slot, chunks)`` on the chunks, split over ``self.threads`` threads.

    Chunks hold disjoint instances and every write goes to that chunk's slice, so the
    result does not depend on the number of threads (most NumPy operations release the GIL);
    ``slot`` numbers the thread, so that each uses its own work arrays.
    """
    n = min(self.threads, len(chunks))
    if n <= 1:
        work(0, chunks)
        return
    pool = _pool(n)
    futures = [pool.submit(work, t, chunks[t::n]) for t in range(n)]
    for f in futures:
        f.result()
