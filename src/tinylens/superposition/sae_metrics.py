"""What SAE users measure, in one streaming pass over held-out data.

For a trained :class:`~tinylens.superposition.SparseAutoencoder` at hook point ``h`` of a model,
:func:`evaluate_sae` runs the data in batches and gathers (``x`` an activation row, ``z`` its
latents, ``x_hat`` its reconstruction, ``N`` the rows)::

    L0                  mean over rows of #{i : z_i > 0}
    MSE                 sum ||x - x_hat||^2 / (N d)
    FVE                 1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2   (fraction of variance
                        explained; the mean over the evaluation rows)
    spliced loss / acc  the model's cross-entropy and accuracy with h's output replaced by its
                        reconstruction (a forward hook, ``run_with_hooks``)
    zero-ablated        the same with h's output set to 0
    loss recovered      (L_zero - L_spliced) / (L_zero - L_clean), as in the SAE literature
                        (e.g. Bricken et al., 2023); 1 is as good as the real activation
    firing frequency    per latent, the fraction of rows where it is > 0
    dead latents        firing frequency 0 on the evaluation data (:data:`DEAD_FREQUENCY`)
    dense latents       firing frequency above :data:`DENSE_FREQUENCY`

With labels it also keeps, per class, the mean of every latent and of every unit of ``h`` (a
unit's value for an image is its mean over positions at a convolution), and each unit's and
latent's top activating samples, for the polysemanticity measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.engine.losses import CrossEntropyLoss
from tinylens.errors import ConfigError
from tinylens.superposition.sae import (
    SparseAutoencoder,
    _axes,
    _html_table,
    activation_rows,
    as_dataframe,
    rows_to_activation,
)

__all__ = ["DEAD_FREQUENCY", "DENSE_FREQUENCY", "SAEEvaluation", "evaluate_sae"]

DEAD_FREQUENCY = 0.0
"""A latent is dead when it fires on no evaluation row (firing frequency <= 0)."""

DENSE_FREQUENCY = 0.1
"""A latent is dense when it fires on more than 10% of rows (our threshold; Anthropic's
"Towards Monosemanticity" reports latent density on a log scale and treats those near 1e-1 and
above as the dense cluster)."""


@dataclass
class SAEEvaluation:
    """Metrics of an SAE on held-out data (see the module docstring).

    Attributes ending in ``_`` are measured; the scalars are also in :meth:`metrics`.
    """

    hook_name: str
    n_rows: int
    d: int
    l0_: float
    mse_: float
    fve_: float
    firing_frequency_: np.ndarray
    clean_loss_: float = float("nan")
    clean_accuracy_: float = float("nan")
    spliced_loss_: float = float("nan")
    spliced_accuracy_: float = float("nan")
    zero_loss_: float = float("nan")
    zero_accuracy_: float = float("nan")
    latent_class_means_: np.ndarray | None = None
    unit_class_means_: np.ndarray | None = None
    top_latent_samples_: np.ndarray | None = None
    top_unit_samples_: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def dead_(self) -> np.ndarray:
        return self.firing_frequency_ <= DEAD_FREQUENCY

    @property
    def dense_(self) -> np.ndarray:
        return self.firing_frequency_ > DENSE_FREQUENCY

    @property
    def loss_recovered_(self) -> float:
        gap = self.zero_loss_ - self.clean_loss_
        return float((self.zero_loss_ - self.spliced_loss_) / gap) if gap else float("nan")

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "evaluation rows": self.n_rows,
            "L0 (mean active latents)": round(self.l0_, 4),
            "fraction of variance explained": round(self.fve_, 6),
            "reconstruction MSE": float(f"{self.mse_:.6g}"),
            "dead latents": int(self.dead_.sum()),
            f"dense latents (> {DENSE_FREQUENCY:g} of rows)": int(self.dense_.sum()),
        }
        if not np.isnan(self.clean_loss_):
            out.update(
                {
                    "clean loss": round(self.clean_loss_, 6),
                    "clean accuracy": round(self.clean_accuracy_, 6),
                    "spliced loss": round(self.spliced_loss_, 6),
                    "spliced accuracy": round(self.spliced_accuracy_, 6),
                    "zero-ablated loss": round(self.zero_loss_, 6),
                    "zero-ablated accuracy": round(self.zero_accuracy_, 6),
                    "loss recovered": round(self.loss_recovered_, 6),
                }
            )
        return out

    def __repr__(self) -> str:
        spliced = (
            f", spliced_acc={self.spliced_accuracy_:.4f}"
            if not np.isnan(self.spliced_accuracy_)
            else ""
        )
        return (
            f"SAEEvaluation({self.hook_name!r}, rows={self.n_rows}, L0={self.l0_:.2f}, "
            f"FVE={self.fve_:.4f}, dead={int(self.dead_.sum())}{spliced})"
        )

    def _repr_html_(self) -> str:
        return _html_table(f"SAE evaluation at {self.hook_name}", self.metrics().items())

    def to_dict(self) -> dict[str, list[Any]]:
        """One row per latent: its firing frequency, and whether it is dead or dense."""
        return {
            "latent": list(range(len(self.firing_frequency_))),
            "firing_frequency": self.firing_frequency_.tolist(),
            "dead": self.dead_.tolist(),
            "dense": self.dense_.tolist(),
        }

    def to_pandas(self) -> Any:
        return as_dataframe(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Histogram of log10 firing frequency of the live latents; returns the Figure."""
        fig, ax = _axes(ax)
        live = self.firing_frequency_[~self.dead_]
        ax.hist(np.log10(live) if live.size else [], bins=30, color="#4477aa")
        ax.axvline(np.log10(DENSE_FREQUENCY), color="#cc3311", lw=1, ls="--", label="dense")
        ax.set_xlabel("log10 firing frequency")
        ax.set_ylabel("latents")
        ax.set_title(f"{self.hook_name}: {int(self.dead_.sum())} dead latents not shown")
        ax.legend(frameon=False)
        return fig


