"""The hardened IDX reader (MNIST's file format) and folders of the four MNIST-named IDX files.

Every malformed file is a one-line `DataError`; the header is validated before anything is
allocated, and decompressed data is capped so a gzip bomb cannot exhaust memory or time.
"""
from __future__ import annotations

import contextlib
import gzip
import math
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from genlab.data.dataset import REFETCH_HINT, Dataset, class_names_for
from genlab.errors import DataError

# The four IDX files of MNIST and Fashion-MNIST (same names for both), without ".gz".
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

# The most data one IDX file may hold (decompressed) unless GENLAB_MAX_IDX_BYTES says otherwise.
# It bounds memory, not validity: MNIST's train images are 47 MB, EMNIST's largest file 547 MB.
# A file over it is "too large", never "corrupt" (issue 11: a genuine 78 MB file was called
# corrupt under the old 64 MB limit, and no re-download could fix that).
MAX_IDX_BYTES = 1024 * 1024 * 1024
LIMIT_VARIABLE = "GENLAB_MAX_IDX_BYTES"
# Bytes after the data are an error whatever their number; counting more than this many for
# the message would only let trailing junk in a gzip bomb keep us busy.
MAX_EXTRA_BYTES_COUNTED = 16 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024

GZIP_MAGIC = b"\x1f\x8b"
IDX_UNSIGNED_BYTE = 0x08
IDX_TYPE_BYTES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)  # every type the IDX format defines
IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}
IDX_KIND = {1: "labels", 3: "images"}


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
def open_decompressed(path: Path) -> Iterator[BinaryIO]:
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
        raise DataError(f"corrupt IDX file {path}: dimensions {format_dims(dims)} contain a zero; {REFETCH_HINT}")
    return dims


def format_dims(dims: tuple[int, ...]) -> str:
    return " x ".join(str(size) for size in dims)


def max_idx_bytes() -> int:
    """The size limit for one IDX file: $GENLAB_MAX_IDX_BYTES, else MAX_IDX_BYTES."""
    text = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not text:
        return MAX_IDX_BYTES
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{LIMIT_VARIABLE}={text!r} is not a positive whole number of bytes; unset it or set e.g. {LIMIT_VARIABLE}={2 * MAX_IDX_BYTES}")
    return value


def _read_growing(stream: BinaryIO, size: int) -> bytearray:
    # For gzip data the header's size cannot be checked before decompressing, so the buffer
    # grows with the bytes that really arrive: a header that only claims a huge size costs nothing.
    buffer = bytearray()
    while len(buffer) < size:
        chunk = stream.read(min(CHUNK_BYTES, size - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer


def read_idx(path: str | os.PathLike, *, max_bytes: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip or raw, told apart by the gzip magic bytes) into a uint8 array.

    The header is validated before anything is allocated (for a raw file, against the file's
    size), the data is read exactly once, and no more than `max_bytes` (default: see
    `max_idx_bytes`) of decompressed data is accepted; a valid file over that limit is refused
    as too large, naming the variable that raises the limit.
    """
    path = Path(path)
    limit = max_idx_bytes() if max_bytes is None else max_bytes
    with open_decompressed(path) as stream:
        dims = _read_idx_header(stream, path, _expected_ndim(path))
        size = math.prod(dims)  # Python int: no overflow for absurd headers
        compressed = isinstance(stream, gzip.GzipFile)
        if not compressed:
            # A raw file's size is known: a header that disagrees with it is corrupt, said now.
            following = os.fstat(stream.fileno()).st_size - stream.tell()
            if following < size:
                raise DataError(f"truncated IDX file {path}: header promises {size} data bytes ({format_dims(dims)}) but only {following} follow; {REFETCH_HINT}")
            if following > size:
                raise DataError(f"corrupt IDX file {path}: has {following - size} extra bytes after the {size} the header describes; {REFETCH_HINT}")
        if size > limit:
            raise DataError(f"IDX file {path} is too large: its header declares {format_dims(dims)} = {size:,} bytes, over genlab's "
                            f"limit of {limit:,} bytes per IDX file; set {LIMIT_VARIABLE}={size} (or more) to load it")
        if compressed:
            buffer = _read_growing(stream, size)
            filled = len(buffer)
        else:
            buffer = bytearray(size)  # exactly what the file holds, checked above
            filled = _read_into(stream, buffer)
        if filled < size:
            raise DataError(f"truncated IDX file {path}: header promises {size} data bytes ({format_dims(dims)}) but only {filled} follow; {REFETCH_HINT}")
        counted = min(limit, MAX_EXTRA_BYTES_COUNTED)
        extra = _count_remaining(stream, counted)
        if extra > counted:
            raise DataError(f"corrupt IDX file {path}: has more than {counted} extra bytes after the {size} the header describes; {REFETCH_HINT}")
        if extra:
            raise DataError(f"corrupt IDX file {path}: has {extra} extra bytes after the {size} the header describes; {REFETCH_HINT}")
    return np.frombuffer(buffer, dtype=np.uint8).reshape(dims)


def read_idx_shape(path: str | os.PathLike) -> tuple[int, ...]:
    """The dimensions an IDX file's header declares, without reading its data."""
    path = Path(path)
    with open_decompressed(path) as stream:
        return _read_idx_header(stream, path, _expected_ndim(path))


def idx_file(folder: Path, base: str) -> Path | None:
    """The .gz or decompressed form of one IDX file in `folder`, preferring the .gz."""
    for candidate in (folder / f"{base}.gz", folder / base):
        if candidate.is_file():
            return candidate
    return None


def missing_idx_files(folder: Path) -> list[str]:
    return [f"{base}[.gz]" for base in IDX_FILES.values() if idx_file(folder, base) is None]


def load_idx_folder(name: str, folder: Path, source: str) -> Dataset:
    missing = missing_idx_files(folder)
    if missing:
        raise DataError(f"IDX folder {folder} lacks {', '.join(missing)}; add the missing files or pass another --data-dir")
    paths = {key: idx_file(folder, base) for key, base in IDX_FILES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if len(images) != len(labels):
            raise DataError(f"{folder}: {paths[f'x_{split}'].name} has {len(images)} images but {paths[f'y_{split}'].name} has {len(labels)} labels; the files do not belong together, {REFETCH_HINT}")
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise DataError(f"{folder}: train images are {format_dims(arrays['x_train'].shape[1:])} but test images are {format_dims(arrays['x_test'].shape[1:])}; the files do not belong together")
    class_names = class_names_for(name, np.concatenate([arrays["y_train"], arrays["y_test"]]), folder)
    return Dataset(
        name=name,
        x_train=arrays["x_train"][..., np.newaxis],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"][..., np.newaxis],
        y_test=arrays["y_test"].astype(np.int64),
        class_names=class_names,
        source=source,
    )
