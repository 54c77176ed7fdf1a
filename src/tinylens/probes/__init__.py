"""Probes: measurements of what neurons do, computed from activations without storing them.

* :mod:`tinylens.probes.streaming`: per-unit running mean, variance, extremes, fraction
  active and class means over any number of batches, on either backend;
  :class:`StatsCallback` gathers them after every epoch of ``fit``.
"""

from tinylens.probes.streaming import (
    NeuronStats,
    StatsCallback,
    StatsRow,
    StreamingStats,
    neuron_stats,
)

__all__ = ["NeuronStats", "StatsCallback", "StatsRow", "StreamingStats", "neuron_stats"]
