"""Batched sweeps: every neuron ablated, every pair, every scale, in one batched computation.

A loop of K hooked forwards recomputes the part of the network *before* the edited hook point
K times; for an MLP on MNIST that part (784 -> 32) is most of the work. Here the activation at
the hook point is computed once, K edited copies are stacked along an *instance axis*
(K x batch rows), and the rest of the network runs once on the stack. On the engine that is
``forward_to`` + ``forward_from``; on torch the same through :class:`HookedModule`'s
``forward_from`` when the model is a chain of ``nn.Sequential`` containers, and by expanding the
input batch K-fold with one batched hook otherwise (correct for any model, but then the prefix
is recomputed). When the rest of the network is an MLP tail, edits become low-rank updates and
the tail runs feature-major (see ``_MLPTailRunner``). Stacks are cut into chunks that bound
memory, and ``cache=`` lets one ``run_with_cache`` serve the sweeps of several hook points.

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

from tinylens.engine import Sequential
from tinylens.errors import ConfigError, DataError, ShapeError
from tinylens.hooks import evaluating, require_eval
from tinylens.interventions.ablation import mean_ablation, zero_ablation
from tinylens.interventions.edits import Edit, as_units, unit_axis
from tinylens.interventions.patching import patching
from tinylens.interventions.scaling import scaling
from tinylens.progress import progress

__all__ = [
    "AblationSweep",
    "PatchingSweep",
    "ScalingSweep",
    "ablation_sweep",
    "batched_edits",
    "batched_scores",
    "class_accuracy",
    "correct_predictions",
    "patching_sweep",
    "scaling_sweep",
]

MAX_STACK_ELEMENTS = 1 << 20
"""Largest stack of edited activations run at once (1M entries: 4 MB in float32). On the
MNIST benchmark (``benchmarks/hooks.py``), stacks of 512k to 1M entries were fastest for the
engine and torch alike (2M: 1.15x slower on the engine; 8M: 1.3x slower, their temporaries
page-fault), and memory stays bounded whatever the number of edits."""

# Labels in at most this many runs of equal values are scored by slices (see
# correct_predictions.stacked).
_MAX_LABEL_RUNS = 256

Reduce = Callable[[np.ndarray], np.ndarray]


def _as_numpy(a: Any) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return a
    return a.detach().cpu().numpy()  # type: ignore[no-any-return]


def _check_edits(edits: Sequence[Edit]) -> str:
    if not edits:
        raise ConfigError("a sweep needs at least one edit")
    names = {e.name for e in edits}
    if len(names) != 1:
        raise ConfigError(f"all edits of one batch must share a hook point, got {sorted(names)}")
    return edits[0].name


def _map_chunks(
    model: Any,
    X: Any,
    edits: Sequence[Edit],
    finish: Callable[[Sequence[Edit | None], _Result], np.ndarray],
    *,
    baseline: bool,
    quiet: bool,
    max_elements: int,
    cache: Any,
) -> np.ndarray:
    """Run the edits chunk by chunk and ``finish`` each chunk's result; concatenated in order.

    (Running chunks on several threads was measured: no faster on two cores, where the work is
    memory-bound.)
    """
    name = _check_edits(edits)
    require_eval(model, "a batched sweep")
    rows: list[Edit | None] = [None, *edits] if baseline else list(edits)
    with (
        evaluating(model) as h,
        _no_grad(h),
        progress(len(rows), f"edits at {name}", quiet=quiet) as bar,
    ):
        run = _runner(h, X, name, edits, cache)
        per_edit = max(1, max_elements // max(1, run.elements))
        done: list[np.ndarray] = []
        for start in range(0, len(rows), per_edit):
            chunk = rows[start : start + per_edit]
            done.append(finish(chunk, run(chunk)))
            bar.advance(len(chunk))
        return np.concatenate(done)


def batched_edits(
    model: Any,
    X: Any,
    edits: Sequence[Edit],
    *,
    reduce: Reduce | None = None,
    baseline: bool = False,
    cache: Any = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> np.ndarray:
    """Outputs of ``model`` on ``X`` under each edit, computed in one batched pass.

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
        In evaluation mode, or with nothing that computes differently in training mode (else
        ConfigError: see :func:`tinylens.hooks.require_eval`); hooks it already has stay
        active.
    X : array of shape (n_samples, ...)
    edits : sequence of Edit, all at the same hook point
    reduce : callable, optional
        Maps outputs of shape (k, n_samples, *out) to an array of shape (k, ...), applied chunk
        by chunk, so that only the reduced numbers are kept.
    baseline : bool
        Prepend the unedited output (row 0 of the result).
    cache : mapping, optional
        Activations of exactly these inputs at the edits' hook point (e.g. one
        ``run_with_cache`` over several hook points), so the network before it is not run again.
    quiet : bool
    max_elements : int
        Bound on the edited activations (or outputs) held at once.

    Returns
    -------
    array of shape (len(edits) [+1], n_samples, *out), or (len(edits) [+1], ...) with ``reduce``
    """
    reduce_fn = reduce or (lambda out: out)

    def finish(chunk: Sequence[Edit | None], result: _Result) -> np.ndarray:
        return np.asarray(reduce_fn(result.dense(len(chunk))))

    return _map_chunks(
        model,
        X,
        edits,
        finish,
        baseline=baseline,
        quiet=quiet,
        max_elements=max_elements,
        cache=cache,
    )


def batched_scores(
    model: Any,
    X: Any,
    edits: Sequence[Edit],
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    *,
    baseline: bool = False,
    cache: Any = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> np.ndarray:
    """A score per (edit, sample), e.g. 1.0 where the prediction is right.

    ``score(outputs, rows)`` maps outputs of shape (m, *out) of the samples ``rows`` (shape
    (m,), indices into ``X``) to m numbers; a score may also offer ``score.stacked(outputs_t)``
    taking every sample's outputs k times, feature-major, shape (n_outputs, k, n_samples) (a
    scratch array it may overwrite), and returning (k, n_samples) scores, which the fast path
    for MLP tails uses (see :func:`correct_predictions`). Other parameters as in
    :func:`batched_edits`. Returns an array of shape (len(edits) [+1], n_samples).
    """

    def finish(chunk: Sequence[Edit | None], result: _Result) -> np.ndarray:
        return result.scores(len(chunk), score)

    return _map_chunks(
        model,
        X,
        edits,
        finish,
        baseline=baseline,
        quiet=quiet,
        max_elements=max_elements,
        cache=cache,
    )


class _Result:
    """Outputs of one chunk of k edits on n samples."""

    def dense(self, k: int) -> np.ndarray:
        raise NotImplementedError

    def scores(self, k: int, score: Callable[..., np.ndarray]) -> np.ndarray:
        raise NotImplementedError


class _Dense(_Result):
    def __init__(self, outputs: Any, n: int) -> None:
        self.outputs = _as_numpy(outputs)
        self.n = n

    def dense(self, k: int) -> np.ndarray:
        return self.outputs.reshape(k, self.n, *self.outputs.shape[1:])

    def scores(self, k: int, score: Callable[..., np.ndarray]) -> np.ndarray:
        rows = np.tile(np.arange(self.n), k)
        return np.asarray(score(self.outputs, rows), dtype=np.float64).reshape(k, self.n)


class _Columns(_Result):
    """Outputs computed feature-major: shape (k, n_outputs, n)."""

    def __init__(self, outputs: Any) -> None:
        self.outputs = _as_numpy(outputs)

    def dense(self, k: int) -> np.ndarray:
        return np.ascontiguousarray(self.outputs.transpose(0, 2, 1))

    def scores(self, k: int, score: Callable[..., np.ndarray]) -> np.ndarray:
        stacked = getattr(score, "stacked", None)
        if stacked is not None:
            # NOTE: NumPy also for torch outputs (a view of the same memory on the CPU): torch's
            # argmax over the class axis of (k, classes, n) measured 15x slower than this.
            values = stacked(self.outputs.transpose(1, 0, 2))
        else:
            n = self.outputs.shape[2]
            values = score(self.dense(k).reshape(k * n, -1), np.tile(np.arange(n), k))
        return np.asarray(values, dtype=np.float64).reshape(k, -1)


class _Runner:
    """Runs chunks of edits through the rest of a model."""

    n: int
    elements: int

    def __call__(self, chunk: Sequence[Edit | None]) -> _Result:
        raise NotImplementedError


class _SuffixRunner(_Runner):
    """Prefix once, then the suffix on the stack of edited activations (engine, and torch
    chain models)."""

    def __init__(self, h: Any, X: Any, name: str, cache: Any = None) -> None:
        self.h, self.name = h, name
        torch_side = hasattr(h, "as_tensor")
        if cache is not None and name in cache:
            act = cache[name]
            if len(act) != len(X):
                raise ShapeError(
                    f"the cache holds {len(act)} samples at {name}; X has {len(X)} (the cache "
                    "must come from these inputs)"
                )
            self.act = h.as_tensor(act) if torch_side else act
        else:
            self.act = h.forward_to(h.as_tensor(X) if torch_side else X, name)
        self.n = int(self.act.shape[0])
        self.elements = int(np.prod(tuple(self.act.shape)))
        self.cat = _concat_for(self.act)

    def __call__(self, chunk: Sequence[Edit | None]) -> _Result:
        parts = [self.act if e is None else e(self.act, self.name) for e in chunk]
        return _Dense(self.h.forward_from(self.name, self.cat(parts)), self.n)


class _MLPTailRunner(_SuffixRunner):
    """The fast path when the network after the hook point is an MLP tail: linear layers and
    elementwise activations (the MNIST probing model after any hidden layer).

    Two things make it fast. (1) An edit of r units changes the first linear layer's output
    by ``W[:, units] @ delta`` only: a rank-r update of one shared product, instead of a copy of
    the activation and a full product per edit. (2) The tail runs *feature-major*, on arrays
    of shape (k, features, n): every matrix product has the long sample axis as its wide
    dimension, and the outputs come out as one contiguous row per class, so scores such as
    "is the prediction right" are a few whole-row operations instead of a per-row argmax.
    The results equal the plain computation up to floating-point rounding.
    """

    def __init__(self, base: _SuffixRunner, tail: list[Any]) -> None:
        self.__dict__.update(base.__dict__)  # the prefix's activation, computed once
        self.numpy_side = isinstance(self.act, np.ndarray)
        self.steps = [_step(m, self.numpy_side) for m in tail]
        w, b = self.steps[0][1], self.steps[0][2]
        self.z_t = w @ self.act.T  # (out, n): the first layer's output, computed once
        if b is not None:
            self.z_t = self.z_t + b[:, None]
        self.elements = int(np.prod(tuple(self.z_t.shape)))
        self.act_t: Any = None  # the activation transposed, made on first use

    def __call__(self, chunk: Sequence[Edit | None]) -> _Result:
        w = self.steps[0][1]
        if all(e is None or (e.units is not None and len(e.units) == 1) for e in chunk):
            z = self._rank_one(chunk)
        else:
            z = self._empty((len(chunk), *self.z_t.shape))  # (k, out, n): contiguous blocks
            for block, e in zip(z, chunk, strict=True):
                if e is None:
                    block[...] = self.z_t
                    continue
                if e.units is None:
                    block[...] = w @ (e(self.act, self.name) - self.act).T
                else:
                    block[...] = w[:, list(e.units)] @ e.delta(self.act).T
                block += self.z_t
        for kind, a, b in self.steps[1:]:
            if kind == "linear":
                z = a @ z  # (C, out) @ (k, out, n) -> (k, C, n)
                if b is not None:
                    z += b[:, None]
            elif kind == "relu":
                z = z.clamp_(min=0) if not self.numpy_side else np.maximum(z, 0, out=z)
            else:
                z = a(z)  # elementwise: any layout will do
        return _Columns(z)

    def _rank_one(self, chunk: Sequence[Edit | None]) -> Any:
        """Single-unit edits, all at once: z[i] = z_t + W[:, u_i] (outer) delta_i.

        Scalings (zero ablation is the scaling by 0) take their deltas ``(s - 1) * act[:, u]``
        from one gather of rows of the transposed activation, not a strided column per edit.
        """
        w, n, k = self.steps[0][1], self.n, len(chunk)
        units = [0 if e is None else e.units[0] for e in chunk]  # type: ignore[index]
        pure = [e is None or (e.value is None and np.isscalar(e.scale)) for e in chunk]
        factors = [
            float(e.scale) - 1.0 if e is not None and p else 0.0
            for e, p in zip(chunk, pure, strict=True)
        ]
        if self.act_t is None:
            self.act_t = self.act.T.copy() if self.numpy_side else self.act.T.contiguous()
        rows = self.act_t[units]  # (k, n): a gather of whole rows
        if self.numpy_side:
            d = rows * np.asarray(factors, dtype=rows.dtype)[:, None]
        else:
            import torch

            d = rows * torch.tensor(factors, dtype=rows.dtype)[:, None]
        for i, e in enumerate(chunk):
            if not pure[i]:
                d[i] = e.delta(self.act)[:, 0]  # type: ignore[union-attr]
        cols = w[:, units].T  # (k, out): the weights each edited unit feeds
        if self.numpy_side:
            # one broadcast for the whole chunk: (k, out, 1) * (k, 1, n), then + (out, n)
            z = cols[:, :, None] * d.reshape(k, 1, n)
            z += self.z_t
            return z
        import torch

        # z_t + cols (outer) d in one fused pass (torch's addcmul broadcasts all three)
        return torch.addcmul(self.z_t, cols[:, :, None], d.reshape(k, 1, n))

    def _empty(self, shape: tuple[int, ...]) -> Any:
        if self.numpy_side:
            return np.empty(shape, dtype=self.z_t.dtype)
        import torch

        return torch.empty(shape, dtype=self.z_t.dtype, device=self.z_t.device)


_ELEMENTWISE = frozenset(
    {"relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "identity", "dropout"}
)


def _step(m: Any, numpy_side: bool) -> tuple[str, Any, Any]:
    """("linear", W, b) or ("act", f, None) for one module of an MLP tail."""
    if numpy_side:
        if m.kind == "linear":
            return ("linear", m.weight.data, None if m.bias is None else m.bias.data)
        if m.kind in ("dropout", "identity"):  # dropout is the identity in evaluation mode
            return ("act", lambda z: z, None)
        if m.kind == "relu":  # in place: the tail owns its arrays
            return ("relu", None, None)
        return ("act", m._f, None)  # the pure function: no state written on the module
    from torch import nn

    if isinstance(m, nn.Linear):
        return ("linear", m.weight.detach(), None if m.bias is None else m.bias.detach())
    if type(m) is nn.ReLU:
        return ("relu", None, None)
    return ("act", m, None)


def _mlp_tail(h: Any, name: str) -> list[Any] | None:
    """The modules after ``name`` if they are a linear layer, then only linear layers and
    elementwise activations, none of them hooked; else None."""
    from tinylens.engine import Sequential

    if isinstance(h, Sequential):
        mods = h.layers[h.index_of(name) + 1 :]
        if not mods or mods[0].kind != "linear":
            return None
        for m in mods:
            if m.kind != "linear" and m.kind not in _ELEMENTWISE:
                return None
            if h._fwd_hooks.get(m.name):
                return None
        return list(mods)
    from torch import nn

    elementwise = (
        nn.ReLU,
        nn.LeakyReLU,
        nn.Sigmoid,
        nn.Tanh,
        nn.Softplus,
        nn.GELU,
        nn.Identity,
        nn.Dropout,
    )
    tail = h.suffix(name)
    if not tail or type(tail[0]) is not nn.Linear:
        return None
    for m in tail:
        if type(m) is not nn.Linear and type(m) not in elementwise:
            return None
        if m._forward_hooks or m._forward_pre_hooks:
            return None
    return list(tail)


class _ExpandRunner(_Runner):
    """Any torch model: the input repeated k times, each block edited by one batched hook."""

    def __init__(self, h: Any, X: Any, name: str) -> None:
        self.h, self.name = h, name
        self.x = h.as_tensor(X)
        self.n = int(self.x.shape[0])
        # The activation's size is unknown before a forward; measure it once.
        probe = h.forward_to(self.x[:1], name.split(":")[0])
        self.elements = self.n * int(np.prod(tuple(probe.shape[1:])))

    def __call__(self, chunk: Sequence[Edit | None]) -> _Result:
        import torch

        k = len(chunk)
        big = self.x.repeat(k, *([1] * (self.x.ndim - 1)))

        def hook(act: Any, hook_name: str) -> Any:
            blocks = act.reshape(k, self.n, *act.shape[1:])
            edited = [
                b if e is None else e(b, hook_name) for b, e in zip(blocks, chunk, strict=True)
            ]
            return torch.cat(edited)

        return _Dense(self.h.run_with_hooks(big, [(self.name, hook)]), self.n)


def _runner(h: Any, X: Any, name: str, edits: Sequence[Edit], cache: Any) -> _Runner:
    from tinylens.engine import Sequential

    chain = isinstance(h, Sequential) or (name in h.hook_names and h.suffix(name) is not None)
    if not chain:
        return _ExpandRunner(h, X, name)
    runner = _SuffixRunner(h, X, name, cache)
    tail = _mlp_tail(h, name)
    if tail is not None and runner.act.ndim == 2:
        return _MLPTailRunner(runner, tail)
    return runner


def _concat_for(a: Any) -> Callable[[list[Any]], Any]:
    if isinstance(a, np.ndarray):
        return np.concatenate
    import torch

    return torch.cat


class _no_grad:
    """``torch.no_grad()`` for a torch model; nothing for the engine (which has no autograd)."""

    def __init__(self, h: Any) -> None:
        from tinylens.engine import Sequential

        self.ctx: Any = None
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
    return _per_class((pred == y).astype(np.float64), y, n_classes)


class correct_predictions:
    """A :func:`batched_scores` score: 1.0 where the predicted class equals the label ``y[row]``.

    The prediction is the argmax of the outputs (the first maximum on a tie, as NumPy and
    torch pick it), or ``logit > 0`` for a single output.
    """

    def __init__(self, y: np.ndarray) -> None:
        self.y = np.asarray(y)
        self._masks: dict[tuple[int, Any], tuple[np.ndarray, np.ndarray]] = {}
        # Runs of equal labels (label, start, stop): a few when the samples come sorted by
        # label, as the per-class tables pass them; then the labels' logits are slices.
        cuts = np.flatnonzero(np.diff(self.y)) + 1 if self.y.size else np.array([], dtype=int)
        starts = np.concatenate([[0], cuts]).astype(int)
        stops = np.concatenate([cuts, [self.y.size]]).astype(int)
        self._runs = (
            [(int(self.y[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
            if self.y.size and len(starts) <= _MAX_LABEL_RUNS
            else None
        )

    def __call__(self, outputs: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if outputs.shape[-1] == 1:
            pred = (outputs[..., 0] > 0).astype(np.int64)
        else:
            pred = outputs.argmax(axis=-1)
        return (pred == self.y[rows]).astype(np.float64)

    def _label_masks(self, n_outputs: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
        """(one-hot of the labels, -inf at the labels) of shape (n_outputs, n_samples)."""
        key = (n_outputs, np.dtype(dtype))
        if key not in self._masks:
            onehot = np.zeros((n_outputs, len(self.y)), dtype=dtype)
            onehot[self.y, np.arange(len(self.y))] = 1
            hide = np.where(onehot == 1, -np.inf, 0).astype(dtype)
            self._masks[key] = (onehot, hide)
        return self._masks[key]

    def stacked(self, outputs_t: np.ndarray) -> np.ndarray:
        """Scores of shape (k, n) from outputs of every sample k times, feature-major: shape
        (n_outputs, k, n). The outputs are overwritten (sweeps pass scratch arrays).

        NOTE: NumPy's argmax over rows of 10 logits costs ~25 ns a row; here the label's logit
        and the best other logit come from whole-row passes (the label's logit copied out and
        hidden, then a max), several times faster. With the samples sorted by label, the
        label's logits are one slice per class; otherwise an einsum with the one-hot labels
        (the slices made the MNIST ablation sweep 1.2x faster on torch).
        """
        if outputs_t.shape[0] == 1:
            return ((outputs_t[0] > 0) == (self.y > 0)).astype(np.float64)
        if self._runs is not None and all(0 <= c < len(outputs_t) for c, _, _ in self._runs):
            own = np.empty(outputs_t.shape[1:], dtype=outputs_t.dtype)
            for c, a, b in self._runs:  # samples a:b all have label c
                own[:, a:b] = outputs_t[c, :, a:b]
                outputs_t[c, :, a:b] = -np.inf  # the label's own logit
        else:
            onehot, hide = self._label_masks(outputs_t.shape[0], outputs_t.dtype)
            own = np.einsum("ckn,cn->kn", outputs_t, onehot)  # exact: one term is not zero
            outputs_t += hide[:, None, :]  # the label's own logit becomes -inf
        other = np.maximum.reduce(outputs_t, axis=0)  # the best other class
        ok = own > other
        # A tie with another class goes to the first maximum, as argmax decides: the label wins
        # only if every tied class comes after it.
        tied_k, tied_n = np.nonzero(own == other)
        if len(tied_k):
            tied = outputs_t[:, tied_k, tied_n] == other[tied_k, tied_n]
            ok[tied_k, tied_n] = self.y[tied_n] < tied.argmax(axis=0)
        return ok.astype(np.float64)


def _per_class(scores: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(k, n) per-sample correctness -> (k, n_classes + 1) per-class and overall accuracy.

    NOTE: per-class sums by index, not as ``scores @ onehot``: that matrix product would wake
    OpenBLAS's thread pool between torch's kernels, and the two pools spinning against each
    other made torch sweeps 3x slower on two cores.
    """
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y, minlength=n_classes)
    present = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
    per_class = np.full((len(scores), n_classes), np.nan)
    sums = np.add.reduceat(scores[:, order], starts, axis=1)  # one pass, class by class
    per_class[:, present] = sums / counts[present]
    return np.concatenate([per_class, scores.mean(axis=1, keepdims=True)], axis=1)


