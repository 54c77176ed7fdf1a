"""The ablation study behind ``tinylens ablate``: which neurons (or channels) does a trained
network need, for which classes, and what happens when they are turned up or down?

For each chosen hook point it runs, batched: every unit ablated (per-class accuracy), optionally
every pair of units, and every unit scaled by each factor; then writes tables, figures and a
report section.

>>> from tinylens.studies.ablate import AblateConfig, run_ablate
>>> from tinylens.studies.train import TrainStudyConfig, run_train
>>> from tinylens.training import TrainConfig
>>> import tempfile, pathlib, tinylens as tl
>>> trained = run_train(TrainStudyConfig(data="digits", arch=(64, 16, 10), val_fraction=0.2,
...                     train=TrainConfig(epochs=5, optimizer="adam", lr=0.01)), quiet=True)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
>>> _ = tl.save(trained.engine_net(), path)
>>> result = run_ablate(AblateConfig(model=str(path), data="digits"))
>>> list(result.ablations), result.ablations["layers.1"].class_accuracy_.shape
(['layers.1'], (16, 10))
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinylens.data import IMAGE_DATASETS, Dataset, load_image_split
from tinylens.engine import Sequential
from tinylens.engine.activations import ACTIVATIONS
from tinylens.errors import ConfigError, DataError, UnknownNameError
from tinylens.interventions import AblationSweep, ScalingSweep, ablation_sweep, scaling_sweep
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.progress import progress

__all__ = [
    "AblateConfig",
    "AblateResult",
    "check_trained_range",
    "default_layers",
    "evaluation_data",
    "resolve_layers",
    "run_ablate",
]


@dataclass(frozen=True)
class AblateConfig:
    """What ``tinylens ablate`` measures.

    Parameters
    ----------
    model : str
        A tinylens weights file.
    data : str
        A dataset name from :data:`tinylens.data.DATASETS`; ``mnist`` and ``digits`` use the
        held-out part of :func:`tinylens.data.load_image_split`.
    data_params : dict
    data_dir : str, optional
        MNIST IDX files.
    layers : tuple of str, optional
        Hook points or globs; by default every hidden activation (see :func:`default_layers`).
    pairs : bool
        Also ablate every pair of units of each layer.
    scales : tuple of float
        Factors of the scaling sweep (empty: none).
    kind : {"zero", "mean"}
    seed : int
    """

    model: str
    data: str = "digits"
    data_params: dict[str, Any] = field(default_factory=dict)
    data_dir: str | None = None
    layers: tuple[str, ...] | None = None
    pairs: bool = False
    scales: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 3.0)
    kind: str = "zero"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("zero", "mean"):
            raise ConfigError(f"ablation kind must be 'zero' or 'mean', not {self.kind!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "data": self.data,
            "data_params": dict(self.data_params),
            "data_dir": self.data_dir,
            "layers": list(self.layers) if self.layers else None,
            "pairs": self.pairs,
            "scales": list(self.scales),
            "kind": self.kind,
            "seed": self.seed,
        }


def evaluation_data(
    name: str, params: dict[str, Any], seed: int, data_dir: str | None = None
) -> tuple[Dataset, str, list[str]]:
    """``(dataset, source, notes)`` to measure a trained network on.

    Image datasets give their held-out split (with notes when MNIST is substituted); the
    others are generated from ``seed``.
    """
    if name in IMAGE_DATASETS and not params:
        split = load_image_split(name, data_dir, seed=seed)
        return split.test, f"{split.source}, test part", list(split.notes)
    from tinylens.studies.train import load_named_dataset

    data = load_named_dataset(name, params, seed, data_dir)
    return data, name, []


def check_trained_range(path: str, X: np.ndarray, source: str) -> list[str]:
    """Compare ``X`` with the input range recorded in the weights file (if any): a mismatch
    warns (:class:`~tinylens.probes.InputRangeWarning`) and returns it as a report note."""
    import warnings

    from tinylens.io import read_info
    from tinylens.probes import InputRangeWarning, input_range_from_info, input_range_problem

    trained = input_range_from_info(read_info(path).get("info"))
    problem = None if trained is None else input_range_problem(X, trained, what=f"{source} inputs")
    if problem is None:
        return []
    warnings.warn(problem, InputRangeWarning, stacklevel=2)
    return [problem[0].upper() + problem[1:] + "; every number here is measured on such inputs."]


def default_layers(net: Sequential) -> list[str]:
    """Every hidden activation: outputs of activation modules, except the network's output."""
    last = net.hook_names[-1]
    return [
        m.name
        for m in net.layers
        if m.kind in ACTIVATIONS and m.kind not in ("identity", "softmax") and m.name != last
    ]


