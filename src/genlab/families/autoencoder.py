"""Programs 2 and 3: the autoencoder (`ae`) and the denoising autoencoder (`dae`).

chapter preset: Input(784) -> Dense(32, relu) [the code] -> Dense(784, sigmoid), Adam, MSE,
50 epochs, batch 256, shuffle, validation on the test set. The DAE feeds
`clean + 0.55 * N(0, 1)` (unclipped, drawn once) and learns to output the clean image.
`architecture = "conv"` is a convolutional encoder/decoder with the same code size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import ConfigError, DataError
from genlab.families import Family

ARCHITECTURES = ("dense", "conv")
NOISE_KINDS = ("none", "gaussian", "salt-and-pepper", "masking")


@dataclass
class AutoencoderConfig:
    dataset: str = "mnist"
    architecture: str = "conv"      # "dense" (the chapter's 784-32-784) or "conv"
    code_size: int = 32
    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    noise: str = "none"             # input corruption: none, gaussian, salt-and-pepper, masking
    noise_factor: float = 0.0       # gaussian: std; salt-and-pepper / masking: share of pixels hit
    clip_noisy: bool = False        # clip corrupted inputs to [0, 1] (the chapter does not)
    fresh_noise: bool = True        # draw new noise every epoch (the chapter draws it once)
    chapter_noise: bool = False     # draw noise as the chapter does: np.random.normal (legacy RandomState
                                    # seeded with `seed`), training set first, then the test set
    steps_per_execution: int = 1    # >1 runs several batches per compiled call (less overhead)
    seed: int = 0

    def validate(self):
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture '{self.architecture}' is unknown; choose one of {', '.join(ARCHITECTURES)}")
        if self.noise not in NOISE_KINDS:
            raise ConfigError(f"noise '{self.noise}' is unknown; choose one of {', '.join(NOISE_KINDS)}")
        if self.code_size < 1 or self.epochs < 1 or self.batch_size < 1 or self.steps_per_execution < 1:
            raise ConfigError("code_size, epochs, batch_size and steps_per_execution must be at least 1")
        if self.noise_factor < 0 or (self.noise in ("salt-and-pepper", "masking") and self.noise_factor > 1):
            raise ConfigError("noise_factor must be >= 0 (and <= 1 for salt-and-pepper and masking)")


# steps_per_execution changes no update (same batches, same order), only dispatch overhead: measured
# 0.49 s/epoch at 16 vs 1.37 s at 1 (reference 1.04 s), identical test_mse.
_CHAPTER = dict(architecture="dense", code_size=32, epochs=50, batch_size=256, learning_rate=1e-3, steps_per_execution=32)
AE_PRESETS = {
    "chapter": dict(_CHAPTER, noise="none", noise_factor=0.0),
    "default": dict(architecture="conv", epochs=5, batch_size=128, noise="none", noise_factor=0.0, steps_per_execution=8),
}
DAE_PRESETS = {
    "chapter": dict(_CHAPTER, noise="gaussian", noise_factor=0.55, clip_noisy=False, fresh_noise=False, chapter_noise=True),
    "default": dict(architecture="conv", epochs=5, batch_size=128, noise="gaussian", noise_factor=0.55,
                    clip_noisy=False, fresh_noise=True, steps_per_execution=8),
}


# ---------------------------------------------------------------------------- networks
def build_dense(image_shape, code_size: int):
    """The chapter's network, split into encoder and decoder so the code can be read and fed."""
    import keras
    from keras import layers

    size = int(np.prod(image_shape))
    pixels = keras.Input(shape=(size,), name="pixels")                        # (batch, 784)
    code = layers.Dense(code_size, activation="relu", name="code")(pixels)    # (batch, 32)
    encoder = keras.Model(pixels, code, name="encoder")
    code_input = keras.Input(shape=(code_size,), name="code_input")
    restored = layers.Dense(size, activation="sigmoid", name="restored")(code_input)  # (batch, 784)
    decoder = keras.Model(code_input, restored, name="decoder")
    return encoder, decoder


