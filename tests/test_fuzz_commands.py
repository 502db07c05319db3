"""Every command fuzzed with hostile values (issue 18, items 1 and 4).

sample, interpolate, reconstruct, denoise, input_images, evaluate, report and train --resume are
driven through the Python API (and a few through the CLI) with hostile counts, seeds, steps and
classes (zero, negative, huge, fractional, NaN, strings, None), hostile input files (missing,
empty, truncated, bit-flipped, random bytes, wrong shape, object dtype, NaN) and run folders
with one file damaged (truncated, bit-flipped, emptied) or deleted. Each call must return
normally or raise a genlab error whose message is one line -- never another exception -- and
must leave every file already in the run folder as it was, except what a successful call
writes by design (evaluate: metrics.json; train --resume: the run's artefacts; a refused
resume: status "failed" in metrics.json and a rebuilt checkpoints/latest.json).

Two tiny runs (a GAN of 4 steps, a dense DAE of 2 epochs) are trained once for the module;
each test damages a private copy. Hypothesis examples are few and derandomised, so the file
runs in CI within a minute on a small machine.
"""
from __future__ import annotations

import io
import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_error, tiny_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from genlab import api, cli
from genlab.errors import GenlabError

FUZZ = settings(max_examples=10, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
GAN_STEPS, GAN_EVERY, DAE_EPOCHS = 4, 2, 2
SMALL = 6   # the largest count a fuzzed call may succeed with (keeps every call fast)


# ------------------------------------------------------------------------------ runs and helpers
@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return tiny_run("gan", tmp_path_factory.mktemp("fuzz-gan") / "run", steps=GAN_STEPS, checkpoint_every=GAN_EVERY,
                    sample_every=GAN_STEPS, log_every=2, seed=1)


@pytest.fixture(scope="module")
def dae_run(tmp_path_factory):
    return tiny_run("dae", tmp_path_factory.mktemp("fuzz-dae") / "run", architecture="dense", epochs=DAE_EPOCHS)


@pytest.fixture(scope="module")
def runs(gan_run, dae_run):
    return {"gan": gan_run.path, "dae": dae_run.path}


@pytest.fixture(scope="module", autouse=True)
def quick_scoring():
    """evaluate's scoring against the real test set (the evaluator network, FID, KID...) is stubbed:
    it reads no run file, and is what makes a real evaluate take seconds. Everything before it
    (the run folder, the family's own test figures, sampling, the images' checks) is real."""
    from types import SimpleNamespace

    from genlab import evaluation

    reference = SimpleNamespace(dataset=SimpleNamespace(image_shape=(28, 28, 1)), evaluator=SimpleNamespace(sha256="0" * 64))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(evaluation, "real_reference", lambda name, data_dir=None, **image_options: reference)
        patch.setattr(evaluation, "score", lambda images, real, seed=0: {"mean": float(np.mean(images))})
        patch.setattr(evaluation, "reference_rows", lambda real: {})
        yield


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def changed(before: dict[str, bytes], folder: Path) -> set[str]:
    """Files that were in `before` and now differ or are gone (new files are not counted)."""
    after = snapshot(folder)
    return {name for name, content in before.items() if after.get(name) != content}


def outcome(call):
    """Run `call`: its result, or the GenlabError it raised (checked to be one line). Any other
    exception propagates and fails the test."""
    try:
        return call()
    except GenlabError as error:
        message = str(error)
        assert message and "\n" not in message and message.strip() == message, f"not one line: {message!r}"
        return error


def fresh_copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copies"
    index = len(list(target.iterdir())) if target.is_dir() else 0
    target = target / f"run{index}"
    shutil.copytree(source, target)
    return target


# ------------------------------------------------------------------------------ hostile values
MAX = api.MAX_SAMPLES


def hostile(low: int, high: int, success_up_to: int = SMALL):
    """Every kind of value a count might be, except a valid one larger than `success_up_to`
    (valid and small ones included: success is an allowed outcome)."""
    return st.one_of(
        st.integers(low, min(high, success_up_to)),
        st.integers(-10 ** 18, low - 1),
        st.integers(high + 1, 10 ** 18),
        st.sampled_from([0, -1, -3, 10 ** 12, 2 ** 63, -2 ** 63, 2 ** 32, float("nan"), float("inf"), -float("inf"),
                         2.5, -0.0, 1e300, "3", "many", "", None, True, False, [3], (2, 3), {"n": 3}, b"4", 3j,
                         np.int64(-5), np.int8(3), np.uint64(2 ** 64 - 1), np.float32(2.0), np.array([3])]),
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not (x.is_integer() and success_up_to < x <= high)),
        st.text(max_size=5),
    )


