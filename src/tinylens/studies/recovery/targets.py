"""The recovery study's targets: a function to learn, the architecture the sources learn it
with, its known circuit(s), and the data it trains and is judged on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinylens.circuits import Domain, compile_expression, get_circuit, parse_domain
from tinylens.data.functions import target_function
from tinylens.engine import AffineNet

__all__ = [
    "DEFAULT_LR",
    "DISTRIBUTIONS",
    "TARGETS",
    "RecoveryTarget",
    "eval_grid",
    "training_data",
]

GAMMA_SHAPE = 2.0
"""Shape of the gamma distribution (scale 1) the product net's inputs are drawn from: the
toy-examples post draws them from a gamma distribution, with a shape not recorded here; 2 is
our choice (positive numbers spread over about 0.1 to 8)."""

DEFAULT_LR = {
    "sgd": None,
    "momentum": 0.01,
    "nesterov": 0.01,
    "adam": 0.01,
    "adamw": 0.01,
    "rmsprop": 0.001,
    "adagrad": 0.05,
}
"""Learning rate per optimizer when none is given (None: the target's own, its SGD rate).
Momentum 0.9 at lr 0.01 takes the same long-run step as SGD at 0.1."""


@dataclass(frozen=True)
class RecoveryTarget:
    """A function to learn, the architecture to learn it with, and its known circuit(s).

    Attributes
    ----------
    sizes : tuple of int
        The sources' architecture.
    inputs : tuple of str
    integer_range : (int, int) or None
        Integer targets train on every integer ``lo..hi`` (one full batch); None: inputs
        uniform on ``[-1, 1]``.
    function : callable
        ``X (n, n_in) -> y (n, 1)``, float64.
    circuits : callable
        Returns the known circuits (AffineNets) a seed may have found.
    lattice : float or None
        Compare units on the integer lattice (a step's kink may sit anywhere in its gap).
    optimizer, lr, steps, batch_size : the default training settings.
    settings_note : str
        Which settings are the sources' and which are ours.
    init : str or None
        The source's initialisation, used when the config asks for ``auto`` (None: He for
        ReLU, Xavier otherwise).
    distribution, box : the training inputs' distribution and the evaluation box.
    sharpens : bool
        The loss reaches 0 only as the weights grow (the sigmoid step): scored by
        :mod:`~tinylens.studies.recovery.sharpening`.
    expression : str or None
        The target in the circuit language, for the read-back check (None: no exact formula).
    """

    name: str
    description: str
    sizes: tuple[int, ...]
    inputs: tuple[str, ...]
    function: Callable[[np.ndarray], np.ndarray]
    circuits: Callable[[], list[AffineNet]]
    bias: bool = False
    activation: str = "relu"
    output_activation: str = "identity"
    integer_range: tuple[int, int] | None = None
    lattice: float | None = None
    optimizer: str = "sgd"
    lr: float = 0.1
    steps: int = 500
    batch_size: int = 1000
    structure: Callable[[AffineNet], bool] | None = None
    settings_note: str = ""
    expression: str | None = None
    distribution: str = "uniform"
    box: tuple[float, float] = (-1.0, 1.0)
    sharpens: bool = False
    init: str | None = None

    def read_back_domain(self) -> tuple[Domain, Domain]:
        """``(box, domain)``: the real box the formula is read on and the domain it must
        equal the target on (the integers themselves for integer targets)."""
        if self.integer_range is not None:
            lo, hi = self.integer_range
            box = ",".join(f"{n}={lo}:{hi}" for n in self.inputs)
            ints = ",".join(f"{n}={lo}..{hi}" for n in self.inputs)
            return parse_domain(box), parse_domain(ints)
        dom = Domain.box(self.inputs, *self.box)
        return dom, dom

    @property
    def one_sided_split(self) -> bool:
        return self.integer_range is None and len(self.inputs) == 1


_SOURCE = "the sources' settings: inputs uniform on [-1, 1], SGD lr 0.1, batch 1000"


_TOY = (
    "the toy-examples post's one-unit bottleneck (a ReLU unit with bias, linear output); "
    "ours: Adam lr 0.01, 2000 steps, batch 1000, MSE (the post's optimizer settings are not "
    "recorded here); "
)
_X5 = ("x1", "x2", "x3", "x4", "x5")


BOTTLENECK_ATOL = 0.02
"""Tolerance on ``w2 * W1`` and ``w2 * b1 + b2`` when a trained bottleneck is compared with the
target's ``m`` and ``c`` (our choice, the same as the default ``atol`` of the structural check)."""


def _bottleneck_structure(m: tuple[float, ...], c: float) -> Callable[[AffineNet], bool]:
    """``w2 * ReLU(b1 + W1 . x) + b2`` is the bottleneck for ``m . x + c`` on the box [-1, 1]^k
    when its unit never switches off there (``b1 >= sum |W1_i|``), ``w2 * W1 = m`` and
    ``w2 * b1 + b2 = c``. Any such ``b1`` works: the library's entry is one member of the
    family, so the unit-by-unit comparison does not apply."""

    def check(net: AffineNet) -> bool:
        W1 = np.asarray(net.layers[0].weight, dtype=np.float64)[0]
        b1 = float(net.layers[0].bias[0])
        w2 = float(net.layers[1].weight[0][0])
        b2 = float(net.layers[1].bias[0])
        on = b1 >= float(np.abs(W1).sum())
        slope = np.allclose(w2 * W1, m, rtol=0, atol=BOTTLENECK_ATOL)
        return bool(on and slope and abs(w2 * b1 + b2 - c) <= BOTTLENECK_ATOL)

    return check


_WEIGHTED = (1.45, 0.05, -0.84, -0.38, 0.19)


def _shared(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The shared table's function ``name`` (:mod:`tinylens.data.functions`), as
    ``X (n, k) -> y (n, 1)``."""
    batch = target_function(name).batch
    return lambda X: batch(X).reshape(-1, 1)


def _lib(*names: str) -> Callable[[], list[AffineNet]]:
    return lambda: [get_circuit(n).net for n in names]


def _sigmoid_step_structure(net: AffineNet) -> bool:
    """One sigmoid unit sigmoid(w x + b) is the step x < 10 when w < 0 and -b/w is in (9, 10)."""
    (w,), (b,) = net.layers[0].weight[0], net.layers[0].bias
    return bool(w < 0 and 9 < -b / w < 10)


TARGETS: dict[str, RecoveryTarget] = {
    t.name: t
    for t in (
        RecoveryTarget(
            "identity",
            "y = x",
            (1, 2, 1),
            ("x",),
            _shared("identity"),
            _lib("identity"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x",
        ),
        RecoveryTarget(
            "negative_identity",
            "y = -x",
            (1, 2, 1),
            ("x",),
            _shared("negative_identity"),
            _lib("negative_identity"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="-x",
        ),
        RecoveryTarget(
            "abs",
            "y = |x|",
            (1, 2, 1),
            ("x",),
            _shared("abs"),
            _lib("abs"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="abs(x)",
        ),
        RecoveryTarget(
            "add",
            "y = x1 + x2",
            (2, 2, 1),
            ("x1", "x2"),
            _shared("add"),
            _lib("add"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x1 + x2",
        ),
        RecoveryTarget(
            "subtract",
            "y = x1 - x2",
            (2, 2, 1),
            ("x1", "x2"),
            _shared("subtract"),
            _lib("subtract"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x1 - x2",
        ),
        RecoveryTarget(
            "min",
            "y = min(x1, x2)",
            (2, 3, 1),
            ("x1", "x2"),
            _shared("min"),
            lambda: [get_circuit("min").net, compile_expression("x2 - relu(x2 - x1)").net],
            steps=10_000,
            settings_note=_SOURCE + ", 10,000 steps; no bias is ours (the known circuit has "
            "none; the sources do not say)",
            expression="min(x1, x2)",
        ),
        RecoveryTarget(
            "is_even",
            "the gentle-introduction article's 'is_even' labels, x mod 2 (1 for odd x) on 0..15",
            (1, 2, 2, 2, 2, 2, 1),
            ("x",),
            _shared("parity"),
            _lib("parity_net"),
            bias=True,
            output_activation="relu",
            integer_range=(0, 15),
            optimizer="adam",
            lr=0.01,
            steps=5000,
            batch_size=16,
            init="torch",
            settings_note="the gentle-introduction article's 'is_even' setting: its "
            "1-2-2-2-2-2-1 network with a ReLU after every layer and biases, its labels (x mod "
            "2, 1 for odd x, which is what its network computes) and PyTorch's nn.Linear "
            "initialisation (init torch); ours: Adam lr 0.01, 5000 full-batch steps on the 16 "
            "integers (the article gives no optimizer settings). is_even_labels_even is the "
            "other convention: 1 for even x, He initialisation",
            expression="is_odd(x, bits=4)",
        ),
        RecoveryTarget(
            "is_even_labels_even",
            "y = 1 for even x on 0..15 (tinylens's labels; He initialisation)",
            (1, 2, 2, 2, 2, 2, 1),
            ("x",),
            _shared("is_even"),
            _lib("is_even"),
            bias=True,
            output_activation="relu",
            integer_range=(0, 15),
            optimizer="adam",
            lr=0.01,
            steps=5000,
            batch_size=16,
            settings_note="the article's architecture (1-2-2-2-2-2-1, a ReLU after every layer, "
            "biases); ours: labels 1 for even x, He initialisation, Adam lr 0.01, 5000 "
            "full-batch steps on the 16 integers",
            expression="is_even(x, bits=4)",
        ),
        RecoveryTarget(
            "bottleneck_sum",
            "y = x1 + ... + x5, standard normal inputs, through one unit",
            (5, 1, 1),
            _X5,
            _shared("add"),
            _lib("bottleneck_sum"),
            bias=True,
            structure=_bottleneck_structure((1.0,) * 5, 0.0),
            distribution="normal",
            optimizer="adam",
            lr=0.01,
            steps=2000,
            settings_note=_TOY + "standard normal inputs",
            expression="x1 + x2 + x3 + x4 + x5",
        ),
        RecoveryTarget(
            "bottleneck_weighted_sum",
            "y = 1.45 x1 + 0.05 x2 - 0.84 x3 - 0.38 x4 + 0.19 x5 - 0.85, standard normal inputs",
            (5, 1, 1),
            _X5,
            lambda X: X @ np.array(_WEIGHTED).reshape(-1, 1) - 0.85,
            _lib("bottleneck_weighted_sum"),
            bias=True,
            structure=_bottleneck_structure(_WEIGHTED, -0.85),
            distribution="normal",
            optimizer="adam",
            lr=0.01,
            steps=2000,
            settings_note=_TOY + "standard normal inputs; the weights are the post's trained "
            "example (library entry bottleneck_weighted_sum)",
            expression="1.45*x1 + 0.05*x2 - 0.84*x3 - 0.38*x4 + 0.19*x5 - 0.85",
        ),
        RecoveryTarget(
            "bottleneck_product",
            "y = log(x1 x2) from log x1, log x2, x gamma-distributed, through one unit",
            (2, 1, 1),
            ("log_x1", "log_x2"),
            _shared("add"),  # log(x1 x2) = log x1 + log x2
            _lib("bottleneck_product"),
            bias=True,
            structure=_bottleneck_structure((1.0, 1.0), 0.0),
            distribution="gamma",
            optimizer="adam",
            lr=0.01,
            steps=2000,
            settings_note=_TOY + f"inputs log x with x ~ gamma({GAMMA_SHAPE:g}, 1) (the post "
            "draws x from a gamma distribution; the shape is ours); success is read on "
            "log x in [-1, 1]",
            expression="log_x1 + log_x2",
        ),
        RecoveryTarget(
            "less_than",
            "y = 1 if x < 10 (x = 0..19), ReLU step",
            (1, 2, 1),
            ("x",),
            _shared("less_than"),
            _lib("less_than_step"),
            bias=True,
            integer_range=(0, 19),
            lattice=1.0,
            optimizer="adam",
            lr=0.01,
            steps=5000,
            batch_size=20,
            settings_note="ours (the sources give no training settings for x < 10): 1-2-1 ReLU "
            "with biases, Adam lr 0.01, 5000 full-batch steps on the integers 0..19",
            expression="x < 10",
        ),
        RecoveryTarget(
            "less_than_sigmoid",
            "y = 1 if x < 10 (x = 0..19), one sigmoid unit",
            (1, 1),
            ("x",),
            _shared("less_than"),
            _lib("less_than_sigmoid"),
            bias=True,
            output_activation="sigmoid",
            integer_range=(0, 19),
            optimizer="adam",
            lr=0.1,
            steps=5000,
            batch_size=20,
            structure=_sigmoid_step_structure,
            sharpens=True,
            settings_note="the gentle-introduction article's one sigmoid unit on x = 0..19 "
            "(the article gives no optimizer settings; ours: Adam lr 0.1, 5000 full-batch "
            "steps, MSE). Its loss reaches 0 only as M = -w grows without bound: success is "
            "the step's threshold found (9 < -b/w < 10) with M still growing",
        ),
    )
}
"""Every target of the study by name."""


def _uniform(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.uniform(-1, 1, size=(n, k))


def _normal(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return rng.standard_normal(size=(n, k))


def _log_gamma(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return np.log(rng.gamma(GAMMA_SHAPE, 1.0, size=(n, k)))


DISTRIBUTIONS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "uniform": _uniform,
    "normal": _normal,
    "gamma": _log_gamma,
}
"""Where real targets draw training inputs: ``uniform`` on [-1, 1] (the gentle-introduction
article and sosier's nets), ``normal`` (standard normal: the toy-examples post's sum and
weighted-sum bottlenecks), ``gamma`` (the logs of gamma(2, 1) samples: the toy-examples
post's product through logs; the network sees ``log x``)."""


def training_data(
    target: RecoveryTarget, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)``: every integer of an integer target, else ``n`` points drawn from the
    target's distribution with ``rng``; X has shape (n, n_inputs), y (n, 1), float64."""
    if target.integer_range is not None:
        lo, hi = target.integer_range
        X = np.arange(lo, hi + 1, dtype=np.float64).reshape(-1, 1)
    else:
        X = DISTRIBUTIONS[target.distribution](rng, n, len(target.inputs))
    return X, target.function(X)


def eval_grid(target: RecoveryTarget) -> np.ndarray:
    """The fixed evaluation set, the same for every seed: every integer of an integer target,
    else a grid of the target's box (2001 points in 1-D, 65 x 65 in 2-D)."""
    if target.integer_range is not None:
        lo, hi = target.integer_range
        return np.arange(lo, hi + 1, dtype=np.float64).reshape(-1, 1)
    k = len(target.inputs)
    per = {1: 2001, 2: 65}.get(k, max(3, round(4096 ** (1 / k))))
    axes = [np.linspace(*target.box, per)] * k
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)