def build_conv(image_shape, code_size: int):
    """Strided convolutions down to a linear code of `code_size`, transposed convolutions back up."""
    import keras
    from keras import layers

    height, width, channels = image_shape
    images = keras.Input(shape=image_shape, name="images")                          # (batch, 28, 28, 1)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(images)  # (batch, 14, 14, 32)
    x = layers.Conv2D(64, 3, strides=2, padding="same", activation="relu")(x)       # (batch, 7, 7, 64)
    x = layers.Flatten()(x)
    code = layers.Dense(code_size, name="code")(x)                                   # (batch, 32), linear
    encoder = keras.Model(images, code, name="encoder")

    code_input = keras.Input(shape=(code_size,), name="code_input")
    small_h, small_w = height // 4, width // 4
    x = layers.Dense(small_h * small_w * 64, activation="relu")(code_input)
    x = layers.Reshape((small_h, small_w, 64))(x)                                    # (batch, 7, 7, 64)
    # 32 and 16 filters (not 64 and 32): a third of the FLOPs, measured 60-77 s/epoch -> far less
    # on 2 cores, and still far below the dense network's error.
    x = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(x)  # (batch, 14, 14, 32)
    x = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(x)  # (batch, 28, 28, 16)
    restored = layers.Conv2D(channels, 3, padding="same", activation="sigmoid", name="restored")(x)
    decoder = keras.Model(code_input, restored, name="decoder")
    return encoder, decoder


def build(config: AutoencoderConfig, image_shape):
    import keras

    if config.architecture == "conv" and (image_shape[0] % 4 or image_shape[1] % 4):
        raise ConfigError(f"the conv architecture needs image sides divisible by 4, got {image_shape[:2]}; use architecture=dense")
    builder = build_dense if config.architecture == "dense" else build_conv
    encoder, decoder = builder(image_shape, config.code_size)
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

    from genlab import data, steps, training

    dataset = data.load(config.dataset, data_dir)
    clean_train = training.float_images(dataset.x_train)
    clean_test = training.float_images(dataset.x_test)
    rng = np.random.RandomState(config.seed) if config.chapter_noise else np.random.default_rng(config.seed)
    autoencoder, encoder, decoder = build(config, dataset.image_shape)
    autoencoder.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="mse",
                        steps_per_execution=steps.steps_per_execution(config.steps_per_execution))

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


def generate(run, count: int, seed: int | None = None) -> np.ndarray:
    """New images: random latent points from the training codes' Gaussian, decoded."""
    gaussian = np.load(run.path / "latent_gaussian.npz", allow_pickle=False)
    rng = np.random.default_rng(seed)
    codes = rng.multivariate_normal(gaussian["mean"], gaussian["covariance"], size=count, method="cholesky")
    if bool(gaussian["nonnegative"]):  # relu codes are never negative
        codes = np.maximum(codes, 0.0)
    decoder = run.load_model("decoder.keras")
    images = np.asarray(decoder.predict(codes.astype("float32"), batch_size=1024, verbose=0), dtype=np.float32)
    return _image_shaped(run, images)


def _image_shaped(run, images: np.ndarray) -> np.ndarray:
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        return images.reshape(len(images), side, side, 1)
    return images


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
                           title=f"test codes ({config.code_size}-D) in 2-D by PCA")


# ---------------------------------------------------------------------------- commands on a run
def _test_set(run, config, data_dir=None):
    from genlab import data, training

    dataset = data.load(config.dataset, data_dir)
    return dataset, training.float_images(dataset.x_test)


def command_sample(run, config, args) -> None:
    from genlab.commands import save_samples

    save_samples(run, generate(run, args.count, args.seed), args)


