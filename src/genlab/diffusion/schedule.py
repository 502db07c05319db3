"""Noise schedules and sampler arithmetic for denoising diffusion (pure functions, numpy or keras.ops).

Forward process (fixed): with a variance schedule beta_1..beta_T and alpha_bar_t = prod_{s<=t} (1 - beta_s),

    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I),  x_0 in [-1, 1]

Reverse process over a sub-sequence T = tau_S > ... > tau_0 = 0 of S steps: from each x_t the
predicted noise gives x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t), then a
DDIM step (Song et al. 2021) or a DDPM ancestral step (Ho et al. 2020) to x_s. Every function takes
the schedule as the array alpha_bar_0..alpha_bar_T (alpha_bar_0 = 1) and knows nothing of networks:
`reverse_process` is handed a predict_noise(x, t) function.
"""
from __future__ import annotations

import math

import numpy as np

from genlab.errors import GenlabError

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddim", "ddpm")
MAX_BETA = 0.999            # the cosine schedule's last betas are clipped here (Nichol & Dhariwal)
COSINE_OFFSET = 0.008       # their s: keeps beta_1 from being vanishingly small


# ---------------------------------------------------------------------------- schedules and the forward process
def linear_alpha_bar(timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """alpha_bar_0..alpha_bar_T (T + 1 values, alpha_bar_0 = 1) for betas evenly spaced from beta_start to beta_end."""
    betas = np.linspace(beta_start, beta_end, timesteps, dtype=np.float64)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def cosine_alpha_bar(timesteps: int, offset: float = COSINE_OFFSET) -> np.ndarray:
    """alpha_bar_t = f(t) / f(0), f(t) = cos^2(((t / T + s) / (1 + s)) pi / 2), with every beta clipped to MAX_BETA
    (so alpha_bar_T is small but not 0 and the reverse process never divides by zero)."""
    steps = np.arange(timesteps + 1, dtype=np.float64)
    f = np.cos((steps / timesteps + offset) / (1 + offset) * math.pi / 2) ** 2
    betas = np.clip(1.0 - f[1:] / f[:-1], 0.0, MAX_BETA)
    return np.concatenate([[1.0], np.cumprod(1.0 - betas)])


def alpha_bar_of(config) -> np.ndarray:
    """The schedule a DiffusionConfig (genlab.families.diffusion) names: its alpha_bar_0..alpha_bar_T."""
    if config.schedule == "cosine":
        return cosine_alpha_bar(config.timesteps)
    return linear_alpha_bar(config.timesteps, config.beta_start, config.beta_end)


def betas_of(alpha_bar: np.ndarray) -> np.ndarray:
    """beta_1..beta_T back from alpha_bar_0..alpha_bar_T."""
    return 1.0 - alpha_bar[1:] / alpha_bar[:-1]


def noised(x0, t, noise, alpha_bar):
    """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise, for a batch: x0, noise (batch, H, W, C), t (batch,) ints.
    Written in keras.ops (it runs inside the training step); numpy arrays go in as well."""
    from keras import ops

    table = ops.convert_to_tensor(np.asarray(alpha_bar, dtype="float32"))
    coefficient = ops.reshape(ops.take(table, ops.cast(t, "int32")), (-1, 1, 1, 1))     # (batch, 1, 1, 1)
    return ops.sqrt(coefficient) * x0 + ops.sqrt(1.0 - coefficient) * noise


def time_features(t, dim: int):
    """Sinusoidal features of the timestep (Transformer positions): (batch,) -> (batch, dim),
    [sin(t w_k), cos(t w_k)] with w_k = 10000^(-k / (dim/2)), k = 0..dim/2 - 1."""
    from keras import ops

    half = dim // 2
    frequencies = ops.convert_to_tensor(np.exp(-math.log(10000.0) * np.arange(half) / half).astype("float32"))
    angles = ops.reshape(ops.cast(t, "float32"), (-1, 1)) * ops.reshape(frequencies, (1, -1))    # (batch, half)
    return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=1)


# ---------------------------------------------------------------------------- the reverse process (numpy)
def timestep_sequence(timesteps: int, steps: int) -> np.ndarray:
    """The S + 1 timesteps a sampler of S steps visits, from T down to 0, evenly spaced (all distinct for S <= T)."""
    if not 1 <= steps <= timesteps:
        raise GenlabError(f"sampling steps must be between 1 and the model's {timesteps} timesteps, got {steps}")
    return np.round(np.linspace(timesteps, 0, steps + 1)).astype(int)


def predicted_start(x_t, noise, alpha_bar_t):
    """x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t): the image the predicted noise implies."""
    return (x_t - np.sqrt(1.0 - alpha_bar_t) * noise) / np.sqrt(alpha_bar_t)


