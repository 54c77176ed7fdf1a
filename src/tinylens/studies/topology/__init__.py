"""The topology study behind ``tinylens topology``: depth versus width on the spiral, as in
msmrexe/interpretable-neural-basis-decomposition's topology analysis.

Two ways to separate the interleaved arms of a spiral (n points, K classes, noise):

* **width** (lifting): every monomial of (x1, x2) up to degree P, then a linear classifier;
* **depth**: an MLP (64, 32) that folds the plane layer by layer until a linear map separates
  the arms.

For each K the study reports both models' decision boundaries, accuracies and parameter
counts, the lifted model's accuracy against the degree, and for the MLP: the input grid pushed
through each layer (projected by PCA when wider than 2), a logistic regression's accuracy on
each layer's representation (separability growing with depth), and the exact number of linear
regions of the network up to each layer.

* :mod:`.config`: :class:`TopologyConfig`;
* :mod:`.run`: :func:`run` (trains and measures, writes nothing);
* :mod:`.result`: :class:`TopologyResult` (repr, notebook HTML, plot, tables);
* :mod:`.write`: :func:`write` (files and the report section).
"""

from tinylens.studies.topology.config import MLP_TRAINING, TopologyConfig
from tinylens.studies.topology.result import TopologyResult
from tinylens.studies.topology.run import run, run_topology
from tinylens.studies.topology.write import write

__all__ = ["MLP_TRAINING", "TopologyConfig", "TopologyResult", "run", "run_topology", "write"]
