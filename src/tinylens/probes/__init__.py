"""Probes: measurements of what neurons do. Each is a function of a model (an engine network, or
any torch module through :func:`tinylens.hooked`) and data (a Dataset or arrays), naming its
hook points by the hook API.

* :mod:`.streaming`: per-unit running mean, variance, extremes, fraction active and class
  means over any number of batches (:func:`neuron_stats`); :class:`StatsCallback` gathers them
  after every epoch of ``fit``.
* :mod:`.selectivity`: the class selectivity index, top units per class by mean activation,
  gradient (:mod:`.gradients`) and selectivity.
* :mod:`.lifecycle`: dead units per epoch, and their births, deaths and revivals.
* :mod:`.drift`: how statistics, selectivity and weights move across epochs.
* :mod:`.histograms`: histograms of each layer's activations at every weight snapshot.
* :mod:`.confusion`: per-class accuracy and the confusion matrix.
* :mod:`.embeddings`: PCA / t-SNE / UMAP of hidden layers, silhouettes, selective subspaces.
* :mod:`.perturbation`: single-pixel perturbation maps and averaged saliency maps.
* :mod:`.pruning`: keep each class's most selective units, silence the rest.
* :mod:`.input_range`: inputs checked against the range the model was trained on.
"""

from tinylens.probes.confusion import Confusion, confusion, confusion_matrix, predict_classes
from tinylens.probes.drift import Drift, drift, neuron_drift, stat_series, weight_drift
from tinylens.probes.embeddings import (
    Embedding,
    PCAResult,
    SubspaceSilhouettes,
    binary_silhouettes,
    embed,
    layer_embeddings,
    pca,
    selective_subspaces,
    silhouette,
)
from tinylens.probes.gradients import class_gradients, hook_point_gradient
from tinylens.probes.histograms import ActivationHistograms, activation_histograms
from tinylens.probes.input_range import (
    InputRange,
    InputRangeWarning,
    check_input_range,
    input_range_from_info,
    input_range_of,
    input_range_problem,
    observed_range,
)
from tinylens.probes.lifecycle import (
    Lifecycle,
    LifeEvent,
    dead_matrix,
    lifecycle,
    lifecycle_from_dead,
    stats_from_snapshots,
)
from tinylens.probes.perturbation import (
    InputMaps,
    class_saliency_maps,
    saliency_maps,
    single_pixel_inputs,
    single_pixel_maps,
)
from tinylens.probes.pruning import Pruning, keep_set, prune_by_selectivity
from tinylens.probes.selectivity import (
    SELECTIVITY_EPS,
    Selectivity,
    TopNeurons,
    class_selectivity,
    selectivity,
    top_neurons,
    top_units,
)
from tinylens.probes.streaming import (
    NeuronStats,
    StatsCallback,
    StatsRow,
    StreamingStats,
    neuron_stats,
)

__all__ = [
    "SELECTIVITY_EPS",
    "ActivationHistograms",
    "Confusion",
    "Drift",
    "Embedding",
    "InputMaps",
    "InputRange",
    "InputRangeWarning",
    "LifeEvent",
    "Lifecycle",
    "NeuronStats",
    "PCAResult",
    "Pruning",
    "Selectivity",
    "StatsCallback",
    "StatsRow",
    "StreamingStats",
    "SubspaceSilhouettes",
    "TopNeurons",
    "activation_histograms",
    "binary_silhouettes",
    "check_input_range",
    "class_gradients",
    "class_saliency_maps",
    "class_selectivity",
    "confusion",
    "confusion_matrix",
    "dead_matrix",
    "drift",
    "embed",
    "hook_point_gradient",
    "input_range_from_info",
    "input_range_of",
    "input_range_problem",
    "keep_set",
    "layer_embeddings",
    "lifecycle",
    "lifecycle_from_dead",
    "neuron_drift",
    "neuron_stats",
    "observed_range",
    "pca",
    "predict_classes",
    "prune_by_selectivity",
    "saliency_maps",
    "selective_subspaces",
    "selectivity",
    "silhouette",
    "single_pixel_inputs",
    "single_pixel_maps",
    "stat_series",
    "stats_from_snapshots",
    "top_neurons",
    "top_units",
    "weight_drift",
]
