"""Size and range checks of ``tinylens circuits`` made before any work starts (issue 17):
a recovery's memory estimated from its settings, exact weights that float64 cannot hold."""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_STEP_NUMBERS", "as_float", "check_recovery_size"]


def as_float(net: Any, what: str, consequence: str) -> Any:
    """``net.to_float()``, or ConfigError when an exact weight is beyond float64's range."""
    import numpy as np

    from tinylens.errors import ConfigError

    try:
        floats = net.to_float()
    except OverflowError:
        floats = None
    if floats is None or not all(
        np.isfinite(layer.weight).all() and np.isfinite(layer.bias).all() for layer in floats.layers
    ):
        raise ConfigError(
            f"the network of {what[:60]!r} has weights beyond float64's range; it is exact in "
            f"memory but {consequence}"
        )
    return floats


MAX_STEP_NUMBERS = 50_000_000
"""Most numbers one training step of ``recover`` may hold (seeds x batch x widest layer) and
most training samples it may draw: 50 million float64s, 400 MB (our own bound)."""


def check_recovery_size(cfg: Any) -> None:
    """Estimate a recovery's memory before allocating it; refuse what is too large."""
    from tinylens.errors import ConfigError
    from tinylens.studies.recovery import TARGETS

    target = TARGETS.get(cfg.target)
    if target is None:
        return  # the study names the unknown target, with suggestions
    batch = cfg.batch_size or target.batch_size
    steps = cfg.steps or target.steps
    if target.integer_range is not None:
        lo, hi = target.integer_range
        batch = min(batch, hi - lo + 1)
        samples = hi - lo + 1
    else:
        samples = batch * min(cfg.pool if cfg.pool > 0 else steps, steps)
    seeds = max(cfg.seeds, cfg.compare_seeds or 0)
    per_step = seeds * batch * max(target.sizes)
    if per_step > MAX_STEP_NUMBERS:
        raise ConfigError(
            f"--seeds {seeds} x --batch-size {batch} x width {max(target.sizes)} = "
            f"{per_step:,} numbers per training step, more than the {MAX_STEP_NUMBERS:,} "
            "tinylens allows; lower --seeds or --batch-size"
        )
    if samples * len(target.inputs) > MAX_STEP_NUMBERS:
        raise ConfigError(
            f"--batch-size {batch} x --pool {cfg.pool or steps} = {samples:,} training samples, "
            f"more than {MAX_STEP_NUMBERS:,} numbers; lower --batch-size or --pool"
        )
