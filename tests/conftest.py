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
import re  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_family_source() -> tuple[str, str]:
    """(file name, source) of the README's "Add a model family" example: the first ```python block
    of that section, whose first line names the file (# src/genlab/families/NAME.py)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Add a model family", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "README.md's 'Add a model family' section has no ```python block"
    first, _, source = block.group(1).partition("\n")
    name = re.fullmatch(r"# src/genlab/families/(\w+\.py)", first.strip())
    assert name, f"the README example's first line should name its file (# src/genlab/families/NAME.py), not {first!r}"
    return name.group(1), source


# The README's example family is saved as one file into a folder searched like genlab/families/
# (GENLAB_FAMILY_PATH), so every family-generic test, in this process and in the backend
# subprocesses, runs it too: the README's example cannot drift from what works.
README_FAMILIES = Path(tempfile.mkdtemp(prefix="genlab-readme-family-"))
_file_name, _source = readme_family_source()
(README_FAMILIES / _file_name).write_text(_source, encoding="utf-8")
os.environ["GENLAB_FAMILY_PATH"] = str(README_FAMILIES)

def tiny_run(family: str, out: str | Path, *, preset: str = "default", **overrides):
    """Train `family` with its declared tiny settings (on the embedded mnist-5k) into the (new)
    folder `out`; returns the genlab Run."""
    from genlab import api, families

    settings = {"dataset": "mnist-5k", **families.get(family).tiny}
    settings.update(overrides)
    return api.train(family, preset=preset, overrides=settings, out=out, verbose=0, print_summary=False)


# The longest files, longest first, in collection order (a stable sort keeps the order inside a
# file). pytest-xdist (pyproject.toml) orders files by their test count before handing them out,
# so this order decides only among files of equal count and for a run without -n.
LONGEST_FILES = ("test_chapter.py", "test_backends.py", "test_distribute.py", "test_notebooks.py", "test_families.py",
                 "test_diffusion.py", "test_reliability.py", "test_signals.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: index for index, name in enumerate(LONGEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FILES)))


@pytest.fixture(scope="session")
def shared_tiny_run(tmp_path_factory):
    """tiny_run, trained once per test session for each (family, settings): for runs that several
    modules only read (a tiny diffusion run alone takes about 20 s, much of it tracing). Tests that change
    a run copy it first. Under pytest-xdist the workers share one folder of these runs (the parent of
    their temporary folders): the first worker to need a run trains it under a file lock, the other
    waits and opens it, so no tiny run is trained twice in one session."""
    import hashlib

    from filelock import FileLock

    from genlab.runs import Run

    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "shared-tiny-runs"
        root.mkdir(exist_ok=True)
    else:
        root = tmp_path_factory.mktemp("shared-tiny-runs")
    cache = {}

    def get(family: str, **overrides):
        key = (family, tuple(sorted(overrides.items())))
        if key not in cache:
            folder = root / f"{family}-{hashlib.sha256(repr(key).encode()).hexdigest()[:12]}"
            with FileLock(str(folder) + ".lock"):
                if (folder / "run").is_dir() and (folder / "trained").is_file():
                    cache[key] = Run.open(folder / "run")
                else:
                    import shutil

                    shutil.rmtree(folder, ignore_errors=True)     # a worker that died half-way
                    cache[key] = tiny_run(family, folder / "run", **overrides)
                    (folder / "trained").write_text("complete\n")
        return cache[key]

    return get


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Every test runs offline: a connection to anything but loopback fails the test at once."""
    import ipaddress
    import socket

    original = socket.socket.connect

    def connect(self, address, *args, **kwargs):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise AssertionError(f"test tried to reach {address}: tests must not touch the network")
        return original(self, address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)


@contextlib.contextmanager
def raises_one_line(error_class, match: str):
    """pytest.raises(error_class, match=...) that also insists the message is a single line."""
    with pytest.raises(error_class, match=match) as caught:
        yield caught
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message, f"not one line: {message!r}"


def cli_error(capsys) -> str:
    """The error of the last genlab.cli.main call, checked to be exactly one 'genlab: error:' line;
    anything else on stderr may only be genlab's own one-line notices (e.g. the data source)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("genlab: error: ")]
    assert len(errors) == 1, f"expected one error line, got: {err!r}"
    assert all(line.startswith("genlab: ") for line in lines), f"not genlab's one-line output: {err!r}"
    return errors[0]


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


# ---------------------------------------------------------------------------- a user's own photos
def painted(folder, count: int, colour: tuple[int, int, int], rng, shape: str) -> None:
    """`count` images of a coloured square or disc on noise that darkens towards the bottom (as
    a sky does above the ground), of mixed sizes and formats."""
    import numpy as np
    from PIL import Image

    folder.mkdir(parents=True)
    for index in range(count):
        height, width = (40, 40) if index % 3 else (48, 36)
        shade = np.linspace(200, 60, height)[:, None, None]
        pixels = np.clip(shade + rng.integers(-20, 20, (height, width, 3)), 0, 255).astype(np.uint8)
        rows, columns = np.mgrid[:height, :width]
        centre_row, centre_column, radius = rng.integers(12, height - 12), rng.integers(12, width - 12), rng.integers(6, 11)
        if shape == "square":
            inside = (abs(rows - centre_row) < radius) & (abs(columns - centre_column) < radius)
        else:
            inside = (rows - centre_row) ** 2 + (columns - centre_column) ** 2 < radius ** 2
        pixels[inside] = colour
        image = Image.fromarray(pixels)
        if index % 10 == 9:
            image = image.convert("L")       # a few grey photos among the colour ones
        image.save(folder / f"{index:03d}.{'jpg' if index % 2 else 'png'}", quality=95)


@pytest.fixture
def photos(tmp_path, monkeypatch):
    """A user's folder of colour photos in two class sub-folders (red squares, blue discs), 40x40
    and 36x48, PNG and JPEG, every tenth one grey; genlab's cache in the test's own folder."""
    import numpy as np

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    painted(tmp_path / "photos" / "red-squares", 60, (200, 30, 30), rng, "square")
    painted(tmp_path / "photos" / "blue-discs", 60, (30, 40, 200), rng, "disc")
    return tmp_path / "photos"
