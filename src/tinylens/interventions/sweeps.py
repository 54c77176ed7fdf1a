"""Batched sweeps: every neuron ablated, every pair, every scale, in one batched computation.

A loop of K hooked forwards recomputes the part of the network *before* the edited hook point
K times; for an MLP on MNIST that part (784 -> 32) is most of the work. Here the activation at
the hook point is computed once, K edited copies are stacked along an *instance axis*
(K x batch rows), and the rest of the network runs once on the stack. On the engine that is
``forward_to`` + ``forward_from``; on torch the same through :class:`HookedModule`'s
``forward_from`` when the model is a chain of ``nn.Sequential`` containers, and by expanding the
input batch K-fold with one batched hook otherwise (correct for any model, but then the prefix
is recomputed). Stacks are cut into chunks that bound memory.

>>> import numpy as np
>>> import tinylens as tl
>>> from tinylens.data import digits
>>> data = digits()
>>> net = tl.MLP([64, 16, 10], rng=0)
>>> _ = tl.fit(net, data, tl.TrainConfig(epochs=5, optimizer="adam", lr=0.01), rng=0)
>>> table = ablation_sweep(net, data, "layers.1")
>>> table.class_accuracy_.shape  # one row per ablated neuron, one column per class
(16, 10)
>>> bool(np.all(table.accuracy_ <= table.baseline_accuracy_ + 0.05))
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.hooks import evaluating
from tinylens.interventions.ablation import mean_ablation, zero_ablation
from tinylens.interventions.edits import Edit, as_units
from tinylens.interventions.patching import patching
from tinylens.interventions.scaling import scaling
from tinylens.progress import progress

__all__ = [
    "AblationSweep",
    "PatchingSweep",
    "ScalingSweep",
    "ablation_sweep",
    "batched_edits",
    "class_accuracy",
    "patching_sweep",
    "scaling_sweep",
]

MAX_STACK_ELEMENTS = 1 << 23
"""Largest stack of edited activations run at once (8M entries: 32 MB in float32). Larger
stacks are no faster (the matrix products are already large) and would cost memory."""

Reduce = Callable[[np.ndarray], np.ndarray]


def _as_numpy(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    return a.detach().cpu().numpy()  # type: ignore[no-any-return]


def batched_edits(
    model: Any,
    X: Any,
    edits: Sequence[Edit],
    *,
    reduce: Reduce | None = None,
    baseline: bool = False,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> np.ndarray:
    """Outputs of ``model`` on ``X`` under each edit, computed in one batched pass.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        Run in evaluation mode (its flags restored after); hooks it already has stay active.
    X : array of shape (n_samples, ...)
    edits : sequence of Edit, all at the same hook point
    reduce : callable, optional
        Maps outputs of shape (k, n_samples, *out) to an array of shape (k, ...), applied chunk
        by chunk, so that only the reduced numbers are kept (e.g. per-class accuracy).
    baseline : bool
        Prepend the unedited output (row 0 of the result).
    quiet : bool
    max_elements : int
        Bound on the edited activations stacked at once.

    Returns
    -------
    array of shape (len(edits) [+1], n_samples, *out), or (len(edits) [+1], ...) with ``reduce``
    """
    if not edits:
        raise ConfigError("batched_edits needs at least one edit")
    names = {e.name for e in edits}
    if len(names) != 1:
        raise ConfigError(f"all edits of one batch must share a hook point, got {sorted(names)}")
    name = edits[0].name
    rows: list[Edit | None] = [None, *edits] if baseline else list(edits)
    reduce_fn = reduce or (lambda out: out)
    results: list[np.ndarray] = []
    with (
        evaluating(model) as h,
        _no_grad(h),
        progress(len(rows), f"edits at {name}", quiet=quiet) as bar,
    ):
        run = _stacked_runner(h, X, name)
        per_edit = max(1, max_elements // max(1, run.elements))
        for start in range(0, len(rows), per_edit):
            chunk = rows[start : start + per_edit]
            out = _as_numpy(run(chunk))
            results.append(np.asarray(reduce_fn(out.reshape(len(chunk), run.n, *out.shape[1:]))))
            bar.advance(len(chunk))
    return np.concatenate(results)


class _Runner:
    """Runs stacks of edited activations through the rest of a model."""

    n: int
    elements: int

    def __call__(self, chunk: Sequence[Edit | None]) -> Any:
        raise NotImplementedError


class _SuffixRunner(_Runner):
    """Prefix once, then the suffix on the stack (engine, and torch chain models)."""

    def __init__(self, h: Any, X: Any, name: str) -> None:
        self.h, self.name = h, name
        self.act = h.forward_to(h.as_tensor(X) if hasattr(h, "as_tensor") else X, name)
        self.n = int(self.act.shape[0])
        self.elements = int(np.prod(tuple(self.act.shape)))
        self.cat = _concat_for(self.act)

    def __call__(self, chunk: Sequence[Edit | None]) -> Any:
        parts = [self.act if e is None else e(self.act, self.name) for e in chunk]
        return self.h.forward_from(self.name, self.cat(parts))


class _ExpandRunner(_Runner):
    """Any torch model: the input repeated k times, each block edited by one batched hook."""

    def __init__(self, h: Any, X: Any, name: str) -> None:
        self.h, self.name = h, name
        self.x = h.as_tensor(X)
        self.n = int(self.x.shape[0])
        # The activation's size is unknown before a forward; measure it once.
        probe = h.forward_to(self.x[:1], name.split(":")[0])
        self.elements = self.n * int(np.prod(tuple(probe.shape[1:])))

    def __call__(self, chunk: Sequence[Edit | None]) -> Any:
        import torch

        k = len(chunk)
        big = self.x.repeat(k, *([1] * (self.x.ndim - 1)))

        def hook(act: Any, hook_name: str) -> Any:
            blocks = act.reshape(k, self.n, *act.shape[1:])
            edited = [
                b if e is None else e(b, hook_name) for b, e in zip(blocks, chunk, strict=True)
            ]
            return torch.cat(edited)

        return self.h.run_with_hooks(big, [(self.name, hook)])


def _stacked_runner(h: Any, X: Any, name: str) -> _Runner:
    from tinylens.engine import Sequential

    if isinstance(h, Sequential):
        return _SuffixRunner(h, X, name)
    if name in h.hook_names and h.suffix(name) is not None:
        return _SuffixRunner(h, X, name)
    return _ExpandRunner(h, X, name)


def _concat_for(a: Any) -> Callable[[list[Any]], Any]:
    if isinstance(a, np.ndarray):
        return np.concatenate
    import torch

    return torch.cat


class _no_grad:
    """``torch.no_grad()`` for a torch model; nothing for the engine (which has no autograd)."""

    def __init__(self, h: Any) -> None:
        self.ctx: Any = None
        from tinylens.engine import Sequential

        if not isinstance(h, Sequential):
            import torch

            self.ctx = torch.no_grad()

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


# -- scoring ------------------------------------------------------------------------------------


def class_accuracy(outputs: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-class accuracy of stacked outputs.

    Parameters
    ----------
    outputs : array of shape (k, n_samples, n_outputs)
        Logits (argmax decides), or one logit per sample (> 0 decides class 1).
    y : array of shape (n_samples,)
    n_classes : int

    Returns
    -------
    array of shape (k, n_classes + 1): per-class accuracy, then overall accuracy (last column);
    NaN for a class without samples.
    """
    if outputs.shape[-1] == 1:
        pred = (outputs[..., 0] > 0).astype(np.int64)
    else:
        pred = outputs.argmax(axis=-1)
    correct = (pred == y).astype(np.float64)  # (k, n)
    onehot = np.zeros((len(y), n_classes))
    onehot[np.arange(len(y)), y] = 1.0
    counts = onehot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = (correct @ onehot) / counts  # one matrix product for every (edit, class)
    return np.concatenate([per_class, correct.mean(axis=1, keepdims=True)], axis=1)


