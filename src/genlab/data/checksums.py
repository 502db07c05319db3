"""SHA-256 sums of the known datasets, `verify` (is this copy genuine?) and `describe` (the
`genlab datasets` table)."""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import zlib
from pathlib import Path
from typing import BinaryIO

from genlab.data import embedded, mondrian
from genlab.data.dataset import GENERATED, KNOWN
from genlab.data.idx import CHUNK_BYTES, IDX_FILES, MAX_IDX_BYTES, idx_file, missing_idx_files, read_idx_shape
from genlab.data.lookup import found, not_found_message, require_known
from genlab.data.npz import read_npz
from genlab.errors import DataError

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


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def gunzip_sha256(stream: BinaryIO, limit: int = MAX_IDX_BYTES) -> str | None:
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
        return embedded.checksum_status(path)
    if path.is_file():  # Keras' mnist.npz
        return "ok" if file_sha256(path) == KERAS_MNIST_NPZ_SHA256 else f"mismatch: {path.name}"
    digests: dict[Path, str] = {}

    def digest_of(file: Path) -> str:
        if file not in digests:
            digests[file] = file_sha256(file)
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
                    if gunzip_sha256(handle) != SHA256_RAW[name][base]:
                        return f"mismatch: {gz_file.name}"
        if raw_file.is_file():
            checked += 1
            if digest_of(raw_file) != SHA256_RAW[name][base]:
                return f"mismatch: {raw_file.name}"
    if not checked and (path / "mnist.npz").is_file():
        checked += 1
        if file_sha256(path / "mnist.npz") != KERAS_MNIST_NPZ_SHA256:
            return "mismatch: mnist.npz"
    return "ok" if checked else "no checksums"


def verify(name: str, data_dir: str | os.PathLike | None = None) -> str:
    """Check the first found copy of `name` against its folder's SHA256SUMS files and genlab's
    own constants. Returns 'ok', 'mismatch: <file>' or 'no checksums'. A generated dataset
    (mondrian) is generated and its arrays checked against the SHA-256 genlab pins."""
    name = require_known(name)
    if name in GENERATED:
        size = mondrian.DATASETS[name]
        return "ok" if mondrian.digest(mondrian.load(size)) == mondrian.SHA256[size] else "mismatch: generated arrays"
    location = found(name, data_dir)
    if location is None:
        raise DataError(not_found_message(name, data_dir))
    try:
        return _checksum_status(name, location[1])
    except OSError as error:
        raise DataError(f"cannot read {location[1]} to check it: {error.strerror or error}; check the permissions") from error


def _sizes(name: str, path: Path) -> tuple[int, int]:
    if name == "mnist-5k":
        return embedded.sizes(path)
    npz = path if path.suffix == ".npz" else (path / "mnist.npz" if missing_idx_files(path) else None)
    if npz is not None:
        arrays = read_npz(npz)  # small enough (MNIST is 11 MB); npz headers are not exposed
        return len(arrays.get("y_train", arrays.get("x_train", []))), len(arrays.get("y_test", arrays.get("x_test", [])))
    counts = [read_idx_shape(idx_file(path, IDX_FILES[key]))[0] for key in ("x_train", "x_test")]
    return counts[0], counts[1]


def describe(data_dir: str | os.PathLike | None = None) -> list[dict]:
    """One row per known dataset: name, location, where (path or 'not found'), train/test
    sizes (from the file headers) and checksum status."""
    rows = []
    for name in KNOWN:
        if name in GENERATED:
            # Made on demand, so always here; `verify` generates it to check its hash (seconds).
            rows.append({"name": name, "location": "generated", "where": mondrian.SOURCE, "train": mondrian.TRAIN_COUNT,
                         "test": mondrian.TEST_COUNT, "checksums": "generated"})
            continue
        location = found(name, data_dir)
        if location is None:
            rows.append({"name": name, "location": None, "where": "not found", "train": None, "test": None, "checksums": "not found"})
            continue
        label, path = location
        where = embedded.MNIST_5K_SOURCE if name == "mnist-5k" else str(path)
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
