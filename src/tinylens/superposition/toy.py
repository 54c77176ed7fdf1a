"""The toy models of superposition (Elhage et al., 2022), many instances in one batched run.

Each instance ``k`` is the paper's model: ``n`` features ``x`` (each zero with probability
``S``, else uniform on [0, 1)), a hidden layer ``h = W x`` with ``m < n`` dimensions and a
read-out ``x' = ReLU(W^T h + b)``; ``hidden_relu=True`` is the paper's variant with
``h = ReLU(W x)``. Instances are stacked on a leading axis, like the ``n_instances`` axis of the
paper's notebook (``toy_models.ipynb``), so a sweep over sparsity and importance is one run.

Shapes: ``W`` is ``(instances, m, n)`` (feature ``i``'s direction is the column ``W[k, :, i]``),
``b`` is ``(instances, n)``, a batch is ``(instances, batch, n)``.

The loss is the notebook's: ``error = I * (x - x')**2``, averaged over the batch *and* the
features for each instance, summed over instances (``einops.reduce(error, 'b i f -> i',
'mean').sum()``), so every instance gets the gradient it would get trained alone.
Training is the notebook's too: AdamW (PyTorch's default weight decay 0.01), lr 1e-3, batch
1,024, 10,000 steps, constant learning rate. Our own choices: the initialisation (Xavier normal
of each instance's ``m x n`` matrix, std ``sqrt(2 / (m + n))``; the notebook's Xavier over the
stacked 3-D tensor also counts the instance axis), and one random stream per instance (below).

Sampling: a feature is drawn as one uniform ``u``; it is present when ``u < p`` (``p = 1 - S``),
and then its value is ``u / p``, which is uniform on [0, 1) given ``u < p``. One draw instead of
the notebook's two (value, then presence), the same distribution.

Randomness: each instance draws its initial weights and every batch from its own generator,
spawned from the ``rng`` given, so an instance trains the same whatever else is in the batch
(``test_superposition_toy.py`` checks batched against one-by-one training).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from tinylens.engine import Parameter
from tinylens.engine.optim import Adam, AdamW
from tinylens.errors import ConfigError, DataError, ShapeError

__all__ = ["ToyModel", "sample_features", "train_toy_models"]


class ToyModel:
    """A stack of toy models: ``W`` of shape ``(instances, m, n)``, ``b`` of shape
    ``(instances, n)``.

    Parameters
    ----------
    W : array of shape (instances, n_hidden, n_features)
    b : array of shape (instances, n_features), optional (zeros)
    hidden_relu : bool
        The paper's variant with a ReLU on the hidden layer, ``h = ReLU(W x)``.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray | None = None, *, hidden_relu: bool = False):
        W = np.array(W, copy=True)
        if W.ndim != 3:
            raise ShapeError(f"W has shape {W.shape}; expected (instances, n_hidden, n_features)")
        if W.dtype not in (np.float32, np.float64):
            W = W.astype(np.float64)
        b = np.zeros((W.shape[0], W.shape[2]), W.dtype) if b is None else np.array(b, W.dtype)
        if b.shape != (W.shape[0], W.shape[2]):
            raise ShapeError(f"b has shape {b.shape}; expected {(W.shape[0], W.shape[2])}")
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise DataError("the toy model's weights contain NaN or inf; use finite weights")
        self.W, self.b = Parameter(W, "W"), Parameter(b, "b")
        self.hidden_relu = bool(hidden_relu)

    @classmethod
    def init(
        cls,
        n_features: int,
        n_hidden: int,
        rngs: Sequence[np.random.Generator],
        *,
        hidden_relu: bool = False,
        dtype: type = np.float32,
    ) -> ToyModel:
        """One instance per generator: Xavier-normal ``W`` (std ``sqrt(2 / (m + n))``),
        ``b = 0``."""
        std = math.sqrt(2.0 / (n_features + n_hidden))
        W = np.stack([r.normal(0.0, std, (n_hidden, n_features)) for r in rngs]).astype(dtype)
        return cls(W, hidden_relu=hidden_relu)

    @property
    def n_instances(self) -> int:
        return int(self.W.data.shape[0])

    @property
    def n_hidden(self) -> int:
        return int(self.W.data.shape[1])

    @property
    def n_features(self) -> int:
        return int(self.W.data.shape[2])

    def parameters(self) -> list[Parameter]:
        return [self.W, self.b]

    def _check(self, x: np.ndarray) -> np.ndarray:
        want = (self.n_instances, self.n_features)
        if x.ndim != 3 or (x.shape[0], x.shape[2]) != want:
            raise ShapeError(
                f"input has shape {x.shape}; expected (instances={want[0]}, batch, "
                f"features={want[1]})"
            )
        return x

    def hidden(self, x: np.ndarray) -> np.ndarray:
        """``h = W x`` (or ``ReLU(W x)``): shape ``(instances, batch, m)``."""
        h = self._check(x) @ self.W.data.transpose(0, 2, 1)
        return np.maximum(h, 0, out=h) if self.hidden_relu else h

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``x' = ReLU(W^T h + b)`` for a batch ``x`` of shape ``(instances, batch, n)``."""
        out = self.hidden(x) @ self.W.data
        out += self.b.data[:, None, :]
        return np.maximum(out, 0, out=out)

    __call__ = forward

    def loss(self, x: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """Per instance, ``mean over batch and features of I * (x - x')**2``: shape (instances,)."""
        err = x - self.forward(x)
        return np.asarray((importance[:, None, :] * err * err).mean(axis=(1, 2)))

    def loss_and_grad(self, x: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """The per-instance losses of a batch ``x`` of shape ``(instances, batch, n)``; sets
        ``W.grad`` and ``b.grad`` to the gradient of their sum."""
        xt = np.ascontiguousarray(self._check(x).transpose(0, 2, 1))
        return self.loss_and_grad_t(xt, importance)

    def loss_and_grad_t(self, xt: np.ndarray, importance: np.ndarray) -> np.ndarray:
        """:meth:`loss_and_grad` for a batch laid out features-major, ``(instances, n, batch)``.

        NOTE: the training loop keeps the batch axis last: every product then runs over long
        contiguous rows (``W @ x`` is ``(m, n) @ (n, batch)``), several times faster in NumPy
        than the ``(batch, n)`` layout whose inner dimensions are 5 and 2.
        """
        W = self.W.data  # (k, m, n)
        k, n, batch = xt.shape
        m = W.shape[1]
        # NOTE: preallocated buffers, reused every step: fresh 2 MB arrays per step cost more
        # (page faults) than the arithmetic on them.
        ws = self._workspace(k, m, n, batch, xt.dtype)
        h, out, g, dh, mask = ws["h"], ws["out"], ws["g"], ws["dh"], ws["mask"]
        np.matmul(W, xt, out=h)  # (k, m, B)
        if self.hidden_relu:
            np.maximum(h, 0, out=h)
        np.matmul(W.transpose(0, 2, 1), h, out=out)  # (k, n, B)
        out += self.b.data[:, :, None]
        np.maximum(out, 0, out=out)
        np.greater(out, 0, out=mask)
        np.subtract(out, xt, out=out)  # out now holds x' - x
        np.multiply(out, importance[:, :, None], out=g)
        losses = np.einsum("knb,knb->k", g, out) / (batch * n)
        # d loss / d x', through the output ReLU (zero where the output was clamped)
        g *= mask
        g *= 2.0 / (batch * n)
        np.sum(g, axis=2, out=self.b.grad)
        np.matmul(W, g, out=dh)  # (k, m, B)
        if self.hidden_relu:
            dh *= h > 0
        # W is used twice: in h = W x (reached through dh) and in x' = W^T h (through g)
        gw = np.einsum("kmb,knb->kmn", h, g)
        gw += np.einsum("kmb,knb->kmn", dh, xt)
        self.W.grad[...] = gw
        return np.asarray(losses)

    def _workspace(self, k: int, m: int, n: int, batch: int, dtype: np.dtype) -> dict:
        key = (k, m, n, batch, np.dtype(dtype).str)
        ws = getattr(self, "_ws", None)
        if ws is None or ws["key"] != key:
            ws = {
                "key": key,
                "h": np.empty((k, m, batch), dtype),
                "dh": np.empty((k, m, batch), dtype),
                "out": np.empty((k, n, batch), dtype),
                "g": np.empty((k, n, batch), dtype),
                "mask": np.empty((k, n, batch), bool),
            }
            self._ws = ws
        return ws

    def copy(self) -> ToyModel:
        return ToyModel(self.W.data, self.b.data, hidden_relu=self.hidden_relu)

    def __repr__(self) -> str:
        kind = ", hidden_relu=True" if self.hidden_relu else ""
        return (
            f"ToyModel(instances={self.n_instances}, n_features={self.n_features}, "
            f"n_hidden={self.n_hidden}{kind}, dtype={self.W.data.dtype})"
        )


def sample_features(
    rngs: Sequence[np.random.Generator],
    feature_probability: np.ndarray,
    batch: int,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """A batch of sparse features laid out features-major, shape ``(instances, n, batch)``
    (``.transpose(0, 2, 1)`` gives ``(instances, batch, n)``): feature ``i`` of instance ``k``
    is zero with probability ``1 - feature_probability[k, i]``, else uniform on [0, 1).

    One uniform ``u`` per entry: value ``u / p`` when that is below 1 (``u < p``), else 0.
    """
    p = np.asarray(feature_probability)
    k, n = p.shape
    dtype = out.dtype if out is not None else np.float32
    x = np.empty((k, n, batch), dtype) if out is None else out
    for i, r in enumerate(rngs):
        r.random(dtype=x.dtype, out=x[i])
    # u / p < 1 exactly when u < p (up to the last bit of rounding): two passes, no mask array
    np.divide(x, p.astype(dtype)[:, :, None], out=x)
    x *= x < 1
    return x


def _instance_rngs(
    rng: np.random.Generator | Sequence[np.random.Generator], k: int
) -> list[np.random.Generator]:
    if isinstance(rng, np.random.Generator):
        return rng.spawn(k)
    rngs = list(rng)
    if len(rngs) != k:
        raise ConfigError(f"got {len(rngs)} generators for {k} instances; give one per instance")
    return rngs


def train_toy_models(
    feature_probability: np.ndarray,
    importance: np.ndarray,
    n_hidden: int,
    *,
    steps: int = 10_000,
    batch_size: int = 1024,
    lr: float = 1e-3,
    weight_decay: float = 0.01,
    hidden_relu: bool = False,
    rng: np.random.Generator | Sequence[np.random.Generator],
    dtype: type = np.float32,
    callback: Callable[[int, np.ndarray], None] | None = None,
    log_every: int = 100,
) -> tuple[ToyModel, np.ndarray]:
    """Train one toy model per row of ``feature_probability`` / ``importance``, all at once.

    Parameters
    ----------
    feature_probability : array of shape (instances, n_features)
        ``1 - S``: the probability that each feature is non-zero.
    importance : array of shape (instances, n_features)
        ``I_i``, the weight of each feature's squared error.
    n_hidden : int
        ``m``.
    rng : Generator, or one Generator per instance
        A single generator is split with ``rng.spawn(instances)``.
    callback : called as ``callback(step, losses)`` every ``log_every`` steps (and at the end).

    Returns
    -------
    model : ToyModel
    loss_history : array of shape (n_logged, instances)
        The per-instance loss every ``log_every`` steps and at the last step.
    """
    p = np.asarray(feature_probability, dtype=np.float64)
    imp = np.asarray(importance, dtype=np.float64)
    if p.ndim != 2 or imp.shape != p.shape:
        raise ShapeError(
            f"feature_probability {p.shape} and importance {imp.shape} must both have shape "
            "(instances, n_features)"
        )
    if not (np.isfinite(p).all() and np.isfinite(imp).all()):
        raise DataError("feature_probability and importance must be finite numbers")
    if ((p <= 0) | (p > 1)).any():
        raise ConfigError("feature probabilities must lie in (0, 1]: use sparsity S in [0, 1)")
    if (imp < 0).any():
        raise ConfigError("importances must be >= 0")
    k, n = p.shape
    if n_hidden < 1:
        raise ConfigError(f"n_hidden must be a positive integer, got {n_hidden}")
    if steps < 1 or batch_size < 1:
        raise ConfigError("steps and batch_size must be positive integers")
    rngs = _instance_rngs(rng, k)
    model = ToyModel.init(n, n_hidden, rngs, hidden_relu=hidden_relu, dtype=dtype)
    opt_cls = AdamW if weight_decay else Adam
    opt = opt_cls(model.parameters(), lr=lr, weight_decay=weight_decay)
    imp_t = imp.astype(dtype)
    x = np.empty((k, n, batch_size), dtype)
    history = []
    for step in range(steps):
        sample_features(rngs, p, batch_size, out=x)
        losses = model.loss_and_grad_t(x, imp_t)
        opt.step()
        last = step + 1 == steps
        if not np.isfinite(losses).all():
            raise DataError(f"the toy models' loss became non-finite at step {step}; lower lr")
        if step % log_every == 0 or last:
            history.append(losses.astype(np.float64))
            if callback is not None:
                callback(step + 1, losses)
    return model, np.array(history)
