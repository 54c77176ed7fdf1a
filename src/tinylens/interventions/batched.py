"""Batched edits: every edit of a hook point run as one stacked computation.

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

The named sweeps built on these (every neuron ablated, every scale, every patch) are in
:mod:`tinylens.interventions.unit_sweeps`; scoring functions in
:mod:`tinylens.interventions.scoring`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinylens.engine import Sequential
from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import evaluating, require_eval
from tinylens.interventions.edits import Edit
from tinylens.progress import progress
from tinylens.typing import ModelLike

__all__ = ["MAX_STACK_ELEMENTS", "batched_edits", "batched_scores"]

MAX_STACK_ELEMENTS = 1 << 20
"""Largest stack of edited activations run at once (1M entries: 4 MB in float32). On the
MNIST benchmark (``benchmarks/hooks.py``), stacks of 512k to 1M entries were fastest for the
engine and torch alike (2M: 1.15x slower on the engine; 8M: 1.3x slower, their temporaries
page-fault), and memory stays bounded whatever the number of edits."""


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
    model: ModelLike,
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
    model: ModelLike,
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
    model: ModelLike,
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
        return ("act", m.apply, None)  # the pure function: no state written on the module
    from torch import nn

    if isinstance(m, nn.Linear):
        return ("linear", m.weight.detach(), None if m.bias is None else m.bias.detach())
    if type(m) is nn.ReLU:
        return ("relu", None, None)
    return ("act", m, None)


def _mlp_tail(h: Any, name: str) -> list[Any] | None:
    """The modules after ``name`` if they are a linear layer, then only linear layers and
    elementwise activations, none of them hooked; else None."""

    if isinstance(h, Sequential):
        mods = h.layers[h.index_of(name) + 1 :]
        if not mods or mods[0].kind != "linear":
            return None
        for m in mods:
            if m.kind != "linear" and m.kind not in _ELEMENTWISE:
                return None
            if h.hooks_at(m.name):
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
