"""`genlab export`: the generator / decoder / denoiser as ONNX (run in ONNX Runtime) and as a
TensorFlow SavedModel (run in TensorFlow), fed what genlab-export.json says, give genlab's own
images to float tolerance; the output folder is written whole or not at all."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from conftest import cli_error, raises_one_line
from genlab import api, cli, exporting
from genlab.errors import GenlabError, RunError

ATOL = 1e-5
# Each family's exported network is a different code path: the plain and conditional generators,
# the VAE's and AE's decoders (normal / fitted-Gaussian latents), the DAE's denoiser, the flow's
# inverse (its own layers, registered with Keras).
FAMILIES = ["gan", "cgan", "vae", "ae", "dae", "flow"]
ONNX_MISSING = [name for name in ("onnxruntime", "tf2onnx", "onnx") if importlib.util.find_spec(name) is None]
needs_onnx = pytest.mark.skipif(bool(ONNX_MISSING), reason=f"{', '.join(ONNX_MISSING)} not installed "
                                                           "(pip install -e \".[export]\")")


# The settings of test_families.py's runs (and test_pretrained.py's small cGAN), so that the
# session trains each once (conftest.shared_tiny_run); "conv" is the autoencoders' default.
SETTINGS = {"gan": {}, "cgan": {"embedding_dim": 8}, "vae": {"architecture": "conv"}, "ae": {"architecture": "conv"},
            "dae": {"architecture": "conv"}, "flow": {}}


@pytest.fixture(scope="module")
def runs(shared_tiny_run):
    return {family: shared_tiny_run(family, **SETTINGS[family]).path for family in FAMILIES}


def _client_inputs(description: dict, count: int, seed: int, label: int | None, images) -> dict:
    """What a client outside genlab feeds the export, from genlab-export.json alone."""
    feeds = {}
    for spec in description["inputs"]:
        rng = np.random.default_rng(seed)
        dim = spec["shape"][1] if len(spec["shape"]) == 2 else None
        if spec["name"] == "images":
            feeds["images"] = images
        elif spec["name"] == "label":
            feeds["label"] = np.full((count, 1), label, dtype=np.int32)
        elif spec["distribution"] == "uniform":
            feeds[spec["name"]] = rng.uniform(spec["low"], spec["high"], (count, dim)).astype(np.float32)
        elif spec["distribution"] == "normal":
            feeds[spec["name"]] = (spec["mean"] + spec["std"] * rng.standard_normal((count, dim))).astype(np.float32)
        else:
            assert spec["distribution"] == "multivariate_normal"
            codes = rng.multivariate_normal(spec["mean"], spec["covariance"], size=count, method="cholesky")
            feeds[spec["name"]] = (np.maximum(codes, 0) if spec["nonnegative"] else codes).astype(np.float32)
    return feeds


def _genlab_output(run, family: str, count: int, seed: int, label, images):
    if family == "dae":
        return api.denoise(run, images)
    return api.sample(run, count, seed=seed, label=label)


def _noisy_images(count: int) -> np.ndarray:
    from genlab import data

    clean = data.to_float(data.load("mnist-5k").x_test[:count])
    return np.clip(clean + 0.55 * np.random.default_rng(5).standard_normal(clean.shape), 0, 1).astype(np.float32)


def _cases(runs):
    for family in FAMILIES:
        yield family, runs[family]
    yield "dae", "pretrained:mnist-dae"    # the shipped chapter DAE: real weights


@pytest.mark.parametrize("format", ["onnx", "savedmodel"])
def test_export_runs_outside_genlab_and_matches_it(runs, format, tmp_path):
    if format == "onnx" and ONNX_MISSING:
        pytest.skip(f"{', '.join(ONNX_MISSING)} not installed (pip install -e \".[export]\")")
    count, seed = 12, 3
    images = _noisy_images(count)
    worst = {}
    for family, run in _cases(runs):
        label = 3 if family == "cgan" else None
        out = api.export(run, format, tmp_path / f"{family}-{format}-{str(run).replace(':', '-')[-12:]}")
        description = json.loads((out / exporting.DESCRIPTION).read_text())
        assert description["family"] == family and description["format"] == format
        assert description["output"]["shape"] == [None, 28, 28, 1] and description["output"]["range"] == [0.0, 1.0]
        feeds = _client_inputs(description, count, seed, label, images)
        if format == "onnx":
            import onnxruntime

            session = onnxruntime.InferenceSession(str(out / description["file"]), providers=["CPUExecutionProvider"])
            assert sorted(node.name for node in session.get_inputs()) == sorted(feeds)
            got = session.run(None, feeds)[0]
        else:
            import tensorflow as tf

            loaded = tf.saved_model.load(str(out))
            endpoint = getattr(loaded, description["endpoint"])
            arguments = [feeds[spec["name"]] for spec in description["inputs"]]
            got = np.asarray(endpoint(arguments if len(arguments) > 1 else arguments[0]))
        expected = _genlab_output(run, family, count, seed, label, images)
        assert got.shape == expected.shape == (count, 28, 28, 1)
        worst[f"{family} {run}"] = float(np.max(np.abs(got - expected)))
    print(f"{format}: max |export - genlab| per model: {worst}")
    assert max(worst.values()) < ATOL, worst


def test_existing_out_is_refused_and_force_replaces_only_an_earlier_export(runs, tmp_path, capsys):
    out = tmp_path / "decoder"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with raises_one_line(RunError, "already exists and is not empty; choose another path, or pass --force"):
        api.export(runs["vae"], "savedmodel", out)
    assert cli.main(["export", str(runs["vae"]), "--format", "savedmodel", "--out", str(out)]) == 2
    assert "--force" in cli_error(capsys)
    # --force replaces what genlab made, never a folder of the user's own.
    assert cli.main(["export", str(runs["vae"]), "--format", "savedmodel", "--out", str(out), "--force"]) == 2
    assert "not made by genlab" in cli_error(capsys)
    assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    out.rmdir()
    assert cli.main(["export", str(runs["vae"]), "--format", "savedmodel", "--out", str(out)]) == 0
    first = (out / "saved_model.pb").stat().st_mtime_ns
    assert cli.main(["export", str(runs["vae"]), "--format", "savedmodel", "--out", str(out), "--force"]) == 0
    assert (out / "saved_model.pb").is_file() and (out / "saved_model.pb").stat().st_mtime_ns >= first
    assert sorted(path.name for path in tmp_path.iterdir()) == ["decoder"]      # no temporary folders left


def test_a_failed_export_leaves_nothing(runs, tmp_path, monkeypatch):
    import keras

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(keras.Model, "export", broken)
    with raises_one_line(GenlabError, "Keras could not export this generator as savedmodel \\(disk on fire\\)"):
        api.export(runs["gan"], "savedmodel", tmp_path / "generator")
    assert list(tmp_path.iterdir()) == []


def test_bad_requests_are_one_line(runs, tmp_path, monkeypatch):
    with raises_one_line(GenlabError, "export format 'tflite' is unknown; choose onnx or savedmodel"):
        api.export(runs["gan"], "tflite", tmp_path / "x")
    with raises_one_line(RunError, "no pretrained model 'nope'; shipped: "):
        api.export("pretrained:nope", "onnx", tmp_path / "x")
    monkeypatch.setattr(exporting, "missing_requirement", lambda format: "tf2onnx")
    with raises_one_line(GenlabError, "needs tf2onnx, which is not installed; pip install"):
        api.export(runs["gan"], "onnx", tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_a_family_without_a_single_network_is_refused(shared_tiny_run, tmp_path):
    run = shared_tiny_run("classifier")
    with raises_one_line(GenlabError, "has no single network to export"):
        api.export(run.path, "savedmodel", tmp_path / "x")
