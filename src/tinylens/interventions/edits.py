"""The one mechanism behind every intervention: an :class:`Edit` of chosen units at a hook point.

An edit rewrites the activation at hook point ``name`` as

    new[:, units] = scale * old[:, units] + value

where ``units`` index the *unit axis* and every other unit passes through. The unit axis is
axis 1 of a ``(batch, unit)`` activation (neurons of a dense layer) and of a ``(batch, channel,
height, width)`` one (*channels*, the layout of ``nn.Conv2d`` and the engine's ``Conv2d``).
Any other activation names it: ``axis=-1`` for the features of a sequence model's ``(batch,
position, feature)``; without ``axis`` such an edit is refused (:func:`unit_axis`) instead of
silently editing positions. Zero ablation is ``scale=0``; mean ablation ``scale=0,
value=mean``; scaling ``scale=s``; patching ``scale=0, value=clean activations``; steering
``value=alpha * direction`` over all units. The named presets in :mod:`.ablation`,
:mod:`.scaling`, :mod:`.patching` and :mod:`.steering` only fill in these fields.

An edit is a hook function ``edit(activation, name) -> new activation`` (it never writes into
what it is given), and ``edit.hook`` is the ``(name, fn)`` pair ``run_with_hooks`` takes, on
the engine and on torch alike:

>>> import numpy as np
>>> import tinylens as tl
>>> net = tl.MLP([3, 4, 2], rng=0)
>>> x = np.ones((5, 3), dtype=np.float32)
>>> kill = Edit("layers.1", units=[0, 2], scale=0.0, label="zero")
>>> out = net.run_with_hooks(x, [kill.hook])
>>> _, cache = net.run_with_cache(x)
>>> cache["layers.1"][:, [0, 2]].any(), net.n_hooks
(np.True_, 0)

Scoped use: ``with intervene(model, [edit, ...]):`` (every hook removed on exit), or
``run_with_edits(model, x, edits)``. For weights, :func:`edited_copy` folds constant edits into
a new engine network and leaves the original alone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinylens.errors import ConfigError, ShapeError
from tinylens.hooks import hooked
from tinylens.typing import ModelLike

__all__ = [
    "Edit",
    "as_units",
    "edited_copy",
    "intervene",
    "move_units",
    "run_with_edits",
    "unit_axis",
]

Value = Any  # None, a number, an array, or a callable n_samples -> array


def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch")


def _like(value: Any, act: Any) -> Any:
    """``value`` as an array of ``act``'s kind (NumPy, or a tensor of its dtype and device)."""
    if _is_torch(act):
        import torch

        if isinstance(value, torch.Tensor):
            return value.to(dtype=act.dtype, device=act.device)
        arr = np.asarray(value)
        if not arr.flags.writeable:  # a cached activation; torch wants writable memory
            arr = arr.copy()
        return torch.as_tensor(arr, dtype=act.dtype, device=act.device)
    return np.asarray(value, dtype=act.dtype)


def as_units(units: int | Sequence[int] | None) -> tuple[int, ...] | None:
    """``3`` -> (3,), ``[1, 2]`` -> (1, 2), None -> None (every unit)."""
    if units is None:
        return None
    if isinstance(units, (int, np.integer)):
        return (int(units),)
    return tuple(int(u) for u in units)


def unit_axis(axis: int | None, ndim: int, name: str = "") -> int:
    """The unit axis of an activation with ``ndim`` dimensions (batch first), as a positive index.

    ``axis=None`` means axis 1 for 2-D ``(batch, unit)`` and 4-D ``(batch, channel, height,
    width)`` activations; any other rank (a sequence model's ``(batch, position, feature)``)
    must name its axis, since axis 1 there is not a unit.

    >>> unit_axis(None, 2), unit_axis(-1, 3), unit_axis(None, 4)
    (1, 2, 1)
    """
    where = f"{name}: " if name else ""
    if ndim < 2:
        raise ShapeError(f"{where}an activation of {ndim} dimensions has no unit axis")
    if axis is None:
        if ndim in (2, 4):
            return 1
        raise ShapeError(
            f"{where}an activation of {ndim} dimensions has no default unit axis; name it, e.g. "
            "axis=-1 for the features of (batch, position, feature), axis=1 for positions"
        )
    if not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise ShapeError(f"{where}axis {axis!r} is out of range for {ndim} dimensions")
    if axis % ndim == 0:
        raise ShapeError(f"{where}axis 0 is the batch; choose the unit axis (1 to {ndim - 1})")
    return int(axis) % ndim