def _class_accuracy_table(
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    edits: Sequence[Edit],
    cache: Any,
    quiet: bool,
    max_elements: int,
) -> np.ndarray:
    """(1 + len(edits), n_classes + 1): per-class and overall accuracy, unedited row first.

    The samples are processed in label order (a permutation of the activation at the hook
    point, or of X when the model must be run whole), so that per-class sums are contiguous
    runs of the score matrix: no gather of the k x n scores.
    """
    name = edits[0].name
    order = np.argsort(y, kind="stable")
    act = cache[name] if cache is not None and name in cache else None
    if act is not None and len(act) != len(X):
        raise ShapeError(
            f"the cache holds {len(act)} samples at {name}; X has {len(X)} (the cache must "
            "come from these inputs)"
        )
    if act is None:
        with evaluating(model) as h, _no_grad(h):
            chain = isinstance(h, Sequential) or (
                name in h.hook_names and h.suffix(name) is not None
            )
            if chain:  # the prefix is needed anyway: compute it once, then reorder it
                act = _as_numpy(
                    h.forward_to(h.as_tensor(X) if not isinstance(h, Sequential) else X, name)
                )
    if act is not None:
        X_run, cache_run = X, {name: np.asarray(act)[order]}
    else:
        X_run, cache_run = X[order], None
    ys = y[order]
    scores = batched_scores(
        model,
        X_run,
        edits,
        correct_predictions(ys),
        baseline=True,
        cache=cache_run,
        quiet=quiet,
        max_elements=max_elements,
    )
    counts = np.bincount(ys, minlength=n_classes)
    present = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[present]
    per_class = np.full((len(scores), n_classes), np.nan)
    per_class[:, present] = np.add.reduceat(scores, starts, axis=1) / counts[present]
    return np.concatenate([per_class, scores.mean(axis=1, keepdims=True)], axis=1)


