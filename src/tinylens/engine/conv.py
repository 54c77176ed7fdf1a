"""Convolution, max pooling and unflattening: the layers of a small CNN, in NumPy.

Shapes and semantics follow ``torch.nn``: images are ``(batch, channels, height, width)``
(NCHW); a convolution's weight is ``[out_channels, in_channels, kh, kw]``; output sizes use
floor division, ``out = (size + 2 * padding - kernel) // stride + 1``; max pooling routes the
gradient to the first maximum of each window (row-major), as PyTorch's CPU kernel does.

>>> import numpy as np
>>> conv = Conv2d(1, 2, 3, padding=1, rng=np.random.default_rng(0))
>>> pool = MaxPool2d(2)
>>> x = np.ones((4, 1, 6, 6), dtype=np.float32)
>>> pool.forward(conv.forward(x)).shape
(4, 2, 3, 3)
>>> Unflatten((1, 6, 6)).forward(np.zeros((4, 36))).shape
(4, 1, 6, 6)

Convolution is computed by *im2col*: every receptive field becomes a row of a matrix, and the
convolution is one matrix product with the flattened kernels. The rows are built in chunks of
samples so that a batch of 10,000 MNIST images never needs gigabytes of scratch memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinylens.engine.init import as_rng, init_affine
from tinylens.engine.module import Module, Parameter
from tinylens.errors import ConfigError, ShapeError

__all__ = ["Conv2d", "MaxPool2d", "Unflatten", "conv_output_size"]

_CHUNK_ELEMENTS = 1 << 20
"""Largest im2col block built at once (1M entries, 4 MB in float32): it stays in cache, and
each matrix product is still large enough to run at BLAS speed."""


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        items = tuple(int(v) for v in value)
        if len(items) != 2:
            raise ConfigError(f"{what} must be an int or a pair of ints, got {value!r}")
        pair = (items[0], items[1])
    return pair


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length along one axis: ``(size + 2 * padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def _check_image(module: Module, x: np.ndarray, channels: int) -> None:
    if x.ndim != 4 or x.shape[1] != channels:
        raise ShapeError(
            f"{module.name}: input has shape {x.shape}; expected (batch, {channels}, height, "
            "width) images"
        )


class Conv2d(Module):
    """2-D convolution (cross-correlation, as ``torch.nn.Conv2d``) with stride and zero padding.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int)
    padding : int or (int, int)
        Zeros added on each side of the height and width axes.
    bias : bool
    rng : numpy.random.Generator or int, optional
        Source of the initial weights; without one, weights start at zero (for loading).
    init : str
        A scheme of :mod:`tinylens.engine.init`, applied to the ``[out, in * kh * kw]`` matrix
        view of the kernels (``he`` uses fan_in = in_channels * kh * kw, as torch's Kaiming).
    dtype : numpy dtype

    Attributes
    ----------
    weight : Parameter of shape (out_channels, in_channels, kh, kw)
    bias : Parameter of shape (out_channels,) or None
    """

    kind = "conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        bias: bool = True,
        rng: np.random.Generator | int | None = None,
        init: str = "he",
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if self.in_channels < 1 or self.out_channels < 1:
            raise ConfigError(
                f"a convolution needs at least one input and one output channel, got "
                f"{in_channels} -> {out_channels}"
            )
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(
                f"conv2d needs kernel_size >= 1, stride >= 1 and padding >= 0, got "
                f"{self.kernel_size}, {self.stride}, {self.padding}"
            )
        kh, kw = self.kernel_size
        fan_in = self.in_channels * kh * kw
        shape = (self.out_channels, self.in_channels, kh, kw)
        if rng is not None:
            w, b = init_affine(as_rng(rng), fan_in, self.out_channels, init)
        else:
            w, b = np.zeros((self.out_channels, fan_in)), np.zeros(self.out_channels)
        self.weight = Parameter(np.ascontiguousarray(w.reshape(shape), dtype=dtype), "weight")
        self.bias = Parameter(b.astype(dtype), "bias") if bias else None

    # -- shapes ---------------------------------------------------------------------------------
    def output_hw(self, height: int, width: int) -> tuple[int, int]:
        """Output (height, width) for an input of (height, width)."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return conv_output_size(height, kh, sh, ph), conv_output_size(width, kw, sw, pw)

    def _padded(self, x: np.ndarray) -> np.ndarray:
        ph, pw = self.padding
        if ph == 0 and pw == 0:
            return x
        return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

    def _cols(self, xp: np.ndarray, oh: int, ow: int, out: np.ndarray) -> np.ndarray:
        """im2col of padded images ``xp`` into ``out``: shape (n, c * kh * kw, oh * ow).

        Row ``c * kh * kw + i * kw + j`` of sample n holds the pixels that kernel entry
        ``[c, i, j]`` multiplies, over every output position: one strided copy per kernel
        offset, and the convolution becomes one (batched) matrix product.
        """
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        n = len(xp)
        cols = out[:n]
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
        return cols.reshape(n, -1, oh * ow)

    def _scratch(self, n: int, oh: int, ow: int, dtype: np.dtype) -> np.ndarray:
        kh, kw = self.kernel_size
        per_sample = self.in_channels * kh * kw * oh * ow
        step = max(1, min(n, _CHUNK_ELEMENTS // max(per_sample, 1)))
        return np.empty((step, self.in_channels, kh, kw, oh, ow), dtype=dtype)

    # -- the protocol ---------------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        _check_image(self, x, self.in_channels)
        n, _, h, w = x.shape
        oh, ow = self.output_hw(h, w)
        if oh < 1 or ow < 1:
            raise ShapeError(
                f"{self.name}: images of {h}x{w} are smaller than the {self.kernel_size} kernel"
            )
        xp = self._padded(x)
        self._xp, self._hw = xp, (h, w)
        wmat = self.weight.data.reshape(self.out_channels, -1)  # (out, c * kh * kw)
        dtype = np.result_type(x, wmat)
        out = np.empty((n, self.out_channels, oh * ow), dtype=dtype)
        scratch = self._scratch(n, oh, ow, dtype)
        step = len(scratch)
        # NOTE: chunks of about a million entries: a full-batch im2col of 10,000 MNIST images
        # would take 280 MB and run slower (page faults) than these cache-friendly pieces.
        for s in range(0, n, step):
            cols = self._cols(xp[s : s + step], oh, ow, scratch)
            np.matmul(wmat, cols, out=out[s : s + step])
        if self.bias is not None:
            out += self.bias.data[:, None]
        return out.reshape(n, self.out_channels, oh, ow)

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        xp = self._xp
        n = len(xp)
        oh, ow = grad_out.shape[2], grad_out.shape[3]
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        g = np.ascontiguousarray(grad_out).reshape(n, self.out_channels, oh * ow)
        if self.bias is not None:
            self.bias.grad[...] = g.sum(axis=(0, 2))
        wmat = self.weight.data.reshape(self.out_channels, -1)  # (out, c * kh * kw)
        dw = np.zeros(wmat.shape, dtype=g.dtype)
        dxp = np.zeros(xp.shape, dtype=g.dtype) if need_input_grad else None
        scratch = self._scratch(n, oh, ow, g.dtype)
        step = len(scratch)
        for s in range(0, n, step):
            gpart = g[s : s + step]
            cols = self._cols(xp[s : s + step], oh, ow, scratch)
            dw += np.tensordot(gpart, cols, axes=([0, 2], [0, 2]))
            if dxp is not None:
                # col2im: add each kernel offset's share back onto the pixels it read.
                dcols = np.matmul(wmat.T, gpart).reshape(-1, self.in_channels, kh, kw, oh, ow)
                target = dxp[s : s + step]
                for i in range(kh):
                    for j in range(kw):
                        target[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += dcols[
                            :, :, i, j
                        ]
        self.weight.grad[...] = dw.reshape(self.weight.grad.shape)
        if dxp is None:
            return None
        h, w = self._hw
        return dxp[:, :, ph : ph + h, pw : pw + w]

    def parameters(self) -> list[Parameter]:
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def config(self) -> dict[str, object]:
        return {
            "type": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "bias": self.bias is not None,
        }

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels} -> {self.out_channels}, kernel={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, bias={self.bias is not None}"
        )


class MaxPool2d(Module):
    """Max over ``kernel_size`` windows moved by ``stride`` (default: the kernel size).

    Padding adds -inf borders, as in ``torch.nn.MaxPool2d`` (at most half the kernel).
    """

    kind = "maxpool2d"

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
    ) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride if stride is not None else kernel_size, "stride")
        self.padding = _pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ConfigError(
                f"maxpool2d needs kernel_size >= 1, stride >= 1 and padding >= 0, got "
                f"{self.kernel_size}, {self.stride}, {self.padding}"
            )
        if any(2 * p > k for p, k in zip(self.padding, self.kernel_size, strict=True)):
            raise ConfigError(
                f"maxpool2d padding {self.padding} must be at most half the kernel "
                f"{self.kernel_size}"
            )

    def output_hw(self, height: int, width: int) -> tuple[int, int]:
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return conv_output_size(height, kh, sh, ph), conv_output_size(width, kw, sw, pw)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4:
            raise ShapeError(
                f"{self.name}: input has shape {x.shape}; expected (batch, channels, height, width)"
            )
        h, w = x.shape[2], x.shape[3]
        oh, ow = self.output_hw(h, w)
        if oh < 1 or ow < 1:
            raise ShapeError(f"{self.name}: images of {h}x{w} are smaller than the pool window")
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        xp = x
        if ph or pw:
            xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
        # One strided slice per window offset: a running maximum over kh * kw slices is much
        # faster than reducing a (..., kh * kw) copy of every window.
        slices = [
            xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw]
            for i in range(kh)
            for j in range(kw)
        ]
        out = slices[0].copy()
        for part in slices[1:]:
            np.maximum(out, part, out=out)
        # Only references are kept: the backward finds the winners, so inference pays nothing.
        self._xp, self._out, self._in_shape = xp, out, x.shape
        return out

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        if not need_input_grad:
            return None
        n, c, h, w = self._in_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        oh, ow = grad_out.shape[2], grad_out.shape[3]
        xp, out = self._xp, self._out
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=grad_out.dtype)
        # The gradient goes to the FIRST maximum of each window in row-major order (PyTorch's
        # choice), so a window whose maximum is tied is counted once.
        taken = np.zeros(out.shape, dtype=bool)
        for i in range(kh):
            for j in range(kw):
                hit = xp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] == out
                hit &= ~taken
                taken |= hit
                # Windows may overlap (stride < kernel): accumulate, never assign.
                dxp[:, :, i : i + sh * oh : sh, j : j + sw * ow : sw] += grad_out * hit
        return dxp[:, :, ph : ph + h, pw : pw + w]

    def config(self) -> dict[str, object]:
        return {
            "type": self.kind,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }

    def extra_repr(self) -> str:
        return f"kernel={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Unflatten(Module):
    """Reshape ``(batch, prod(shape))`` to ``(batch, *shape)``, e.g. 784 -> (1, 28, 28).

    With it first, a CNN takes the flat ``(n, 784)`` rows a :class:`~tinylens.data.Dataset`
    holds, so ``fit`` and every tool that feeds datasets work unchanged.
    Its torch twin is ``nn.Unflatten(1, shape)``.
    """

    kind = "unflatten"

    def __init__(self, shape: Sequence[int]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)
        if not self.shape or min(self.shape) < 1:
            raise ConfigError(f"unflatten needs a shape of positive sizes, got {shape!r}")
        self.size = math.prod(self.shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.size:
            dims = "x".join(map(str, self.shape))
            raise ShapeError(
                f"{self.name}: input has shape {x.shape}; expected (batch, {self.size}), i.e. "
                f"{dims} images flattened"
            )
        return x.reshape(len(x), *self.shape)

    def backward(self, grad_out: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        return grad_out.reshape(len(grad_out), self.size) if need_input_grad else None

    def config(self) -> dict[str, object]:
        return {"type": self.kind, "shape": list(self.shape)}

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
