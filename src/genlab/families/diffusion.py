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

The parts live in `genlab.diffusion`, kept apart as the diffusers library keeps schedulers, models
and pipelines: `schedule` (the schedules and the samplers' arithmetic), `unet` (the network),
`trainer` (the fit-trained model and its callback), `sampling` and `figures`. Training is `model.fit`
on a small `keras.Model` whose `call` noises the batch and whose `compute_loss` is the MSE, both in
`keras.ops`: Keras computes the gradients on every backend, so no backend code lives here
(genlab.training adds epoch checkpoints, resume and the NaN guard).
The exponential moving average of the weights is the optimizer's own (`use_ema`), so it is
checkpointed with the optimizer; the averaged network is what `model.keras` holds and samples.
`genlab likelihood` reports the DDPM variational bound on -log2 P(x) of the 8-bit images
(`genlab.diffusion.likelihood`): exact over all T timesteps for a few images, an unbiased
estimate from bound_timesteps random timesteps per image otherwise.
The network's inputs are the noisy images, the sinusoidal features of t (computed by
`time_features`, outside the network, so `model.keras` holds plain Keras layers and loads in safe
mode) and, when conditional, the label.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.contract import COMMON_RESUME_KEYS, SAMPLE_QUALITY, Density, Family, Metric, SamplerOption
from genlab.diffusion.figures import fid_figure, figures
from genlab.diffusion.sampling import class_count, sample_images, time_feature_array
from genlab.diffusion.schedule import SAMPLERS, SCHEDULES, alpha_bar_of, noised
from genlab.diffusion.steplog import read_steps
from genlab.diffusion.unet import build_network, forward_flops
from genlab.errors import ConfigError, GenlabError

# Re-exported: tests/test_diffusion.py, genlab.bench and genlab.bench_backends use these through this module.
from genlab.diffusion.figures import fid_against_steps, fixed_grid_inputs, reverse_figure, save_fixed_grid  # noqa: F401
from genlab.diffusion.sampling import noise_predictor  # noqa: F401
from genlab.diffusion.schedule import (COSINE_OFFSET, MAX_BETA, betas_of, cosine_alpha_bar, ddim_sigma, ddim_step,  # noqa: F401
                                       ddpm_mean, ddpm_step, linear_alpha_bar, posterior_variance, predicted_start,
                                       reverse_process, time_features, timestep_sequence)
from genlab.diffusion.unet import padded_shape  # noqa: F401

log = logging.getLogger("genlab.diffusion")

SAMPLE_OPTIONS = ("steps", "eta", "guidance", "sampler")


