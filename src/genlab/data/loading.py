"""`load`: the one entry point, for a known dataset name or a path."""
from __future__ import annotations

import os
from pathlib import Path

from genlab.data import mondrian
from genlab.data.dataset import GENERATED, KNOWN, Dataset
from genlab.data.folders import check_options, conform, load_image_folder
from genlab.data.idx import IDX_FILES, idx_file, load_idx_folder
from genlab.data.lookup import canonical_name, dataset_value_problem, unknown_name_message
from genlab.data.npz import load_npz
from genlab.data.sources import load_known
from genlab.errors import DataError
from genlab.paths import describe_path_problem, shown_path


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.startswith((".", "~")) or Path(text).suffix != ""


def _expanded(text: str) -> Path:
    """`text` with ~ expanded, as a Path; left as typed otherwise, so messages show it as typed."""
    if not text.startswith("~"):
        return Path(text)
    expanded = os.path.expanduser(text)
    if expanded.startswith("~"):   # "~someone/..." for a user this machine does not know
        raise DataError(f"cannot expand {shown_path(text)}: no such user's home folder here; write the full path")
    return Path(expanded)


def _exists(path: Path) -> bool:
    """Path.exists, except that a path the system refuses to look up (a name too long...) counts
    as there: `_path_problem` then says what is wrong with it, instead of an OSError traceback."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return True


def _path_problem(path: Path) -> str | None:
    """Why `path` cannot be loaded as a dataset, or None. Says what is true about it: a device
    or FIFO exists, so "no such file or folder" would send the user looking for the wrong thing."""
    problem = describe_path_problem(path, "file or folder")
    if problem is not None:
        return f"{problem}; pass a folder of images, a folder of IDX files or an .npz file"
    if path.is_dir():
        try:   # opening the listing is enough to learn it is refused; nothing is read yet
            os.scandir(path).close()
        except OSError as error:
            return (f"cannot list the folder {shown_path(path)} ({error.strerror or type(error).__name__}); "
                    "make it readable (e.g. chmod u+rx) or pass another folder")
    elif path.suffix.lower() != ".npz":
        return (f"cannot load {shown_path(path)}: unsupported file type; pass a dataset name ({', '.join(KNOWN)}), "
                "a folder of images, a folder of IDX files or an .npz file")
    return None


def dataset_problem(name_or_path: str | os.PathLike) -> str | None:
    """Why `load` would refuse this dataset value at once, or None: an empty or garbled value,
    an unknown name, a path to nothing or to something that is neither a folder nor an .npz.
    Reads no dataset. genlab.config.resolve calls it so that a new run refuses a bad dataset
    before its run folder is made; a known name is fine here even when not yet downloaded."""
    if isinstance(name_or_path, os.PathLike):
        return _path_problem(_expanded(os.fspath(name_or_path)))
    problem = dataset_value_problem(name_or_path)
    if problem is not None or canonical_name(name_or_path) is not None:
        return problem
    path = _expanded(name_or_path)
    if _exists(path) or _looks_like_path(name_or_path):
        return _path_problem(path)
    return unknown_name_message(name_or_path)


def _load_path(path: Path, image_size: int | None, channels: int | None, seed: int) -> Dataset:
    problem = _path_problem(path)
    if problem is not None:
        raise DataError(problem)
    if path.is_dir():
        present = [base for base in IDX_FILES.values() if idx_file(path, base) is not None]
        if present:  # a folder of IDX files: load it like MNIST, reporting any missing file
            name = canonical_name(path.name) or path.name
            return load_idx_folder(name, path, source=str(path))
        return load_image_folder(path, image_size, channels, seed)
    return load_npz(path, seed=seed)


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
        dataset = _load_path(_expanded(os.fspath(name_or_path)), image_size, channels, seed)
    else:
        problem = dataset_value_problem(name_or_path)
        if problem is not None:
            raise DataError(problem)
        text = str(name_or_path)
        name = canonical_name(text)
        if name in GENERATED and image_size in mondrian.DATASETS.values():
            # Paintings are drawn at either size (sharp lines), not resized from the other.
            name = next(other for other, size in mondrian.DATASETS.items() if size == image_size)
        if name is not None:
            dataset = load_known(name, data_dir, download)
        elif _exists(_expanded(text)) or _looks_like_path(text):
            dataset = _load_path(_expanded(text), image_size, channels, seed)
        else:
            raise DataError(unknown_name_message(text))
    return conform(dataset, image_size, channels)


def load_configured(config, data_dir: str | os.PathLike | None = None) -> Dataset:
    """The dataset a family's config trains on: `config.dataset` at the config's `image_size` and
    `channels` where the family has those keys and they are set. Training, evaluation, likelihood,
    out-of-distribution scores and the explorer all load a run's data through here, so a run
    trained at 32 x 32 RGB is measured on the same 32 x 32 RGB images it learnt."""
    return load(config.dataset, data_dir, image_size=getattr(config, "image_size", None),
                channels=getattr(config, "image_channels", None))
