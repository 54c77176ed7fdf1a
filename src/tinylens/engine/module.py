"""Parameters and the module protocol every engine layer follows.

A :class:`Module` maps an input batch to an output batch (``forward``) and a gradient with
respect to its output back to a gradient with respect to its input (``backward``), writing the
gradients of its own parameters into ``Parameter.grad`` *in place*.

Why in place: an optimizer holds references to the ``Parameter`` objects and reads ``.grad``
at every step. A backward that rebinds ``self.grad = new_array`` on some other object the
optimizer captured earlier leaves the optimizer reading stale zeros, and the network never
learns (one of our source projects had exactly that bug). Writing into the same array, and
reading it through the ``Parameter``, makes that class of bug impossible.

Gradients are overwritten by each backward, not accumulated as in PyTorch; there is no
``zero_grad``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

__all__ = ["FlatParameters", "Module", "Parameter"]


class Parameter:
    """A trainable array and its gradient, both of the same shape and dtype.

    Parameters
    ----------
    data : ndarray
        The values. Linear weights are stored ``[out, in]`` (as in ``torch.nn.Linear``), laid out
        in Fortran order in memory so that ``x @ W.T`` and ``g.T @ x`` run on contiguous data.
    name : str
        The parameter's name within its module (``"weight"``, ``"bias"``).
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: np.ndarray, name: str) -> None:
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def assign(self, values: np.ndarray) -> None:
        """Copy ``values`` into the parameter (same shape), keeping the array object."""
        values = np.asarray(values)
        if values.shape != self.data.shape:
            raise ValueError(f"{self.name}: got shape {values.shape}, expected {self.data.shape}")
        self.data[...] = values

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.shape}, dtype={self.data.dtype})"


class FlatParameters:
    """Every parameter's values, and every gradient, as views into one contiguous buffer each.

    With this layout an optimizer updates all parameters in one vectorised pass over
    :attr:`data` and :attr:`grad` instead of a Python loop over the parameters (issue 18),
    while everything else (state dicts, snapshots, checkpoints, torch conversion, the layers'
    ``out=`` gradients) still sees one array per parameter: ``p.data`` and ``p.grad`` are
    views, so writing into one writes into the buffer. Each view keeps its parameter's shape
    and memory order (Linear weights stay in Fortran order), so every product reads the same
    strides as before and gives the same bits.

    Build it with :meth:`of` (reuses a layout already in place) or :meth:`find` (detects one,
    never rebinds).

    >>> a, b = Parameter(np.ones((2, 3)), "weight"), Parameter(np.zeros(2), "bias")
    >>> flat = FlatParameters.of([a, b])
    >>> flat.data.shape, flat.intact()
    ((8,), True)
    >>> flat.data[:] = 7.0
    >>> float(a.data[1, 2]), float(b.data[0])
    (7.0, 7.0)
    >>> FlatParameters.find([a, b]) is not None
    True
    """

    def __init__(self, params: list[Parameter], data: np.ndarray, grad: np.ndarray) -> None:
        self.params = params
        self.data, self.grad = data, grad
        self._views = [(p, p.data, p.grad) for p in params]

    def intact(self) -> bool:
        """True while every ``p.data`` and ``p.grad`` is still this buffer's view (code that
        rebinds one, e.g. ``p.data = new_array``, ends the shared layout)."""
        # NOTE: a plain loop, not all() over a generator: ~3x faster, and this runs every step
        for p, d, g in self._views:  # noqa: SIM110
            if p.data is not d or p.grad is not g:
                return False
        return True

    def views_of(self, buffer: np.ndarray) -> list[np.ndarray]:
        """Per-parameter views into ``buffer`` (1-D, the size of :attr:`data`), each with its
        parameter's shape and memory order: how an optimizer keeps its flat state."""
        views, offset = [], 0
        for p in self.params:
            size = p.data.size
            views.append(_view_like(buffer[offset : offset + size], p.data.shape, _fortran(p.data)))
            offset += size
        return views

    @classmethod
    def find(cls, params: list[Parameter]) -> FlatParameters | None:
        """The shared layout of ``params`` if their arrays already are consecutive views into
        one data and one gradient buffer, in this order; else None. Rebinds nothing."""
        if not params:
            return None
        data, grad = params[0].data.base, params[0].grad.base
        if not (isinstance(data, np.ndarray) and isinstance(grad, np.ndarray)):
            return None
        if not (_is_flat_buffer(data) and _is_flat_buffer(grad)) or data.size != grad.size:
            return None
        offset = 0
        for p in params:
            size = p.data.size
            if (
                not (_is_view_at(p.data, data, offset) and _is_view_at(p.grad, grad, offset))
                or p.grad.shape != p.data.shape
            ):
                return None
            offset += size
        return cls(list(params), data, grad) if offset == data.size else None

    @classmethod
    def of(cls, params: list[Parameter]) -> FlatParameters | None:
        """Lay ``params`` out in one buffer (values and gradients copied, ``p.data`` and
        ``p.grad`` rebound to views), or reuse the layout already there. None when the
        parameters differ in dtype or one appears twice: they keep their own arrays."""
        params = list(params)
        found = cls.find(params)
        if found is not None:
            return found
        if not params or len({id(p) for p in params}) != len(params):
            return None
        dtype = params[0].data.dtype
        if any(p.data.dtype != dtype or p.grad.dtype != dtype for p in params):
            return None
        total = sum(p.data.size for p in params)
        data, grad = np.empty(total, dtype=dtype), np.empty(total, dtype=dtype)
        offset = 0
        for p in params:
            size = p.data.size
            fortran = _fortran(p.data)
            new_data = _view_like(data[offset : offset + size], p.data.shape, fortran)
            new_grad = _view_like(grad[offset : offset + size], p.data.shape, fortran)
            new_data[...] = p.data
            new_grad[...] = p.grad
            p.data, p.grad = new_data, new_grad
            offset += size
        return cls(params, data, grad)


