"""Probes: measurements of what neurons do, computed from activations without storing them.

* :mod:`tinylens.probes.streaming`: per-unit running mean, variance, extremes, fraction
  active and class means over any number of batches, on either backend.
"""

from tinylens.probes.streaming import NeuronStats, StatsRow, StreamingStats, neuron_stats

__all__ = ["NeuronStats", "StatsRow", "StreamingStats", "neuron_stats"]
