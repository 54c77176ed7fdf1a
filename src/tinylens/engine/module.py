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

__all__ = ["Module", "Parameter"]


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
