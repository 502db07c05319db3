"""Energy-based model (`ebm`): one number E(x) per image, low for images like the training data,
and samples drawn by walking downhill on it with noise (Langevin dynamics).

The model is p(x) ~ exp(-E(x)); its normalizer is unknown, so it has no likelihood to report.
Training is contrastive divergence: lower the energy of real digits, raise that of the images a
short Langevin run reaches, started from a replay buffer of earlier chains (a share of them
from fresh noise each step); an L2 penalty keeps the energies near zero and the gradients are
clipped (the field's recipes: Du & Mordatch 2019; the Keras textbook's EBM). The pieces are in
genlab.energy; the loop is genlab.step_training's (exact resume, divergence guard, rollback).

New images (`genlab sample`) start from uniform noise, not from the buffer, and take
`sample_steps` Langevin steps (sampler options steps, step_size, noise). An EBM has no latent
space; like the PixelCNN it completes images from their top rows (the rows below start as noise
and walk downhill with the top rows held), and its energy is its out-of-distribution score.
`genlab.energy.restore` repairs damaged pixels by energy descent.

The `jem` preset (network=dense) is the joint energy-based model of Grathwohl et al. (2020): the
chapter's 784-64-64-10 classifier, its logits f(x) trained on the labels by cross-entropy and its
energy E(x) = -logsumexp f(x) by the same contrastive divergence; the run reports test_accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.contract import SAMPLE_QUALITY, Family, SamplerOption, Score
from genlab.errors import ConfigError, GenlabError


@dataclass
class EBMConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    steps: int = describe(1800, "training steps, one batch of real images and one of Langevin samples each (about 10 minutes on 2 cores)")
    batch_size: int = describe(64, "real images per step (and as many Langevin samples)")
    filters: int = describe(16, "feature maps of the first convolution (then 2x, 4x, 4x)")
    dense: int = describe(64, "units of the dense layer before the energy")
    spectral_norm: bool = describe(False, "spectral normalization of every layer but the last (a smoother energy, slower steps)")
    network: str = describe("conv", "conv: the convolutional energy; dense: the chapter's 784-64-64-10 classifier, "
                                    "trained on the labels too, with E(x) = -logsumexp of its logits (JEM)")
    classifier_weight: float = describe(1.0, "network=dense: weight of the logits' cross-entropy on the labels")
    learning_rate: float = describe(1e-3, "Adam learning rate (the textbook's 1e-4 learns too slowly for a run of minutes)")
    beta_1: float = describe(0.0, "Adam's first-moment decay (0: no momentum, as in Du & Mordatch 2019)")
    beta_2: float = describe(0.999, "Adam's second-moment decay")
    clip_norm: float = describe(1.0, "clip the network's gradients to this global norm (0: off)")
    energy_penalty: float = describe(0.1, "weight of the L2 penalty mean(E(real)^2 + E(sampled)^2) that keeps energies near 0")
    data_noise: float = describe(0.0025, "std of Gaussian noise added to real images (pixels in [0, 1]) so E stays smooth near them")
    buffer_size: int = describe(8192, "replay buffer entries (images the training chains start from)")
    fresh_share: float = describe(0.3, "share of each batch's chains started from fresh uniform noise instead of the buffer (Du & "
                                      "Mordatch's 0.05 trains the energy on few chains from noise: worse samples from noise)")
    langevin_steps: int = describe(30, "Langevin steps per training step (from the buffer's images)")
    step_size: float = describe(2.5, "Langevin step on the energy's gradient (pixels in [0, 1])")
    gradient_clip: float = describe(0.06, "clip each pixel's energy gradient in a Langevin step to +-this (0: off)")
    noise: float = describe(0.0025, "std of the Gaussian noise added at each Langevin step (pixels in [0, 1])")
    sample_steps: int = describe(100, "Langevin steps of a new image from uniform noise (genlab sample --steps)")
    restore_steps: int = describe(20, "energy-descent steps that restore a damaged image (restoration.png, genlab.energy.restore)")
    sample_every: int = describe(100, "steps between grids of the replay buffer (figures/buffer/)")
    log_every: int = describe(10, "steps per history.csv row (means over the window)")
    checkpoint_every: int = describe(500, "steps between checkpoints, replay buffer included (one is always written at the end)")
    sample_grid: int = describe(64, "images in the samples figure and the buffer grids")
    on_nan: str = describe("rollback", "NaN/Inf loss or exploding weights: stop (keep the last checkpoint) or rollback "
                                       "(restore it with half the learning rate, up to 3 times)")
    seed: int = describe(0, "random seed (weights, buffer, Langevin noise, data order)")
    steps_per_execution: int = describe(1, "training steps per compiled call (same updates); torch runs one")

    def validate(self):
        if self.network not in ("conv", "dense"):
            raise ConfigError(f"network '{self.network}' is unknown; choose conv or dense")
        if self.on_nan not in ("stop", "rollback"):
            raise ConfigError(f"on_nan '{self.on_nan}' is unknown; choose stop or rollback")
        for key in ("steps", "batch_size", "filters", "dense", "buffer_size", "langevin_steps", "sample_steps", "sample_every",
                    "log_every", "checkpoint_every", "sample_grid", "steps_per_execution"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        for key in ("learning_rate", "step_size"):
            if not getattr(self, key) > 0:
                raise ConfigError(f"{key} must be above 0, got {getattr(self, key)}")
        for key in ("clip_norm", "classifier_weight", "energy_penalty", "data_noise", "gradient_clip", "noise", "restore_steps"):
            if not getattr(self, key) >= 0:
                raise ConfigError(f"{key} must be 0 or more, got {getattr(self, key)}")
        for key in ("beta_1", "beta_2"):
            if not 0.0 <= getattr(self, key) < 1.0:
                raise ConfigError(f"{key} must be in [0, 1), got {getattr(self, key)}")
        if not 0.0 <= self.fresh_share <= 1.0:
            raise ConfigError(f"fresh_share must be in [0, 1], got {self.fresh_share}")
        if self.buffer_size < self.batch_size:
            raise ConfigError(f"buffer_size {self.buffer_size} is smaller than batch_size {self.batch_size}; "
                              "a step draws batch_size distinct entries")


PRESETS = {
    # The chapter has no energy-based model: its preset is genlab's recipe.
    "chapter": {},
    "default": {},
    # The field's Keras textbook's EBM notebook, on 28 x 28 in [0, 1] (its step 10, clip 0.03 and
    # noise 0.005 on [-1, 1] pixels are 2.5, 0.06 and 0.0025 here), generating with 1000 steps.
    "textbook": dict(batch_size=128, learning_rate=1e-4, beta_1=0.9, langevin_steps=60, buffer_size=8192, fresh_share=0.05,
                     sample_steps=1000),
    # Joint energy-based model (Grathwohl et al. 2020, "Your classifier is secretly an energy-based
    # model"): the chapter's classifier (program 1) trained on the labels and, through its energy
    # -logsumexp f(x), by contrastive divergence against Langevin samples. Measured on MNIST (1800
    # steps): test accuracy 0.933, but chains from noise collapse onto one saturated image (FID 264;
    # the ReLU energy is piecewise linear in the pixels), with step_size 1.0 too: a classifier first.
    "jem": dict(network="dense"),
}


# ---------------------------------------------------------------------------- training
def train(config: EBMConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    from genlab import data, step_training
    from genlab.energy import figures
    from genlab.energy.trainer import EnergyTrainer

    dataset = data.load_configured(config, data_dir)
    images = data.to_float(dataset.x_train)                                      # (N, 28, 28, 1) in [0, 1]
    if len(images) < config.batch_size:
        raise ConfigError(f"batch_size {config.batch_size} is more than the {len(images)} training images; lower batch_size")
    if config.network == "dense" and dataset.num_classes < 2:
        raise ConfigError(f"network=dense (JEM) learns the labels, and {config.dataset} has {dataset.num_classes} class; "
                          "train it with network=conv, or on labelled images")
    trainer = EnergyTrainer(config, dataset.image_shape, dataset.num_classes)
    outcome = step_training.train(trainer, config, run, images, dataset.y_train, verbose=verbose, resume=resume,
                                  observers=[figures.BufferGrids(trainer)],
                                  postfix=(("E real", "energy_real"), ("E sampled", "energy_sampled")))
    run.save_model(trainer.network, "model.keras")
    measured = figures.final(run, config, trainer.network, dataset)
    metrics = outcome.finish(dataset)
    metrics.update(measured, parameters=int(trainer.network.count_params()))
    if trainer.joint:
        metrics["test_accuracy"] = _accuracy(trainer.network, dataset)
    return metrics


def _accuracy(network, dataset, batch: int = 1000) -> float:
    """The share of test images whose largest logit (columns 1.. of the JEM network) is their label."""
    from genlab.backend import to_numpy
    from genlab.data import to_float

    images = to_float(dataset.x_test)
    predicted = np.concatenate([np.argmax(np.asarray(to_numpy(network(images[start:start + batch], training=False)))[:, 1:], axis=1)
                                for start in range(0, len(images), batch)])
    return float(np.mean(predicted == dataset.y_test))


# ---------------------------------------------------------------------------- sampling
_SAMPLERS: dict = {}
BATCH = 500


def _sampler(run, config):
    """The run's compiled chain, kept while its model file is unchanged (traced once, not per call)."""
    from genlab.energy.langevin import Sampler

    path = run.file("model.keras")
    key = (str(path), path.stat().st_mtime_ns if path.is_file() else None, config.gradient_clip)
    if key not in _SAMPLERS:
        _SAMPLERS.clear()
        _SAMPLERS[key] = Sampler(run.load_model("model.keras"), config.gradient_clip)
    return _SAMPLERS[key]


