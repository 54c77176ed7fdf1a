"""tinylens.data.mnist: the IDX reader, the genuine MNIST files, and the download path.

Downloads go to a local HTTP server (127.0.0.1, a free port) serving copies of the genuine t10k
files, never to the internet; every cache is a temporary directory. The genuine training set is
used where it is present (``mnist_full_dir``); the "training files missing" paths run on a
directory holding only the test files (``mnist_test_only_dir``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tinylens.data import (
    MNIST_CONTENT_MD5,
    MNIST_FILES,
    MNIST_MEAN,
    MNIST_STD,
    load_dataset,
    load_mnist,
    normalize,
)
from tinylens.data.mnist import mnist_cache_dir, read_idx
from tinylens.errors import ConfigError, DataError

TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
# Per-digit counts of the MNIST test and training sets, as published with the data set.
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


@pytest.fixture(autouse=True)
def _no_real_cache(tmp_path_factory, monkeypatch):
    """Point every default (home directory, TINYLENS_DATA_DIR) at a temporary directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TINYLENS_DATA_DIR", raising=False)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)  # the local server must be reached directly


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


# -- IDX reader ---------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as IDX (the format's header written out by hand)."""
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D}
    code = codes[array.dtype.type]
    header = bytes([0, 0, code, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, compress: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips_labels_and_images(tmp_path, compress):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=17, dtype=np.uint8)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    suffix = ".gz" if compress else ""
    got_labels = read_idx(write_idx(tmp_path / f"l{suffix}", labels, compress=compress))
    got_images = read_idx(write_idx(tmp_path / f"i{suffix}", images, compress=compress))
    assert got_labels.dtype == np.uint8 and np.array_equal(got_labels, labels)
    assert got_images.shape == (5, 28, 28) and np.array_equal(got_images, images)
    assert idx_bytes(labels)[:4] == b"\x00\x00\x08\x01"  # the MNIST labels magic 0x00000801
    assert idx_bytes(images)[:4] == b"\x00\x00\x08\x03"  # the MNIST images magic 0x00000803


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.float32])
def test_read_idx_handles_big_endian_types(tmp_path, dtype):
    array = np.arange(-6, 6).astype(dtype).reshape(3, 4)
    got = read_idx(write_idx(tmp_path / "a", array))
    assert got.dtype == np.dtype(dtype) and np.array_equal(got, array)  # native byte order


def test_read_idx_rejects_bad_magic(tmp_path):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(b"\x12\x34\x08\x01" + (3).to_bytes(4, "big") + b"\x01\x02\x03")
    with pytest.raises(DataError) as exc:
        read_idx(path)
    message = one_line(exc)
    assert str(path) in message and "bad magic number 0x12340801" in message


@pytest.mark.parametrize(
    ("cut", "match"),
    [(-1, "truncated: shape \\(3, 2\\) needs 6 data bytes, found 5"), (6, "header")],
)
def test_read_idx_rejects_truncated_files(tmp_path, cut, match):
    data = idx_bytes(np.zeros((3, 2), np.uint8))[:cut]
    for name, payload in (("raw", data), ("zipped.gz", gzip.compress(data))):
        path = tmp_path / name
        path.write_bytes(payload)
        with pytest.raises(DataError, match=match) as exc:
            read_idx(path)
        assert str(path) in one_line(exc)