def _classification_data(data: Any) -> tuple[np.ndarray, np.ndarray, int]:
    from tinylens.training import as_xy

    X, y, task = as_xy(data, "sweep data")
    if task == "regression" or y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError("accuracy sweeps need classification data: integer labels of shape (n,)")
    n_classes = int(getattr(data, "n_classes", None) or (int(y.max()) + 1))
    return X, y.astype(np.int64), n_classes


def _unit_count(model: Any, X: np.ndarray, name: str) -> int:
    with evaluating(model) as h, _no_grad(h):
        act = h.forward_to(X[:1], name)
    if np.ndim(act) < 2:
        raise ShapeError(f"{name} has no unit axis (shape {tuple(act.shape)})")
    return int(act.shape[1])


def _chosen(model: Any, X: np.ndarray, name: str, units: Any) -> tuple[int, ...]:
    chosen = as_units(units)
    if chosen is None:
        return tuple(range(_unit_count(model, X, name)))
    if not chosen:
        raise ConfigError("choose at least one unit (or None for all of them)")
    return chosen


# -- result tables ------------------------------------------------------------------------------


@dataclass
class AblationSweep:
    """Accuracy with each unit (or each pair of units) ablated.

    Attributes
    ----------
    name : str
        The hook point.
    kind : str
        ``"zero"`` or ``"mean"``.
    units : array of shape (k, r)
        The ablated unit(s) of each row: r = 1 for single units, 2 for pairs.
    accuracy_ : array of shape (k,)
    class_accuracy_ : array of shape (k, n_classes)
    baseline_accuracy_ : float
    baseline_class_accuracy_ : array of shape (n_classes,)
    class_counts_ : array of shape (n_classes,)
    """

    name: str
    kind: str
    units: np.ndarray
    accuracy_: np.ndarray
    class_accuracy_: np.ndarray
    baseline_accuracy_: float
    baseline_class_accuracy_: np.ndarray
    class_counts_: np.ndarray
    n_units: int = 0

    @property
    def drop_(self) -> np.ndarray:
        """Accuracy lost by each ablation (baseline minus ablated)."""
        return self.baseline_accuracy_ - self.accuracy_

    @property
    def class_drop_(self) -> np.ndarray:
        return self.baseline_class_accuracy_ - self.class_accuracy_

    def pair_matrix(self) -> np.ndarray:
        """For a pairs sweep: accuracy as a symmetric (n_units, n_units) matrix (NaN diagonal)."""
        if self.units.shape[1] != 2:
            raise ConfigError("pair_matrix needs a sweep over pairs (pairs=True)")
        ids = np.unique(self.units)
        pos = {int(u): i for i, u in enumerate(ids)}
        mat = np.full((len(ids), len(ids)), np.nan)
        for (a, b), acc in zip(self.units, self.accuracy_, strict=True):
            mat[pos[int(a)], pos[int(b)]] = mat[pos[int(b)], pos[int(a)]] = acc
        return mat

    def columns(self) -> list[str]:
        k = self.class_accuracy_.shape[1]
        return ["units", "accuracy", "drop"] + [f"class_{c}" for c in range(k)]

    def rows(self) -> list[list[Any]]:
        """One row per ablation: units (``"3"``, ``"3+7"``), accuracy, drop, per-class accuracy."""
        out = []
        for u, acc, drop, per in zip(
            self.units, self.accuracy_, self.drop_, self.class_accuracy_, strict=True
        ):
            out.append(
                ["+".join(str(int(v)) for v in u), round(float(acc), 6), round(float(drop), 6)]
                + [round(float(v), 6) for v in per]
            )
        return out


