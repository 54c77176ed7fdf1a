"""Property test: random architectures pass ``gradcheck`` (float64, central differences).

Depth 1-3 affine layers, widths 1-6, hidden activations drawn from the smooth ones plus
relu / leaky_relu, losses mse / cross_entropy / bce. Derandomized, so CI sees the same cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tinylens.engine import MLP, Sequential, gradcheck

KINK_MARGIN = 1e-4  # finite differences (step 1e-6) must not straddle a kink: keep pre-acts away
MAX_EXAMPLES = 300  # ~1-2 s; derandomize=True keeps the cases fixed across runs

SMOOTH = ["tanh", "sigmoid", "softplus", "gelu", "identity"]
KINKED = ["relu", "leaky_relu"]


@dataclass(frozen=True)
class Arch:
    sizes: list[int]
    activation: str
    output_activation: str
    loss: str
    batch: int
    seed: int
    init: str


@st.composite
def architectures(draw: st.DrawFn) -> Arch:
    depth = draw(st.integers(1, 3))
    loss = draw(st.sampled_from(["mse", "cross_entropy", "bce"]))
    return Arch(
        sizes=[draw(st.integers(1, 6)) for _ in range(depth + 1)],
        activation=draw(st.sampled_from(SMOOTH + KINKED)),
        # cross_entropy and bce take logits; mse may follow any output activation.
        output_activation=draw(st.sampled_from(SMOOTH)) if loss == "mse" else "identity",
        loss=loss,
        batch=draw(st.integers(1, 4)),
        seed=draw(st.integers(0, 2**32 - 1)),
        init=draw(st.sampled_from(["auto", "torch", "xavier"])),
    )


def min_distance_to_a_kink(net: Sequential, x: np.ndarray) -> float:
    """Smallest |pre-activation| feeding a relu / leaky_relu (inf when there is none)."""
    smallest, h = float("inf"), x
    for m, following in zip(net.layers, [*net.layers[1:], None], strict=True):
        h = m.forward(h)
        if following is not None and following.kind in KINKED:
            smallest = min(smallest, float(np.abs(h).min()))
    return smallest


@settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None)
@given(arch=architectures())
def test_random_architectures_pass_gradcheck(arch: Arch) -> None:
    rng = np.random.default_rng(arch.seed)
    net = MLP(
        arch.sizes,
        activation=arch.activation,
        output_activation=arch.output_activation,
        rng=rng,
        init=arch.init,
        dtype=np.float64,
    )
    n, n_in, n_out = arch.batch, arch.sizes[0], arch.sizes[-1]
    x = rng.normal(size=(n, n_in))
    if arch.loss == "mse":
        target = rng.normal(size=(n, n_out))
    elif arch.loss == "cross_entropy":
        target = rng.integers(0, n_out, size=n)
    else:
        target = rng.uniform(size=(n, n_out))
    assume(min_distance_to_a_kink(net, x) > KINK_MARGIN)

    result = gradcheck(net, x, target, loss=arch.loss)
    assert result.passed, f"{arch}\n{result}"
