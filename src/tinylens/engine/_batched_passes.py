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
from typing import TYPE_CHECKING, Any

import numpy as np

from tinylens.errors import ConfigError

if TYPE_CHECKING:
    from tinylens.engine.batched import BatchedMLP

__all__ = ["backward_chunk", "forward_chunk", "one_hidden_relu", "parallel", "workspace"]

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def _pool(n: int) -> ThreadPoolExecutor:
    """A process-wide pool of ``n`` worker threads, created on first use."""
    with _POOLS_LOCK:
        if n not in _POOLS:
            _POOLS[n] = ThreadPoolExecutor(n, thread_name_prefix="tinylens-batched")
        return _POOLS[n]


def one_hidden_relu(
    self: BatchedMLP,
    x: np.ndarray,
    yT: np.ndarray,
    chunks: list[slice],
    losses: np.ndarray,
    scale: np.floating,
) -> None:
    """The hot path of the circuit studies: ``in -> relu hidden -> linear out`` on a shared
    batch, in work arrays allocated once per run (see :meth:`_workspace`).

    Per chunk of ``k`` instances: ``z = [W0 | b0] @ [x | 1].T`` (one product for all),
    ``h = relu(z)``, ``out = W1 @ h + b1``, residual ``d = out - y``; backward
    ``e = mask * d`` broadcast over the hidden units and ``G = e @ [x | 1]``, again one
    product for all, from which both layers' gradients follow (one output unit):
    ``d[W0 | b0] = W1.T * G`` and ``dW1 = [W0 | b0] . G``.
    """
    n0, n1, n2 = self.sizes
    batch, dtype = x.shape[0], self.dtype
    has_bias = self.biases is not None
    m = n0 + 1 if has_bias else n0
    kmax = max(sl.stop - sl.start for sl in chunks)
    shared = self._workspace(
        ("shared", batch),
        xa=((batch, m), dtype),
        xaT=((m, batch), dtype),
        ones=((batch,), dtype),
    )
    xa, xaT, ones = shared["xa"], shared["xaT"], shared["ones"]
    xa[:, :n0] = x
    if has_bias:
        xa[:, n0] = 1
    xaT[...] = xa.T
    ones[...] = 1
    W0, W1 = self.weights

    def work(slot: int, my_chunks: list[slice]) -> None:
        buf = self._workspace(
            (slot, kmax, batch),
            A=((kmax, n1, m), dtype),
            z=((kmax, n1, batch), dtype),
            mask=((kmax, n1, batch), dtype),
            on=((kmax, n1, batch), np.bool_),
            out=((kmax, n2, batch), dtype),
            G=((kmax, n1, m), dtype),
        )
        for sl in my_chunks:
            k = sl.stop - sl.start
            A, z, mask = buf["A"][:k], buf["z"][:k], buf["mask"][:k]
            out, G = buf["out"][:k], buf["G"][:k]
            A[:, :, :n0] = W0.data[sl]
            if has_bias:
                A[:, :, n0] = self.biases[0].data[sl]  # type: ignore[index]
            np.matmul(A.reshape(k * n1, m), xaT, out=z.reshape(k * n1, batch))
            # NOTE: relu(z) as z * mask with a float mask: np.maximum(z, 0) ran slower
            # than this here. z * 0 is -0 for z < 0, and a -0 term changes no sum that
            # has a nonzero term.
            on = buf["on"][:k]
            np.greater(z, 0, out=on)
            np.copyto(mask, on)  # measured faster than greater writing floats directly
            np.multiply(z, mask, out=z)
            w1 = W1.data[sl]
            np.matmul(w1, z, out=out)
            if has_bias:
                out += self.biases[1].data[sl, :, None]  # type: ignore[index]
            out -= yT  # the residual d; d loss / d out = scale * d
            losses[sl] = np.einsum("kob,kob->k", out, out) / (n2 * batch)
            if has_bias:
                np.matmul(out, ones, out=self.biases[1].grad[sl])  # type: ignore[index]
                self.biases[1].grad[sl] *= scale  # type: ignore[index]
            if n2 == 1:
                # e_j = [z_j > 0] d (written over the mask), and G_j = e_j @ [x | 1]: one
                # product for every unit. Then d/dW1_j = scale sum_b d relu(z_j) =
                # scale A_j . G_j (as z = A [x|1]) and d/dA_j = scale W1_j G_j: no pass
                # over h, none to scale d.
                np.multiply(mask, out, out=mask)
                np.matmul(mask.reshape(k * n1, batch), xa, out=G.reshape(k * n1, m))
                W1.grad[sl, 0, :] = np.einsum("kjm,kjm->kj", A, G)
                W1.grad[sl] *= scale
                G *= w1.transpose(0, 2, 1) * scale
            else:
                out *= scale
                np.matmul(out, z.transpose(0, 2, 1), out=W1.grad[sl])
                np.matmul(w1.transpose(0, 2, 1), out, out=z)  # h is not needed again
                z *= mask
                np.matmul(z.reshape(k * n1, batch), xa, out=G.reshape(k * n1, m))
            W0.grad[sl] = G[:, :, :n0]
            if has_bias:
                self.biases[0].grad[sl] = G[:, :, n0]  # type: ignore[index]

    self._parallel(work, chunks)


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


def workspace(
    self: BatchedMLP, key: tuple, **arrays: tuple[tuple[int, ...], Any]
) -> dict[str, np.ndarray]:
    """Work arrays named and shaped as ``arrays``, made on first use and kept for the run.

    NOTE: one fresh 0.5 MB array per operation and step cost page faults that measured as
    much as the arithmetic (issue 18: 35% of ``circuits recover`` in the kernel). The
    arrays live as long as the network's shapes and dtype stay the same; ``key`` tells
    apart worker threads and batch sizes (an epoch's shorter last batch gets its own).
    Their contents are scratch: every use writes them before it reads them.
    """
    spaces = self.__dict__.setdefault("_spaces", {})
    full = (
        key,
        self.dtype.str,
        tuple(sorted((n, s, np.dtype(d).str) for n, (s, d) in arrays.items())),
    )
    if full not in spaces:
        spaces[full] = {n: np.empty(s, dtype=d) for n, (s, d) in arrays.items()}
    return spaces[full]


def parallel(
    self: BatchedMLP, work: Callable[[int, list[slice]], None], chunks: list[slice]
) -> None:
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
