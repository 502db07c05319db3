"""The DDPM variational bound on -log2 P(x) of 8-bit images (Ho et al. 2020, eq. 5; the discretized
decoder of their eq. 13, as Nichol & Dhariwal 2021 compute it), in numpy around the noise predictor.

With x_0 = level / 127.5 - 1 in [-1, 1] and the forward process q of `genlab.diffusion.schedule`,

    -log P(x_0) <= L_T + sum_{t=2}^{T} L_{t-1} + L_0,  where
    L_T     = KL(q(x_T | x_0) || N(0, I))                       closed form, no network call;
    L_{t-1} = KL(q(x_{t-1} | x_t, x_0) || p(x_{t-1} | x_t))       at one x_t ~ q(x_t | x_0) per term;
    L_0     = -log p(x_0 | x_1)                                  a normal discretized into the 256 bins.

p(x_{t-1} | x_t) is the sampler's step: mean the posterior mean at x0_hat, the x_0 the predicted
noise implies (clipped to [-1, 1], as the samplers clip it), and the reverse variance fixed to
the posterior's beta~_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t, the variance the ddpm
sampler and DDIM with eta = 1 draw with (beta~_1 = 0, so the decoder at t = 1 uses beta~_2, as
improved-diffusion's clipped log-variance does). Both Gaussians of a KL term share that variance,
so it is |mu_q - mu_p|^2 / (2 beta~_t) per dimension. The decoder puts its probability on the 256
bins of the levels, so the figure bounds the discrete P(x) itself: no log 256 to add.

The sum costs a network call per timestep and image. `bound_nats` sums all T - 1 KL terms, or
estimates their sum without bias from `draws` timesteps per image: 2..T cut into `draws` strata,
one t drawn uniformly in each and its term weighted by its stratum's size (stratified sampling,
no importance weights). The strata are equal in log t, so the first few timesteps, whose terms
are the largest (their weight falls roughly as 1/t), are strata of one and summed exactly; equal
strata were measured far noisier. L_T and L_0 are always exact (L_0: one network call).
"""
from __future__ import annotations

import math

import numpy as np

from genlab.metrics.likelihood import LOG2_E, discretized_gaussian_log_probability


def posterior_table(alpha_bar: np.ndarray) -> dict[str, np.ndarray]:
    """Per timestep t = 0..T (index t; entry 0 unused) the posterior q(x_{t-1} | x_t, x_0)'s mean
    coefficients on x_0 and x_t and its variance beta~_t, and the decoder's variance (beta~_t,
    with beta~_2 at t = 1)."""
    alpha_bar = np.asarray(alpha_bar, dtype=np.float64)
    previous = np.concatenate([[1.0], alpha_bar[:-1]])            # alpha_bar_{t-1}
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = 1.0 - alpha_bar / previous
        coefficient_x0 = np.sqrt(previous) * beta / (1.0 - alpha_bar)
        coefficient_xt = np.sqrt(1.0 - beta) * (1.0 - previous) / (1.0 - alpha_bar)
        variance = (1.0 - previous) / (1.0 - alpha_bar) * beta
    variance[0] = coefficient_x0[0] = coefficient_xt[0] = 0.0
    decoder_variance = variance.copy()
    if len(alpha_bar) > 2:
        decoder_variance[1] = variance[2]
    else:                                    # T = 1: no beta~_2; the forward step's own variance
        decoder_variance[1] = beta[1]
    return {"x0": coefficient_x0, "xt": coefficient_xt, "variance": variance, "decoder_variance": decoder_variance}


def prior_nats(x0: np.ndarray, alpha_bar_T: float) -> np.ndarray:
    """L_T = KL(N(sqrt(alpha_bar_T) x_0, (1 - alpha_bar_T) I) || N(0, I)) per image, in nats:
    sum over dimensions of (alpha_bar_T x_0^2 + (1 - alpha_bar_T) - 1 - log(1 - alpha_bar_T)) / 2."""
    flat = np.asarray(x0, np.float64).reshape(len(x0), -1)
    return 0.5 * np.sum(alpha_bar_T * flat ** 2 - alpha_bar_T - math.log1p(-alpha_bar_T), axis=1)


def strata_edges(terms: int, draws: int) -> np.ndarray:
    """draws + 1 strictly increasing edges from 0 to `terms` (draws < terms): stratum j holds the
    offsets edges[j] .. edges[j + 1] - 1, equal in log(offset + 1) where that leaves each one at
    least one offset (so the first strata are single offsets)."""
    edges = np.round(np.geomspace(1.0, terms + 1.0, draws + 1) - 1.0).astype(np.int64)
    edges[0], edges[-1] = 0, terms
    for j in range(1, draws + 1):
        edges[j] = max(edges[j], edges[j - 1] + 1)       # stays <= terms: the curve is convex (see the tests)
    return edges


