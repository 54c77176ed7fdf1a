"""MNIST from its original IDX files: a strict reader, a checked cache and an optional download.

:func:`load_mnist` looks for the two files of a split in ``data_dir`` (the ``.gz`` name or the
uncompressed name), then in the cache (:func:`mnist_cache_dir`), and only then, if ``download``
is true, fetches the ``.gz`` files from :data:`MIRRORS`. Every file is checked before it is
used: a ``.gz`` file by its published md5 (:data:`MNIST_FILES`) or, when it was compressed
again (another gzip gives other bytes), by the md5 of its uncompressed content
(:data:`MNIST_CONTENT_MD5`); an uncompressed file by the md5 of its content. A file matching
neither is refused. A downloaded file is written into the cache atomically, so an interrupted
download never leaves half a file behind. Nothing here touches the network at import time.

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = Path(tmp) / "labels-idx1-ubyte"  # magic 0x00000801, 3 labels: 7, 2, 1
...     _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
...     read_idx(path)
array([7, 2, 1], dtype=uint8)
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tinylens.data.dataset import Dataset
from tinylens.errors import DataError, UnknownNameError
from tinylens.io.atomic import atomic_write_bytes

__all__ = [
    "MIRRORS",
    "MNIST_CONTENT_MD5",
    "MNIST_FILES",
    "MNIST_MEAN",
    "MNIST_STD",
    "SPLITS",
    "MnistChecksumError",
    "load_mnist",
    "mnist_cache_dir",
    "read_idx",
]

#: The published md5 of each gzip-compressed MNIST file.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


class MnistChecksumError(DataError):
    """A local MNIST file is not the original (its md5 and its content's md5 are unknown).

    Unlike a missing file, this is never a reason to fall back to other data: the user has a
    corrupt file to delete or replace.
    """


#: The md5 of each file's uncompressed content (the IDX bytes), keyed by the ``.gz`` name: what
#: an uncompressed or re-compressed copy must hold. Computed from the published files above (the
#: md5s are also those in the README of ``../shared/data/mnist``).
MNIST_CONTENT_MD5: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte.gz": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}

#: Where the ``.gz`` files are fetched from, in this order (a tuple: not a mutable global).
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

#: Mean and standard deviation of the training pixels in [0, 1] (for :func:`normalize`).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

#: split -> (images file, labels file, number of samples)
SPLITS: dict[str, tuple[str, str, int]] = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}

# IDX type byte -> big-endian numpy dtype (http://yann.lecun.com/exdb/mnist/, bottom of page)
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (raw, or gzip-compressed: detected from its first bytes).

    The header is two zero bytes, a type byte (0x08 for uint8), the number of dimensions, then
    one big-endian uint32 per dimension. MNIST labels have magic 0x00000801 (1-D uint8) and
    images 0x00000803 (3-D uint8).

    Returns
    -------
    array of shape given by the header, in native byte order.

    Raises
    ------
    DataError
        One line naming the file: missing, not gzip-readable, bad magic, truncated, or with
        trailing bytes.
    """
    path = Path(path)
    return _parse_idx(_content(path, _read(path)), path)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc.strerror or exc}") from None


