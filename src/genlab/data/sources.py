"""Loading the known datasets (mnist, fashion-mnist, mnist-5k): from wherever the lookup order
finds them, else downloaded when allowed, else (mnist only) the embedded mnist-5k.

The source is decided once per process for each name and set of candidate places (which
encode `data_dir` and the environment), and said once: an INFO line on logger `genlab.data`
naming the source, and for the mnist-5k fallback one WARNING line. A failed download is
remembered, so an offline process does not retry it at every load (issue 12). A remembered
location is used again only while it still holds the dataset. `reset_sources()` forgets it all.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from genlab.data import embedded, mondrian
from genlab.data.dataset import CLASS_NAMES, GENERATED, Dataset
from genlab.data.download import DownloadFailed, download
from genlab.data.idx import load_idx_folder, missing_idx_files
from genlab.data.lookup import cache_root, candidate_folders, explicit_dir_message, is_complete, not_found_message
from genlab.data.npz import load_npz
from genlab.errors import DataError

logger = logging.getLogger("genlab.data")


class DataFallbackWarning(UserWarning):
    """No longer emitted: the mnist-5k fallback is one WARNING line on logger `genlab.data`.
    Kept so that code importing it keeps working."""


@dataclass(frozen=True)
class _Resolution:
    label: str | None = None  # where the dataset was found, e.g. "GENLAB_DATA_DIR"
    path: Path | None = None
    download_failure: str | None = None  # why no mirror answered, remembered for the process


_RESOLVED: dict[tuple, _Resolution] = {}


def reset_sources() -> None:
    """Forget every decided source and failed download in this process, so the next load looks
    (and if need be downloads, and says so) again. Tests call it between cases."""
    _RESOLVED.clear()


def _load_found(name: str, path: Path, label: str) -> Dataset:
    if name == "mnist-5k":
        return embedded.load_mnist_5k(path)
    if path.suffix == ".npz":
        return load_npz(path, name=name)
    if missing_idx_files(path):  # only mnist.npz in a dataset folder
        return load_npz(path / "mnist.npz", name=name)
    return load_idx_folder(name, path, source=f"{path} (downloaded)" if label == "downloaded" else str(path))


def _announce(dataset: Dataset, label: str, requested: str) -> None:
    instead = f", instead of {requested}" if requested != dataset.name else ""
    logger.info("%s: %d train / %d test images from %s (%s%s)", dataset.name, len(dataset.x_train),
                len(dataset.x_test), dataset.source, label, instead)


def load_generated(name: str) -> Dataset:
    """A dataset genlab makes itself (mondrian, mondrian-32): the same arrays on every machine,
    wherever data_dir points and whether or not downloads are allowed."""
    x_train, y_train, x_test, y_test = mondrian.load(mondrian.DATASETS[name])
    return Dataset(name, x_train, y_train, x_test, y_test, CLASS_NAMES[name], source=mondrian.SOURCE)


def load_known(name: str, data_dir: str | os.PathLike | None, download_allowed: bool) -> Dataset:
    if name in GENERATED:
        return load_generated(name)
    candidates = candidate_folders(name, data_dir)
    key = (name, tuple(candidates))
    remembered = _RESOLVED.get(key)
    if remembered is not None:
        if remembered.path is not None and is_complete(name, remembered.path):
            return _load_found(name, remembered.path, remembered.label)
        if remembered.download_failure is not None and download_allowed:
            return _without_download(name, remembered.download_failure, first_time=False)
    for label, path in candidates:
        if is_complete(name, path):
            dataset = _load_found(name, path, label)
            _RESOLVED[key] = _Resolution(label, path)
            _announce(dataset, label, name)
            return dataset
    if name == "mnist-5k":
        raise DataError(embedded.missing_message())
    if data_dir is not None:
        raise DataError(explicit_dir_message(name, data_dir))
    if not download_allowed:
        raise DataError(not_found_message(name, data_dir))
    folder = cache_root() / name
    try:
        download(name, folder)
    except DownloadFailed as error:
        _RESOLVED[key] = _Resolution(download_failure=str(error))
        return _without_download(name, str(error), first_time=True)
    dataset = _load_found(name, folder, "downloaded")
    # The download landed in the genlab cache, one of the candidates: later loads read it there.
    _RESOLVED[key] = _Resolution("genlab cache", folder)
    _announce(dataset, "downloaded", name)
    return dataset


def _without_download(name: str, failure: str, first_time: bool) -> Dataset:
    """No mirror answered: mnist falls back to mnist-5k, said once; anything else is an error."""
    if name != "mnist":
        raise DataError(f"could not download {name} ({failure}) and it is not on this machine; pass --data-dir or set GENLAB_DATA_DIR to a folder with its four IDX files")
    asset = embedded.asset_path()
    if not asset.is_file():
        raise DataError(f"could not download mnist ({failure}) and {embedded.missing_message()}")
    if first_time:
        logger.warning("could not download mnist (%s) and it is not on this machine; FALLING BACK to the embedded "
                       "mnist-5k (5000 digits) for this process: pass --data-dir or set GENLAB_DATA_DIR for the full MNIST", failure)
    dataset = embedded.load_mnist_5k(asset)
    if first_time:
        _announce(dataset, embedded.LABEL, name)
    return dataset