def resolve_layers(net: Sequential, layers: tuple[str, ...] | None) -> list[str]:
    """The hook points named (or matched by globs) in ``layers``, in network order."""
    if not layers:
        chosen = default_layers(net)
        if not chosen:
            raise ConfigError(
                "the network has no hidden activation; choose hook points with --layer"
            )
        return chosen
    picked: set[str] = set()
    for item in layers:
        hits = fnmatch.filter(net.hook_names, item) if any(c in item for c in "*?[") else []
        if item in net.hook_names:
            hits = [item]
        if not hits:
            raise UnknownNameError("hook point", item, net.hook_names)
        picked.update(hits)
    return [n for n in net.hook_names if n in picked]


@dataclass
class AblateResult:
    config: AblateConfig
    data_source: str
    notes: list[str]
    n_samples: int
    layers: list[str]
    ablations: dict[str, AblationSweep]
    pairs: dict[str, AblationSweep]
    scaling: dict[str, ScalingSweep]
    unit_kinds: dict[str, str]

    @property
    def baseline_accuracy(self) -> float:
        return next(iter(self.ablations.values())).baseline_accuracy_

    def metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "baseline_accuracy": round(self.baseline_accuracy, 6),
            "samples": self.n_samples,
        }
        for name, table in self.ablations.items():
            worst = int(np.argmax(table.drop_))
            out[f"{name}: units"] = len(table.units)
            out[f"{name}: most needed {self.unit_kinds[name]}"] = int(table.units[worst, 0])
            out[f"{name}: largest accuracy drop"] = round(float(table.drop_[worst]), 6)
            out[f"{name}: units costing > 1% accuracy"] = int(np.sum(table.drop_ > 0.01))
            out[f"{name}: units costing nothing"] = int(np.sum(np.abs(table.drop_) < 1e-12))
        return out

    def save(self, run: RunDir) -> None:
        """Config, metrics, CSV tables, figures and a report section, into ``run``."""
        from tinylens.viz.interventions import (
            plot_ablation_heatmap,
            plot_pair_matrix,
            plot_scaling_curves,
        )

        cfg = self.config
        run.write_yaml("config.yaml", cfg.to_dict())
        metrics = self.metrics()
        run.write_json("metrics.json", {**metrics, "notes": self.notes})
        figures, tables = [], []
        for name in self.layers:
            stem = name.replace(".", "_")
            abl, unit = self.ablations[name], self.unit_kinds[name]
            run.write_csv(f"ablation_{stem}.csv", abl.rows(), abl.columns())
            labels = [f"{unit} {int(u)}" for u in abl.units[:, 0]]
            fig = plot_ablation_heatmap(
                abl.class_drop_, labels, title=f"{name}: per-class accuracy drop when ablated"
            )
            run.save_figure(f"ablation_{stem}.png", fig)
            figures.append(
                Figure(
                    f"ablation_{stem}.png",
                    f"Accuracy lost per class when each {unit} of {name} is {cfg.kind}-ablated "
                    f"(red: the {unit} helps that class). Baseline "
                    f"{abl.baseline_accuracy_:.4f}.",
                )
            )
            tables.append(
                Table(
                    f"{name}: the 10 {unit}s whose ablation costs most",
                    abl.columns(),
                    abl.costliest_rows(10),
                    note=f"all {len(abl.units)} rows are in ablation_{stem}.csv",
                )
            )
            if name in self.pairs:
                pairs = self.pairs[name]
                run.write_csv(f"pairs_{stem}.csv", pairs.rows(), pairs.columns())
                ids = np.unique(pairs.units)
                matrix = pairs.pair_matrix()
                # the diagonal: each unit alone, from the single-unit table
                alone = dict(zip(abl.units[:, 0].tolist(), abl.accuracy_.tolist(), strict=True))
                np.fill_diagonal(matrix, [alone[int(i)] for i in ids])
                fig = plot_pair_matrix(
                    matrix,
                    [str(int(i)) for i in ids],
                    pairs.baseline_accuracy_,
                    title=f"{name}: accuracy drop, pairs ablated",
                )
                run.save_figure(f"pairs_{stem}.png", fig)
                figures.append(
                    Figure(
                        f"pairs_{stem}.png",
                        f"Accuracy lost when two {unit}s of {name} are ablated together (the "
                        "diagonal: one alone).",
                    )
                )
            if name in self.scaling:
                sc = self.scaling[name]
                run.write_csv(f"scaling_{stem}.csv", sc.rows(), sc.columns())
                fig = plot_scaling_curves(
                    sc.scales,
                    sc.accuracy_,
                    sc.baseline_accuracy_,
                    [f"{unit} {int(u)}" for u in sc.units],
                    title=f"{name}: accuracy as each {unit} is scaled",
                )
                run.save_figure(f"scaling_{stem}.png", fig)
                figures.append(
                    Figure(
                        f"scaling_{stem}.png",
                        f"Accuracy with each {unit} of {name} multiplied by a factor; the five "
                        "with the largest effect are coloured.",
                    )
                )
        summary = (
            f"Every {'/'.join(sorted(set(self.unit_kinds.values())))} of "
            f"{', '.join(self.layers)} was {cfg.kind}-ablated, one at a time"
            + (", and in pairs" if cfg.pairs else "")
            + (f", and scaled by {', '.join(f'{s:g}' for s in cfg.scales)}" if cfg.scales else "")
            + f", on {self.n_samples} samples of {self.data_source}, all edits of a layer in one "
            "batched computation. Tables list per-class accuracy with each unit removed."
        )
        section = Section(
            id="ablate",
            title=f"Ablations of {Path(cfg.model).name}",
            summary=summary,
            metrics=metrics,
            figures=figures,
            tables=tables,
            config=cfg.to_dict(),
            notes=self.notes,
        )
        run.add_section(section, title=f"tinylens ablate: {Path(cfg.model).name}")


