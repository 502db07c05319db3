"""Datasets: MNIST, Fashion-MNIST, the embedded mnist-5k, the generated Mondrian paintings,
image folders and .npz files.

`load(name_or_path)` returns a `Dataset` of uint8 images shaped N x H x W x C and int64 labels;
`to_float` is the one conversion of those pixels to float32 in [0, 1].

Where the known datasets come from is the lookup order in `lookup.py` (`locate` lists it),
then a download from the public mirrors into genlab's cache, checked against SHA-256 sums.
Offline and not cached, `mnist` falls back to `mnist-5k` (5000 real MNIST digits shipped inside
genlab) with a loud warning, so that a first run on a laptop without internet works.

Every user-caused problem raises `DataError` with a one-line message; corrupt files never
surface as numpy or gzip tracebacks. Keras and TensorFlow are never imported here.

One module per concern: `dataset` (the Dataset, `to_float`), `idx` and `npz` (the hardened
readers), `images` (one picture, size-checked before decoding), `folders` (image folders,
resizing, channels), `lookup` (where to look), `download`,
`embedded` (mnist-5k), `mondrian` (the seeded paintings, 64 and 32 pixels), `checksums` (`verify`, `describe`), `sources` (known datasets),
`loading` (`load`). This package re-exports the names other code uses.
"""
from __future__ import annotations

import logging

from genlab.data.checksums import KERAS_MNIST_NPZ_SHA256, SHA256_GZ, SHA256_RAW, describe, verify
from genlab.data.dataset import (CLASS_NAMES, DIGIT_NAMES, GENERATED, IDX_DATASETS, KNOWN, REFETCH_HINT, TEST_FRACTION,
                                 Dataset, to_float)
from genlab.data.download import FETCH_TIMEOUT_SECONDS, MAX_DOWNLOAD_BYTES, MIRRORS, _fetch  # noqa: F401 (loading looks it up here: tests replace it)
from genlab.data.embedded import MNIST_5K_SOURCE
from genlab.data.folders import DEFAULT_IMAGE_SIZE, IMAGE_SUFFIXES
from genlab.data.idx import IDX_FILES, MAX_IDX_BYTES, read_idx, read_idx_shape
from genlab.data.loading import dataset_problem, load, load_configured
from genlab.data.lookup import cache_root, candidate_folders, dataset_value_problem, locate
from genlab.data.npz import MAX_NPZ_BYTES
from genlab.data.sources import DataFallbackWarning, reset_sources
from genlab.errors import DataError

logger = logging.getLogger(__name__)

__all__ = [
    "CLASS_NAMES", "DEFAULT_IMAGE_SIZE", "DIGIT_NAMES", "DataError", "DataFallbackWarning", "Dataset",
    "FETCH_TIMEOUT_SECONDS", "GENERATED", "IDX_DATASETS", "IDX_FILES", "IMAGE_SUFFIXES", "KERAS_MNIST_NPZ_SHA256", "KNOWN",
    "MAX_DOWNLOAD_BYTES", "MAX_IDX_BYTES", "MAX_NPZ_BYTES", "MIRRORS", "MNIST_5K_SOURCE", "REFETCH_HINT",
    "SHA256_GZ", "SHA256_RAW", "TEST_FRACTION", "cache_root", "candidate_folders", "dataset_problem", "dataset_value_problem",
    "describe", "load", "load_configured", "locate",
    "read_idx", "read_idx_shape", "reset_sources", "to_float", "verify",
]
