"""The topology study behind ``tinylens topology``: depth versus width on the spiral.

Two ways to separate the interleaved arms of a spiral (n points, K classes, noise):

* **width** (lifting): every monomial of (x1, x2) up to degree P, then a linear classifier;
* **depth**: an MLP (64, 32) that folds the plane layer by layer until a linear map separates
  the arms.

For each K the study reports both models' decision boundaries, accuracies and parameter
counts, the lifted model's accuracy against the degree, and for the MLP: the input grid pushed
through each layer (projected by PCA when wider than 2), a logistic regression's accuracy on
each layer's representation (separability growing with depth), and the exact number of linear
regions of the network up to each layer.

>>> from tinylens.studies.topology import TopologyConfig, run_topology
>>> cfg = TopologyConfig(classes=(3,), points=300, degree=3, hidden=(16, 8), epochs=30,
...                      lift_epochs=100)
>>> result = run_topology(cfg, quiet=True)
>>> sorted(result.per_class[3]["mlp"])
['parameters', 'test_accuracy', 'train_accuracy']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from tinylens.data import Dataset, spiral
from tinylens.engine import MLP, Sequential
from tinylens.errors import ConfigError
from tinylens.geometry.folding import (
    FoldedLayer,
    fold_grid,
    layer_representations,
    linear_separability,
)
from tinylens.geometry.lifting import LiftedClassifier, fit_lifted_classifier, n_monomials
from tinylens.geometry.regions import RegionSet, linear_regions
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.progress import progress
from tinylens.training import History, TrainConfig, fit

__all__ = ["TopologyConfig", "TopologyResult", "run_topology"]


@dataclass(frozen=True)
class TopologyConfig:
    """What ``tinylens topology`` compares.

    Parameters
    ----------
    classes : tuple of int
        Spiral arms; one comparison per entry (default K = 3 and K = 4).
    points, noise :
        The spiral of our sources: 1000 points, noise 0.2.
    degree : int
        Highest total degree of the monomials (5: 20 features for 2 inputs).
    hidden : tuple of int
        The MLP's hidden widths (64, 32).
    epochs, lr, optimizer, batch_size :
        MLP training.
    lift_epochs, lift_lr :
        The lifted linear classifier's training (full-batch Adam, cross-entropy).
    test_fraction : float
        Held out, stratified.
    box : float
        Half-width of the square ``[-box, box]^2`` where regions are counted and the grid is
        folded (the spiral lies in the unit disc, plus noise).
    seed : int
    """

    classes: tuple[int, ...] = (3, 4)
    points: int = 1000
    noise: float = 0.2
    degree: int = 5
    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 300
    lr: float = 0.01
    optimizer: str = "adam"
    batch_size: int = 64
    lift_epochs: int = 1000
    lift_lr: float = 0.05
    test_fraction: float = 0.2
    box: float = 1.25
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", tuple(int(k) for k in self.classes))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not self.classes or any(k < 2 for k in self.classes):
            raise ConfigError(f"classes must be integers >= 2, got {list(self.classes)}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ConfigError(f"hidden widths must be positive, got {list(self.hidden)}")
        if not isinstance(self.degree, int) or self.degree < 1:
            raise ConfigError(f"degree must be a positive integer, got {self.degree!r}")
        if not 0 < self.test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not self.box > 0:
            raise ConfigError(f"box must be positive, got {self.box}")
        if self.points < 10 * max(self.classes):
            raise ConfigError(
                f"{self.points} points are too few for {max(self.classes)} arms; use at least "
                f"{10 * max(self.classes)}"
            )
        self.mlp_config()  # validates optimizer, lr, epochs, batch size

    def mlp_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            optimizer=self.optimizer,
            lr=self.lr,
            loss="cross_entropy",
        )

    def lift_config(self, n: int) -> TrainConfig:
        return TrainConfig(
            epochs=self.lift_epochs,
            batch_size=n,
            optimizer="adam",
            lr=self.lift_lr,
            loss="cross_entropy",
            shuffle=False,
        )

    @property
    def box_bounds(self) -> list[tuple[float, float]]:
        return [(-self.box, self.box)] * 2

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["classes"], d["hidden"] = list(self.classes), list(self.hidden)
        return d


@dataclass
class TopologyResult:
    """Per spiral (keyed by K): the data split, both models and every measurement.

    ``per_class[K]`` holds ``lift`` and ``mlp`` (train/test accuracy, parameters),
    ``degree_sweep`` (test accuracy per degree 1..P), ``separability`` (per layer),
    ``region_counts`` (per hidden layer) and ``region_seconds``.
    """

    config: TopologyConfig
    data: dict[int, tuple[Dataset, Dataset]]
    mlps: dict[int, Sequential]
    histories: dict[int, History]
    lifts: dict[int, LiftedClassifier]
    folds: dict[int, list[FoldedLayer]]
    regions: dict[int, RegionSet]
    per_class: dict[int, dict[str, Any]]

    @property
    def layer_names(self) -> list[str]:
        return ["input", *[f"layer {i + 1}" for i in range(len(self.config.hidden))], "logits"]

    def save(self, run: RunDir) -> None:
        """Write config, metrics, weights, figures and the report section."""
        from tinylens.viz import plot_decision_boundary
        from tinylens.viz.figure import new_figure
        from tinylens.viz.geometry import plot_folding, plot_regions_2d, plot_separability

        cfg = self.config
        run.write_yaml("config.yaml", cfg.to_dict())
        run.write_json("metrics.json", {str(k): v for k, v in self.per_class.items()})
        for k, net in self.mlps.items():
            run.save_weights(f"mlp_K{k}.safetensors", net, info={"study": "topology", "classes": k})
        figures = []
        ks = list(self.mlps)
        fig = new_figure(9.6, 4.4 * len(ks))
        axes = np.atleast_2d(fig.subplots(len(ks), 2))
        for row, k in zip(axes, ks, strict=True):
            _, test = self.data[k]
            pc = self.per_class[k]
            plot_decision_boundary(
                self.lifts[k].scores,
                test.X,
                test.y,
                ax=row[0],
                title=f"K={k}: degree-{cfg.degree} lifting, test acc "
                f"{pc['lift']['test_accuracy']:.3f}, {pc['lift']['parameters']} params",
            )
            plot_decision_boundary(
                self.mlps[k].predict,
                test.X,
                test.y,
                ax=row[1],
                title=f"K={k}: MLP {'-'.join(map(str, cfg.hidden))}, test acc "
                f"{pc['mlp']['test_accuracy']:.3f}, {pc['mlp']['parameters']} params",
            )
        for ax in axes.ravel():
            ax.title.set_fontsize(9)
        run.save_figure("boundaries.png", fig)
        figures.append(
            Figure(
                "boundaries.png",
                "Decision regions and held-out points: polynomial lifting (left) against the "
                "deep MLP (right), with accuracy and parameter count.",
            )
        )
        for k in ks:
            _, test = self.data[k]
            run.save_figure(
                f"folding_K{k}.png",
                plot_folding(
                    self.folds[k], labels=test.y, title=f"K={k}: the plane folded layer by layer"
                ),
            )
            figures.append(
                Figure(
                    f"folding_K{k}.png",
                    "A grid of lines in the input box (colours: position along x1 and x2) and "
                    "the held-out points, pushed through each hidden layer (PCA to 2-D when "
                    "wider): each ReLU layer folds the plane along its units' lines.",
                )
            )
        names = self.layer_names
        seps = {
            f"K={k}": [s["test_accuracy"] for s in self.per_class[k]["separability"]] for k in ks
        }
        counts = {f"K={k}": self.per_class[k]["region_counts"] for k in ks}
        run.save_figure(
            "separability.png",
            plot_separability(names, seps, region_counts=counts, title="what depth buys"),
        )
        figures.append(
            Figure(
                "separability.png",
                "Left: held-out accuracy of a logistic regression on each layer's "
                "representation (the classes become linearly separable with depth). Right: "
                "exact linear regions of the network up to each layer inside the box.",
            )
        )
        fig = new_figure(5.5, 3.8)
        ax = fig.subplots()
        for i, k in enumerate(ks):
            sweep = self.per_class[k]["degree_sweep"]
            ax.plot(range(1, len(sweep) + 1), sweep, "o-", color=f"C{i}", label=f"K={k}")
            ax.axhline(self.per_class[k]["mlp"]["test_accuracy"], color=f"C{i}", ls="--", lw=0.8)
        ax.set(
            xlabel="lifting degree P",
            ylabel="held-out accuracy",
            ylim=(0, 1.02),
            title="lifting: accuracy against degree (dashed: the MLP)",
        )
        ax.legend(fontsize=8)
        run.save_figure("degree_sweep.png", fig)
        figures.append(
            Figure(
                "degree_sweep.png",
                "Held-out accuracy of the lifted linear classifier for each degree.",
            )
        )
        k0 = ks[0]
        r = self.regions[k0]
        fig = plot_regions_2d(
            r.vertices,  # type: ignore[arg-type]
            r.box,
            title=f"K={k0}: {r.count} linear regions of the MLP",
        )
        train, _ = self.data[k0]
        fig.axes[0].scatter(train.X[:, 0], train.X[:, 1], c="k", s=1.5, zorder=3)
        run.save_figure("regions.png", fig, dpi=150)
        figures.append(
            Figure(
                "regions.png",
                "The trained MLP's exact linear regions (training points in black): regions "
                "crowd where the arms need bending.",
            )
        )
        rows = []
        for k in ks:
            pc = self.per_class[k]
            for model in ("lift", "mlp"):
                rows.append(
                    [
                        k,
                        f"degree-{cfg.degree} lifting"
                        if model == "lift"
                        else "MLP " + "-".join(map(str, cfg.hidden)),
                        pc[model]["parameters"],
                        pc[model]["train_accuracy"],
                        pc[model]["test_accuracy"],
                    ]
                )
        sep_rows = [
            [k, name, s["train_accuracy"], s["test_accuracy"]]
            for k in ks
            for name, s in zip(names, self.per_class[k]["separability"], strict=True)
        ]
        section = Section(
            id="topology",
            title="Topology: depth versus width on the spiral",
            summary=(
                f"Spirals of {cfg.points} points (noise {cfg.noise}) with "
                f"{', '.join(map(str, ks))} arms, solved two ways: a linear classifier on all "
                f"{n_monomials(2, cfg.degree)} monomials up to degree {cfg.degree} (width), "
                f"and an MLP with hidden widths {list(cfg.hidden)} (depth). Both are trained "
                "with the same loop, optimizer family and loss. The MLP's layers fold the plane "
                "until a line separates the arms: a logistic regression on each layer's "
                "representation gets better layer by layer, while the number of exact linear "
                "regions multiplies."
            ),
            metrics={
                f"K={k} {m} test accuracy": self.per_class[k][m]["test_accuracy"]
                for k in ks
                for m in ("lift", "mlp")
            },
            figures=figures,
            tables=[
                Table("models", ["K", "model", "parameters", "train acc", "test acc"], rows),
                Table(
                    "linear separability per layer (logistic regression)",
                    ["K", "representation", "train acc", "test acc"],
                    sep_rows,
                ),
                Table(
                    "exact linear regions in the box",
                    ["K", *names[1:-1]],
                    [[k, *self.per_class[k]["region_counts"]] for k in ks],
                    note=f"box [-{cfg.box}, {cfg.box}]^2; entry l counts the regions of the "
                    "network up to layer l",
                ),
            ],
            config=cfg.to_dict(),
            notes=[
                "The lifted classifier is trained with tinylens' own fit (softmax regression, "
                "full-batch Adam) on standardised monomials, so both models share the training "
                "loop; scikit-learn's LogisticRegression is used only as the separability probe."
            ],
        )
        run.add_section(section, title="tinylens topology")


def run_topology(config: TopologyConfig, *, quiet: bool = False) -> TopologyResult:
    """Train both models on every spiral and measure them."""
    cfg = config
    data, mlps, histories, lifts, folds, regions, per_class = {}, {}, {}, {}, {}, {}, {}
    steps = len(cfg.classes) * (cfg.degree + 2)
    with progress(steps, "topology", quiet=quiet) as bar:
        for k in cfg.classes:
            rng = np.random.default_rng([cfg.seed, k])
            ds = spiral(cfg.points, k, cfg.noise, rng=rng)
            train, test = ds.split(cfg.test_fraction, rng=rng)
            data[k] = (train, test)
            # width: lifting, for every degree up to P (the last one is the reported model)
            sweep = []
            for p in range(1, cfg.degree + 1):
                lifted = fit_lifted_classifier(
                    train.X, train.y, p, cfg.lift_config(train.n), rng=rng, quiet=True
                )
                sweep.append(lifted.accuracy(test.X, test.y))
                bar.advance()
            lifts[k] = lifted
            # depth: the MLP
            net = MLP([2, *cfg.hidden, k], rng=rng, input_names=("x1", "x2"))
            histories[k] = fit(net, train, cfg.mlp_config(), rng=rng, quiet=True)
            mlps[k] = net
            bar.advance()
            X_all = np.concatenate([train.X, test.X]).astype(np.float64)
            y_all = np.concatenate([train.y, test.y])
            reps = layer_representations(net, X_all)
            separability = linear_separability(reps, y_all, rng=rng)
            folds[k] = fold_grid(net, cfg.box_bounds, X=test.X)
            regions[k] = linear_regions(net, cfg.box_bounds)
            bar.advance()
            per_class[k] = {
                "lift": {
                    "degree": cfg.degree,
                    "features": n_monomials(2, cfg.degree),
                    "parameters": lifted.n_parameters,
                    "train_accuracy": lifted.accuracy(train.X, train.y),
                    "test_accuracy": lifted.accuracy(test.X, test.y),
                },
                "mlp": {
                    "parameters": net.n_parameters(),
                    "train_accuracy": float(np.mean(net.predict(train.X).argmax(1) == train.y)),
                    "test_accuracy": float(np.mean(net.predict(test.X).argmax(1) == test.y)),
                },
                "degree_sweep": sweep,
                "separability": separability,
                "region_counts": list(regions[k].counts_per_layer),
            }
    return TopologyResult(cfg, data, mlps, histories, lifts, folds, regions, per_class)
