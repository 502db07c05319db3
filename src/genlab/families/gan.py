"""Program 4: the chapter's GAN, trained correctly under Keras 3.

The chapter freezes the discriminator (`trainable = False`) and compiles a stacked model;
Keras 3 reads `trainable` at train time, so that pattern never trains the discriminator.
Here each network is updated explicitly with its own optimizer in one compiled step
(genlab.steps holds the backend-specific gradient code):

    fake   = G(z ~ U[-1, 1], training=False)                 # like the chapter's G.predict
    D step: BCE(D([real; fake]), [1; 0]) -> D's variables   # 128 real + 128 fake
    G step: BCE(D(G(z', training=True)), 1) -> G's variables # fresh noise, labels 1
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import ConfigError, DivergenceError, RunError
from genlab.families import Family


@dataclass
class GANConfig:
    dataset: str = "mnist"
    steps: int = 2000               # one batch each (the chapter calls them EPOCHS)
    batch_size: int = 128
    latent_dim: int = 32
    learning_rate: float = 4e-4     # both networks (Adam)
    beta_1: float = 0.9             # Adam's first-moment decay (Keras default: 0.9)
    output: str = "sigmoid"         # "sigmoid" (the chapter) or "logits" (numerically stable loss)
    label_smoothing: float = 0.0    # one-sided: real labels become 1 - label_smoothing
    ema: float = 0.0                # >0: keep an exponential moving average of G's weights (e.g. 0.999)
    precision: str = "float32"      # "float32" or "mixed_bfloat16" (faster on CPUs with AVX512-BF16/AMX)
    sample_every: int = 100         # fixed-noise grid + the chapter's 1 x 5 strip
    log_every: int = 10             # history.csv rows (means over the window)
    checkpoint_every: int = 500
    sample_grid: int = 64           # images in the fixed-noise grid
    on_nan: str = "stop"            # NaN/Inf loss or exploding weights: "stop" (keep the last checkpoint) or
                                    # "rollback" (restore it with half the learning rate, up to 3 times)
    seed: int = 0

    def validate(self):
        if self.output not in ("sigmoid", "logits"):
            raise ConfigError(f"output '{self.output}' is unknown; choose sigmoid or logits")
        if self.on_nan not in ("stop", "rollback"):
            raise ConfigError(f"on_nan '{self.on_nan}' is unknown; choose stop or rollback")
        if self.precision not in ("float32", "mixed_bfloat16"):
            raise ConfigError(f"precision '{self.precision}' is unknown; choose float32 or mixed_bfloat16")
        for key in ("steps", "batch_size", "latent_dim", "sample_every", "log_every", "checkpoint_every", "sample_grid"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError("label_smoothing must be in [0, 0.5)")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError("ema must be in [0, 1) (0 turns it off)")


PRESETS = {
    "chapter": dict(steps=2000, batch_size=128, latent_dim=32, learning_rate=4e-4, beta_1=0.9, output="sigmoid",
                    label_smoothing=0.0, ema=0.0, precision="float32", sample_every=100),
    "default": dict(steps=2000, batch_size=128, latent_dim=32, learning_rate=4e-4, beta_1=0.5, output="logits",
                    label_smoothing=0.1, ema=0.995, precision="float32", sample_every=100),
}


# ---------------------------------------------------------------------------- networks
def build_discriminator(image_shape=(28, 28, 1), output: str = "sigmoid"):
    """The chapter's discriminator, layer for layer (functional API)."""
    import keras
    from keras import layers

    images = keras.Input(shape=image_shape, name="images")                                  # (batch, 28, 28, 1)
    x = images
    for filters in (64, 128, 256):                                                          # -> 14, 7, 4 pixels
        x = layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu")(x)
        x = layers.Dropout(0.4)(x)
    x = layers.Flatten()(x)                                                                 # (batch, 4*4*256)
    # The output stays float32 under mixed precision so the loss is computed accurately.
    score = layers.Dense(1, activation="sigmoid" if output == "sigmoid" else None, dtype="float32", name="real")(x)
    return keras.Model(images, score, name="discriminator")


