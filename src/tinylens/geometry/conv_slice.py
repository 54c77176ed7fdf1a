"""Every linear region of an image classifier (convolutions, max pools) on a plane, exactly.

On a 2-D slice ``x = origin + s d1 + t d2`` every feature of every layer is, region by region,
an affine function of ``(s, t)``: three numbers per feature (its value at the origin and its
slopes along ``s`` and ``t``). This module carries that map, an array of shape
``(regions, 3, features)``, through the network's :class:`~.conv_layers.Step` list:

* an affine step (conv, linear, pooling by averaging, BatchNorm) runs the layer itself on the
  three columns (the bias on the first only): one small conv per region, never a dense matrix
  (a 28x28 conv layer as a matrix is 6272 x 784, and composing them takes minutes). A conv
  right after a max pool whose regions share one parent map (the MNIST CNN's second conv)
  reads the maps as that parent's columns instead, and computes each distinct patch once per
  enumeration, its taps summed in a fixed order (:mod:`tinylens.geometry._patch_conv`);
* a kink (ReLU, LeakyReLU) cuts each polygon by the line ``z = 0`` of every unit that crosses
  it, exactly as the MLP enumeration does (:mod:`tinylens.geometry._polygons`), and keeps one
  bit per unit;
* a max pool is the max of its window's affine pieces: inside a polygon, piece ``a`` wins on
  ``{z_a >= z_b for every b}`` (ties to the first piece, as ``torch.max`` does), so a window
  whose winner is not the same at every vertex splits the polygon into the cells where each
  piece wins, each cut out by ``k - 1`` half-planes; the region's code for the window is the
  winning piece (0 .. k-1). Where the pieces are identical (all dead after a ReLU) the first
  wins and nothing is cut.

Most units and windows are settled in bulk before any per-vertex work: a feature's interval
over the polygon's bounding box (one pass over the features, :func:`_bounds`) decides every
unit whose line misses the box and every window with all pieces dead or one clear winner;
only the rest are read at the vertices. A max pool right after a ReLU is settled once per
*parent* polygon (the one the ReLU cut), not once per part: a window whose units are active
or dead on the whole parent, with a winner clear by a wide margin
(:func:`~tinylens.geometry._windows._settled_after_relu`), has that answer on every part, so
the parts read only the few windows left open (about 1 in 100 on the MNIST CNN's second pool),
and their maps after the ReLU are read only there
(:class:`~tinylens.geometry._kink_maps._KinkMaps`), never built whole. After the last such
pool, when only affine layers follow, the output goes once per parent through them (its
settled windows) and each cell adds its own open windows
(:func:`~tinylens.geometry._kink_maps.pooled_outputs`): no cell's pooled map is built.
Each decision is the one the part's own box test would make, bit for bit (tests compare them
at every max step of real runs).

Exact sides: every polygon carries the ids of its edges' lines (``E``, into one line table for
the whole enumeration: the domain's edges, then every unit's line and max-pool boundary
``P_a - P_b``, an exact difference of two pieces, where it cuts), so every vertex is the
crossing of two known lines. The
box and parent decisions above settle only clear cases, by a margin; every close call (a value
within :data:`~tinylens.geometry._polygons.SIDE_RTOL_2D` of zero at a vertex) is settled
exactly from the vertex's two lines (:mod:`tinylens.geometry._exact_sides`), and cuts are made
at exact crossings (:func:`~tinylens.geometry._polygons._cut_exact`): a sliver however thin is
kept, relative to the float lines the maps give.

Once the depth-first stack holds enough independent subtrees, they run on
:data:`WORKERS` threads, each with its own copy of the line table, and are joined in the order
one thread would finish them (the result does not depend on the thread count).

The regions are processed depth first in chunks of :data:`CHUNK` (a ReLU's parts, going on
to a max pool, in batches of :data:`OPEN_WINDOWS` open windows) so memory stays bounded
(each region's map is ``3 x 6272`` floats after the first conv of the MNIST CNN); a finished
region keeps only its polygon, output map, area, centroid and code, the code full, packed or
as a digest (:mod:`tinylens.geometry._codes`; packed and digest codes are packed layer by
layer as the regions are made).
Slice idea from SplineCam (Humayun et al., CVPR 2023); the enumeration is ours.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from tinylens.errors import ConfigError
from tinylens.geometry._area_progress import _AreaProgress, _wait_showing
from tinylens.geometry._codes import CODE_FORMATS, DIGEST_BYTES, CodeLayout, digest
from tinylens.geometry._conv_cuts import _check_size, _kink, _max
from tinylens.geometry._kink_maps import _KinkMaps, pooled_outputs
from tinylens.geometry._memory import join_freeing
from tinylens.geometry._patch_conv import PatchMemo, _Gathered, gathered, patch_conv
from tinylens.geometry._polygons import (
    _LineTable,
    _pad,
    pack,
    unpack,
)
from tinylens.geometry._windows import _bounds, _settled_after_relu
from tinylens.geometry.conv_layers import Step, forward_codes

__all__ = [
    "CHUNK",
    "MAX_REGIONS",
    "MEMORY_BUDGET",
    "ImageSplit",
    "forward_codes",
    "region_cap",
    "split_image_slice",
]

MEMORY_BUDGET = 2_500_000_000
"""Bytes the kept regions may take before the enumeration stops with a clear error (our
choice, for a machine with a few GB free). What one region keeps is its polygon, output map,
area, centroid and code (:func:`region_bytes`): about 12.2 KB for the MNIST CNN with full
codes (a cap of ~205,000 regions), 2.2 KB packed (~1.1 million), 0.52 KB as a digest (~4.8
million)."""

MAX_REGIONS: int | None = None
"""A fixed cap on the regions of one layer, overriding :data:`MEMORY_BUDGET` when set."""


def region_cap(
    steps: list[Step],
    codes: str = "full",
    max_regions: int | None = None,
    *,
    layout: CodeLayout | None = None,
) -> int:
    """How many regions of one layer the enumeration may keep: ``max_regions`` if given, else
    :data:`MAX_REGIONS` if set, else what :data:`MEMORY_BUDGET` holds at :func:`region_bytes`
    each (the slices' and the segments' one rule)."""
    if max_regions is not None:
        return int(max_regions)
    if MAX_REGIONS is not None:
        return MAX_REGIONS
    layout = CodeLayout.of(steps) if layout is None else layout
    return MEMORY_BUDGET // region_bytes(layout, codes, steps[-1].out_size if steps else 2)


def region_bytes(layout: CodeLayout, fmt: str, n_outputs: int) -> int:
    """Bytes one kept region takes: its code in format ``fmt``, ``W`` and ``c`` (3 floats per
    output), area and centroid (3 floats), and its polygon (~8 vertices of 2 floats, plus
    the array's ~112-byte header)."""
    code = {"full": layout.n_codes, "packed": -(-layout.n_bits // 8)}.get(fmt, DIGEST_BYTES)
    return code + 8 * (3 * n_outputs + 3) + 8 * 16 + 112


CHUNK = 256
"""Regions pushed through a layer together: large enough for NumPy to run at speed, small
enough that ``CHUNK * 3 * features`` floats (20 MB for the MNIST CNN's widest layer) stay in
cache-friendly sizes. The result does not depend on it (a test checks)."""

OPEN_WINDOWS = 32_768
"""The parts a ReLU cut go on to the max pool after it in batches holding about this many
windows their parents left open (our choice), not :data:`CHUNK` regions: their maps are
their parents' (:class:`~tinylens.geometry._kink_maps._KinkMaps`, one byte per feature
of their own), and where the parents settled most windows the max pool reads only the open
ones, so its cost is mostly the fixed Python overhead of its rounds, paid less often in
larger batches. On the MNIST CNN the second ReLU leaves ~14 of 784 windows open a part (a
batch of ~2,400: all ~900 parts a chunk of parents makes), the first ~640 of 1,568 on the
x0.3 triangle (batches of :data:`CHUNK`). The regions do not depend on it (their order
does, as on the chunk)."""


@dataclass(frozen=True)
class ImageSplit:
    """The regions of a slice, in the slice's coordinates.

    ``vertices[i]`` (k_i, 2) counter-clockwise; ``codes`` (n, n_codes) uint8, one per kink unit
    (0/1) and one per pooling window (the winning piece), layer by layer, when
    ``code_format`` is ``"full"`` (packed bits or a digest otherwise: ``layout`` unpacks);
    ``W`` (n, outputs, 2) and ``c`` (n, outputs): the network's output on region i is
    ``W[i] @ (s, t) + c[i]``; ``counts_per_layer``: regions after each kink and max step;
    ``areas``, ``centroids``.
    """

    vertices: list[np.ndarray]
    codes: np.ndarray
    W: np.ndarray
    c: np.ndarray
    counts_per_layer: tuple[int, ...]
    layer_names: tuple[str, ...]
    areas: np.ndarray
    centroids: np.ndarray
    code_format: str = "full"
    layout: CodeLayout | None = None


def split_image_slice(
    steps: list[Step],
    origin: np.ndarray,
    directions: np.ndarray,
    polygon: np.ndarray,
    *,
    chunk: int = CHUNK,
    codes: str = "full",
    max_regions: int | None = None,
    quiet: bool = False,
    workers: int | None = None,
) -> ImageSplit:
    """Every region of the network ``steps`` on ``polygon`` (slice coordinates).

    Parameters
    ----------
    steps : list of Step
        From :func:`~tinylens.geometry.conv_layers.image_layers`.
    origin : array of shape (n_inputs,)
    directions : array of shape (2, n_inputs)
    polygon : array of shape (m, 2)
        The convex domain, counter-clockwise, in slice coordinates.
    chunk : int
        Regions pushed through a layer together (:data:`CHUNK`); the result does not depend
        on it.
    codes : {"full", "packed", "digest"}
        How each region's code is kept (:mod:`tinylens.geometry._codes`): one byte per entry
        (11,760 bytes per region for the MNIST CNN), packed bits (1,764 bytes), or a 16-byte
        digest of them (enough to count regions and match a forward pass's codes).
    max_regions : int, optional
        Stop with a clear error past this many regions in one layer; by default
        :data:`MAX_REGIONS` if set, else what :data:`MEMORY_BUDGET` holds.
    quiet : bool
        No progress. Otherwise work past :data:`PROGRESS_AFTER_S` shows it
        (:mod:`tinylens.progress`: a bar, a notebook table or log lines) as the share of the
        domain's area whose regions are final, with the regions found so far.
    workers : int, optional
        Threads sharing a large plane's subtrees (:data:`WORKERS` by default); 1 works on
        the calling thread alone. The regions, their order and every number are the same
        for any count.
    """
    if codes not in CODE_FORMATS:
        raise ConfigError(
            f"unknown codes format {codes!r}; expected one of {', '.join(CODE_FORMATS)}"
        )
    layout = CodeLayout.of(steps)
    cap = region_cap(steps, codes, max_regions, layout=layout)
    from tinylens.geometry.slices import unit_domain  # (slices imports the MLP enumeration)

    # work where every coordinate is within [-1, 1] (the exact sides' vertex bound, and the
    # band's scale): a power of two, so the scaling is exact and undone exactly at the end
    polygon = np.asarray(polygon, dtype=np.float64)
    span = float(np.abs(polygon).max())
    scale = 2.0 ** np.ceil(np.log2(span)) if span > 1 else 1.0
    # the domain's edges as exact lines through its corners (in those coordinates): every
    # vertex from here on is the crossing of two lines of ``lines``, its edges' ids in E
    corners, edge_lines = unit_domain(polygon / scale, _IDENTITY_BOX)
    lines = _LineTable(edge_lines)
    V, nv = pack([corners])
    E = _pad(np.arange(len(corners), dtype=np.int32)[None], V.shape[1])
    M = np.concatenate([origin[None], directions * scale])[None]  # (1, 3, n_inputs)
    nonlinear = [i for i, s in enumerate(steps) if s.kind != "affine"]
    # packed or digest codes are packed layer by layer when every layer fills whole bytes:
    # a region's code then travels as ~1.8 KB instead of ~11.8 KB, and each layer's entries
    # are packed once, for the regions of that layer, not again for every final region
    by_layer = codes != "full" and layout.byte_aligned
    workers = WORKERS if workers is None else max(1, int(workers))
    todo: list[tuple] = [(0, V, nv, E, np.zeros((1, 0), dtype=np.uint8), M, None)]
    from tinylens.training.threads import limit_blas_threads

    # one BLAS thread throughout: the products here are small and idle BLAS threads only
    # spin (one worker on the x0.6 MNIST triangle: 44-46 CPU s for 25-27 s of wall with
    # them, 25 CPU s for 25 s without), and the workers are the parallelism
    with (
        limit_blas_threads(1),
        _AreaProgress(float(unpack(V, nv)[1][0]), quiet, PROGRESS_AFTER_S) as shown,
    ):
        run = _Run(steps, scale, layout, codes, by_layer, nonlinear, cap, chunk, shown)
        # depth first until the stack holds enough independent subtrees to share out
        kept, rest = _walk(run, todo, lines, None if workers == 1 else SHARE_FROM * workers)
        parts = [kept]
        if rest:  # each subtree on its own copy of the lines (the base is read only now)
            with ThreadPoolExecutor(workers) as pool:
                futures = [pool.submit(_walk, run, [t], lines, None, True) for t in rest[::-1]]
                try:
                    _wait_showing(futures, shown)
                except BaseException:  # an error or an interrupt: start no other subtree
                    pool.shutdown(cancel_futures=True)
                    raise
            parts += [future.result()[0] for future in futures]  # as one thread would order them
            del futures
    kept = {k: [x for part in parts for x in part[k]] for k in parts[0]}
    del parts  # each chunk now lives only in ``kept``, which join_freeing empties
    return ImageSplit(
        kept["vertices"],
        join_freeing(kept["codes"]),
        join_freeing(kept["W"]),
        join_freeing(kept["c"]),
        tuple(run.counts[i] for i in nonlinear),
        tuple(steps[i].name for i in nonlinear),
        join_freeing(kept["areas"]),
        join_freeing(kept["centroids"]),
        codes,
        layout,
    )


_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
WORKERS = max(1, min(4, _CORES or 1))
"""Threads :func:`split_image_slice` shares a large plane's subtrees among: the cores this
process may use, up to 4 (our choice: NumPy releases the GIL only inside its array work, so
threads scale far from linearly; only 2 cores were measured, docs/geometry.md). The result
does not depend on it."""

SHARE_FROM = 4
"""The plane is split among the workers once the depth-first stack holds this many
subtrees per worker (on the MNIST CNN: right after the first ReLU, ~300 chunks)."""


@dataclass
class _Run:
    """What the subtrees of one enumeration share: the settings, the per-layer counts (under
    ``lock``), the patch memo and the progress."""

    steps: list[Step]
    scale: float
    layout: CodeLayout
    codes: str
    by_layer: bool
    nonlinear: list[int]
    cap: int
    chunk: int
    shown: _AreaProgress
    lock: threading.Lock = field(default_factory=threading.Lock)
    memo: PatchMemo = field(default_factory=PatchMemo)
    counts: dict[int, int] = field(init=False)
    tail: tuple[np.ndarray, np.ndarray] | None = field(init=False)

    def __post_init__(self) -> None:
        self.counts = dict.fromkeys(self.nonlinear, 0)
        # after a last max pool only affine layers: their linear part as a matrix, and
        # their output on zero
        last = self.nonlinear[-1] if self.nonlinear else -1
        self.tail = None
        if last >= 0 and self.steps[last].kind == "max":
            linear, bias = np.eye(self.steps[last].out_size), np.zeros(self.steps[last].out_size)
            for step in self.steps[last + 1 :]:
                linear = step.linear(linear)  # type: ignore[misc]
                bias = step.linear(bias[None])[0] + step.bias  # type: ignore[misc]
            self.tail = linear, bias

    def count(self, level: int, n: int) -> None:
        with self.lock:
            self.counts[level] = total = self.counts[level] + n
        _check_size(total, self.cap)


def _walk(
    run: _Run, todo: list[tuple], lines: _LineTable, share_at: int | None, own: bool = False
) -> tuple[dict[str, list], list[tuple]]:
    """Enumerate the subtrees on the stack ``todo`` depth first; return what the finished
    regions keep and, once the stack holds ``share_at`` subtrees, the stack itself (the
    subtrees left, each independent of the others). ``own``: work on a copy of ``lines``
    (a subtree on a worker thread)."""
    if own:
        lines = lines.copy()
    steps, scale, layout, codes = run.steps, run.scale, run.layout, run.codes
    by_layer = run.by_layer
    kept: dict[str, list] = {k: [] for k in ("vertices", "codes", "W", "c", "areas", "centroids")}
    # (next step, polygons, vertex counts, edge line ids, codes so far, a thunk giving the
    # maps, and the pool windows their parents settled: None, or (code, done, rows into them))
    while todo:
        if share_at is not None and len(todo) >= share_at:
            return kept, todo
        level, V, nv, E, code, maps, hint = todo.pop()
        M = maps() if callable(maps) else maps
        settled = None if hint is None else (hint[0][hint[2]], hint[1][hint[2]])
        while level < len(steps) and steps[level].kind == "affine":
            M = _affine(steps[level], M, run.memo)
            level += 1
        if level == len(steps):  # keep only what a region set needs, codes as asked
            verts, area, centre = unpack(V, nv)
            kept["vertices"] += [v * scale for v in verts] if scale != 1 else verts
            kept["areas"].append(area * scale**2)
            kept["centroids"].append(centre * scale)
            if not by_layer:
                code = layout.encode(code, codes)
            kept["codes"].append(digest(code) if by_layer and codes == "digest" else code)
            kept["W"].append(M[:, 1:].transpose(0, 2, 1) / scale)
            kept["c"].append(M[:, 0].copy())
            run.shown.add(float(area.sum()), len(V))
            continue
        step = steps[level]
        after = steps[level + 1] if level + 1 < len(steps) else step
        for_children = None
        if step.kind == "kink":
            box = _bounds(V, M)
            if after.kind == "max" and step.slopes == (0.0, 1.0):  # a ReLU, then a max pool
                for_children = _settled_after_relu(V, M, after.windows, box)  # type: ignore[arg-type]
            V, nv, E, root, new = _kink(V, nv, E, lines, M, run.cap, box, run.shown.tick)
        else:
            windows, tick = step.windows, run.shown.tick
            assert windows is not None
            V, nv, E, root, new = _max(V, nv, E, lines, M, windows, run.cap, settled, tick)
        run.count(level, len(V))
        if by_layer:
            packed = layout.pack_segment(run.nonlinear.index(level), new)
            code = np.concatenate([code[root], packed], axis=1)
        else:
            code = np.concatenate([code[root], new], axis=1)
            new = code[:, code.shape[1] - new.shape[1] :]  # a view: one copy of the codes alive
        if level == run.nonlinear[-1] and run.tail is not None and isinstance(M, _KinkMaps):
            # the last max pool, after a ReLU, only affine layers left: the outputs once per
            # parent, then each cell's open windows (no pooled map per cell)
            assert settled is not None and step.windows is not None
            out = pooled_outputs(M, step.windows, root, new, settled, *run.tail)
            for lo in reversed(range(0, len(V), run.chunk)):  # kept chunk by chunk, in order
                part = slice(lo, lo + run.chunk)
                todo.append((len(steps), V[part], nv[part], E[part], code[part], out[part], None))
            continue
        # a conv right after a max pool reads the maps as one shared table's columns
        gather = step.kind == "max" and level + 1 < len(steps)
        gather = gather and steps[level + 1].support is not None
        size = run.chunk
        if for_children is not None:  # a max pool reads only the windows left open
            size = _batch(for_children[1], root, run.chunk)
        for lo in reversed(range(0, len(V), size)):  # depth first, in order
            part = slice(lo, lo + size)
            todo.append(
                (
                    level + 1,
                    V[part],
                    nv[part],
                    E[part],
                    code[part],
                    _thunk(step, M, root[part], new[part], gather)
                    if for_children is None
                    else _KinkMaps(M, root[part], new[part], step.slopes),  # type: ignore[arg-type]
                    None if for_children is None else (*for_children, root[part]),
                )
            )
    return kept, []


def _batch(done: np.ndarray, root: np.ndarray, chunk: int) -> int:
    """How many parts (parents ``root``) of a ReLU go on together to the max pool after it,
    whose parents settled the windows ``done`` (parents, windows): enough to hold
    :data:`OPEN_WINDOWS` windows left open, at least ``chunk``."""
    open_windows = float((~done).sum(axis=1)[root].mean()) if len(root) else 0.0
    return max(chunk, int(OPEN_WINDOWS / max(open_windows, 1.0)))


PROGRESS_AFTER_S = 2.0
"""An enumeration shows progress once it has run this long (our choice: the many small
squares of local complexity stay silent, a plane that takes minutes does not)."""


_IDENTITY_BOX = np.array([[-1.0, 1.0], [-1.0, 1.0]])
"""The box whose unit coordinates are the slice's own (``unit_domain`` maps it to itself)."""


def _thunk(
    step: Step, M: np.ndarray, root: np.ndarray, new: np.ndarray, gather: bool = False
) -> object:
    """The maps after ``step`` for some regions, computed only when they are processed;
    after a max pool, with ``gather``, as a :class:`~tinylens.geometry._patch_conv._Gathered`
    when the regions share one parent map (the same numbers)."""

    def maps() -> np.ndarray | _Gathered:
        if step.kind == "kink":
            low, high = step.slopes  # type: ignore[misc]
            return M[root] * np.where(new.astype(bool), high, low)[:, None, :]
        windows = step.windows
        assert windows is not None
        idx = windows[np.arange(len(windows))[None, :], new]  # (R, n_windows) input indices
        G = gathered(M, root, idx) if gather else None
        if G is not None:
            return G
        cols = np.arange(M.shape[1])[:, None]  # 3 on a plane, 2 on a segment
        return M[root[:, None, None], cols, idx[:, None, :]]  # one gather, no copy of M[root]

    return maps


def _affine(step: Step, M: np.ndarray | _Gathered, memo: PatchMemo | None = None) -> np.ndarray:
    """Run the layer on the columns of every region's map (three on a plane, two on a
    segment; the bias on the first). Gathered maps (made only for a conv with patches) go
    once per distinct patch (:func:`~tinylens.geometry._patch_conv.patch_conv`, once per
    enumeration with a ``memo``)."""
    if isinstance(M, _Gathered):
        assert step.support is not None and step.kernel is not None
        store = None if memo is None else memo.store(step, M, *step.kernel.shape[::-1])
        out = patch_conv(M, step.support, step.kernel, store)
    else:
        n, cols = M.shape[:2]
        out = step.linear(M.reshape(n * cols, -1)).reshape(n, cols, -1)  # type: ignore[misc]
    out[:, 0] += step.bias
    return out