def command_interpolate(run, config, args) -> None:
    from genlab import plotting
    from genlab.commands import latent_paths

    dataset, clean_test = _test_set(run, config, args.data_dir)
    first = 1 if args.a is None else args.a
    second = 2 if args.b is None else args.b
    for index in (first, second):
        if not 0 <= index < len(clean_test):
            raise DataError(f"test index {index} is out of range 0..{len(clean_test) - 1}; pick two test images")
    encoder, decoder = run.load_model("encoder.keras"), run.load_model("decoder.keras")
    codes = predict_codes(encoder, config, clean_test[[first, second]])
    path_codes = latent_paths(codes[:1], codes[1:], args.steps)
    images = _image_shaped(run, np.asarray(decoder.predict(path_codes, verbose=0)))
    strip = np.concatenate([clean_test[[first]], images, clean_test[[second]]])
    out = Path(args.out) if args.out else run.figures / f"interpolate-{first}-{second}.png"
    plotting.grid(strip, out, columns=len(strip), title=f"test #{first} → test #{second} (ends: originals)")
    print(f"wrote {out}")


def _reconstruct_file(run, config, args, label: str) -> None:
    from genlab import inputs, plotting

    image_shape = tuple(run.load_model("decoder.keras").output_shape[1:])
    if len(image_shape) == 1:
        side = int(round(np.sqrt(image_shape[0])))
        image_shape = (side, side, 1)
    images = inputs.load_images(args.input, image_shape)
    restored = predict_images(run.load_model(), config, images)
    side_by_side = np.concatenate([np.concatenate([image, output], axis=1) for image, output in zip(images, restored)], axis=0)
    out = Path(args.out) if args.out else Path(args.input).with_name(Path(args.input).stem + f"-{label}.png")
    plotting.save_png(plotting.grid_array(side_by_side[None], columns=1, pad=0), out, scale=4)
    print(f"wrote {out} (left: input, right: {label}; {len(images)} image(s))")


def command_reconstruct(run, config, args) -> None:
    _reconstruct_file(run, config, args, "reconstructed")


def command_denoise(run, config, args) -> None:
    if run.family_name != "dae":
        from genlab.errors import GenlabError

        raise GenlabError(f"{run.path} is an '{run.family_name}' run; denoise needs a dae run (genlab train dae)")
    _reconstruct_file(run, config, args, "denoised")


def command_evaluate(run, config, args) -> None:
    from genlab.runs import summary_table

    dataset, clean_test = _test_set(run, config, args.data_dir)
    model = run.load_model()
    rng = np.random.default_rng(config.seed + 1)
    if args.noise_sweep:
        kind = config.noise if config.noise != "none" else "gaussian"
        rows, sweep = [], []
        for factor in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
            noisy = corrupt(clean_test, kind, factor, config.clip_noisy, rng)
            restored = predict_images(model, config, noisy)
            entry = {"noise_factor": factor, **reconstruction_metrics(restored, clean_test, "output"),
                     **reconstruction_metrics(noisy, clean_test, "input", with_ssim=False)}
            sweep.append(entry)
            rows.append((f"{kind} {factor:.1f}", f"in {entry['input_psnr_db']:6.2f} dB -> out {entry['output_psnr_db']:6.2f} dB, "
                                                 f"mse {entry['output_mse']:.4f}, ssim {entry['output_ssim']:.3f}"))
        run.update_metrics({"noise_sweep": sweep})
        print(summary_table(rows, title=f"noise sweep ({run.path})"))
        return
    noisy = corrupt(clean_test, config.noise, config.noise_factor, config.clip_noisy, rng)
    values = reconstruction_metrics(predict_images(model, config, noisy), clean_test, "test")
    # Kept apart from the training-time test_* figures: a DAE re-evaluation draws new noise.
    run.update_metrics({f"evaluate_{key}": value for key, value in values.items()})
    print(summary_table(list(values.items()), title=f"evaluate {run.path}"))


_EXTRAS = {"sample": command_sample, "interpolate": command_interpolate, "reconstruct": command_reconstruct,
           "denoise": command_denoise, "evaluate": command_evaluate}
FAMILIES = {
    "ae": Family(name="ae", summary="autoencoder (the chapter's dense 784-32-784, or conv)", config_class=AutoencoderConfig,
                 presets=AE_PRESETS, train=train, generate=generate, kind="autoencoder", extras=_EXTRAS),
    "dae": Family(name="dae", summary="denoising autoencoder (inputs + 0.55 N(0,1))", config_class=AutoencoderConfig,
                  presets=DAE_PRESETS, train=train, generate=generate, kind="autoencoder", extras=_EXTRAS),
}
