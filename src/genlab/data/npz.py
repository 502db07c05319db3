"""The hardened .npz reader: refuses zip bombs and pickled objects, converts pixels to uint8."""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from genlab.data.dataset import Dataset, class_names_for, split_indices
from genlab.errors import DataError

# Refuse .npz archives that would inflate beyond this (zip bombs, or not a dataset at all).
MAX_NPZ_BYTES = 4 * 1024 * 1024 * 1024


def to_uint8_images(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise DataError(f"{what} has shape {array.shape}; expected N x H x W or N x H x W x C with C = 1 or 3 (channels last)")
    if array.shape[0] == 0:
        raise DataError(f"{what} holds no images; pass a file with at least one image per split")
    if 0 in array.shape:   # e.g. (40, 0, 28): images without pixels, whose min() would be a numpy traceback
        raise DataError(f"{what} has shape {array.shape}, with an empty dimension; images need at least 1 x 1 pixels")
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise DataError(f"{what} has dtype {array.dtype}; expected uint8 pixels or floats in [0, 1]")
    if np.issubdtype(array.dtype, np.floating) and not np.isfinite(array).all():
        raise DataError(f"{what} contains NaN or infinite pixels; clean the data before loading it")
    low, high = float(array.min()), float(array.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        return np.rint(array * 255.0).astype(np.uint8)
    if low >= 0.0 and high <= 255.0:
        return np.rint(array).astype(np.uint8)
    raise DataError(f"{what} has pixel values from {low:g} to {high:g}; expected 0..255 or floats in [0, 1]")


def to_labels(array: np.ndarray | None, count: int, what: str) -> np.ndarray:
    if array is None:
        return np.zeros(count, dtype=np.int64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1 or len(array) != count:
        raise DataError(f"{what} has shape {array.shape}; expected one label per image ({count})")
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating) or array.dtype == np.bool_):
        raise DataError(f"{what} has dtype {array.dtype}; expected integer class labels")
    labels = array.astype(np.int64)
    if not np.array_equal(labels, array) or (labels.size and labels.min() < 0):
        raise DataError(f"{what} must hold non-negative whole numbers (class indices)")
    return labels


def read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise DataError(f"{path} is not a valid .npz archive ({error}); save it with numpy.savez") from error
    if inflated > MAX_NPZ_BYTES:
        raise DataError(f"{path} would inflate to {inflated} bytes, over genlab's {MAX_NPZ_BYTES // 2**30} GB limit; use a smaller dataset")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as error:
        # allow_pickle=False: loading an object array would mean unpickling, i.e. running code.
        if "pickle" in str(error) or "Object arrays" in str(error):
            raise DataError(f"{path} holds Python object arrays, which genlab refuses to unpickle for safety; re-save it with plain numeric arrays") from error
        raise DataError(f"{path} is not a valid .npz archive ({error}); save it with numpy.savez") from error
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path} is not a valid .npz archive ({error}); save it with numpy.savez") from error


def load_npz(path: Path, name: str | None = None, seed: int = 0, source: str | None = None) -> Dataset:
    arrays = read_npz(path)
    where = f"{path}"
    if {"x_train", "x_test"} <= arrays.keys():
        if ("y_train" in arrays) != ("y_test" in arrays):
            raise DataError(f"{path} has only one of y_train and y_test; include both or neither")
        x_train = to_uint8_images(arrays["x_train"], f"{where}[x_train]")
        x_test = to_uint8_images(arrays["x_test"], f"{where}[x_test]")
        y_train = to_labels(arrays.get("y_train"), len(x_train), f"{where}[y_train]")
        y_test = to_labels(arrays.get("y_test"), len(x_test), f"{where}[y_test]")
    elif "images" in arrays:
        images = to_uint8_images(arrays["images"], f"{where}[images]")
        labels = to_labels(arrays.get("labels"), len(images), f"{where}[labels]")
        train, test = split_indices(len(images), seed)
        x_train, x_test, y_train, y_test = images[train], images[test], labels[train], labels[test]
    else:
        found = ", ".join(sorted(arrays)) or "none"
        raise DataError(f"{path} has keys {found}; expected x_train, y_train, x_test, y_test or images (+ labels)")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{path}: x_train images are {x_train.shape[1:]} but x_test images are {x_test.shape[1:]}; they must match")
    name = name or path.stem
    class_names = _npz_class_names(arrays, name, np.concatenate([y_train, y_test]), path)
    return Dataset(name, x_train, y_train, x_test, y_test, class_names, source=source or str(path))


def _npz_class_names(arrays: dict[str, np.ndarray], name: str, labels: np.ndarray, path: Path) -> tuple[str, ...]:
    if "class_names" not in arrays:
        return class_names_for(name, labels, path)
    names = tuple(str(entry) for entry in np.asarray(arrays["class_names"]).ravel())
    if labels.size and labels.max() >= len(names):   # the names bound the labels: no class name is built from a label
        raise DataError(f"{path}: label {labels.max()} has no entry in class_names ({len(names)} names); fix class_names")
    return names
