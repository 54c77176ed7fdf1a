"""Moved to :mod:`tinylens.studies.optimizers.paths`; this name stays importable."""

from tinylens.studies.optimizers.paths import (
    SURFACES,
    OptimizerPath,
    Surface,
    optimizer_path,
    optimizer_paths,
    paths_figure,
)

__all__ = [
    "SURFACES",
    "OptimizerPath",
    "Surface",
    "optimizer_path",
    "optimizer_paths",
    "paths_figure",
]
