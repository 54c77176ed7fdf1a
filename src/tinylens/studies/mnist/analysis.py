"""The analysis of one trained image classifier, composed from :mod:`tinylens.probes` and
:mod:`tinylens.interventions`: what ``tinylens mnist`` runs on every model it trains, and what
you can run on your own (an engine network, or any torch MLP or CNN through
:func:`tinylens.hooked`).

>>> import numpy as np
>>> import tinylens as tl
>>> from tinylens.data import digits
>>> train, test = digits().split(0.2, rng=0)
>>> net = tl.MLP([64, 16, 10], rng=0)
>>> _ = tl.fit(net, train, tl.TrainConfig(epochs=5, optimizer="adam", lr=0.01), rng=0)
>>> result = analyse_model(net, train, test, config=AnalysisConfig(analyses=("ablation",)))
>>> layer = result.layers["layers.1"]
>>> layer.selectivity.selectivity_.shape, layer.ablation.class_accuracy_.shape
((10, 16), (16, 10))
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.data import Dataset
from tinylens.engine import Sequential
from tinylens.errors import ConfigError, DataError
from tinylens.hooks import evaluating, hooked
from tinylens.interventions import AblationSweep, ScalingSweep, ablation_sweep, scaling_sweep
from tinylens.probes import (
    Confusion,
    Drift,
    Embedding,
    InputMaps,
    InputRange,
    Lifecycle,
    Pruning,
    Selectivity,
    StreamingStats,
    SubspaceSilhouettes,
    TopNeurons,
    check_input_range,
    class_saliency_maps,
    confusion,
    input_range_of,
    layer_embeddings,
    lifecycle,
    neuron_drift,
    neuron_stats,
    prune_by_selectivity,
    saliency_maps,
    selective_subspaces,
    selectivity,
    single_pixel_maps,
    top_neurons,
)
from tinylens.progress import progress
from tinylens.studies.mnist.config import (
    ANALYSES,
    EMBEDDING_METHODS,
    AnalysisConfig,
)

__all__ = [
    "ANALYSES",
    "EMBEDDING_METHODS",
    "AnalysisConfig",
    "LayerAnalysis",
    "ModelAnalysis",
    "analyse_model",
    "neuron_points",
    "selective_units",
]


def neuron_points(model: Any) -> list[str]:
    """The hook points whose units are the hidden neurons: the outputs of the ReLUs.

    Selectivity, dead units and ablations are measured there, whatever a variant puts around
    the ReLU (a LayerNorm's output is signed: no unit of it is ever "dead"). For a torch model,
    every ``nn.ReLU`` submodule.
    """
    h = hooked(model)
    if isinstance(h, Sequential):
        return [m.name for m in h.layers if m.kind == "relu"]
    import torch

    return [n for n in h.hook_names if isinstance(h.module(n), torch.nn.ReLU)]


@dataclass
class LayerAnalysis:
    """Everything measured at one hook point (units: neurons, or channels of a CNN).

    Attributes
    ----------
    name : str
    unit : {"neuron", "channel"}
    lifecycle : Lifecycle, optional
        Dead units per statistics pass (None with a single pass).
    selectivity : Selectivity
        From the last statistics pass (the training set, final weights).
    top : TopNeurons
    drift : dict of str -> Drift
        Mean, std, fraction active, class means and selectivity across the passes.
    ablation, scaling : sweeps on the test set (None when switched off)
    pixel_maps, saliency : InputMaps (None when switched off)
    subspaces : SubspaceSilhouettes, optional
    pruning : Pruning, optional
        This hook point pruned alone.
    """

    name: str
    unit: str
    lifecycle: Lifecycle | None
    selectivity: Selectivity
    top: TopNeurons
    drift: dict[str, Drift] = field(default_factory=dict)
    ablation: AblationSweep | None = None
    scaling: ScalingSweep | None = None
    pixel_maps: InputMaps | None = None
    saliency: InputMaps | None = None
    subspaces: SubspaceSilhouettes | None = None
    pruning: Pruning | None = None

    @property
    def n_units(self) -> int:
        return int(self.selectivity.selectivity_.shape[1])

    @property
    def dead_units(self) -> np.ndarray:
        return np.flatnonzero(self.selectivity.dead_)

    def bottlenecks(self) -> list[dict[str, Any]]:
        """Per class, the unit whose ablation costs that class most (empty without ablation)."""
        if self.ablation is None:
            return []
        drop = self.ablation.class_drop_
        out = []
        for c in range(drop.shape[1]):
            u = int(np.nanargmax(drop[:, c]))
            out.append(
                {
                    "class": c,
                    "layer": self.name,
                    "unit": int(self.ablation.units[u, 0]),
                    "class_accuracy_drop": round(float(drop[u, c]), 6),
                    "class_accuracy": round(float(self.ablation.class_accuracy_[u, c]), 6),
                }
            )
        return out


@dataclass
class ModelAnalysis:
    """What :func:`analyse_model` measured on one model.

    Attributes
    ----------
    layers : dict of str -> LayerAnalysis
    confusion : Confusion
        On the test set.
    class_saliency : InputMaps, optional
        Mean saliency of each class's logit over that class's test images.
    embeddings : list of Embedding
        The inputs and each hidden layer, by each method.
    joint_pruning : Pruning, optional
        Every hook point pruned at once.
    input_range : InputRange
        The range the model was trained on (the test inputs were checked against it).
    seconds, cpu_seconds : dict of str -> float
        Wall and CPU (this process) time of each analysis.
    notes : list of str
        What could not be measured, and why.
    subspace_embeddings : list of Embedding
        Each hidden layer's selective subspace (the union of every class's top-k selective
        live neurons), by each method; silhouettes in the subspace and in 2-D.
    """

    layers: dict[str, LayerAnalysis]
    confusion: Confusion
    class_saliency: InputMaps | None
    embeddings: list[Embedding]
    joint_pruning: Pruning | None
    input_range: InputRange
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    subspace_embeddings: list[Embedding] = field(default_factory=list)
    cpu_seconds: dict[str, float] = field(default_factory=dict)


class _Clock:
    """Wall and CPU seconds per analysis: ``with clock("ablation"): ...`` (repeats add up).
    CPU seconds (this process) are what the work costs on a quiet machine, BLAS and OpenMP
    being limited to one thread; wall seconds add the waits of a busy one."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, key: str) -> Iterator[None]:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
            self.cpu_seconds[key] = self.cpu_seconds.get(key, 0.0) + time.process_time() - c0


