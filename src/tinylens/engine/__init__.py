"""The tinylens NumPy engine: layers, activations, losses, optimizers and networks, from scratch.

Only NumPy is imported here (never torch), so this package can be read, and run, on its own.

>>> import numpy as np
>>> from tinylens.engine import MLP, make_optimizer, loss_fn
>>> rng = np.random.default_rng(0)
>>> net = MLP([1, 8, 1], rng=rng)
>>> opt, mse = make_optimizer("adam", net.parameters(), lr=0.05), loss_fn("mse")
>>> x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(-1, 1)
>>> first = mse.forward(net.forward(x), np.abs(x))
>>> for _ in range(200):
...     _ = mse.forward(net.forward(x), np.abs(x))
...     _ = net.backward(mse.backward())
...     opt.step()
>>> mse.forward(net.forward(x), np.abs(x)) < first / 10
True
"""

from tinylens.engine.activations import (
    ACTIVATIONS,
    GELU,
    Identity,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    activation,
    sigmoid,
    softmax,
)
from tinylens.engine.affine import AffineLayer, AffineNet
from tinylens.engine.batched import BatchedMLP
from tinylens.engine.conv import Conv2d, MaxPool2d, Unflatten
from tinylens.engine.gradcheck import GradcheckResult, gradcheck, numerical_gradient
from tinylens.engine.hooks import ActivationCache, HookHandle, select_names
from tinylens.engine.init import as_rng
from tinylens.engine.layers import Dropout, Flatten, LayerNorm, Linear
from tinylens.engine.losses import (
    LOSSES,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Loss,
    MSELoss,
    loss_fn,
)
from tinylens.engine.module import Module, Parameter
from tinylens.engine.network import MLP, MODULE_TYPES, Sequential, build_module, small_cnn
from tinylens.engine.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSProp,
    make_optimizer,
)

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "LOSSES",
    "MLP",
    "MODULE_TYPES",
    "OPTIMIZERS",
    "SGD",
    "ActivationCache",
    "Adagrad",
    "Adam",
    "AdamW",
    "AffineLayer",
    "AffineNet",
    "BCEWithLogitsLoss",
    "BatchedMLP",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GradcheckResult",
    "HookHandle",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
    "Module",
    "Optimizer",
    "Parameter",
    "RMSProp",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "Unflatten",
    "activation",
    "as_rng",
    "build_module",
    "gradcheck",
    "loss_fn",
    "make_optimizer",
    "numerical_gradient",
    "select_names",
    "sigmoid",
    "small_cnn",
    "softmax",
]
