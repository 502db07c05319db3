"""Normalizing flow (`flow`): an exact, invertible map between images and a standard normal z.

A flow f takes an image's pixels y to z = f(y) with the same D dimensions, one-to-one, and its
density is the change of variables

    log p(y) = log N(f(y); 0, I) + log |det df/dy|,

so each layer must be invertible with a log-determinant that is cheap to compute. genlab's is
RealNVP's multi-scale architecture (Dinh et al., 2017) with Glow's steps (Kingma & Dhariwal,
2018): a logit of the dequantized pixels, then at each scale a squeeze (2 x 2 pixels -> 4
channels) and `depth` steps of activation normalization, an invertible 1x1 convolution and an
affine coupling with a bounded scale, half of the channels factored out into z between scales
(genlab.flow.network; the layers in genlab.flow.layers).

The likelihood is exact for the continuous y; for 8-bit images uniform dequantization makes it
an upper bound on -log2 P(x) (genlab.flow.dequantization): `genlab likelihood` reports it with
bound "upper". Training minimizes it with `model.fit` (genlab.training: time budget, epoch
checkpoints, the NaN guard), learning-rate warm-up and gradient clipping (genlab.flow.training).

The latent is exact both ways: `genlab.encode` maps an image (at its bins' centres, no noise) to
its z, the decoder maps any z back, and decode(encode(x)) is x to float precision. Sampling
draws z ~ N(0, T^2 I) (T = temperature; Glow's T = 0.7 gives cleaner, less varied digits).

Files: model.keras (y = (levels + u) / 256 -> [z, log_det]) and decoder.keras (z -> images in
[0, 1]); their layers are genlab's own, registered with Keras: outside genlab,
`import genlab.flow.layers` before `keras.saving.load_model(path)` (safe mode works).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.contract import COMMON_RESUME_KEYS, SAMPLE_QUALITY, Codec, Density, Family, ImageGrid, Metric, SamplerOption
from genlab.errors import ConfigError, DataError, GenlabError
from genlab.flow.codes import BATCH, decode, draw, encode

PRESETS = {"chapter": {}, "default": {}}      # the chapter has no flow: its preset is genlab's recipe
DEQUANTIZATIONS = ("uniform", "variational")
DEQUANTIZER_FILE = "dequantizer.keras"        # a variational run's q(u | x), which its likelihood reads


@dataclass
class FlowConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz (height and width multiples of 2^scales)")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    scales: int = describe(2, "squeezes: each halves height and width; half the channels leave as part of z between scales")
    depth: int = describe(8, "steps per scale, each activation normalization + invertible 1x1 convolution + affine coupling")
    hidden: int = describe(64, "feature maps of each coupling's network (conv 3x3, conv 1x1, conv 3x3)")
    logit_alpha: float = describe(0.05, "the logit's margin: logit(alpha + (1 - 2 alpha) y) keeps the ends finite")
    dequantization: str = describe("uniform", "uniform (u ~ U[0, 1) added to each level) or variational (u from a learnt "
                                              "q(u | x): tighter bound)")
    dequantizer_depth: int = describe(2, "dequantization=variational: steps of the dequantizer's flow")
    epochs: int = describe(20, "passes over the training set (time_budget_s may stop earlier)")
    time_budget_s: float = describe(0.0, "stop training after this many seconds of training (0: no limit); the last epoch is then partial")
    batch_size: int = describe(64, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate after the warm-up")
    warmup_steps: int = describe(200, "updates over which the learning rate rises linearly from 0 (a flow's first ones can blow up)")
    clip_norm: float = describe(50.0, "gradient clipping by global norm (0: off)")
    steps_per_execution: int = describe(8, "batches per compiled call (fewer dispatches, same updates)")
    log_every: int = describe(40, "updates per row of steps.csv (the training curve in bits/dim)")
    temperature: float = describe(1.0, "sampling temperature: z ~ N(0, T^2 I) (Glow's 0.7: cleaner, less varied images)")
    likelihood_samples: int = describe(1, "genlab likelihood: dequantization draws per image (more: a tighter upper bound)")
    validation_images: int = describe(1000, "test images scored after each epoch (the curve's validation bits/dim)")
    train_images: int = describe(0, "train on the first N training images only (0: all); a quick look, not a result")
    sample_grid: int = describe(64, "images in each samples figure")
    seed: int = describe(0, "random seed (weights, shuffling, dequantization noise, samples)")

    def validate(self):
        if self.dequantization not in DEQUANTIZATIONS:
            raise ConfigError(f"dequantization '{self.dequantization}' is unknown; choose one of {', '.join(DEQUANTIZATIONS)}")
        for key in ("scales", "depth", "hidden", "dequantizer_depth", "epochs", "batch_size", "steps_per_execution", "log_every",
                    "likelihood_samples", "validation_images", "sample_grid"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.scales > 4:
            raise ConfigError(f"scales must be at most 4 (each halves the image's sides), got {self.scales}")
        if not 0.0 < self.logit_alpha < 0.5:
            raise ConfigError(f"logit_alpha must be in (0, 0.5), got {self.logit_alpha}")
        if self.time_budget_s < 0 or self.clip_norm < 0 or self.train_images < 0 or self.warmup_steps < 0:
            raise ConfigError("time_budget_s, clip_norm, train_images and warmup_steps must be >= 0")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be above 0, got {self.learning_rate}")
        if not self.temperature > 0:
            raise ConfigError(f"temperature must be above 0, got {self.temperature}")


# ---------------------------------------------------------------------------- building and training
def architecture(config: FlowConfig, image_shape):
    from genlab.flow.network import Architecture

    height, width, channels = image_shape
    chosen = Architecture(height, width, channels, scales=config.scales, depth=config.depth, hidden=config.hidden,
                          alpha=config.logit_alpha, seed=config.seed)
    problem = chosen.problem()
    if problem is not None:
        raise ConfigError(problem)
    return chosen


def train(config: FlowConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    from genlab import backend, data, training
    from genlab.flow import network
    from genlab.flow import training as flow_training
    from genlab.flow.dequantization import dequantized
    from genlab.flow.steplog import FlowStepLog

    dataset = data.load_configured(config, data_dir)
    flow = network.build(architecture(config, dataset.image_shape), dequantization_seed=config.seed,
                         variational_depth=config.dequantizer_depth if config.dequantization == "variational" else 0)
    x_train = dataset.x_train[slice(0, config.train_images or None)]
    if len(x_train) < config.batch_size:
        raise ConfigError(f"batch_size {config.batch_size} is more than the {len(x_train)} training images; lower batch_size")
    rng = np.random.default_rng(config.seed)
    # Activation normalization's data-dependent start (a resumed run's checkpoint then replaces it).
    network.initialize(flow, dequantized(x_train[rng.permutation(len(x_train))[:512]], rng))
    flow_training.compile_trainer(flow.trainer, learning_rate=config.learning_rate, warmup_steps=config.warmup_steps,
                                  clip_norm=config.clip_norm, steps_per_execution=config.steps_per_execution)
    shown = min(config.validation_images, len(dataset.x_test))
    timing = training.fit(flow.trainer, run, x_train.astype("float32"), np.zeros(len(x_train), np.float32),
                          epochs=config.epochs, batch_size=config.batch_size,
                          validation_data=(dataset.x_test[:shown].astype("float32"), np.zeros(shown, np.float32)),
                          verbose=verbose, resume=resume, time_budget_s=config.time_budget_s,
                          observers=[FlowStepLog(run, config.log_every)])
    run.save_model(flow.encoder, "model.keras")
    run.save_model(flow.decoder, "decoder.keras")
    if flow.dequantizer is not None:
        run.save_model(flow.dequantizer, DEQUANTIZER_FILE)

    from genlab.metrics import likelihood as metric

    bits = image_bits(flow.encoder, dataset.x_test, seed=config.seed + 1, dequantizer=flow.dequantizer)
    mean, error = metric.mean_and_std_error(metric.bits_per_dim(bits, flow.dimensions))
    steps = int(backend.to_numpy(flow.trainer.optimizer.iterations))
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "parameters": int(flow.encoder.count_params()),
               **timing, "steps": steps, "epochs_done": round(steps * config.batch_size / len(x_train), 3),
               "test_bits_per_dim": mean, "test_bits_per_dim_std_error": error, "likelihood_bound": "upper"}
    from genlab.flow.figures import figures

    figures(run, config, flow, dataset)
    return metrics


# ---------------------------------------------------------------------------- likelihood
def image_bits(encoder, levels: np.ndarray, *, seed: int, samples: int = 1, dequantizer=None) -> np.ndarray:
    """The upper bound on -log2 P(x) per image (bits) of 8-bit images (uint8 N x H x W x C), with
    `samples` dequantization draws each (genlab.flow.dequantization): uniform, or from the
    variational `dequantizer` (dequantizer.keras) when given."""
    from genlab.flow.dequantization import dequantized, image_bits as bound, negative_log_density_nats

    rng = np.random.default_rng(seed)
    dimensions = int(np.prod(levels.shape[1:]))
    nats = np.empty((len(levels), samples))
    for sample in range(samples):
        for start in range(0, len(levels), BATCH):
            part = levels[start:start + BATCH]
            if dequantizer is None:
                y, log_q = dequantized(part, rng), 0.0
            else:
                noise = rng.standard_normal(part.shape).astype(np.float32)
                y, log_q = dequantizer.predict([part.astype(np.float32), noise], batch_size=BATCH, verbose=0)
            z, log_det = encoder.predict(y, batch_size=BATCH, verbose=0)
            nats[start:start + BATCH, sample] = negative_log_density_nats(z, log_det) + np.asarray(log_q, np.float64)
    return bound(nats, dimensions)


def likelihood(run, config: FlowConfig, levels: np.ndarray, *, seed: int) -> Density:
    samples = config.likelihood_samples
    dequantizer = None
    if config.dequantization == "variational":
        import genlab.flow.layers  # noqa: F401

        dequantizer = run.load_model(DEQUANTIZER_FILE)
    bits = image_bits(_encoder(run), levels, seed=seed, samples=samples, dequantizer=dequantizer)
    return Density(bits=bits, bound="upper",
                   method=f"flow, {config.dequantization} dequantization ({samples} sample{'s' if samples > 1 else ''})")


# ---------------------------------------------------------------------------- the latent, both ways
def _encoder(run):
    import genlab.flow.layers  # noqa: F401  (registers the layers before the file is read)

    return run.load_model("model.keras")


def _decoder(run):
    import genlab.flow.layers  # noqa: F401

    return run.load_model("decoder.keras")


def codec(run, config: FlowConfig) -> Codec:
    """Encode images to their z (no dequantization noise) and decode them again: a flow's
    reconstruction is the image itself, to float precision."""
    encoder, decoder = _encoder(run), _decoder(run)
    return Codec(encode=lambda images: encode(encoder, images),
                 reconstruct=lambda images: decode(decoder, encode(encoder, images)),
                 size=int(decoder.inputs[0].shape[-1]))


def _temperature(config: FlowConfig, options: dict, default: float | None = None) -> float:
    temperature = options.pop("temperature", None)
    if options:
        raise GenlabError(f"unknown sampler option {', '.join(sorted(options))}; flow runs take temperature")
    temperature = (config.temperature if default is None else default) if temperature is None else float(temperature)
    if not (temperature > 0 and math.isfinite(temperature)):
        raise GenlabError(f"temperature must be a finite number above 0, got {temperature}")
    return temperature


def _not_conditional(run, label) -> None:
    if label is not None:
        raise GenlabError(f"{run.path} is a flow run, which is not conditional; a class needs a cgan run")


def generate(run, config: FlowConfig, count: int, *, seed: int, label: int | None = None, **options) -> np.ndarray:
    """New images: z ~ N(0, T^2 I) decoded (T: the temperature option, else the run's)."""
    _not_conditional(run, label)
    temperature = _temperature(config, dict(options))
    decoder = _decoder(run)
    return decode(decoder, temperature * draw(seed, count, int(decoder.inputs[0].shape[-1])))


def latent_space(run, config: FlowConfig):
    """z, the full D-dimensional standard normal (one dimension per pixel); any point decodes, and
    decode(point, temperature=T) decodes T * point (the explorer's temperature slider; 1 by
    default, so a point from genlab.encode decodes to its image). Paths stay on the sphere where a
    D-dimensional normal's points lie."""
    from genlab.latent import LatentSpace

    decoder = _decoder(run)
    size = int(decoder.inputs[0].shape[-1])

    def decode_points(points, labels=None, temperature: float | None = None):
        _not_conditional(run, labels)
        return decode(decoder, _temperature(config, {"temperature": temperature}, default=1.0) * np.asarray(points, np.float32))

    return LatentSpace(family="flow", size=size, distribution="normal(0, 1)", decode=decode_points,
                       draw=lambda seed, count: draw(seed, count, size), low=np.full(size, -3.0, np.float32),
                       high=np.full(size, 3.0, np.float32), spherical=True, options={"temperature": 1.0})


def _test_images(config: FlowConfig, data_dir):
    from genlab import data

    dataset = data.load_configured(config, data_dir)
    return dataset, data.to_float(dataset.x_test)


def interpolate(run, config: FlowConfig, *, steps: int, seed: int, between: tuple[int, int] | None = None,
                data_dir=None) -> ImageGrid:
    """Decoded points on the straight line between two test images' z (test #1 and #2 unless
    `between` names others); the ends decode to the originals themselves."""
    from genlab.latent import latent_paths

    _, test_images = _test_images(config, data_dir)
    first, second = between if between is not None else (1, 2)
    for index in (first, second):
        if not 0 <= index < len(test_images):
            raise DataError(f"test index {index} is out of range 0..{len(test_images) - 1}; pick two test images")
    codes = encode(_encoder(run), test_images[[first, second]])
    images = decode(_decoder(run), latent_paths(codes[:1], codes[1:], steps))
    return ImageGrid(images, columns=len(images), title=f"test #{first} → test #{second} (straight line in z; ends: the originals, exactly)")


def export(run, config: FlowConfig):
    """The decoder for `genlab export`: z ~ N(0, I) (D dimensions) -> images."""
    from genlab import exporting as _export

    decoder = _decoder(run)
    size = int(decoder.inputs[0].shape[-1])
    inputs = [_export.latent_input("z", size, "normal", f"numpy.random.default_rng(seed).standard_normal((n, {size})).astype('float32')"
                                   " (times the temperature T, 1 by default)", mean=0.0, std=1.0)]
    return _export.image_model(decoder, inputs), {"role": "decoder", "inputs": inputs}


SAMPLER_OPTIONS = (
    SamplerOption("temperature", float, "z ~ N(0, T^2 I): below 1 cleaner, less varied images (Glow: 0.7)", "temperature",
                  minimum=0.05, maximum=2.0, label="temperature", slider=(0.1, 1.5, 0.05)),
)
FAMILY = Family(name="flow", title="normalizing flow",
                summary="normalizing flow (RealNVP/Glow multi-scale): exact latent both ways, bits/dim bound by dequantization",
                config_class=FlowConfig, presets=PRESETS, train=train, unit="epochs", purpose="generate",
                generate=generate, likelihood=likelihood, latent_space=latent_space, codec=codec, interpolate=interpolate,
                export=export, sampler_options=SAMPLER_OPTIONS,
                resume_keys=COMMON_RESUME_KEYS | {"validation_images", "likelihood_samples", "log_every"},
                headline=(Metric("test_bits_per_dim", "test bits/dim (upper bound)", lower_is_better=True, baseline=8.0,
                                 format=".4f"), *SAMPLE_QUALITY[:1]),
                files=("model.keras", "decoder.keras", "history.csv", "steps.csv"),
                inference_files=("model.keras", "decoder.keras"),
                figures=("curves.png", "samples.png", "samples_cold.png", "interpolation.png"),
                showcase=("interpolation.png", "straight lines in z between test digits: every point an image, the ends exact"),
                tiny=dict(epochs=1, depth=1, hidden=8, batch_size=64, train_images=512, validation_images=200, sample_grid=8,
                          learning_rate=0.01, warmup_steps=2, log_every=2))
