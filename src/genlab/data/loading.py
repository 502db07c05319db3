"""`load`: the one entry point, for a known dataset name or a path."""
from __future__ import annotations

import os
from pathlib import Path

from genlab.data.dataset import KNOWN, Dataset
from genlab.data.folders import check_options, conform, load_image_folder
from genlab.data.idx import IDX_FILES, idx_file, load_idx_folder
from genlab.data.lookup import canonical_name, unknown_name_message
from genlab.data.npz import load_npz
from genlab.data.sources import load_known
from genlab.errors import DataError


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.startswith((".", "~")) or Path(text).suffix != ""


def _load_path(path: Path, image_size: int | None, channels: int | None, seed: int) -> Dataset:
    if path.is_dir():
        present = [base for base in IDX_FILES.values() if idx_file(path, base) is not None]
        if present:  # a folder of IDX files: load it like MNIST, reporting any missing file
            name = canonical_name(path.name) or path.name
            return load_idx_folder(name, path, source=str(path))
        return load_image_folder(path, image_size, channels, seed)
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, seed=seed)
        raise DataError(f"cannot load {path}: unsupported file type; pass a dataset name ({', '.join(KNOWN)}), a folder of images, a folder of IDX files or an .npz file")
    raise DataError(f"no such file or folder: {path}; check the path")


def load(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None, *, download: bool = True,
         image_size: int | None = None, channels: int | None = None, seed: int = 0) -> Dataset:
    """Load a known dataset by name, or a folder of images / IDX files, or an .npz file.

    A known name wins over a same-named folder in the working directory; write `./mnist` for
    the folder. `seed` picks the 90/10 split of image folders and of .npz `images`; the known
    datasets have fixed splits. `image_size` and `channels` (1 or 3) resize and convert.
    """
    check_options(image_size, channels)
    image_size = None if image_size is None else int(image_size)  # numpy integers from configs
    if isinstance(name_or_path, os.PathLike):
        dataset = _load_path(Path(name_or_path).expanduser(), image_size, channels, seed)
    else:
        text = str(name_or_path)
        name = canonical_name(text)
        if name is not None:
            dataset = load_known(name, data_dir, download)
        elif Path(text).expanduser().exists() or _looks_like_path(text):
            dataset = _load_path(Path(text).expanduser(), image_size, channels, seed)
        else:
            raise DataError(unknown_name_message(text))
    return conform(dataset, image_size, channels)
