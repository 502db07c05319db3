"""The VAE's likelihood: a discretized logistic decoder (decoder=logistic) and the IWAE bound on
-log P(x) of 8-bit images. k = 1 is the ELBO, recomputed here by hand from the same z draw; the
bound does not rise with k; a Bernoulli run refuses in one line."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from conftest import raises_one_line
from scipy.stats import norm

from genlab import config, data, density, families
from genlab.errors import ConfigError, GenlabError
from genlab.families import vae
from genlab.metrics import likelihood as metric

LOGISTIC = {"architecture": "conv", "decoder": "logistic"}


@pytest.fixture(scope="module")
def levels():
    return data.load("mnist-5k").x_test[:48]


@pytest.fixture(scope="module")
def logistic_run(shared_tiny_run):
    run = shared_tiny_run("vae", **LOGISTIC)
    cfg = config.load_run_config(run.path / "config.toml", families.get("vae"))
    return run, cfg, run.load_model("encoder.keras"), run.load_model(vae.DISTRIBUTION_FILE)


def _encode(encoder, cfg, levels):
    from genlab.families.autoencoder import model_inputs

    outputs = encoder.predict(model_inputs(cfg, levels.astype("float32") / 255.0), verbose=0)
    return tuple(np.asarray(part, np.float64) for part in outputs)


def test_keras_loss_matches_the_numpy_discretized_logistic():
    from keras import ops

    rng = np.random.default_rng(0)
    levels = np.concatenate([[0, 255, 1, 254], rng.integers(0, 256, 60)]).astype(np.uint8)
    mean, log_scale = rng.uniform(-1.2, 1.2, 64), rng.uniform(-8.0, 1.0, 64)
    expected = metric.discretized_logistic_log_probability(levels, mean, log_scale)
    got = ops.convert_to_numpy(metric.discretized_logistic_log_probability_ops(
        levels.astype("float32") / 127.5 - 1.0, mean.astype("float32"), log_scale.astype("float32")))
    np.testing.assert_allclose(got, expected, rtol=2e-4, atol=2e-4)


def test_the_logistic_run_decodes_its_mean_image_and_scores_its_elbo(logistic_run, levels):
    run, cfg, encoder, distribution = logistic_run
    assert cfg.decoder == "logistic"
    z = np.random.default_rng(1).standard_normal((5, cfg.latent_dim)).astype("float32")
    mean, log_scale = distribution.predict(z, verbose=0)
    image = run.load_model("decoder.keras").predict(z, verbose=0)       # samples, explorer, export: the mean image
    np.testing.assert_allclose(image, mean, atol=1e-6)
    assert image.shape == log_scale.shape == (5, 28, 28, 1) and 0.0 <= image.min() and image.max() <= 1.0
    metrics = run.read_metrics()
    assert metrics["test_negative_elbo_bits_per_dim"] == pytest.approx(
        metrics["test_negative_elbo_nats"] / math.log(2.0) / 784)
    assert 0.0 < metrics["test_negative_elbo_bits_per_dim"] < 8.0


def test_iwae_with_one_sample_is_the_elbo_of_the_same_draw_by_hand(logistic_run, levels):
    _, cfg, encoder, distribution = logistic_run
    part = levels[:16]
    bound = vae.iwae_nats(encoder, distribution, cfg, part, 1, seed=7)
    # By hand: the same z (the first draw of the generator seeded 7), log p(x|z) + log p(z) - log q(z|x).
    mean, log_var = _encode(encoder, cfg, part)
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(7).standard_normal((len(part), 1, cfg.latent_dim))[:, 0]
    decoded_mean, log_scale = distribution.predict(z.astype("float32"), verbose=0)
    log_likelihood = metric.discretized_logistic_log_probability(
        part.reshape(len(part), -1), 2.0 * np.asarray(decoded_mean, np.float64).reshape(len(part), -1) - 1.0,
        np.asarray(log_scale, np.float64).reshape(len(part), -1)).sum(axis=1)
    elbo = log_likelihood + norm.logpdf(z).sum(axis=1) - norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(axis=1)
    np.testing.assert_allclose(bound, -elbo, rtol=1e-6)
    # And log p(z) - log q(z|x) is an unbiased estimate of -KL(q || N(0, I)): the ELBO the run reports.
    kl = -0.5 * np.sum(1.0 + log_var - mean ** 2 - np.exp(log_var), axis=1)
    difference = (norm.logpdf(z, mean, np.exp(0.5 * log_var)).sum(axis=1) - norm.logpdf(z).sum(axis=1)) - kl
    assert abs(difference.mean()) < 4.0 * difference.std(ddof=1) / math.sqrt(len(part)) + 1e-9


def test_the_iwae_bound_does_not_rise_with_k(logistic_run, levels):
    _, cfg, encoder, distribution = logistic_run
    means = [float(vae.iwae_nats(encoder, distribution, cfg, levels, k, seed=3).mean()) for k in (1, 8, 64)]
    # -log p(x) bounds in nats per image: non-increasing in k, up to Monte Carlo noise (0.1 %).
    tolerance = 1e-3 * means[0]
    assert means[0] + tolerance >= means[1] and means[1] + tolerance >= means[2], means
    assert means[2] < means[0]                                       # it tightens
    result = families.get("vae").likelihood(logistic_run[0], dataclasses.replace(cfg, iwae_samples=8), levels, seed=3)
    assert result.bound == "upper" and result.method.startswith("IWAE, k=8")
    np.testing.assert_allclose(np.mean(result.bits) * math.log(2.0), means[1])


def test_a_bernoulli_run_refuses_in_one_line(shared_tiny_run):
    run = shared_tiny_run("vae", architecture="dense")
    with raises_one_line(GenlabError, "decoder is Bernoulli on grey levels, which is no distribution over 8-bit pixels.*"
                                      "--set decoder=logistic"):
        density.likelihood(run.path, n=4)


def test_decoder_and_iwae_samples_are_checked():
    with raises_one_line(ConfigError, "decoder 'gaussian' is unknown; choose one of bernoulli, logistic"):
        vae.VAEConfig(decoder="gaussian").validate()
    with raises_one_line(ConfigError, "iwae_samples must be at least 1"):
        vae.VAEConfig(iwae_samples=0).validate()
    family = families.get("vae")
    assert family.tiny_density_variant in family.tiny_variants and "iwae_samples" in family.resumable()
    wrong = dataclasses.replace(family, tiny_density_variant={"decoder": "logistic", "latent_dim": 3})
    assert "tiny_density_variant is not one of tiny_variants" in wrong.problems()
