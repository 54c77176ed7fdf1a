"""Sparse autoencoders (sparse dictionaries) on any hooked activation, in NumPy.

An SAE rewrites an activation ``x`` (``d`` numbers) as a sparse, non-negative combination of
``n_latents`` learned directions (the rows of ``W_dec``)::

    z     = f(W_enc^T (x - b_dec) + b_enc)      latents, shape (n_latents,)
    x_hat = W_dec^T z + b_dec                    reconstruction, shape (d,)

with ``f`` either ReLU, trained with an L1 penalty (Bricken et al., 2023, "Towards
Monosemanticity", Anthropic), or TopK, which keeps the ``k`` largest pre-activations and needs no
penalty (Gao et al., 2024, "Scaling and evaluating sparse autoencoders", OpenAI). The loss is::

    L = mean_(batch, dims) (x_hat - x)^2 + l1 * mean_batch sum_i z_i + aux_coef * L_aux

What we follow, and where it comes from:

* **Unit-norm decoder rows** (both papers): before each Adam step the gradient component
  parallel to each decoder row is removed, and after the step each row is renormalised to
  norm 1. The L1 penalty therefore cannot be dodged by shrinking ``z`` and growing ``W_dec``.
* **Encoder initialised as the decoder's transpose** and ``b_dec`` as the mean of the first
  batch (Gao et al. initialise ``b_pre`` at the geometric median; the mean is our choice).
* **Dead latents: the AuxK loss** of Gao et al.: a latent is dead when it has not fired for
  ``dead_steps`` steps; ``L_aux`` is the MSE between the residual ``x - x_hat`` (held fixed)
  and its reconstruction from the ``k_aux`` largest dead latents alone, weighted by
  ``aux_coef = 1/32`` (the paper's). Gao et al. use it with TopK; we apply the same loss to ReLU
  SAEs too (our choice), which saves a second mechanism (resampling).
* **TopK**: ``z = ReLU(TopK(pre))`` as in the paper's released code.

The gradients are written by hand (:func:`sae_loss_and_grads`) and checked against
``torch.autograd`` in the tests; the optimizer is the engine's :class:`~tinylens.engine.Adam`.
Activations are streamed from the model in batches through the hook API: the dataset's
activations are never cached as a whole.

Training lives in :mod:`tinylens.superposition.sae_training`.

>>> import numpy as np
>>> sae = SparseAutoencoder(4, 8, k=2, rng=0)
>>> sae.encode(np.ones((3, 4))).shape, np.linalg.norm(sae.W_dec_, axis=1).round(6).tolist()[:2]
((3, 8), [1.0, 1.0])
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.engine.init import as_rng
from tinylens.engine.module import Parameter
from tinylens.errors import (
    ConfigError,
    ShapeError,
    WeightsFileError,
)

__all__ = [
    "AUX_COEF",
    "SAE_FORMAT",
    "SparseAutoencoder",
    "activation_rows",
    "as_dataframe",
    "sae_loss_and_grads",
]

AUX_COEF = 1.0 / 32.0
"""Weight of the AuxK loss (Gao et al., 2024, section 2.4)."""

SAE_FORMAT = "tinylens-sae/1"
"""The ``format`` entry of a saved SAE's safetensors metadata."""


def activation_rows(act: Any) -> np.ndarray:
    """Activation vectors as rows: (batch, d) stays; (batch, channels, h, w) becomes
    (batch * h * w, channels), one row per position (a convolution's SAE reads channels)."""
    a = np.asarray(act)
    if a.ndim == 2:
        return a
    if a.ndim > 2:
        return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])
    raise ShapeError(f"activations must be (batch, units...), got shape {a.shape}")