def run_ablate(config: AblateConfig, *, quiet: bool = True) -> AblateResult:
    """Load the network and the data, and run every sweep."""
    from tinylens.io import load

    net = load(config.model)
    net.eval()
    data, source, notes = evaluation_data(
        config.data, config.data_params, config.seed, config.data_dir
    )
    if data.task != "classification":
        raise DataError(
            f"ablation tables report per-class accuracy; {config.data!r} is a regression "
            "dataset (choose a classification one: digits, mnist, spiral, xor, moons)"
        )
    net.check_input(data.X[:1])  # a network/data mismatch is one clear error, up front
    outputs = net.out_features
    binary = outputs == 1 and data.n_classes == 2  # one logit for two classes (bce)
    if outputs is not None and outputs != data.n_classes and not binary:
        raise DataError(
            f"{source} has {data.n_classes} classes but the network has {outputs} outputs; "
            f"give data with {outputs} classes (e.g. --data-param classes={outputs})"
        )
    notes += check_trained_range(config.model, data.X, source)
    layers = resolve_layers(net, config.layers)
    _, cache = net.run_with_cache(data.X, names=layers)
    ablations, pairs, scaling, kinds = {}, {}, {}, {}
    steps = len(layers) * (1 + int(config.pairs) + int(bool(config.scales)))
    with progress(steps, "ablating", quiet=quiet) as bar:
        for name in layers:
            kinds[name] = "channel" if cache[name].ndim > 2 else "neuron"
            common = {"cache": cache, "quiet": True}
            ablations[name] = ablation_sweep(net, data, name, kind=config.kind, **common)
            bar.advance()
            if config.pairs:
                if ablations[name].units.shape[0] < 2:
                    notes.append(f"{name} has a single unit; no pairs to ablate")
                else:
                    pairs[name] = ablation_sweep(
                        net, data, name, pairs=True, kind=config.kind, **common
                    )
                bar.advance()
            if config.scales:
                scaling[name] = scaling_sweep(net, data, name, config.scales, **common)
                bar.advance()
    return AblateResult(
        config=config,
        data_source=source,
        notes=notes,
        n_samples=data.n,
        layers=layers,
        ablations=ablations,
        pairs=pairs,
        scaling=scaling,
        unit_kinds=kinds,
    )