def sampler_settings(config: EBMConfig, options: dict) -> tuple[int, float, float]:
    """(steps, step_size, noise): the run's sampler settings with the caller's options, checked."""
    unknown = sorted(set(options) - {option.name for option in SAMPLER_OPTIONS})
    if unknown:
        raise GenlabError(f"unknown sampler option {', '.join(unknown)}; ebm runs take steps, step_size and noise")
    chosen = {option.name: option.default(config) for option in SAMPLER_OPTIONS}
    chosen.update({key: value for key, value in options.items() if value is not None})
    try:
        steps, step_size, noise = int(chosen["steps"]), float(chosen["step_size"]), float(chosen["noise"])
    except (TypeError, ValueError):
        raise GenlabError(f"steps, step_size and noise must be numbers, got {chosen['steps']!r}, {chosen['step_size']!r}, "
                          f"{chosen['noise']!r}") from None
    if not 0 <= steps <= 10000 or steps != chosen["steps"]:
        raise GenlabError(f"steps must be a whole number from 0 to 10000, got {chosen['steps']!r}")
    if not (0 < step_size <= 100 and 0 <= noise <= 1):
        raise GenlabError(f"step_size must be in (0, 100] and noise in [0, 1], got {step_size} and {noise}")
    return steps, step_size, noise