@dataclass
class DiffusionConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    epochs: int = describe(5, "passes over the training set (time_budget_s may stop earlier)")
    time_budget_s: float = describe(0.0, "stop training after this many seconds of training (0: no limit); the last epoch is then partial")
    batch_size: int = describe(128, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate")
    clip_norm: float = describe(1.0, "clip the global gradient norm to this (0: no clipping)")
    ema: float = describe(0.995, "exponential moving average of the weights, used for sampling (0: off)")
    channels: tuple[int, ...] = describe((16, 32, 64), "U-Net widths, one per resolution (28, 14, 7 for MNIST; "
                                                                   "64-pixel images add a level of the first width)")
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
    bound_timesteps: int = describe(64, "genlab likelihood: random timesteps per image of the variational bound's "
                                        "unbiased estimate (stratified in log t; one network call each)")
    bound_full_images: int = describe(10, "genlab likelihood: up to this many images, the bound sums all T timesteps "
                                          "(T network calls per image)")
    steps_per_execution: int = describe(1, "batches per compiled call")
    seed: int = describe(0, "random seed (weights, noise, timesteps, data order)")

    def validate(self):
        for key in ("epochs", "batch_size", "res_blocks", "groups", "time_dim", "timesteps", "sample_steps", "sample_batch",
                    "sample_every", "grid_steps", "sample_grid", "log_every", "steps_per_execution", "validation_images",
                    "bound_timesteps"):
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
        if min(self.time_budget_s, self.clip_norm, self.guidance, self.fid_samples, self.bound_full_images) < 0:
            raise ConfigError("time_budget_s, clip_norm, guidance, fid_samples and bound_full_images must be >= 0")
        if not 0.0 <= self.eta <= 1.0:
            raise ConfigError(f"eta must be in [0, 1], got {self.eta}")
        for steps in (self.sample_steps, self.grid_steps, *self.fid_steps):
            if not 1 <= steps <= self.timesteps:
                raise ConfigError(f"sampling steps must be between 1 and timesteps={self.timesteps}, got {steps}")


# The chapter has no diffusion model: its preset is genlab's recipe.
PRESETS = {"chapter": {}, "default": {}}


# ---------------------------------------------------------------------------- training
def train(config: DiffusionConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    """Fit the U-Net on config.dataset; save the averaged network as model.keras, draw the figures, return the metrics."""
    import keras

    from genlab import backend, checkpoints, data, training
    from genlab.diffusion.trainer import DiffusionTrainer, TrainingProgress, ema_network

    dataset = data.load_configured(config, data_dir)
    images = data.to_float(dataset.x_train)                                              # (N, 28, 28, 1) in [0, 1]
    labels = dataset.y_train.astype("int32").reshape(-1, 1)
    if len(images) < config.batch_size:
        raise ConfigError(f"batch_size {config.batch_size} is more than the training set ({len(images)}); lower batch_size")
    alpha_bar = alpha_bar_of(config)
    network = build_network(config, dataset.image_shape, dataset.num_classes)
    trainer = DiffusionTrainer(network, alpha_bar, config, dataset.num_classes, name="diffusion_trainer")
    optimizer = keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm or None,
                                      use_ema=config.ema > 0, ema_momentum=config.ema or 0.99)
    trainer.compile(optimizer=optimizer, steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
    validation = _validation_inputs(config, dataset)
    elapsed_before = float(checkpoints.latest(run).get("elapsed_s", 0.0)) if resume else 0.0
    steps = TrainingProgress(run, config, trainer, dataset.image_shape, dataset.num_classes, elapsed_before)
    timing = training.fit(trainer, run, {"images": images, "labels": labels}, None, epochs=config.epochs,
                          batch_size=config.batch_size, validation_data=(validation,), verbose=verbose,
                          callbacks=[steps], observers=[steps.step_log], resume=resume)
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
    inputs = [x_t, time_feature_array(t, config)] + ([labels] if config.conditional else [])
    predicted = np.asarray(network.predict(inputs, batch_size=config.sample_batch, verbose=0), dtype="float32")
    mse, zero = float(np.mean((predicted - noise) ** 2)), float(np.mean(noise ** 2))
    return {"test_noise_mse": mse, "test_zero_mse": zero, "test_loss_vs_zero": mse / zero}


def conditional_accuracy(run, config: DiffusionConfig, network, count_per_class: int = 100) -> dict:
    """How often the shipped evaluator recognises the requested class (classes in turn, default sampler)."""
    from genlab import evaluator

    try:
        judge = evaluator.load(config.dataset)
    except GenlabError:
        return {}
    classes = class_count(network)
    asked = np.arange(classes * count_per_class) % classes
    images, _ = sample_images(network, config, len(asked), seed=config.seed + 11, labels=asked, progress=False,
                              num_classes=classes)
    _, probabilities = judge.embed(images)
    return {"conditional_accuracy": float(np.mean(probabilities.argmax(axis=1) == asked))}


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


def generate(run, config: DiffusionConfig, count: int, *, seed: int, label: int | None = None, **options) -> np.ndarray:
    """New images: noise through the reverse process of the averaged network (`model.keras`).
    options: steps, eta, guidance, sampler (defaults from the run's config). A conditional run
    draws the classes in turn (balanced), or only `label`."""
    settings = sampler_settings(config, label is not None, options)
    network = run.load_model("model.keras")
    labels = None
    if config.conditional:
        classes = class_count(network)
        if label is not None and not 0 <= label < classes:
            raise GenlabError(f"class {label} is out of range; this model knows classes 0..{classes - 1}")
        labels = np.full(count, label) if label is not None else np.arange(count) % classes
    elif label is not None:
        raise GenlabError(f"{run.path} is an unconditional diffusion run; a class needs a conditional one "
                          "(genlab train diffusion --set conditional=true) or a cgan run")
    started = time.perf_counter()
    images, _ = sample_images(network, config, count, seed=seed, labels=labels, progress=True,
                              num_classes=class_count(network) if config.conditional else 10, **settings)
    seconds = time.perf_counter() - started
    log.info(f"sampled {count} images ({settings['sampler']}, {settings['steps']} steps"
             f"{', eta ' + str(settings['eta']) if settings['sampler'] == 'ddim' else ''}"
             f"{', guidance ' + str(settings['guidance']) if config.conditional else ''}) in {seconds:.1f} s, "
             f"{1000 * seconds / count:.1f} ms per image")
    return images


def latent_space(run, config: DiffusionConfig):
    """The starting noise x_T ~ N(0, I) (one dimension per pixel), through the reverse process
    of the averaged network. The explorer's default is deterministic DDIM (eta 0), so that an
    image is a function of its point; interpolations and walks stay on the noise's sphere."""
    from genlab.latent import LatentSpace

    network = run.load_model("model.keras")
    image_shape = tuple(network.inputs[0].shape[1:])
    size = int(np.prod(image_shape))
    classes = class_count(network) if config.conditional else 0
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


# ---------------------------------------------------------------------------- likelihood
def likelihood(run, config: DiffusionConfig, levels: np.ndarray, *, seed: int) -> Density:
    """-log2 P(x) per image, bounded above by the DDPM variational bound (genlab.diffusion.likelihood):
    summed over all timesteps for at most bound_full_images images, else estimated from
    bound_timesteps stratified random timesteps per image. A conditional run is scored
    unconditionally (its 'no class' label, which label dropout trained)."""
    from genlab.diffusion import likelihood as bound

    network = run.load_model("model.keras")
    classes = class_count(network) if config.conditional else 0

    def predict(x_t, t):
        inputs = [x_t, time_feature_array(t, config)]
        if classes:
            inputs.append(np.full((len(x_t), 1), classes, dtype="int32"))
        return network.predict_on_batch(inputs)

    draws = None if len(levels) <= config.bound_full_images else config.bound_timesteps
    parts = bound.bound_nats(predict, levels, alpha_bar_of(config), draws=draws, seed=seed, batch=config.sample_batch)
    method = (f"DDPM variational bound, {bound.describe_cost(config.timesteps, draws)}, discretized Gaussian decoder, "
              "reverse variance fixed to the posterior's" + (", unconditional ('no class' label)" if classes else ""))
    return Density(bits=bound.bits(parts), bound="upper", method=method)


# ---------------------------------------------------------------------------- the family
def benchmark(*, data_dir=None, steps: int | None = None) -> dict:
    """`genlab bench diffusion`: the default recipe's training step and sampling speed with FLOPs."""
    from genlab.diffusion import benchmark as diffusion_benchmark

    return diffusion_benchmark.run(DiffusionConfig(), data_dir=data_dir, steps=steps)


SAMPLER_OPTIONS = (
    SamplerOption("steps", int, "sampling steps (default: the run's sample_steps)", "sample_steps", minimum=1,
                  maximum_key="timesteps", label="sampling steps (DDIM)", slider=(2, 250, 1)),
    SamplerOption("eta", float, "DDIM eta, 0 deterministic .. 1 DDPM's variance", "eta", minimum=0.0, maximum=1.0),
    SamplerOption("guidance", float, "conditional runs: classifier-free guidance scale", "guidance", minimum=0.0,
                  conditional_only=True, slider=(0.0, 6.0, 0.25)),
    SamplerOption("sampler", str, "ddim or ddpm (ancestral)", "sampler", choices=SAMPLERS),
)
FAMILY = Family(name="diffusion", title="diffusion",
                summary="denoising diffusion: U-Net noise prediction, DDPM/DDIM samplers, classifier-free guidance",
                config_class=DiffusionConfig, presets=PRESETS, train=train, unit="epochs", purpose="generate",
                generate=generate, sampler_options=SAMPLER_OPTIONS, conditional=True, latent_space=latent_space,
                benchmark=benchmark, likelihood=likelihood, likelihood_images=100,
                resume_keys=COMMON_RESUME_KEYS | {"fid_steps", "fid_samples", "bound_timesteps", "bound_full_images"},
                headline=(*SAMPLE_QUALITY, Metric("test_noise_mse", "test noise MSE", lower_is_better=True,
                                                  baseline="test_zero_mse")),
                files=("model.keras", "steps.csv", "checkpoints/latest.json"),
                inference_files=("model.keras",),
                figures=("loss.png", "samples.png", "reverse.png", "progress.gif", "fid_steps.png", "samples/step-000000.png"),
                tiny=dict(epochs=1, batch_size=64, channels=(8, 16), groups=4, time_dim=16, timesteps=50, sample_steps=5,
                          grid_steps=3, sample_every=20, log_every=10, sample_grid=16, fid_steps=(2, 5), fid_samples=20,
                          validation_images=200))
