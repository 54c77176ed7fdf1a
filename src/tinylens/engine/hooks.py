"""Hook points, name selection and the activation cache (NumPy only, shared by both backends).

A *hook point* is the output of one module, named by its module path (``"layers.1"``). Both
backends use what is defined here: an engine :class:`~tinylens.engine.Sequential` and the torch
wrapper :class:`tinylens.hooks.HookedModule` select hook points with :func:`select_names` and
return an :class:`ActivationCache` of NumPy arrays.

>>> import numpy as np
>>> select_names(["layers.0", "layers.1", "layers.2"], "layers.[12]")
['layers.1', 'layers.2']
>>> select_names(["layers.0", "layers.1"], lambda name: name.endswith("0"))
['layers.0']
>>> cache = ActivationCache({"layers.1": np.zeros((2, 3))}, ["layers.0", "layers.1"])
>>> cache["layers.1"].shape
(2, 3)
>>> cache["layer.1"]  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tinylens.errors.UnknownNameError: unknown hook point 'layer.1'; ... (did you mean 'layers.1'...?)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, UnknownNameError

__all__ = [
    "ActivationCache",
    "HookFn",
    "HookHandle",
    "NameSelector",
    "hook_pairs",
    "is_pattern",
    "select_names",
]

HookFn = Callable[[Any, str], Any]
"""``fn(activation, name) -> replacement or None``; the activation is the backend's own array
(``numpy.ndarray`` on the engine, ``torch.Tensor`` on torch)."""

NameSelector = None | str | Callable[[str], bool] | Iterable[str]
"""None (every hook point), a name or glob (``"layers.*"``), a predicate, or a list of those."""

_GLOB_CHARS = frozenset("*?[")


def hook_pairs(fwd_hooks: Iterable[Any]) -> list[tuple[NameSelector, HookFn]]:
    """Check ``fwd_hooks`` is a list of ``(name, fn)`` pairs (both backends take the same)."""
    pairs = []
    for item in fwd_hooks:
        if not (isinstance(item, (tuple, list)) and len(item) == 2 and callable(item[1])):
            raise ConfigError(
                f"fwd_hooks must be a list of (name, fn) pairs with fn(activation, name), "
                f"got {item!r}"
            )
        pairs.append((item[0], item[1]))
    return pairs


def is_pattern(name: str) -> bool:
    """Whether ``name`` is a glob pattern (contains ``*``, ``?`` or ``[``)."""
    return any(c in _GLOB_CHARS for c in name)


def select_names(known: Sequence[str], names: NameSelector) -> list[str]:
    """The hook points of ``known`` chosen by ``names``, in ``known``'s order.

    Parameters
    ----------
    known : sequence of str
        Every hook point of the model, in forward order.
    names : None, str, callable or iterable of str
        None selects everything; a string is an exact name or an ``fnmatch`` glob
        (``"layers.*"``, ``"conv?"``); a callable is a predicate on names; an iterable holds
        names or globs.

    Raises
    ------
    UnknownNameError
        An exact name is not a hook point, or a glob matches none (close matches suggested).
    """
    if names is None:
        return list(known)
    if callable(names):
        chosen = {n for n in known if names(n)}
        return [n for n in known if n in chosen]
    items = [names] if isinstance(names, str) else list(names)
    chosen = set()
    known_set = set(known)
    for item in items:
        if not isinstance(item, str):
            raise ConfigError(
                f"hook names must be strings, globs or a predicate, not {type(item).__name__}"
            )
        if item in known_set:
            chosen.add(item)
        elif is_pattern(item):
            hits = fnmatch.filter(known, item)
            if not hits:
                raise UnknownNameError("hook point pattern", item, known)
            chosen.update(hits)
        else:
            raise UnknownNameError("hook point", item, known)
    return [n for n in known if n in chosen]


class HookHandle:
    """Removes one forward hook it stands for; removing twice is harmless."""

    __slots__ = ("_remove",)

    def __init__(self, remove: Callable[[], None]) -> None:
        self._remove: Callable[[], None] | None = remove

    def remove(self) -> None:
        if self._remove is not None:
            self._remove()
            self._remove = None


class ActivationCache(Mapping[str, np.ndarray]):
    """Activations of one forward pass by hook point: ``cache["layers.1"]`` is a NumPy array.

    Arrays have shape ``(batch, *unit_shape)``: ``(n, width)`` after a linear layer,
    ``(n, channels, height, width)`` after a convolution. On the engine they are read-only
    views of the network's own arrays (no copy is made; write to ``cache[name].copy()``).

    Parameters
    ----------
    activations : mapping of str to ndarray
    hook_names : sequence of str
        Every hook point of the model that produced the cache, so that asking for one that was
        not cached says so, and a misspelt name gets close matches.
    """

    def __init__(
        self, activations: Mapping[str, np.ndarray], hook_names: Sequence[str] | None = None
    ) -> None:
        self._data = dict(activations)
        self.hook_names = list(hook_names) if hook_names is not None else list(self._data)

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            pass
        if isinstance(name, str) and name.split(":")[0] in self.hook_names:
            err = UnknownNameError("cached hook point", name, self._data)
            err.args = (f"{err.args[0]}; run_with_cache(x, names=...) chooses what is kept",)
            raise err from None
        raise UnknownNameError("hook point", name, self.hook_names) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, name: object) -> bool:
        return name in self._data

    @property
    def nbytes(self) -> int:
        """Bytes held by the cached arrays."""
        return int(sum(a.nbytes for a in self._data.values()))

    def to_dict(self) -> dict[str, np.ndarray]:
        """A plain dict of (writable) copies."""
        return {k: np.array(v) for k, v in self._data.items()}

    def select(self, names: NameSelector) -> ActivationCache:
        """A cache holding only the chosen entries (same selection rules as ``run_with_cache``)."""
        keep = select_names(list(self._data), names)
        return ActivationCache({k: self._data[k] for k in keep}, self.hook_names)

    def __repr__(self) -> str:
        parts = [f"{k}: {tuple(v.shape)}" for k, v in self._data.items()]
        if len(parts) > _REPR_ENTRIES:  # a deep model: the first entries and a count
            parts = [*parts[: _REPR_ENTRIES - 1], f"... {len(parts) - _REPR_ENTRIES + 1} more"]
        return f"ActivationCache({', '.join(parts)})"

    # -- display (notebooks) -------------------------------------------------------------------
    # The engine imports NumPy only (the lint-imports contract), so the HTML card, the figure
    # and the DataFrame are built by tinylens.viz.activations, loaded on first use by name.

    def table(self) -> dict[str, list[Any]]:
        """One row per cached hook point: ``hook point``, ``shape``, ``mean``, ``std``, ``min``,
        ``max`` and ``fraction > 0`` over all its activations (batch and units)."""
        out: dict[str, list[Any]] = {
            c: [] for c in ("hook point", "shape", "mean", "std", "min", "max", "fraction > 0")
        }
        for name, a in self._data.items():
            v = np.asarray(a, dtype=np.float64)
            empty = v.size == 0
            out["hook point"].append(name)
            out["shape"].append(tuple(int(n) for n in v.shape))
            out["mean"].append(float("nan") if empty else float(v.mean()))
            out["std"].append(float("nan") if empty else float(v.std()))
            out["min"].append(float("nan") if empty else float(v.min()))
            out["max"].append(float("nan") if empty else float(v.max()))
            out["fraction > 0"].append(float("nan") if empty else float((v > 0).mean()))
        return out

    def to_pandas(self) -> Any:
        """:meth:`table` as a ``pandas.DataFrame`` (needs pandas)."""
        return _viz().activations_frame(self.table())

    def plot(self, ax: Any = None) -> Any:
        """Each hook point's range, mean ± sd and fraction above zero; a matplotlib Figure."""
        return _viz().plot_activation_ranges(self.table(), ax=ax)

    def _repr_html_(self) -> str:
        batch = next((int(a.shape[0]) for a in self._data.values() if np.ndim(a)), 0)
        return str(_viz().activations_card(self.table(), batch, self.nbytes))


_REPR_ENTRIES = 8  # a repr lists at most this many hook points


def _viz() -> Any:
    import importlib  # by name: the engine never imports matplotlib (see the note above)

    return importlib.import_module("tinylens.viz.activations")
