"""The image-data loader and its offline fallbacks, each stated in the notes."""

from __future__ import annotations

import numpy as np
import pytest

from tinylens.data import load_image_split
from tinylens.data.mnist import MnistChecksumError
from tinylens.errors import DataError, UnknownNameError


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYLENS_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path


def test_the_full_mnist_is_used_when_present(mnist_full_dir, empty_cache):
    split = load_image_split("mnist", mnist_full_dir, seed=3, download=False)
    assert split.source == "mnist" and not split.notes
    assert (split.train.n, split.test.n) == (60_000, 10_000)
    assert (split.train.name, split.test.name) == ("mnist-train", "mnist-test")
    assert split.image_shape == (28, 28)


def test_only_the_mnist_test_set_is_split_8000_2000(mnist_test_only_dir, empty_cache):
    mnist_dir = mnist_test_only_dir  # the training files are absent here, whatever the machine
    split = load_image_split("mnist", mnist_dir, seed=3, download=False)
    assert split.source == "mnist-test-split"
    assert (split.train.n, split.test.n) == (8000, 2000)
    assert split.train.image_shape == (28, 28) and split.train.n_features == 784
    assert sorted(set(split.test.y.tolist())) == list(range(10))
    assert "genuine MNIST test images split 8000 / 2000" in split.notes[0]
    again = load_image_split("mnist", mnist_dir, seed=3, download=False)
    assert np.array_equal(again.test.y, split.test.y)


def test_a_corrupt_mnist_file_is_an_error_not_a_fallback(mnist_dir, empty_cache):
    corrupt = empty_cache / "corrupt"
    corrupt.mkdir()
    (corrupt / "t10k-labels-idx1-ubyte.gz").symlink_to(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    data = bytearray((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes())
    data[-20] ^= 0x01
    (corrupt / "t10k-images-idx3-ubyte.gz").write_bytes(data)
    with pytest.raises(MnistChecksumError, match="not the original"):
        load_image_split("mnist", corrupt, download=False)  # fallback=True: still an error


def test_no_mnist_anywhere_falls_back_to_digits_and_says_so(empty_cache):
    split = load_image_split("mnist", empty_cache / "nothing", download=False)
    assert split.source == "digits" and split.train.n_features == 64
    assert "8x8 digits" in split.notes[0]
    with pytest.raises(DataError):
        load_image_split("mnist", empty_cache / "nothing", download=False, fallback=False)


def test_digits_and_unknown_names():
    split = load_image_split("digits", seed=0)
    assert split.source == "digits" and not split.notes
    assert split.train.n + split.test.n == 1797
    with pytest.raises(UnknownNameError, match="did you mean 'mnist'"):
        load_image_split("mnsit")