def move_units(a: Any, axis: int) -> Any:
    """A view of ``a`` with axis ``axis`` moved to position 1 (NumPy or torch)."""
    if axis == 1:
        return a
    return a.movedim(axis, 1) if _is_torch(a) else np.moveaxis(a, axis, 1)


def _per_unit(v: Any, ndim: int) -> Any:
    """A per-unit vector (k,) broadcast over positions: (k, 1, 1) for (n, k, h, w) activations."""
    if getattr(v, "ndim", 0) == 1 and ndim > 2:
        return v.reshape((-1,) + (1,) * (ndim - 2))
    return v


@dataclass(frozen=True, eq=False)
class Edit:
    """``new[:, units] = scale * old[:, units] + value`` at hook point ``name``.

    Parameters
    ----------
    name : str
        The hook point (``"layers.1"``; ``"act:1"`` for the second call of a reused torch module).
    units : sequence of int, optional
        Indices along the unit axis (neurons, or channels of an image activation); None edits
        all.
    scale : float or array of shape (k,)
        Multiplies the selected units (k = number of selected units).
    value : None, float, array or callable
        Added after scaling. A float or shape (k,): per unit (broadcast over samples and
        positions); shape (k, *positions): per unit and position; shape (n, k, ...): per sample
        (the batch must then have n samples); a callable ``value(n)`` returns one of these for a
        batch of n (resample ablation draws there).
    label : str
        What the edit is, for tables and reprs (``"zero"``, ``"mean"``, ``"scale 2"``...).
    axis : int, optional
        The unit axis (see :func:`unit_axis`): None is axis 1 of 2-D and 4-D (image)
        activations and an error for any other rank. Array values are laid out with the unit
        axis moved to position 1 (``(n, k, *other axes)``, or ``(k, *other axes)``).
    """

    name: str
    units: tuple[int, ...] | None = None
    scale: Any = 1.0
    value: Value = None
    label: str = "edit"
    axis: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ConfigError(f"an edit's hook point must be a name, not {self.name!r}")
        if self.units is not None:
            units = np.atleast_1d(np.asarray(self.units))
            if units.ndim != 1 or units.dtype.kind not in "iu" or len(units) == 0:
                raise ConfigError(
                    f"units must be a non-empty list of integer indices, got {self.units!r}"
                )
            if len(set(units.tolist())) != len(units):
                raise ConfigError(f"units must not repeat, got {units.tolist()}")
            object.__setattr__(self, "units", tuple(int(u) for u in units))

    @property
    def hook(self) -> tuple[str, Callable[[Any, str], Any]]:
        """The ``(name, fn)`` pair for ``run_with_hooks`` / ``hooks``."""
        return (self.name, self)

    def _units_first(self, act: Any) -> Any:
        """A view of ``act`` with its unit axis at position 1, its units checked."""
        if act.ndim < 2:
            raise ShapeError(
                f"{self.name}: cannot edit units of an activation of shape {tuple(act.shape)}"
            )
        axis = unit_axis(self.axis, act.ndim, self.name)
        width = act.shape[axis]
        if self.units is not None and (max(self.units) >= width or min(self.units) < -width):
            raise ShapeError(
                f"{self.name} has {width} units along axis {axis}; cannot edit unit "
                f"{max(self.units, key=abs)}"
            )
        return move_units(act, axis)

    def _edited(self, old: Any, act: Any) -> Any:
        """``scale * old + value`` for the selected part ``old`` of ``act``."""
        n = act.shape[0]
        part = old
        scale = self.scale
        if not (np.isscalar(scale) and float(scale) == 1.0):
            part = part * _per_unit(_like(scale, act), act.ndim)
        value = self.value(n) if callable(self.value) else self.value
        if value is not None:
            value = _like(value, act)
            if value.ndim == part.ndim and value.shape[0] != n and value.shape[0] != 1:
                raise ShapeError(
                    f"{self.name}: the edit's values are for {value.shape[0]} samples; the batch "
                    f"has {n} (patch with activations of the same inputs)"
                )
            part = part + _per_unit(value, act.ndim)
        return part

    def __call__(self, act: Any, name: str = "") -> Any:
        self._units_first(act)  # checked before any copy
        idx: Any = slice(None) if self.units is None else list(self.units)
        new = act.clone() if _is_torch(act) else act.copy()
        view = self._units_first(new)  # writes into the view land in ``new``
        view[:, idx] = self._edited(view[:, idx], view)
        return new

    def delta(self, act: Any) -> Any:
        """``new - old`` on the edited units only: shape (n, len(units), ...).

        What a linear layer after the hook point sees change (sweeps use it to update one
        shared product instead of recomputing it per edit).
        """
        if self.units is None:
            raise ConfigError(f"{self!r} edits every unit; its delta is the whole activation")
        act = self._units_first(act)
        if len(self.units) == 1:  # a slice is a view: no gather
            u = self.units[0] % act.shape[1]
            old = act[:, u : u + 1]
        else:
            old = act[:, list(self.units)]
        if self.value is None and np.isscalar(self.scale):  # scaling: one product
            return old * (float(self.scale) - 1.0)
        return self._edited(old, act) - old

    def __repr__(self) -> str:
        units = "all" if self.units is None else list(self.units)
        axis = "" if self.axis is None else f" axis={self.axis}"
        return f"Edit({self.label} {self.name} units={units}{axis})"