def _view_like(chunk: np.ndarray, shape: tuple[int, ...], fortran: bool) -> np.ndarray:
    """``chunk`` (1-D) viewed with ``shape``, in Fortran order when ``fortran``."""
    return chunk.reshape(shape[::-1]).T if fortran else chunk.reshape(shape)


def _fortran(a: np.ndarray) -> bool:
    return a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous


def _is_flat_buffer(base: np.ndarray) -> bool:
    return base.ndim == 1 and base.flags.c_contiguous


def _is_view_at(view: np.ndarray, base: np.ndarray, offset: int) -> bool:
    """True when ``view`` is a contiguous (C or Fortran) view of ``base[offset:offset+size]``."""
    if view.base is not base or not (view.flags.c_contiguous or view.flags.f_contiguous):
        return False
    start = view.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return start == offset * base.itemsize


class Module:
    """Base class of engine layers and activations.

    Attributes
    ----------
    name : str
        A stable name; inside a :class:`~tinylens.engine.Sequential` it is the module's path
        (``"layers.0"``), which is also its hook point and its path in the converted torch model.
    kind : str
        A short type tag used in weights files and reprs (``"linear"``, ``"relu"``, ...).
    training : bool
        Training mode (dropout active) or evaluation mode.
    """

    kind: str = "module"

    def __init__(self) -> None:
        self.name = self.kind
        self.training = True

    # -- the protocol -------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Gradient w.r.t. the input of the last ``forward``; parameter grads filled in place.

        ``need_input_grad=False`` lets the first layer skip the (large) input gradient.
        """
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def extra_repr(self) -> str:
        return ""

    # -- conveniences ---------------------------------------------------------------------------
    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        for p in self.parameters():
            yield p.name, p

    def train(self, mode: bool = True) -> Module:
        self.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def config(self) -> dict[str, object]:
        """The constructor arguments that rebuild this module (without its parameter values)."""
        return {"type": self.kind}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"