def test_read_idx_rejects_a_truncated_gzip_stream_and_trailing_bytes(tmp_path):
    zipped = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(zipped[: len(zipped) // 2])
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(cut)
    long = tmp_path / "long"
    long.write_bytes(idx_bytes(np.arange(4, dtype=np.uint8)) + b"\x00\x00")
    with pytest.raises(DataError, match="2 unexpected trailing bytes"):
        read_idx(long)
    with pytest.raises(DataError, match="cannot read IDX file"):
        read_idx(tmp_path / "missing")


# -- the genuine MNIST test set -----------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist_test(mnist_dir, tmp_path_factory):
    return load_mnist(
        mnist_dir, split="test", download=False, cache_dir=tmp_path_factory.mktemp("unused")
    )


def test_genuine_test_files_have_the_published_md5(mnist_dir):
    for name in (TEST_IMAGES, TEST_LABELS):
        assert hashlib.md5((mnist_dir / name).read_bytes()).hexdigest() == MNIST_FILES[name]


def test_load_genuine_mnist_test_set(mnist_test, mnist_dir):
    ds = mnist_test
    assert ds.X.shape == (10_000, 784) and ds.X.dtype == np.float32
    assert ds.y.shape == (10_000,) and ds.y.dtype == np.int64
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert np.array_equal(ds.X * 255, np.round(ds.X * 255))  # every pixel is k / 255
    counts = np.bincount(ds.y, minlength=10)
    assert counts.tolist() == TEST_LABEL_COUNTS and counts.sum() == 10_000
    assert ds.y[:3].tolist() == [7, 2, 1]  # the first three test digits
    assert (ds.n_classes, ds.image_shape, ds.input_range) == (10, (28, 28), (0.0, 1.0))
    assert (ds.name, ds.info["split"], ds.default_loss) == ("mnist-test", "test", "cross_entropy")
    assert ds.info["images"] == str(mnist_dir / TEST_IMAGES)
    assert ds.info["md5"][str(mnist_dir / TEST_LABELS)] == MNIST_FILES[TEST_LABELS]
    assert ds.info["downloaded_from"] == {}


def test_mnist_stratified_8000_2000_split(mnist_test):
    train, test = mnist_test.split(test_size=2000, rng=0)
    assert (len(train), len(test)) == (8000, 2000)
    assert np.all(np.bincount(test.y, minlength=10) > 0)
    assert np.all(np.bincount(train.y, minlength=10) > 0)
    # proportional: each class gets its share of 2000 to within one sample
    shares = np.array(TEST_LABEL_COUNTS) * 2000 / 10_000
    assert np.all(np.abs(np.bincount(test.y) - shares) < 1)


def test_normalize_mnist_records_constants(mnist_test):
    nd = normalize(mnist_test, MNIST_MEAN, MNIST_STD)
    assert nd.info["normalization"] == {"mean": 0.1307, "std": 0.3081}
    assert nd.X[0, 0] == np.float32((0.0 - 0.1307) / 0.3081)
    assert nd.input_range == pytest.approx((-0.1307 / 0.3081, (1 - 0.1307) / 0.3081))


def test_content_md5s_are_those_of_the_published_files(mnist_dir):
    # recomputed from the published .gz files (whose own md5 is checked above)
    for name in (TEST_IMAGES, TEST_LABELS):
        content = gzip.decompress((mnist_dir / name).read_bytes())
        assert hashlib.md5(content).hexdigest() == MNIST_CONTENT_MD5[name]


def test_uncompressed_files_load_the_same(mnist_dir, mnist_test, tmp_path):
    for name in (TEST_IMAGES, TEST_LABELS):
        raw = gzip.decompress((mnist_dir / name).read_bytes())
        (tmp_path / name.removesuffix(".gz")).write_bytes(raw)
    ds = load_mnist(tmp_path, split="test", download=False, cache_dir=tmp_path / "cache")
    assert np.array_equal(ds.X, mnist_test.X) and np.array_equal(ds.y, mnist_test.y)
    assert ds.info["images"] == str(tmp_path / TEST_IMAGES.removesuffix(".gz"))
    assert ds.info["md5"] == {
        str(tmp_path / n.removesuffix(".gz")): MNIST_CONTENT_MD5[n]
        for n in (TEST_IMAGES, TEST_LABELS)
    }


def test_recompressed_files_are_checked_by_their_content(mnist_dir, mnist_test, tmp_path):
    for name in (TEST_IMAGES, TEST_LABELS):
        raw = gzip.decompress((mnist_dir / name).read_bytes())
        again = gzip.compress(raw, compresslevel=1, mtime=0)
        assert hashlib.md5(again).hexdigest() != MNIST_FILES[name]  # other bytes, same content
        (tmp_path / name).write_bytes(again)
    ds = load_mnist(tmp_path, split="test", download=False, cache_dir=tmp_path / "cache")
    assert np.array_equal(ds.X, mnist_test.X) and np.array_equal(ds.y, mnist_test.y)


@pytest.mark.parametrize("compress", [False, True])
def test_a_file_whose_content_is_not_the_original_is_refused(mnist_dir, tmp_path, compress):
    shutil.copy(mnist_dir / TEST_LABELS, tmp_path / TEST_LABELS)
    content = bytearray(gzip.decompress((mnist_dir / TEST_IMAGES).read_bytes()))
    content[5000] ^= 0x01  # one flipped bit in one pixel: still a well-formed IDX file
    name = TEST_IMAGES if compress else TEST_IMAGES.removesuffix(".gz")
    data = gzip.compress(bytes(content)) if compress else bytes(content)
    (tmp_path / name).write_bytes(data)
    assert read_idx(tmp_path / name).shape == (10_000, 28, 28)  # the reader alone cannot tell
    with pytest.raises(DataError) as exc:
        load_mnist(tmp_path, split="test", download=False, cache_dir=tmp_path / "cache")
    message = one_line(exc)
    assert str(tmp_path / name) in message and "not the original" in message
    assert f"(its content: {hashlib.md5(content).hexdigest()})" in message
    assert MNIST_CONTENT_MD5[TEST_IMAGES] in message


def test_the_labels_in_the_images_slot_are_refused(mnist_dir, tmp_path):
    # well-formed IDX, wrong file: the content md5 tells them apart
    shutil.copy(mnist_dir / TEST_LABELS, tmp_path / TEST_LABELS)
    shutil.copy(mnist_dir / TEST_LABELS, tmp_path / TEST_IMAGES)
    with pytest.raises(DataError, match="not the original"):
        load_mnist(tmp_path, split="test", download=False, cache_dir=tmp_path / "cache")


def test_missing_train_files_name_the_files(mnist_test_only_dir, tmp_path):
    with pytest.raises(DataError) as exc:
        load_mnist(mnist_test_only_dir, split="train", download=False, cache_dir=tmp_path)
    message = one_line(exc)
    assert message.startswith(f"MNIST train files not found in {mnist_test_only_dir} or {tmp_path}")
    assert TRAIN_IMAGES in message and TRAIN_LABELS in message and "--data-dir" in message


def test_the_genuine_training_set_loads_and_is_checked(mnist_full_dir, tmp_path):
    ds = load_mnist(mnist_full_dir, split="train", download=False, cache_dir=tmp_path)
    assert ds.X.shape == (60_000, 784) and ds.X.dtype == np.float32
    assert np.bincount(ds.y, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert ds.y[:5].tolist() == [5, 0, 4, 1, 9]  # the first five training digits
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    for name, key in ((TRAIN_IMAGES, "images"), (TRAIN_LABELS, "labels")):
        path = ds.info[key]
        raw = Path(path).read_bytes()
        content = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        assert hashlib.md5(content).hexdigest() == MNIST_CONTENT_MD5[name]
        assert ds.info["md5"][path] == hashlib.md5(raw).hexdigest()


def test_corrupt_local_file_is_named_with_its_md5(mnist_dir, tmp_path):
    shutil.copy(mnist_dir / TEST_LABELS, tmp_path / TEST_LABELS)
    corrupt = bytearray((mnist_dir / TEST_IMAGES).read_bytes())
    corrupt[1000] ^= 0xFF
    (tmp_path / TEST_IMAGES).write_bytes(corrupt)
    with pytest.raises(DataError) as exc:
        load_mnist(tmp_path, split="test", download=False, cache_dir=tmp_path / "cache")
    message = one_line(exc)
    assert str(tmp_path / TEST_IMAGES) in message
    assert f"md5 {hashlib.md5(corrupt).hexdigest()}, expected {MNIST_FILES[TEST_IMAGES]}" in message


def test_bad_split_name():
    with pytest.raises(ConfigError, match="did you mean 'test'"):
        load_mnist(split="tset", download=False)


def test_cache_dir_default(monkeypatch, tmp_path):
    assert mnist_cache_dir() == Path.home() / ".cache" / "tinylens" / "mnist"
    monkeypatch.setenv("TINYLENS_DATA_DIR", str(tmp_path))
    assert mnist_cache_dir() == tmp_path / "mnist"


def test_cache_dir_is_searched_after_data_dir(mnist_dir, monkeypatch, tmp_path):
    cache = tmp_path / "mnist"
    cache.mkdir()
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copy(mnist_dir / name, cache / name)
    monkeypatch.setenv("TINYLENS_DATA_DIR", str(tmp_path))
    ds = load_mnist(tmp_path / "empty", split="test", download=False)
    assert ds.n == 10_000 and ds.info["labels"] == str(cache / TEST_LABELS)


def test_load_dataset_mnist(mnist_dir, tmp_path):
    ds = load_dataset("mnist", data_dir=mnist_dir, split="test", download=False, cache_dir=tmp_path)
    assert ds.n == 10_000


# -- the download path, against a local server --------------------------------------------------


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output clean
        pass


@pytest.fixture
def serve() -> Iterator:
    """``serve(directory) -> (url, requested_paths)``: a local HTTP server for the test."""
    servers = []

    def start(directory: Path) -> tuple[str, list[str]]:
        requested: list[str] = []

        class Handler(_Handler):
            def do_GET(self):
                requested.append(self.path)
                super().do_GET()

        handler = functools.partial(Handler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", requested

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL on a port nothing listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def good_dir(mnist_dir, tmp_path) -> Path:
    directory = tmp_path / "good"
    directory.mkdir()
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copy(mnist_dir / name, directory / name)
    return directory


@pytest.fixture
def corrupt_dir(mnist_dir, tmp_path) -> Path:
    directory = tmp_path / "corrupt"
    directory.mkdir()
    for name in (TEST_IMAGES, TEST_LABELS):
        data = bytearray((mnist_dir / name).read_bytes())
        data[-20] ^= 0x01  # one flipped bit
        (directory / name).write_bytes(data)
    return directory


def test_download_verifies_and_caches(serve, good_dir, closed_port_url, mnist_test, tmp_path):
    url, requested = serve(good_dir)
    cache = tmp_path / "cache"
    ds = load_mnist(split="test", cache_dir=cache, mirrors=(url,), timeout=5)
    assert np.array_equal(ds.X, mnist_test.X) and np.array_equal(ds.y, mnist_test.y)
    assert sorted(requested) == [f"/{TEST_IMAGES}", f"/{TEST_LABELS}"]
    assert ds.info["downloaded_from"] == {n: url + n for n in (TEST_IMAGES, TEST_LABELS)}
    for name in (TEST_IMAGES, TEST_LABELS):
        assert hashlib.md5((cache / name).read_bytes()).hexdigest() == MNIST_FILES[name]
    assert sorted(p.name for p in cache.iterdir()) == sorted([TEST_IMAGES, TEST_LABELS])

    # a second load reads the cache: no server is reachable and nothing is requested
    again = load_mnist(split="test", cache_dir=cache, mirrors=(closed_port_url,), timeout=5)
    assert np.array_equal(again.X, ds.X) and again.info["downloaded_from"] == {}
    assert len(requested) == 2


def test_download_goes_to_the_default_cache(serve, good_dir, monkeypatch, tmp_path):
    url, _ = serve(good_dir)
    monkeypatch.setenv("TINYLENS_DATA_DIR", str(tmp_path / "data"))
    load_mnist(split="test", mirrors=(url,), timeout=5)
    assert (tmp_path / "data" / "mnist" / TEST_IMAGES).is_file()


def test_corrupt_and_missing_mirrors_are_skipped(serve, good_dir, corrupt_dir, tmp_path):
    bad_url, bad_requested = serve(corrupt_dir)
    empty = tmp_path / "empty"
    empty.mkdir()
    empty_url, _ = serve(empty)  # answers 404
    good_url, _ = serve(good_dir)
    ds = load_mnist(
        split="test",
        cache_dir=tmp_path / "cache",
        mirrors=(bad_url, empty_url, good_url),
        timeout=5,
    )
    assert ds.n == 10_000
    assert set(ds.info["downloaded_from"].values()) == {
        good_url + TEST_IMAGES,
        good_url + TEST_LABELS,
    }
    assert sorted(bad_requested) == [f"/{TEST_IMAGES}", f"/{TEST_LABELS}"]  # it was tried first


def test_only_corrupt_mirrors_is_a_checksum_error(serve, corrupt_dir, tmp_path):
    url, _ = serve(corrupt_dir)
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as exc:
        load_mnist(split="test", cache_dir=cache, mirrors=(url, url), timeout=5)
    message = one_line(exc)
    assert "download failed" in message and "checksum mismatch" in message
    assert f"expected {MNIST_FILES[TEST_IMAGES]}" in message
    assert not cache.exists() or not any(cache.iterdir())  # nothing corrupt was cached


def test_unreachable_mirror_is_a_one_line_error(closed_port_url, tmp_path):
    with pytest.raises(DataError) as exc:
        load_mnist(
            tmp_path / "nowhere",
            split="test",
            cache_dir=tmp_path / "cache",
            mirrors=(closed_port_url,),
            timeout=5,
        )
    message = one_line(exc)
    assert message.startswith(
        f"MNIST test files not found in {tmp_path / 'nowhere'} or {tmp_path / 'cache'} "
        f"and download failed ({closed_port_url}{TEST_IMAGES}: "
    )
    assert f"put {TEST_IMAGES} and {TEST_LABELS} in a directory" in message
