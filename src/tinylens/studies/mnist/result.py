"""The MNIST study's result: every trained model (:class:`ModelRun`) and its analysis, with the
notes that say what the numbers can be compared with; a short ``repr``, an HTML view for
notebooks, a table (``to_dict`` / ``to_pandas``) and a figure (``plot``)."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.data import Dataset, ImageSplit
from tinylens.engine import Sequential
from tinylens.probes import ActivationHistograms, StreamingStats, weight_drift
from tinylens.studies.mnist.analysis import LayerAnalysis, ModelAnalysis
from tinylens.studies.mnist.config import SOURCE, SOURCE_TEST_ACCURACY, MnistStudyConfig
from tinylens.training import History

__all__ = ["FULL_MNIST_MEASURED", "MnistResult", "MnistStudyResult", "ModelRun"]

FULL_MNIST_MEASURED = {"torch": 0.9467, "auto": 0.9546}
"""Test accuracy of the default study (variant raw, 20 epochs of SGD at lr 0.01, batch 64, seed
31416) on full MNIST, by initialisation: measured by ``tinylens mnist --init torch`` and
``tinylens mnist`` (docs/mnist.md)."""


@dataclass
class ModelRun:
    """One trained model of the study and its analysis.

    Attributes
    ----------
    variant : str
        A key of :data:`~tinylens.studies.mnist.VARIANTS`, or ``"cnn"``.
    description : str
    net : Sequential
    history : History
        ``val_*`` are on the test set; ``snapshots`` hold the weights of every epoch.
    stats : dict of int -> StreamingStats
        The statistics passes (epoch 0 = before training).
    train_seconds : float
        ``fit`` with its statistics passes.
    analysis : ModelAnalysis
    train, test : Dataset
        What this model saw (normalized for the ``normalized`` variant).
    full : bool
        Every configured analysis ran (the first variant); otherwise only the comparison ones.
    histograms : ActivationHistograms, optional
        Activation histograms per layer at every weight snapshot (MLPs).
    feature_maps : dict of str -> array of shape (n_inputs, channels, h, w), optional
        CNN only: activations of each conv stage for ``feature_map_rows`` of the test set.
    feature_map_rows : array of int, optional
    """

    variant: str
    description: str
    net: Sequential
    history: History
    stats: dict[int, StreamingStats]
    train_seconds: float
    analysis: ModelAnalysis
    train: Dataset
    test: Dataset
    full: bool = True
    histograms: ActivationHistograms | None = None
    feature_maps: dict[str, np.ndarray] | None = None
    feature_map_rows: np.ndarray | None = None

    @property
    def layers(self) -> dict[str, LayerAnalysis]:
        return self.analysis.layers

    @property
    def test_accuracy(self) -> float:
        return self.analysis.confusion.accuracy_

    @property
    def n_parameters(self) -> int:
        return self.net.n_parameters()

    def weight_drift(self) -> dict[str, np.ndarray]:
        return weight_drift(self.history.snapshots)

    def bottlenecks(self) -> dict[int, dict[str, Any]]:
        """Per class, the single unit (over every layer) whose ablation costs it most."""
        best: dict[int, dict[str, Any]] = {}
        for la in self.layers.values():
            for b in la.bottlenecks():
                c = b["class"]
                if c not in best or b["class_accuracy_drop"] > best[c]["class_accuracy_drop"]:
                    best[c] = b
        return dict(sorted(best.items()))

    def bottleneck_scaling(self) -> list[dict[str, Any]]:
        """Each bottleneck unit's per-class scaling curve (from the scaling sweep), and where
        it is not monotone.

        One entry per distinct unit of :meth:`bottlenecks` (a unit may be the bottleneck of
        several classes), when its layer was scaled: ``scales`` (sorted), ``class_accuracy``
        (scales x classes, every class), ``classes`` (those it is the bottleneck of) and
        ``monotone`` per such class: whether that class's accuracy never falls as the unit is
        scaled up (eriktholmes/interpreting_mnist: "scaling increases class 1 accuracy
        monotonically"); ``drops`` lists each fall as (scale from, scale to, accuracy from,
        accuracy to).
        """
        units: dict[tuple[str, int], list[int]] = {}
        for c, b in self.bottlenecks().items():
            units.setdefault((b["layer"], int(b["unit"])), []).append(int(c))
        out = []
        for (layer, unit), classes in units.items():
            sc = self.layers[layer].scaling
            if sc is None:
                continue
            row = int(np.flatnonzero(np.asarray(sc.units).reshape(-1) == unit)[0])
            order = np.argsort(np.asarray(sc.scales, dtype=np.float64), kind="stable")
            scales = [float(sc.scales[j]) for j in order]
            acc = np.asarray(sc.class_accuracy_[row])[order]  # (scales, classes)
            monotone, drops = {}, []
            for c in classes:
                falls = [
                    [scales[j], scales[j + 1], float(acc[j, c]), float(acc[j + 1, c])]
                    for j in range(len(scales) - 1)
                    if acc[j + 1, c] < acc[j, c]
                ]
                monotone[str(c)] = not falls
                drops += [[c, *f] for f in falls]
            out.append(
                {
                    "layer": layer,
                    "unit": unit,
                    "classes": classes,
                    "scales": scales,
                    "class_accuracy": acc.tolist(),
                    "monotone": monotone,
                    "drops": drops,
                }
            )
        return out

    def summary(self) -> dict[str, Any]:
        """The row of the comparison table."""
        dead = {n: int(la.selectivity.dead_.sum()) for n, la in self.layers.items()}
        units = {n: la.n_units for n, la in self.layers.items()}
        sel = {n: la.selectivity.mean_selectivity() for n, la in self.layers.items()}
        row: dict[str, Any] = {
            "variant": self.variant,
            "description": self.description,
            "test_accuracy": round(self.test_accuracy, 6),
            "train_accuracy": round(float(self.history.train_accuracy[-1]), 6),
            "dead_units": dead,
            "units": units,
            "mean_selectivity": {n: round(v, 6) for n, v in sel.items()},
            "parameters": self.n_parameters,
            "train_seconds": round(self.train_seconds, 3),
            "analysis_seconds": round(sum(self.analysis.seconds.values()), 3),
        }
        drops = [la.ablation.drop_.max() for la in self.layers.values() if la.ablation]
        if drops:
            row["max_ablation_drop"] = round(float(max(drops)), 6)
        return row


@dataclass
class MnistResult:
    """Everything ``tinylens mnist`` measured (:func:`tinylens.studies.mnist.run`).

    Attributes
    ----------
    config : MnistStudyConfig
    data : ImageSplit
    runs : dict of str -> ModelRun
        One per variant, in the configured order; the first is the primary (every analysis).
    cnn : ModelRun, optional
    seconds : float
        Wall time of the run.
    stage_seconds : dict of str -> (float, float)
        (wall, CPU) seconds per stage: loading, training and analysing each model, and each
        analysis. CPU seconds (this process; BLAS and OpenMP on one thread) are what a stage
        costs on a quiet machine.
    """

    config: MnistStudyConfig
    data: ImageSplit
    runs: dict[str, ModelRun]
    cnn: ModelRun | None = None
    seconds: float = 0.0
    stage_seconds: dict[str, tuple[float, float]] | None = None

    @property
    def primary(self) -> ModelRun:
        return next(iter(self.runs.values()))

    @property
    def models(self) -> list[ModelRun]:
        """Every variant, then the CNN."""
        return list(self.runs.values()) + ([self.cnn] if self.cnn is not None else [])

    @property
    def lr(self) -> float:
        """The learning rate every model trained with."""
        return self.config.resolved_lr(self.data.source)

    def notes(self) -> list[str]:
        """Caveats for the report and the JSON."""
        notes = list(self.data.notes)
        acc = self.primary.test_accuracy
        src = self.data.source
        cfg = self.config
        source_pct = f"{100 * SOURCE_TEST_ACCURACY:.2f}%"
        if src == "mnist":
            notes.append(
                f"{SOURCE} reports {source_pct} test accuracy for this setup on full MNIST "
                f"(with PyTorch's nn.Linear initialisation); this run reached {100 * acc:.2f}%."
            )
        else:
            what = (
                f"{self.data.train.n} training images (MNIST's test set split "
                f"{self.data.train.n} / {self.data.test.n})"
                if src == "mnist-test-split"
                else "scikit-learn's 8x8 digits (a 64-input model)"
            )
            notes.append(
                f"This run reached {100 * acc:.2f}% test accuracy on {what}. {SOURCE}'s "
                f"{source_pct} was measured on full MNIST (60,000 training "
                "images, 7.5 times as many SGD steps, and the official test set): the numbers "
                "are not comparable."
            )
        if cfg.train.lr is None and not src.startswith("mnist"):
            steps = math.ceil(self.data.train.n / cfg.train.batch_size)
            notes.append(
                f"SGD ran at lr 0.1, not {SOURCE}'s 0.01: {self.data.train.n} training images "
                f"give {steps} steps an epoch, and on digits 20 epochs at 0.01 reach about 37% "
                "test accuracy (set lr to override)."
            )
        if cfg.init != "torch":
            t, a = FULL_MNIST_MEASURED["torch"], FULL_MNIST_MEASURED["auto"]
            notes.append(
                f"Weights start from the '{cfg.init}' initialisation (He for ReLU layers); the "
                f"source used PyTorch's nn.Linear default (init='torch'). On full MNIST, 20 "
                f"epochs of SGD at lr 0.01 reached {100 * t:.2f}% with 'torch' and "
                f"{100 * a:.2f}% with 'auto' (seed 31416, docs/mnist.md)."
            )
        for run in self.models:
            notes += [f"{run.variant}: {n}" for n in run.analysis.notes]
        notes.append(
            "Dead means never active (> 0) on any training image during a statistics pass: "
            "after each epoch, the network in evaluation mode (dropout off) with that epoch's "
            "final weights, over the whole training set; epoch 0 is the initial weights."
        )
        if "embeddings" in cfg.analyses and cfg.embeddings:
            n = min(cfg.embedding_samples, self.data.test.n)
            slow = [m for m in cfg.embeddings if m != "pca"]
            tsne = (
                f"; t-SNE and UMAP on {cfg.tsne_samples} of them"
                if slow and cfg.tsne_samples < n
                else ""
            )
            notes.append(
                f"Embeddings use a random subsample of {n} test images "
                f"({', '.join(cfg.embeddings)}{tsne}); t-SNE and UMAP cost seconds per thousand "
                "points."
            )
        return notes

    def metrics(self) -> dict[str, Any]:
        """The content of ``metrics.json``."""
        from tinylens.studies.mnist.metrics import metrics

        return metrics(self)

    def save(self, run_dir: Any) -> None:
        """Config, metrics, tables, weights, snapshots, figures and report sections
        (:func:`tinylens.studies.mnist.write`)."""
        from tinylens.studies.mnist.write import write

        write(self, run_dir)

    # -- notebooks ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, list[Any]]:
        """The comparison table, one row per model (``pandas.DataFrame`` accepts it)."""
        cols: dict[str, list[Any]] = {
            "model": [],
            "test accuracy": [],
            "train accuracy": [],
            "dead / units": [],
            "mean selectivity": [],
            "parameters": [],
            "train s": [],
        }
        for r in self.models:
            s = r.summary()
            cols["model"].append(r.variant)
            cols["test accuracy"].append(round(s["test_accuracy"], 4))
            cols["train accuracy"].append(round(s["train_accuracy"], 4))
            cols["dead / units"].append(
                " / ".join(f"{s['dead_units'][n]}/{s['units'][n]}" for n in s["units"])
            )
            cols["mean selectivity"].append(
                " / ".join(
                    "n/a" if not math.isfinite(v) else f"{v:.3f}"
                    for v in s["mean_selectivity"].values()
                )
            )
            cols["parameters"].append(s["parameters"])
            cols["train s"].append(round(s["train_seconds"], 2))
        return cols

    def to_pandas(self) -> Any:
        """:meth:`to_dict` as a ``pandas.DataFrame`` (pandas is optional: a clear error naming
        ``pip install 'tinylens[notebook]'`` without it)."""
        from tinylens.superposition import as_dataframe

        return as_dataframe(self.to_dict())

    def plot(self, ax: Any = None) -> Any:
        """Test accuracy per epoch of every model; returns the matplotlib Figure."""
        from tinylens.viz.training_probes import plot_test_accuracy

        curves = {r.variant: (r.history.epoch, r.history.val_accuracy) for r in self.models}
        return plot_test_accuracy(
            curves,
            reference=SOURCE_TEST_ACCURACY if self.data.source == "mnist" else None,
            title=f"{self.data.source}: test accuracy per epoch",
            ax=ax,
        )

    def __repr__(self) -> str:
        d, p = self.data, self.primary
        accs = ", ".join(f"{r.variant}={r.test_accuracy:.4f}" for r in self.models)
        dead = ", ".join(
            f"{n} {int(la.selectivity.dead_.sum())}/{la.n_units}" for n, la in p.layers.items()
        )
        return (
            f"MnistResult({d.source}: {d.train.n} train / {d.test.n} test, "
            f"{'-'.join(map(str, p.net.sizes))}, {self.config.train.epochs} epochs, "
            f"init={self.config.init!r}; test accuracy {accs}; dead {dead}; "
            f"{self.seconds:.1f} s)"
        )

    def _repr_html_(self) -> str:
        from tinylens.viz.display import figure_img  # matplotlib on first use

        table = self.to_dict()
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
            for row in zip(*table.values(), strict=True)
        )
        d, p = self.data, self.primary
        key = (
            f"{html.escape(d.source)}: {d.train.n} train / {d.test.n} test; "
            f"{'-'.join(map(str, p.net.sizes))}, init {html.escape(self.config.init)}; "
            f"test accuracy <b>{100 * p.test_accuracy:.2f}%</b> "
            f"({html.escape(SOURCE)}: {100 * SOURCE_TEST_ACCURACY:.2f}% on full MNIST)"
        )
        fig = self.plot()
        return (
            f"<div><b>MNIST probing study</b> ({key})<table><tr>{head}</tr>{rows}</table>"
            f"{figure_img(fig)}</div>"
        )


MnistStudyResult = MnistResult
"""The earlier name of :class:`MnistResult`."""