def build_generator(latent_dim: int = 32, image_shape=(28, 28, 1)):
    """The chapter's generator, layer for layer: a convnet in reverse, 7x7 -> 14x14 -> 28x28."""
    import keras
    from keras import layers

    height, width, channels = image_shape
    z = keras.Input(shape=(latent_dim,), name="z")                                          # (batch, 32)
    x = layers.Dense((height // 4) * (width // 4) * 64)(z)                                  # (batch, 3136)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.LeakyReLU()(x)
    x = layers.Reshape((height // 4, width // 4, 64))(x)                                    # (batch, 7, 7, 64)
    x = layers.Dropout(0.4)(x)
    for filters in (32, 16):
        x = layers.UpSampling2D()(x)                                                        # 14x14, then 28x28
        x = layers.Conv2DTranspose(filters, 5, padding="same")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU()(x)
    image = layers.Conv2D(channels, 5, padding="same", activation="sigmoid", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def step_flops(latent_dim: int, batch: int, image_shape=(28, 28, 1)) -> float:
    """Floating-point operations of one chapter training step, counted from the layer shapes.

    Forward multiply-adds count 2 FLOPs; a backward pass costs about twice its forward
    (input gradients + weight gradients). D step: D fwd+bwd on 2*batch images, plus G forward
    on batch. G step: G fwd+bwd and D fwd + input-gradient pass (no D weight gradients).
    """
    height, width, channels = image_shape

    def conv(out_h, out_w, k, c_in, c_out):
        return 2.0 * out_h * out_w * k * k * c_in * c_out

    d_forward = (conv(height // 2, width // 2, 5, channels, 64) + conv(height // 4, width // 4, 5, 64, 128)
                 + conv(math.ceil(height / 8), math.ceil(width / 8), 5, 128, 256) + 2.0 * math.ceil(height / 8) * math.ceil(width / 8) * 256)
    g_forward = (2.0 * latent_dim * (height // 4) * (width // 4) * 64 + conv(height // 2, width // 2, 5, 64, 32)
                 + conv(height, width, 5, 32, 16) + conv(height, width, 5, 16, channels))
    d_update = 2 * batch * d_forward * 3 + batch * g_forward
    g_update = batch * g_forward * 3 + batch * d_forward * 2
    return d_update + g_update


# ---------------------------------------------------------------------------- the training step
class GANTrainer:
    """Networks, optimizers and the compiled step; state that a checkpoint must capture.

    Subclasses (cgan, wgan-gp) override the hooks: the network builders, `make_optimizer`,
    `images_per_step`, `batch`, `latent`, `_train_step` and the figure layout.
    """

    conditional = False

    def __init__(self, config: GANConfig, image_shape, num_classes: int = 10):
        import keras

        from genlab import steps

        steps.check_custom_loop_supported("GAN")
        self.config, self.image_shape, self.num_classes = config, tuple(image_shape), num_classes
        keras.mixed_precision.set_global_policy(getattr(config, "precision", "float32"))
        try:
            self.generator = self.build_generator()
            self.discriminator = self.build_discriminator()
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.ema_generator = None
        if config.ema > 0:
            self.ema_generator = self.build_generator()
            self.ema_generator.set_weights(self.generator.get_weights())
        self.d_optimizer = self.make_optimizer()
        self.g_optimizer = self.make_optimizer()
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.seed_generator = keras.random.SeedGenerator(config.seed)
        self.loss = keras.losses.BinaryCrossentropy(from_logits=config.output == "logits")
        self.step = steps.compile_step(self._train_step)

    # ---- hooks ------------------------------------------------------------------------
    def build_generator(self):
        return build_generator(self.config.latent_dim, self.image_shape)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.config.output)

    def make_optimizer(self):
        import keras

        # Under mixed_bfloat16 no loss scaling is needed: bf16 keeps float32's exponent range.
        return keras.optimizers.Adam(learning_rate=self.config.learning_rate, beta_1=self.config.beta_1)

    @property
    def images_per_step(self) -> int:
        return self.config.batch_size

    def batch(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> tuple:
        """The step's arguments for these training-set indices."""
        return (images[indices],)

    def latent(self, count: int, rng: np.random.Generator, normal: bool = False):
        """Generator inputs for `count` new images: z ~ U[-1, 1] (the chapter's law) or N(0, 1)."""
        shape = (count, self.config.latent_dim)
        return (rng.standard_normal(shape) if normal else rng.uniform(-1, 1, shape)).astype("float32")

    def fixed_latent(self) -> tuple:
        """The fixed inputs of the progress grid, and its number of columns."""
        count = self.config.sample_grid
        return self.latent(count, np.random.default_rng(self.config.seed + 7)), int(math.ceil(math.sqrt(count)))

    def flops_per_step(self) -> float | None:
        """FLOPs of one step, counted from the layer shapes (for GFLOP/s); None where not counted."""
        return step_flops(self.config.latent_dim, self.config.batch_size, self.image_shape)

    def generate(self, inputs, model=None) -> np.ndarray:
        from genlab.steps import to_numpy

        model = model if model is not None else self.sampler
        return np.asarray(to_numpy(model(inputs, training=False)), dtype=np.float32)

    def _train_step(self, real):
        from keras import ops

        from genlab.steps import minimize

        config = self.config
        batch = ops.shape(real)[0]
        real_label = 1.0 - config.label_smoothing
        z = self._noise(batch)
        fake = self.generator(z, training=False)                                     # (batch, 28, 28, 1)
        images = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)         # (2*batch, 28, 28, 1)
        labels = ops.concatenate([ops.full((batch, 1), real_label), ops.zeros((batch, 1))], axis=0)

        def discriminator_loss():
            scores = self.discriminator(images, training=True)
            return self.loss(labels, scores), scores

        d_loss, scores, d_grad_norm = minimize(discriminator_loss, self.discriminator.trainable_variables, self.d_optimizer)
        threshold = 0.0 if config.output == "logits" else 0.5
        d_acc_real = ops.mean(ops.cast(scores[:batch] > threshold, "float32"))
        d_acc_fake = ops.mean(ops.cast(scores[batch:] <= threshold, "float32"))

        fresh = self._noise(batch)

        def generator_loss():
            scores = self.discriminator(self.generator(fresh, training=True), training=True)
            return self.loss(ops.ones((batch, 1)), scores), scores

        g_loss, _, g_grad_norm = minimize(generator_loss, self.generator.trainable_variables, self.g_optimizer)
        self._update_ema()
        return {"d_loss": d_loss, "g_loss": g_loss, "d_acc_real": d_acc_real, "d_acc_fake": d_acc_fake,
                "d_grad_norm": d_grad_norm, "g_grad_norm": g_grad_norm}

    def _update_ema(self):
        """average <- decay * average + (1 - decay) * current for the trainable weights; the
        BatchNorm statistics are copied, not averaged. (Averaging them too was measured to break
        the averaged network: mean output 0.001 instead of ~0.14 at step 500, i.e. black images,
        because averaged statistics no longer match the averaged weights' activations.)"""
        if self.ema_generator is None:
            return
        from keras import ops

        decay = self.config.ema
        for average, current in zip(self.ema_generator.trainable_weights, self.generator.trainable_weights):
            average.assign(decay * average + (1.0 - decay) * ops.cast(current, average.dtype))
        for copy, current in zip(self.ema_generator.non_trainable_weights, self.generator.non_trainable_weights):
            copy.assign(current)

    def _noise(self, batch):
        import keras

        return keras.random.uniform((batch, self.config.latent_dim), minval=-1.0, maxval=1.0, seed=self.seed_generator)

    @property
    def sampler(self):
        """The generator to sample from: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # ---- checkpoint state (numpy arrays only: no pickle) ------------------------------
    def state(self) -> dict[str, np.ndarray]:
        from genlab import checkpoints

        return checkpoints.state_of(self._variable_groups())

    def _variable_groups(self) -> dict[str, list]:
        # `variables`, not `weights`: only the former holds the Dropout layers' seed-generator
        # states, without which a resumed run would draw different dropout masks.
        groups = {"generator": self.generator.variables, "discriminator": self.discriminator.variables,
                  "g_optimizer": self.g_optimizer.variables, "d_optimizer": self.d_optimizer.variables,
                  "seed_generator": [self.seed_generator.state]}
        if self.ema_generator is not None:
            groups["ema_generator"] = self.ema_generator.weights
        return groups

    def load_state(self, arrays) -> None:
        from genlab import checkpoints

        checkpoints.assign(self._variable_groups(), arrays)


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(run, trainer: GANTrainer, step: int, data_order, elapsed: float, keep: int | None = None) -> Path:
    """checkpoints/step-NNNNNN.npz, then checkpoints/latest.json names it: complete or not at all."""
    from genlab import checkpoints

    arrays = trainer.state()
    arrays["data/permutation"] = data_order.permutation
    meta = {"step": step, "elapsed_s": elapsed, "data_position": data_order.position,
            "data_epoch": data_order.epoch, "rng_state": data_order.rng.bit_generator.state}
    return checkpoints.write(run, f"step-{step:06d}", arrays, meta, keep=keep)


def load_checkpoint(run, trainer: GANTrainer, data_order) -> dict:
    from genlab import checkpoints

    meta = checkpoints.latest(run)
    if "step" not in meta:
        raise RunError(f"{run.path}'s checkpoint is not a {run.family_name} step checkpoint; resume it with its own family")
    with checkpoints.arrays(run, meta) as arrays:
        trainer.load_state(arrays)
        data_order.permutation = arrays["data/permutation"]
    data_order.position, data_order.epoch = meta["data_position"], meta["data_epoch"]
    data_order.rng.bit_generator.state = meta["rng_state"]
    return meta


class DataOrder:
    """In-memory shuffled batches, reshuffled each pass; its state is part of a checkpoint."""

    def __init__(self, size: int, batch: int, seed: int):
        self.size, self.batch = size, batch
        self.rng = np.random.default_rng(seed)
        self.permutation = self.rng.permutation(size)
        self.position, self.epoch = 0, 0

    def next_indices(self) -> np.ndarray:
        if self.position + self.batch > self.size:
            self.permutation = self.rng.permutation(self.size)
            self.position, self.epoch = 0, self.epoch + 1
        indices = self.permutation[self.position:self.position + self.batch]
        self.position += self.batch
        return np.sort(indices)  # sorted gathers are cache-friendlier; the batch is the same set


# ---------------------------------------------------------------------------- divergence guard
MAX_ROLLBACKS = 3
WEIGHT_LIMIT = 1e4   # any |weight| above this means the networks are exploding


def _divergence(values: dict[str, float], trainer: GANTrainer, step: int, config: GANConfig) -> str | None:
    """A description of what went wrong at this step, or None if all is well."""
    bad = [f"{key}={value}" for key, value in values.items() if not math.isfinite(value)]
    if bad:
        return "non-finite " + ", ".join(bad)
    if step % config.log_every == 0:
        from genlab.steps import to_numpy

        largest = max(float(np.max(np.abs(to_numpy(variable)))) for model in (trainer.generator, trainer.discriminator)
                      for variable in model.trainable_variables)
        if not math.isfinite(largest) or largest > WEIGHT_LIMIT:
            return f"exploding weights (largest |w| = {largest:.3g})"
    return None


def rollback(run, trainer: GANTrainer, order: "DataOrder", problem: str, count: int) -> int:
    """--on-nan=rollback: restore the last checkpoint and halve both learning rates."""
    from genlab.steps import to_numpy

    meta = load_checkpoint(run, trainer, order)
    for optimizer in (trainer.d_optimizer, trainer.g_optimizer):
        optimizer.learning_rate.assign(float(to_numpy(optimizer.learning_rate)) * 0.5)
    run.truncate_history(lambda row: row["step"] <= meta["step"])
    rate = float(to_numpy(trainer.g_optimizer.learning_rate))
    print(f"genlab: {problem}; rolled back to step {meta['step']} with learning rate {rate:.3g} (rollback {count}/{MAX_ROLLBACKS})",
          file=sys.stderr)
    run.update_metrics({"rollbacks": count})
    return meta["step"]


# ---------------------------------------------------------------------------- training loop
def train(config: GANConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    return train_adversarial(GANTrainer, config, run, data_dir=data_dir, verbose=verbose, resume=resume)


def train_adversarial(trainer_class, config, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    """The training loop shared by the adversarial families (gan, cgan, wgan-gp)."""
    from tqdm import tqdm

    from genlab import data, training

    dataset = data.load(config.dataset, data_dir)
    images = training.float_images(dataset.x_train)                          # (N, 28, 28, 1) in [0, 1]
    trainer = trainer_class(config, dataset.image_shape, dataset.num_classes)
    if len(images) < trainer.images_per_step:
        raise ConfigError(f"one step needs {trainer.images_per_step} images, more than the training set ({len(images)}); lower batch_size")
    order = DataOrder(len(images), trainer.images_per_step, config.seed)
    fixed_noise = trainer.fixed_latent()
    start_step, elapsed_before = 0, 0.0
    if resume:
        meta = load_checkpoint(run, trainer, order)
        start_step, elapsed_before = meta["step"], meta["elapsed_s"]
        run.truncate_history(lambda row: row["step"] <= start_step)
    else:
        save_untrained_sample(run, trainer, config)
        save_fixed_grid(run, trainer, fixed_noise, 0)

    window: dict[str, list[float]] = {}
    scalars = training.ScalarLog(run)
    started = time.perf_counter()
    # In a terminal the bar refreshes twice a second; in logs (CI, pipes) one line every 30 s.
    progress = tqdm(total=config.steps, initial=start_step, desc=run.family_name, unit="step", disable=verbose == 0, dynamic_ncols=True,
                    mininterval=0.5 if sys.stderr.isatty() else 30.0)
    last_good, rollbacks = start_step, 0
    if config.on_nan == "rollback" and not (run.checkpoints / "latest.json").is_file():
        save_checkpoint(run, trainer, start_step, order, elapsed_before)   # something to roll back to
    step = start_step
    try:
        while step < config.steps:
            step += 1
            values = {key: float(value) for key, value in trainer.step(*trainer.batch(images, dataset.y_train, order.next_indices())).items()}
            problem = _divergence(values, trainer, step, config)
            if problem is not None:
                if config.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS:
                    raise DivergenceError(f"GAN diverged at step {step}: {problem}; the last good checkpoint (step {last_good}) "
                                          f"is kept; lower learning_rate and --resume, or use --set on_nan=rollback")
                rollbacks += 1
                step = rollback(run, trainer, order, problem, rollbacks)
                progress.n = step
                window = {}
                continue
            for key, value in values.items():
                window.setdefault(key, []).append(value)
            progress.update(1)
            if step % config.log_every == 0 or step == config.steps:
                row = {"step": step, **{key: float(np.mean(vals)) for key, vals in window.items()},
                       "seconds": elapsed_before + time.perf_counter() - started}
                run.log(row)
                scalars.write(step, {key: value for key, value in row.items() if key != "step"})
                progress.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}")
                window = {}
            if step % config.sample_every == 0 or step == config.steps:
                save_fixed_grid(run, trainer, fixed_noise, step)
                save_chapter_strip(run, trainer, config, step)
            if step % config.checkpoint_every == 0 or step == config.steps:
                save_checkpoint(run, trainer, step, order, elapsed_before + time.perf_counter() - started)
                last_good = step
    except DivergenceError as error:
        run.update_metrics({"status": "failed", "failure": str(error), "last_good_checkpoint": last_good})
        raise
    finally:
        progress.close()
    train_wall = elapsed_before + time.perf_counter() - started

    run.save_model(trainer.sampler, "generator.keras")
    run.save_model(trainer.discriminator, "discriminator.keras")
    final_figures(run)
    history = run.read_history()
    last = history[-1] if history else {}
    timed = [row for row in history if row["step"] > min(20, config.steps // 2)]
    seconds_per_step = ((timed[-1]["seconds"] - timed[0]["seconds"]) / max(timed[-1]["step"] - timed[0]["step"], 1)
                        if len(timed) > 1 else train_wall / max(config.steps - start_step, 1))
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "steps": config.steps, "train_wall_s": train_wall,
               "seconds_per_step": seconds_per_step,
               **{f"{key}_last": value for key, value in last.items() if key not in ("step", "seconds")}}
    flops = trainer.flops_per_step()
    if flops:
        metrics["gflops_per_s"] = flops / seconds_per_step / 1e9
    return metrics


# ---------------------------------------------------------------------------- figures
def save_untrained_sample(run, trainer: GANTrainer, config: GANConfig) -> None:
    """The chapter shows one sample of the untrained generator from N(0, 1) noise: pure noise."""
    from genlab import plotting

    inputs = trainer.latent(1, np.random.default_rng(config.seed + 3), normal=True)
    plotting.grid(trainer.generate(inputs, trainer.generator), run.figures / "untrained.png", columns=1, cell=3.0,
                  title="untrained generator")


def save_fixed_grid(run, trainer: GANTrainer, fixed, step: int) -> None:
    from genlab import plotting

    inputs, columns = fixed
    folder = run.figures / "samples"
    folder.mkdir(exist_ok=True)
    plotting.save_png(plotting.grid_array(trainer.generate(inputs), columns), folder / f"step-{step:06d}.png", scale=2)


def save_chapter_strip(run, trainer: GANTrainer, config: GANConfig, step: int) -> None:
    """The chapter's figure: 5 samples from fresh uniform noise in one row."""
    from genlab import plotting

    inputs = trainer.latent(5, np.random.default_rng(config.seed * 100003 + step))
    folder = run.figures / "strips"
    folder.mkdir(exist_ok=True)
    plotting.grid(trainer.generate(inputs), folder / f"step-{step:06d}.png", columns=5, cell=2.0, title=f"step {step}")


def final_figures(run) -> None:
    from PIL import Image

    from genlab import plotting

    frames = [np.asarray(Image.open(path)) for path in sorted((run.figures / "samples").glob("step-*.png"))]
    if frames:
        plotting.gif(frames, run.figures / "progress.gif", scale=1)
    history = run.read_history()
    has_accuracy = bool(history) and "d_acc_fake" in history[0]
    plotting.curves(history, [("d_loss", "D loss"), ("g_loss", "G loss")], run.figures / "losses.png", x_key="step",
                    title="GAN losses" + (" (dashed: D accuracy)" if has_accuracy else ""),
                    secondary=[("d_acc_real", "D acc on real"), ("d_acc_fake", "D acc on fake")] if has_accuracy else ())
    if history and "wasserstein" in history[0]:
        plotting.curves(history, [("wasserstein", "E[critic(real)] - E[critic(fake)]")], run.figures / "wasserstein.png",
                        x_key="step", title="critic's Wasserstein estimate", ylabel="estimate")


# ---------------------------------------------------------------------------- sampling commands
def generate(run, count: int, seed: int | None = None) -> np.ndarray:
    from genlab import config as config_module
    from genlab.families import get

    config = config_module.load_run_config(run.path / "config.toml", get(run.family_name))
    generator = run.load_model("generator.keras")
    z = np.random.default_rng(seed).uniform(-1, 1, (count, config.latent_dim)).astype("float32")
    return np.asarray(generator.predict(z, batch_size=500, verbose=0), dtype=np.float32)


def generator_inputs(generator, z: np.ndarray, labels: np.ndarray | None = None):
    """z alone, or [z, labels] for a conditional generator (classes in turn unless given)."""
    if len(generator.inputs) == 1:
        return z
    labels = np.arange(len(z)) % num_classes_of(generator) if labels is None else np.asarray(labels)
    return [z, labels.astype("int32").reshape(-1, 1)]


def num_classes_of(generator) -> int:
    import keras

    return next(layer.input_dim for layer in generator.layers if isinstance(layer, keras.layers.Embedding))


def command_sample(run, config, args) -> None:
    from genlab.commands import save_samples

    save_samples(run, generate(run, args.count, args.seed), args)


def command_interpolate(run, config, args) -> None:
    """Rows of images along straight lines between random latent points."""
    from genlab import plotting
    from genlab.commands import latent_paths

    generator = run.load_model("generator.keras")
    rng = np.random.default_rng(args.seed)
    rows = 4
    ends = rng.uniform(-1, 1, (rows, 2, config.latent_dim))
    z = latent_paths(ends[:, 0], ends[:, 1], args.steps)                               # (rows * steps, dim)
    # A conditional generator keeps one class per row (classes 0, 1, 2, 3).
    images = np.asarray(generator.predict(generator_inputs(generator, z, np.repeat(np.arange(rows), args.steps)), verbose=0),
                        dtype=np.float32)
    out = Path(args.out) if args.out else run.figures / "interpolation.png"
    plotting.grid(images, out, columns=args.steps, title="latent interpolation (each row: z_a → z_b)")
    print(f"wrote {out}")


FAMILY = Family(name="gan", summary="the chapter's GAN (conv D, upsampling G, z=32), trained with a compiled custom step",
                config_class=GANConfig, presets=PRESETS, train=train, generate=generate, kind="gan",
                extras={"sample": command_sample, "interpolate": command_interpolate})
