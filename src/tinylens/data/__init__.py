"""Datasets: a checked :class:`Dataset` container, synthetic tasks, arithmetic tasks, MNIST.

Importing this package imports NumPy only: scikit-learn is imported inside :func:`digits`, and
nothing is downloaded until :func:`load_mnist` is called.

>>> from tinylens.data import load_dataset, spiral
>>> train, test = spiral(500, rng=0).split(0.2, rng=1)
>>> len(train), len(test), sorted(set(test.y.tolist()))
(400, 100, [0, 1, 2])
>>> load_dataset("add", n=10, rng=0).feature_names
('x1', 'x2')
"""

from tinylens.data.arithmetic import (
    absolute,
    add,
    identity,
    is_even,
    less_than,
    maximum,
    minimum,
    negative_identity,
    parity,
    product,
    subtract,
    weighted_sum,
)
from tinylens.data.dataset import TASKS, Dataset, normalize
from tinylens.data.digits import digits
from tinylens.data.images import IMAGE_DATASETS, ImageSplit, load_image_split
from tinylens.data.mnist import (
    MIRRORS,
    MNIST_CONTENT_MD5,
    MNIST_FILES,
    MNIST_MEAN,
    MNIST_STD,
    MnistChecksumError,
    load_mnist,
    mnist_cache_dir,
    read_idx,
)
from tinylens.data.registry import DATASETS, load_dataset
from tinylens.data.splits import split_indices, train_test_split
from tinylens.data.synthetic import (
    TARGETS,
    moons,
    polynomial,
    regression_1d,
    sine,
    spiral,
    xor,
)

__all__ = [
    "DATASETS",
    "IMAGE_DATASETS",
    "MIRRORS",
    "MNIST_CONTENT_MD5",
    "MNIST_FILES",
    "MNIST_MEAN",
    "MNIST_STD",
    "TARGETS",
    "TASKS",
    "Dataset",
    "ImageSplit",
    "MnistChecksumError",
    "absolute",
    "add",
    "digits",
    "identity",
    "is_even",
    "less_than",
    "load_dataset",
    "load_image_split",
    "load_mnist",
    "maximum",
    "minimum",
    "mnist_cache_dir",
    "moons",
    "negative_identity",
    "normalize",
    "parity",
    "polynomial",
    "product",
    "read_idx",
    "regression_1d",
    "sine",
    "spiral",
    "split_indices",
    "subtract",
    "train_test_split",
    "weighted_sum",
    "xor",
]