def _content(path: Path, raw: bytes) -> bytes:
    """``raw`` decompressed if it is gzip (detected from its first bytes), else as it is."""
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(
            f"IDX file {path} is a truncated or corrupt gzip file ({exc}); "
            f"delete it and download it again"
        ) from None


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    """The array an IDX file's uncompressed bytes ``raw`` hold (``path`` names it in errors)."""
    if len(raw) < 4:
        raise DataError(f"IDX file {path} is truncated: {len(raw)} bytes, shorter than a header")
    zero, type_byte, ndim = raw[0:2], raw[2], raw[3]
    magic = int.from_bytes(raw[:4], "big")
    if zero != b"\x00\x00" or type_byte not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"IDX file {path} has bad magic number 0x{magic:08x}; expected 0x00000801 "
            f"(labels) or 0x00000803 (images): it is not an IDX file"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(
            f"IDX file {path} is truncated: its header needs {header} bytes, the file has "
            f"{len(raw)}"
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_byte]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(raw) - header
    if found < expected:
        raise DataError(
            f"IDX file {path} is truncated: shape {shape} needs {expected} data bytes, "
            f"found {found}"
        )
    if found > expected:
        raise DataError(
            f"IDX file {path} has {found - expected} unexpected trailing bytes after the "
            f"{expected} data bytes of shape {shape}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def mnist_cache_dir() -> Path:
    """``$TINYLENS_DATA_DIR/mnist`` if that variable is set, else ``~/.cache/tinylens/mnist``."""
    root = os.environ.get("TINYLENS_DATA_DIR")
    if root:
        return Path(root).expanduser() / "mnist"
    return Path.home() / ".cache" / "tinylens" / "mnist"


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    split: str = "train",
    download: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] = MIRRORS,
    timeout: float = 30.0,
) -> Dataset:
    """Load the MNIST ``"train"`` (60,000) or ``"test"`` (10,000) split.

    Parameters
    ----------
    data_dir : path, optional
        Searched first, for ``train-images-idx3-ubyte.gz`` or ``train-images-idx3-ubyte`` etc.
    split : {"train", "test"}
    download : bool
        Fetch the missing ``.gz`` files from ``mirrors`` into ``cache_dir``.
    cache_dir : path, optional
        Defaults to :func:`mnist_cache_dir`.
    mirrors : sequence of URL prefixes
        Tried in order; a mirror that fails or serves a file with the wrong md5 is skipped.
    timeout : float
        Seconds for each network connection.

    Returns
    -------
    Dataset
        X : array of shape (n, 784), float32 in [0, 1]; y : array of shape (n,), int64 in 0..9;
        ``image_shape=(28, 28)``, ``input_range=(0.0, 1.0)``; ``info`` holds the split, the
        source paths and the md5 of each file as read (checked: see :func:`_verified_content`).

    Raises
    ------
    DataError
        One line: a file is corrupt or not the original (its md5 and its content's md5 match
        neither :data:`MNIST_FILES` nor :data:`MNIST_CONTENT_MD5`), or the files are
        missing and could not be downloaded (saying where it looked and where to put them).

    Examples
    --------
    >>> train = load_mnist("data/mnist", split="train")  # doctest: +SKIP
    >>> train.X.shape, train.y.shape  # doctest: +SKIP
    ((60000, 784), (60000,))
    """
    if split not in SPLITS:
        raise UnknownNameError("MNIST split", split, SPLITS)
    images_name, labels_name, _ = SPLITS[split]
    cache = Path(cache_dir).expanduser() if cache_dir is not None else mnist_cache_dir()
    places = ([Path(data_dir).expanduser()] if data_dir is not None else []) + [cache]

    found = {name: _find(name, places) for name in (images_name, labels_name)}
    missing = [name for name, path in found.items() if path is None]
    sources: dict[str, str] = {}
    if missing:
        where = " or ".join(str(p) for p in places)
        fix = f"put {images_name} and {labels_name} in a directory and pass data_dir / --data-dir"
        if not download:
            raise DataError(
                f"MNIST {split} files not found in {where} (missing {', '.join(missing)}) and "
                f"download=False; {fix}"
            )
        for name in missing:
            url, problem = _download(name, cache, mirrors, timeout)
            if url is None:  # no point fetching the other file of the pair
                raise DataError(
                    f"MNIST {split} files not found in {where} and download failed "
                    f"({problem}); {fix}"
                )
            found[name], sources[name] = cache / name, url

    images_path, labels_path = found[images_name], found[labels_name]
    assert images_path is not None and labels_path is not None  # every file found or raised
    # Each file's content is checked against its known md5 before it is parsed: what passes is
    # the published IDX data (60,000 or 10,000 uint8 28x28 images, labels in 0..9), so shapes
    # and label ranges need no check of their own.
    images_raw, images_md5 = _verified_content(images_name, images_path)
    labels_raw, labels_md5 = _verified_content(labels_name, labels_path)
    images = _parse_idx(images_raw, images_path)
    labels = _parse_idx(labels_raw, labels_path)

    # NOTE: divide in float32: k / 255 for k in 0..255 is then the correctly rounded value,
    # identical to torchvision's ToTensor().
    X = images.reshape(len(images), 28 * 28).astype(np.float32) / np.float32(255.0)
    return Dataset(
        X=X,
        y=labels.astype(np.int64),
        task="classification",
        name=f"mnist-{split}",
        n_classes=10,
        image_shape=(28, 28),
        input_range=(0.0, 1.0),
        info={
            "source": "mnist",
            "split": split,
            "images": str(images_path),
            "labels": str(labels_path),
            # the md5 of each file as read, checked above against the published .gz md5 or
            # (uncompressed or re-compressed files) the md5 of the published content
            "md5": {str(images_path): images_md5, str(labels_path): labels_md5},
            "downloaded_from": sources,
        },
    )


