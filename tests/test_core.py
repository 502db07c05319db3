"""The training core and the Python API: mixed precision, image sizes the networks cannot take,
resume that may only lengthen a run, the VAE's Monte Carlo ELBO, training on an image folder,
arguments checked at the edge, and configs a user can discover."""
from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest
from conftest import cli_error, raises_one_line, tiny_run
from PIL import Image

from genlab import api, cli, config, families
from genlab.errors import ConfigError, GenlabError


# ------------------------------------------------------------------------------------ mixed precision
def test_a_bf16_gan_trains_end_to_end_and_gives_the_callers_policy_back(tmp_path):
    keras.config.set_dtype_policy("float32")
    try:
        run = tiny_run("gan", tmp_path / "bf16", dtype_policy="mixed_bfloat16")
        assert keras.config.dtype_policy().name == "float32"          # restored, not reset by chance
        keras.config.set_dtype_policy("mixed_float16")                # a caller's own policy...
        tiny_run("gan", tmp_path / "bf16-again", dtype_policy="mixed_bfloat16")
        assert keras.config.dtype_policy().name == "mixed_float16"    # ...comes back as it was
    finally:
        keras.config.set_dtype_policy("float32")
    assert run.metrics["status"] == "complete"
    images = api.sample(run.path, 8)
    assert np.isfinite(images).all() and images.std() > 1e-4
    # The EMA generator (what generator.keras holds) was built under the run's policy too.
    generator = run.load_model("generator.keras")
    assert any(layer.dtype_policy.name == "mixed_bfloat16" for layer in generator.layers)


# ------------------------------------------------------------------------------------ image sizes
@pytest.fixture
def odd_sized_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "odd.npz"
    np.savez(path, x_train=rng.integers(0, 256, (64, 30, 30), dtype=np.uint8), y_train=rng.integers(0, 10, 64),
             x_test=rng.integers(0, 256, (16, 30, 30), dtype=np.uint8), y_test=rng.integers(0, 10, 16))
    return path


@pytest.mark.parametrize("name, extra", [("gan", {}), ("vae", {"architecture": "conv"}), ("ae", {"architecture": "conv"})])
def test_image_sides_the_networks_cannot_take_are_one_line(name, extra, odd_sized_npz, tmp_path):
    with raises_one_line(ConfigError, r"needs image sides divisible by 4, got 30x30"):
        tiny_run(name, tmp_path / name, dataset=str(odd_sized_npz), **extra)


def test_a_dense_vae_takes_any_image_size(odd_sized_npz, tmp_path):
    run = tiny_run("vae", tmp_path / "vae", dataset=str(odd_sized_npz), architecture="dense", batch_size=16)
    assert api.sample(run.path, 4).shape == (4, 30, 30, 1)


def test_a_gan_trains_on_an_image_folder(tmp_path):
    """A user's own pictures: class sub-folders of 40x40 PNGs (sides the generator can take)."""
    rng = np.random.default_rng(0)
    for label in ("circles", "squares"):
        (tmp_path / "pictures" / label).mkdir(parents=True)
        for index in range(24):
            pixels = np.zeros((40, 40), np.uint8)
            centre = rng.integers(12, 28, 2)
            if label == "squares":
                pixels[centre[0] - 6:centre[0] + 6, centre[1] - 6:centre[1] + 6] = 255
            else:
                y, x = np.ogrid[:40, :40]
                pixels[(y - centre[0]) ** 2 + (x - centre[1]) ** 2 < 49] = 255
            Image.fromarray(pixels).save(tmp_path / "pictures" / label / f"{index}.png")
    run = tiny_run("gan", tmp_path / "run", dataset=str(tmp_path / "pictures"), batch_size=8)
    assert run.metrics["status"] == "complete" and run.metrics["dataset"] == "pictures"
    assert api.sample(run.path, 4).shape[1:] == (40, 40, 1)


# ------------------------------------------------------------------------------------ resume
def test_resume_refuses_fewer_steps_than_done(tmp_path):
    run = tiny_run("gan", tmp_path / "gan")
    before = (run.path / "config.toml").read_bytes()
    with raises_one_line(ConfigError, r"steps=4 would train less than the 6 steps already done"):
        api.train("gan", resume=run.path, overrides={"steps": 4})
    assert (run.path / "config.toml").read_bytes() == before


def test_a_resume_with_nothing_left_keeps_the_measured_speed(tmp_path):
    run = tiny_run("ae", tmp_path / "ae", architecture="dense", epochs=2)
    measured = run.metrics["seconds_per_epoch"]
    assert measured > 0
    again = api.train("ae", resume=run.path, overrides={"epochs": 2})
    assert again.metrics["seconds_per_epoch"] == measured and again.metrics["status"] == "complete"