def _classification_data(data: Any) -> tuple[np.ndarray, np.ndarray, int]:
    from tinylens.training import as_xy

    if hasattr(data, "X") and hasattr(data, "task"):  # a Dataset: checked when it was built
        X, y, task = data.X, data.y, data.task
    else:
        X, y, task = as_xy(data, "sweep data")
    if task == "regression" or y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError("accuracy sweeps need classification data: integer labels of shape (n,)")
    n_classes = int(getattr(data, "n_classes", None) or (int(y.max()) + 1))
    return X, y.astype(np.int64), n_classes


def _unit_count(model: Any, X: np.ndarray, name: str, axis: int | None) -> int:
    with evaluating(model) as h, _no_grad(h):
        act = h.forward_to(X[:1], name)
    return int(act.shape[unit_axis(axis, np.ndim(act), name)])


def _chosen(
    model: Any, X: np.ndarray, name: str, units: Any, cache: Any = None, axis: int | None = None
) -> tuple[int, ...]:
    chosen = as_units(units)
    if chosen is None:
        if cache is not None and name in cache:
            act = cache[name]
            return tuple(range(int(act.shape[unit_axis(axis, np.ndim(act), name)])))
        return tuple(range(_unit_count(model, X, name, axis)))
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

    def costliest_rows(self, k: int) -> list[list[Any]]:
        """The :meth:`rows` of the ``k`` ablations that lose the most accuracy, costliest first."""
        rows = self.rows()
        return [rows[i] for i in np.argsort(-self.drop_)[:k]]


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


