"""The basis study's result: the trained network, its decomposition at every snapshot, and the
width sweep. Plain data; :func:`tinylens.studies.basis.write` turns it into files.

``basis_frames.json`` (schema ``tinylens.basis_frames/1``)
----------------------------------------------------------
One JSON object; floats rounded to 4 significant digits (curves) or 6 (weights)::

    {"schema": "tinylens.basis_frames/1",
     "target": "sine", "description": "sin(x) on [0, 2pi]",
     "hidden_dim": 15, "activation": "relu",
     "x": [...],                       # the grid, G points over the data range
     "target_y": [...],                # the noise-free target on the grid
     "data": {"x": [...], "y": [...]}, # the training data
     "ylim": [lo, hi],                 # a y range that holds every frame (for a fixed axis)
     "frames": [                       # one per snapshot, in epoch order (epoch 0 = init)
       {"epoch": 0,
        "loss": 0.53,                  # MSE of this snapshot on the training data
        "b_out": 0.1,
        "output": [...],               # the network on the grid (= sum of ghosts + b_out)
        "slopes": [...],               # per neuron: w_in
        "biases": [...],               #             b_in
        "kinks": [...],                #             -b_in / w_in, null for a zero slope
        "importances": [...],          #             w_out
        "active_side": [...],          #             "right", "left", "always", "never"
        "dead_on_data": [...],         #             never fires on the training data
        "ghosts": [[...], ...]}        # per neuron: w_out * relu(w_in x + b_in) on the grid
     ]}
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.data import TARGETS, Dataset
from tinylens.engine import Sequential
from tinylens.geometry.basis import BasisDecomposition
from tinylens.studies.basis.config import BasisStudyConfig
from tinylens.studies.basis.sweep import WidthSweep
from tinylens.training import History

__all__ = ["SCHEMA", "BasisResult", "frame_of"]

SCHEMA = "tinylens.basis_frames/1"


def _round(values: Any, digits: int) -> Any:
    """Round to ``digits`` significant digits, recursively; None and non-finite become None.

    Numeric arrays take one pass over ``tolist()`` (the recursion costs 4x more on the frames'
    ~40,000 curve values)."""
    if values is None:
        return None
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return [_round(v, digits) for v in values] if values.ndim > 1 else _floats(values, digits)
    if isinstance(values, (list, tuple, np.ndarray)):
        if values and all(type(v) is float for v in values):
            return _floats(values, digits)
        return [_round(v, digits) for v in values]
    if isinstance(values, (bool, np.bool_, str)):
        return values if not isinstance(values, np.bool_) else bool(values)
    v = float(values)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _floats(values: Any, digits: int) -> list[float | None]:
    spec = f".{digits}g"
    items = values.tolist() if isinstance(values, np.ndarray) else values
    return [float(format(v, spec)) if math.isfinite(v) else None for v in items]


def frame_of(
    basis: BasisDecomposition, epoch: int, loss: float, grid: np.ndarray
) -> dict[str, Any]:
    """One entry of ``basis_frames.json`` (see the module docstring)."""
    ghosts = basis.ghosts(grid)[:, :, 0]
    return {
        "epoch": int(epoch),
        "loss": _round(loss, 6),
        "b_out": _round(basis.b_out[0], 6),
        "output": _round((ghosts.sum(axis=1) + basis.b_out[0]).tolist(), 4),
        "slopes": _round(basis.slopes.tolist(), 6),
        "biases": _round(basis.b_in.tolist(), 6),
        "kinks": _round(basis.kinks, 6),
        "importances": _round(basis.importances.tolist(), 6),
        "active_side": basis.active_side,
        "dead_on_data": [bool(v) for v in basis.dead_on_data]
        if basis.dead_on_data is not None
        else None,
        "ghosts": _round(ghosts.T.tolist(), 4),
    }


@dataclass
class BasisResult:
    """What :func:`tinylens.studies.basis.run` measured.

    Attributes
    ----------
    net : Sequential
        The trained ``1 -> hidden -> 1`` network.
    history : History
    data : Dataset
        The training points.
    basis : BasisDecomposition
        The trained network's neurons (kinks, slopes, importances, dead flags).
    grid : array of shape (grid_points, 1)
        Where the frames' curves are evaluated.
    frames : list of dict
        One ``basis_frames.json`` entry per snapshot.
    snapshots : list of (epoch, state_dict)
    sweep : WidthSweep or None
    metrics : dict
        train_loss, rmse_on_target, neurons, kinks_in_domain, dead_on_data (also at the start:
        dead_at_init), dead_on_domain, zero_slope, frames, epochs_run.
    """

    config: BasisStudyConfig
    net: Sequential
    history: History
    data: Dataset
    basis: BasisDecomposition
    grid: np.ndarray
    frames: list[dict[str, Any]]
    snapshots: list[tuple[int, dict[str, np.ndarray]]]
    sweep: WidthSweep | None
    metrics: dict[str, Any]

    def frames_json(self) -> dict[str, Any]:
        """The whole ``basis_frames.json`` object."""
        cfg = self.config
        fn, _, description = TARGETS[cfg.target]
        outs = np.array([f["output"] for f in self.frames], dtype=float)
        lo = float(min(outs.min(), self.data.y.min()))
        hi = float(max(outs.max(), self.data.y.max()))
        pad = 0.1 * (hi - lo or 1.0)
        return {
            "schema": SCHEMA,
            "target": cfg.target,
            "description": description,
            "hidden_dim": cfg.hidden,
            "activation": self.basis.activation,
            "x": _round(self.grid[:, 0].tolist(), 6),
            "target_y": _round(np.asarray(fn(self.grid[:, 0])).tolist(), 4),
            "data": {
                "x": _round(self.data.X[:, 0].tolist(), 6),
                "y": _round(self.data.y[:, 0].tolist(), 4),
            },
            "ylim": _round([lo - pad, hi + pad], 4),
            "frames": self.frames,
        }

    def save(self, run_dir: Any) -> None:
        """Write the run into ``run_dir`` (a :class:`~tinylens.io.RunDir` or a new directory's
        path): the same files and report section as ``tinylens basis``."""
        from tinylens.io import RunDir
        from tinylens.studies.basis.write import write

        if isinstance(run_dir, (str, Path)):
            with RunDir(Path(run_dir)) as run:
                write(self, run)
            return
        write(self, run_dir)

    # -- display --------------------------------------------------------------------------------
    def __repr__(self) -> str:
        m = self.metrics
        return (
            f"BasisResult({self.config.target}, 1-{self.config.hidden}-1 after {m['epochs_run']} "
            f"epochs: rmse_on_target={m['rmse_on_target']:.4g}, "
            f"kinks_in_domain={m['kinks_in_domain']}, dead_on_data={m['dead_on_data']}, "
            f"frames={m['frames']}, sweep={'yes' if self.sweep is not None else 'no'})"
        )

    def _repr_html_(self) -> str:
        keys = ("rmse_on_target", "train_loss", "kinks_in_domain", "dead_on_data", "epochs_run")
        numbers = ", ".join(f"{k}: {self.metrics[k]:.4g}" for k in keys)
        return (
            f"<div><b>basis study: {html.escape(self.config.target)}</b>, "
            f"1-{self.config.hidden}-1 ReLU ({html.escape(numbers)})"
            f"{self.basis._repr_html_()}</div>"
        )

    def to_pandas(self) -> Any:
        """One row per neuron of the trained network (see ``BasisDecomposition.to_dict``)."""
        return self.basis.to_pandas()

    def plot(self, ax: Any = None) -> Any:
        """The trained network as its neurons' ghosts, with the target and the data; returns
        the matplotlib Figure (``ax``'s, when given)."""
        from tinylens.viz.basis import draw_ghosts, plot_ghosts

        x = self.grid[:, 0]
        target = np.asarray(TARGETS[self.config.target].fn(x))
        data = (self.data.X[:, 0], self.data.y[:, 0])
        ghosts, out = self.basis.ghosts(self.grid)[:, :, 0], self.basis.output(self.grid)[:, 0]
        epochs = self.metrics["epochs_run"]
        title = f"{self.config.target}: {self.config.hidden} neurons, epoch {epochs}"
        common = {"kinks": self.basis.kinks, "dead": self.basis.dead_on_data}
        if ax is not None:
            draw_ghosts(ax, x, ghosts, out, target=target, data=data, title=title, **common)
            return ax.figure
        return plot_ghosts(
            x,
            ghosts,
            out,
            importances=self.basis.importances,
            target=target,
            data=data,
            title=title,
            **common,
        )
