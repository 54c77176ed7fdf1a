"""SWEEP.yaml: a study's config, a parameter grid and seeds, expanded into runs with stable ids.

The file::

    name: spiral-optimizers          # optional; default: the file's stem
    study: train                     # train (a plain training config) or optimizers
    config:                          # the study's config, in its own YAML layout
      data: spiral
      data_params: {n: 600}
      arch: [2, 64, 32, 3]
      train: {epochs: 40}
    grid:                            # dotted keys into config -> lists of values
      train.optimizer: [sgd, momentum, adam]
      train.lr: [0.003, 0.01, 0.03, 0.1]
    seeds: 3                         # 0, 1, 2; or a list [0, 7, 42]
    collect: [val_accuracy, val_loss]  # optional: the metrics in the table (default: all)
    plot: {x: train.lr, group: train.optimizer}  # optional (default: first grid key, the rest)
    blas_threads: 1                  # BLAS threads per run (default 1); null leaves BLAS alone

Every run's config is built (and validated: an unknown key is an error before anything runs)
and resolved to its full dict; the run id is a hash of the study name and that dict, so it
does not depend on how a value was spelled, on the grid's order, or on what ran before.

>>> spec = SweepSpec.from_dict({"study": "train", "config": {"data": "xor"},
...                             "grid": {"train.lr": [0.01, 0.1]}, "seeds": 2}, name="demo")
>>> runs = spec.expand()
>>> len(runs), runs[0].params, runs[0].seed, len(runs[0].run_id)
(4, {'train.lr': 0.01}, 0, 12)
>>> runs[0].run_id == spec.expand()[0].run_id
True
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinylens.errors import ConfigError, reject_unknown_keys
from tinylens.sweeps.registry import sweep_study

__all__ = ["SWEEP_KEYS", "RunSpec", "SweepSpec", "load_sweep", "run_id_of", "set_dotted"]

MAX_RUNS = 100_000
"""Most runs one sweep may expand to (our own bound: each run is a record file and a table row;
checked before expanding, so a mistyped seed count is a message, not minutes of work)."""

SWEEP_KEYS = ("name", "study", "config", "grid", "seeds", "collect", "plot", "blas_threads")
_PLOT_KEYS = ("x", "group", "metrics")


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep.

    Attributes
    ----------
    run_id : str
        12 hex digits of the SHA-256 of the study name and the resolved config.
    study : str
    seed : int
    params : dict
        The grid values of this run (dotted key -> value).
    config : dict
        The study's resolved config (seed included), what the worker builds and runs.
    """

    run_id: str
    study: str
    seed: int
    params: dict[str, Any]
    config: dict[str, Any]