@contextlib.contextmanager
def intervene(model: ModelLike, edits: Sequence[Edit]) -> Iterator[Any]:
    """The model with ``edits`` active inside the block (engine or torch); removed on exit.

    Yields ``hooked(model)``; the model itself is never changed.
    """
    h = hooked(model)
    with h.hooks([e.hook for e in edits]):
        yield h


def run_with_edits(model: ModelLike, x: Any, edits: Sequence[Edit]) -> Any:
    """The output of ``x`` with ``edits`` applied for this call only."""
    return hooked(model).run_with_hooks(x, [e.hook for e in edits])


def edited_copy(net: ModelLike, edits: Sequence[Edit]) -> Any:
    """A new engine network computing what ``net`` computes under ``edits``; ``net`` untouched.

    Constant edits (zero, mean, scaling, steering) are folded into weights: an edit of a Linear
    or Conv2d output rescales that layer's rows (and shifts its bias); an edit of another hook
    point (an activation) rescales the columns of the Linear layer right after it. The copy
    can be saved, converted to torch and trained like any network.

    Raises
    ------
    ConfigError
        For per-sample edits (patching, resampling) or a hook point no weight can absorb.
    """
    from tinylens.engine import Conv2d, Linear, Sequential

    if not isinstance(net, Sequential):
        raise ConfigError("edited_copy folds edits into an engine network's weights")
    new = net.copy()
    for e in edits:
        if callable(e.value):
            raise ConfigError(f"{e!r} draws values per batch; it cannot be folded into weights")
        if e.axis not in (None, 1):
            raise ConfigError(f"{e!r} edits axis {e.axis}; only axis 1 folds into weights")
        i = new.index_of(e.name)
        m = new.layers[i]
        if isinstance(m, (Linear, Conv2d)):
            _fold_rows(m, e)
        elif i + 1 < len(new.layers) and isinstance(new.layers[i + 1], Linear):
            _fold_columns(new.layers[i + 1], e)
        else:
            raise ConfigError(
                f"cannot fold an edit of {e.name} ({m.kind}) into weights: edit the output of a "
                "linear or conv layer, or an activation followed by a linear layer"
            )
    return new


def _edit_vectors(e: Edit, width: int, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit (scale, value) vectors over all ``width`` units (identity where unedited)."""
    units = list(range(width)) if e.units is None else list(e.units)
    scale, value = np.ones(width, dtype=np.float64), np.zeros(width, dtype=np.float64)
    s = np.asarray(e.scale, dtype=np.float64)
    v = np.zeros(1) if e.value is None else np.asarray(e.value, dtype=np.float64)
    if s.ndim > 1 or v.ndim > 1 or (v.ndim == 1 and len(v) not in (1, len(units))):
        raise ConfigError(f"{e!r} is not a per-unit constant edit; it cannot be folded")
    scale[units] = s
    value[units] = v
    return scale.astype(dtype), value.astype(dtype)


def _fold_rows(m: Any, e: Edit) -> None:
    width = m.weight.data.shape[0]
    scale, value = _edit_vectors(e, width, m.weight.data.dtype)
    m.weight.data *= scale.reshape((-1,) + (1,) * (m.weight.data.ndim - 1))
    if m.bias is None:
        if np.any(value):
            raise ConfigError(f"{e!r} adds values, but {e.name} has no bias to hold them")
        return
    m.bias.data *= scale
    m.bias.data += value


def _fold_columns(lin: Any, e: Edit) -> None:
    width = lin.weight.data.shape[1]
    scale, value = _edit_vectors(e, width, lin.weight.data.dtype)
    shift = lin.weight.data @ value  # computed with the original columns
    lin.weight.data *= scale
    if lin.bias is None:
        if np.any(shift):
            raise ConfigError(f"{e!r} adds values, but the layer after {e.name} has no bias")
        return
    lin.bias.data += shift
