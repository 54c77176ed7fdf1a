"""The install size of tinylens' core and of its optional extras, from the installed packages.

Run as ``python benchmarks/install_size.py`` in an environment where ``pip install -e '.[all]'``
(or ``.[test]``) ran. It reads ``pyproject.toml``, follows the installed distributions'
requirements from the core dependencies (the core install) and from the core plus the ``umap``
and ``dask`` extras (what the core was before they became extras), and sums the sizes of the
files each distribution's RECORD lists. Nothing is downloaded; torch is counted as installed
here (the CPU build).

``--time`` also times the install itself, in fresh virtual environments in a temporary
directory: torch (the version installed here) goes in first, untimed, then ``pip install -e``
of the core, of the core as it was before the split (core + the ``umap`` and ``dask`` extras'
requirements) and of ``.[all]`` (those plus the ``notebook`` extra), one after the other. pip
installs from its cache and the local indexes of this machine, so the seconds are those of a
warm cache: unpacking and linking, not downloading. Each environment is deleted after its
timing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


DISTS = {_norm(d.metadata["Name"]): d for d in metadata.distributions()}


def _requires(name: str, extras: frozenset[str]) -> list[tuple[str, frozenset[str]]]:
    dist = DISTS.get(_norm(name))
    out = []
    for text in (dist.requires or []) if dist else []:
        req = Requirement(text)
        if req.marker is not None and not any(
            req.marker.evaluate({"extra": e}) for e in (extras or {""})
        ):
            continue
        out.append((req.name, frozenset(req.extras)))
    return out


def closure(roots: list[str]) -> set[str]:
    """The installed distributions that ``roots`` (requirement strings) pull in."""
    todo = [(Requirement(r).name, frozenset(Requirement(r).extras)) for r in roots]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (_norm(name), extras) in seen:
            continue
        seen.add((_norm(name), extras))
        todo.extend(_requires(name, extras))
    return {name for name, _ in seen if name in DISTS}


def size(name: str) -> int:
    dist, total = DISTS[name], 0
    for f in dist.files or []:
        with contextlib.suppress(OSError):
            total += os.path.getsize(dist.locate_file(f))
    return total


def time_installs(extras: dict[str, list[str]]) -> None:
    """Seconds of ``pip install -e`` for the core, the core before the split and ``.[all]``."""
    torch = f"torch=={metadata.version('torch')}"
    variants = {
        "core (now)": [str(ROOT)],
        "core before the split (+ umap, dask)": [str(ROOT), *extras["umap"], *extras["dask"]],
        "all extras (.[all])": [f"{ROOT}[all]"],
    }
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="tinylens-install-") as tmp:
        for label, targets in variants.items():
            env = Path(tmp) / "venv"
            subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
            pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q"]
            subprocess.run([*pip, torch], check=True)  # not timed: the same in every variant
            start = time.perf_counter()
            subprocess.run([*pip, "-e", targets[0], *targets[1:]], check=True)
            seconds[label] = time.perf_counter() - start
            shutil.rmtree(env)
            print(f"  {label:38s} {seconds[label]:6.1f} s", flush=True)
    core = seconds["core (now)"]
    for label, s in seconds.items():
        print(f"{label}: {s / core:.2f} x the core install's time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--time", action="store_true", help="also time pip install in fresh venvs (minutes)"
    )
    args = parser.parse_args()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = list(project["dependencies"])
    extras = project["optional-dependencies"]
    wanted = core + extras["umap"] + extras["dask"]
    missing = [r for r in wanted if _norm(Requirement(r).name) not in DISTS]
    if missing:
        sys.exit(f"not installed: {', '.join(missing)}; run pip install -e '.[all]' first")
    now = closure(core)
    before = closure(core + extras["umap"] + extras["dask"])
    mb = lambda names: sum(size(n) for n in names) / 1e6  # noqa: E731
    print("moved to extras (umap, dask) with their exclusive dependencies:")
    for name in sorted(before - now, key=lambda n: -size(n)):
        print(f"  {name:20s} {size(name) / 1e6:7.1f} MB")
    print(f"core install before: {len(before)} distributions, {mb(before):.0f} MB")
    print(f"core install now:    {len(now)} distributions, {mb(now):.0f} MB")
    print(f"saved: {len(before - now)} distributions, {mb(before - now):.0f} MB "
          f"({100 * mb(before - now) / mb(before):.0f}%)")  # fmt: skip
    if args.time:
        print("pip install -e, warm pip cache, torch already installed (seconds):")
        time_installs(extras)


if __name__ == "__main__":
    main()
