"""Denoising diffusion (`diffusion`): a U-Net learns to predict the noise added to an image.

Forward process (fixed): with a variance schedule beta_1..beta_T and alpha_bar_t = prod_{s<=t} (1 - beta_s),

    x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps,   eps ~ N(0, I),  x_0 in [-1, 1]

so x_0 is the image itself (alpha_bar_0 = 1) and x_T is nearly pure noise. Training draws t
uniformly in 1..T and minimises the MSE between eps and the network's prediction eps_theta(x_t, t).
A network that always predicts zero scores the 'predict zero' loss E[eps^2] = 1: every loss here
is logged against that number, so the classic silent failure (a network that learnt nothing
but the mean) shows at once.

Sampling runs the process backwards over a sub-sequence T = tau_S > ... > tau_0 = 0 of S steps:
from each x_t the prediction gives x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t), then

    DDIM (Song et al. 2021): x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma^2) eps_theta + sigma z,
        sigma = eta sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_s)
        (eta = 0: deterministic; eta = 1: DDPM's posterior variance)
    DDPM (Ho et al. 2020): x_s ~ q(x_s | x_t, x0_hat), the Gaussian posterior of the forward process.

Class-conditional training (`conditional=true`) replaces the label by a 'no class' token with
probability `label_dropout`, so one network learns both eps(x_t, t, c) and eps(x_t, t); sampling
with classifier-free guidance uses eps_u + guidance (eps_c - eps_u) (guidance 1: plain conditional).

Training is `model.fit` on a small `keras.Model` whose `call` noises the batch and whose
`compute_loss` is the MSE, both in `keras.ops`: Keras computes the gradients on every backend, so
no backend code lives here (genlab.training adds epoch checkpoints, resume and the NaN guard).
The exponential moving average of the weights is the optimizer's own (`use_ema`), so it is
checkpointed with the optimizer; the averaged network is what `model.keras` holds and samples.
The network's inputs are the noisy images, the sinusoidal features of t (computed by
`time_features`, outside the network, so `model.keras` holds plain Keras layers and loads in safe
mode) and, when conditional, the label.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from genlab.config import describe
from genlab.errors import ConfigError, GenlabError
from genlab.families import Family

log = logging.getLogger("genlab.diffusion")

SCHEDULES = ("linear", "cosine")
SAMPLERS = ("ddim", "ddpm")
SAMPLE_OPTIONS = ("steps", "eta", "guidance", "sampler")
MAX_BETA = 0.999            # the cosine schedule's last betas are clipped here (Nichol & Dhariwal)
COSINE_OFFSET = 0.008       # their s: keeps beta_1 from being vanishingly small


@dataclass
class DiffusionConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    epochs: int = describe(5, "passes over the training set (time_budget_s may stop earlier)")
    time_budget_s: float = describe(0.0, "stop training after this many seconds of training (0: no limit); the last epoch is then partial")
    batch_size: int = describe(128, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate")
    clip_norm: float = describe(1.0, "clip the global gradient norm to this (0: no clipping)")
    ema: float = describe(0.995, "exponential moving average of the weights, used for sampling (0: off)")
    channels: tuple[int, ...] = describe((16, 32, 64), "U-Net widths, one per resolution (28, 14, 7 for MNIST)")
    res_blocks: int = describe(1, "residual blocks per resolution on the way down (one more on the way up)")
    attention: bool = describe(False, "self-attention between the two residual blocks at the lowest resolution")
    groups: int = describe(8, "groups of the group normalisation (must divide every width)")
    time_dim: int = describe(64, "size of the sinusoidal time features")
    dropout: float = describe(0.0, "dropout inside the residual blocks")
    timesteps: int = describe(1000, "T, the number of noise levels")
    schedule: str = describe("linear", "noise schedule: linear (DDPM) or cosine (Nichol & Dhariwal)")
    beta_start: float = describe(1e-4, "linear schedule: beta_1")
    beta_end: float = describe(0.02, "linear schedule: beta_T")
    conditional: bool = describe(False, "class-conditional, trained for classifier-free guidance")
    label_dropout: float = describe(0.1, "conditional: share of labels replaced by 'no class' in training")
    guidance: float = describe(2.0, "conditional: default guidance scale at sampling (1: plain conditional, 0: unconditional)")
    sampler: str = describe("ddim", "default sampler: ddim or ddpm (ancestral)")
    sample_steps: int = describe(50, "default number of sampling steps (at most timesteps)")
    eta: float = describe(1.0, "default DDIM eta: 0 deterministic, 1 DDPM's posterior variance (measured: far cleaner samples from short trainings)")
    sample_batch: int = describe(250, "images per network call when sampling")
    sample_every: int = describe(200, "training steps between fixed-noise grids")
    grid_steps: int = describe(20, "sampling steps of the fixed-noise progress grids")
    sample_grid: int = describe(64, "images in the fixed-noise progress grid")
    log_every: int = describe(20, "training steps per row of steps.csv (the loss curve)")
    fid_steps: tuple[int, ...] = describe((10, 25, 50), "sampling steps of the FID-against-steps figure made after training")
    fid_samples: int = describe(500, "samples per point of that figure (0: no figure)")
    validation_images: int = describe(2000, "test images for the per-epoch validation loss")
    steps_per_execution: int = describe(1, "batches per compiled call")
    seed: int = describe(0, "random seed (weights, noise, timesteps, data order)")

    def validate(self):
        for key in ("epochs", "batch_size", "res_blocks", "groups", "time_dim", "timesteps", "sample_steps", "sample_batch",
                    "sample_every", "grid_steps", "sample_grid", "log_every", "steps_per_execution", "validation_images"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"schedule '{self.schedule}' is unknown; choose {' or '.join(SCHEDULES)}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler '{self.sampler}' is unknown; choose {' or '.join(SAMPLERS)}")
        if not self.channels or any(width < 1 or width % self.groups for width in self.channels):
            raise ConfigError(f"channels {self.channels} must be positive multiples of groups={self.groups}")
        if self.time_dim % 2:
            raise ConfigError(f"time_dim must be even (sine and cosine halves), got {self.time_dim}")
        if not 0 < self.beta_start <= self.beta_end < 1:
            raise ConfigError(f"the linear schedule needs 0 < beta_start <= beta_end < 1, got {self.beta_start} and {self.beta_end}")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError("ema must be in [0, 1) (0 turns it off)")
        if not 0.0 <= self.label_dropout < 1.0 or not 0.0 <= self.dropout < 1.0:
            raise ConfigError("label_dropout and dropout must be in [0, 1)")
        if self.time_budget_s < 0 or self.clip_norm < 0 or self.guidance < 0 or self.fid_samples < 0:
            raise ConfigError("time_budget_s, clip_norm, guidance and fid_samples must be >= 0")
        if not 0.0 <= self.eta <= 1.0:
            raise ConfigError(f"eta must be in [0, 1], got {self.eta}")
        for steps in (self.sample_steps, self.grid_steps, *self.fid_steps):
            if not 1 <= steps <= self.timesteps:
                raise ConfigError(f"sampling steps must be between 1 and timesteps={self.timesteps}, got {steps}")


# The chapter has no diffusion model: its preset is genlab's recipe.
PRESETS = {"chapter": {}, "default": {}}


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


def alpha_bar_of(config: DiffusionConfig) -> np.ndarray:
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


# ---------------------------------------------------------------------------- the network
def padded_shape(image_shape, levels: int) -> tuple[int, int]:
    """Sides rounded up to a multiple of 2^(levels - 1), so every down-sampling halves an even side."""
    factor = 2 ** (levels - 1)
    return tuple(int(math.ceil(side / factor) * factor) for side in image_shape[:2])


def _residual_block(x, embedded, width: int, config: DiffusionConfig):
    """GroupNorm-swish-conv, + the time (and class) embedding per channel, GroupNorm-swish-[dropout]-conv, + skip."""
    from keras import layers

    h = layers.Conv2D(width, 3, padding="same")(layers.Activation("swish")(layers.GroupNormalization(config.groups)(x)))
    shift = layers.Reshape((1, 1, width))(layers.Dense(width)(layers.Activation("swish")(embedded)))   # (batch, 1, 1, width)
    h = layers.Add()([h, shift])                                                                       # broadcast over H, W
    h = layers.Activation("swish")(layers.GroupNormalization(config.groups)(h))
    if config.dropout:
        h = layers.Dropout(config.dropout)(h)
    h = layers.Conv2D(width, 3, padding="same")(h)
    skip = x if x.shape[-1] == width else layers.Conv2D(width, 1)(x)
    return layers.Add()([skip, h])


def _attention_block(x, config: DiffusionConfig):
    """Self-attention over the H*W positions of a (batch, H, W, C) map, residual."""
    from keras import layers

    height, width, channels = x.shape[1:]
    heads = 4 if channels % 4 == 0 else 1
    tokens = layers.Reshape((height * width, channels))(layers.GroupNormalization(config.groups)(x))   # (batch, HW, C)
    attended = layers.MultiHeadAttention(num_heads=heads, key_dim=channels // heads)(tokens, tokens)
    return layers.Add()([x, layers.Reshape((height, width, channels))(attended)])


def build_network(config: DiffusionConfig, image_shape, num_classes: int = 10):
    """The U-Net eps_theta([x_t, time_features(t)(, label)]) -> eps, same shape as the images.

    For 28x28 and channels (16, 32, 64): 28 -> 14 -> 7 on the way down (one residual block per
    level, a stride-2 convolution between levels), two blocks at 7x7 (attention between them if
    asked), and back up with res_blocks + 1 blocks per level, each fed the matching skip
    connection. Sides that the down-sampling cannot halve are zero-padded first and cropped back.
    A conditional network adds a label embedding (num_classes + 1 entries: the last is 'no class')
    to the time embedding.
    """
    import keras
    from keras import layers

    height, width, image_channels = image_shape
    levels = len(config.channels)
    padded_height, padded_width = padded_shape(image_shape, levels)
    images = keras.Input(shape=tuple(image_shape), name="noisy_images")                 # (batch, 28, 28, 1)
    features = keras.Input(shape=(config.time_dim,), name="time_features")               # (batch, 64)
    inputs = [images, features]
    embedding_width = 4 * config.channels[0]
    embedded = layers.Dense(embedding_width)(layers.Dense(embedding_width, activation="swish")(features))   # (batch, 64)
    if config.conditional:
        label = keras.Input(shape=(1,), dtype="int32", name="label")                     # (batch, 1); num_classes = none
        inputs.append(label)
        class_vector = layers.Flatten()(layers.Embedding(num_classes + 1, embedding_width)(label))
        embedded = layers.Add()([embedded, class_vector])

    x = images
    padding = ((0, padded_height - height), (0, padded_width - width))
    if padded_height != height or padded_width != width:
        x = layers.ZeroPadding2D(padding)(x)
    x = layers.Conv2D(config.channels[0], 3, padding="same")(x)                          # (batch, 28, 28, 16)
    skips = [x]
    for level, level_width in enumerate(config.channels):                                # 28 -> 14 -> 7
        for _ in range(config.res_blocks):
            x = _residual_block(x, embedded, level_width, config)
            skips.append(x)
        if level < levels - 1:
            x = layers.Conv2D(level_width, 3, strides=2, padding="same")(x)
            skips.append(x)
    x = _residual_block(x, embedded, config.channels[-1], config)                        # (batch, 7, 7, 64)
    if config.attention:
        x = _attention_block(x, config)
    x = _residual_block(x, embedded, config.channels[-1], config)
    for level in reversed(range(levels)):                                                # 7 -> 14 -> 28
        for _ in range(config.res_blocks + 1):
            x = _residual_block(layers.Concatenate()([x, skips.pop()]), embedded, config.channels[level], config)
        if level > 0:
            x = layers.Conv2D(config.channels[level], 3, padding="same")(layers.UpSampling2D(2)(x))
    x = layers.Activation("swish")(layers.GroupNormalization(config.groups)(x))
    # Zero-initialised output: the untrained network predicts eps = 0 (loss 1), a clean start.
    x = layers.Conv2D(image_channels, 3, padding="same", kernel_initializer="zeros", dtype="float32", name="noise")(x)
    if padded_height != height or padded_width != width:
        x = layers.Cropping2D(padding)(x)                                                # back to (batch, H, W, C)
    return keras.Model(inputs, x, name="noise_predictor")


def forward_flops(network) -> float:
    """FLOPs of one image through `network`, counted from the layer shapes (multiply-add = 2):
    convolutions, dense layers and attention (projections and the two H*W x H*W products);
    normalisation and activations are left out (a few per cent)."""
    import keras

    total = 0.0
    for layer in network.layers:
        if isinstance(layer, keras.layers.Conv2D):
            output = layer.output.shape                                                  # (batch, H, W, C_out)
            kernel_height, kernel_width, channels_in, channels_out = layer.kernel.shape
            total += 2.0 * output[1] * output[2] * kernel_height * kernel_width * channels_in * channels_out
        elif isinstance(layer, keras.layers.Dense):
            positions = int(np.prod(layer.input.shape[1:-1])) if len(layer.input.shape) > 2 else 1
            total += 2.0 * positions * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.MultiHeadAttention):
            tokens, channels = layer.input[0].shape[1:] if isinstance(layer.input, (list, tuple)) else layer.input.shape[1:]
            inner = layer.num_heads * layer.key_dim
            total += 2.0 * tokens * channels * inner * 4                                 # q, k, v and output projections
            total += 2.0 * 2 * tokens * tokens * inner                                   # scores and weighted sum
    return total


# ---------------------------------------------------------------------------- training
def _trainer_class():
    import keras
    from keras import ops

    class DiffusionTrainer(keras.Model):
        """Wraps the U-Net for `fit`: call() noises the batch, compute_loss() is the noise MSE.

        Everything is keras.ops and keras.random (with a checkpointed SeedGenerator), so Keras'
        own train step computes the gradients on every backend."""

        def __init__(self, network, alpha_bar, config: DiffusionConfig, num_classes: int, **kwargs):
            super().__init__(**kwargs)
            self.network = network
            self.alpha_bar = np.asarray(alpha_bar, dtype="float32")
            self.diffusion = config
            self.num_classes = num_classes
            self.seed_generator = keras.random.SeedGenerator(config.seed)

        def call(self, inputs, training=False):
            images, labels = inputs["images"], inputs["labels"]                          # (batch, 28, 28, 1), (batch, 1)
            batch = ops.shape(images)[0]
            x0 = images * 2.0 - 1.0                                                      # the data in [-1, 1]
            t = keras.random.randint((batch,), 1, self.diffusion.timesteps + 1, seed=self.seed_generator)
            noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
            network_inputs = [noised(x0, t, noise, self.alpha_bar), time_features(t, self.diffusion.time_dim)]
            if self.diffusion.conditional:
                labels = ops.cast(labels, "int32")
                if training and self.diffusion.label_dropout > 0:
                    dropped = keras.random.uniform(ops.shape(labels), seed=self.seed_generator) < self.diffusion.label_dropout
                    labels = ops.where(dropped, ops.full_like(labels, self.num_classes), labels)
                network_inputs.append(labels)
            return self.network(network_inputs, training=training), noise

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            predicted, noise = y_pred
            return ops.mean(ops.square(ops.cast(predicted, "float32") - noise))

    return DiffusionTrainer


def ema_network(trainer, config: DiffusionConfig, image_shape, num_classes: int, copy=None):
    """A copy of the U-Net holding the optimizer's moving averages (or the weights when ema = 0);
    `copy`, when given, is such a network to refresh (building one takes a second).

    Keras keeps the averages in the optimizer (`use_ema`), one per trainable variable in the order
    of trainer.trainable_variables (the U-Net's; it has no non-trainable weights: no BatchNorm)."""
    from keras import ops

    copy = copy if copy is not None else build_network(config, image_shape, num_classes)
    averages = getattr(trainer.optimizer, "_model_variables_moving_average", None) if config.ema > 0 else None
    sources = averages if averages else trainer.network.trainable_variables
    for target, source in zip(copy.trainable_variables, sources):
        # A copy, not the same buffer: jax's training step donates (frees) the arrays it is given.
        target.assign(ops.copy(source))
    return copy


class _StepLog:
    """The loss curve per `log_every` training steps (fit's own history is one row per epoch):
    RUN/steps.csv with step, the window's mean loss and seconds."""

    def __init__(self, run):
        self.path = run.path / "steps.csv"
        self.rows = read_steps(run)

    def truncate(self, step: int):
        self.rows = [row for row in self.rows if row["step"] <= step]

    def add(self, step: int, loss: float, seconds: float):
        from genlab import io

        self.rows.append({"step": step, "loss": loss, "seconds": seconds})
        io.write_text(self.path, "step,loss,seconds\n" + "".join(f"{row['step']},{row['loss']:.6g},{row['seconds']:.3f}\n"
                                                                 for row in self.rows))


def read_steps(run) -> list[dict]:
    path = run.path / "steps.csv"
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    return [{"step": int(step), "loss": float(loss), "seconds": float(seconds)}
            for step, loss, seconds in (line.split(",") for line in lines if line.count(",") == 2)]


def _callbacks(run, config, trainer, image_shape, num_classes, elapsed_before: float):
    """Fit callbacks: the per-step loss log, the fixed-noise grids, the time budget."""
    import keras

    from genlab.backend import sync_fit_state, to_numpy

    class Steps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.log = _StepLog(run)
            self.fixed = fixed_grid_inputs(config, image_shape, num_classes)
            self.stopped_by_budget = False

        def _step(self) -> int:
            # Read only between epochs: on jax, fit holds the variables in its own state while an
            # epoch runs (the model's are emptied), so within one the step is counted here.
            return int(to_numpy(self.model.optimizer.iterations))

        def on_train_begin(self, logs=None):
            self.started = time.perf_counter()
            self.step = self._step()
            self.log.truncate(self.step)       # rows logged after the checkpoint being resumed from
            self.window_start = (self.step, 0.0, 0)
            if self.step == 0:
                self.grid()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch_start = self._step()
            self.window_start = (self.epoch_start, 0.0, 0)

        def on_train_batch_end(self, batch, logs=None):
            self.step = self.epoch_start + batch + 1      # `batch`: the last batch of this call (steps_per_execution)
            # Keras reports the epoch's running mean; the window's mean is recovered from two of them.
            seen = batch + 1
            running = float((logs or {}).get("loss", float("nan")))
            self.last_batch = (running, seen)
            if self.step % config.log_every == 0 and seen > self.window_start[2]:
                self.log_window(running, seen)
            if self.step % config.sample_every == 0:
                self.grid()
            if config.time_budget_s and elapsed_before + time.perf_counter() - self.started >= config.time_budget_s:
                self.stopped_by_budget = True
                self.model.stop_training = True

        def log_window(self, running: float, seen: int):
            start_step, start_mean, start_seen = self.window_start
            window = (running * seen - start_mean * start_seen) / (seen - start_seen)
            self.log.add(self.step, window, elapsed_before + time.perf_counter() - self.started)
            self.window_start = (self.step, running, seen)

        def on_train_end(self, logs=None):
            # The last partial window, so that a short run (fewer than log_every steps) still has a loss curve.
            running, seen = getattr(self, "last_batch", (float("nan"), 0))
            if seen > self.window_start[2] and math.isfinite(running):
                self.log_window(running, seen)
            # A last grid where training stopped (not after a NaN: the genlab NaN guard then ends the run).
            if self.step % config.sample_every and math.isfinite(float((logs or {}).get("loss", 0.0))):
                self.grid()

        def grid(self):
            sync_fit_state(self.model)
            self.sampler = ema_network(trainer, config, image_shape, num_classes, getattr(self, "sampler", None))
            save_fixed_grid(run, config, self.sampler, self.fixed, self.step)

    return Steps()


def train(config: DiffusionConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    import keras

    from genlab import backend, checkpoints, data, training

    dataset = data.load(config.dataset, data_dir)
    images = data.to_float(dataset.x_train)                                              # (N, 28, 28, 1) in [0, 1]
    labels = dataset.y_train.astype("int32").reshape(-1, 1)
    if len(images) < config.batch_size:
        raise ConfigError(f"batch_size {config.batch_size} is more than the training set ({len(images)}); lower batch_size")
    alpha_bar = alpha_bar_of(config)
    network = build_network(config, dataset.image_shape, dataset.num_classes)
    trainer = _trainer_class()(network, alpha_bar, config, dataset.num_classes, name="diffusion_trainer")
    optimizer = keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm or None,
                                      use_ema=config.ema > 0, ema_momentum=config.ema or 0.99)
    trainer.compile(optimizer=optimizer, steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
    validation = _validation_inputs(config, dataset)
    elapsed_before = float(checkpoints.latest(run).get("elapsed_s", 0.0)) if resume else 0.0
    steps = _callbacks(run, config, trainer, dataset.image_shape, dataset.num_classes, elapsed_before)
    timing = training.fit(trainer, run, {"images": images, "labels": labels}, None, epochs=config.epochs,
                          batch_size=config.batch_size, validation_data=(validation,), verbose=verbose,
                          callbacks=[steps], resume=resume)
    sampler = ema_network(trainer, config, dataset.image_shape, dataset.num_classes)
    run.save_model(sampler, "model.keras")

    step_count = int(backend.to_numpy(trainer.optimizer.iterations))
    flops_per_image = forward_flops(sampler)
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "parameters": int(network.count_params()), **timing,
               "steps": step_count, "images_seen": step_count * config.batch_size,
               "epochs_done": round(step_count * config.batch_size / len(images), 3),
               "stopped_by_time_budget": steps.stopped_by_budget, "forward_gflops_per_image": flops_per_image / 1e9,
               **noise_prediction_metrics(sampler, config, dataset)}
    rows = read_steps(run)
    timed = [row for row in rows if row["step"] > min(2 * config.log_every, step_count // 2)]
    if len(timed) > 1:
        metrics["seconds_per_step"] = (timed[-1]["seconds"] - timed[0]["seconds"]) / (timed[-1]["step"] - timed[0]["step"])
        metrics["gflops_per_s"] = 3 * flops_per_image * config.batch_size / metrics["seconds_per_step"] / 1e9
    if metrics["test_loss_vs_zero"] > 0.9:
        log.warning(f"the noise prediction's test MSE is {metrics['test_noise_mse']:.3f}, close to the {metrics['test_zero_mse']:.3f} "
                    "of predicting zero: the network has learnt (almost) nothing; train longer or raise the learning rate")
    figures(run, config, sampler, dataset)
    if config.conditional:
        metrics.update(conditional_accuracy(run, config, sampler))
    if config.fid_samples:
        metrics.update(fid_figure(run, config, sampler, dataset.name, data_dir))
    return metrics


def _validation_inputs(config: DiffusionConfig, dataset) -> dict:
    from genlab import data

    count = min(config.validation_images, len(dataset.x_test))
    return {"images": data.to_float(dataset.x_test[:count]), "labels": dataset.y_test[:count].astype("int32").reshape(-1, 1)}


def noise_prediction_metrics(network, config: DiffusionConfig, dataset, count: int = 2000) -> dict:
    """The noise MSE on test images at fixed random (t, eps), against predicting zero (E[eps^2], ~1)."""
    from genlab import data

    rng = np.random.default_rng(config.seed + 5)
    x0 = data.to_float(dataset.x_test[:count]) * 2.0 - 1.0
    t = rng.integers(1, config.timesteps + 1, len(x0))
    noise = rng.standard_normal(x0.shape).astype("float32")
    labels = dataset.y_test[:count].astype("int32").reshape(-1, 1)
    x_t = np.asarray(noised(x0, t, noise, alpha_bar_of(config)), dtype="float32")
    inputs = [x_t, _features(t, config)] + ([labels] if config.conditional else [])
    predicted = np.asarray(network.predict(inputs, batch_size=config.sample_batch, verbose=0), dtype="float32")
    mse, zero = float(np.mean((predicted - noise) ** 2)), float(np.mean(noise ** 2))
    return {"test_noise_mse": mse, "test_zero_mse": zero, "test_loss_vs_zero": mse / zero}


def _features(t, config: DiffusionConfig) -> np.ndarray:
    from genlab.backend import to_numpy

    return np.asarray(to_numpy(time_features(np.asarray(t), config.time_dim)), dtype="float32")


# ---------------------------------------------------------------------------- sampling
def sampler_settings(config: DiffusionConfig, conditional_request: bool, options: dict) -> dict:
    """The run's default sampler settings with the caller's options (steps, eta, guidance, sampler), checked."""
    unknown = sorted(set(options) - set(SAMPLE_OPTIONS))
    if unknown:
        raise GenlabError(f"unknown sampler option {', '.join(unknown)}; diffusion runs take {', '.join(SAMPLE_OPTIONS)}")
    settings = {"steps": config.sample_steps, "eta": config.eta, "guidance": config.guidance, "sampler": config.sampler}
    settings.update({key: value for key, value in options.items() if value is not None})
    steps = settings["steps"]
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= config.timesteps:
        raise GenlabError(f"steps must be a whole number between 1 and the model's {config.timesteps} timesteps, got {steps!r}")
    if settings["sampler"] not in SAMPLERS:
        raise GenlabError(f"sampler '{settings['sampler']}' is unknown; choose {' or '.join(SAMPLERS)}")
    if not 0.0 <= float(settings["eta"]) <= 1.0:
        raise GenlabError(f"eta must be between 0 (deterministic DDIM) and 1 (DDPM's variance), got {settings['eta']}")
    if settings["sampler"] == "ddpm" and options.get("eta") is not None:
        raise GenlabError("eta is a DDIM setting; the ddpm sampler always draws its posterior's noise (use --sampler ddim)")
    if float(settings["guidance"]) < 0:
        raise GenlabError(f"guidance must be >= 0 (1: plain conditional, 0: unconditional), got {settings['guidance']}")
    if options.get("guidance") is not None and not config.conditional:
        raise GenlabError("guidance needs a class-conditional diffusion run (train it with --set conditional=true)")
    return {"steps": int(steps), "eta": float(settings["eta"]), "guidance": float(settings["guidance"]), "sampler": settings["sampler"]}


def noise_predictor(network, config: DiffusionConfig, labels: np.ndarray | None, guidance: float, num_classes: int = 10):
    """predict_noise(x, t) for `reverse_process`: the network at timestep t, with classifier-free
    guidance eps_u + guidance (eps_c - eps_u) when conditional (one call on [conditional; unconditional])."""
    def predict(x, t):
        features = _features(np.full(len(x), t), config)
        if not config.conditional:
            return network.predict_on_batch([x, features])
        if guidance == 1.0:
            return network.predict_on_batch([x, features, labels])
        unconditional = np.full_like(labels, num_classes)
        both = np.asarray(network.predict_on_batch([np.concatenate([x, x]), np.concatenate([features, features]),
                                                    np.concatenate([labels, unconditional])]))
        conditioned, plain = both[:len(x)], both[len(x):]
        return plain + guidance * (conditioned - plain)
    return predict


def sample_images(network, config: DiffusionConfig, count: int, *, seed: int, labels: np.ndarray | None = None,
                  steps: int | None = None, eta: float | None = None, guidance: float | None = None,
                  sampler: str | None = None, progress: bool = True, record: set[int] | None = None,
                  num_classes: int = 10, initial: np.ndarray | None = None):
    """`count` images in [0, 1] (float32, N x H x W x C), sampled in batches of config.sample_batch.
    `initial`: the starting noise x_T (count x H x W x C) instead of drawing it from `seed`.
    Returns (images, {step index: states in [0, 1]} for the recorded steps)."""
    from genlab.progress import bar

    steps = config.sample_steps if steps is None else steps
    eta = config.eta if eta is None else eta
    guidance = config.guidance if guidance is None else guidance
    sampler = sampler or config.sampler
    alpha_bar = alpha_bar_of(config)
    image_shape = tuple(network.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    batches = [slice(start, min(start + config.sample_batch, count)) for start in range(0, count, config.sample_batch)]
    meter = bar(len(batches) * steps, f"sampling {count} ({sampler}, {steps} steps)", unit="step") if progress else None
    images, recorded = [], {}
    try:
        for part in batches:
            size = part.stop - part.start
            x_T = (rng.standard_normal((size,) + image_shape) if initial is None else initial[part]).astype("float32")
            part_labels = None if labels is None else np.asarray(labels[part], dtype="int32").reshape(-1, 1)
            predict = noise_predictor(network, config, part_labels, guidance, num_classes)
            x0, kept = reverse_process(predict, x_T, alpha_bar, steps, sampler=sampler, eta=eta, rng=rng, record=record,
                                       on_step=meter.update if meter is not None else None)
            images.append(x0)
            for index, states in kept.items():
                recorded.setdefault(index, []).append(states)
    finally:
        if meter is not None:
            meter.close()
    to_unit = lambda x: np.clip((x + 1.0) / 2.0, 0.0, 1.0).astype("float32")   # noqa: E731
    return to_unit(np.concatenate(images)), {index: to_unit(np.concatenate(parts)) for index, parts in recorded.items()}


def _num_classes(network) -> int:
    import keras

    for layer in network.layers:
        if isinstance(layer, keras.layers.Embedding):
            return layer.input_dim - 1          # the last entry is 'no class'
    return 10


def generate(run, config: DiffusionConfig, count: int, *, seed: int, label: int | None = None, **options) -> np.ndarray:
    """New images: noise through the reverse process of the averaged network (`model.keras`).
    options: steps, eta, guidance, sampler (defaults from the run's config). A conditional run
    draws the classes in turn (balanced), or only `label`."""
    settings = sampler_settings(config, label is not None, options)
    network = run.load_model("model.keras")
    labels = None
    if config.conditional:
        classes = _num_classes(network)
        if label is not None and not 0 <= label < classes:
            raise GenlabError(f"class {label} is out of range; this model knows classes 0..{classes - 1}")
        labels = np.full(count, label) if label is not None else np.arange(count) % classes
    elif label is not None:
        raise GenlabError(f"{run.path} is an unconditional diffusion run; a class needs a conditional one "
                          "(genlab train diffusion --set conditional=true) or a cgan run")
    started = time.perf_counter()
    images, _ = sample_images(network, config, count, seed=seed, labels=labels, progress=True,
                              num_classes=_num_classes(network) if config.conditional else 10, **settings)
    seconds = time.perf_counter() - started
    log.info(f"sampled {count} images ({settings['sampler']}, {settings['steps']} steps"
             f"{', eta ' + str(settings['eta']) if settings['sampler'] == 'ddim' else ''}"
             f"{', guidance ' + str(settings['guidance']) if config.conditional else ''}) in {seconds:.1f} s, "
             f"{1000 * seconds / count:.1f} ms per image")
    return images


# ---------------------------------------------------------------------------- figures
def fixed_grid_inputs(config: DiffusionConfig, image_shape, num_classes: int):
    """The progress grid's fixed noise seed and labels (one row per class when conditional) and its columns."""
    if config.conditional:
        per_class = max(config.sample_grid // num_classes, 1)
        return np.repeat(np.arange(num_classes), per_class), per_class
    return None, int(math.ceil(math.sqrt(config.sample_grid)))


def save_fixed_grid(run, config: DiffusionConfig, network, fixed, step: int) -> None:
    """figures/samples/step-NNNNNN.png: the same noise (seed + 7) through the run's sampler with grid_steps, over training."""
    from genlab import plotting

    labels, columns = fixed
    count = len(labels) if labels is not None else config.sample_grid
    images, _ = sample_images(network, config, count, seed=config.seed + 7, labels=labels, steps=config.grid_steps,
                              progress=False, num_classes=_num_classes(network))
    folder = run.figures / "samples"
    folder.mkdir(exist_ok=True)
    plotting.save_png(plotting.grid_array(images, columns), folder / f"step-{step:06d}.png", scale=2)


def figures(run, config: DiffusionConfig, network, dataset) -> None:
    from PIL import Image

    from genlab import plotting

    frames = [np.asarray(Image.open(path)) for path in sorted((run.figures / "samples").glob("step-*.png"))]
    if frames:
        plotting.gif(frames, run.figures / "progress.gif", scale=1)
    rows = read_steps(run)
    if rows:
        plotting.curves([{**row, "zero": 1.0} for row in rows], [("loss", "training loss (noise MSE)"),
                                                                 ("zero", "predicting zero (E[eps²] = 1)")],
                        run.figures / "loss.png", x_key="step", title="diffusion: noise-prediction loss", ylabel="MSE")
    classes = dataset.num_classes
    labels = np.arange(64) % classes if config.conditional else None
    samples, _ = sample_images(network, config, 64, seed=config.seed, labels=labels, progress=False, num_classes=classes)
    plotting.grid(samples, run.figures / "samples.png", columns=8,
                  title=f"{config.sampler}, {config.sample_steps} steps" + (f", guidance {config.guidance}" if config.conditional else ""))
    reverse_figure(run.figures / "reverse.png", network, config, seed=config.seed + 1, classes=classes)


def latent_space(run, config: DiffusionConfig):
    """The starting noise x_T ~ N(0, I) (one dimension per pixel), through the reverse process
    of the averaged network. The explorer's default is deterministic DDIM (eta 0), so that an
    image is a function of its point; interpolations and walks stay on the noise's sphere."""
    from genlab.latent import LatentSpace

    network = run.load_model("model.keras")
    image_shape = tuple(network.inputs[0].shape[1:])
    size = int(np.prod(image_shape))
    classes = _num_classes(network) if config.conditional else 0
    defaults = {"steps": min(config.sample_steps, 25), "eta": 0.0, "sampler": "ddim",
                "guidance": config.guidance if classes else None}

    def settings(labels, options):
        chosen = {key: value for key, value in {**defaults, **options}.items() if value is not None}
        if not classes:
            chosen.pop("guidance", None)
        return sampler_settings(config, labels is not None, chosen)

    def labels_of(labels):
        if not classes:
            return None
        if labels is None:
            raise GenlabError("this diffusion model is conditional: give one class label per point")
        return np.asarray(labels).reshape(-1)

    def decode(points, labels=None, **options):
        points = np.asarray(points, np.float32).reshape((-1,) + image_shape)
        labels = labels_of(labels)
        chosen = settings(labels, options)
        images, _ = sample_images(network, config, len(points), seed=0, labels=labels, steps=chosen["steps"], eta=chosen["eta"],
                                  guidance=chosen["guidance"], sampler=chosen["sampler"], progress=False,
                                  num_classes=classes or 10, initial=points)
        return images

    def trajectory(point, label=None, points: int = 10, **options):
        labels = labels_of(None if label is None else [label])
        chosen = settings(labels, options)
        shown = sorted(set(np.round(np.linspace(0, chosen["steps"], points)).astype(int)))
        _, states = sample_images(network, config, 1, seed=0, labels=labels, steps=chosen["steps"], eta=chosen["eta"],
                                  guidance=chosen["guidance"], sampler=chosen["sampler"], progress=False, record=set(shown),
                                  num_classes=classes or 10, initial=np.asarray(point, np.float32).reshape((1,) + image_shape))
        return np.concatenate([states[index] for index in shown])

    draw = lambda seed, count: np.random.default_rng(seed).standard_normal((count, size)).astype("float32")  # noqa: E731
    return LatentSpace(family="diffusion", size=size, distribution="normal(0, 1) noise image x_T", decode=decode, draw=draw,
                       low=np.full(size, -3.0, np.float32), high=np.full(size, 3.0, np.float32), num_classes=classes,
                       spherical=True, options=defaults, trajectory=trajectory)


def reverse_figure(path, network, config: DiffusionConfig, *, seed: int, classes: int = 10, count: int = 8, points: int = 10):
    """The reverse process: `count` samples (rows) at `points` time points from x_T (noise) to x_0."""
    from genlab import plotting

    steps = config.sample_steps
    shown = sorted(set(np.round(np.linspace(0, steps, points)).astype(int)))
    labels = np.arange(count) % classes if config.conditional else None
    _, states = sample_images(network, config, count, seed=seed, labels=labels, progress=False, record=set(shown),
                              num_classes=classes)
    sequence = timestep_sequence(config.timesteps, steps)
    # (points, count, H, W, C) -> rows of one sample each: (count * points, H, W, C)
    images = np.stack([states[index] for index in shown], axis=1).reshape((-1,) + states[shown[0]].shape[1:])
    titles = [f"t={sequence[index]}" if row == 0 else "" for row in range(count) for index in shown]
    plotting.grid(images, path, columns=len(shown), titles=titles,
                  title=f"reverse process ({config.sampler}, {steps} steps): noise x_T → image x_0")


def conditional_accuracy(run, config: DiffusionConfig, network, count_per_class: int = 100) -> dict:
    """How often the shipped evaluator recognises the requested class (classes in turn, default sampler)."""
    from genlab import evaluator

    try:
        judge = evaluator.load(config.dataset)
    except GenlabError:
        return {}
    classes = _num_classes(network)
    asked = np.arange(classes * count_per_class) % classes
    images, _ = sample_images(network, config, len(asked), seed=config.seed + 11, labels=asked, progress=False,
                              num_classes=classes)
    _, probabilities = judge.embed(images)
    return {"conditional_accuracy": float(np.mean(probabilities.argmax(axis=1) == asked))}


def fid_against_steps(network, config: DiffusionConfig, dataset_name: str, steps_list, count: int, *, seed: int = 0,
                      data_dir=None, path=None) -> list[dict]:
    """FID (and KID) of `count` samples for each number of sampling steps, with seconds per image:
    the sampler's cost/quality curve. Draws `path` (a PNG) when given."""
    from genlab import evaluation

    real = evaluation.real_reference(dataset_name, data_dir)
    classes = _num_classes(network)
    labels = np.arange(count) % classes if config.conditional else None
    rows = []
    for steps in steps_list:
        started = time.perf_counter()
        images, _ = sample_images(network, config, count, seed=seed, labels=labels, steps=int(steps), progress=False,
                                  num_classes=classes)
        seconds = (time.perf_counter() - started) / count
        scores = evaluation.score(images, real, seed=seed)
        rows.append({"steps": int(steps), "fid": scores["fid"], "kid": scores["kid"], "precision": scores["precision"],
                     "recall": scores["recall"], "seconds_per_image": seconds, "samples": count})
        log.info(f"{steps} steps: FID {scores['fid']:.2f}, {1000 * seconds:.1f} ms per image")
    if path is not None:
        _fid_plot(rows, path, config)
    return rows


def _fid_plot(rows, path, config: DiffusionConfig):
    from genlab import plotting

    figure, axis = plotting.plt.subplots(figsize=(6, 4))
    steps = [row["steps"] for row in rows]
    axis.plot(steps, [row["fid"] for row in rows], marker="o", label="FID")
    for row in rows:
        axis.annotate(f"{1000 * row['seconds_per_image']:.0f} ms/img", (row["steps"], row["fid"]), fontsize=8,
                      textcoords="offset points", xytext=(4, 6))
    axis.set_xscale("log")
    axis.margins(x=0.12)        # room for the last point's label
    axis.minorticks_off()       # a log axis labels its minor ticks "2x10^1" otherwise: only the measured steps
    axis.set_xticks(steps)
    axis.set_xticklabels([str(value) for value in steps])
    axis.set_xlabel(f"{config.sampler} sampling steps (eta {config.eta})")
    axis.set_ylabel(f"FID ({rows[0]['samples']} samples, lower is better)")
    axis.grid(alpha=0.3)
    axis.set_title("sampler cost against quality")
    figure.tight_layout()
    plotting._save(figure, path)


def fid_figure(run, config: DiffusionConfig, network, dataset_name: str, data_dir) -> dict:
    """figures/fid_steps.png after training: FID of fid_samples images at each of fid_steps."""
    try:
        rows = fid_against_steps(network, config, dataset_name, config.fid_steps, max(config.fid_samples, 10),
                                 seed=config.seed + 13, data_dir=data_dir, path=run.figures / "fid_steps.png")
    except GenlabError as error:      # no shipped evaluator for this dataset: no figure, say why
        log.warning(f"no FID-against-steps figure: {error}")
        return {}
    metrics = {}
    for row in rows:
        metrics[f"fid_{row['steps']}_steps"] = row["fid"]
        metrics[f"seconds_per_image_{row['steps']}_steps"] = row["seconds_per_image"]
    return metrics


# ---------------------------------------------------------------------------- the family
FAMILY = Family(name="diffusion", summary="denoising diffusion: U-Net noise prediction, DDPM/DDIM samplers, classifier-free guidance",
                config_class=DiffusionConfig, presets=PRESETS, train=train, generate=generate, sample_options=SAMPLE_OPTIONS,
                latent_space=latent_space,
                files=("model.keras", "steps.csv", "checkpoints/latest.json"),
                inference_files=("model.keras",),
                figures=("loss.png", "samples.png", "reverse.png", "progress.gif", "fid_steps.png", "samples/step-000000.png"),
                tiny=dict(epochs=1, batch_size=64, channels=(8, 16), groups=4, time_dim=16, timesteps=50, sample_steps=5,
                          grid_steps=3, sample_every=20, log_every=10, sample_grid=16, fid_steps=(2, 5), fid_samples=20,
                          validation_images=200))