COUNTS = hostile(1, MAX)
SEEDS = st.one_of(st.integers(0, 2 ** 32 - 1), hostile(0, 2 ** 32 - 1, success_up_to=2 ** 32 - 1))
STEPS = hostile(2, api.MAX_INTERPOLATION_STEPS)
LABELS = st.one_of(st.none(), hostile(0, 9))


@FUZZ
@given(count=COUNTS, seed=SEEDS, label=LABELS)
def test_sample_with_hostile_arguments(runs, count, seed, label):
    for family in ("gan", "dae"):
        before = snapshot(runs[family])
        result = outcome(lambda: api.sample(runs[family], count, seed=seed, label=label))
        if not isinstance(result, GenlabError):
            assert result.dtype == np.float32 and result.shape[0] == int(count) and np.isfinite(result).all()
        assert not changed(before, runs[family])


@FUZZ
@given(steps=STEPS, seed=SEEDS, between=st.one_of(st.none(), st.tuples(hostile(0, 999), hostile(0, 999)),
                                                  st.sampled_from([3, "ab", (1,), (1, 2, 3), [0, 1], (), b"\x01\x02"])))
def test_interpolate_with_hostile_arguments(runs, steps, seed, between):
    for family in ("gan", "dae"):
        before = snapshot(runs[family])
        result = outcome(lambda: api.interpolate(runs[family], steps=steps, seed=seed, between=between))
        if not isinstance(result, GenlabError):
            assert np.isfinite(result.images).all()
        assert not changed(before, runs[family])


@FUZZ
@given(count=hostile(10, MAX, success_up_to=10), seed=SEEDS)
def test_evaluate_a_run_with_hostile_arguments(gan_run, tmp_path, count, seed):
    folder = fresh_copy(gan_run.path, tmp_path)
    before = snapshot(folder)
    result = outcome(lambda: api.evaluate(folder, count=count, seed=seed, reference=False))
    allowed = {"metrics.json"} if isinstance(result, api.Evaluation) else set()
    assert changed(before, folder) <= allowed


# ------------------------------------------------------------------------------ hostile input files
def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


DIGIT = (np.random.default_rng(0).random((28, 28)) * 255).astype(np.uint8)
GOOD_PNG = png_bytes(DIGIT)
GOOD_NPY = npy_bytes(np.random.default_rng(1).random((3, 28, 28, 1)).astype(np.float32))
GOOD_NPZ = npz_bytes(images=np.random.default_rng(2).random((12, 28, 28, 1)).astype(np.float32))