def _find(name: str, places: list[Path]) -> Path | None:
    """The first ``place/name`` or ``place/name-without-.gz`` that exists (not yet checked)."""
    for place in places:
        for path in (place / name, place / name.removesuffix(".gz")):
            if path.is_file():
                return path
    return None


def _verified_content(name: str, path: Path) -> tuple[bytes, str]:
    """``(uncompressed IDX bytes, md5 of the file)`` of the MNIST file ``name`` found at ``path``.

    The published ``.gz`` file passes by its md5 (:data:`MNIST_FILES`). Any other file, gzip or
    not, passes when its uncompressed content has the published content's md5
    (:data:`MNIST_CONTENT_MD5`): an uncompressed copy, or a copy compressed again (gzip's
    output depends on its level and version, so the file's own md5 differs). Anything else is
    a one-line DataError naming both md5s.
    """
    raw = _read(path)
    digest = hashlib.md5(raw).hexdigest()
    if digest == MNIST_FILES[name]:
        return _content(path, raw), digest
    try:
        content = _content(path, raw)
        content_md5 = hashlib.md5(content).hexdigest()
    except DataError:  # not readable gzip: reported below through the file's md5
        content, content_md5 = b"", "unreadable (corrupt gzip)"
    if content_md5 == MNIST_CONTENT_MD5[name]:
        return content, digest
    raise MnistChecksumError(
        f"MNIST file {path} has md5 {digest}, expected {MNIST_FILES[name]} (the published "
        f"{name}) or uncompressed content with md5 {MNIST_CONTENT_MD5[name]} (its content: "
        f"{content_md5}); it is corrupt or not the original: delete it (it will be downloaded "
        f"again) or replace it with the original file"
    )


def _download(
    name: str, cache: Path, mirrors: Sequence[str], timeout: float
) -> tuple[str | None, str]:
    """Fetch ``name`` into ``cache`` from the first mirror that serves the right bytes.

    Returns ``(url, "")`` on success, else ``(None, why every mirror failed)``.
    """
    # Imported here: urllib.request pulls in ssl and http.client, which only a download needs.
    import http.client
    import urllib.request

    problems = []
    for mirror in mirrors:
        url = mirror if mirror.endswith("/") else mirror + "/"
        url += name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            # URLError (refused connection, DNS failure, HTTPError) and TimeoutError are
            # OSErrors; HTTPException covers a connection cut mid-body (IncompleteRead);
            # ValueError is a malformed URL.
            reason = getattr(exc, "reason", exc)
            problems.append(f"{url}: {_one_line(reason)}")
            continue
        digest = hashlib.md5(data).hexdigest()
        if digest != MNIST_FILES[name]:
            problems.append(
                f"{url}: checksum mismatch (md5 {digest}, expected {MNIST_FILES[name]})"
            )
            continue
        try:
            atomic_write_bytes(cache / name, data)
        except OSError as exc:
            return None, f"cannot write {cache / name}: {_one_line(exc)}"
        return url, ""
    if not problems:
        return None, f"{name}: no mirrors given"
    return None, "; ".join(problems)


def _one_line(value: object) -> str:
    return " ".join(str(value).split()) or type(value).__name__
