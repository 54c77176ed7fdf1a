"""The basis study behind ``tinylens basis``: a 1-h-1 ReLU net as a sum of kinked lines.

Trains a one-hidden-layer network on a 1-D target with the project's ``fit`` (keeping a weight
snapshot every few epochs), decomposes every snapshot into its neurons' ghost functions, and
writes the pictures (basis, partial sums in kink order, kink trajectories, an animation for
slides), the per-snapshot data for the report's slider, and a width sweep (error against
hidden width for several targets and seeds).

>>> from tinylens.studies.basis import BasisStudyConfig, run_basis
>>> result = run_basis(BasisStudyConfig(hidden_dim=6, epochs=60, frames=4, sweep=False),
...                    quiet=True)
>>> [f["epoch"] for f in result.frames]
[0, 15, 30, 45, 60]
>>> len(result.frames[-1]["ghosts"]), len(result.frames[-1]["ghosts"][0]) == len(result.grid)
(6, True)

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

import json
import math
import shutil
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinylens.data import TARGETS, Dataset, regression_1d
from tinylens.engine import MLP, Sequential
from tinylens.engine.init import INITS
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.geometry.basis import BasisDecomposition, decompose
from tinylens.io import Figure, RunDir, Section, Table, format_number
from tinylens.progress import progress
from tinylens.training import History, TrainConfig, fit

__all__ = [
    "BasisResult",
    "BasisStudyConfig",
    "WidthSweep",
    "frame_of",
    "run_basis",
    "sweep_caption",
    "width_sweep",
]

SCHEMA = "tinylens.basis_frames/1"


@dataclass(frozen=True)
class BasisStudyConfig:
    """What ``tinylens basis`` does.

    Parameters
    ----------
    target : str
        A 1-D target of :data:`tinylens.data.TARGETS` (sine, polynomial, abs, rough).
    hidden_dim, epochs, optimizer, lr, batch_size :
        The network ``1 -> hidden_dim -> 1`` and its training (the source project's defaults:
        15 neurons, 1000 epochs, Adam at 0.05).
    n_samples, noise :
        Training points on an even grid over the target's range, with Gaussian noise.
    init : str
        Weight initialisation; ``torch`` (PyTorch's default, as in the source project) draws
        uniform biases, which spreads the kinks over the data. (``he`` starts every bias at 0,
        which puts every kink at x = 0, on the edge of the sine's range.)
    seed : int
    frames : int
        About this many snapshots for the slider and the animation (every
        ``max(1, epochs // frames)`` epochs, plus the initial and final weights).
    grid_points : int
        Resolution of the curves in ``basis_frames.json`` and the figures.
    animation : bool
        Write ``basis_evolution.gif`` (and ``.mp4`` when ffmpeg is installed).
    sweep, sweep_widths, sweep_targets, sweep_seeds, sweep_epochs, sweep_lr :
        The width sweep (full-batch Adam; RMSE against the noise-free target).
    """

    target: str = "sine"
    hidden_dim: int = 15
    epochs: int = 1000
    optimizer: str = "adam"
    lr: float | None = 0.05
    batch_size: int = 64
    n_samples: int = 200
    noise: float = 0.0
    init: str = "torch"
    seed: int = 2024
    frames: int = 50
    grid_points: int = 121
    animation: bool = True
    sweep: bool = True
    sweep_widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    sweep_targets: tuple[str, ...] = ("sine", "polynomial", "abs", "rough")
    sweep_seeds: int = 3
    sweep_epochs: int = 500
    sweep_lr: float = 0.05

    def __post_init__(self) -> None:
        for name in [self.target, *self.sweep_targets]:
            if name not in TARGETS:
                raise UnknownNameError("1-D target", name, TARGETS)
        if self.init not in INITS:
            raise UnknownNameError("initialisation", self.init, INITS)
        for key in ("hidden_dim", "epochs", "batch_size", "n_samples", "frames", "sweep_seeds"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{key} must be a positive integer, got {value!r}")
        if self.grid_points < 2:
            raise ConfigError(f"grid_points must be at least 2, got {self.grid_points}")
        if any(w < 1 for w in self.sweep_widths) or not self.sweep_widths:
            raise ConfigError(f"sweep widths must be positive, got {list(self.sweep_widths)}")
        object.__setattr__(self, "sweep_widths", tuple(int(w) for w in self.sweep_widths))
        object.__setattr__(self, "sweep_targets", tuple(self.sweep_targets))
        self.train_config()  # validates optimizer, lr, epochs

    @property
    def snapshot_every(self) -> int:
        return max(1, self.epochs // self.frames)

    def train_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            loss="mse",
            snapshot_every=self.snapshot_every,
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sweep_widths"] = list(self.sweep_widths)
        d["sweep_targets"] = list(self.sweep_targets)
        return d


# -- the width sweep -----------------------------------------------------------------------------
@dataclass
class WidthSweep:
    """RMSE against the noise-free target: ``errors[target]`` of shape (n_widths, n_seeds)."""

    widths: tuple[int, ...]
    errors: dict[str, np.ndarray]
    epochs: int

    def rows(self) -> list[list[Any]]:
        """``[target, width, median, min, max]`` per target and width."""
        return [
            [name, w, float(np.median(err[i])), float(err[i].min()), float(err[i].max())]
            for name, err in self.errors.items()
            for i, w in enumerate(self.widths)
        ]


def _rmse_on_target(net: Sequential, target: str, *, scaled: bool, points: int = 1000) -> float:
    """RMSE of ``net`` against the noise-free target on a dense grid over its range; with
    ``scaled`` the network reads inputs rescaled to [-1, 1] (as the width sweep trains it)."""
    fn, (lo, hi), _ = TARGETS[target]
    x = np.linspace(lo, hi, points).reshape(-1, 1)
    y = np.asarray(fn(x), dtype=np.float64).reshape(-1, 1)
    inputs = (x - (lo + hi) / 2) / ((hi - lo) / 2) if scaled else x
    pred = net.predict(inputs.astype(net.dtype)).astype(np.float64)
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def width_sweep(
    targets: tuple[str, ...] = ("sine", "polynomial", "abs", "rough"),
    widths: tuple[int, ...] = (1, 2, 4, 8, 16, 32),
    *,
    seeds: int = 3,
    epochs: int = 500,
    lr: float = 0.05,
    n_samples: int = 200,
    init: str = "torch",
    seed: int = 0,
    quiet: bool = True,
) -> WidthSweep:
    """Train ``1 -> w -> 1`` ReLU nets for every target, width and seed (full-batch Adam) and
    measure their RMSE against the noise-free target on a dense grid.

    Inputs are rescaled to [-1, 1], the usual practice: the function class is the same (an
    affine change of the first layer), but the initial kinks then fall inside the data instead
    of dying off to one side, so the sweep measures width rather than bad luck at
    initialisation (the sine lives on [0, 2 pi]). Seed ``s`` of a run is derived from
    ``(seed, target index, width, s)``, so adding a width does not change the others' results.
    """
    errors: dict[str, np.ndarray] = {}
    total = len(targets) * len(widths) * seeds
    config = TrainConfig(
        epochs=epochs, batch_size=n_samples, optimizer="adam", lr=lr, loss="mse", shuffle=False
    )
    with progress(total, "width sweep", quiet=quiet) as bar:
        for t, name in enumerate(targets):
            lo, hi = TARGETS[name].x_range
            mid, half = (lo + hi) / 2, (hi - lo) / 2

            def to_unit(X: np.ndarray, mid: float = mid, half: float = half) -> np.ndarray:
                return (X - mid) / half

            data = regression_1d(name, n_samples).map_X(to_unit, input_range=(-1.0, 1.0))
            err = np.zeros((len(widths), seeds))
            for i, w in enumerate(widths):
                for s in range(seeds):
                    rng = np.random.default_rng([seed, t, w, s])
                    net = MLP([1, w, 1], rng=rng, init=init)
                    fit(net, data, config, rng=rng, quiet=True)
                    err[i, s] = _rmse_on_target(net, name, scaled=True)
                    bar.advance()
            errors[name] = err
    return WidthSweep(tuple(widths), errors, epochs)


def sweep_caption(sweep: WidthSweep) -> str:
    """The width-sweep figure's caption, read off the measured medians (never a claim the
    numbers could contradict), each number printed as the table below it prints it."""
    fmt = format_number  # the caption's numbers read exactly as the table's cells
    parts = []
    for name, err in sweep.errors.items():
        med = np.median(err, axis=1)
        first, last, w0, w1 = float(med[0]), float(med[-1]), sweep.widths[0], sweep.widths[-1]
        verb, to = ("falls from", "to") if last < first else ("rises from", "to")
        if last == first:
            verb, to = "is", "and"
        text = f"{name} {verb} {fmt(first)} at width {w0} {to} {fmt(last)} at width {w1}"
        if len(med) == 1:
            text = f"{name} {fmt(first)} at width {w0}"
        best = int(np.argmin(med))
        if 0 < best < len(med) - 1:
            text += f" (lowest {fmt(float(med[best]))} at width {sweep.widths[best]})"
        parts.append(text)
    n_seeds = next(iter(sweep.errors.values())).shape[1] if sweep.errors else 0
    return (
        f"RMSE against the noise-free target versus hidden width (median over {n_seeds} seeds, "
        "the range shaded; inputs scaled to [-1, 1]; the table below has every number). "
        "Median RMSE: " + "; ".join(parts) + "."
    )


# -- frames --------------------------------------------------------------------------------------
def _round(values: Any, digits: int) -> Any:
    """Round to ``digits`` significant digits, recursively; None stays None."""
    if values is None:
        return None
    if isinstance(values, (list, tuple, np.ndarray)):
        return [_round(v, digits) for v in values]
    if isinstance(values, (bool, np.bool_, str)):
        return values if not isinstance(values, np.bool_) else bool(values)
    v = float(values)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


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


# -- the study -----------------------------------------------------------------------------------
@dataclass
class BasisResult:
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
            "hidden_dim": cfg.hidden_dim,
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

    def save(self, run: RunDir) -> None:
        """Write config, metrics, weights, snapshots, frames, figures and the report section."""
        from tinylens.viz import plot_history
        from tinylens.viz.geometry import (
            plot_ghosts,
            plot_kink_trajectories,
            plot_partial_sums,
            plot_width_sweep,
        )

        cfg = self.config
        fn, (lo, hi), description = TARGETS[cfg.target]
        run.write_yaml("config.yaml", cfg.to_dict())
        metrics = dict(self.metrics)
        if self.sweep is not None:
            metrics["width_sweep"] = {
                "widths": list(self.sweep.widths),
                "epochs": self.sweep.epochs,
                "rmse": {k: v.tolist() for k, v in self.sweep.errors.items()},
            }
        run.write_json("metrics.json", {**metrics, "history": self.history.to_dict()})
        run.write_csv("history.csv", self.history.rows(), History.COLUMNS)
        run.save_weights(
            "model.safetensors", self.net, info={"study": "basis", "config": cfg.to_dict()}
        )
        for epoch, state in self.snapshots:
            snap = self.net.copy()
            snap.load_state_dict(state)
            run.save_weights(
                f"snapshots/epoch_{epoch:04d}.safetensors", snap, info={"epoch": epoch}
            )
        frames = self.frames_json()
        # compact separators: the file feeds a browser slider, not a human reader
        run.write_text("basis_frames.json", json.dumps(frames, separators=(",", ":")))

        x = self.grid[:, 0]
        target_y = np.asarray(fn(x))
        data = (self.data.X[:, 0], self.data.y[:, 0])
        basis = self.basis
        ghosts = basis.ghosts(self.grid)[:, :, 0]
        dead = basis.dead_on_data
        figures = [
            Figure(
                "basis_frames.json",
                "Drag the slider through training: the network (red) is the sum of the neurons' "
                "ghosts (dashed) plus b_out. Each dot on the x axis is a kink inside the plotted "
                "range; hover it to see that neuron's slope, kink, importance and active side.",
                kind="widget",
                widget="basis",
            )
        ]
        run.save_figure(
            "basis.png",
            plot_ghosts(
                x,
                ghosts,
                basis.output(self.grid)[:, 0],
                importances=basis.importances,
                kinks=basis.kinks,
                dead=dead,
                target=target_y,
                data=data,
                title=f"{cfg.target}: {cfg.hidden_dim} neurons, epoch {cfg.epochs}",
            ),
        )
        figures.append(
            Figure(
                "basis.png",
                "Top: each neuron's ghost function w_out * relu(w x + b) (thin, dotted at its "
                "kink) and their sum plus b_out, the network (black). Bottom: each neuron's "
                "importance w_out at its kink (hollow: no kink; grey: dead on the data).",
            )
        )
        run.save_figure(
            "partial_sums.png",
            plot_partial_sums(
                x,
                basis.partial_sums(self.grid)[:, :, 0],
                target=target_y,
                title="the curve built neuron by neuron, in kink order",
            ),
        )
        figures.append(
            Figure(
                "partial_sums.png",
                "Partial sums: b_out, then b_out plus the first k ghosts taken from left to "
                "right by kink; the last (thick) is the network.",
            )
        )
        epochs = np.array([f["epoch"] for f in self.frames])
        kinks = np.array(
            [[np.nan if k is None else k for k in f["kinks"]] for f in self.frames], dtype=float
        )
        imps = np.array([f["importances"] for f in self.frames], dtype=float)
        run.save_figure(
            "kinks.png",
            plot_kink_trajectories(
                epochs,
                kinks,
                (lo, hi),
                importances=imps,
                dead=dead,
                title="kinks moving during training (grey: dead on the data at the end)",
            ),
        )
        figures.append(
            Figure(
                "kinks.png",
                "Each neuron's kink position over training (line width: final |importance|).",
            )
        )
        notes = []
        if cfg.animation:
            name = self._save_animation(run, frames)
            figures.append(
                Figure(name, "The basis evolving epoch by epoch (the same data as the slider).")
            )
            if shutil.which("ffmpeg") is None:
                notes.append("MP4 not written: ffmpeg is not installed on this machine (GIF only).")
            else:
                self._save_animation(run, frames, suffix=".mp4")
        if self.sweep is not None:
            run.save_figure(
                "width_sweep.png",
                plot_width_sweep(
                    self.sweep.widths,
                    self.sweep.errors,
                    title=f"error against width ({cfg.sweep_seeds} seeds, "
                    f"{self.sweep.epochs} epochs)",
                ),
            )
            figures.append(
                Figure(
                    "width_sweep.png",
                    sweep_caption(self.sweep),
                )
            )
        run.save_figure("loss.png", plot_history(self.history.to_dict(), title="training loss"))
        figures.append(Figure("loss.png", "Training loss (MSE) per epoch."))
        tables = [
            Table(
                "the neurons at the end of training",
                [
                    "neuron",
                    "slope",
                    "bias",
                    "kink",
                    "importance",
                    "active",
                    "dead (data)",
                    "dead (domain)",
                ],
                [
                    [
                        r["neuron"],
                        r["slope"],
                        r["bias"],
                        "none" if r["kink"] is None else r["kink"],
                        r["importance"],
                        r["active_side"],
                        r["dead_on_data"],
                        r["dead_on_domain"],
                    ]
                    for r in basis.table()
                ],
                note="sorted by neuron index; the kink is -bias / slope",
            )
        ]
        if self.sweep is not None:
            tables.append(
                Table(
                    "width sweep",
                    ["target", "width", "median RMSE", "min", "max"],
                    self.sweep.rows(),
                )
            )
        section = Section(
            id="basis",
            title=f"Basis decomposition: {cfg.target}",
            summary=(
                f"A 1-{cfg.hidden_dim}-1 ReLU network trained on {description} "
                f"({self.data.n} points) with {cfg.optimizer} for {cfg.epochs} epochs is exactly "
                f"the sum of its {cfg.hidden_dim} neurons' ghost functions plus the output "
                "bias: a ghost is zero on one side of its neuron's kink and a straight line on "
                f"the other ({self.metrics['zero_slope']} neurons have no kink: a zero slope). "
                f"{self.metrics['kinks_in_domain']} kinks lie inside the data range; "
                f"{self.metrics['dead_on_data']} neurons are dead on the data. The slider data "
                f"for every snapshot ({len(self.frames)} frames) is in basis_frames.json."
            ),
            metrics={k: v for k, v in self.metrics.items() if not isinstance(v, (list, dict))},
            figures=figures,
            tables=tables,
            config=cfg.to_dict(),
            notes=notes,
        )
        run.add_section(section, title=f"tinylens basis: {cfg.target}")

    def _save_animation(self, run: RunDir, frames: dict[str, Any], suffix: str = ".gif") -> str:
        from tinylens.viz.figure import new_figure
        from tinylens.viz.geometry import draw_ghosts, update_ghosts, write_animation

        name = f"basis_evolution{suffix}"
        x = np.asarray(frames["x"])
        fig = new_figure(6.4, 4.0)
        ax = fig.subplots()
        shots = frames["frames"]

        def arrays(f: dict[str, Any]) -> dict[str, Any]:
            return {
                "ghosts": np.asarray(f["ghosts"], dtype=float).T,
                "output": np.asarray(f["output"], dtype=float),
                "kinks": f["kinks"],
                "dead": np.asarray(f["dead_on_data"]),
                "title": f"epoch {f['epoch']}   loss {f['loss']:.3g}",
            }

        first = arrays(shots[0])
        artists = draw_ghosts(
            ax,
            x,
            first.pop("ghosts"),
            first.pop("output"),
            target=np.asarray(frames["target_y"]),
            data=(np.asarray(frames["data"]["x"]), np.asarray(frames["data"]["y"])),
            ylim=tuple(frames["ylim"]),  # type: ignore[arg-type]
            **first,
        )

        def draw(i: int) -> None:
            f = arrays(shots[i])
            update_ghosts(artists, f.pop("ghosts"), f.pop("output"), **f)

        write_animation(fig, draw, len(shots), run.file(name), fps=8)
        return name


def run_basis(config: BasisStudyConfig, *, quiet: bool = False) -> BasisResult:
    """Train, decompose every snapshot, and (optionally) sweep the width."""
    cfg = config
    rng = np.random.default_rng(cfg.seed)
    data = regression_1d(cfg.target, cfg.n_samples, cfg.noise, rng=rng)
    net = MLP([1, cfg.hidden_dim, 1], rng=rng, init=cfg.init, input_names=("x",))
    history = fit(net, data, cfg.train_config(), rng=rng, quiet=quiet)
    snapshots = list(history.snapshots)
    if not snapshots or snapshots[-1][0] != len(history.epoch):
        snapshots.append((len(history.epoch), net.state_dict()))
    lo, hi = TARGETS[cfg.target].x_range
    grid = np.linspace(lo, hi, cfg.grid_points).reshape(-1, 1)
    X64, y64 = data.X.astype(np.float64), data.y.astype(np.float64)
    frames = []
    snap = net.copy()
    for epoch, state in snapshots:
        snap.load_state_dict(state)
        b = decompose(snap, X=X64, domain=[(lo, hi)])
        loss = float(np.mean((b.output(X64) - y64) ** 2))
        frames.append(frame_of(b, epoch, loss, grid))
    basis = decompose(net, X=X64, domain=[(lo, hi)])
    sweep = None
    if cfg.sweep:
        sweep = width_sweep(
            cfg.sweep_targets,
            cfg.sweep_widths,
            seeds=cfg.sweep_seeds,
            epochs=cfg.sweep_epochs,
            lr=cfg.sweep_lr,
            n_samples=cfg.n_samples,
            init=cfg.init,
            seed=cfg.seed,
            quiet=quiet,
        )
    dead = basis.dead_on_data
    assert dead is not None
    metrics: dict[str, Any] = {
        "train_loss": frames[-1]["loss"],
        "rmse_on_target": _rmse_on_target(net, cfg.target, scaled=False),
        "neurons": cfg.hidden_dim,
        "kinks_in_domain": int(basis.kink_in_domain.sum()),
        "dead_on_data": int(dead.sum()),
        "dead_on_domain": int(basis.dead_on_domain.sum()),  # type: ignore[union-attr]
        "zero_slope": int(basis.constant.sum()),
        "frames": len(frames),
        "epochs_run": len(history.epoch),
    }
    return BasisResult(cfg, net, history, data, basis, grid, frames, snapshots, sweep, metrics)
