"""mnist-5k: 5000 real MNIST digits (4000 train / 1000 test) shipped inside genlab.

`genlab/assets/mnist-5k.npz` holds x_train, y_train, x_test, y_test (uint8) with the split
fixed in the file itself (every fifth example of each digit is test), so it is the same on
every machine. Its SHA-256 is pinned in `assets/datasets.json`, like the evaluators', and is
checked at every load: a changed file is refused, because numbers measured on it would no
longer be comparable with published ones.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from genlab.data.dataset import CLASS_NAMES, Dataset
from genlab.errors import DataError

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REGISTRY_NAME = "datasets.json"
NAME = "mnist-5k"
LABEL = "embedded"
MNIST_5K_SOURCE = "embedded (genlab/assets/mnist-5k.npz)"
REINSTALL_HINT = "reinstall genlab (pip install --force-reinstall genlab, or git checkout src/genlab/assets)"


def _entry() -> dict:
    registry = ASSETS / REGISTRY_NAME
    try:
        return json.loads(registry.read_text())[NAME]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"cannot read the entry for {NAME} in {registry} ({type(error).__name__}: {error}); {REINSTALL_HINT}") from error


def asset_path() -> Path:
    """Where the embedded file should be (it may be missing from a broken install)."""
    return ASSETS / _entry()["file"]


def _verified_digest(path: Path) -> str:
    expected = _entry()["sha256"]
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()  # 0.8 MB: a few milliseconds
    except OSError as error:
        raise DataError(f"cannot read the embedded {NAME} at {path} ({error.strerror or error}); {REINSTALL_HINT}") from error
    if digest != expected:
        raise DataError(f"the embedded {NAME} file {path.name} has SHA-256 {digest[:12]}…, expected {expected[:12]}…; "
                        f"it was changed, so results on it would not be comparable: {REINSTALL_HINT}")
    return digest


@functools.lru_cache(maxsize=2)
def _arrays(path: Path, digest: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Keyed by the verified digest: decoded once per process, and again only if the file changed.
    from genlab.data.npz import read_npz

    arrays = read_npz(path)
    result = (arrays["x_train"][..., np.newaxis], arrays["y_train"].astype(np.int64),
              arrays["x_test"][..., np.newaxis], arrays["y_test"].astype(np.int64))
    for array in result:
        array.flags.writeable = False  # shared by every call; callers get copies
    return result


def sizes(path: Path) -> tuple[int, int]:
    _x_train, y_train, _x_test, y_test = _arrays(path, _verified_digest(path))
    return len(y_train), len(y_test)


def checksum_status(path: Path) -> str:
    """'ok' or 'mismatch: mnist-5k.npz', for `genlab datasets`."""
    try:
        _verified_digest(path)
    except DataError:
        return f"mismatch: {path.name}"
    return "ok"


def load_mnist_5k(path: Path) -> Dataset:
    x_train, y_train, x_test, y_test = _arrays(path, _verified_digest(path))
    return Dataset(
        name=NAME,
        x_train=x_train.copy(),  # writable, independent arrays for every caller
        y_train=y_train.copy(),
        x_test=x_test.copy(),
        y_test=y_test.copy(),
        class_names=CLASS_NAMES[NAME],
        source=MNIST_5K_SOURCE,
    )


def missing_message() -> str:
    return f"the embedded {NAME} file {asset_path()} is missing; {REINSTALL_HINT}"