def generate(run, config: EBMConfig, count: int, *, seed: int, label: int | None = None, **options) -> np.ndarray:
    """New images: uniform noise walked `steps` Langevin steps downhill (the run's sample_steps
    unless given), in batches; the same seed draws the same images."""
    from genlab.progress import bar

    if label is not None:
        raise GenlabError(f"{run.path} is an ebm run, which is not conditional; sample it without a class")
    steps, step_size, noise = sampler_settings(config, dict(options))
    sampler = _sampler(run, config)
    shape = tuple(sampler.network.input_shape[1:])
    rng = np.random.default_rng(seed)
    sampler.reseed(seed)
    out = []
    with bar(count, "ebm sampling", unit="image") if count >= 1000 else _nothing() as progress:
        for start in range(0, count, BATCH):
            size = min(BATCH, count - start)
            out.append(sampler.run(rng.random((size, *shape), dtype=np.float32), steps=steps, step_size=step_size, noise=noise))
            if progress is not None:
                progress.update(size)
    return np.clip(np.concatenate(out), 0.0, 1.0)


def _nothing():
    import contextlib

    return contextlib.nullcontext()


def complete(run, config: EBMConfig, levels: np.ndarray, *, keep_rows: int, samples: int, seed: int,
             label: int | None = None, **options) -> np.ndarray:
    """For each image (uint8 N x H x W x C) `samples` completions: its top `keep_rows` rows held,
    the rest started from uniform noise and walked downhill. float32 (N, samples, H, W, C)."""
    if label is not None:
        raise GenlabError(f"{run.path} is an ebm run, which is not conditional; complete without a class")
    steps, step_size, noise = sampler_settings(config, dict(options))
    sampler = _sampler(run, config)
    known = np.repeat(np.asarray(levels), samples, axis=0).astype(np.float32) / 255.0     # (N * samples, H, W, C)
    keep = np.zeros(known.shape, np.float32)
    keep[:, :keep_rows] = 1.0
    sampler.reseed(seed)
    start = np.random.default_rng(seed).random(known.shape, dtype=np.float32)
    drawn = [sampler.run(start[first:first + BATCH], steps=steps, step_size=step_size, noise=noise,
                         known=known[first:first + BATCH], keep=keep[first:first + BATCH])
             for first in range(0, len(known), BATCH)]
    return np.concatenate(drawn).reshape((len(levels), samples) + known.shape[1:])


