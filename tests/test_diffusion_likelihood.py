"""The DDPM variational bound (genlab.diffusion.likelihood): the prior term against a numerical
KL, the whole bound against a closed form where the noise prediction is exact, the discretized
Gaussian decoder as a distribution, and the Monte Carlo estimate against the full sum on a tiny
trained run."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import norm

from genlab import config, data, families
from genlab.diffusion import likelihood as bound
from genlab.diffusion.schedule import betas_of, cosine_alpha_bar, ddpm_mean, linear_alpha_bar, posterior_variance
from genlab.metrics import likelihood as metric


def test_discretized_gaussian_is_a_distribution_over_256_levels():
    levels = np.arange(256)
    for level, log_scale in ((0, -2.0), (200, -4.0), (90, -5.5), (255, -6.5), (17, -9.0), (128, -1.0)):
        mean = level / 127.5 - 1.0
        log_probability = metric.discretized_gaussian_log_probability(levels, np.full(256, mean), np.full(256, log_scale))
        assert np.isfinite(log_probability).all()
        assert abs(np.exp(log_probability).sum() - 1.0) < 1e-9
        assert np.argmax(log_probability) == level
    # A bin far in a tail stays finite and matches the direct difference of CDFs where that is accurate.
    far = metric.discretized_gaussian_log_probability(np.array([250]), np.array([-1.0]), np.array([-4.0]))
    lower = (250 / 127.5 - 1.0 - 1.0 / 255.0 + 1.0) / math.exp(-4.0)            # 107 standard deviations out
    np.testing.assert_allclose(far, [-lower ** 2 / 2 - math.log(lower * math.sqrt(2 * math.pi))], rtol=1e-6)   # Mills' ratio
    near = metric.discretized_gaussian_log_probability(np.array([140]), np.array([0.1]), np.array([-3.0]))
    x = 140 / 127.5 - 1.0
    direct = norm.cdf((x + 1 / 255 - 0.1) / math.exp(-3.0)) - norm.cdf((x - 1 / 255 - 0.1) / math.exp(-3.0))
    np.testing.assert_allclose(near, [math.log(direct)], rtol=1e-9)


@pytest.mark.parametrize("alpha_bar", [linear_alpha_bar(50), linear_alpha_bar(1000), cosine_alpha_bar(100)],
                         ids=["linear-50", "linear-1000", "cosine-100"])
def test_the_prior_term_is_the_kl_to_the_standard_normal(alpha_bar):
    alpha_bar_T = float(alpha_bar[-1])
    np.testing.assert_allclose(alpha_bar_T, np.prod(1.0 - betas_of(alpha_bar)))        # the known alpha_bar_T
    x0 = np.array([-1.0, -0.2, 0.0, 1.0]).reshape(1, 2, 2, 1)
    mean_scale, std = math.sqrt(alpha_bar_T), math.sqrt(1.0 - alpha_bar_T)
    expected = 0.0
    for value in x0.reshape(-1):     # KL(q || p) = integral of q log(q / p), numerically, per pixel
        q = norm(mean_scale * value, std)
        expected += integrate.quad(lambda y: q.pdf(y) * (q.logpdf(y) - norm.logpdf(y)), -12, 12, points=[mean_scale * value],
                                   epsabs=1e-13, limit=200)[0]
    np.testing.assert_allclose(bound.prior_nats(x0, alpha_bar_T), [expected], rtol=1e-6, atol=1e-10)


def test_the_posterior_table_is_the_samplers_arithmetic():
    alpha_bar = linear_alpha_bar(50)
    table = bound.posterior_table(alpha_bar)
    x_t, x0 = np.array([0.3, -0.7]), np.array([-1.0, 0.5])
    for t in (2, 17, 50):
        np.testing.assert_allclose(table["x0"][t] * x0 + table["xt"][t] * x_t, ddpm_mean(x_t, x0, alpha_bar[t], alpha_bar[t - 1]))
        np.testing.assert_allclose(table["variance"][t], posterior_variance(alpha_bar[t], alpha_bar[t - 1]))
    assert table["variance"][1] == 0.0 and table["decoder_variance"][1] == table["variance"][2]
    np.testing.assert_allclose(table["x0"][1] * x0 + table["xt"][1] * x_t, x0)        # p(x_0 | x_1)'s mean: x0_hat


@pytest.mark.parametrize("draws", [None, 8])
def test_an_exact_noise_prediction_leaves_only_the_prior_and_the_decoder(draws):
    """Data of one image x*: the best noise prediction is (x_t - sqrt(alpha_bar_t) x*) / sqrt(1 - alpha_bar_t),
    which gives x0_hat = x* at every t, so every KL term is 0 and the decoder is a normal centred on x*."""
    alpha_bar = linear_alpha_bar(50)
    image = np.array([0, 255, 1, 254, 128, 37, 0, 200], np.uint8).reshape(1, 2, 4, 1)
    x_star = image.astype(np.float64) / 127.5 - 1.0

    def exact(x_t, t):
        shape = (-1, 1, 1, 1)
        return (x_t - np.sqrt(alpha_bar[t]).reshape(shape) * x_star) / np.sqrt(1.0 - alpha_bar[t]).reshape(shape)

    parts = bound.bound_nats(exact, np.repeat(image, 3, axis=0), alpha_bar, draws=draws, seed=0, batch=7)
    assert np.all(parts["terms"] < 1e-6)
    sigma = math.sqrt(posterior_variance(alpha_bar[2], alpha_bar[1]))       # beta~_2, the decoder's at t = 1
    half = (1.0 / 255.0) / sigma
    by_hand = 0.0
    for level in image.reshape(-1):
        by_hand -= math.log(norm.cdf(half)) if level in (0, 255) else math.log(norm.cdf(half) - norm.cdf(-half))
    prior = 0.5 * np.sum(alpha_bar[-1] * x_star ** 2 - alpha_bar[-1] - math.log(1.0 - alpha_bar[-1]))
    np.testing.assert_allclose(parts["decoder"], by_hand, rtol=1e-4)
    np.testing.assert_allclose(parts["total"], prior + by_hand, rtol=1e-4)


def test_the_strata_cover_every_timestep_once():
    for terms, draws in ((999, 64), (49, 8), (49, 48), (999, 1), (2, 1)):
        edges = bound.strata_edges(terms, draws)
        assert len(edges) == draws + 1 and edges[0] == 0 and edges[-1] == terms and np.all(np.diff(edges) >= 1)
    images, steps, weights = bound.timestep_plan(3, 50, 8, np.random.default_rng(0))
    assert len(steps) == 24 and steps.min() >= 2 and steps.max() <= 50
    np.testing.assert_allclose(np.bincount(images, weights), [49.0] * 3)       # each image's weights add up to T - 1
    images, steps, weights = bound.timestep_plan(2, 50, None, np.random.default_rng(0))
    assert sorted(steps[images == 1].tolist()) == list(range(2, 51)) and set(weights) == {1.0}


@pytest.fixture(scope="module")
def tiny_diffusion(shared_tiny_run):
    family = families.get("diffusion")
    run = shared_tiny_run("diffusion", **(family.tiny_density_variant or family.tiny_variants[0]))
    return run, config.load_run_config(run.path / "config.toml", family)


def test_the_monte_carlo_estimate_agrees_with_the_full_sum(tiny_diffusion):
    run, cfg = tiny_diffusion
    assert cfg.timesteps == 50
    family = families.get("diffusion")
    levels = data.load("mnist-5k").x_test[:24]
    cfg_full = dataclasses.replace(cfg, bound_full_images=len(levels))
    cfg_estimate = dataclasses.replace(cfg, bound_full_images=0, bound_timesteps=8)
    full = family.likelihood(run, cfg_full, levels, seed=1)
    estimate = family.likelihood(run, cfg_estimate, levels, seed=2)
    assert "all 50 timesteps" in full.method and "8 random timesteps of 50 per image" in estimate.method
    assert np.isfinite(full.bits).all() and np.all(full.bits > 0)
    difference = np.asarray(estimate.bits) - np.asarray(full.bits)
    assert abs(difference.mean()) < 4.0 * difference.std(ddof=1) / math.sqrt(len(levels)), (estimate.bits, full.bits)
    assert np.mean(full.bits) / 784 < 8.0
