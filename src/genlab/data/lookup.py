"""Where the known datasets are looked for, in order, and the names they answer to.

1. the `data_dir` argument (the dataset folder itself, or a parent holding `<name>/`): when
   given, it is the only place looked (issue 18: the user said where the data is, so a folder
   without it is an error, never a silent switch to another copy or a download),
2. `$GENLAB_DATA_DIR/<name>/`,
3. genlab's cache `$GENLAB_CACHE_DIR/<name>/`, else `$XDG_CACHE_HOME/genlab/<name>/`,
   else `~/.cache/genlab/<name>/`,
4. Keras' cache (`~/.keras/datasets/mnist.npz`, `~/.keras/datasets/fashion-mnist/`),
5. Debian's `/usr/share/datasets/fashion-mnist/` (package `dataset-fashion-mnist`).

The environment is read at call time, so a changed variable takes effect at once.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from genlab.data import embedded
from genlab.data.dataset import KNOWN
from genlab.data.idx import IDX_FILES, missing_idx_files
from genlab.errors import DataError

DEBIAN_DATASETS = Path("/usr/share/datasets")


def cache_root() -> Path:
    """genlab's download cache: $GENLAB_CACHE_DIR, else $XDG_CACHE_HOME/genlab, else ~/.cache/genlab."""
    override = os.environ.get("GENLAB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "genlab"


def keras_home() -> Path:
    # Keras honours $KERAS_HOME the same way.
    override = os.environ.get("KERAS_HOME")
    return Path(override).expanduser() if override else Path.home() / ".keras"


def canonical_name(text: str) -> str | None:
    name = text.strip().lower().replace("_", "-")
    return name if name in KNOWN else None


def require_known(name: str) -> str:
    canonical = canonical_name(name)
    if canonical is None:
        raise DataError(unknown_name_message(name))
    return canonical


def unknown_name_message(text: str) -> str:
    close = difflib.get_close_matches(text.strip().lower().replace("_", "-"), KNOWN, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (f"unknown dataset '{text}': {hint}known datasets are {', '.join(KNOWN)}; "
            "or pass a folder of images, a folder of IDX files or an .npz file")


# Longer than any path a file system takes (Linux's PATH_MAX is 4096): surely a pasted mistake.
MAX_DATASET_TEXT = 4096


def dataset_value_problem(text, where: str | None = None) -> str | None:
    """What is wrong with `text` as a dataset value, before it is looked up, or None. `where`
    (e.g. "--set") is named in the message when given.

    Why: an empty value is the path of the current folder to pathlib (Path("") == Path(".")),
    so `--set dataset=` trained on whatever images sat in the working directory. Unprintable
    characters (a pasted newline, a NUL) and absurd lengths are refused as well: no dataset
    name holds them, and the file system calls would fail with tracebacks.
    """
    fix = f"pass a dataset name ({', '.join(KNOWN)}), a folder of images, a folder of IDX files or an .npz file"
    if not isinstance(text, str):
        problem = f"dataset must be text, got {type(text).__name__} {text!r}"
    elif not text.strip():
        problem, fix = f"dataset is empty ({text!r})", f"{fix} (./ for the current folder)"
    elif not text.isprintable():
        problem, fix = f"dataset {text!r} contains an unprintable character (a newline, tab, NUL...)", f"check the quoting, or {fix}"
    elif len(text) > MAX_DATASET_TEXT:
        problem = f"dataset is {len(text)} characters long, more than any path can be ({MAX_DATASET_TEXT})"
    else:
        return None
    return f"{problem}{f' in {where}' if where else ''}; {fix}"


def candidate_folders(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where `name` may live, best first, as (label, path). Reads the environment at call time.

    A path is a dataset folder, except Keras' `mnist.npz` and the embedded mnist-5k, which are files.
    An explicit `data_dir` is the only place looked for mnist and fashion-mnist; mnist-5k is
    always the embedded file.
    """
    name = require_known(name)
    if name == "mnist-5k":
        return [(embedded.LABEL, embedded.asset_path())]
    candidates: list[tuple[str, Path]] = []
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        candidates.append(("data_dir", folder / name))
        # The folder itself may be the dataset folder, unless it is plainly another dataset's
        # (MNIST and Fashion-MNIST use the very same file names).
        if folder.name.lower() not in KNOWN or folder.name.lower() == name:
            candidates.append(("data_dir", folder))
        return candidates
    environment_dir = os.environ.get("GENLAB_DATA_DIR")
    if environment_dir:
        candidates.append(("GENLAB_DATA_DIR", Path(environment_dir).expanduser() / name))
    candidates.append(("genlab cache", cache_root() / name))
    if name == "mnist":
        candidates.append(("keras cache", keras_home() / "datasets" / "mnist.npz"))
    else:
        candidates.append(("keras cache", keras_home() / "datasets" / "fashion-mnist"))
        candidates.append(("debian", DEBIAN_DATASETS / "fashion-mnist"))
    return candidates


def is_complete(name: str, path: Path) -> bool:
    if name == "mnist-5k":
        return path.is_file()
    if path.suffix == ".npz":
        return path.is_file()
    if not path.is_dir():
        return False
    if not missing_idx_files(path):
        return True
    return name == "mnist" and (path / "mnist.npz").is_file()


def locate(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path, bool]]:
    """Every place `name` is looked for, in order, as (label, path, holds the complete dataset)."""
    name = require_known(name)
    return [(label, path, is_complete(name, path)) for label, path in candidate_folders(name, data_dir)]


def found(name: str, data_dir: str | os.PathLike | None) -> tuple[str, Path] | None:
    """The first place in the lookup order that holds the complete dataset, as (label, path)."""
    for label, path, complete in locate(name, data_dir):
        if complete:
            return label, path
    return None


def not_found_message(name: str, data_dir: str | os.PathLike | None) -> str:
    if data_dir is not None and name != "mnist-5k":
        return explicit_dir_message(name, data_dir)
    looked = []
    for _label, path, _complete in locate(name, data_dir):
        missing = missing_idx_files(path) if path.is_dir() else []
        looked.append(f"{path} (lacks {', '.join(missing)})" if path.is_dir() else str(path))
    places = "; ".join(looked) if looked else "nowhere"
    return (f"{name} not found (looked in: {places}); pass --data-dir or set GENLAB_DATA_DIR to a "
            "folder with its four IDX files, or allow the download")


def explicit_dir_message(name: str, data_dir: str | os.PathLike) -> str:
    """`data_dir` lacks `name`: which files were expected where, and what is missing from a partial copy."""
    folder = Path(data_dir).expanduser()
    places = [path for _label, path in candidate_folders(name, folder)]
    expected = ", ".join(f"{base}[.gz]" for base in IDX_FILES.values()) + (" (or Keras' mnist.npz)" if name == "mnist" else "")
    partial = [f"{path} lacks {', '.join(missing_idx_files(path))}" for path in places
               if path.is_dir() and len(missing_idx_files(path)) < len(IDX_FILES)]
    found_part = f" ({'; '.join(partial)})" if partial else ""
    return (f"{folder} has no {name}: expected {expected} in {' or '.join(str(path) for path in places)}{found_part}; "
            "put the files there, or drop --data-dir to use GENLAB_DATA_DIR, the caches or a download")