def score(run, config: EBMConfig, images, *, seed: int) -> Score:
    """The energy E(x) of each image (uint8 N x H x W x C): higher is less like the training data."""
    from genlab.data import to_float

    return Score(values=_sampler(run, config).energy(to_float(np.asarray(images))), name="energy E(x)")


SAMPLER_OPTIONS = (
    SamplerOption("steps", int, "Langevin steps from uniform noise (default: the run's sample_steps)", "sample_steps",
                  minimum=0, maximum=10000, label="Langevin steps", slider=(10, 300, 10)),
    SamplerOption("step_size", float, "Langevin step on the energy's gradient (default: the run's step_size)", "step_size",
                  minimum=0.0, maximum=100.0, label="step size", slider=(0.5, 10.0, 0.5)),
    SamplerOption("noise", float, "std of each Langevin step's noise (default: the run's noise; 0: plain descent)", "noise",
                  minimum=0.0, maximum=1.0),
)

FAMILY = Family(name="ebm", title="energy-based model",
                summary="energy-based model: a conv energy E(x), Langevin samples from noise, trained against a replay buffer",
                config_class=EBMConfig, presets=PRESETS, train=train, unit="steps", purpose="generate",
                headline=SAMPLE_QUALITY, generate=generate, complete=complete, score=score, sampler_options=SAMPLER_OPTIONS,
                files=("model.keras", "history.csv", "checkpoints/latest.json"),
                inference_files=("model.keras",),
                figures=("energies.png", "loss.png", "samples.png", "chain.png", "energy_histogram.png", "restoration.png",
                         "buffer"),
                showcase=("chain.png", "Langevin chains from uniform noise to digits, walking downhill on the energy"),
                tiny=dict(steps=4, batch_size=16, filters=4, dense=8, learning_rate=3e-3, buffer_size=64, langevin_steps=3, sample_steps=4,
                          restore_steps=2, sample_every=2, checkpoint_every=2, log_every=2, sample_grid=8))