def run_id_of(study: str, config: dict[str, Any]) -> str:
    """The stable id of a run: canonical JSON (sorted keys) of study and config, hashed."""
    text = json.dumps({"study": study, "config": config}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def set_dotted(d: dict[str, Any], key: str, value: Any) -> None:
    """``set_dotted(d, "train.lr", 0.1)`` sets ``d["train"]["lr"]``, making missing levels."""
    parts = key.split(".")
    node = d
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        elif not isinstance(nxt, dict):
            where = ".".join(parts[: i + 1])
            raise ConfigError(f"grid key {key!r}: {where} is {nxt!r}, not a mapping")
        node = nxt
    node[parts[-1]] = value


def _check_keys(d: Any, known: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise ConfigError(f"{where} must be a mapping, not {d!r}")
    reject_unknown_keys(d, known, f"{where} key")
    return d


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep (see the module docstring for the file).

    Parameters
    ----------
    name : str
    study : str
        A name of :func:`tinylens.sweeps.study_names` (``train`` or a study package).
    config : dict
        The study's base config (its YAML layout).
    grid : dict of str -> tuple
        Dotted key -> values; the runs are the Cartesian product, times the seeds.
    seeds : tuple of int
    collect : tuple of str, optional
        Metrics for the table and plots (None: every metric a run reports).
    plot : dict
        ``x``, ``group`` (grid keys) and ``metrics`` of the plots.
    blas_threads : int or None
    """

    name: str
    study: str = "train"
    config: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    collect: tuple[str, ...] | None = None
    plot: dict[str, Any] = field(default_factory=dict)
    blas_threads: int | None = 1

    def __post_init__(self) -> None:
        sweep_study(self.study)  # an unknown study name fails here, with suggestions
        if not self.name or not isinstance(self.name, str) or os.sep in self.name:
            raise ConfigError(f"a sweep name must be a plain non-empty string, got {self.name!r}")
        for key, values in self.grid.items():
            if key in ("seed", "seeds"):
                raise ConfigError(f"grid key {key!r}: give seeds with the top-level 'seeds' key")
            if not isinstance(values, tuple) or not values:
                raise ConfigError(f"grid.{key} must be a non-empty list of values, not {values!r}")
        if not self.seeds or any(
            not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in self.seeds
        ):
            raise ConfigError(f"seeds must be non-negative integers, got {list(self.seeds)}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds repeat: {list(self.seeds)[:20]}")
        runs = len(self.seeds) * math.prod(len(v) for v in self.grid.values())
        if runs > MAX_RUNS:
            raise ConfigError(
                f"the sweep expands to {runs:,} runs (grid x seeds), more than the {MAX_RUNS:,} "
                "tinylens runs in one sweep; use fewer seeds or grid values"
            )
        _check_keys(self.plot, _PLOT_KEYS, "plot")
        for k in ("x", "group"):
            if self.plot.get(k) is not None and self.plot[k] not in self.grid:
                raise ConfigError(
                    f"plot.{k} is {self.plot[k]!r}, not a grid key; grid keys: "
                    f"{', '.join(self.grid) or '(none)'}"
                )
        if self.blas_threads is not None and (
            not isinstance(self.blas_threads, int) or self.blas_threads < 1
        ):
            raise ConfigError(
                f"blas_threads must be a positive integer or null, not {self.blas_threads!r}"
            )

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, *, name: str | None = None) -> SweepSpec:
        """Build from the file's layout; unknown keys are an error. ``name`` is the default."""
        d = _check_keys(d if d is not None else {}, SWEEP_KEYS, "sweep")
        grid_in = d.get("grid") or {}
        if not isinstance(grid_in, dict):
            raise ConfigError(f"grid must be a mapping of dotted keys to lists, not {grid_in!r}")
        grid = {}
        for key, values in grid_in.items():
            if not isinstance(values, list):
                raise ConfigError(f"grid.{key} must be a list of values, not {values!r}")
            grid[str(key)] = tuple(values)
        seeds = d.get("seeds", 1)
        if isinstance(seeds, int) and not isinstance(seeds, bool):
            if not 1 <= seeds <= MAX_RUNS:
                raise ConfigError(
                    f"seeds must be a count from 1 to {MAX_RUNS:,} or a list, got {seeds}"
                )
            seeds = list(range(seeds))
        if not isinstance(seeds, list):
            raise ConfigError(f"seeds must be a count or a list of integers, not {seeds!r}")
        collect = d.get("collect")
        if collect is not None:
            if isinstance(collect, str):
                collect = [collect]
            if not isinstance(collect, list) or not all(isinstance(c, str) for c in collect):
                raise ConfigError(f"collect must be a list of metric names, not {collect!r}")
            collect = tuple(collect)
        config = d.get("config") or {}
        if not isinstance(config, dict):
            raise ConfigError(f"config must be a mapping (the study's settings), not {config!r}")
        plot = d.get("plot") or {}
        return cls(
            name=str(d.get("name") or name or "sweep"),
            study=str(d.get("study", "train")),
            config=copy.deepcopy(config),
            grid=grid,
            seeds=tuple(seeds),
            collect=collect,
            plot=dict(plot) if isinstance(plot, dict) else plot,
            blas_threads=d.get("blas_threads", 1),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "study": self.study,
            "config": copy.deepcopy(self.config),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "seeds": list(self.seeds),
            "collect": list(self.collect) if self.collect is not None else None,
            "plot": dict(self.plot),
            "blas_threads": self.blas_threads,
        }

    def expand(self) -> list[RunSpec]:
        """Every run: grid combinations (in the file's order) times seeds (innermost).

        Each config is built and validated here, so a bad key or value fails before any run.
        Combinations that resolve to the same config (same id) are kept once.
        """
        study = sweep_study(self.study)
        keys = list(self.grid)
        runs: list[RunSpec] = []
        seen: set[str] = set()
        for values in itertools.product(*(self.grid[k] for k in keys)):
            params = dict(zip(keys, values, strict=True))
            for seed in self.seeds:
                cfg = copy.deepcopy(self.config)
                for k, v in params.items():
                    set_dotted(cfg, k, copy.deepcopy(v))
                cfg["seed"] = seed
                try:
                    resolved = study.build(cfg).to_dict()
                except ConfigError as exc:
                    where = ", ".join(f"{k}={v!r}" for k, v in params.items())
                    raise ConfigError(
                        f"sweep {self.name!r}" + (f" at {where}" if where else "") + f": {exc}"
                    ) from None
                rid = run_id_of(self.study, resolved)
                if rid in seen:
                    continue
                seen.add(rid)
                runs.append(RunSpec(rid, self.study, seed, params, resolved))
        return runs

    def plot_axes(self) -> tuple[str | None, str | None]:
        """``(x, group)`` of the plots: as given, else the first grid key and the second."""
        keys = list(self.grid)
        x = self.plot.get("x") or (keys[0] if keys else None)
        rest = [k for k in keys if k != x]
        group = self.plot.get("group") or (rest[0] if rest else None)
        return x, group


def load_sweep(path: str | os.PathLike[str]) -> SweepSpec:
    """Read a SWEEP.yaml file (its stem is the default name)."""
    from tinylens.io.files import read_yaml

    p = Path(path)
    d = read_yaml(p, "sweep file")
    return SweepSpec.from_dict(d, name=p.stem)
