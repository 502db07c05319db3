"""Loading the known datasets (mnist, fashion-mnist, mnist-5k) from wherever the lookup order
finds them, downloading when allowed, and falling back to mnist-5k when mnist is out of reach."""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from genlab.data import embedded
from genlab.data.dataset import Dataset
from genlab.data.download import DownloadFailed, download
from genlab.data.idx import load_idx_folder, missing_idx_files
from genlab.data.lookup import cache_root, found, not_found_message
from genlab.data.npz import load_npz
from genlab.errors import DataError

logger = logging.getLogger("genlab.data")


class DataFallbackWarning(UserWarning):
    """A requested dataset was unavailable and a smaller substitute was loaded instead."""


def _load_found(name: str, path: Path) -> Dataset:
    if name == "mnist-5k":
        return embedded.load_mnist_5k(path)
    if path.suffix == ".npz":
        return load_npz(path, name=name)
    if missing_idx_files(path):  # only mnist.npz in a dataset folder
        return load_npz(path / "mnist.npz", name=name)
    return load_idx_folder(name, path, source=str(path))


def load_known(name: str, data_dir: str | os.PathLike | None, download_allowed: bool) -> Dataset:
    location = found(name, data_dir)
    if location is not None:
        label, path = location
        logger.info("loading %s from %s (%s)", name, path, label)
        return _load_found(name, path)
    if name == "mnist-5k":
        raise DataError(embedded.missing_message())
    if not download_allowed:
        raise DataError(not_found_message(name, data_dir))
    return _download_and_load(name)


def _download_and_load(name: str) -> Dataset:
    folder = cache_root() / name
    try:
        download(name, folder)
    except DownloadFailed as error:
        if name != "mnist":
            raise DataError(f"could not download {name} ({error}) and it is not on this machine; pass --data-dir or set GENLAB_DATA_DIR to a folder with its four IDX files") from error
        message = (f"genlab: could not download mnist ({error}) and it is not cached; FALLING BACK to the "
                   "embedded mnist-5k (5000 digits), pass --data-dir or set GENLAB_DATA_DIR for the full MNIST")
        logger.warning(message)
        warnings.warn(message, DataFallbackWarning, stacklevel=4)
        asset = embedded.asset_path()
        if not asset.is_file():
            raise DataError(f"could not download mnist ({error}) and {embedded.missing_message()}") from error
        return embedded.load_mnist_5k(asset)
    return load_idx_folder(name, folder, source=f"{folder} (downloaded)")
