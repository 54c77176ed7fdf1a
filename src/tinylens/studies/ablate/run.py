"""Run the ablation study: which neurons (or channels) does a trained network need, for which
classes, and what happens when they are turned up or down? Writes no files.

For each chosen hook point it runs, batched: every unit ablated (per-class accuracy), optionally
every pair of units, and every unit scaled by each factor.

>>> from tinylens.studies import ablate, train
>>> from tinylens.training import TrainConfig
>>> import tempfile, pathlib, tinylens as tl
>>> trained = train.run(train.TrainStudyConfig(data="digits", hidden=(16,), val_fraction=0.2,
...                     train=TrainConfig(epochs=5, optimizer="adam", lr=0.01)), progress=False)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
>>> _ = tl.save(trained.engine_net(), path)
>>> result = ablate.run(ablate.AblateConfig(model=str(path), data="digits"), progress=False)
>>> list(result.ablations), result.ablations["layers.1"].class_accuracy_.shape
(['layers.1'], (16, 10))
"""

from __future__ import annotations

import fnmatch
from typing import Any

from tinylens.data import Dataset
from tinylens.engine import Sequential
from tinylens.engine.activations import ACTIVATIONS
from tinylens.errors import ConfigError, DataError, UnknownNameError
from tinylens.interventions import ablation_sweep, scaling_sweep
from tinylens.progress import progress as progress_bar
from tinylens.studies.ablate.config import AblateConfig
from tinylens.studies.ablate.result import AblateResult
from tinylens.studies.data import check_trained_range, evaluation_data, load_model

__all__ = ["default_layers", "resolve_layers", "run"]


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


def run(
    config: AblateConfig,
    *,
    model: Sequential | None = None,
    data: Dataset | None = None,
    progress: bool = True,
) -> AblateResult:
    """Load the network and the data, and run every sweep.

    Parameters
    ----------
    config : AblateConfig
    model : engine Sequential, optional
        Default: loaded from ``config.model`` (its data is then checked against the input range
        the file records).
    data : Dataset, optional
        A classification dataset. Default: :func:`tinylens.studies.data.evaluation_data` of
        ``config.data`` (the held-out part of image data).
    progress : bool
        A progress bar, one step per sweep.
    """
    net = load_model(config.model, model)
    net.eval()
    if data is None:
        data, source, notes = evaluation_data(
            config.data, config.data_params, config.seed, config.data_dir
        )
    else:
        source, notes = data.name, []
    if data.task != "classification":
        raise DataError(
            f"ablation tables report per-class accuracy; {source!r} is a regression "
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
    if model is None:
        notes += check_trained_range(config.model, data.X, source)
    layers = resolve_layers(net, config.layers)
    _, cache = net.run_with_cache(data.X, names=layers)
    ablations: dict[str, Any] = {}
    pairs: dict[str, Any] = {}
    scaling: dict[str, Any] = {}
    kinds: dict[str, str] = {}
    steps = len(layers) * (1 + int(config.pairs) + int(bool(config.scales)))
    with progress_bar(steps, "ablating", quiet=not progress) as bar:
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