# ------------------------------------------------------------------------------------ VAE ELBO
def test_vae_elbo_is_a_monte_carlo_expectation_not_the_posterior_mean_plug_in():
    """One latent dimension, one pixel p = sigmoid(z), every image x = 1, q(z|x) = N(0, 4):
    E_q[-log p(x|z)] = E[softplus(-z)] ~ 1.06 nats, while plugging in the mean gives log 2 = 0.69."""
    from genlab.families import vae

    inputs = keras.Input((1,))
    decoder = keras.Model(inputs, keras.layers.Activation("sigmoid")(inputs))
    count = 20000
    images = np.ones((count, 1, 1, 1), np.float32)
    mean, log_var = np.zeros((count, 1)), np.full((count, 1), np.log(4.0))
    kl, nll = vae.elbo_terms(decoder, images, mean, log_var, seed=0)
    z = np.random.default_rng(1).normal(0, 2, 2_000_000)
    expected = float(np.mean(np.logaddexp(0, -z)))          # softplus(-z), by a far bigger sample
    assert nll == pytest.approx(expected, rel=0.02)
    assert abs(nll - np.log(2)) > 0.3
    assert kl == pytest.approx(-0.5 * (1 + np.log(4.0) - 4.0))   # the closed form for N(0, 4) vs N(0, 1)


# ------------------------------------------------------------------------------------ the API's edges
@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    return tiny_run("gan", tmp_path_factory.mktemp("gan") / "run")


@pytest.mark.parametrize("count, message", [(0, r"number of samples must be between 1 and"),
                                            (-3, r"number of samples must be between 1 and"),
                                            ("many", r"number of samples must be a whole number, got 'many'"),
                                            (2.5, r"whole number")])
def test_sample_counts_are_checked_at_the_edge(gan_run, count, message):
    with raises_one_line(ConfigError, message):
        api.sample(gan_run.path, count)


def test_interpolate_needs_two_steps_and_a_class_needs_a_conditional_run(gan_run):
    with raises_one_line(ConfigError, r"steps must be between 2 and 1000, got 0"):
        api.interpolate(gan_run.path, steps=0)
    with raises_one_line(GenlabError, r"which is not conditional; a class needs a run of cgan, diffusion"):
        api.sample(gan_run.path, 4, label=3)


@pytest.mark.parametrize("argv, message", [(["sample", "RUN", "-n", "0"], "number of samples must be between 1"),
                                           (["sample", "RUN", "-n", "-3"], "number of samples must be between 1"),
                                           (["interpolate", "RUN", "--steps", "0"], "steps must be between 2")])
def test_the_cli_reports_bad_counts_in_one_line(gan_run, argv, message, capsys):
    argv = [str(gan_run.path) if part == "RUN" else part for part in argv]
    assert cli.main(argv) == 2
    assert message in cli_error(capsys)


def test_sample_never_overwrites_a_training_figure(gan_run, tmp_path):
    figures = {path: path.read_bytes() for path in gan_run.figures.rglob("*.png")}
    assert cli.main(["sample", str(gan_run.path), "-n", "4"]) == 0
    assert {path: path.read_bytes() for path in gan_run.figures.rglob("*.png")} == figures
    assert (gan_run.path / "generated" / "samples-n4-seed0.png").is_file()


def test_sampling_10000_images_draws_a_capped_grid_and_keeps_them_all(gan_run, tmp_path):
    npz, png = tmp_path / "all.npz", tmp_path / "grid.png"
    images = api.sample(gan_run.path, 10000)
    api.save_images(images, png, npz=npz, title="many")
    with np.load(npz) as saved:
        assert saved["images"].shape == (10000, 28, 28, 1)
    with Image.open(png) as picture:
        assert picture.width < 4000     # 400 cells drawn, not 10000


def test_evaluate_images_directly():
    from genlab import data

    real = data.to_float(data.load("mnist-5k").x_test[:500])
    noise = np.random.default_rng(0).random((500, 28, 28, 1)).astype("float32")
    digits, garbage = (api.evaluate(images, dataset="mnist-5k", reference=False) for images in (real, noise))
    assert digits.rows["images"]["fid"] < garbage.rows["images"]["fid"] / 5


# ------------------------------------------------------------------------------------ configs
@pytest.mark.parametrize("name", families.names())
def test_a_config_class_defaults_are_its_default_preset(name):
    family = families.get(name)
    assert family.presets["default"] == {}
    assert config.resolve(family, "default") == family.config_class()


@pytest.mark.parametrize("name", families.names())
def test_every_config_key_has_a_description(name):
    rows = api.config_help(name, "default")
    assert [key for key, _, _ in rows] == config.field_names(families.get(name).config_class)
    assert all(text for _, _, text in rows), [key for key, _, text in rows if not text]


def test_genlab_config_prints_the_chapter_values(capsys):
    assert cli.main(["config", "gan", "--preset", "chapter"]) == 0
    out = capsys.readouterr().out
    assert "| output " in out and "'sigmoid'" in out and "dtype_policy" in out


@pytest.mark.parametrize("old, new, family", [("code_size", "latent_dim", "ae"), ("precision", "dtype_policy", "gan")])
def test_renamed_keys_name_the_new_key(old, new, family):
    with raises_one_line(ConfigError, rf"config key '{old}' in --set was renamed to '{new}'"):
        config.resolve(families.get(family), sets={old: "1"})


def test_a_run_folder_written_before_the_rename_still_loads(tmp_path):
    run = tiny_run("ae", tmp_path / "old", architecture="dense")
    copy = tmp_path / "copy"
    shutil.copytree(run.path, copy)
    path = copy / "config.toml"
    path.write_text(path.read_text().replace("latent_dim = 32", "code_size = 32"))
    assert api.open_run(copy)[2].latent_dim == 32
    assert json.loads((copy / "metrics.json").read_text())["status"] == "complete"
