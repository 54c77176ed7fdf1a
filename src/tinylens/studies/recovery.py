"""Does gradient descent find the circuit? Train many seeds at once and look at what they learn.

For a target with a known hand-derived circuit (identity, abs, min, is_even, ...), train ``K``
seeds of the sources' architecture at once (:class:`~tinylens.engine.BatchedMLP` through
:func:`~tinylens.training.fit`), then sort every seed into one outcome:

====================================  ======================================================
outcome                               meaning (checked in this order)
====================================  ======================================================
diverged                              the loss became NaN/inf; the seed was frozen
success                               loss < ``tol`` on the evaluation set AND the formula
                                      read back out of the weights (``circuits.explain``,
                                      two decimals) equals the target on its domain, decided
                                      exactly (the sigmoid target, which has no exact
                                      formula: its unit's structure instead)
solved, other formula                 loss < ``tol``, but the read-back formula is not the
                                      target's
stuck at the mean                     (nearly) constant output, equal to the targets' mean
constant output                       (nearly) constant output elsewhere (dead or saturated)
works for x > 0 only / x < 0 only     one-input real targets: exact on one side of 0 only
                                      (both units point the same way: a reconstructor)
works on part of the domain only      no first-layer unit is active on a part (>= 5%) of the
                                      domain, where the output is constant and carries at
                                      least half the error: a wedge left uncovered
dead unit                             a first-layer unit never active on the domain
not converged                         loss < 1e-3: still going down at the end
other (local minimum)                 anything else
====================================  ======================================================

Next to the read-back, every seed with loss < ``tol`` is also checked *structurally*: is
the network a known circuit up to permutation and positive rescaling of its units
(``same_circuit``)? Both rates are reported (``success_rate`` and ``structural_rate``); they
differ when a seed computes the target with another arrangement of units (min's mirror image,
a duplicated unit) or when two decimals are not enough to read it.

The evaluation set is a fixed grid of the domain (every integer for integer targets), the
same for every seed; the data a variant trains on are the same for every seed too, so seeds
differ only in their initial weights.

>>> cfg = RecoveryConfig(target="abs", seeds=16, steps=200)
>>> result = run_recovery(cfg, quiet=True)
>>> result.main.net.n_instances, sum(result.main.counts().values())
(16, 16)
>>> 0 < result.main.success_rate < 1
True
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.circuits import (
    Domain,
    compare_on_box,
    compile_expression,
    get_circuit,
    parse,
    parse_domain,
    same_circuit,
)
from tinylens.circuits.explain import explain
from tinylens.engine import AffineNet, BatchedMLP
from tinylens.errors import ConfigError, UnknownNameError
from tinylens.io import Figure, RunDir, Section, Table
from tinylens.training import Callback, TrainConfig, fit

__all__ = [
    "OUTCOMES",
    "TARGETS",
    "Classification",
    "RecoveryConfig",
    "RecoveryResult",
    "RecoveryTarget",
    "VariantResult",
    "classify",
    "classify_seeds",
    "read_back",
    "run_recovery",
]

OUTCOMES = (
    "success",
    "solved, other formula",
    "works for x > 0 only",
    "works for x < 0 only",
    "works on part of the domain only",
    "stuck at the mean",
    "constant output",
    "dead unit",
    "not converged",
    "other (local minimum)",
    "diverged",
)

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

    def read_back_domain(self) -> tuple[Domain, Domain]:
        """``(box, domain)``: the real box the formula is read on and the domain it must
        equal the target on (the integers themselves for integer targets)."""
        if self.integer_range is not None:
            lo, hi = self.integer_range
            box = ",".join(f"{n}={lo}:{hi}" for n in self.inputs)
            ints = ",".join(f"{n}={lo}..{hi}" for n in self.inputs)
            return parse_domain(box), parse_domain(ints)
        dom = Domain.box(self.inputs, -1, 1)
        return dom, dom

    @property
    def one_sided_split(self) -> bool:
        return self.integer_range is None and len(self.inputs) == 1


_SOURCE = "the sources' settings: inputs uniform on [-1, 1], SGD lr 0.1, batch 1000"


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
            lambda X: X,
            _lib("identity"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x",
        ),
        RecoveryTarget(
            "negative_identity",
            "y = -x",
            (1, 2, 1),
            ("x",),
            lambda X: -X,
            _lib("negative_identity"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="-x",
        ),
        RecoveryTarget(
            "abs",
            "y = |x|",
            (1, 2, 1),
            ("x",),
            np.abs,
            _lib("abs"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="abs(x)",
        ),
        RecoveryTarget(
            "add",
            "y = x1 + x2",
            (2, 2, 1),
            ("x1", "x2"),
            lambda X: X[:, :1] + X[:, 1:],
            _lib("add"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x1 + x2",
        ),
        RecoveryTarget(
            "subtract",
            "y = x1 - x2",
            (2, 2, 1),
            ("x1", "x2"),
            lambda X: X[:, :1] - X[:, 1:],
            _lib("subtract"),
            settings_note=_SOURCE + ", 500 steps, no bias",
            expression="x1 - x2",
        ),
        RecoveryTarget(
            "min",
            "y = min(x1, x2)",
            (2, 3, 1),
            ("x1", "x2"),
            lambda X: np.minimum(X[:, :1], X[:, 1:]),
            lambda: [get_circuit("min").net, compile_expression("x2 - relu(x2 - x1)").net],
            steps=10_000,
            settings_note=_SOURCE + ", 10,000 steps; no bias is ours (the known circuit has "
            "none; the sources do not say)",
            expression="min(x1, x2)",
        ),
        RecoveryTarget(
            "is_even",
            "y = 1 for even x on 0..15",
            (1, 2, 2, 2, 2, 2, 1),
            ("x",),
            lambda X: (X % 2 == 0).astype(np.float64),
            _lib("is_even"),
            bias=True,
            output_activation="relu",
            integer_range=(0, 15),
            optimizer="adam",
            lr=0.01,
            steps=5000,
            batch_size=16,
            settings_note="the sources' architecture (1-2-2-2-2-2-1, a ReLU after every layer, "
            "biases); ours: Adam lr 0.01, 5000 full-batch steps on the 16 integers",
            expression="is_even(x, bits=4)",
        ),
        RecoveryTarget(
            "less_than",
            "y = 1 if x < 10 (x = 0..19), ReLU step",
            (1, 2, 1),
            ("x",),
            lambda X: (X < 10).astype(np.float64),
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
            lambda X: (X < 10).astype(np.float64),
            _lib("less_than_sigmoid"),
            bias=True,
            output_activation="sigmoid",
            integer_range=(0, 19),
            optimizer="adam",
            lr=0.1,
            steps=5000,
            batch_size=20,
            structure=_sigmoid_step_structure,
            settings_note="the sources' one sigmoid unit; ours: Adam lr 0.1, 5000 full-batch "
            "steps. Its loss only reaches 0 as the weights grow without bound",
        ),
    )
}
"""Every target of the study by name."""


@dataclass(frozen=True)
class RecoveryConfig:
    """What ``tinylens circuits recover`` runs.

    Parameters
    ----------
    target : str
        A name of :data:`TARGETS`.
    seeds : int
        Number of seeds (instances), ``seed, seed + 1, ...``.
    seed : int
        The first seed; also seeds the training data and the shuffling.
    optimizer, lr, init, steps, batch_size, bias :
        None: the target's defaults (the sources' settings where known). ``lr`` None with an
        optimizer other than SGD uses :data:`DEFAULT_LR`.
    pool : int
        Real targets train on ``pool`` batches of uniform points, reshuffled every epoch (the
        sources draw uniform inputs; 0 draws fresh points for every step, in one epoch).
    tol : float
        Success needs the evaluation loss below this.
    atol : float
        Tolerance on the canonical weights when comparing with the known circuit.
    dtype : str
        float32 (like PyTorch's default) or float64.
    compare : bool
        Also train every combination of ``compare_optimizers`` and ``compare_inits``.
    compare_seeds : int, optional
        Seeds per compared variant (default: ``seeds``).
    log_points : int
        Points of the per-seed loss curves.
    """

    target: str = "min"
    seeds: int = 1000
    seed: int = 0
    optimizer: str | None = None
    lr: float | None = None
    init: str = "auto"
    steps: int | None = None
    batch_size: int | None = None
    bias: bool | None = None
    pool: int = 10
    tol: float = 1e-6
    atol: float = 0.02
    dtype: str = "float32"
    compare: bool = False
    compare_optimizers: tuple[str, ...] = ("sgd", "momentum", "adam")
    compare_inits: tuple[str, ...] = ("auto", "xavier", "torch")
    compare_seeds: int | None = None
    log_points: int = 50

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise UnknownNameError("recovery target", self.target, TARGETS)
        if self.seeds < 1:
            raise ConfigError(f"seeds must be a positive number of seeds, got {self.seeds}")
        if self.pool < 0:
            raise ConfigError(f"pool must be >= 0 batches, got {self.pool}")
        if self.dtype not in ("float32", "float64"):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype!r}")
        if not self.tol > 0:
            raise ConfigError(f"tol must be positive, got {self.tol}")
        if self.steps is not None and self.steps < 1:
            raise ConfigError(f"steps must be positive, got {self.steps}")

    def to_dict(self) -> dict[str, Any]:
        import dataclasses

        d = dataclasses.asdict(self)
        d["compare_optimizers"] = list(self.compare_optimizers)
        d["compare_inits"] = list(self.compare_inits)
        return d


@dataclass
class VariantResult:
    """One optimizer / initialisation trained on ``K`` seeds."""

    optimizer: str
    init: str
    lr: float
    seeds: np.ndarray
    losses: np.ndarray  # (K,) final evaluation loss
    outcomes: np.ndarray  # (K,) str
    net: BatchedMLP
    curve_steps: np.ndarray = field(default_factory=lambda: np.zeros(0))
    curves: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (points, K)
    seconds: float = 0.0
    initial: dict[str, np.ndarray] = field(default_factory=dict)  # initial weights, (K, ...)
    structural: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # (K,)
    readback: np.ndarray = field(default_factory=lambda: np.zeros(0, object))  # (K,) or None
    formulas: np.ndarray = field(default_factory=lambda: np.zeros(0, object))  # (K,) str
    has_readback: bool = True

    def init_sides(self) -> np.ndarray | None:
        """For one-input networks without bias: did the first-layer units start pointing to
        both sides of 0? (A bias-free ``relu(w x)`` keeps the sign of ``w`` under gradient
        flow, so units that start on one side stay there, unless a discrete step jumps across
        0.) None for other networks."""
        w = self.initial.get("layers.0.weight")
        if w is None or self.net.bias or w.shape[2] != 1:
            return None
        signs = np.sign(w[:, :, 0])
        return (signs > 0).any(axis=1) & (signs < 0).any(axis=1)

    def sides_table(self) -> list[list[Any]]:
        """Outcome counts for seeds whose units started on both sides of 0, or on one."""
        both = self.init_sides()
        if both is None:
            return []
        rows = []
        for label, sel in (("both sides of 0", both), ("one side of 0", ~both)):
            n = int(sel.sum())
            succ = int((self.outcomes[sel] == "success").sum())
            top = {o: int((self.outcomes[sel] == o).sum()) for o in OUTCOMES}
            rest = ", ".join(f"{o} {c}" for o, c in top.items() if c and o != "success")
            rows.append([label, n, f"{succ / n:.1%}" if n else "-", rest or "-"])
        return rows

    def counts(self) -> dict[str, int]:
        return {o: int((self.outcomes == o).sum()) for o in OUTCOMES if (self.outcomes == o).any()}

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.outcomes == "success"))

    @property
    def solved_rate(self) -> float:
        return float(np.mean(np.isin(self.outcomes, ["success", "solved, other formula"])))

    @property
    def structural_rate(self) -> float:
        """Loss < tol and a known circuit up to permutation and positive rescaling."""
        return float(np.mean(self.structural)) if len(self.structural) else 0.0

    @property
    def readback_rate(self) -> float | None:
        """Loss < tol and the read-back formula equals the target (None: no exact target)."""
        if not self.has_readback:
            return None
        return float(np.mean([v is True for v in self.readback]))

    def checks_table(self) -> list[list[Any]]:
        """Seeds with loss < tol by (structural, read-back) agreement."""
        solved = np.isin(self.outcomes, ["success", "solved, other formula"])
        rows = []
        for s_ok in (True, False):
            for r_ok in (True, False):
                sel = (
                    solved
                    & (self.structural == s_ok)
                    & np.array([v is r_ok for v in self.readback], dtype=bool)
                )
                n = int(sel.sum())
                if n:
                    formulas = sorted(set(self.formulas[sel].tolist()))
                    shown = "; ".join(formulas[:3]) + (" ..." if len(formulas) > 3 else "")
                    rows.append(["yes" if s_ok else "no", "yes" if r_ok else "no", n, shown])
        return rows

    def examples(self, outcome: str, n: int = 3) -> list[int]:
        return [int(s) for s in self.seeds[self.outcomes == outcome][:n]]

    def summary(self) -> dict[str, Any]:
        top = [o for o in self.counts() if o != "success"]
        return {
            "optimizer": self.optimizer,
            "init": self.init,
            "lr": self.lr,
            "seeds": len(self.seeds),
            "success_rate": self.success_rate,
            "structural_rate": self.structural_rate,
            "readback_rate": self.readback_rate,
            "solved_rate": self.solved_rate,
            "outcomes": self.counts(),
            "top_failure": max(top, key=lambda o: self.counts()[o]) if top else None,
            "median_loss": float(np.median(self.losses)),
            "seconds": self.seconds,
        }


def _data(
    target: RecoveryTarget, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    if target.integer_range is not None:
        lo, hi = target.integer_range
        X = np.arange(lo, hi + 1, dtype=np.float64).reshape(-1, 1)
    else:
        X = rng.uniform(-1, 1, size=(n, len(target.inputs)))
    return X, target.function(X)


def _eval_grid(target: RecoveryTarget) -> np.ndarray:
    if target.integer_range is not None:
        lo, hi = target.integer_range
        return np.arange(lo, hi + 1, dtype=np.float64).reshape(-1, 1)
    k = len(target.inputs)
    per = {1: 2001, 2: 65}.get(k, max(3, round(4096 ** (1 / k))))
    axes = [np.linspace(-1, 1, per)] * k
    mesh = np.meshgrid(*axes, indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


class _Curves(Callback):
    """Each seed's loss on a small fixed set, every ``every`` epochs."""

    def __init__(self, X: np.ndarray, y: np.ndarray, every: int, steps_per_epoch: int):
        self.X, self.y, self.every, self.spe = X, y, every, steps_per_epoch
        self.steps: list[int] = []
        self.values: list[np.ndarray] = []

    def on_fit_start(self, net: Any, history: Any) -> None:
        self.steps.append(0)
        self.values.append(net.loss(self.X, self.y))

    def on_epoch_end(self, epoch: int, net: Any, history: Any) -> bool | None:
        if epoch % self.every == 0:
            self.steps.append(epoch * self.spe)
            self.values.append(net.loss(self.X, self.y))
        return None


READBACK_DIGITS = 2
"""Decimals of the read-back formula: a seed at loss < 1e-6 has coefficient errors of order
1e-3, so two decimals recover its intended coefficients (and a seed whose formula needs more
to match is reported as another formula, honestly)."""


@dataclass
class Classification:
    """Every seed's outcome and the two checks behind ``success``, arrays of shape (K,).

    ``structural``: loss < tol and the known circuit up to permutation and positive rescaling
    (False otherwise); ``readback``: loss < tol and the read-back formula equals the target
    exactly on its domain (None where not checked: loss >= tol, or no exact target);
    ``formulas``: the read-back formula ("" where not read).
    """

    outcomes: np.ndarray
    structural: np.ndarray
    readback: np.ndarray
    formulas: np.ndarray


def read_back(
    target: RecoveryTarget, net: AffineNet, cache: dict[str, bool] | None = None
) -> tuple[bool | None, str]:
    """Read ``net``'s formula (two decimals) and decide exactly whether it is the target on
    the target's domain (real box: exact linear pieces; integers: every point). ``(None, "")``
    for targets without an exact expression or networks that are not ReLU networks."""
    if target.expression is None or any(a not in ("relu", "identity") for a in net.activations):
        return None, ""
    box, domain = target.read_back_domain()
    net = AffineNet(net.layers, target.inputs)  # the target's input names
    e = explain(net, box, digits=READBACK_DIGITS, check=False)
    cache = {} if cache is None else cache
    if e.formula not in cache:
        r = compare_on_box(e.exprs[0], parse(target.expression), domain, names=target.inputs)
        cache[e.formula] = r.max_error == 0
    return cache[e.formula], e.formula


def classify(
    target: RecoveryTarget,
    net: BatchedMLP,
    X: np.ndarray,
    y: np.ndarray,
    losses: np.ndarray,
    *,
    tol: float,
    atol: float,
) -> np.ndarray:
    """The outcome of every seed (see the module docstring), an array of str of shape (K,)."""
    return classify_seeds(target, net, X, y, losses, tol=tol, atol=atol).outcomes


def classify_seeds(
    target: RecoveryTarget,
    net: BatchedMLP,
    X: np.ndarray,
    y: np.ndarray,
    losses: np.ndarray,
    *,
    tol: float,
    atol: float,
) -> Classification:
    """Outcomes with the structural and read-back checks of every seed (see
    :class:`Classification`)."""
    K = net.n_instances
    net64 = net.astype(np.float64)
    out = net64.forward(X)[:, :, 0]  # (K, n)
    yv = y[:, 0]
    err2 = (out - yv[None, :]) ** 2
    y_std = float(yv.std()) or 1.0
    const = out.std(axis=1) <= 1e-2 * y_std
    at_mean = np.abs(out.mean(axis=1) - yv.mean()) <= 0.05 * y_std
    W0 = net64.weights[0].data
    pre = np.einsum("ni,khi->khn", X, W0)
    if net64.biases is not None:
        pre += net64.biases[0].data[:, :, None]
    dead = (pre <= 0).all(axis=2).any(axis=1) if net64.n_layers > 1 else np.zeros(K, bool)
    uncovered = (pre <= 0).all(axis=1) if net64.n_layers > 1 else np.zeros((K, len(X)), bool)
    outcomes = np.full(K, "other (local minimum)", dtype=object)
    structural = np.zeros(K, dtype=bool)
    readback = np.full(K, None, dtype=object)
    formulas = np.full(K, "", dtype=object)
    known = target.circuits()
    cache: dict[str, bool] = {}
    for k in range(K):
        if net.diverged_[k] or not np.isfinite(losses[k]):
            outcomes[k] = "diverged"
        elif losses[k] < tol:
            inst = AffineNet.from_module(net64.instance(k))
            if target.structure is not None:
                match = target.structure(inst)
            else:
                match = any(
                    same_circuit(inst, ref, X, atol=atol, lattice=target.lattice) for ref in known
                )
            structural[k] = match
            readback[k], formulas[k] = read_back(target, inst, cache)
            ok = match if readback[k] is None else readback[k]
            outcomes[k] = "success" if ok else "solved, other formula"
        elif const[k]:
            outcomes[k] = "stuck at the mean" if at_mean[k] else "constant output"
        elif (part := _partial(X, err2[k], uncovered[k], target.one_sided_split)) is not None:
            outcomes[k] = part
        elif dead[k]:
            outcomes[k] = "dead unit"
        elif losses[k] < 1e-3:
            outcomes[k] = "not converged"
    return Classification(outcomes.astype(str), structural, readback, formulas)


def _partial(X: np.ndarray, err2: np.ndarray, uncovered: np.ndarray, one_input: bool) -> str | None:
    """Wrong where no first-layer unit is active: which side, or None.

    ``uncovered`` marks the points where every first-layer unit is off (the output is a
    constant there); it counts when it is >= 5% of the domain and holds half the error.
    """
    if uncovered.mean() < 0.05 or err2[uncovered].sum() < 0.5 * err2.sum():
        return None
    if one_input:
        x = X[uncovered, 0]
        if (x <= 0).all():
            return "works for x > 0 only"
        if (x >= 0).all():
            return "works for x < 0 only"
    return "works on part of the domain only"


def _train(
    target: RecoveryTarget,
    cfg: RecoveryConfig,
    optimizer: str,
    init: str,
    n_seeds: int,
    quiet: bool,
) -> VariantResult:
    t0 = time.perf_counter()
    steps = cfg.steps or target.steps
    batch = cfg.batch_size or target.batch_size
    if cfg.lr is not None:
        lr = cfg.lr
    elif optimizer == target.optimizer:
        lr = target.lr
    else:
        lr = DEFAULT_LR.get(optimizer) or target.lr
    rng = np.random.default_rng(cfg.seed)
    if target.integer_range is not None:
        X, y = _data(target, 0, rng)
        batch = min(batch, len(X))
        spe = math.ceil(len(X) / batch)
    else:
        pool = cfg.pool if cfg.pool > 0 else steps
        spe = min(pool, steps)
        X, y = _data(target, spe * batch, rng)
    epochs = math.ceil(steps / spe)
    seeds = np.arange(cfg.seed, cfg.seed + n_seeds)
    bias = target.bias if cfg.bias is None else cfg.bias
    net = BatchedMLP(
        target.sizes,
        [int(s) for s in seeds],
        target.activation,
        target.output_activation,
        init=init,
        bias=bias,
        dtype=np.dtype(cfg.dtype),
        input_names=target.inputs,
    )
    X_eval = _eval_grid(target)
    y_eval = target.function(X_eval)
    small = X_eval[np.linspace(0, len(X_eval) - 1, min(512, len(X_eval))).astype(int)]
    curves = _Curves(small, target.function(small), max(1, epochs // cfg.log_points), spe)
    train = TrainConfig(
        epochs=epochs,
        batch_size=batch,
        optimizer=optimizer,
        lr=lr,
        loss="mse",
        shuffle=target.integer_range is None,
    )
    initial = net.state_dict()
    fit(net, (X, y), train, rng=cfg.seed, callbacks=[curves], quiet=quiet)
    losses = net.astype(np.float64).loss(X_eval, y_eval)
    losses[net.diverged_] = np.inf
    checked = classify_seeds(target, net, X_eval, y_eval, losses, tol=cfg.tol, atol=cfg.atol)
    return VariantResult(
        optimizer,
        init,
        float(lr),
        seeds,
        losses,
        checked.outcomes,
        net,
        np.array(curves.steps),
        np.stack(curves.values),
        time.perf_counter() - t0,
        initial,
        checked.structural,
        checked.readback,
        checked.formulas,
        target.expression is not None,
    )


@dataclass
class RecoveryResult:
    config: RecoveryConfig
    target: RecoveryTarget
    main: VariantResult
    grid: list[VariantResult] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, Any]:
        m = self.main.summary()
        out: dict[str, Any] = {
            "target": self.target.name,
            "success_rate": m["success_rate"],
            "structural_rate": m["structural_rate"],
            "readback_rate": m["readback_rate"],
            "success_means": "read-back formula equals the target"
            if self.target.expression is not None
            else "the known unit structure (no exact formula for this target)",
            "solved_rate": m["solved_rate"],
            "outcomes": m["outcomes"],
            "seeds": m["seeds"],
            "optimizer": m["optimizer"],
            "lr": m["lr"],
            "init": m["init"],
            "steps": self.config.steps or self.target.steps,
            "median_loss": m["median_loss"],
            "seconds": m["seconds"],
            "examples": {o: self.main.examples(o) for o in self.main.counts()},
        }
        both = self.main.init_sides()
        if both is not None:
            out["init_sides"] = {
                label: {
                    "seeds": int(sel.sum()),
                    "success_rate": float(np.mean(self.main.outcomes[sel] == "success"))
                    if sel.any()
                    else None,
                }
                for label, sel in (("both", both), ("one", ~both))
            }
        if self.grid:
            out["grid"] = [v.summary() for v in self.grid]
        return out

    def save(self, run: RunDir) -> None:
        """Config, metrics, per-seed outcomes, example networks, figures and a report."""
        from tinylens.viz.circuits import (
            plot_example_fits,
            plot_loss_curves,
            plot_loss_distribution,
            plot_success_rates,
        )

        t, main = self.target, self.main
        run.write_yaml("config.yaml", self.config.to_dict())
        run.write_json("metrics.json", self.metrics)
        run.write_csv(
            "seeds.csv",
            [
                [int(s), float(v), o, bool(st), "" if rb is None else bool(rb), f]
                for s, v, o, st, rb, f in zip(
                    main.seeds,
                    main.losses,
                    main.outcomes,
                    main.structural,
                    main.readback,
                    main.formulas,
                    strict=True,
                )
            ],
            ["seed", "loss", "outcome", "structural", "readback", "formula"],
        )
        order = [o for o in OUTCOMES if o in main.counts()]
        figures = []
        run.save_figure(
            "losses.png",
            plot_loss_distribution(
                main.losses,
                main.outcomes,
                order,
                tol=self.config.tol,
                title=f"{t.name}: final loss of {len(main.seeds)} seeds",
            ),
        )
        figures.append(Figure("losses.png", "Final evaluation loss of every seed, by outcome."))
        if main.curves.size:
            run.save_figure(
                "curves.png",
                plot_loss_curves(
                    main.curve_steps,
                    main.curves,
                    main.outcomes,
                    order,
                    title=f"{t.name}: loss during training",
                ),
            )
            figures.append(
                Figure("curves.png", "Median loss (10-90% band) over training, by outcome.")
            )
        if len(t.inputs) == 1:
            X = _eval_grid(t)
            out = main.net.astype(np.float64).forward(X)[:, :, 0]
            ex = {o: out[np.flatnonzero(main.outcomes == o)[0]] for o in order}
            run.save_figure(
                "fits.png",
                plot_example_fits(
                    X[:, 0], t.function(X)[:, 0], ex, order, title=f"{t.name}: one seed per outcome"
                ),
            )
            figures.append(Figure("fits.png", "The function one seed of each outcome computes."))
        if self.grid:
            rows = [v.summary() for v in self.grid]
            run.save_figure(
                "rates.png",
                plot_success_rates(
                    rows, title=f"{t.name}: success by optimizer and initialisation"
                ),
            )
            figures.append(Figure("rates.png", "Success rate per optimizer and initialisation."))
        for o in order:  # one network per outcome, for circuits explain and friends
            k = int(np.flatnonzero(main.outcomes == o)[0])
            slug = (
                o.split(" (")[0]
                .replace(" ", "_")
                .replace(",", "")
                .replace(">", "gt")
                .replace("<", "lt")
            )
            run.save_weights(
                f"examples/{slug}_seed{int(main.seeds[k])}.safetensors",
                main.net.instance(k),
                info={
                    "study": "recovery",
                    "target": t.name,
                    "seed": int(main.seeds[k]),
                    "outcome": o,
                    "loss": float(main.losses[k]),
                },
            )
        tables = [
            Table(
                "outcomes",
                ["outcome", "seeds", "share", "example seeds"],
                [
                    [o, n, f"{n / len(main.seeds):.1%}", ", ".join(map(str, main.examples(o)))]
                    for o, n in main.counts().items()
                ],
                note=f"success: loss < {self.config.tol:g} and "
                + (
                    f"the formula read back out of the weights ({READBACK_DIGITS} decimals) "
                    "equals the target on its domain, decided exactly"
                    if t.expression is not None
                    else "the known unit structure"
                ),
            )
        ]
        checks = main.checks_table()
        if checks:
            tables.append(
                Table(
                    "two checks of the solved seeds",
                    ["known circuit (structure)", "read-back = target", "seeds", "formulas"],
                    checks,
                    note="structure: the known circuit up to permutation and positive rescaling "
                    "of units; read-back: the formula circuits explain reads, compared with the "
                    "target exactly",
                )
            )
        sides = main.sides_table()
        if sides:
            tables.append(
                Table(
                    "where the units started",
                    ["first-layer units at initialisation", "seeds", "success", "other outcomes"],
                    sides,
                    note="without a bias, relu(w x) keeps the sign of w under gradient flow: "
                    "units that all start on one side of 0 cover the other side only if a "
                    "discrete step happens to jump across 0",
                )
            )
        if self.grid:
            tables.append(
                Table(
                    "optimizer and initialisation",
                    ["optimizer", "init", "lr", "seeds", "success", "loss < tol", "top failure"],
                    [
                        [
                            v.optimizer,
                            v.init,
                            v.lr,
                            len(v.seeds),
                            f"{v.success_rate:.1%}",
                            f"{v.solved_rate:.1%}",
                            v.summary()["top_failure"] or "-",
                        ]
                        for v in self.grid
                    ],
                    note="the same seeds and data for every row",
                )
            )
        summary = (
            f"{len(main.seeds)} seeds of a {'-'.join(map(str, t.sizes))} network trained on "
            f"{t.description} ({main.optimizer}, lr {main.lr:g}, init {main.init}, "
            f"{self.config.steps or t.steps} steps). {main.solved_rate:.1%} reached loss < "
            f"{self.config.tol:g}; "
            + (
                f"for {main.success_rate:.1%} the formula read back out of the weights is the "
                f"target exactly, and {main.structural_rate:.1%} are the known circuit unit by "
                "unit."
                if t.expression is not None
                else f"{main.success_rate:.1%} have the known unit structure."
            )
        )
        run.add_section(
            Section(
                id="recovery",
                title=f"Does gradient descent find {t.name}?",
                summary=summary,
                metrics={
                    "success rate": main.success_rate,
                    "known circuit (structure)": main.structural_rate,
                    "loss < tol": main.solved_rate,
                    "seeds": len(main.seeds),
                    "seconds": round(main.seconds, 2),
                },
                figures=figures,
                tables=tables,
                config=self.config.to_dict(),
                notes=[f"settings: {t.settings_note}"],
            ),
            title=f"tinylens circuits recover: {t.name}",
        )


def run_recovery(config: RecoveryConfig, *, quiet: bool = False) -> RecoveryResult:
    """Train the target's seeds (and the optimizer / init grid when ``config.compare``)."""
    target = TARGETS[config.target]
    optimizer = config.optimizer or target.optimizer
    main = _train(target, config, optimizer, config.init, config.seeds, quiet)
    grid: list[VariantResult] = []
    if config.compare:
        n = config.compare_seeds or config.seeds
        for opt in config.compare_optimizers:
            for init in config.compare_inits:
                if opt == optimizer and init == config.init and n == config.seeds:
                    grid.append(main)
                else:
                    grid.append(_train(target, config, opt, init, n, quiet))
    return RecoveryResult(config, target, main, grid)
