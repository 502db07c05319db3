"""Variational autoencoder (`vae`): the autoencoder made generative.

A plain autoencoder's codes fill an irregular region, so a random latent point often decodes
to garbage. A VAE's encoder outputs a Gaussian q(z|x) = N(mean, exp(log_var)); training
maximises the ELBO (reconstruction log-likelihood minus beta * KL(q(z|x) || N(0, I))), which
pulls the codes towards the prior so that *any* z ~ N(0, I) decodes to a plausible image.

The reported test ELBO is a Monte Carlo estimate: one z ~ q(z|x) per test image, decoded, so
E_q[log p(x|z)] is estimated without bias (plugging in the posterior mean instead would give
the reconstruction of the mean, which is not the ELBO).

The decoder's p(x|z) is, by default, a Bernoulli per pixel on the grey levels in [0, 1] (the
cross-entropy every Keras VAE example uses): a fine training signal, but no distribution over
8-bit pixels, so it defines no likelihood. `decoder=logistic` makes it one: per pixel a
discretized logistic over the 256 levels (PixelCNN++, Salimans et al. 2017) whose mean is the
decoded image and whose log-scale a second head gives; `genlab likelihood` then reports the
importance-weighted bound (IWAE, Burda et al. 2016; k = 1 is the ELBO) in bits/dim.

Trained with `model.fit`: the KL term is added by the sampling layer (`add_loss`), so the step
is backend-agnostic. Saved artefacts hold plain Keras layers only: `encoder.keras` (x -> mean,
log_var), `decoder.keras` (z -> x, the logistic's mean for decoder=logistic), `model.keras`
(x -> decoder(mean)) and, for decoder=logistic, `decoder_logistic.keras` (z -> [mean in [0, 1],
log-scale on the [-1, 1] scale]), so they load with plain `keras.saving.load_model` in safe mode.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.contract import COMMON_RESUME_KEYS, SAMPLE_QUALITY, Density, Family, Metric
from genlab.errors import ConfigError, GenlabError
from genlab.families import autoencoder

ARCHITECTURES = ("dense", "conv")
DECODERS = ("bernoulli", "logistic")
DISTRIBUTION_FILE = "decoder_logistic.keras"
IWAE_DECODES = 2048             # decoded z per network call of the IWAE bound (images x k, chunked)


@dataclass
class VAEConfig:
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    architecture: str = describe("conv", "dense (the chapter's 784-32-784 shape) or conv")
    latent_dim: int = describe(32, "size of z (2 gives the classic manifold figure)")
    beta: float = describe(1.0, "weight of the KL term (beta-VAE when != 1)")
    decoder: str = describe("bernoulli", "p(x|z): bernoulli (cross-entropy on grey levels, no likelihood) or logistic "
                                         "(a discretized logistic over 256 levels: genlab likelihood gives its IWAE bound)")
    iwae_samples: int = describe(64, "genlab likelihood, decoder=logistic: importance samples k of the IWAE bound (1: the ELBO)")
    epochs: int = describe(5, "passes over the training set (as the ae/dae defaults: equal budgets)")
    batch_size: int = describe(128, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate")
    steps_per_execution: int = describe(8, "batches per compiled call (fewer dispatches, same updates)")
    seed: int = describe(0, "random seed (weights, shuffling, z draws)")

    def validate(self):
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture '{self.architecture}' is unknown; choose one of {', '.join(ARCHITECTURES)}")
        if self.decoder not in DECODERS:
            raise ConfigError(f"decoder '{self.decoder}' is unknown; choose one of {', '.join(DECODERS)}")
        if min(self.latent_dim, self.epochs, self.batch_size, self.steps_per_execution, self.iwae_samples) < 1:
            raise ConfigError("latent_dim, epochs, batch_size, steps_per_execution and iwae_samples must be at least 1")
        if self.beta < 0:
            raise ConfigError("beta must be >= 0")


PRESETS = {
    # The chapter has no VAE: `chapter` is its autoencoder's shape and schedule made variational.
    "chapter": dict(architecture="dense", latent_dim=32, epochs=50, batch_size=256, learning_rate=1e-3, steps_per_execution=32),
    "default": {},
}


# ---------------------------------------------------------------------------- networks
def build_encoder(config: VAEConfig, image_shape):
    import keras
    from keras import layers

    from genlab.families import networks

    if config.architecture == "dense":
        inputs = keras.Input(shape=(int(np.prod(image_shape)),), name="pixels")          # (batch, 784)
        x = inputs
    else:
        inputs = keras.Input(shape=image_shape, name="images")                            # (batch, 28, 28, 1)
        x = layers.Dense(128, activation="relu")(networks.conv_encoder_trunk(inputs))     # (batch, 3136) -> 128
    mean = layers.Dense(config.latent_dim, name="z_mean")(x)
    log_var = layers.Dense(config.latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [mean, log_var], name="encoder")


def build_decoder(config: VAEConfig, image_shape):
    """(decoder z -> image in [0, 1], distribution z -> [that image, log-scale] or None).

    The same decoders as the autoencoder family, so AE and VAE differ only in the objective; a
    logistic decoder adds a log-scale head beside the image layer, on the same features (the code
    itself for dense, the last 28x28 feature map for conv), so the mean image is still decoder.keras."""
    import keras
    from keras import layers

    from genlab.families import networks

    builder = networks.dense_decoder if config.architecture == "dense" else networks.conv_decoder
    decoder = builder(image_shape, config.latent_dim)
    if config.decoder == "bernoulli":
        return decoder, None
    features = decoder.get_layer("restored").input                        # (batch, 32) or (batch, 28, 28, 16)
    if config.architecture == "dense":
        log_scale = layers.Dense(int(np.prod(image_shape)), name="log_scale")(features)            # (batch, 784)
    else:
        log_scale = layers.Conv2D(image_shape[-1], 3, padding="same", name="log_scale")(features)  # (batch, 28, 28, 1)
    return decoder, keras.Model(decoder.inputs, [decoder.outputs[0], log_scale], name="decoder_logistic")


def _sampling_layer_class():
    import keras
    from keras import ops

    class GaussianSample(keras.layers.Layer):
        """z = mean + exp(log_var / 2) * eps, eps ~ N(0, I); adds beta * KL(q || N(0, I)) as a loss."""

        def __init__(self, beta: float, seed: int, **kwargs):
            super().__init__(**kwargs)
            self.beta = beta
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs):
            mean, log_var = inputs
            kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)   # (batch,)
            self.add_loss(self.beta * ops.mean(kl))
            noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
            return mean + ops.exp(0.5 * log_var) * noise

    return GaussianSample


def reconstruction_loss(target, output):
    """Bernoulli negative log-likelihood summed over pixels (mean over the batch): the ELBO's
    reconstruction term, in nats per image, so the KL term has its proper weight."""
    from keras import ops

    target = ops.reshape(target, (ops.shape(target)[0], -1))
    output = ops.clip(ops.reshape(output, (ops.shape(output)[0], -1)), 1e-7, 1.0 - 1e-7)
    return -ops.sum(target * ops.log(output) + (1.0 - target) * ops.log(1.0 - output), axis=1)


def logistic_reconstruction_loss(target, output):
    """-log P(x | z) of the 8-bit images under the discretized logistic, summed over pixels, in
    nats per image: target holds the levels / 255, output the decoded mean in [0, 1] and the
    log-scale concatenated on the last axis."""
    from keras import ops

    from genlab.metrics.likelihood import discretized_logistic_log_probability_ops

    mean, log_scale = ops.split(ops.cast(output, "float32"), 2, axis=-1)
    log_probability = discretized_logistic_log_probability_ops(ops.cast(target, "float32") * 2.0 - 1.0, mean * 2.0 - 1.0, log_scale)
    return -ops.sum(ops.reshape(log_probability, (ops.shape(log_probability)[0], -1)), axis=1)


def build(config: VAEConfig, image_shape):
    """(trainer, deterministic, encoder, decoder, distribution or None): the trainer decodes a
    sampled z (for decoder=logistic: the mean and log-scale concatenated on the last axis)."""
    import keras

    decoder, distribution = build_decoder(config, image_shape)   # first: it checks that the image sides fit
    encoder = build_encoder(config, image_shape)
    inputs = keras.Input(shape=encoder.input_shape[1:], name="inputs")
    mean, log_var = encoder(inputs)
    z = _sampling_layer_class()(config.beta, config.seed, name="sample")([mean, log_var])
    decoded = decoder(z) if distribution is None else keras.layers.Concatenate(axis=-1, name="mean_and_log_scale")(distribution(z))
    trainer = keras.Model(inputs, decoded, name="vae")                    # trains with sampled z
    deterministic = keras.Model(inputs, decoder(mean), name="vae_mean")   # what model.keras holds
    return trainer, deterministic, encoder, decoder, distribution


# ---------------------------------------------------------------------------- training
def train(config: VAEConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    import keras

    from genlab import backend, data, training
    from genlab.families.autoencoder import model_inputs, reconstruction_metrics

    dataset = data.load_configured(config, data_dir)
    clean_train, clean_test = data.to_float(dataset.x_train), data.to_float(dataset.x_test)
    trainer, deterministic, encoder, decoder, distribution = build(config, dataset.image_shape)
    loss = reconstruction_loss if distribution is None else logistic_reconstruction_loss
    trainer.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss,
                    steps_per_execution=backend.steps_per_execution(config.steps_per_execution))
    x_train, x_test = model_inputs(config, clean_train), model_inputs(config, clean_test)
    timing = training.fit(trainer, run, x_train, x_train, epochs=config.epochs, batch_size=config.batch_size,
                          validation_data=(x_test, x_test), verbose=verbose, resume=resume)
    saved = ((deterministic, "model.keras"), (encoder, "encoder.keras"), (decoder, "decoder.keras"))
    for model, name in saved + (((distribution, DISTRIBUTION_FILE),) if distribution is not None else ()):
        run.save_model(model, name)

    mean, log_var = (np.asarray(part, dtype=np.float64) for part in encoder.predict(x_test, batch_size=1024, verbose=0))
    restored = np.asarray(deterministic.predict(x_test, batch_size=1024, verbose=0), dtype=np.float32).reshape(clean_test.shape)
    kl, nll = elbo_terms(decoder if distribution is None else distribution, clean_test, mean, log_var, seed=config.seed + 1)
    figures(run, config, dataset, decoder, clean_test, restored, mean)
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "parameters": int(trainer.count_params()), **timing,
               **reconstruction_metrics(restored, clean_test, prefix="test"),
               "test_kl_nats": kl, "test_reconstruction_nats": nll, "test_negative_elbo_nats": nll + kl,
               "active_latent_dims": int(np.sum(np.var(mean, axis=0) > 0.01))}
    if distribution is not None:
        # A discretized decoder makes -ELBO an upper bound on -log P(x) of the 8-bit images (in
        # expectation over z): the same figure in bits/dim; genlab likelihood tightens it (IWAE).
        from genlab.metrics import likelihood as metric

        metrics["test_negative_elbo_bits_per_dim"] = float(metric.bits_from_nats(nll + kl) / np.prod(clean_test.shape[1:]))
    return metrics


def bernoulli_nll(images: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """-log p(x | decoder output) per image, in nats: the Bernoulli likelihood of each pixel."""
    target = images.reshape(len(images), -1).astype(np.float64)
    clipped = np.clip(probabilities.reshape(len(probabilities), -1).astype(np.float64), 1e-7, 1 - 1e-7)
    return -np.sum(target * np.log(clipped) + (1 - target) * np.log(1 - clipped), axis=1)


def logistic_nll(images: np.ndarray, distribution, z: np.ndarray) -> np.ndarray:
    """-log P(x | z) per image, in nats, under the discretized logistic the `distribution` model
    (decoder_logistic.keras) decodes from z: images are floats level / 255 or uint8 levels."""
    from genlab.metrics.likelihood import discretized_logistic_log_probability

    levels = images if images.dtype == np.uint8 else np.round(np.asarray(images, np.float64) * 255.0).astype(np.uint8)
    mean, log_scale = distribution.predict(z.astype("float32"), batch_size=1024, verbose=0)
    flat = lambda array: np.asarray(array, np.float64).reshape(len(levels), -1)   # noqa: E731
    return -discretized_logistic_log_probability(flat(levels), flat(mean) * 2.0 - 1.0, flat(log_scale)).sum(axis=1)


def elbo_terms(decoder, images: np.ndarray, mean: np.ndarray, log_var: np.ndarray, seed: int) -> tuple[float, float]:
    """(KL(q(z|x) || N(0, I)), E_q[-log p(x|z)]) averaged over the images, in nats; `decoder` is
    decoder.keras (Bernoulli) or, for decoder=logistic, decoder_logistic.keras (two outputs).

    The KL term is exact (both Gaussians); the expectation is estimated with one z ~ q(z|x) per
    image, which is unbiased for the mean over a test set of thousands of images."""
    kl = float(np.mean(-0.5 * np.sum(1 + log_var - mean ** 2 - np.exp(log_var), axis=1)))
    z = mean + np.exp(0.5 * log_var) * np.random.default_rng(seed).standard_normal(mean.shape)
    if len(decoder.outputs) == 2:
        return kl, float(np.mean(logistic_nll(images, decoder, z)))
    nll = float(np.mean(bernoulli_nll(images, _decode(decoder, z))))
    return kl, nll


# ---------------------------------------------------------------------------- likelihood (decoder=logistic)
def importance_log_weights(distribution, levels: np.ndarray, mean: np.ndarray, log_var: np.ndarray,
                           noise: np.ndarray) -> np.ndarray:
    """log w_i = log P(x | z_i) + log p(z_i) - log q(z_i | x) for z_i = mean + exp(log_var / 2) noise_i,
    in nats: levels uint8 (n, H, W, C), mean and log_var (n, latent), noise (n, k, latent); returns (n, k)."""
    count, k, size = noise.shape
    log_2pi = np.log(2.0 * np.pi)
    z = mean[:, None, :] + np.exp(0.5 * log_var)[:, None, :] * noise                            # (n, k, latent)
    log_likelihood = -logistic_nll(np.repeat(levels, k, axis=0), distribution, z.reshape(count * k, size)).reshape(count, k)
    log_prior = -0.5 * np.sum(z ** 2 + log_2pi, axis=2)
    log_posterior = -0.5 * np.sum(noise ** 2 + log_2pi + log_var[:, None, :], axis=2)
    return log_likelihood + log_prior - log_posterior


def iwae_nats(encoder, distribution, config: VAEConfig, levels: np.ndarray, k: int, *, seed: int) -> np.ndarray:
    """The IWAE bound on -log P(x) per image, in nats, with k importance samples from q(z | x):
    images in chunks of IWAE_DECODES // k (the noise of each chunk drawn as one (chunk, k, latent)
    array from one generator seeded `seed`, chunk after chunk)."""
    from genlab.families.autoencoder import model_inputs
    from genlab.metrics.likelihood import importance_weighted_nats

    rng = np.random.default_rng(seed)
    chunk = max(1, IWAE_DECODES // k)
    out = []
    for start in range(0, len(levels), chunk):
        part = levels[start:start + chunk]
        mean, log_var = (np.asarray(array, np.float64) for array in
                         encoder.predict(model_inputs(config, part.astype("float32") / 255.0), batch_size=1024, verbose=0))
        noise = rng.standard_normal((len(part), k, mean.shape[1]))
        out.append(importance_weighted_nats(importance_log_weights(distribution, part, mean, log_var, noise)))
    return np.concatenate(out)


def likelihood(run, config: VAEConfig, levels: np.ndarray, *, seed: int) -> Density:
    """-log2 P(x) per image, bounded above by IWAE with config.iwae_samples importance samples."""
    if config.decoder != "logistic":
        raise GenlabError(f"{run.path} is a vae run whose decoder is Bernoulli on grey levels, which is no distribution "
                          "over 8-bit pixels, so it has no likelihood; train one with --set decoder=logistic")
    from genlab.metrics.likelihood import bits_from_nats

    encoder, distribution = run.load_model("encoder.keras"), run.load_model(DISTRIBUTION_FILE)
    nats = iwae_nats(encoder, distribution, config, levels, config.iwae_samples, seed=seed)
    return Density(bits=bits_from_nats(nats), bound="upper",
                   method=f"IWAE, k={config.iwae_samples} importance samples, discretized logistic decoder")


# ---------------------------------------------------------------------------- sampling and figures
def _decode(decoder, z: np.ndarray) -> np.ndarray:
    from genlab.families.networks import unflatten_images

    return unflatten_images(np.asarray(decoder.predict(z.astype("float32"), batch_size=1024, verbose=0), dtype=np.float32))


def generate(run, config, count: int, *, seed: int, label: int | None = None) -> np.ndarray:
    """New images from the prior: z ~ N(0, I), decoded."""
    if label is not None:
        from genlab.errors import GenlabError

        raise GenlabError(f"{run.path} is a vae run, which is not conditional; a class needs a cgan run")
    return _decode(run.load_model("decoder.keras"), np.random.default_rng(seed).standard_normal((count, config.latent_dim)))


def dims_by_effect(decode, size: int, spread: float = 2.0) -> list[int]:
    """Latent dimensions ordered by how much the image changes when each moves by +-spread from
    the origin (mean absolute pixel change): a VAE leaves many dimensions unused (posterior
    collapse), and this finds the used ones from the decoder alone, with no data."""
    points = np.zeros((2 * size, size), np.float32)
    points[np.arange(size), np.arange(size)] = spread
    points[size + np.arange(size), np.arange(size)] = -spread
    images = decode(points).reshape(2 * size, -1)
    change = np.abs(images[:size] - images[size:]).mean(axis=1)
    return [int(dim) for dim in np.argsort(-change, kind="stable")]


def latent_space(run, config):
    """The prior N(0, I) over latent_dim dimensions, decoded; sliders go to the most used dimensions."""
    from genlab.latent import LatentSpace

    decoder = run.load_model("decoder.keras")
    decode = lambda points, labels=None: _decode(decoder, np.asarray(points, np.float32))   # noqa: E731
    draw = lambda seed, count: np.random.default_rng(seed).standard_normal((count, config.latent_dim)).astype("float32")  # noqa: E731
    size = config.latent_dim
    return LatentSpace(family="vae", size=size, distribution="normal(0, 1)", decode=decode, draw=draw,
                       low=np.full(size, -3.0, np.float32), high=np.full(size, 3.0, np.float32),
                       dims_by_use=dims_by_effect(decode, size))


def figures(run, config, dataset, decoder, clean_test, restored, mean) -> None:
    from scipy.stats import norm

    from genlab import plotting
    from genlab.latent import latent_paths

    shown = slice(1, 11)
    plotting.image_rows([("original", clean_test[shown]), ("reconstructed", restored[shown])], run.figures / "reconstructions.png")
    plotting.curves(run.read_history(), [("loss", "train -ELBO"), ("val_loss", "validation -ELBO")], run.figures / "curves.png",
                    title="VAE: negative ELBO (nats per image)", ylabel="nats")
    rng = np.random.default_rng(config.seed)
    plotting.grid(_decode(decoder, rng.standard_normal((64, config.latent_dim))), run.figures / "samples.png", columns=8,
                  title="samples from the prior N(0, I)")
    # Traversal: one row per latent dimension (the 8 most used), from -3 to 3 standard deviations.
    dims = np.argsort(-np.var(mean, axis=0))[:min(8, config.latent_dim)]
    values = np.linspace(-3, 3, 11)
    z = np.zeros((len(dims) * len(values), config.latent_dim))
    for row, dim in enumerate(dims):
        z[row * len(values):(row + 1) * len(values), dim] = values
    plotting.grid(_decode(decoder, z), run.figures / "traversal.png", columns=len(values),
                  row_labels=[f"z[{dim}]" for dim in dims], title="latent traversal: -3σ … +3σ, other dims 0")
    # Interpolation: straight lines between the posterior means of test pairs; a VAE's prior
    # keeps most of the path inside the region the decoder knows.
    pairs = [(first, first + 1) for first in range(1, 12, 2) if first + 1 < len(clean_test)]
    steps = 9
    if pairs:
        starts, ends = (np.array(indices) for indices in zip(*pairs))
        path = _decode(decoder, latent_paths(mean[starts], mean[ends], steps)).reshape((len(pairs), steps) + clean_test.shape[1:])
        rows = np.concatenate([clean_test[starts][:, None], path, clean_test[ends][:, None]], axis=1)  # (pairs, 11, 28, 28, 1)
        plotting.grid(rows.reshape((-1,) + clean_test.shape[1:]), run.figures / "interpolation.png", columns=steps + 2,
                      row_labels=[f"#{a} → #{b}" for a, b in pairs],
                      title="interpolation between test images' means (ends: originals)")
    if config.latent_dim == 2:
        # The classic manifold: decode a grid of Gaussian quantiles.
        quantiles = norm.ppf(np.linspace(0.05, 0.95, 20))
        grid_z = np.array([[x, y] for y in quantiles[::-1] for x in quantiles])
        plotting.grid(_decode(decoder, grid_z), run.figures / "manifold.png", columns=20, cell=0.5,
                      title="2-D latent manifold (Gaussian quantiles)")
        points = mean
    else:
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=0).fit_transform(mean)
    plotting.scatter_codes(points, dataset.y_test, dataset.class_names, run.figures / "latent.png",
                           title=f"test means ({config.latent_dim}-D){'' if config.latent_dim == 2 else ' by PCA'}")


def export(run, config):
    """The decoder for `genlab export`: z ~ N(0, I) -> images."""
    from genlab import exporting as _export

    inputs = [_export.latent_input("z", config.latent_dim, "normal",
                                   f"numpy.random.default_rng(seed).standard_normal((n, {config.latent_dim})).astype('float32')",
                                   mean=0.0, std=1.0)]
    return _export.image_model(run.load_model("decoder.keras"), inputs), {"role": "decoder", "inputs": inputs}


FAMILY = Family(name="vae", title="VAE", summary="variational autoencoder: ELBO = reconstruction + beta KL, samples from N(0, I)",
                config_class=VAEConfig, presets=PRESETS, train=train, unit="epochs", purpose="generate", generate=generate,
                # Interpolation and the encoder/decoder pair work on any autoencoder: shared with the AE family.
                interpolate=autoencoder.interpolate, codec=autoencoder.codec, latent_space=latent_space,
                headline=(*SAMPLE_QUALITY[:1],
                          Metric("test_negative_elbo_nats", "negative ELBO (nats)", lower_is_better=True),
                          Metric("test_mse", "test MSE", lower_is_better=True)),
                files=("model.keras", "encoder.keras", "decoder.keras"),
                inference_files=("model.keras", "encoder.keras", "decoder.keras"), export=export,
                # decoder=logistic runs also hold decoder_logistic.keras, which their likelihood reads.
                likelihood=likelihood, resume_keys=COMMON_RESUME_KEYS | {"iwae_samples"},
                figures=("reconstructions.png", "curves.png", "samples.png", "traversal.png", "interpolation.png", "latent.png"),
                showcase=("reconstructions.png", "test digits (top) and the VAE's reconstructions (bottom)"),
                tiny=dict(epochs=1, batch_size=256),
                tiny_variants=({"architecture": "dense"}, {"architecture": "conv"}, {"architecture": "conv", "decoder": "logistic"}),
                tiny_density_variant={"architecture": "conv", "decoder": "logistic"})