def _ablation(
    kind: str, name: str, units: tuple[int, ...], mean: np.ndarray | None, axis: int | None
) -> Edit:
    if kind == "zero":
        return zero_ablation(name, units, axis=axis)
    assert mean is not None
    return mean_ablation(name, units, mean=mean, axis=axis)


def ablation_sweep(
    model: Any,
    data: Any,
    name: str,
    units: int | Sequence[int] | None = None,
    *,
    pairs: bool = False,
    kind: str = "zero",
    reference: Any = None,
    cache: Any = None,
    axis: int | None = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> AblationSweep:
    """Per-class accuracy with each unit of ``name`` ablated (or each pair, with ``pairs``).

    The sweep evaluates the model: a model in training mode with dropout or batch norm (or
    anything else that computes differently in training mode) is refused with a ConfigError
    saying to call ``model.eval()``; in evaluation mode the numbers equal a loop of hooked
    forwards (tested against plain ``register_forward_hook`` loops).

    Parameters
    ----------
    model : engine Sequential, torch.nn.Module or HookedModule
    data : classification Dataset or (X, y)
    name : str
        The hook point; its units are neurons (dense) or channels (images), or the entries of
        ``axis``.
    units : int or sequence of int, optional
        Which units to ablate (default: all of them).
    pairs : bool
        Ablate every pair of the chosen units (n * (n - 1) / 2 rows) instead of each one.
    kind : {"zero", "mean"}
        Mean ablation uses the mean over ``reference`` (default: ``data``'s inputs).
    cache : mapping, optional
        The activations of ``data``'s inputs at ``name`` (``model.run_with_cache(X, names=[...])``
        once for several sweeps), so the network before ``name`` is not run again.
    axis : int, optional
        The unit axis of an activation that is neither (batch, unit) nor (batch, channel, h, w):
        ``-1`` for the features of (batch, position, feature); see
        :func:`~tinylens.interventions.edits.unit_axis`.
    """
    if kind not in ("zero", "mean"):
        raise ConfigError(f"unknown ablation kind {kind!r}; expected 'zero' or 'mean'")
    require_eval(model, "ablation_sweep")
    X, y, n_classes = _classification_data(data)
    chosen = _chosen(model, X, name, units, cache, axis)
    groups = list(itertools.combinations(chosen, 2)) if pairs else [(u,) for u in chosen]
    if not groups:
        raise ConfigError("a pairs sweep needs at least two units")
    mean = None
    if kind == "mean":
        from tinylens.interventions._reference import reference_activations

        mean = reference_activations(model, X if reference is None else reference, name).mean(0)
    edits = [_ablation(kind, name, g, mean, axis) for g in groups]
    table = _class_accuracy_table(model, X, y, n_classes, edits, cache, quiet, max_elements)
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
    cache: Any = None,
    axis: int | None = None,
    quiet: bool = True,
    max_elements: int = MAX_STACK_ELEMENTS,
) -> ScalingSweep:
    """Per-class accuracy with each unit of ``name`` multiplied by each of ``scales``
    (``cache``, ``axis`` and the evaluation-mode rule as in :func:`ablation_sweep`)."""
    require_eval(model, "scaling_sweep")
    X, y, n_classes = _classification_data(data)
    factors = np.asarray(scales, dtype=np.float64)
    if factors.ndim != 1 or len(factors) == 0 or not np.isfinite(factors).all():
        raise ConfigError(f"scales must be a non-empty list of finite numbers, got {scales!r}")
    chosen = _chosen(model, X, name, units, cache, axis)
    edits = [scaling(name, u, float(s), axis=axis) for u in chosen for s in factors]
    table = _class_accuracy_table(model, X, y, n_classes, edits, cache, quiet, max_elements)
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
    axis: int | None = None,
    quiet: bool = True,
) -> PatchingSweep:
    """Patch each unit of ``name`` from the clean run into the corrupted run, all at once.

    ``metric`` maps stacked outputs (k, n, *out) to k numbers; by default, the fraction of
    samples whose predicted class (argmax) equals the clean run's. ``axis`` and the
    evaluation-mode rule as in :func:`ablation_sweep`.
    """
    require_eval(model, "patching_sweep")
    clean_x, corrupted_x = np.asarray(clean_x), np.asarray(corrupted_x)
    if clean_x.shape != corrupted_x.shape:
        raise ShapeError(
            f"clean inputs {clean_x.shape} and corrupted inputs {corrupted_x.shape} must pair up"
        )
    from tinylens.interventions._reference import reference_activations

    clean_act = reference_activations(model, clean_x, name)
    with evaluating(model) as h, _no_grad(h):
        clean_out = _as_numpy(h.forward(clean_x))
    chosen = as_units(units)
    if chosen is None:
        chosen = tuple(range(clean_act.shape[unit_axis(axis, clean_act.ndim, name)]))
    edits = [patching(name, clean_act, u, axis=axis) for u in chosen]
    if metric is None:
        target = clean_out.argmax(axis=-1)
        agree = batched_scores(
            model, corrupted_x, edits, correct_predictions(target), baseline=True, quiet=quiet
        )
        scores = agree.mean(axis=1)

        def metric(out: np.ndarray) -> np.ndarray:
            return (out.argmax(axis=-1) == target).mean(axis=1)

    else:
        scores = batched_edits(model, corrupted_x, edits, reduce=metric, baseline=True, quiet=quiet)
    return PatchingSweep(
        name=name,
        units=np.array(chosen, dtype=np.int64),
        effect_=np.asarray(scores[1:], dtype=np.float64),
        corrupted_=float(scores[0]),
        clean_=float(np.asarray(metric(clean_out[None]))[0]),
    )