class _TopK:
    """Running top ``k`` sample indices per column of a stream of (batch, units) values."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.values: np.ndarray | None = None
        self.index: np.ndarray | None = None

    def update(self, values: np.ndarray, start: int) -> None:
        idx = np.broadcast_to(np.arange(start, start + len(values))[:, None], values.shape)
        if self.values is not None and self.index is not None:
            values = np.concatenate([self.values, values])
            idx = np.concatenate([self.index, idx])
        # a stable sort on -value: ties keep the earlier sample
        order = np.argsort(-values, axis=0, kind="stable")[: self.k]
        self.values = np.take_along_axis(values, order, axis=0)
        self.index = np.take_along_axis(idx, order, axis=0)

    def result(self) -> np.ndarray | None:
        return None if self.index is None else self.index.T.copy()


def _per_sample(rows: np.ndarray, n: int) -> np.ndarray:
    """(n, units): each sample's mean over its positions (one row per sample already at a
    dense hook point)."""
    return rows.reshape(n, -1, rows.shape[1]).mean(axis=1)


def evaluate_sae(
    sae: SparseAutoencoder,
    model: Any,
    data: Any,
    *,
    hook_name: str | None = None,
    batch_size: int = 1024,
    top_k: int = 9,
) -> SAEEvaluation:
    """Measure ``sae`` at its hook point of ``model`` on ``data``, streamed in batches.

    Parameters
    ----------
    sae : SparseAutoencoder
    model : engine Sequential, torch.nn.Module or HookedModule
    data : Dataset, (X, y) or array of shape (n_samples, ...)
        With labels (a classification Dataset or (X, y)): the model's loss and accuracy clean,
        spliced and zero-ablated, and the per-class means and top samples.
    hook_name : str, optional
        Default: the SAE's own ``hook_name``.
    batch_size : int
    top_k : int
        Top activating samples kept per unit and per latent.
    """
    from tinylens.hooks import evaluating

    name = hook_name or sae.hook_name
    if not name:
        raise ConfigError("the SAE has no hook_name; pass hook_name=")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    X = np.asarray(getattr(data, "X", data[0] if isinstance(data, tuple) else data))
    y = getattr(data, "y", data[1] if isinstance(data, tuple) else None)
    labelled = y is not None and getattr(data, "task", "classification") == "classification"
    if labelled:
        y = np.asarray(y).astype(np.int64)
        k = int(getattr(data, "n_classes", 0) or y.max() + 1)
    ce = CrossEntropyLoss()
    n_rows, sum_x, sum_x2, sum_err, l0 = 0, np.zeros(sae.d), 0.0, 0.0, 0
    fired = np.zeros(sae.n_latents, dtype=np.int64)
    totals = {"clean": [0.0, 0], "spliced": [0.0, 0], "zero": [0.0, 0]}
    lat_sums = np.zeros((k, sae.n_latents)) if labelled else None
    unit_sums = np.zeros((k, sae.d)) if labelled else None
    counts = np.zeros(k, dtype=np.int64) if labelled else None
    top_lat, top_unit = _TopK(top_k), _TopK(top_k)
    with evaluating(model) as net:
        for start in range(0, len(X), batch_size):
            xb = X[start : start + batch_size]
            out, cache = net.run_with_cache(xb, names=[name])
            act = np.asarray(cache[name])
            rows = activation_rows(act)
            x = rows.astype(np.float64)
            z = sae.encode(rows)
            x_hat = sae.decode(z).astype(np.float64)
            n_rows += len(x)
            sum_x += x.sum(axis=0)
            sum_x2 += float(np.sum(x * x))
            sum_err += float(np.sum((x - x_hat) ** 2))
            active = z > 0
            l0 += int(active.sum())
            fired += active.sum(axis=0)
            if not labelled:
                continue
            yb = y[start : start + batch_size]
            recon = rows_to_activation(x_hat.astype(act.dtype), act.shape)
            spliced = net.run_with_hooks(xb, [(name, lambda a, n, r=recon: r)])
            zero = net.run_with_hooks(xb, [(name, lambda a, n: a * 0)])
            for key, logits in (("clean", out), ("spliced", spliced), ("zero", zero)):
                logits = np.asarray(logits, dtype=np.float64)
                totals[key][0] += ce(logits, yb) * len(xb)
                totals[key][1] += int(np.sum(np.argmax(logits, axis=1) == yb))
            z_s, u_s = _per_sample(z.astype(np.float64), len(xb)), _per_sample(x, len(xb))
            np.add.at(lat_sums, yb, z_s)
            np.add.at(unit_sums, yb, u_s)
            counts += np.bincount(yb, minlength=k)
            top_lat.update(z_s, start)
            top_unit.update(u_s, start)
    total_var = sum_x2 - float(sum_x @ sum_x) / n_rows
    result = SAEEvaluation(
        hook_name=name,
        n_rows=n_rows,
        d=sae.d,
        l0_=l0 / n_rows,
        mse_=sum_err / (n_rows * sae.d),
        fve_=1.0 - sum_err / total_var if total_var > 0 else float("nan"),
        firing_frequency_=fired / n_rows,
    )
    if labelled:
        n = len(X)
        result.clean_loss_, result.clean_accuracy_ = totals["clean"][0] / n, totals["clean"][1] / n
        result.spliced_loss_ = totals["spliced"][0] / n
        result.spliced_accuracy_ = totals["spliced"][1] / n
        result.zero_loss_, result.zero_accuracy_ = totals["zero"][0] / n, totals["zero"][1] / n
        with np.errstate(invalid="ignore", divide="ignore"):
            result.latent_class_means_ = lat_sums / counts[:, None]
            result.unit_class_means_ = unit_sums / counts[:, None]
        result.top_latent_samples_ = top_lat.result()
        result.top_unit_samples_ = top_unit.result()
    return result
