"""Many networks at once: an MLP with an instance axis, for "train 1000 seeds" experiments.

A :class:`BatchedMLP` holds ``K`` independent MLPs of one architecture. Layer ``l``'s weight is
one array of shape ``(K, out, in)`` and its bias one of shape ``(K, out)``, so a forward or
backward pass over every instance is a handful of batched matrix products instead of ``K``
Python-level passes. The parameters are ordinary :class:`~tinylens.engine.module.Parameter`
objects, and the engine's optimizers update them elementwise: an optimizer built on a
``BatchedMLP`` applies to instance ``k`` exactly the update it would apply to that network
alone (SGD, momentum, Nesterov, Adam, AdamW, RMSProp, Adagrad: every rule in
:mod:`tinylens.engine.optim` is elementwise, with a step count shared by all instances).

Instance ``k`` built from seed ``s`` starts with the weights of ``MLP(sizes, ..., rng=s)``, and
trained on the same data it follows the same trajectory (to rounding: the batched products sum
in another order than a single network's; the tests hold the two to 1e-12 in float64).

Shapes
------
* inputs ``x`` : array of shape (batch, n_inputs), shared by every instance, or of shape
  (K, batch, n_inputs), one batch per instance;
* outputs : array of shape (K, batch, n_outputs);
* per-instance losses : array of shape (K,).

Internally activations are kept as ``(K, features, batch)`` so that the first layer over a
shared batch is one matrix product, ``(K * out, in + 1) @ (in + 1, batch)``, with the bias
folded in as a column; and the instances are processed in chunks that fit in the CPU cache.

>>> import numpy as np
>>> from tinylens.engine import MLP
>>> net = BatchedMLP([2, 3, 1], seeds=[0, 1, 2], bias=False)
>>> net.weights[0].shape
(3, 3, 2)
>>> x = np.random.default_rng(9).uniform(-1, 1, size=(5, 2))
>>> alone = MLP([2, 3, 1], rng=1, bias=False, dtype=np.float64)
>>> bool(np.allclose(net.forward(x)[1], alone.forward(x), rtol=0, atol=1e-12))
True
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from tinylens.engine._batched_passes import (
    backward_chunk,
    forward_chunk,
    one_hidden_relu,
    parallel,
)
from tinylens.engine.activations import ACTIVATIONS
from tinylens.engine.activations import activation as make_activation
from tinylens.engine.affine import AffineNet
from tinylens.engine.init import as_rng, init_affine, resolve_init
from tinylens.engine.layers import Dropout
from tinylens.engine.module import Parameter
from tinylens.engine.network import MLP, Sequential
from tinylens.errors import ConfigError, ShapeError

__all__ = ["BatchedMLP", "default_threads"]

Seed = int | np.random.Generator

# Activations with a batched forward/backward here; every one matches the engine module's.
_BATCHED_ACTIVATIONS = ("relu", "identity", "sigmoid", "tanh", "leaky_relu")

# NOTE: a chunk of instances whose largest activation array holds about this many values
# stays in the L2 cache; one pass over 1000 instances x 1000 samples x 3 units (12 MB in
# float32) does not, and measured 2-3x slower per element.
_CHUNK_VALUES = 1 << 17


def default_threads() -> int:
    """Threads for batched training: ``TINYLENS_THREADS``, else 1.

    NOTE: one thread by default: on the 2-core development machine two threads were no faster.
    The elementwise passes ran 1.5-1.9x faster on two threads, but NumPy's stacked small
    matrix products and einsums hold the GIL (0.75-0.9x on two threads), and they are a
    quarter of the step. Set ``TINYLENS_THREADS`` where more cores pay. Re-measured with the
    work arrays kept for the run (issue 18), on the loaded machine (load average 10): two
    threads 0.91x to 1.03x of one in wall time for 1000 instances, with 6-11% more CPU time;
    ``benchmarks/batched_recover.py --workers 2`` measures it on a quiet one.
    """
    env = os.environ.get("TINYLENS_THREADS")
    if not env:
        return 1
    try:
        return max(1, int(env))
    except ValueError:
        raise ConfigError(f"TINYLENS_THREADS must be an integer, got {env!r}") from None


class BatchedMLP:
    """``K`` independent MLPs ``Linear, act, ..., Linear[, output_act]`` of one architecture.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output, e.g. ``[2, 3, 1]``.
    seeds : sequence of int or numpy.random.Generator
        One per instance (``K = len(seeds)``). Instance ``k`` gets the initial weights
        ``MLP(sizes, activation, output_activation, rng=seeds[k], init=init, bias=bias)``
        would get.
    activation, output_activation : str
        Hidden and output activations: relu, identity, sigmoid, tanh or leaky_relu.
    init : str
        A scheme of :mod:`tinylens.engine.init` (``"auto"``: He for ReLU, Xavier otherwise).
    bias : bool
        Whether the layers have biases (the sources' 1-2-1 and 2-2-1 circuits have none).
    dtype : numpy dtype
        float64 (default) or float32.
    input_names : sequence of str, optional
    threads : int, optional
        Worker threads for training (instances are split between them; the results do not
        depend on it). Default: :func:`default_threads`.

    Attributes
    ----------
    weights : list of Parameter
        ``weights[l].data`` has shape (K, sizes[l + 1], sizes[l]).
    biases : list of Parameter or None
        ``biases[l].data`` has shape (K, sizes[l + 1]); None without bias.
    diverged_ : array of bool, shape (K,)
        Instances that training stopped because their loss became non-finite or exploded
        (see :mod:`tinylens.training.batched`); their weights are set to zero and frozen.
    diverged_step_ : array of int, shape (K,)
        The training step at which each instance diverged, -1 if it did not.
    """

    kind = "batched_mlp"

    def __init__(
        self,
        sizes: Sequence[int],
        seeds: Sequence[Seed],
        activation: str = "relu",
        output_activation: str = "identity",
        *,
        init: str = "auto",
        bias: bool = True,
        dtype: np.dtype | type = np.float64,
        input_names: Sequence[str] | None = None,
        threads: int | None = None,
    ) -> None:
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ConfigError(f"sizes must be at least two positive widths, got {sizes}")
        seeds = list(seeds)
        if not seeds:
            raise ConfigError("a batched MLP needs at least one seed (one per instance)")
        for name in (activation, output_activation):
            if name not in _BATCHED_ACTIVATIONS:
                if name not in ACTIVATIONS:
                    make_activation(name)  # raises UnknownNameError with suggestions
                raise ConfigError(
                    f"activation {name!r} is not batched; use one of "
                    f"{', '.join(_BATCHED_ACTIVATIONS)}"
                )
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64, got {self.dtype}")
        self.sizes = sizes
        self.activation, self.output_activation = activation, output_activation
        self.init, self.bias = init, bool(bias)
        self.input_names = tuple(input_names) if input_names is not None else None
        K, n_layers = len(seeds), len(sizes) - 1
        schemes = [
            resolve_init(init, activation if i < n_layers - 1 else output_activation)
            for i in range(n_layers)
        ]
        ws = [np.empty((K, sizes[i + 1], sizes[i])) for i in range(n_layers)]
        bs = [np.empty((K, sizes[i + 1])) for i in range(n_layers)]
        for k, seed in enumerate(seeds):
            gen = as_rng(seed)
            # The same draws, in the same order, as MLP -> Linear -> init_affine.
            for i in range(n_layers):
                ws[i][k], bs[i][k] = init_affine(gen, sizes[i], sizes[i + 1], schemes[i])
        self.weights = [Parameter(w.astype(self.dtype), "weight") for w in ws]
        self.biases = [Parameter(b.astype(self.dtype), "bias") for b in bs] if bias else None
        self.diverged_ = np.zeros(K, dtype=bool)
        self.diverged_step_ = np.full(K, -1, dtype=np.int64)
        self.threads = _check_threads(threads)

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def from_networks(cls, nets: Sequence[Sequential]) -> BatchedMLP:
        """Stack engine MLPs of one architecture (``Linear, act, ..., Linear[, act]``)."""
        nets = list(nets)
        if not nets:
            raise ConfigError("from_networks needs at least one network")
        first = nets[0]
        acts = _mlp_activations(first)
        lins = first.linears
        has_bias = lins[0].bias is not None
        out = cls.__new__(cls)
        out.dtype = np.dtype(first.dtype)
        out.sizes = list(first.sizes)
        out.activation = acts[0] if len(acts) > 1 else "relu"
        out.output_activation = acts[-1]
        out.init, out.bias = "auto", has_bias
        out.input_names = first.input_names
        for i, net in enumerate(nets):
            if net.sizes != out.sizes or _mlp_activations(net) != acts or net.dtype != out.dtype:
                raise ShapeError(
                    f"network {i} is {net.sizes} {_mlp_activations(net)} {net.dtype}; network 0 "
                    f"is {out.sizes} {acts} {out.dtype}: batched networks must share all three"
                )
            if any((m.bias is not None) != has_bias for m in net.linears):
                raise ShapeError(f"network {i} differs from network 0 in which layers have bias")
        if len(set(acts[:-1])) > 1:
            raise ConfigError(f"hidden activations must all be the same, got {acts[:-1]}")
        out.weights = [
            Parameter(np.stack([n.linears[i].weight.data for n in nets]), "weight")
            for i in range(len(lins))
        ]
        out.biases = (
            [
                Parameter(np.stack([n.linears[i].bias.data for n in nets]), "bias")  # type: ignore[union-attr]
                for i in range(len(lins))
            ]
            if has_bias
            else None
        )
        out.diverged_ = np.zeros(len(nets), dtype=bool)
        out.diverged_step_ = np.full(len(nets), -1, dtype=np.int64)
        out.threads = _check_threads(None)
        return out

    def __getstate__(self) -> dict:
        # Scratch arrays (see _batched_passes) are not state: a pickled network leaves them behind.
        state = dict(self.__dict__)
        state.pop("_spaces", None)
        return state

    # -- structure --------------------------------------------------------------------------------
    @property
    def n_instances(self) -> int:
        return int(self.weights[0].data.shape[0])

    def __len__(self) -> int:
        return self.n_instances

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @property
    def in_features(self) -> int:
        return self.sizes[0]

    @property
    def out_features(self) -> int:
        return self.sizes[-1]

    def layer_activation(self, i: int) -> str:
        return self.activation if i < self.n_layers - 1 else self.output_activation

    def parameters(self) -> list[Parameter]:
        """Weights and biases in the order of an engine MLP's ``parameters()``."""
        out: list[Parameter] = []
        for i, w in enumerate(self.weights):
            out.append(w)
            if self.biases is not None:
                out.append(self.biases[i])
        return out

    def _module_names(self) -> list[str]:
        """``layers.{j}`` of each Linear in the equivalent engine MLP (activations count too)."""
        names, j = [], 0
        for i in range(self.n_layers):
            names.append(f"layers.{j}")
            j += 1 if self.layer_activation(i) == "identity" and i == self.n_layers - 1 else 2
        return names

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter, keyed as the single MLP's, with a leading instance axis."""
        out: dict[str, np.ndarray] = {}
        for i, name in enumerate(self._module_names()):
            out[f"{name}.weight"] = self.weights[i].data.copy()
            if self.biases is not None:
                out[f"{name}.bias"] = self.biases[i].data.copy()
        out["diverged_step_"] = self.diverged_step_.copy()
        return out

    def load_state_dict(self, state: dict[str, np.ndarray]) -> BatchedMLP:
        own = self.state_dict()
        missing, extra = set(own) - set(state), set(state) - set(own)
        if missing or extra:
            raise ConfigError(
                f"state does not fit this batched network: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        for i, name in enumerate(self._module_names()):
            params = [(f"{name}.weight", self.weights[i])]
            if self.biases is not None:
                params.append((f"{name}.bias", self.biases[i]))
            for key, p in params:
                value = np.asarray(state[key])
                if value.shape != p.data.shape:
                    raise ShapeError(f"{key}: got shape {value.shape}, expected {p.data.shape}")
                p.data[...] = value
        self.diverged_step_ = np.asarray(state["diverged_step_"], dtype=np.int64).copy()
        self.diverged_ = self.diverged_step_ >= 0
        return self

    def instance(self, k: int) -> Sequential:
        """Instance ``k`` as an independent engine :class:`~tinylens.engine.Sequential`."""
        K = self.n_instances
        if not -K <= k < K:
            raise ConfigError(f"instance {k} does not exist; there are {K} (0..{K - 1})")
        net = MLP(
            self.sizes,
            self.activation,
            self.output_activation,
            bias=self.bias,
            dtype=self.dtype,
            input_names=self.input_names,
        )
        net.load_state_dict(
            {name: value[k] for name, value in self.state_dict().items() if name.startswith("l")}
        )
        return net

    def select(self, index: Sequence[int] | np.ndarray) -> BatchedMLP:
        """A new batched network holding copies of the instances ``index`` (ints or a mask)."""
        idx = np.arange(self.n_instances)[np.asarray(index)]
        out = self.copy()
        for p in out.parameters():
            p.data = p.data[idx].copy()
            p.grad = np.zeros_like(p.data)
        out.diverged_ = self.diverged_[idx].copy()
        out.diverged_step_ = self.diverged_step_[idx].copy()
        return out

    def copy(self) -> BatchedMLP:
        out = self.__class__.__new__(self.__class__)
        out.__dict__.update(self.__dict__)
        out.__dict__.pop("_spaces", None)  # scratch arrays are per network
        out.weights = [Parameter(w.data.copy(), "weight") for w in self.weights]
        out.biases = (
            [Parameter(b.data.copy(), "bias") for b in self.biases] if self.biases else None
        )
        out.diverged_ = self.diverged_.copy()
        out.diverged_step_ = self.diverged_step_.copy()
        return out

    def astype(self, dtype: np.dtype | type) -> BatchedMLP:
        out = self.copy()
        for p in out.parameters():
            p.data = p.data.astype(dtype)
            p.grad = np.zeros_like(p.data)
        out.dtype = np.dtype(dtype)
        return out

    def __repr__(self) -> str:
        arch = "-".join(map(str, self.sizes))
        return (
            f"BatchedMLP({self.n_instances} x {arch}, {self.activation}/{self.output_activation}"
            f", bias={self.bias}, {self.dtype})"
        )

    # -- computation ------------------------------------------------------------------------------
    def _check_x(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        n_in, K = self.sizes[0], self.n_instances
        if x.ndim == 2 and x.shape[1] == n_in:
            return x.astype(self.dtype, copy=False)
        if x.ndim == 3 and x.shape[0] == K and x.shape[2] == n_in:
            return x.astype(self.dtype, copy=False)
        raise ShapeError(
            f"input has shape {x.shape}; a batched network of {K} instances with {n_in} inputs "
            f"takes (batch, {n_in}) shared by all, or ({K}, batch, {n_in})"
        )

    def _chunks(self, batch: int) -> list[slice]:
        K = self.n_instances
        per_instance = max(self.sizes) * max(batch, 1)
        step = max(1, min(K, _CHUNK_VALUES // per_instance))
        return [slice(k, min(k + step, K)) for k in range(0, K, step)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs of every instance: array of shape (K, batch, n_outputs)."""
        x = self._check_x(x)
        out = np.empty((self.n_instances, self.sizes[-1], x.shape[-2]), dtype=self.dtype)
        for sl in self._chunks(x.shape[-2]):
            out[sl] = self._forward_chunk(x, sl, keep=False)[-1][0]
        return out.transpose(0, 2, 1)

    __call__ = forward

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Same as :meth:`forward` (there is no dropout to switch off)."""
        return self.forward(x)

    def loss(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Mean squared error of each instance on ``(x, y)``: array of shape (K,).

        ``y`` : array of shape (batch, n_outputs) (or (batch,) for one output), shared, or
        (K, batch, n_outputs).
        """
        x = self._check_x(x)
        yT = self._targets(y, x.shape[-2])
        out = np.empty(self.n_instances, dtype=np.float64)
        for sl in self._chunks(x.shape[-2]):
            pred = self._forward_chunk(x, sl, keep=False)[-1][0]
            diff = pred - (yT if yT.ndim == 2 else yT[sl])
            out[sl] = np.einsum("kob,kob->k", diff, diff) / diff[0].size
        return out

    def loss_and_grad(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-instance MSE losses, shape (K,), and their gradients written into every
        ``Parameter.grad`` (overwritten, as in the engine): instance ``k``'s gradient is the
        gradient of its own mean loss, so one optimizer step trains all instances independently.

        ``x`` : array of shape (batch, n_inputs) or (K, batch, n_inputs); ``y`` : array of shape
        (batch, n_outputs) or (K, batch, n_outputs).
        """
        x = self._check_x(x)
        batch = x.shape[-2]
        yT = self._targets(y, batch)
        losses = np.empty(self.n_instances, dtype=np.float64)
        scale = self.dtype.type(2.0 / (batch * self.sizes[-1]))
        chunks = self._chunks(batch)
        if (
            x.ndim == 2
            and yT.ndim == 2
            and self.n_layers == 2
            and self.activation == "relu"
            and self.output_activation == "identity"
        ):
            self._one_hidden_relu(x, yT, chunks, losses, scale)
            return losses
        for sl in chunks:
            trace = self._forward_chunk(x, sl, keep=True)
            pred = trace[-1][0]
            diff = pred - (yT if yT.ndim == 2 else yT[sl])
            losses[sl] = np.einsum("kob,kob->k", diff, diff) / diff[0].size
            self._backward_chunk(x, sl, trace, diff * scale)
        return losses

    _parallel = parallel

    def _targets(self, y: np.ndarray, batch: int) -> np.ndarray:
        """Targets as (n_out, batch) shared or (K, n_out, batch) per instance; shape-checked."""
        y = np.asarray(y)
        n_out, K = self.sizes[-1], self.n_instances
        if y.ndim == 1 and n_out == 1 and y.shape[0] == batch:
            y = y.reshape(-1, 1)
        if y.ndim == 2 and y.shape == (batch, n_out):
            return np.ascontiguousarray(y.T, dtype=self.dtype)
        if y.ndim == 3 and y.shape == (K, batch, n_out):
            return np.ascontiguousarray(y.transpose(0, 2, 1), dtype=self.dtype)
        raise ShapeError(
            f"targets have shape {y.shape}; expected ({batch}, {n_out}) shared by all instances "
            f"or ({K}, {batch}, {n_out})"
        )

    _one_hidden_relu = one_hidden_relu
    _forward_chunk = forward_chunk
    _backward_chunk = backward_chunk


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads!r}")
    return int(threads)


def _mlp_activations(net: Sequential) -> list[str]:
    """One activation per Linear of a plain MLP (``identity`` for a linear output).

    The neutral affine view does the walk (and rejects LayerNorm and activations with
    parameters); dropout it skips, as inference may, but a batched MLP cannot apply it.
    """
    if any(isinstance(m, Dropout) for m in net.layers):
        raise ConfigError("a batched MLP has no dropout; stack networks without Dropout layers")
    acts = AffineNet.from_module(net).activations
    for name in acts:
        if name not in _BATCHED_ACTIVATIONS:
            raise ConfigError(
                f"activation {name!r} is not batched; use one of {', '.join(_BATCHED_ACTIVATIONS)}"
            )
    return acts
