"""Gated PixelCNN (`pixelcnn`): an autoregressive model with an exact likelihood.

An image's probability is a product over its pixels in raster order,

    p(x) = prod_i p(x_i | x_1 .. x_{i-1}),   each factor a 256-way softmax over 8-bit levels,

so one pass of the network over a real image gives every factor at once: -log2 p(x) / D is an
exact bits/dim (genlab.metrics.likelihood's convention), not a bound. Sampling is sequential:
one pixel at a time, each conditioned on those drawn before (genlab.autoregressive.sampling
computes only what each pixel needs). Giving the top rows of a real digit and drawing the rest
("completion") is the classic demonstration of what the model knows.

The network (genlab.autoregressive.network) has a vertical and a horizontal stack of gated
residual blocks, so no pixel above-right is hidden from it (the original PixelCNN's blind spot),
with an optional class conditioning. Trained with `model.fit` on the softmax cross-entropy,
which is the negative log-likelihood in nats per dimension: the training curve is bits/dim.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.contract import COMMON_RESUME_KEYS, SAMPLE_QUALITY, Density, Family, Metric, SamplerOption
from genlab.errors import ConfigError, GenlabError


@dataclass
class PixelCNNConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    filters: int = describe(32, "feature maps of each stack")
    blocks: int = describe(5, "gated residual blocks of each stack (each widens what a pixel sees by two rows)")
    conditional: bool = describe(False, "condition on the class label (genlab sample RUN --class K)")
    epochs: int = describe(3, "passes over the training set (time_budget_s may stop earlier)")
    time_budget_s: float = describe(0.0, "stop training after this many seconds of training (0: no limit); the last epoch is then partial")
    batch_size: int = describe(64, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate")
    clip_norm: float = describe(1.0, "gradient clipping by global norm (0: off)")
    steps_per_execution: int = describe(8, "batches per compiled call (fewer dispatches, same updates)")
    temperature: float = describe(1.0, "sampling temperature: logits / T (below 1: cleaner, less varied images)")
    validation_images: int = describe(1000, "test images scored after each epoch (the curve's validation bits/dim)")
    train_images: int = describe(0, "train on the first N training images only (0: all); a quick look, not a result")
    sample_grid: int = describe(64, "images in the samples figure (completions: 4 each of sample_grid / 8 test images, at most 6)")
    seed: int = describe(0, "random seed (weights, shuffling, samples)")

    def validate(self):
        for key in ("filters", "blocks", "epochs", "batch_size", "steps_per_execution", "validation_images", "sample_grid"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if self.time_budget_s < 0 or self.clip_norm < 0 or self.train_images < 0:
            raise ConfigError("time_budget_s, clip_norm and train_images must be >= 0")
        if not self.temperature > 0:
            raise ConfigError(f"temperature must be above 0, got {self.temperature}")


# The chapter has no PixelCNN: its preset is genlab's recipe.
PRESETS = {"chapter": {}, "default": {}}
NATS_PER_BIT = math.log(2.0)


# ---------------------------------------------------------------------------- training
def build_network(config: PixelCNNConfig, image_shape, num_classes: int):
    from genlab.autoregressive.network import Shape, build

    height, width, channels = image_shape
    return build(Shape(height, width, channels, config.filters, config.blocks, num_classes if config.conditional else 0))


def _inputs(config: PixelCNNConfig, images: np.ndarray, labels: np.ndarray):
    from genlab import data

    pixels = data.to_float(images)                                   # (N, H, W, C) in [0, 1]
    return {"images": pixels, "labels": labels.astype("int32")} if config.conditional else pixels


def train(config: PixelCNNConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    import keras

    from genlab import backend, data, training

    dataset = data.load_configured(config, data_dir)
    network = build_network(config, dataset.image_shape, dataset.num_classes)
    network.compile(optimizer=keras.optimizers.Adam(config.learning_rate, global_clipnorm=config.clip_norm or None),
                    # the mean cross-entropy over pixels is -log p in nats per dimension
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
    shown = min(config.validation_images, len(dataset.x_test))
    used = slice(0, config.train_images or None)
    x_train, y_train = dataset.x_train[used], dataset.y_train[used]
    if len(x_train) < config.batch_size:
        raise ConfigError(f"batch_size {config.batch_size} is more than the {len(x_train)} training images; lower batch_size")
    timing = training.fit(network, run, _inputs(config, x_train, y_train), x_train.astype("int32"),
                          epochs=config.epochs, batch_size=config.batch_size,
                          validation_data=(_inputs(config, dataset.x_test[:shown], dataset.y_test[:shown]),
                                           dataset.x_test[:shown].astype("int32")),
                          verbose=verbose, resume=resume, time_budget_s=config.time_budget_s)
    run.save_model(network, "model.keras")

    from genlab.metrics import likelihood as metric

    bits = image_bits(network, config, dataset.x_test, dataset.y_test)
    dimensions = int(np.prod(dataset.image_shape))
    mean, error = metric.mean_and_std_error(metric.bits_per_dim(bits, dimensions))
    steps = int(backend.to_numpy(network.optimizer.iterations))
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "parameters": int(network.count_params()), **timing,
               "steps": steps, "epochs_done": round(steps * config.batch_size / len(x_train), 3),
               "test_bits_per_dim": mean, "test_bits_per_dim_std_error": error, "likelihood_bound": "exact"}
    figures(run, config, network, dataset)
    return metrics


# ---------------------------------------------------------------------------- likelihood
def image_bits(network, config: PixelCNNConfig, levels: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """-log2 p(x) per image, exactly. A conditional model's p(x) is the mixture over classes
    sum_y p(x | y) / K (one pass per class), so the figure stays the unconditional likelihood."""
    from genlab.autoregressive.network import shape_of
    from genlab.autoregressive.sampling import image_nats

    classes = shape_of(network).classes
    if not classes:
        return image_nats(network, levels) / NATS_PER_BIT
    per_class = np.stack([image_nats(network, levels, np.full(len(levels), label)) for label in range(classes)])   # (K, N)
    from scipy.special import logsumexp

    return -(logsumexp(-per_class, axis=0) - math.log(classes)) / NATS_PER_BIT


def likelihood(run, config: PixelCNNConfig, levels: np.ndarray, *, seed: int) -> Density:
    network = run.load_model("model.keras")
    method = "autoregressive 256-way softmax" + (", mixture over classes" if config.conditional else "")
    return Density(bits=image_bits(network, config, levels), bound="exact", method=method)


# ---------------------------------------------------------------------------- sampling
_SAMPLERS: dict = {}


def _sampler(run):
    """The run's RowSampler, kept while its model file is unchanged: its compiled row functions are
    traced once (seconds), not at every call (the explorer completes image after image)."""
    from genlab.autoregressive.sampling import RowSampler

    path = run.file("model.keras")
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _SAMPLERS:
        _SAMPLERS.clear()
        _SAMPLERS[key] = RowSampler(run.load_model("model.keras"))
    return _SAMPLERS[key]


def _labels(sampler, config, count: int, label: int | None):
    classes = sampler.shape.classes
    if label is not None and not classes:
        raise GenlabError("this pixelcnn run is not conditional; a class needs one trained with --set conditional=true")
    if label is not None and not 0 <= label < classes:
        raise GenlabError(f"class {label} is out of range; this model knows classes 0..{classes - 1}")
    if not classes:
        return None
    return np.full(count, label) if label is not None else np.arange(count) % classes


def draw(sampler, count: int, *, seed: int, temperature: float, labels=None, known=None, known_rows=0,
         batch: int = 256, progress: bool = False) -> np.ndarray:
    """Levels (uint8) drawn in batches, with a bar over the rows of all batches when asked."""
    import contextlib

    from genlab.progress import bar

    height = sampler.shape.height
    batches = list(range(0, count, batch))
    out = []
    with (bar(len(batches) * height, "pixelcnn sampling", unit="row") if progress else contextlib.nullcontext()) as rows:
        for number, start in enumerate(batches):
            stop = min(start + batch, count)
            out.append(sampler.sample(stop - start, seed=seed + number, temperature=temperature,
                                      labels=None if labels is None else labels[start:stop],
                                      known=None if known is None else known[start:stop],
                                      known_rows=known_rows[start:stop] if np.ndim(known_rows) else known_rows,
                                      progress=None if rows is None else (lambda _: rows.update(1))))
    return np.concatenate(out)


def _temperature(config, options: dict) -> float:
    temperature = options.pop("temperature", None)
    if options:
        raise GenlabError(f"unknown sampler option {', '.join(sorted(options))}; pixelcnn runs take temperature")
    temperature = config.temperature if temperature is None else float(temperature)
    if not temperature > 0:
        raise GenlabError(f"temperature must be above 0, got {temperature}")
    return temperature


def generate(run, config: PixelCNNConfig, count: int, *, seed: int, label: int | None = None, **options) -> np.ndarray:
    """New images, one pixel at a time (temperature: the run's unless given)."""
    temperature = _temperature(config, dict(options))
    sampler = _sampler(run)
    levels = draw(sampler, count, seed=seed, temperature=temperature, labels=_labels(sampler, config, count, label),
                  progress=count >= 64)
    return levels.astype("float32") / 255.0


def complete(run, config: PixelCNNConfig, levels: np.ndarray, *, keep_rows: int, samples: int, seed: int,
             label: int | None = None, **options) -> np.ndarray:
    """For each image (uint8 N x H x W x C) `samples` completions: its top `keep_rows` rows kept,
    the rest drawn. Returns float32 (N, samples, H, W, C) in [0, 1]."""
    temperature = _temperature(config, dict(options))
    sampler = _sampler(run)
    known = np.repeat(levels, samples, axis=0)                                             # (N * samples, H, W, C)
    drawn = draw(sampler, len(known), seed=seed, temperature=temperature,
                 labels=_labels(sampler, config, len(known), label), known=known, known_rows=keep_rows)
    return (drawn.astype("float32") / 255.0).reshape((len(levels), samples) + levels.shape[1:])


# ---------------------------------------------------------------------------- figures
def figures(run, config: PixelCNNConfig, network, dataset) -> None:
    from genlab import plotting
    from genlab.autoregressive.sampling import RowSampler

    history = run.read_history()
    for row in history:   # the loss is nats per dimension: the curve is in bits/dim
        for key in ("loss", "val_loss"):
            if key in row:
                row[key + "_bits"] = row[key] / NATS_PER_BIT
    plotting.curves(history, [("loss_bits", "train"), ("val_loss_bits", "validation")], run.figures / "curves.png",
                    title="PixelCNN: negative log-likelihood (bits/dim, exact)", ylabel="bits/dim")
    sampler = RowSampler(network)
    classes = sampler.shape.classes
    # Samples and completions (the top half of a few test images kept, four completions each) in
    # one batch: a pixel's step costs one call whatever the batch, so one batch costs half of two.
    grid, keep, each = config.sample_grid, dataset.image_shape[0] // 2, 4
    count = max(1, min(6, grid // 8))
    known = np.concatenate([np.zeros((grid,) + dataset.image_shape, np.uint8), np.repeat(dataset.x_test[:count], each, axis=0)])
    labels = np.concatenate([np.arange(grid) % classes, np.repeat(dataset.y_test[:count], each)]) if classes else None
    levels = draw(sampler, len(known), seed=config.seed, temperature=config.temperature, labels=labels, known=known,
                  known_rows=np.array([0] * grid + [keep] * (count * each)))
    samples, drawn = levels[:grid], levels[grid:]
    plotting.grid(samples.astype("float32") / 255.0, run.figures / "samples.png", columns=min(8, grid),
                  title=f"samples, one pixel at a time (T = {config.temperature:g})")
    from genlab.density import completion_rows

    rows = completion_rows(dataset.x_test[:count], drawn.reshape((count, each) + dataset.image_shape) / 255.0, keep)
    plotting.grid(rows.reshape((-1,) + dataset.image_shape), run.figures / "completions.png", columns=each + 2,
                  row_labels=[f"#{index}" for index in range(count)],
                  title=f"completions: top {keep} rows given (left), {each} drawn, the original (right)")


def benchmark(*, data_dir=None, steps: int | None = None) -> dict:
    """`genlab bench pixelcnn`: the row sampler against the plain full-pass sampler (seconds per image)."""
    from genlab.autoregressive import benchmark as autoregressive_benchmark

    results = autoregressive_benchmark.run(PixelCNNConfig())
    print(f"pixelcnn sampling, {results['images']} images at once (medians of {results['repeats']}): "
          f"row sampler {results['row_sampler_s_per_image']:.3f} s/image, full-pass sampler "
          f"{results['full_pass_sampler_s_per_image']:.3f} s/image ({results['speedup']:.1f}x; same images: {results['same_images']}); "
          f"row sampler, {results['batch']} at once: {results['row_sampler_batched_s_per_image']:.4f} s/image")
    return results


SAMPLER_OPTIONS = (
    SamplerOption("temperature", float, "divide the logits by T before drawing (below 1: cleaner, less varied)", "temperature",
                  minimum=0.05, maximum=2.0, label="temperature", slider=(0.3, 1.5, 0.05)),
)
FAMILY = Family(name="pixelcnn", title="PixelCNN",
                summary="gated PixelCNN: exact likelihood in bits/dim, samples and completions one pixel at a time",
                config_class=PixelCNNConfig, presets=PRESETS, train=train, unit="epochs", purpose="generate",
                generate=generate, likelihood=likelihood, complete=complete, benchmark=benchmark, sampler_options=SAMPLER_OPTIONS, conditional=True,
                resume_keys=COMMON_RESUME_KEYS | {"validation_images"},
                headline=(Metric("test_bits_per_dim", "test bits/dim (exact)", lower_is_better=True, baseline=8.0, format=".4f"),
                          *SAMPLE_QUALITY[:1]),
                files=("model.keras", "history.csv"),
                inference_files=("model.keras",),
                figures=("curves.png", "samples.png", "completions.png"),
                showcase=("completions.png", "test digits' top halves completed by the PixelCNN, four times each"),
                tiny=dict(epochs=1, filters=8, blocks=1, batch_size=64, train_images=512, validation_images=200, sample_grid=8),
                tiny_variants=({}, {"conditional": True}))