def timestep_plan(count: int, timesteps: int, draws: int | None, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image index, t, weight) of every network call, t >= 2 (the KL terms): all of 2..T with
    weight 1 when `draws` is None or covers them, else per image one uniform t in each of `draws`
    strata of 2..T weighted by the stratum's size (an unbiased estimate of the sum)."""
    terms = timesteps - 1
    if terms < 1:
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0)
    if draws is None or draws >= terms:
        images = np.repeat(np.arange(count), terms)
        return images, np.tile(np.arange(2, timesteps + 1), count), np.ones(count * terms)
    edges = strata_edges(terms, draws)                                               # strata of offsets 0..terms-1
    sizes = np.diff(edges)
    offsets = edges[:-1][None, :] + np.floor(rng.random((count, draws)) * sizes[None, :]).astype(np.int64)
    return np.repeat(np.arange(count), draws), (offsets + 2).reshape(-1), np.tile(sizes.astype(np.float64), count)


def bound_nats(predict_noise, levels: np.ndarray, alpha_bar: np.ndarray, *, draws: int | None, seed: int,
               batch: int = 250) -> dict[str, np.ndarray]:
    """The variational bound per image in nats, and its parts: {"total", "prior", "terms", "decoder"}.

    predict_noise(x_t, t) -> eps_theta for a batch (x_t float32 (B, H, W, C) in the x_0 scale,
    t int (B,)); levels uint8 (N, H, W, C); alpha_bar the schedule's alpha_bar_0..alpha_bar_T;
    draws None for all T - 1 KL terms, or the number of stratified random timesteps per image."""
    levels = np.asarray(levels)
    x0 = levels.astype(np.float64) / 127.5 - 1.0
    count, timesteps = len(levels), len(alpha_bar) - 1
    table = posterior_table(alpha_bar)
    rng = np.random.default_rng(seed)
    images, steps, weights = timestep_plan(count, timesteps, draws, rng)
    # The decoder's call (t = 1) for every image after the KL terms', all in batches.
    images = np.concatenate([images, np.arange(count)])
    steps = np.concatenate([steps, np.ones(count, np.int64)])
    weights = np.concatenate([weights, np.ones(count)])
    terms, decoder = np.zeros(count), np.zeros(count)
    for start in range(0, len(images), batch):
        index, t, weight = images[start:start + batch], steps[start:start + batch], weights[start:start + batch]
        start_images = x0[index]                                                       # (B, H, W, C)
        shape = (-1,) + (1,) * (start_images.ndim - 1)
        root = np.sqrt(alpha_bar[t]).reshape(shape)
        noise = rng.standard_normal(start_images.shape)
        x_t = root * start_images + np.sqrt(1.0 - alpha_bar[t]).reshape(shape) * noise
        eps = np.asarray(predict_noise(x_t.astype(np.float32), t), dtype=np.float64)
        x0_hat = np.clip((x_t - np.sqrt(1.0 - alpha_bar[t]).reshape(shape) * eps) / root, -1.0, 1.0)
        error = (start_images - x0_hat).reshape(len(index), -1)
        kl, at_one = t >= 2, t == 1
        if kl.any():
            # mu_q - mu_p = coefficient_x0 (x_0 - x0_hat): the x_t parts of the two means cancel.
            nats = table["x0"][t[kl]] ** 2 * np.sum(error[kl] ** 2, axis=1) / (2.0 * table["variance"][t[kl]])
            np.add.at(terms, index[kl], weight[kl] * nats)
        if at_one.any():
            # p(x_0 | x_1)'s mean is the posterior mean at s = 0, which is x0_hat itself.
            mean = (table["x0"][1] * x0_hat + table["xt"][1] * x_t)[at_one].reshape(int(at_one.sum()), -1)
            log_scale = 0.5 * math.log(table["decoder_variance"][1])
            log_probability = discretized_gaussian_log_probability(levels[index[at_one]].reshape(len(mean), -1), mean, log_scale)
            np.add.at(decoder, index[at_one], -log_probability.sum(axis=1))
    prior = prior_nats(x0, float(alpha_bar[-1]))
    return {"total": prior + terms + decoder, "prior": prior, "terms": terms, "decoder": decoder}


def bits(parts: dict[str, np.ndarray]) -> np.ndarray:
    """The bound's total per image in bits."""
    return parts["total"] * LOG2_E


def describe_cost(timesteps: int, draws: int | None) -> str:
    """What `Density.method` says of the bound's cost."""
    if draws is None or draws >= timesteps - 1:
        return f"all {timesteps} timesteps (one x_t draw each)"
    return (f"{draws} random timesteps of {timesteps} per image, stratified in log t (an unbiased Monte Carlo estimate "
            "of the bound's sum), the prior and decoder terms exact")
