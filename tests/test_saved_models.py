"""Each family's own check that the saved model is the evaluated one: its test figure recomputed
from the files of a tiny run equals what metrics.json reports. Family-specific by design (the
family-generic tests in test_families.py know nothing of any family's networks)."""
from __future__ import annotations

import numpy as np
import pytest

from genlab import config, data, families


@pytest.fixture(scope="module")
def mnist5k():
    return data.load("mnist-5k")


def _opened(shared_tiny_run, name, **extra):
    run = shared_tiny_run(name, **extra)
    return run, config.load_run_config(run.path / "config.toml", families.get(name)), run.read_metrics()


def test_classifier_accuracy_is_recomputed_from_the_saved_model(shared_tiny_run, mnist5k):
    run, cfg, metrics = _opened(shared_tiny_run, "classifier")
    x_test = data.to_float(mnist5k.x_test)
    inputs = x_test.reshape(len(x_test), -1) if cfg.architecture == "dense" else x_test
    logits = run.load_model().predict(inputs, batch_size=1024, verbose=0)
    assert logits.shape == (len(x_test), mnist5k.num_classes)
    accuracy = float(np.mean(np.argmax(logits, axis=1) == mnist5k.y_test))
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert accuracy > 0.5  # a random model scores ~0.1


@pytest.mark.parametrize("name,architecture", [("ae", "dense"), ("ae", "conv"), ("dae", "conv")])
def test_autoencoder_mse_is_recomputed_and_is_decoder_of_encoder(shared_tiny_run, mnist5k, name, architecture):
    from genlab.families import autoencoder

    run, cfg, metrics = _opened(shared_tiny_run, name, architecture=architecture)
    x_test = data.to_float(mnist5k.x_test)
    # Without noise the test inputs are the clean images and the figure must match exactly;
    # with noise, a new draw of the same law gives nearly the same figure.
    noisy = autoencoder.corrupt(x_test, cfg.noise, cfg.noise_factor, cfg.clip_noisy, np.random.default_rng(12345))
    restored = autoencoder.predict_images(run.load_model(), cfg, noisy)
    assert restored.shape == x_test.shape
    recomputed = float(np.mean((restored - x_test) ** 2))
    assert recomputed == pytest.approx(metrics["test_mse"], rel=1e-4 if cfg.noise == "none" else 0.05)
    # The autoencoder is exactly decoder(encoder(x)), and the codec says the same.
    codes = run.load_model("encoder.keras").predict(autoencoder.model_inputs(cfg, x_test[:16]), verbose=0)
    assert codes.shape == (16, cfg.latent_dim)
    decoded = run.load_model("decoder.keras").predict(codes, verbose=0).reshape(16, *x_test.shape[1:])
    whole = autoencoder.predict_images(run.load_model(), cfg, x_test[:16])
    np.testing.assert_allclose(decoded, whole, atol=1e-5)
    codec = families.get(name).codec(run, cfg)
    np.testing.assert_allclose(codec.encode(x_test[:16]), codes, atol=1e-5)
    np.testing.assert_allclose(codec.reconstruct(x_test[:16]), whole, atol=1e-6)


@pytest.mark.parametrize("architecture", ["dense", "conv"])
def test_vae_mse_is_the_deterministic_path(shared_tiny_run, mnist5k, architecture):
    from genlab.families.autoencoder import model_inputs

    run, cfg, metrics = _opened(shared_tiny_run, "vae", architecture=architecture)
    x_test = data.to_float(mnist5k.x_test)
    # model.keras is the deterministic path decoder(mean(x)): its MSE is the reported one.
    inputs = model_inputs(cfg, x_test)
    restored = np.asarray(run.load_model().predict(inputs, batch_size=1024, verbose=0)).reshape(x_test.shape)
    assert float(np.mean((restored - x_test) ** 2)) == pytest.approx(metrics["test_mse"], rel=1e-4)
    mean, log_var = run.load_model("encoder.keras").predict(inputs[:16], verbose=0)
    assert mean.shape == log_var.shape == (16, cfg.latent_dim)
    decoded = run.load_model("decoder.keras").predict(mean, verbose=0).reshape(16, *x_test.shape[1:])
    np.testing.assert_allclose(decoded, restored[:16], atol=1e-5)
    assert metrics["test_negative_elbo_nats"] == pytest.approx(metrics["test_reconstruction_nats"] + metrics["test_kl_nats"])


def test_diffusion_noise_mse_is_recomputed(shared_tiny_run, mnist5k):
    from genlab.families import diffusion

    run, cfg, metrics = _opened(shared_tiny_run, "diffusion")
    # model.keras is the averaged network: its noise MSE at the same fixed draws is the reported one,
    # and it beat 'predict zero' (E[eps^2] = 1) even in a tiny run.
    again = diffusion.noise_prediction_metrics(run.load_model(), cfg, mnist5k)
    assert again["test_noise_mse"] == pytest.approx(metrics["test_noise_mse"], rel=1e-4)
    assert again["test_zero_mse"] == pytest.approx(1.0, abs=0.02)
    assert metrics["test_noise_mse"] < metrics["test_zero_mse"]


@pytest.mark.parametrize("name", ["gan", "cgan", "wgan-gp"])
def test_adversarial_networks_load_and_score_fakes(shared_tiny_run, mnist5k, name):
    from genlab.adversarial import generator_inputs

    run, cfg, _ = _opened(shared_tiny_run, name)
    generator = run.load_model("generator.keras")
    discriminator = run.load_model("discriminator.keras")
    z = np.random.default_rng(0).uniform(-1, 1, (8, cfg.latent_dim)).astype("float32")
    inputs = generator_inputs(generator, z)     # [z, labels] for a conditional generator
    fakes = generator.predict(inputs, verbose=0)
    assert fakes.shape == (8, *mnist5k.image_shape)
    scores = discriminator.predict(fakes if len(discriminator.inputs) == 1 else [fakes, inputs[1]], verbose=0)
    assert scores.shape == (8, 1)
    assert np.isfinite(scores).all()
    if cfg.output == "sigmoid":
        assert ((scores >= 0) & (scores <= 1)).all()
