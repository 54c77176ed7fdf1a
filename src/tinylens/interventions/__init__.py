"""Interventions: ablate, scale, patch and steer activations, scoped or on a copy; batched sweeps
over every neuron; input attributions for one neuron. The same calls work on engine networks
and torch models.

* :mod:`.edits`: the one mechanism, :class:`Edit` (``new[:, units] = scale * old + value``),
  :func:`intervene` (a ``with`` block), :func:`run_with_edits`, :func:`edited_copy` (weights);
* presets: :func:`zero_ablation`, :func:`mean_ablation`, :func:`resample_ablation`
  (:mod:`.ablation`), :func:`scaling`, :func:`patching` / :func:`patch_activation`,
  :func:`steering` / :func:`mean_difference`;
* :mod:`.unit_sweeps`: :func:`ablation_sweep` (every unit or pair), :func:`scaling_sweep`,
  :func:`patching_sweep`, :func:`batched_edits`;
* :mod:`.attribution`: :func:`saliency`, :func:`gradient_x_input`,
  :func:`integrated_gradients` (Captum on torch, the engine's backward on the engine).

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([4, 6, 3], rng=0)
>>> x = np.ones((2, 4))
>>> with intervene(net, [zero_ablation("layers.1", [0, 1, 2, 3, 4, 5])]) as m:
...     silenced = m.forward(x)
>>> bool(np.allclose(silenced, net.layers[2].bias.data)), net.n_hooks
(True, 0)
"""

from tinylens.interventions.ablation import mean_ablation, resample_ablation, zero_ablation
from tinylens.interventions.attribution import (
    gradient_x_input,
    integrated_gradients,
    neuron_gradient,
    saliency,
)
from tinylens.interventions.batched import batched_edits, batched_scores
from tinylens.interventions.edits import Edit, edited_copy, intervene, run_with_edits
from tinylens.interventions.patching import patch_activation, patching
from tinylens.interventions.scaling import scaling
from tinylens.interventions.scoring import class_accuracy, correct_predictions
from tinylens.interventions.steering import mean_difference, steering
from tinylens.interventions.unit_sweeps import (
    AblationSweep,
    PatchingSweep,
    ScalingSweep,
    ablation_sweep,
    patching_sweep,
    scaling_sweep,
)

__all__ = [
    "AblationSweep",
    "Edit",
    "PatchingSweep",
    "ScalingSweep",
    "ablation_sweep",
    "batched_edits",
    "batched_scores",
    "class_accuracy",
    "correct_predictions",
    "edited_copy",
    "gradient_x_input",
    "integrated_gradients",
    "intervene",
    "mean_ablation",
    "mean_difference",
    "neuron_gradient",
    "patch_activation",
    "patching",
    "patching_sweep",
    "resample_ablation",
    "run_with_edits",
    "saliency",
    "scaling",
    "scaling_sweep",
    "steering",
    "zero_ablation",
]
