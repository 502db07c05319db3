"""Shared fixtures for genlab's tests.

The Keras backend must be chosen before anything imports keras, so the environment is set at
the top of this file (pytest imports conftest.py before the test modules).

Training tests use the embedded `mnist-5k` dataset (4000 train / 1000 test real digits, no
network, no GENLAB_DATA_DIR needed) and tiny settings, so the whole suite stays in minutes on a
small CPU machine.
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import contextlib  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402

# Tiny, fast settings per family (mnist-5k: 4000 training images).
TINY: dict[str, dict[str, Any]] = {
    "classifier": dict(dataset="mnist-5k", epochs=1, batch_size=128),
    "ae": dict(dataset="mnist-5k", epochs=1, batch_size=256),
    "dae": dict(dataset="mnist-5k", epochs=1, batch_size=256),
    "vae": dict(dataset="mnist-5k", epochs=1, batch_size=256),
    "gan": dict(dataset="mnist-5k", steps=6, batch_size=16, sample_every=3, checkpoint_every=3, log_every=2,
                sample_grid=16),
    "cgan": dict(dataset="mnist-5k", steps=6, batch_size=16, sample_every=3, checkpoint_every=3, log_every=2,
                 sample_grid=20),
    "wgan-gp": dict(dataset="mnist-5k", steps=6, batch_size=16, n_critic=2, sample_every=3, checkpoint_every=3,
                    log_every=2, sample_grid=16),
}


def tiny_run(family: str, out: str | Path, *, preset: str = "default", **overrides):
    """Train `family` with tiny settings into the (new) folder `out`; returns the genlab Run."""
    from genlab import api

    settings = dict(TINY[family])
    settings.update(overrides)
    return api.train(family, preset=preset, overrides=settings, out=out, verbose=0, print_summary=False)


@contextlib.contextmanager
def raises_one_line(error_class, match: str):
    """pytest.raises(error_class, match=...) that also insists the message is a single line."""
    with pytest.raises(error_class, match=match) as caught:
        yield caught
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message, f"not one line: {message!r}"


def cli_error(capsys) -> str:
    """The stderr of the last genlab.cli.main call, checked to be exactly one 'genlab: error:' line."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert lines[0].startswith("genlab: error: "), lines[0]
    return lines[0]


@pytest.fixture(autouse=True)
def fresh_data_sources():
    """genlab.data decides each dataset's source once per process (and remembers a failed
    download); every test starts without such decisions."""
    from genlab import data

    data.reset_sources()
    yield


@pytest.fixture(scope="session")
def real_mnist_dir() -> Path:
    """The folder with the full MNIST (from $GENLAB_DATA_DIR); tests needing it skip when absent."""
    folder = os.environ.get("GENLAB_DATA_DIR")
    if not folder or not (Path(folder) / "mnist").is_dir():
        pytest.skip("real MNIST not available: set GENLAB_DATA_DIR to a folder holding mnist/")
    return Path(folder)
