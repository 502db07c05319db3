"""The families beyond the chapter: the WGAN-GP penalty against hand-computed gradient norms,
one interpolation coefficient per example, and conditional sampling of a chosen class."""

import keras
import numpy as np
import pytest
from conftest import tiny_run

from genlab import cli
from genlab.families import wgan_gp


def test_gradient_penalty_of_a_linear_critic_is_the_weight_norm():
    # critic(x) = w . flatten(x): its gradient is w everywhere, so every norm is ||w||.
    weights = np.array([[0.5], [-1.0], [2.0], [0.25]], dtype="float32")
    inputs = keras.Input((2, 2, 1))
    score = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(weights))(keras.layers.Flatten()(inputs))
    critic = keras.Model(inputs, score)
    rng = np.random.default_rng(0)
    real, fake = rng.random((3, 2, 2, 1)).astype("float32"), rng.random((3, 2, 2, 1)).astype("float32")
    alpha = np.array([0.1, 0.5, 0.9], dtype="float32").reshape(3, 1, 1, 1)
    penalty, norms = wgan_gp.gradient_penalty(critic, real, fake, alpha, weight=10.0)
    expected_norm = float(np.linalg.norm(weights))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norms), [expected_norm] * 3, rtol=1e-5)
    assert float(keras.ops.convert_to_numpy(penalty)) == pytest.approx(10.0 * (expected_norm - 1.0) ** 2, rel=1e-5)


def test_penalty_uses_each_examples_own_interpolation_coefficient():
    # critic(x) = sum(x^2) / 2 has gradient x, so ||grad|| at x_hat = alpha * ones is alpha * sqrt(n).
    inputs = keras.Input((2, 2, 1))
    critic = keras.Model(inputs, keras.layers.Lambda(lambda x: 0.5 * keras.ops.sum(keras.ops.square(x), axis=(1, 2, 3)))(inputs))
    real, fake = np.ones((3, 2, 2, 1), "float32"), np.zeros((3, 2, 2, 1), "float32")
    alpha = np.array([0.1, 0.5, 0.9], dtype="float32").reshape(3, 1, 1, 1)
    penalty, norms = wgan_gp.gradient_penalty(critic, real, fake, alpha, weight=1.0)
    expected = np.array([0.1, 0.5, 0.9]) * 2.0  # sqrt(4) = 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(norms), expected, rtol=1e-5)
    assert float(keras.ops.convert_to_numpy(penalty)) == pytest.approx(np.mean((expected - 1.0) ** 2), rel=1e-5)


def test_interpolation_coefficients_are_drawn_per_example_in_unit_interval():
    alpha = keras.ops.convert_to_numpy(wgan_gp.interpolation_coefficients(256, keras.random.SeedGenerator(0)))
    assert alpha.shape == (256, 1, 1, 1)
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0
    assert len(np.unique(alpha)) > 250  # not one coefficient shared by the batch
    assert 0.4 < alpha.mean() < 0.6


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory):
    return tiny_run("cgan", tmp_path_factory.mktemp("cgan") / "run", steps=8)


def test_conditional_gan_labels_change_the_output(cgan_run):
    """Same z, different labels: the conditional generator draws different images (a generator
    that ignored its label input would draw the same ones)."""
    from genlab import api

    sevens, ones = api.sample(cgan_run.path, 8, seed=3, label=7), api.sample(cgan_run.path, 8, seed=3, label=1)
    assert np.abs(sevens - ones).mean() > 1e-3
    np.testing.assert_array_equal(sevens, api.sample(cgan_run.path, 8, seed=3, label=7))


def test_conditional_gan_samples_the_requested_class_shape_and_grid(cgan_run, tmp_path):
    assert "conditional_accuracy" in cgan_run.read_metrics()  # mnist-5k is judged by the mnist evaluator
    out = tmp_path / "sevens.png"
    npz = tmp_path / "sevens.npz"
    assert cli.main(["sample", str(cgan_run.path), "-n", "12", "--class", "7", "--out", str(out), "--npz", str(npz), "--seed", "1"]) == 0
    with np.load(npz) as archive:
        assert archive["images"].shape == (12, 28, 28, 1)
    assert cli.main(["sample", str(cgan_run.path), "--class", "12"]) == 2  # out of range: a clear error
    # The progress grid has one row per class.
    from PIL import Image

    grid = Image.open(cgan_run.path / "figures" / "samples" / "step-000000.png")
    columns = cgan_run.read_header()["config"]["sample_grid"] // 10     # 20 images: 10 rows (classes) x 2
    assert grid.height / grid.width == pytest.approx(10 / columns, rel=0.1)


def test_wgan_gp_critic_scores_real_above_fake_after_a_few_steps(tmp_path):
    """The critic's Wasserstein estimate E[critic(real)] - E[critic(fake)] starts near 0 (random
    critic) and must be clearly positive after a few updates; the saved critic agrees."""
    from genlab import data

    run = tiny_run("wgan-gp", tmp_path / "run", steps=8, log_every=4)
    history = run.read_history()
    assert history[-1]["wasserstein"] > 0.5
    assert (run.path / "figures" / "wasserstein.png").is_file()
    critic, generator = run.load_model("discriminator.keras"), run.load_model("generator.keras")
    real = data.to_float(data.load("mnist-5k").x_test[:64])
    fake = generator.predict(np.random.default_rng(0).uniform(-1, 1, (64, 32)).astype("float32"), verbose=0)
    assert critic.predict(real, verbose=0).mean() > critic.predict(fake, verbose=0).mean()


def test_ema_generator_stays_close_to_the_live_generator():
    """The averaged generator must draw images of the same brightness as the live one: averaging
    the BatchNorm statistics along with the weights once made it draw black images."""
    from genlab import data
    from genlab.families.gan import GANConfig, GANTrainer

    config = GANConfig(batch_size=32, ema=0.9, output="logits", beta_1=0.5)
    trainer = GANTrainer(config, (28, 28, 1))
    images = data.to_float(data.load("mnist-5k").x_train[:32])
    for _ in range(30):
        trainer.step(images)
    z = trainer.latent(64, np.random.default_rng(0))
    live, averaged = trainer.generate(z, trainer.generator), trainer.generate(z, trainer.ema_generator)
    # Black images (the old bug) have a mean near 0.001; the averaged generator stays in the live one's range.
    assert averaged.mean() > 0.25 * live.mean() > 0
    # One more step, by hand: average = 0.9 * average + 0.1 * new weights, statistics copied.
    before = [np.array(weight) for weight in trainer.ema_generator.get_weights()]
    trainer.step(images)
    trainable = {id(variable) for variable in trainer.ema_generator.trainable_weights}
    for variable, old, new in zip(trainer.ema_generator.weights, before, trainer.generator.get_weights()):
        expected = 0.9 * old + 0.1 * new if id(variable) in trainable else new
        np.testing.assert_allclose(np.array(variable.numpy()), expected, rtol=1e-5, atol=1e-6)
