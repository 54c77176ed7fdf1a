"""Run the SAE study: train the SAE (streamed), measure it on held-out data, and compare the
polysemanticity of the layer's neurons with that of the latents. Writes no files.

>>> import tinylens as tl
>>> from tinylens.studies.sae import SAEStudyConfig, run
>>> from tinylens.superposition import SAETrainConfig
>>> from tinylens.data import load_image_split
>>> split = load_image_split("digits", seed=0)
>>> net = tl.MLP([64, 32, 10], rng=0)
>>> _ = tl.fit(net, split.train, tl.TrainConfig(epochs=3, optimizer="adam", lr=0.01), rng=0)
>>> cfg = SAEStudyConfig(data="digits", sae=SAETrainConfig(n_latents=64, k=4, steps=50), maps=2)
>>> result = run(cfg, model=net, data=split)
>>> result.sae.n_latents, result.latents.class_means_.shape
(64, (10, 64))
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from tinylens.data import ImageSplit, load_image_split
from tinylens.engine.init import as_rng
from tinylens.errors import ConfigError, DataError, UnknownNameError
from tinylens.hooks import hooked
from tinylens.probes import class_selectivity, input_range_of, saliency_maps, single_pixel_maps
from tinylens.progress import progress as progress_bar
from tinylens.studies.sae.config import SAEStudyConfig
from tinylens.studies.sae.result import SAEStudyResult, TopImages
from tinylens.superposition import (
    evaluate_sae,
    polysemanticity,
    superposition_score,
    train_sae,
)

__all__ = ["run"]


def _load_model(config: SAEStudyConfig, model: Any) -> tuple[Any, list[str]]:
    if model is not None:
        return model, []
    if not config.model:
        raise ConfigError("no model: give the study a weights file (MODEL) or pass model=")
    from tinylens.io import load

    net = load(config.model)
    if not all(np.isfinite(p.data).all() for p in net.parameters()):
        raise DataError(
            f"{config.model} holds NaN or infinite weights; retrain the model or load a good "
            "checkpoint"
        )
    return net, []


def _top_images(
    split: ImageSplit, evaluation: Any, neurons: np.ndarray, n: int
) -> dict[str, TopImages]:
    """Top activating held-out images of the chosen neurons and of the ``n`` most often firing
    latents."""
    freq = evaluation.firing_frequency_
    live = np.flatnonzero(freq > 0)
    latents = live[np.argsort(-freq[live], kind="stable")][:n]
    X = np.asarray(split.test.X).reshape(len(split.test.X), *split.image_shape)
    y = np.asarray(split.test.y)
    out = {}
    for kind, units, top in (
        ("neurons", neurons, evaluation.top_unit_samples_),
        ("latents", latents, evaluation.top_latent_samples_),
    ):
        idx = top[units] if len(units) else np.zeros((0, top.shape[1]), dtype=int)
        out[kind] = TopImages(np.asarray(units), X[idx], y[idx])
    return out


def run(
    config: SAEStudyConfig,
    *,
    data: ImageSplit | None = None,
    model: Any = None,
    rng: Any = None,
    progress: bool = True,
) -> SAEStudyResult:
    """Train and measure an SAE at ``config.hook`` of the model.

    Parameters
    ----------
    config : SAEStudyConfig
    data : ImageSplit, optional
        Default: ``load_image_split(config.data, config.data_dir, seed=config.seed)``.
    model : engine Sequential, torch.nn.Module or HookedModule, optional
        Default: loaded from ``config.model``.
    rng : int or Generator, optional
        Default: ``config.seed``.
    progress : bool
        A progress bar on an interactive terminal.
    """
    from tinylens.studies.data import check_trained_range

    started = time.perf_counter()
    net, notes = _load_model(config, model)
    net = hooked(net)
    gen = as_rng(config.seed if rng is None else rng)
    split = (
        data
        if data is not None
        else load_image_split(config.data, config.data_dir, seed=config.seed)
    )
    notes = notes + list(split.notes)
    if config.hook not in net.hook_names:
        raise UnknownNameError("hook point", config.hook, net.hook_names)
    if hasattr(net, "check_input"):
        net.check_input(split.train.X[:1])  # a model/data mismatch is one clear error, up front
    if config.model and model is None:
        notes += check_trained_range(config.model, split.train.X, split.source)
    steps = config.sae.steps
    with progress_bar(steps, "training the SAE", quiet=not progress) as bar:
        sae = train_sae(
            net,
            split.train,
            config.hook,
            rng=gen,
            callback=lambda step, loss: bar.advance(),
            **config.sae.to_dict(),
        )
    evaluation = evaluate_sae(sae, net, split.test, top_k=config.top_images)
    assert evaluation.unit_class_means_ is not None and evaluation.latent_class_means_ is not None
    unit_kind = (
        "channel"
        if np.asarray(net.forward_to(split.test.X[:1], config.hook)).ndim > 2
        else "neuron"
    )
    if np.nanmin(evaluation.unit_class_means_) < 0:
        notes.append(
            f"{config.hook} has negative activations; selectivity and the class counts assume "
            "non-negative units (choose a ReLU output)"
        )
    mu_u, mu_l = evaluation.unit_class_means_, evaluation.latent_class_means_
    neurons = polysemanticity(mu_u, class_selectivity(mu_u), name=config.hook, kind=unit_kind)
    latents = polysemanticity(mu_l, class_selectivity(mu_l), name=config.hook, kind="latent")
    chosen = neurons.most_polysemantic(config.maps)
    shape = split.image_shape
    pixel_maps = saliency = None
    if len(chosen):
        trained = input_range_of(split.train)
        pixel_maps = single_pixel_maps(net, config.hook, shape, on=trained.high, off=trained.low)
        saliency = saliency_maps(
            net, split.test.X, config.hook, shape, units=chosen, n_samples=200, rng=gen
        )
    return SAEStudyResult(
        config=config,
        sae=sae,
        evaluation=evaluation,
        neurons=neurons,
        latents=latents,
        score=superposition_score(evaluation.firing_frequency_, sae.d),
        polysemantic_units=chosen,
        pixel_maps=pixel_maps,
        saliency=saliency,
        top_images=_top_images(split, evaluation, chosen, config.maps),
        image_shape=shape,
        data_source=split.source,
        n_train=split.train.n,
        notes=notes,
        seconds=time.perf_counter() - started,
    )
