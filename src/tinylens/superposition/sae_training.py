"""Training sparse autoencoders: :func:`train_sae` streams a model's activations through the
hook API; :func:`fit_sae` reads an array of activation rows. Both draw batches the same way and
run the same loop (:mod:`tinylens.superposition.sae` has the model, the loss and its gradients).

>>> import numpy as np
>>> X = np.random.default_rng(0).normal(size=(512, 8))
>>> sae = fit_sae(X, 16, k=4, steps=50, batch_size=64, rng=0)
>>> sae.encode(X[:3]).shape, int((sae.encode(X[:3]) > 0).sum(axis=1).max())
((3, 16), 4)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.engine import Adam
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, DataError, ShapeError, reject_unknown_keys
from tinylens.superposition.sae import SparseAutoencoder, activation_rows, sae_loss_and_grads

__all__ = ["SAETrainConfig", "fit_sae", "stream_activations", "train_sae"]


def stream_activations(
    model: Any,
    X: np.ndarray,
    hook_name: str,
    batch_size: int,
    steps: int,
    rng: np.random.Generator,
) -> Iterator[np.ndarray]:
    """``steps`` batches of activation rows at ``hook_name``: inputs shuffled each epoch and run
    through the model one batch at a time (nothing cached beyond the batch)."""
    from tinylens.hooks import evaluating

    order = rng.permutation(len(X))
    pos = 0
    with evaluating(model) as net:
        for _ in range(steps):
            if pos + batch_size > len(order):
                order, pos = rng.permutation(len(X)), 0
            xb = X[order[pos : pos + batch_size]]
            pos += batch_size
            yield activation_rows(net.forward_to(xb, hook_name))


def _array_batches(
    A: np.ndarray, batch_size: int, steps: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """The same sampling as :func:`stream_activations`, from an array of activation rows."""
    order = rng.permutation(len(A))
    pos = 0
    for _ in range(steps):
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(A)), 0
        yield A[order[pos : pos + batch_size]]
        pos += batch_size


@dataclass(frozen=True)
class SAETrainConfig:
    """How an SAE is trained (the settings of :func:`train_sae`; defaults are our choices).

    Parameters
    ----------
    n_latents : int
    k : int, optional
        TopK latents; None: ReLU latents with an L1 penalty.
    l1 : float
        L1 coefficient of ReLU SAEs.
    steps, batch_size : int
        Adam steps, and model inputs per step.
    lr : float
        Adam learning rate.
    dead_steps : int
        A latent silent for this many steps is dead and trained by AuxK (Gao et al. count 10M
        tokens; ours is a step count).
    dtype : str
        "float32" (default) or "float64".
    """

    n_latents: int = 128
    k: int | None = None
    l1: float = 1e-3
    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    dead_steps: int = 200
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if self.n_latents < 1:
            raise ConfigError(f"n_latents must be >= 1, got {self.n_latents}")
        if self.k is not None and not 1 <= self.k <= self.n_latents:
            raise ConfigError(f"k must lie in 1..{self.n_latents} (the latents), got {self.k}")
        if self.steps < 1:
            raise ConfigError(f"steps must be >= 1, got {self.steps}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if self.dead_steps < 1:
            raise ConfigError(f"dead_steps must be >= 1, got {self.dead_steps}")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> SAETrainConfig:
        """Build from :meth:`to_dict`'s layout; an unknown key is an error.

        >>> SAETrainConfig.from_dict({"n_latents": 64, "k": 8}).k
        8
        """
        d = dict(d or {})
        known = [f.name for f in dataclasses.fields(cls)]
        reject_unknown_keys(d, known, "SAE training setting", "known settings")
        return cls(**d)

    def check(self, n: int) -> None:
        """Refuse a batch larger than the ``n`` samples."""
        if self.batch_size > n:
            raise ConfigError(
                f"batch_size {self.batch_size} is larger than the {n} samples; choose at most {n}"
            )

    def new_sae(self, d: int, rng: np.random.Generator, hook_name: str = "") -> SparseAutoencoder:
        return SparseAutoencoder(
            d,
            self.n_latents,
            k=self.k,
            l1=self.l1,
            hook_name=hook_name,
            rng=rng,
            dtype=np.dtype(self.dtype),
        )


def _train(
    sae: SparseAutoencoder,
    batches: Iterator[np.ndarray],
    cfg: SAETrainConfig,
    callback: Callable[[int, float], None] | None,
) -> SparseAutoencoder:
    opt = Adam(sae.parameters, lr=cfg.lr)
    for step, xb in enumerate(batches):
        xb = np.asarray(xb, dtype=sae.dtype)
        if xb.shape[1] != sae.d:
            raise ShapeError(f"activations have {xb.shape[1]} features; the SAE reads {sae.d}")
        if not np.isfinite(xb).all():
            raise DataError("activations contain NaN or infinite values; check the model/data")
        if sae.steps_ == 0 and step == 0:
            sae.b_dec_[...] = xb.mean(axis=0)
        dead = sae.dead_mask(cfg.dead_steps)
        loss, grads, f = sae_loss_and_grads(sae, xb, dead if dead.any() else None)
        if not math.isfinite(loss):
            raise DataError(
                f"SAE training diverged at step {sae.steps_ + 1} (loss {loss}); lower lr"
            )
        for p in sae.parameters:
            p.grad[...] = grads[p.name]
        sae.constrain_gradient()
        opt.step()
        sae.normalise_decoder()
        fired = f.mask.any(axis=0)
        sae.steps_since_fired_ = np.where(fired, 0, sae.steps_since_fired_ + 1)
        sae.steps_ += 1
        sae.loss_history_.append(loss)
        if callback is not None:
            callback(sae.steps_, loss)
    return sae


def fit_sae(
    activations: Any,
    n_latents: int,
    *,
    rng: Any = 0,
    callback: Callable[[int, float], None] | None = None,
    **settings: Any,
) -> SparseAutoencoder:
    """Train an SAE on an array of activation rows, shape (n, d).

    ``settings`` are those of :func:`train_sae` (``k``, ``l1``, ``steps``, ``batch_size``,
    ``lr``, ``dead_steps``, ``dtype``); batches are drawn exactly as :func:`train_sae` draws its
    inputs, so both train the same SAE from the same activations.
    """
    cfg = SAETrainConfig(n_latents=n_latents, **settings)
    A = activation_rows(np.asarray(activations))
    cfg.check(len(A))
    gen = as_rng(rng)
    sae = cfg.new_sae(A.shape[1], gen)
    batches = _array_batches(A, cfg.batch_size, cfg.steps, gen)
    return _train(sae, batches, cfg, callback)


def train_sae(
    model: Any,
    data: Any,
    hook_name: str,
    n_latents: int,
    *,
    k: int | None = None,
    l1: float = 1e-3,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 1e-3,
    dead_steps: int = 200,
    rng: Any = 0,
    dtype: Any = np.float32,
    callback: Callable[[int, float], None] | None = None,
) -> SparseAutoencoder:
    """Train a sparse autoencoder on the activations of ``model`` at ``hook_name``.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Run in evaluation mode, through :func:`tinylens.hooked`; never changed.
    data : Dataset, (X, y) or array of shape (n_samples, ...)
        The inputs; each step runs ``batch_size`` of them (shuffled, epoch after epoch).
    hook_name : str
        The hook point. At an image hook point every position is one row of ``channels``.
    n_latents : int
    k : int, optional
        TopK latents; None: ReLU latents with an L1 penalty ``l1``.
    l1 : float
    steps, batch_size, lr : training length, inputs per step, Adam learning rate
    dead_steps : int
        A latent that has not fired for this many steps is dead and trained by AuxK (our
        setting; Gao et al. count 10M tokens).
    rng : int or Generator
        Initialisation and batch order.
    dtype : numpy float dtype of the SAE
    callback : callable(step, loss), optional

    Returns
    -------
    SparseAutoencoder
    """
    from tinylens.errors import UnknownNameError
    from tinylens.hooks import evaluating, hooked

    cfg = SAETrainConfig(n_latents, k, l1, steps, batch_size, lr, dead_steps, np.dtype(dtype).name)
    X = np.asarray(getattr(data, "X", data[0] if isinstance(data, tuple) else data))
    cfg.check(len(X))
    gen = as_rng(rng)
    net = hooked(model)
    if hook_name not in net.hook_names:
        raise UnknownNameError("hook point", hook_name, net.hook_names)
    with evaluating(net) as h:
        d = activation_rows(h.forward_to(X[:1], hook_name)).shape[1]
    sae = cfg.new_sae(d, gen, hook_name)
    batches = stream_activations(net, X, hook_name, cfg.batch_size, cfg.steps, gen)
    return _train(sae, batches, cfg, callback)