def rows_to_activation(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`activation_rows` for an activation of ``shape``."""
    if len(shape) == 2:
        return rows.reshape(shape)
    moved = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(rows.reshape(moved), -1, 1)


@dataclass(frozen=True)
class _Forward:
    xc: np.ndarray  # x - b_dec
    pre: np.ndarray  # pre-activations
    mask: np.ndarray  # where z = pre (bool)
    z: np.ndarray
    x_hat: np.ndarray


def _topk_mask(pre: np.ndarray, k: int) -> np.ndarray:
    """True at each row's ``k`` largest positive entries (ties: argpartition's pick)."""
    if k >= pre.shape[1]:
        return pre > 0
    idx = np.argpartition(pre, -k, axis=1)[:, -k:]
    mask = np.zeros(pre.shape, dtype=bool)
    np.put_along_axis(mask, idx, True, axis=1)
    return mask & (pre > 0)


class SparseAutoencoder:
    """A sparse autoencoder of ``d``-dimensional activations with ``n_latents`` latents.

    Parameters
    ----------
    d : int
    n_latents : int
    k : int, optional
        TopK latents (``k`` of them nonzero); None: ReLU latents with an L1 penalty.
    l1 : float
        L1 coefficient (ReLU SAEs only; ignored with TopK).
    k_aux : int, optional
        Dead latents used by the AuxK loss (default ``d // 2``, Gao et al.).
    aux_coef : float
    rng : int or Generator
        Initial decoder directions (uniform on the sphere).
    dtype : numpy float dtype

    Attributes
    ----------
    W_enc_ : array of shape (d, n_latents)
    b_enc_ : array of shape (n_latents,)
    W_dec_ : array of shape (n_latents, d)
        One unit-norm dictionary direction per row.
    b_dec_ : array of shape (d,)
    steps_ : int
        Training steps taken.
    loss_history_ : list of float
        Training loss per step.
    steps_since_fired_ : array of int of shape (n_latents,)
        For the dead-latent rule.
    """

    def __init__(
        self,
        d: int,
        n_latents: int,
        *,
        k: int | None = None,
        l1: float = 1e-3,
        k_aux: int | None = None,
        aux_coef: float = AUX_COEF,
        hook_name: str = "",
        rng: Any = 0,
        dtype: Any = np.float32,
    ) -> None:
        if d < 1 or n_latents < 1:
            raise ConfigError(f"an SAE needs d >= 1 and n_latents >= 1, got {d} and {n_latents}")
        if k is not None and not 1 <= k <= n_latents:
            raise ConfigError(f"k must lie in 1..{n_latents} (the latents), got {k}")
        if not (l1 >= 0 and math.isfinite(l1)):
            raise ConfigError(f"l1 must be a number >= 0, got {l1}")
        self.d, self.n_latents, self.k, self.l1 = int(d), int(n_latents), k, float(l1)
        self.k_aux = int(k_aux) if k_aux is not None else max(1, self.d // 2)
        self.aux_coef = float(aux_coef)
        self.hook_name = hook_name
        self.dtype = np.dtype(dtype)
        gen = as_rng(rng)
        W_dec = gen.normal(size=(n_latents, d))
        W_dec /= np.linalg.norm(W_dec, axis=1, keepdims=True)
        self._W_enc = Parameter(np.ascontiguousarray(W_dec.T, dtype=self.dtype), "W_enc")
        self._b_enc = Parameter(np.zeros(n_latents, dtype=self.dtype), "b_enc")
        self._W_dec = Parameter(W_dec.astype(self.dtype), "W_dec")
        self._b_dec = Parameter(np.zeros(d, dtype=self.dtype), "b_dec")
        self.steps_ = 0
        self.loss_history_: list[float] = []
        self.steps_since_fired_ = np.zeros(n_latents, dtype=np.int64)

    # -- learned attributes -----------------------------------------------------------------------
    @property
    def parameters(self) -> list[Parameter]:
        return [self._W_enc, self._b_enc, self._W_dec, self._b_dec]

    @property
    def W_enc_(self) -> np.ndarray:
        return self._W_enc.data

    @property
    def b_enc_(self) -> np.ndarray:
        return self._b_enc.data

    @property
    def W_dec_(self) -> np.ndarray:
        return self._W_dec.data

    @property
    def b_dec_(self) -> np.ndarray:
        return self._b_dec.data

    @property
    def kind(self) -> str:
        return "relu" if self.k is None else "topk"

    # -- the map ----------------------------------------------------------------------------------
    def _forward(self, x: np.ndarray) -> _Forward:
        xc = x - self.b_dec_
        pre = xc @ self.W_enc_ + self.b_enc_
        mask = pre > 0 if self.k is None else _topk_mask(pre, self.k)
        z = np.where(mask, pre, 0).astype(pre.dtype, copy=False)
        return _Forward(xc, pre, mask, z, z @ self.W_dec_ + self.b_dec_)

    def _rows(self, x: Any) -> np.ndarray:
        a = np.asarray(x, dtype=self.dtype)
        if a.ndim != 2 or a.shape[1] != self.d:
            raise ShapeError(
                f"activations have shape {a.shape}; this SAE reads rows of {self.d} numbers "
                "(pass an (n, d) array, or use activation_rows on an image activation)"
            )
        return a

    def encode(self, x: Any) -> np.ndarray:
        """Latents of activations ``x`` of shape (n, d): shape (n, n_latents), all >= 0."""
        return self._forward(self._rows(x)).z

    def decode(self, z: Any) -> np.ndarray:
        """Reconstructions of latents ``z`` of shape (n, n_latents): shape (n, d)."""
        z = np.asarray(z, dtype=self.dtype)
        if z.ndim != 2 or z.shape[1] != self.n_latents:
            raise ShapeError(f"latents have shape {z.shape}; expected (n, {self.n_latents})")
        return z @ self.W_dec_ + self.b_dec_

    def reconstruct(self, x: Any) -> np.ndarray:
        """``decode(encode(x))``."""
        return self._forward(self._rows(x)).x_hat

    def dead_mask(self, dead_steps: int) -> np.ndarray:
        """Latents that have not fired in the last ``dead_steps`` training steps."""
        return self.steps_since_fired_ >= dead_steps

    # -- training ---------------------------------------------------------------------------------
    def constrain_gradient(self) -> None:
        """Remove the part of each decoder row's gradient parallel to the row (Bricken et al.)."""
        W, g = self.W_dec_, self._W_dec.grad
        g -= np.sum(g * W, axis=1, keepdims=True) * W

    def normalise_decoder(self) -> None:
        """Rescale every decoder row to norm 1."""
        W = self.W_dec_
        W /= np.maximum(np.linalg.norm(W, axis=1, keepdims=True), np.finfo(W.dtype).tiny)

    # -- display ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        sparsity = f"k={self.k}" if self.k is not None else f"l1={self.l1:g}"
        where = f", hook={self.hook_name!r}" if self.hook_name else ""
        return (
            f"SparseAutoencoder(d={self.d}, n_latents={self.n_latents}, {self.kind}, {sparsity}"
            f"{where}, steps={self.steps_})"
        )

    def to_dict(self) -> dict[str, list[Any]]:
        """One row per latent: decoder norm, encoder bias, steps since it last fired."""
        return {
            "latent": list(range(self.n_latents)),
            "decoder_norm": np.linalg.norm(self.W_dec_, axis=1).tolist(),
            "b_enc": self.b_enc_.tolist(),
            "steps_since_fired": self.steps_since_fired_.tolist(),
        }

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame`` (needs pandas)."""
        return as_dataframe(self.to_dict())

    def _repr_html_(self) -> str:
        last = f"{self.loss_history_[-1]:.4g}" if self.loss_history_ else "-"
        rows = [
            ("input dimension d", self.d),
            ("latents", self.n_latents),
            ("latent function", self.kind if self.k is None else f"TopK, k={self.k}"),
            ("L1 coefficient", "-" if self.k is not None else f"{self.l1:g}"),
            ("hook point", self.hook_name or "-"),
            ("steps", self.steps_),
            ("last training loss", last),
        ]
        return _html_table("SparseAutoencoder", rows)

    def plot(self, ax: Any = None) -> Any:
        """The training loss per step (log scale); returns the matplotlib Figure."""
        fig, ax = _axes(ax)
        ax.plot(np.arange(1, len(self.loss_history_) + 1), self.loss_history_, lw=1)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("training loss")
        ax.set_title(f"SAE training loss ({self.kind}, {self.n_latents} latents)")
        return fig

    # -- files ------------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the SAE as a safetensors file (atomically; no pickle)."""
        from safetensors.numpy import save_file

        from tinylens.io import atomic_path

        tensors = {p.name: np.ascontiguousarray(p.data) for p in self.parameters}
        tensors["steps_since_fired"] = self.steps_since_fired_.copy()
        tensors["loss_history"] = np.asarray(self.loss_history_, dtype=np.float64)
        meta = {
            "format": SAE_FORMAT,
            "config": json.dumps(
                {
                    "d": self.d,
                    "n_latents": self.n_latents,
                    "k": self.k,
                    "l1": self.l1,
                    "k_aux": self.k_aux,
                    "aux_coef": self.aux_coef,
                    "hook_name": self.hook_name,
                    "steps": self.steps_,
                }
            ),
        }
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SparseAutoencoder:
        """Read an SAE written by :meth:`save`."""
        from safetensors import safe_open
        from safetensors.numpy import load_file

        if not os.path.exists(path):
            raise WeightsFileError(f"SAE file {os.fspath(path)!r} does not exist")
        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
            tensors = load_file(str(path))
        except Exception as exc:  # safetensors raises its own types for a corrupt file
            raise WeightsFileError(f"cannot read SAE file {os.fspath(path)!r}: {exc}") from None
        if meta.get("format") != SAE_FORMAT:
            raise WeightsFileError(
                f"{os.fspath(path)!r} is not a tinylens SAE file (format "
                f"{meta.get('format')!r}, expected {SAE_FORMAT!r}); write one with "
                "SparseAutoencoder.save"
            )
        cfg = json.loads(meta["config"])
        sae = cls(
            cfg["d"],
            cfg["n_latents"],
            k=cfg["k"],
            l1=cfg["l1"],
            k_aux=cfg["k_aux"],
            aux_coef=cfg["aux_coef"],
            hook_name=cfg["hook_name"],
            dtype=tensors["W_enc"].dtype,
        )
        for p in sae.parameters:
            p.data[...] = tensors[p.name]
        if not all(np.isfinite(p.data).all() for p in sae.parameters):
            raise WeightsFileError(f"SAE file {os.fspath(path)!r} holds NaN or infinite weights")
        sae.steps_ = int(cfg["steps"])
        sae.steps_since_fired_ = tensors["steps_since_fired"].astype(np.int64)
        sae.loss_history_ = tensors["loss_history"].tolist()
        return sae


def _html_table(caption: str, rows: Any) -> str:
    """A two-column HTML table of ``(label, value)`` pairs, escaped (for ``_repr_html_``)."""
    import html

    body = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f"<table><caption>{html.escape(caption)}</caption>{body}</table>"


def _axes(ax: Any) -> tuple[Any, Any]:
    """``(figure, axes)``: ``ax`` and its figure, or a new 5x3 inch figure kept out of pyplot
    (the layer contract keeps ``tinylens.viz`` out of reach; this is its ``new_axes``)."""
    from matplotlib.figure import Figure

    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=(5, 3), layout="constrained")
    return fig, fig.subplots()


