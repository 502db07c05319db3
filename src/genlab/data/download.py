"""Downloading MNIST / Fashion-MNIST from the public mirrors into genlab's cache: each file is
checked against its SHA-256 before it is written, and written atomically.

`genlab.data._fetch` is the one function that opens URLs and `genlab.data.MIRRORS` the one
list of mirrors; both are looked up on the package at call time, so a test that replaces
them there (monkeypatch) takes effect here too and no test can reach the network by accident.
"""
from __future__ import annotations

import http.client
import io
import logging
import sys
import urllib.request
from pathlib import Path

from genlab.data.checksums import SHA256_GZ, SHA256_RAW, gunzip_sha256, sha256_bytes
from genlab.data.idx import CHUNK_BYTES, IDX_FILES, idx_file
from genlab.errors import DataError, RunError
from genlab.io import write_bytes

logger = logging.getLogger("genlab.data")

MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
    "fashion-mnist": ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
}
MAX_DOWNLOAD_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30


class DownloadFailed(Exception):
    """Every mirror was unreachable (offline, DNS, HTTP error); the message lists why."""


def _fetch(url: str) -> bytes:
    """Download `url` with a progress bar. Tests replace `genlab.data._fetch`; nothing else opens URLs."""
    from tqdm import tqdm  # imported here so `import genlab.data` stays light

    logger.debug("downloading %s", url)
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


def _package():
    # The package's attributes are the patch points (see the module docstring).
    return sys.modules["genlab.data"]


def _download_problem(name: str, filename: str, payload: bytes) -> str | None:
    """None when `payload` is the genuine file: its own hash, or its content's hash, is known."""
    expected = SHA256_GZ[name][filename]
    actual = sha256_bytes(payload)
    if actual == expected:
        return None
    # Another gzip of the same content (Zalando's originals versus Debian's recompressed copies).
    raw_expected = SHA256_RAW.get(name, {}).get(filename.removesuffix(".gz"))
    if raw_expected and gunzip_sha256(io.BytesIO(payload)) == raw_expected:
        return None
    return f"sha256 {actual} is not {expected}"


def _download_file(name: str, filename: str) -> bytes:
    package = _package()
    failures = []
    mismatch = None
    for mirror in package.MIRRORS[name]:
        url = mirror + filename
        try:
            payload = package._fetch(url)
        except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, timeouts
            reason = getattr(error, "reason", None) or error
            failures.append(f"{url}: {' '.join(str(reason).split())}")  # one line, whatever the reason text
            logger.debug("could not download %s: %s", url, reason)
            continue
        problem = _download_problem(name, filename, payload)
        if problem is None:
            return payload
        mismatch = f"checksum mismatch for {filename} from {url}: {problem}"
        logger.warning("%s; trying the next mirror", mismatch)
    if mismatch:
        raise DataError(f"{mismatch}; nothing was cached, try again later or pass --data-dir")
    raise DownloadFailed("; ".join(failures))


def _write_cache(path: Path, payload: bytes) -> None:
    try:
        write_bytes(path, payload)
    except RunError as error:
        reason = getattr(error.__cause__, "strerror", None) or "not writable"
        raise DataError(f"cannot save the download to {path} ({reason}); set GENLAB_CACHE_DIR to a writable folder") from error


def download(name: str, folder: Path) -> None:
    """Fetch the IDX files `folder` lacks, verify each, and write each atomically.
    Raises DownloadFailed when no mirror could be reached."""
    for base in IDX_FILES.values():
        if idx_file(folder, base) is not None:
            continue
        filename = f"{base}.gz"
        payload = _download_file(name, filename)
        _write_cache(folder / filename, payload)
        logger.info("saved %s", folder / filename)
