"""Programs 2 and 3: the autoencoder (`ae`) and the denoising autoencoder (`dae`).

chapter preset: Input(784) -> Dense(32, relu) [the code] -> Dense(784, sigmoid), Adam, MSE,
50 epochs, batch 256, shuffle, validation on the test set. The DAE feeds
`clean + 0.55 * N(0, 1)` (unclipped, drawn once) and learns to output the clean image.
`architecture = "conv"` is a convolutional encoder/decoder with the same code size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.errors import ConfigError, DataError, RunError
from genlab.contract import Codec, Family, ImageGrid, Metric

ARCHITECTURES = ("dense", "conv")
NOISE_KINDS = ("none", "gaussian", "salt-and-pepper", "masking")


@dataclass
class AutoencoderConfig:
    """genlab's default autoencoder; the `chapter` preset is the textbook's 784-32-784."""
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    architecture: str = describe("conv", "dense (the chapter's 784-32-784) or conv")
    latent_dim: int = describe(32, "size of the code between encoder and decoder")
    epochs: int = describe(5, "passes over the training set")
    batch_size: int = describe(128, "images per update")
    learning_rate: float = describe(1e-3, "Adam learning rate")
    noise: str = describe("none", "input corruption: none, gaussian, salt-and-pepper, masking")
    noise_factor: float = describe(0.0, "gaussian: std; salt-and-pepper / masking: share of pixels hit")
    clip_noisy: bool = describe(False, "clip corrupted inputs to [0, 1] (the chapter does not)")
    fresh_noise: bool = describe(True, "draw new noise every epoch (the chapter draws it once)")
    chapter_noise: bool = describe(False, "draw noise as the chapter does: np.random.normal (legacy RandomState "
                                          "seeded with seed), training set first, then the test set")
    # steps_per_execution changes no update (same batches, same order), only dispatch overhead:
    # measured 0.49 s/epoch at 16 vs 1.37 s at 1 (reference 1.04 s), identical test_mse.
    steps_per_execution: int = describe(8, "batches per compiled call (fewer dispatches, same updates)")
    seed: int = describe(0, "random seed (weights, shuffling, noise)")

    def validate(self):
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture '{self.architecture}' is unknown; choose one of {', '.join(ARCHITECTURES)}")
        if self.noise not in NOISE_KINDS:
            raise ConfigError(f"noise '{self.noise}' is unknown; choose one of {', '.join(NOISE_KINDS)}")
        if self.latent_dim < 1 or self.epochs < 1 or self.batch_size < 1 or self.steps_per_execution < 1:
            raise ConfigError("latent_dim, epochs, batch_size and steps_per_execution must be at least 1")
        if self.noise_factor < 0 or (self.noise in ("salt-and-pepper", "masking") and self.noise_factor > 1):
            raise ConfigError("noise_factor must be >= 0 (and <= 1 for salt-and-pepper and masking)")


@dataclass
class DenoisingConfig(AutoencoderConfig):
    """The denoising autoencoder: the same networks, fed x + 0.55 N(0, 1)."""
    noise: str = describe("gaussian", "input corruption: none, gaussian, salt-and-pepper, masking")
    noise_factor: float = describe(0.55, "gaussian: std; salt-and-pepper / masking: share of pixels hit")


_CHAPTER = dict(architecture="dense", latent_dim=32, epochs=50, batch_size=256, learning_rate=1e-3, steps_per_execution=32)
AE_PRESETS = {"chapter": _CHAPTER, "default": {}}
DAE_PRESETS = {"chapter": dict(_CHAPTER, noise="gaussian", noise_factor=0.55, clip_noisy=False, fresh_noise=False,
                               chapter_noise=True), "default": {}}


# ---------------------------------------------------------------------------- networks
def build(config: AutoencoderConfig, image_shape):
    """(autoencoder, encoder, decoder); the encoder and decoder are saved apart so the code can be read and fed."""
    import keras
    from keras import layers

    from genlab.families import networks

    if config.architecture == "dense":
        encoder = networks.dense_encoder(image_shape, config.latent_dim)          # (batch, 784) -> (batch, 32), relu
        decoder = networks.dense_decoder(image_shape, config.latent_dim)
    else:
        decoder = networks.conv_decoder(image_shape, config.latent_dim)           # checks the sides first
        images = keras.Input(shape=image_shape, name="images")                    # (batch, 28, 28, 1)
        code = layers.Dense(config.latent_dim, name="code")(networks.conv_encoder_trunk(images))  # (batch, 32), linear
        encoder = keras.Model(images, code, name="encoder")
    inputs = keras.Input(shape=encoder.input_shape[1:], name="inputs")
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    return autoencoder, encoder, decoder


def model_inputs(config: AutoencoderConfig, images: np.ndarray) -> np.ndarray:
    """float images N x H x W x C -> what the network eats (flat for dense)."""
    return images.reshape(len(images), -1) if config.architecture == "dense" else images


# ---------------------------------------------------------------------------- noise
def corrupt(clean: np.ndarray, kind: str, factor: float, clip: bool, rng) -> np.ndarray:
    """Corrupted copy of `clean` (float32 in [0, 1]); the chapter's is gaussian, 0.55, unclipped.

    `rng` is a numpy Generator or a legacy RandomState (the chapter's np.random.normal). The
    gaussian noise is float64, added in float64 and rounded once, exactly as the chapter's
    `x + 0.55 * np.random.normal(...)` is before Keras casts it to float32.
    """
    if kind == "none" or factor == 0:
        return clean
    if kind == "gaussian":
        noisy = clean + factor * rng.standard_normal(clean.shape)
    elif kind == "salt-and-pepper":
        hit = rng.random(clean.shape) < factor
        salt = rng.random(clean.shape) < 0.5
        noisy = np.where(hit, salt.astype(np.float32), clean)
    elif kind == "masking":
        noisy = np.where(rng.random(clean.shape) < factor, np.float32(0.0), clean)
    else:
        raise ConfigError(f"noise '{kind}' is unknown; choose one of {', '.join(NOISE_KINDS)}")
    noisy = noisy.astype(np.float32)
    return np.clip(noisy, 0.0, 1.0) if clip else noisy


# ---------------------------------------------------------------------------- training
def train(config: AutoencoderConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    import keras

    from genlab import backend, data, training

    dataset = data.load_configured(config, data_dir)
    clean_train, clean_test = data.to_float(dataset.x_train), data.to_float(dataset.x_test)
    rng = np.random.RandomState(config.seed) if config.chapter_noise else np.random.default_rng(config.seed)
    autoencoder, encoder, decoder = build(config, dataset.image_shape)
    autoencoder.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse",
                        steps_per_execution=backend.steps_per_execution(config.steps_per_execution))

    denoising = config.noise != "none" and config.noise_factor > 0
    # Drawn in the chapter's order: the training set's noise first, then the test set's.
    noisy_train = None
    if not denoising or not config.fresh_noise:
        noisy_train = corrupt(clean_train, config.noise, config.noise_factor, config.clip_noisy, rng)
    # The test set is corrupted once, with the same law, so validation is comparable epoch to epoch.
    noisy_test = corrupt(clean_test, config.noise, config.noise_factor, config.clip_noisy, rng)
    target_train, target_test = model_inputs(config, clean_train), model_inputs(config, clean_test)
    validation = (model_inputs(config, noisy_test), target_test)
    common = dict(batch_size=config.batch_size, validation_data=validation, verbose=verbose, resume=resume)
    if noisy_train is not None:
        timing = training.fit(autoencoder, run, model_inputs(config, noisy_train), target_train, epochs=config.epochs, **common)
    else:
        # Fresh noise each epoch: one fit call per epoch over a newly corrupted copy.
        timing = training.fit_epochs(
            autoencoder, run, lambda epoch: (model_inputs(config, corrupt(clean_train, config.noise, config.noise_factor, config.clip_noisy, rng)), target_train),
            epochs=config.epochs, **common)

    for model, name in ((autoencoder, "model.keras"), (encoder, "encoder.keras"), (decoder, "decoder.keras")):
        run.save_model(model, name)

    restored_test = predict_images(autoencoder, config, noisy_test)
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "parameters": int(autoencoder.count_params()),
               **timing, **reconstruction_metrics(restored_test, clean_test, prefix="test")}
    if denoising:
        metrics.update(reconstruction_metrics(noisy_test, clean_test, prefix="noisy", with_ssim=False))
    mean_image = clean_train.mean(axis=0, keepdims=True)
    metrics.update(reconstruction_metrics(np.broadcast_to(mean_image, clean_test.shape), clean_test, prefix="baseline_mean"))

    codes_train = predict_codes(encoder, config, clean_train)
    save_latent_gaussian(run, codes_train, nonnegative=config.architecture == "dense")
    figures(run, config, dataset, encoder, clean_test, noisy_test, restored_test, denoising)
    return metrics


def predict_images(model, config, images: np.ndarray) -> np.ndarray:
    out = model.predict(model_inputs(config, images), batch_size=1024, verbose=0)
    return np.asarray(out, dtype=np.float32).reshape(images.shape)


def predict_codes(encoder, config, images: np.ndarray) -> np.ndarray:
    codes = encoder.predict(model_inputs(config, images), batch_size=1024, verbose=0)
    if isinstance(codes, (list, tuple)):  # a VAE encoder gives (mean, log_var): the mean is the code
        codes = codes[0]
    return np.asarray(codes, dtype=np.float64)


def reconstruction_metrics(predicted: np.ndarray, target: np.ndarray, prefix: str, with_ssim: bool = True) -> dict:
    from genlab import metrics

    values = {f"{prefix}_mse": metrics.mse(predicted, target), f"{prefix}_psnr_db": metrics.psnr_db(predicted, target)}
    if with_ssim:
        values[f"{prefix}_ssim"] = metrics.ssim(predicted, target)
    return values


# ---------------------------------------------------------------------------- latent space
def save_latent_gaussian(run, codes: np.ndarray, nonnegative: bool) -> None:
    """Fit N(mean, covariance) to the training codes; `sample` draws new codes from it."""
    from genlab import io

    mean = codes.mean(axis=0)
    covariance = np.cov(codes, rowvar=False) + 1e-6 * np.eye(codes.shape[1])
    with io.atomic_path(run.path / "latent_gaussian.npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, mean=mean, covariance=covariance, nonnegative=np.array(nonnegative))


def generate(run, config, count: int, *, seed: int, label: int | None = None) -> np.ndarray:
    """New images: random latent points from the training codes' Gaussian, decoded."""
    if label is not None:
        raise DataError(f"{run.path} is an {run.family_name} run, which is not conditional; a class needs a cgan run")
    gaussian = _latent_gaussian(run, config.latent_dim)
    rng = np.random.default_rng(seed)
    codes = rng.multivariate_normal(gaussian["mean"], gaussian["covariance"], size=count, method="cholesky")
    if bool(gaussian["nonnegative"]):  # relu codes are never negative
        codes = np.maximum(codes, 0.0)
    return decode(run, codes)


def latent_space(run, config):
    """The training codes' Gaussian (what `sample` draws from), decoded; sliders cover each
    dimension's mean +- 3 standard deviations (relu codes from 0)."""
    from genlab.latent import LatentSpace

    gaussian = _latent_gaussian(run, config.latent_dim)
    nonnegative = bool(gaussian["nonnegative"])
    decoder = run.load_model("decoder.keras")

    def decode(points, labels=None):
        images = np.asarray(decoder.predict(np.asarray(points, dtype="float32"), batch_size=1024, verbose=0), dtype=np.float32)
        return _image_shaped(run, images)

    def draw(seed: int, count: int):
        codes = np.random.default_rng(seed).multivariate_normal(gaussian["mean"], gaussian["covariance"], size=count,
                                                                method="cholesky")
        return (np.maximum(codes, 0.0) if nonnegative else codes).astype("float32")

    spread = 3.0 * np.sqrt(np.diag(gaussian["covariance"]))
    low, high = gaussian["mean"] - spread, gaussian["mean"] + spread
    if nonnegative:
        low = np.maximum(low, 0.0)
    return LatentSpace(family=run.family_name, size=config.latent_dim, distribution="normal fitted to the training codes",
                       decode=decode, draw=draw, low=low.astype(np.float32), high=high.astype(np.float32),
                       dims_by_use=[int(dim) for dim in np.argsort(-spread, kind="stable")], bounded=nonnegative)


def _latent_gaussian(run, latent_dim: int) -> dict[str, np.ndarray]:
    """latent_gaussian.npz's arrays, checked; a missing or damaged file is one RunError naming it."""
    import zipfile

    path = run.path / "latent_gaussian.npz"
    fix = "restore it from a copy or train the run again"
    if not path.is_file():
        raise RunError(f"{path} is missing (sampling needs the training codes' Gaussian); {fix}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            gaussian = {key: archive[key] for key in ("mean", "covariance", "nonnegative")}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        raise RunError(f"{path} is damaged ({type(error).__name__}); {fix}") from error
    if gaussian["mean"].shape != (latent_dim,) or gaussian["covariance"].shape != (latent_dim, latent_dim) \
            or not np.isfinite(gaussian["mean"]).all() or not np.isfinite(gaussian["covariance"]).all():
        raise RunError(f"{path} is damaged (no finite {latent_dim}-D mean and covariance); {fix}")
    return gaussian


def decode(run, codes: np.ndarray) -> np.ndarray:
    """Latent points (N, latent_dim) -> images N x H x W x C through the saved decoder."""
    decoder = run.load_model("decoder.keras")
    images = np.asarray(decoder.predict(np.asarray(codes, dtype="float32"), batch_size=1024, verbose=0), dtype=np.float32)
    return _image_shaped(run, images)


def _image_shaped(run, images: np.ndarray) -> np.ndarray:
    from genlab.families import networks

    return networks.unflatten_images(images)


def figures(run, config, dataset, encoder, clean_test, noisy_test, restored_test, denoising: bool) -> None:
    from genlab import plotting

    shown = slice(1, 11)  # the chapter shows test digits 1..10
    if denoising:
        plotting.image_rows([("noisy", noisy_test[shown]), ("denoised", restored_test[shown]), ("original", clean_test[shown])],
                            run.figures / "denoising.png")
    plotting.image_rows([("original", clean_test[shown]), ("reconstructed", restored_test[shown])],
                        run.figures / "reconstructions.png")
    plotting.curves(run.read_history(), [("loss", "train loss"), ("val_loss", "validation loss")], run.figures / "curves.png",
                    title=f"{run.family_name}: MSE", ylabel="MSE")
    latent_figure(run, config, dataset, encoder, clean_test)


def latent_figure(run, config, dataset, encoder, clean_test) -> None:
    from sklearn.decomposition import PCA

    from genlab import plotting

    codes = predict_codes(encoder, config, clean_test)
    points = codes[:, :2] if codes.shape[1] <= 2 else PCA(n_components=2, random_state=0).fit_transform(codes)
    plotting.scatter_codes(points, dataset.y_test, dataset.class_names, run.figures / "latent.png",
                           title=f"test codes ({config.latent_dim}-D) in 2-D by PCA")


# ---------------------------------------------------------------------------- functions on a trained run
def _test_set(config, data_dir=None):
    from genlab import data

    dataset = data.load_configured(config, data_dir)
    return dataset, data.to_float(dataset.x_test)


def interpolate(run, config, *, steps: int, seed: int, between: tuple[int, int] | None = None, data_dir=None) -> ImageGrid:
    """Decoded points on the straight line between two test images' codes, the originals at
    both ends (test images #1 and #2 unless `between` names others)."""
    from genlab.latent import latent_paths

    dataset, clean_test = _test_set(config, data_dir)
    first, second = between if between is not None else (1, 2)
    for index in (first, second):
        if not 0 <= index < len(clean_test):
            raise DataError(f"test index {index} is out of range 0..{len(clean_test) - 1}; pick two test images")
    codes = predict_codes(run.load_model("encoder.keras"), config, clean_test[[first, second]])
    images = decode(run, latent_paths(codes[:1], codes[1:], steps))
    strip = np.concatenate([clean_test[[first]], images, clean_test[[second]]])
    return ImageGrid(strip, columns=len(strip), title=f"test #{first} → test #{second} (ends: originals)")


def evaluate(run, config, *, data_dir=None, seed: int = 0, noise_sweep: bool = False) -> dict:
    """Re-score the saved model on the test set (fresh noise of the run's law for a DAE), or,
    with noise_sweep, over gaussian noise factors 0.1 .. 0.8."""
    dataset, clean_test = _test_set(config, data_dir)
    model = run.load_model()
    rng = np.random.default_rng(seed + 1)
    if noise_sweep:
        kind = config.noise if config.noise != "none" else "gaussian"
        sweep = []
        for factor in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            noisy = corrupt(clean_test, kind, factor, config.clip_noisy, rng)
            restored = predict_images(model, config, noisy)
            sweep.append({"noise": kind, "noise_factor": factor, **reconstruction_metrics(restored, clean_test, "output"),
                          **reconstruction_metrics(noisy, clean_test, "input", with_ssim=False)})
        run.update_metrics({"noise_sweep": sweep})
        return {"noise_sweep": sweep}
    noisy = corrupt(clean_test, config.noise, config.noise_factor, config.clip_noisy, rng)
    values = reconstruction_metrics(predict_images(model, config, noisy), clean_test, "test")
    # Kept apart from the training-time test_* figures: a DAE re-evaluation draws new noise.
    values = {f"evaluate_{key}": value for key, value in values.items()}
    run.update_metrics(values)
    return values


def export(run, config):
    """For `genlab export`: a DAE's denoiser (noisy images -> clean images); an AE's decoder, fed
    codes from the training codes' Gaussian (its mean and covariance go into the JSON)."""
    from genlab import exporting as _export

    if run.family_name == "dae":
        model = run.load_model("model.keras")
        image_shape = _export.image_shape(model.output_shape[1:])
        inputs = [{"name": "images", "shape": [None, *image_shape], "dtype": "float32", "range": [0.0, 1.0],
                   "meaning": "noisy images (genlab clips its inputs to [0, 1])"}]
        return _export.image_model(model, inputs, image_shape=image_shape), {"role": "denoiser", "inputs": inputs}
    gaussian = _latent_gaussian(run, config.latent_dim)
    draws = ("numpy.random.default_rng(seed).multivariate_normal(mean, covariance, size=n, method='cholesky')"
             + (", then numpy.maximum(codes, 0) (relu codes are never negative)" if bool(gaussian["nonnegative"]) else ""))
    inputs = [_export.latent_input("z", config.latent_dim, "multivariate_normal", draws, mean=gaussian["mean"].tolist(),
                                   covariance=gaussian["covariance"].tolist(), nonnegative=bool(gaussian["nonnegative"]))]
    return _export.image_model(run.load_model("decoder.keras"), inputs), {"role": "decoder", "inputs": inputs}


def codec(run, config) -> Codec:
    """The run's encoder and whole model, each loaded once on first use (the explorer's canvas
    calls these per stroke; a pretrained copy that ships no encoder can still reconstruct)."""
    loaded: dict = {}

    def model(name: str):
        if name not in loaded:
            loaded[name] = run.load_model(name)
        return loaded[name]

    return Codec(encode=lambda images: predict_codes(model("encoder.keras"), config, images),
                 reconstruct=lambda images: predict_images(model("model.keras"), config, images), size=config.latent_dim)


MSE = Metric("test_mse", "test MSE", lower_is_better=True, baseline="baseline_mean_mse")
_COMMON = dict(train=train, unit="epochs", purpose="reconstruct", generate=generate, interpolate=interpolate, codec=codec,
               latent_space=latent_space,
               evaluate=evaluate, files=("model.keras", "encoder.keras", "decoder.keras", "latent_gaussian.npz"),
               inference_files=("model.keras", "encoder.keras", "decoder.keras", "latent_gaussian.npz"), export=export)
FAMILIES = {
    "ae": Family(name="ae", title="autoencoder", chapter_program=2,
                 summary="autoencoder (the chapter's dense 784-32-784, or conv)", config_class=AutoencoderConfig,
                 presets=AE_PRESETS, figures=("reconstructions.png", "curves.png", "latent.png"), headline=(MSE,),
                 showcase=("reconstructions.png", "test digits (top) and the autoencoder's reconstructions (bottom)"),
                 tiny=dict(epochs=1, batch_size=256), tiny_variants=({"architecture": "dense"}, {"architecture": "conv"}),
                 **_COMMON),
    "dae": Family(name="dae", title="denoising autoencoder", chapter_program=3,
                  summary="denoising autoencoder (inputs + 0.55 N(0,1))", config_class=DenoisingConfig,
                  presets=DAE_PRESETS, denoises=True, figures=("reconstructions.png", "denoising.png", "curves.png", "latent.png"),
                  headline=(Metric("test_mse", "test MSE (denoised)", lower_is_better=True, baseline="noisy_mse"),),
                  showcase=("denoising.png", "noisy test digits, the denoiser's output, and the clean originals"),
                  tiny=dict(epochs=1, batch_size=256),
                  tiny_variants=({"architecture": "dense", "epochs": 2}, {"architecture": "conv"}), **_COMMON),
}
