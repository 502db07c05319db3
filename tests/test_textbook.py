"""genlab.textbook: the chapter's printed programs on Keras 3, and the reference genlab bench
measures against. The GAN's discriminator learns (and, without the Keras 3 fix, does not); each
program runs tiny on real MNIST; bench finds the shipped reference with no ../shared beside the
clone, runs it, and (where ../shared holds the independent reference) agrees with it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cli_error

from genlab.errors import GenlabError

INDEPENDENT = Path(os.environ.get("GENLAB_CROSSCHECK_REFERENCE",
                                  Path(__file__).resolve().parents[2] / "shared" / "bench" / "seed_reference.py"))


def _mnist_folder() -> Path:
    """Real MNIST (the four IDX .gz files) from GENLAB_DATA_DIR or genlab's data folders; skips without it."""
    from genlab.bench import recipes

    try:
        return recipes.mnist_folder(None)
    except GenlabError:
        pytest.skip("real MNIST is not here (set GENLAB_DATA_DIR to a folder holding mnist/, as CI does)")


def _weights(model) -> list[np.ndarray]:
    return [np.array(value) for value in model.get_weights()]


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")   # Keras 3 says so, as printed
@pytest.mark.parametrize("fix", [True, False], ids=["keras3-fix", "as-printed"])
def test_the_textbook_gan_trains_its_discriminator_only_with_the_keras3_fix(fix):
    """With `trainable` set before each update the discriminator's weights change; run exactly as
    printed (frozen before the adversarial model is built), Keras 3 never updates them, while the
    generator still learns against a discriminator that stays as initialized."""
    import keras

    from genlab.textbook import gan
    from genlab.textbook.common import load_data

    keras.utils.set_random_seed(0)
    (x_train, _), _ = load_data(dataset="mnist-5k")
    images = (x_train[:512].astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    discriminator, generator, adversarial = gan.build()
    d_before, g_before = _weights(discriminator), _weights(generator)
    a_metrics, d_metrics = gan.train(images, discriminator, generator, adversarial, epochs=2, batch=32,
                                     fix_trainable=fix, verbose=0)
    assert len(a_metrics) == len(d_metrics) == 2
    d_changed = any(not np.array_equal(before, after) for before, after in zip(d_before, _weights(discriminator)))
    g_changed = any(not np.array_equal(before, after) for before, after in zip(g_before, _weights(generator)))
    assert d_changed == fix
    assert g_changed
    # The adversarial update never moves the discriminator, fix or not.
    d_now = _weights(discriminator)
    adversarial.train_on_batch(np.random.uniform(-1, 1, (8, gan.Z_DIMENSIONS)), np.ones((8, 1)))
    assert all(np.array_equal(before, after) for before, after in zip(d_now, _weights(discriminator)))


@pytest.mark.parametrize("program, length", [("classifier", {"epochs": 1}), ("autoencoder", {"epochs": 1}),
                                             ("denoising", {"epochs": 1}), ("gan", {"steps": 3})])
def test_each_printed_program_runs_tiny_on_real_mnist(program, length, tmp_path):
    from genlab import textbook

    folder = _mnist_folder()
    out = tmp_path / program
    result = textbook.run(program, out=out, data_dir=folder.parent, verbose=0, **length)
    assert result["program"] == program and result["dataset"] == "mnist" and result["train_wall_s"] > 0
    assert json.loads((out / "result.json").read_text())["program"] == program
    figures = {Path(path).name for path in result["figures"]}
    expected = {"classifier": set(), "autoencoder": {"reconstructions.png"}, "denoising": {"denoised.png"},
                "gan": {"before-training.png"}}[program]
    assert figures == expected and all((out / name).stat().st_size > 1000 for name in figures)
    if program == "classifier":
        assert 0.85 < result["test_accuracy"] <= 1.0            # one epoch of the chapter's classifier
    if program in ("autoencoder", "denoising"):
        assert 0 < result["test_mse"] < 0.07
    if program == "denoising":
        assert result["noisy_mse"] == pytest.approx(0.55 ** 2, rel=0.02)     # unclipped N(0, 0.55^2) noise
    if program == "gan":
        assert np.isfinite(result["d_loss_last"]) and result["steps"] == 3


def test_textbook_refuses_the_wrong_unit_and_an_unknown_program_in_one_line(capsys):
    from genlab import cli, textbook

    assert cli.main(["textbook", "gan", "--epochs", "3"]) == 2
    assert cli_error(capsys) == "genlab: error: the gan program trains in steps: use --steps, not --epochs"
    assert cli.main(["textbook", "autoencoder", "--steps", "3"]) == 2
    assert cli_error(capsys) == "genlab: error: the autoencoder program trains in epochs: use --epochs, not --steps"
    with pytest.raises(GenlabError, match="the chapter has no program 'vae'; choose classifier, autoencoder, denoising or gan"):
        textbook.run("vae")


# ---------------------------------------------------------------------------- the reference genlab bench uses
def test_bench_finds_the_shipped_reference_without_shared_beside_the_clone(tmp_path, monkeypatch):
    """A fresh clone has no ../shared: the reference is genlab's own textbook loop, started as a
    module of the installed genlab; --reference and GENLAB_REFERENCE still name another."""
    from genlab.bench import recipes

    monkeypatch.delenv("GENLAB_REFERENCE", raising=False)
    monkeypatch.chdir(tmp_path)                       # no ../shared/bench here
    shipped = recipes.find_reference(None)
    assert shipped == recipes.shipped_reference() and shipped.name == "reference.py" and shipped.parent.name == "textbook"
    assert recipes.reference_command(shipped)[1:] == ["-m", "genlab.textbook.reference"]
    other = tmp_path / "seed_reference.py"
    other.write_text("")
    assert recipes.find_reference(str(other)) == other.resolve()
    assert recipes.reference_command(other) == [sys.executable, str(other.resolve())]
    monkeypatch.setenv("GENLAB_REFERENCE", str(other))
    assert recipes.find_reference(None) == other.resolve()
    with pytest.raises(GenlabError, match="--reference missing.py is not a file"):
        recipes.find_reference("missing.py")


def test_the_shipped_reference_runs_as_bench_runs_it(tmp_path, monkeypatch):
    """What `genlab bench gan` runs first, from a clone: the textbook GAN timed over a few steps."""
    from genlab.bench import recipes

    folder = _mnist_folder()
    monkeypatch.delenv("GENLAB_REFERENCE", raising=False)
    monkeypatch.chdir(tmp_path)
    result = recipes.run_reference(recipes.find_reference(None), "gan", folder, ["--steps", "5"])
    assert result["reference"] == "genlab.textbook" and result["steps"] == 5
    assert result["seconds_per_step"] > 0 and np.isfinite(result["d_loss_last"]) and np.isfinite(result["g_loss_last"])


def test_bench_quality_can_sample_the_shipped_textbook_gan_along_its_run(tmp_path):
    """genlab bench quality samples the reference's GAN from outside (genlab.reference_snapshots):
    the shipped loop has the shape it relies on (one adversarial train_on_batch a step)."""
    from genlab import reference_snapshots
    from genlab.bench import recipes

    folder = _mnist_folder()
    out = tmp_path / "snapshots"
    assert reference_snapshots.main([str(recipes.shipped_reference()), "--data-dir", str(folder), "--out", str(out),
                                     "--steps", "4", "--every", "2", "--samples", "20"]) == 0
    summary = json.loads((out / "snapshots.json").read_text())
    assert [point["step"] for point in summary["points"]] == [2, 4]
    assert np.load(out / summary["points"][-1]["file"]).shape == (20, 28, 28, 1)


@pytest.mark.skipif(not INDEPENDENT.is_file(), reason=f"the independent reference is not here ({INDEPENDENT}); "
                                                      "a clone without ../shared has only genlab's own")
def test_the_shipped_reference_agrees_with_the_independent_one(tmp_path):
    """CI's cross-check: the same recipes through both scripts (subprocesses, as genlab bench runs
    them), the same seed: the denoising autoencoder's test metrics after an epoch and the GAN's
    losses after a few steps agree (here bit for bit: the same operations in the same order)."""
    from genlab import backend
    from genlab.bench import recipes

    folder = _mnist_folder()
    env = backend.subprocess_environment("tensorflow")
    results = {}
    for name, script in (("shipped", recipes.shipped_reference()), ("independent", INDEPENDENT)):
        for recipe, length in (("dae", ["--epochs", "1"]), ("gan", ["--steps", "4"])):
            target = tmp_path / f"{name}-{recipe}.json"
            command = [*recipes.reference_command(script), recipe, *length, "--data-dir", str(folder), "--json", str(target)]
            subprocess.run(command, check=True, capture_output=True, env=env, timeout=600)
            results[name, recipe] = json.loads(target.read_text())
    for recipe, keys in (("dae", ("test_mse", "noisy_mse")), ("gan", ("d_loss_last", "g_loss_last"))):
        for key in keys:
            assert results["shipped", recipe][key] == pytest.approx(results["independent", recipe][key], rel=1e-4), (recipe, key)
        assert set(results["independent", recipe]) - {"recipe", "backend"} <= set(results["shipped", recipe])