HOSTILE_FILES = {
    "missing.png": None,
    "empty.png": b"",
    "empty.npy": b"",
    "empty.npz": b"",
    "truncated.png": GOOD_PNG[:len(GOOD_PNG) // 2],
    "header-only.png": GOOD_PNG[:33],
    "random.png": np.random.default_rng(3).bytes(500),
    "random.npy": np.random.default_rng(4).bytes(500),
    "random.npz": np.random.default_rng(5).bytes(500),
    "text.png": b"this is not an image\n",
    "text.txt": b"0.5 0.5 0.5\n",
    "truncated.npy": GOOD_NPY[:len(GOOD_NPY) // 2],
    "truncated.npz": GOOD_NPZ[:len(GOOD_NPZ) // 2],
    "wrong-shape.npy": npy_bytes(np.zeros((2, 5, 7))),
    "scalar.npy": npy_bytes(np.array(3.0)),
    "zero-images.npy": npy_bytes(np.zeros((0, 28, 28, 1), np.float32)),
    "five-d.npy": npy_bytes(np.zeros((1, 1, 28, 28, 1))),
    "object.npy": npy_bytes(np.array([{"a": 1}, None], dtype=object)),
    "strings.npy": npy_bytes(np.full((1, 28, 28), "x")),
    "bool.npy": npy_bytes(np.ones((1, 28, 28), bool)),
    "complex.npy": npy_bytes(np.ones((1, 28, 28), complex)),
    "nan.npy": npy_bytes(np.full((2, 28, 28, 1), np.nan, np.float32)),
    "inf.npy": npy_bytes(np.full((2, 784), np.inf, np.float32)),
    "huge-values.npy": npy_bytes(np.full((1, 28, 28), 1e30, np.float32)),
    "negative.npy": npy_bytes(np.full((1, 28, 28), -7, np.int64)),
    "object.npz": npz_bytes(images=np.array([None] * 12, dtype=object)),
    "nan.npz": npz_bytes(images=np.full((12, 28, 28, 1), np.nan, np.float32)),
    "wrong-shape.npz": npz_bytes(images=np.zeros((12, 5, 5))),
    "few.npz": npz_bytes(images=np.zeros((3, 28, 28))),
    "no-images-key.npz": npz_bytes(a=np.zeros(3), b=np.zeros(3)),
    "strings.npz": npz_bytes(images=np.full((12, 28, 28), "x")),
    "a.png.npz": GOOD_PNG,
    "npy-named.png": GOOD_NPY,
    "png-named.npy": GOOD_PNG,
    "one-pixel.png": png_bytes(np.zeros((1, 1), np.uint8)),
    "thin.png": png_bytes(np.zeros((1, 300), np.uint8)),
    "rgba.png": png_bytes(np.zeros((28, 28, 4), np.uint8)),
    "sixteen-bit.png": png_bytes(np.zeros((28, 28), np.uint16)),
    "folder.png": "folder",
}


def write_input(folder: Path, name: str) -> Path:
    content = HOSTILE_FILES[name]
    path = folder / name
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


def flipped(content: bytes, offset: int, bit: int) -> bytes:
    if not content:
        return content
    data = bytearray(content)
    data[offset % len(data)] ^= 1 << bit
    return bytes(data)


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_reconstruct_denoise_and_evaluate_with_hostile_files(name, runs, tmp_path):
    path = write_input(tmp_path, name)
    before = snapshot(runs["dae"])
    for function in (api.input_images, api.reconstruct, api.denoise):
        result = outcome(lambda: function(runs["dae"], path))
        if not isinstance(result, GenlabError):
            assert result.dtype == np.float32 and result.ndim == 4 and result.shape[1:] == (28, 28, 1)
            assert len(result) >= 1 and np.isfinite(result).all() and 0 <= result.min() and result.max() <= 1
    # None of them is a readable .npz of enough finite images of the right shape.
    assert isinstance(outcome(lambda: api.evaluate(path, dataset="mnist-5k", reference=False)), GenlabError)
    assert not changed(before, runs["dae"])


@FUZZ
@given(kind=st.sampled_from(["png", "npy", "npz"]), offset=st.integers(0, 10 ** 6), bit=st.integers(0, 7),
       cut=st.one_of(st.none(), st.integers(0, 10 ** 6)))
def test_bit_flipped_and_truncated_inputs(runs, tmp_path, kind, offset, bit, cut):
    content = {"png": GOOD_PNG, "npy": GOOD_NPY, "npz": GOOD_NPZ}[kind]
    content = flipped(content, offset, bit)
    if cut is not None:
        content = content[:cut % (len(content) + 1)]
    path = tmp_path / f"fuzzed.{kind}"
    path.write_bytes(content)
    before = snapshot(runs["dae"])
    if kind == "npz":
        outcome(lambda: api.evaluate(path, dataset="mnist-5k", reference=False))
    else:
        result = outcome(lambda: api.denoise(runs["dae"], path))
        if not isinstance(result, GenlabError):
            assert np.isfinite(result).all()
    assert not changed(before, runs["dae"])


def test_hostile_files_through_the_cli(runs, tmp_path, capsys):
    for name in ("truncated.png", "random.npy", "nan.npy", "object.npy", "zero-images.npy"):
        path = write_input(tmp_path, name)
        assert cli.main(["denoise", str(runs["dae"]), str(path), "--out", str(tmp_path / "out.png")]) == 2
        cli_error(capsys)
    for name in ("random.npz", "object.npz", "nan.npz", "few.npz"):
        path = write_input(tmp_path, name)
        assert cli.main(["evaluate", "--samples", str(path), "--dataset", "mnist-5k", "--no-reference"]) == 2
        cli_error(capsys)


# ------------------------------------------------------------------------------ damaged run folders
RUN_FILES = {
    "gan": ["config.toml", "metrics.json", "history.csv", "generator.keras", "discriminator.keras",
            "checkpoints/latest.json", f"checkpoints/step-{GAN_STEPS:06d}.npz", f"checkpoints/step-{GAN_STEPS:06d}.json"],
    "dae": ["config.toml", "metrics.json", "history.csv", "model.keras", "encoder.keras", "decoder.keras",
            "latent_gaussian.npz", "checkpoints/latest.json", f"checkpoints/epoch-{DAE_EPOCHS:04d}.npz"],
}
DAMAGES = ["truncated", "flipped", "bit", "emptied", "deleted"]


def damage(path: Path, how: str, offset: int = 0, bit: int = 0) -> None:
    content = path.read_bytes()
    if how == "truncated":
        path.write_bytes(content[:max(0, len(content) // 2 - 1)])
    elif how == "flipped":          # one byte inverted, in the middle of the file
        for bit in range(8):
            content = flipped(content, len(content) // 2, bit)
        path.write_bytes(content)
    elif how == "bit":              # one bit anywhere
        path.write_bytes(flipped(content, offset, bit))
    elif how == "emptied":
        path.write_bytes(b"")
    else:
        path.unlink()


def use(family: str, command: str, folder: Path, tmp_path: Path):
    """One command on the (damaged) run `folder`; the files it may change when it succeeds."""
    if command == "sample":
        return lambda: api.sample(folder, 3, seed=1), set()
    if command == "interpolate":
        return lambda: api.interpolate(folder, steps=3), set()
    if command == "reconstruct":
        return lambda: api.reconstruct(folder, np.zeros((2, 28, 28, 1), np.float32)), set()
    if command == "denoise":
        return lambda: api.denoise(folder, tmp_path / "digit.png"), set()
    if command == "evaluate":
        return lambda: api.evaluate(folder, count=10, reference=False), {"metrics.json"}
    if command == "report":
        return lambda: api.report([folder], tmp_path / "report.html"), set()
    raise AssertionError(command)


COMMANDS = {"gan": ["sample", "interpolate", "evaluate", "report"],
            "dae": ["sample", "interpolate", "reconstruct", "denoise", "evaluate", "report"]}


@pytest.mark.parametrize("family", ["gan", "dae"])
@settings(FUZZ, max_examples=8)
@given(data=st.data())
def test_commands_on_a_run_folder_with_one_file_damaged(family, runs, tmp_path, data):
    name = data.draw(st.sampled_from(RUN_FILES[family]), label="file")
    how = data.draw(st.sampled_from(DAMAGES), label="damage")
    offset, bit = data.draw(st.integers(0, 10 ** 6), label="offset"), data.draw(st.integers(0, 7), label="bit")
    folder = fresh_copy(runs[family], tmp_path)
    (tmp_path / "digit.png").write_bytes(GOOD_PNG)
    damage(folder / name, how, offset, bit)
    for command in COMMANDS[family]:
        before = snapshot(folder)
        call, writes = use(family, command, folder, tmp_path)
        result = outcome(call)
        allowed = set() if isinstance(result, GenlabError) else writes
        assert changed(before, folder) <= allowed, (command, name, how)


RESUME_WRITES = {"metrics.json", "checkpoints/latest.json"}   # a refused resume: status "failed", a rebuilt index


@pytest.mark.parametrize("family, name, how", [
    ("gan", "config.toml", "bit"),
    ("gan", "config.toml", "deleted"),
    ("gan", "history.csv", "truncated"),       # refused after config.toml was lengthened: it is put back
    ("gan", "metrics.json", "flipped"),
    ("dae", f"checkpoints/epoch-{DAE_EPOCHS:04d}.npz", "deleted"),    # falls back to the previous epoch and finishes
    ("dae", "history.csv", "bit"),
])
def test_resume_on_a_damaged_run_folder(family, name, how, runs, tmp_path):
    folder = fresh_copy(runs[family], tmp_path)
    damage(folder / name, how, offset=7, bit=1)
    before = snapshot(folder)
    more = {"steps": GAN_STEPS + GAN_EVERY} if family == "gan" else {"epochs": DAE_EPOCHS + 1}
    result = outcome(lambda: api.train(family, resume=folder, overrides=more, verbose=0))
    if isinstance(result, GenlabError):
        assert changed(before, folder) <= RESUME_WRITES
        if "metrics.json" in changed(before, folder):
            assert json.loads((folder / "metrics.json").read_text())["status"] == "failed"
    else:
        assert result.read_metrics()["status"] == "complete"


@FUZZ
@given(steps=st.one_of(st.integers(-10 ** 18, GAN_STEPS - 1), st.floats().filter(lambda x: not x.is_integer() or x < GAN_STEPS),
                       st.sampled_from(["many", "", None, True, [8], b"8", {"n": 8}, "1e999", "-inf"])),
       extra=st.sampled_from([{}, {"batch_size": 8}, {"on_nan": "x"}, {"no_such_key": 1}]))
def test_resume_with_hostile_lengths_is_refused_and_changes_nothing(gan_run, steps, extra):
    """Lengths the run cannot be resumed to (fewer than done, non-numbers, ...) are refused before anything is written."""
    before = snapshot(gan_run.path)
    result = outcome(lambda: api.train("gan", resume=gan_run.path, overrides={"steps": steps, **extra}, verbose=0))
    assert isinstance(result, GenlabError)
    assert not changed(before, gan_run.path)


# ------------------------------------------------------------------------------ the commands, through the CLI
@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A valid 20000 x 20000 black PNG (400 MB of pixels, a few hundred KB on disk)."""
    import struct

    width = height = 20000

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    pixels = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000)) + compressor.flush()
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))
    return path


def test_denoise_a_huge_png_is_one_line(runs, huge_png, tmp_path, capsys):
    before = snapshot(runs["dae"])
    with pytest.raises(GenlabError):
        api.denoise(runs["dae"], huge_png)
    assert cli.main(["denoise", str(runs["dae"]), str(huge_png), "--out", str(tmp_path / "out.png")]) == 2
    assert "huge.png" in cli_error(capsys)
    assert not changed(before, runs["dae"])


def test_resume_through_the_cli_with_a_truncated_checkpoint_and_latest_json(gan_run, tmp_path):
    """`genlab train gan --resume RUN` with the newest checkpoint and latest.json both truncated:
    latest.json is rebuilt from the records, the newest checkpoint skipped, and training finishes."""
    folder = fresh_copy(gan_run.path, tmp_path)
    damage(folder / f"checkpoints/step-{GAN_STEPS:06d}.npz", "truncated")
    damage(folder / "checkpoints/latest.json", "truncated")
    assert cli.main(["train", "gan", "--resume", str(folder), "--set", f"steps={GAN_STEPS + GAN_EVERY}", "--quiet"]) == 0
    assert json.loads((folder / "metrics.json").read_text())["status"] == "complete"
    assert json.loads((folder / "checkpoints/latest.json").read_text())["step"] == GAN_STEPS + GAN_EVERY


@pytest.mark.parametrize("argv", [["sample", "{run}", "-n", "{count}", "--out", "{tmp}/grid.png"],
                                  ["interpolate", "{run}", "--steps", "{count}", "--out", "{tmp}/strip.png"],
                                  ["evaluate", "{run}", "-n", "{count}", "--no-reference"]])
@pytest.mark.parametrize("count", ["0", "-3", "1000000000000", "1e3", "nan"])
def test_hostile_counts_through_the_cli(argv, count, gan_run, tmp_path, capsys):
    before = snapshot(gan_run.path)
    argv = [part.format(run=gan_run.path, count=count, tmp=tmp_path) for part in argv]
    try:
        status = cli.main(argv)
    except SystemExit as exit_:     # argparse refuses a non-integer with its own usage line and status 2
        status = exit_.code
        assert "invalid int value" in capsys.readouterr().err
    else:
        cli_error(capsys)
    assert status == 2
    assert not changed(before, gan_run.path)