@dataclass
class ScalingSweep:
    """Accuracy with each unit multiplied by each factor.

    Attributes
    ----------
    name : str
    units : array of shape (n_units,)
    scales : array of shape (n_scales,)
    accuracy_ : array of shape (n_units, n_scales)
    class_accuracy_ : array of shape (n_units, n_scales, n_classes)
    baseline_accuracy_ : float
    baseline_class_accuracy_ : array of shape (n_classes,)
    """

    name: str
    units: np.ndarray
    scales: np.ndarray
    accuracy_: np.ndarray
    class_accuracy_: np.ndarray
    baseline_accuracy_: float
    baseline_class_accuracy_: np.ndarray
    class_counts_: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def columns(self) -> list[str]:
        return ["unit"] + [f"x{s:g}" for s in self.scales]

    def rows(self) -> list[list[Any]]:
        return [
            [int(u)] + [round(float(a), 6) for a in accs]
            for u, accs in zip(self.units, self.accuracy_, strict=True)
        ]


@dataclass
class PatchingSweep:
    """The effect of patching each unit's clean activation into the corrupted run.

    Attributes
    ----------
    name : str
    units : array of shape (n_units,)
    effect_ : array of shape (n_units,)
        The metric with that unit patched (by default: the fraction of corrupted inputs whose
        prediction becomes the clean prediction).
    corrupted_ : float
        The metric with nothing patched.
    clean_ : float
        The metric with every unit patched (the clean run itself).
    """

    name: str
    units: np.ndarray
    effect_: np.ndarray
    corrupted_: float
    clean_: float

    @property
    def restored_(self) -> np.ndarray:
        """Fraction of the clean-minus-corrupted gap each unit restores."""
        gap = self.clean_ - self.corrupted_
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.effect_ - self.corrupted_) / gap


# -- the sweeps ---------------------------------------------------------------------------------


def _ablation(kind: str, name: str, units: tuple[int, ...], mean: np.ndarray | None) -> Edit:
    if kind == "zero":
        return zero_ablation(name, units)
    assert mean is not None
    return mean_ablation(name, units, mean=mean)