def as_dataframe(table: dict[str, list[Any]]) -> Any:
    from tinylens._optional import require_pandas

    return require_pandas().DataFrame(table)


def sae_loss_and_grads(
    sae: SparseAutoencoder, x: np.ndarray, dead: np.ndarray | None = None
) -> tuple[float, dict[str, np.ndarray], _Forward]:
    """The loss on a batch ``x`` of shape (B, d) and its gradients, by hand.

    ``dead`` (bool, shape (n_latents,)) switches on the AuxK loss over those latents.
    Returns ``(loss, {"W_enc": ..., "b_enc": ..., "W_dec": ..., "b_dec": ...}, forward)``.
    """
    B, d = x.shape
    f = sae._forward(x)
    e = f.x_hat - x
    scale = 1.0 / (B * d)
    loss = float(np.sum(e * e)) * scale
    g_xhat = (2.0 * scale) * e
    W_dec = sae.W_dec_
    g_z = g_xhat @ W_dec.T
    if sae.k is None and sae.l1:
        loss += sae.l1 * float(np.sum(f.z)) / B
        g_z += sae.l1 / B
    g_pre = np.where(f.mask, g_z, 0)
    gW_dec = f.z.T @ g_xhat
    if dead is not None and dead.any():
        k_aux = min(sae.k_aux, int(dead.sum()))
        pre_dead = np.where(dead[None, :], f.pre, -np.inf)
        m_aux = _topk_mask(pre_dead, k_aux)
        z_aux = np.where(m_aux, f.pre, 0).astype(f.pre.dtype, copy=False)
        e_aux = z_aux @ W_dec - (x - f.x_hat)  # the residual is a fixed target
        loss += sae.aux_coef * float(np.sum(e_aux * e_aux)) * scale
        g_ehat = (2.0 * sae.aux_coef * scale) * e_aux
        gW_dec += z_aux.T @ g_ehat
        g_pre += np.where(m_aux, g_ehat @ W_dec.T, 0)
    g_xc = g_pre @ sae.W_enc_.T
    grads = {
        "W_enc": f.xc.T @ g_pre,
        "b_enc": g_pre.sum(axis=0),
        "W_dec": gW_dec,
        "b_dec": g_xhat.sum(axis=0) - g_xc.sum(axis=0),
    }
    return loss, grads, f