def posterior_variance(alpha_bar_t: float, alpha_bar_s: float) -> float:
    """Variance of q(x_s | x_t, x_0) for s < t: (1 - alpha_bar_s) / (1 - alpha_bar_t) * beta, beta = 1 - alpha_bar_t / alpha_bar_s."""
    return (1.0 - alpha_bar_s) / (1.0 - alpha_bar_t) * (1.0 - alpha_bar_t / alpha_bar_s)


def ddim_sigma(alpha_bar_t: float, alpha_bar_s: float, eta: float) -> float:
    """DDIM's noise scale for the step t -> s (eq. 16 of Song et al.); eta = 1 gives sqrt(posterior_variance)."""
    return eta * math.sqrt((1.0 - alpha_bar_s) / (1.0 - alpha_bar_t)) * math.sqrt(1.0 - alpha_bar_t / alpha_bar_s)


def ddim_step(x_t, x0, noise_prediction, alpha_bar_t: float, alpha_bar_s: float, eta: float, fresh_noise):
    """One DDIM step t -> s: x_s = sqrt(ab_s) x0 + sqrt(1 - ab_s - sigma^2) eps + sigma z."""
    sigma = ddim_sigma(alpha_bar_t, alpha_bar_s, eta)
    direction = math.sqrt(max(1.0 - alpha_bar_s - sigma ** 2, 0.0))
    result = math.sqrt(alpha_bar_s) * x0 + direction * noise_prediction
    return result + sigma * fresh_noise if sigma > 0 else result


def ddpm_mean(x_t, x0, alpha_bar_t: float, alpha_bar_s: float):
    """Mean of the forward process' posterior q(x_s | x_t, x_0) (eq. 7 of Ho et al., for any s < t)."""
    beta = 1.0 - alpha_bar_t / alpha_bar_s
    return (math.sqrt(alpha_bar_s) * beta / (1.0 - alpha_bar_t)) * x0 \
        + (math.sqrt(1.0 - beta) * (1.0 - alpha_bar_s) / (1.0 - alpha_bar_t)) * x_t


def ddpm_step(x_t, x0, alpha_bar_t: float, alpha_bar_s: float, fresh_noise):
    """One ancestral step: x_s ~ q(x_s | x_t, x0_hat)."""
    return ddpm_mean(x_t, x0, alpha_bar_t, alpha_bar_s) + math.sqrt(posterior_variance(alpha_bar_t, alpha_bar_s)) * fresh_noise


def reverse_process(predict_noise, x_T: np.ndarray, alpha_bar: np.ndarray, steps: int, *, sampler: str = "ddim",
                    eta: float = 0.0, rng: np.random.Generator | None = None, clip: bool = True,
                    record: set[int] | None = None, on_step=None):
    """Run a sampler from x_T (batch, H, W, C) to x_0 in [-1, 1]; returns (x_0, {step index: x at that point}).

    predict_noise(x, t) -> eps_theta for the batch at the integer timestep t. `clip` clips x0_hat to
    [-1, 1] (the data's range) and re-derives eps from it, as DDPM's reference code does.
    `record` names step indices (0 = x_T, S = x_0) whose states are returned; on_step() is called per step.
    """
    if sampler not in SAMPLERS:
        raise GenlabError(f"sampler '{sampler}' is unknown; choose {' or '.join(SAMPLERS)}")
    rng = rng if rng is not None else np.random.default_rng(0)
    sequence = timestep_sequence(len(alpha_bar) - 1, steps)
    x = np.asarray(x_T, dtype=np.float32)
    kept = {0: x} if record and 0 in record else {}
    for index, (t, s) in enumerate(zip(sequence[:-1], sequence[1:]), start=1):
        alpha_bar_t, alpha_bar_s = float(alpha_bar[t]), float(alpha_bar[s])
        eps = np.asarray(predict_noise(x, int(t)), dtype=np.float32)
        x0 = predicted_start(x, eps, alpha_bar_t)
        if clip:
            x0 = np.clip(x0, -1.0, 1.0)
            eps = (x - math.sqrt(alpha_bar_t) * x0) / math.sqrt(1.0 - alpha_bar_t)
        stochastic = sampler == "ddpm" or eta > 0
        fresh = rng.standard_normal(x.shape).astype(np.float32) if stochastic and s > 0 else 0.0
        if sampler == "ddpm":
            x = ddpm_step(x, x0, alpha_bar_t, alpha_bar_s, fresh)
        else:
            x = ddim_step(x, x0, eps, alpha_bar_t, alpha_bar_s, eta, fresh)
        x = x.astype(np.float32)
        if record and index in record:
            kept[index] = x
        if on_step is not None:
            on_step()
    return x, kept