def ablation_sweep(
    model: Any,
    data: Any,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    pairs: bool = False,
    kind: str = "zero",
    reference: Any = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> AblationSweep:
    """Per-class accuracy with each unit of ``name`` ablated (or each pair, with ``pairs``).

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    name : str
        The hook point; its units are neurons (dense) or channels (images).
    units : int or sequence of int, optional
        Which units to ablate (default: all of them).
    pairs : bool
        Ablate every pair of the chosen units (n * (n - 1) / 2 rows) instead of each one.
    kind : {"zero", "mean"}
        Mean ablation uses the mean over ``reference`` (default: ``data``'s inputs).
    """
    if kind not in ("zero", "mean"):
        raise ConfigError(f"unknown ablation kind {kind!r}; expected 'zero' or 'mean'")
    X, y, n_classes = _classification_data(data)
    chosen = _chosen(model, X, name, units)
    groups = list(itertools.combinations(chosen, 2)) if pairs else [(u,) for u in chosen]
    if not groups:
        raise ConfigError("a pairs sweep needs at least two units")
    mean = None
    if kind == "mean":
        from tinylens.interventions._reference import reference_activations

        mean = reference_activations(model, X if reference is None else reference, name).mean(0)
    edits = [_ablation(kind, name, g, mean) for g in groups]
    table = batched_edits(
        model,
        X,
        edits,
        reduce=lambda out: class_accuracy(out, y, n_classes),
        baseline=True,
        quiet=quiet,
        max_elements=max_elements,
    )
    return AblationSweep(
        name=name,
        kind=kind,
        units=np.array(groups, dtype=np.int64),
        accuracy_=table[1:, -1],
        class_accuracy_=table[1:, :-1],
        baseline_accuracy_=float(table[0, -1]),
        baseline_class_accuracy_=table[0, :-1],
        class_counts_=np.bincount(y, minlength=n_classes),
        n_units=len(chosen),
    )


def scaling_sweep(
    model: Any,
    data: Any,
    name: str,
    scales: Sequence[float] = (0.0, 0.5, 1.0, 2.0, 3.0),
    units: int | Sequence[int] | None = None,
    *,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> ScalingSweep:
    """Per-class accuracy with each unit of ``name`` multiplied by each of ``scales``."""
    X, y, n_classes = _classification_data(data)
    factors = np.asarray(scales, dtype=np.float64)
    if factors.ndim != 1 or len(factors) == 0 or not np.isfinite(factors).all():
        raise ConfigError(f"scales must be a non-empty list of finite numbers, got {scales!r}")
    chosen = _chosen(model, X, name, units)
    edits = [scaling(name, u, float(s)) for u in chosen for s in factors]
    table = batched_edits(
        model,
        X,
        edits,
        reduce=lambda out: class_accuracy(out, y, n_classes),
        baseline=True,
        quiet=quiet,
        max_elements=max_elements,
    )
    grid = table[1:].reshape(len(chosen), len(factors), n_classes + 1)
    return ScalingSweep(
        name=name,
        units=np.array(chosen, dtype=np.int64),
        scales=factors,
        accuracy_=grid[..., -1],
        class_accuracy_=grid[..., :-1],
        baseline_accuracy_=float(table[0, -1]),
        baseline_class_accuracy_=table[0, :-1],
        class_counts_=np.bincount(y, minlength=n_classes),
    )


def patching_sweep(
    model: Any,
    clean_x: Any,
    corrupted_x: Any,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
    quiet: bool = True,
) -> PatchingSweep:
    """Patch each unit of ``name`` from the clean run into the corrupted run, all at once.

    ``metric`` maps stacked outputs (k, n, *out) to k numbers; by default, the fraction of
    samples whose predicted class (argmax) equals the clean run's.
    """
    clean_x, corrupted_x = np.asarray(clean_x), np.asarray(corrupted_x)
    if clean_x.shape != corrupted_x.shape:
        raise ShapeError(
            f"clean inputs {clean_x.shape} and corrupted inputs {corrupted_x.shape} must pair up"
        )
    from tinylens.interventions._reference import reference_activations

    clean_act = reference_activations(model, clean_x, name)
    with evaluating(model) as h, _no_grad(h):
        clean_out = _as_numpy(h.forward(clean_x))
    if metric is None:
        target = clean_out.argmax(axis=-1)

        def metric(out: np.ndarray) -> np.ndarray:
            return (out.argmax(axis=-1) == target).mean(axis=1)

    chosen = as_units(units)
    if chosen is None:
        chosen = tuple(range(clean_act.shape[1]))
    edits = [patching(name, clean_act, u) for u in chosen]
    scores = batched_edits(model, corrupted_x, edits, reduce=metric, baseline=True, quiet=quiet)
    return PatchingSweep(
        name=name,
        units=np.array(chosen, dtype=np.int64),
        effect_=np.asarray(scores[1:], dtype=np.float64),
        corrupted_=float(scores[0]),
        clean_=float(np.asarray(metric(clean_out[None]))[0]),
    )