def _last_stats(stats: Any) -> StreamingStats:
    if isinstance(stats, StreamingStats):
        return stats
    return stats[max(stats)]  # type: ignore[no-any-return]


def analyse_model(
    model: Any,
    train: Dataset,
    test: Dataset,
    layers: Sequence[str] | None = None,
    config: AnalysisConfig | None = None,
    *,
    stats: Mapping[int, StreamingStats] | StreamingStats | None = None,
    input_range: InputRange | None = None,
    image_shape: tuple[int, int] | None = None,
    on: float | None = None,
    off: float | None = None,
    quiet: bool = True,
) -> ModelAnalysis:
    """Every analysis of the study on a trained model.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Flat image rows in (what an image Dataset holds), one logit per class out.
    train, test : classification Datasets
        Neuron descriptions (selectivity, gradients) come from ``train``; everything that
        scores the model (confusion, ablation, scaling, pruning, embeddings, saliency) uses
        ``test``.
    layers : sequence of str, optional
        Hook points to analyse (default: :func:`neuron_points`, the ReLU outputs).
    config : AnalysisConfig, optional
        Which analyses, sample sizes, scales, k's, seed.
    stats : mapping of epoch -> StreamingStats, or one StreamingStats, optional
        Statistics of ``layers`` on ``train`` (with labels); several epochs give the lifecycle
        and drift. Default: one pass now.
    input_range : InputRange, optional
        The training range (default: ``train``'s); ``test`` is checked against it and a
        mismatch warns (:class:`~tinylens.probes.InputRangeWarning`).
    image_shape : (height, width), optional
        Default: ``train.image_shape``.
    on, off : float, optional
        A lit and a dark pixel for the single-pixel maps (default: the input range's ends).
    quiet : bool
    """
    cfg = config or AnalysisConfig()
    chosen = set(cfg.analyses)
    clock = _Clock()
    names = list(layers) if layers is not None else neuron_points(model)
    if not names:
        raise ConfigError("the model has no ReLU hook point to analyse; pass layers=[...]")
    trained = input_range or input_range_of(train)
    check_input_range(test.X, trained, what="test inputs")
    shape = image_shape or train.image_shape
    seed = cfg.seed
    if stats is None:
        with clock("statistics"):
            stats = neuron_stats(model, train, names, per_channel=True)
    last = _last_stats(stats)
    by_epoch = stats if not isinstance(stats, StreamingStats) else {0: stats}
    with evaluating(model) as h:
        _, cache = h.run_with_cache(test.X, names=names)
        # one pass over the test set serves every sweep of every hook point
        cache = {n: cache[n] for n in names}
    with clock("confusion"):
        conf = confusion(model, test)
    out: dict[str, LayerAnalysis] = {}
    notes: list[str] = []
    with progress(len(names), "analysing", quiet=quiet) as bar:
        for i, name in enumerate(names):
            unit = "channel" if cache[name].ndim > 2 else "neuron"
            with clock("selectivity"):
                sel = selectivity(name=name, stats=last[name])
            with clock("lifecycle and drift"):
                life = lifecycle(by_epoch, name) if len(by_epoch) > 1 else None
                drifts = neuron_drift(by_epoch, name) if len(by_epoch) > 1 else {}
            with clock("top units"):
                top = top_neurons(
                    model, train, name, cfg.top_k, sel=sel, gradients="gradients" in chosen
                )
            la = LayerAnalysis(name, unit, life, sel, top, drifts)
            common = {"cache": cache, "quiet": True}
            if "ablation" in chosen:
                with clock("ablation"), evaluating(model):  # sweeps refuse training mode
                    la.ablation = ablation_sweep(model, test, name, **common)
            if "scaling" in chosen and cfg.scales:
                with clock("scaling"), evaluating(model):
                    la.scaling = scaling_sweep(model, test, name, cfg.scales, **common)
            if "perturbation" in chosen and shape is not None:
                with clock("single-pixel maps"):
                    la.pixel_maps = single_pixel_maps(
                        model,
                        name,
                        shape,
                        on=trained.high if on is None else on,
                        off=trained.low if off is None else off,
                    )
            if "saliency" in chosen and shape is not None:
                with clock("saliency maps"):
                    la.saliency = saliency_maps(
                        model,
                        test.X,
                        name,
                        shape,
                        n_samples=cfg.saliency_samples,
                        rng=np.random.default_rng([seed, 1, i]),
                    )
            if "subspaces" in chosen and unit == "neuron":
                with clock("selective subspaces"):
                    try:
                        la.subspaces = selective_subspaces(
                            model,
                            test,
                            name,
                            sel.selectivity_,
                            cfg.subspace_k,
                            n_random=cfg.subspace_random,
                            n_samples=cfg.subspace_samples,
                            dead=sel.dead_,
                            rng=np.random.default_rng([seed, 2, i]),
                        )
                    except DataError:  # too few live units for k-subsets
                        notes.append(
                            f"{name}: fewer than {cfg.subspace_k} live units; no selective "
                            "subspaces."
                        )
            if "pruning" in chosen and unit == "neuron" and cfg.prune_ks:
                with clock("pruning"):
                    la.pruning = prune_by_selectivity(
                        model,
                        test,
                        {name: sel.selectivity_},
                        cfg.prune_ks,
                        dead={name: sel.dead_},
                        n_random=cfg.prune_random,
                        rng=np.random.default_rng([seed, 3, i]),
                    )
            out[name] = la
            bar.advance()
    dense = [n for n in names if out[n].unit == "neuron"]
    joint = None
    if "pruning" in chosen and len(dense) > 1 and cfg.prune_ks:
        with clock("pruning"):
            joint = prune_by_selectivity(
                model,
                test,
                {n: out[n].selectivity.selectivity_ for n in dense},
                cfg.prune_ks,
                dead={n: out[n].selectivity.dead_ for n in dense},
                n_random=cfg.prune_random,
                rng=np.random.default_rng([seed, 4]),
            )
    class_maps = None
    if "saliency" in chosen and shape is not None:
        with clock("saliency maps"):
            class_maps = class_saliency_maps(
                model,
                test,
                shape,
                n_per_class=cfg.saliency_samples,
                rng=np.random.default_rng([seed, 5]),
            )
    embeddings: list[Embedding] = []
    if "embeddings" in chosen and cfg.embeddings and dense:
        with clock("embeddings"):
            embeddings = layer_embeddings(
                model,
                test,
                dense,
                cfg.embeddings,
                n_samples=cfg.embedding_samples,
                slow_samples=cfg.tsne_samples,
                rng=np.random.default_rng([seed, 6]),
            )
    sub_embeddings: list[Embedding] = []
    subspace = {n: selective_units(out[n].selectivity, cfg.subspace_k) for n in dense}
    for n, u in subspace.items():
        if len(u) < 2 and "subspaces" in chosen and cfg.embeddings:
            notes.append(f"{n}: {len(u)} live selective unit(s); its subspace is not embedded.")
    subspace = {n: u for n, u in subspace.items() if len(u) >= 2}  # a 2-D picture needs 2
    if "subspaces" in chosen and cfg.embeddings and subspace:
        with clock("subspace embeddings"):
            sub_embeddings = layer_embeddings(
                model,
                test,
                list(subspace),
                cfg.embeddings,
                n_samples=cfg.embedding_samples,
                include_input=False,
                units=subspace,
                slow_samples=cfg.tsne_samples,
                rng=np.random.default_rng([seed, 7]),
            )
    return ModelAnalysis(
        out,
        conf,
        class_maps,
        embeddings,
        joint,
        trained,
        clock.seconds,
        notes,
        sub_embeddings,
        clock.cpu_seconds,
    )


def selective_units(sel: Selectivity, k: int) -> np.ndarray:
    """A layer's selective subspace: the union (sorted) of every class's ``k`` most selective
    live units."""
    from tinylens.probes import top_units

    top = np.unique(np.asarray(top_units(sel.selectivity_, k, exclude=sel.dead_), dtype=np.int64))
    return top[~np.asarray(sel.dead_, dtype=bool)[top]]  # top_units ranks dead units last
