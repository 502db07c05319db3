"""The adversarial families (gan, cgan, wgan-gp): the trainer they share, their progress grids and
what a trained generator is used for.

A family supplies a trainer class (networks and its one step, see `AdversarialTrainer`); it
trains in genlab.step_training's loop (data order, checkpoints that make a resume exact, the
divergence guard and its rollback, the history log), with this module's `ProgressGrids` (the
fixed-noise grid and the chapter's 1 x 5 strip every sample_every steps) as its own observer,
and the loss figures drawn at the end.

A step keeps all its state in Keras variables (networks, optimizers, the noise SeedGenerator,
the EMA generator) and reads randomness only from `trainer.seed_generator`, so it can run
stateless over `trainer.state_variables()` (what the JAX backend needs); the backend-specific
parts (gradients, compilation) are in genlab.backend.
"""
from __future__ import annotations

import logging
import math
from typing import Mapping

import numpy as np

from genlab import engine
from genlab.errors import ConfigError, GenlabError

log = logging.getLogger("genlab.train")


# ---------------------------------------------------------------------------- the trainer
class AdversarialTrainer:
    """Networks, optimizers, noise and the compiled step: the state a checkpoint must capture.

    A family subclasses this and defines `build_generator`, `build_discriminator` and
    `train_step(real, real_labels=None) -> dict of scalars`. A conditional family sets
    `conditional = True`; the same step then receives the real labels, and `generator_inputs`
    / `discriminator_inputs` add labels to the networks' inputs.
    """

    conditional = False
    # (history key, label, figure file, title) curves drawn at the end besides the losses.
    extra_curves: tuple[tuple[str, str, str, str], ...] = ()

    def __init__(self, config, image_shape, num_classes: int = 10):
        import keras

        from genlab import backend
        from genlab.families.networks import check_sides_divisible

        check_sides_divisible(image_shape, 4, "the generator (it upsamples a quarter-size map twice)")
        self.config, self.image_shape, self.num_classes = config, tuple(image_shape), num_classes
        # Mixed precision is a global Keras setting read when layers are built: set it for our
        # networks (the EMA copy included, so it matches the generator) and give the caller's back.
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(resolve_dtype_policy(config.dtype_policy))
        # Data-parallel (config.devices > 1): every variable is created, and the step compiled, for
        # the engine's replicas (genlab.backend.data_parallel); 1 changes nothing.
        with backend.data_parallel(getattr(config, "devices", 1)):
            try:
                self.generator = self.build_generator()
                self.discriminator = self.build_discriminator()
                self.ema_generator = self.build_generator() if config.ema > 0 else None
            finally:
                keras.config.set_dtype_policy(previous)
            if self.ema_generator is not None:
                self.ema_generator.set_weights(self.generator.get_weights())
            backend.synchronize_batch_norm([self.generator, self.discriminator])
            self.d_optimizer = self.make_optimizer()
            self.g_optimizer = self.make_optimizer()
            self.d_optimizer.build(self.discriminator.trainable_variables)
            self.g_optimizer.build(self.generator.trainable_variables)
            self.seed_generator = keras.random.SeedGenerator(config.seed)
            self.step = backend.compile_step(self.train_step, self.state_variables())
            # Several steps per call (config.steps_per_execution > 1): None where the backend runs one.
            self.steps = backend.compile_steps(self.train_step, self.state_variables())

    # ---- what a family defines ------------------------------------------------------
    def build_generator(self):
        raise NotImplementedError

    def build_discriminator(self):
        raise NotImplementedError

    def train_step(self, real, real_labels=None) -> dict:
        raise NotImplementedError

    def make_optimizer(self):
        import keras

        # Under mixed_bfloat16 no loss scaling is needed: bf16 keeps float32's exponent range.
        return keras.optimizers.Adam(learning_rate=self.config.learning_rate, beta_1=self.config.beta_1)

    @property
    def images_per_step(self) -> int:
        return self.config.batch_size

    def flops_per_step(self) -> float | None:
        """FLOPs of one step, counted from the layer shapes (for GFLOP/s); None where not counted."""
        return None

    # ---- inputs ---------------------------------------------------------------------
    def generator_inputs(self, z, labels=None):
        return [z, labels] if self.conditional else z

    def discriminator_inputs(self, images, labels=None):
        return [images, labels] if self.conditional else images

    def batch(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> tuple:
        """The step's arguments for these training-set indices."""
        if self.conditional:
            return images[indices], labels[indices].astype("int32").reshape(-1, 1)
        return (images[indices],)

    def noise(self, batch):
        """z ~ U[-1, 1] inside the step (the chapter's law), from the checkpointed seed generator.

        Drawn for the global batch, then this replica's rows (`backend.replica_rows`): the same
        numbers whatever the number of data-parallel replicas."""
        import keras

        from genlab import backend

        z = keras.random.uniform((backend.global_rows(batch), self.config.latent_dim), minval=-1.0, maxval=1.0,
                                 seed=self.seed_generator)
        return backend.replica_rows(z)

    def random_labels(self, batch):
        import keras

        from genlab import backend

        labels = keras.random.randint((backend.global_rows(batch), 1), 0, self.num_classes, seed=self.seed_generator, dtype="int32")
        return backend.replica_rows(labels)

    def latent(self, count: int, rng: np.random.Generator, normal: bool = False):
        """Generator inputs for `count` new images outside the step: z ~ U[-1, 1] (or N(0, 1));
        a conditional generator gets the classes in turn (0, 1, ..., 9, 0, ...)."""
        shape = (count, self.config.latent_dim)
        z = (rng.standard_normal(shape) if normal else rng.uniform(-1, 1, shape)).astype("float32")
        return self.generator_inputs(z, (np.arange(count) % self.num_classes).astype("int32").reshape(-1, 1))

    def fixed_latent(self) -> tuple:
        """The fixed inputs of the progress grid and its number of columns. A conditional
        generator gets one row per class, the same noise down each column."""
        rng = np.random.default_rng(self.config.seed + 7)
        if not self.conditional:
            count = self.config.sample_grid
            return self.latent(count, rng), int(math.ceil(math.sqrt(count)))
        per_class = max(self.config.sample_grid // self.num_classes, 1)
        z = np.tile(rng.uniform(-1, 1, (per_class, self.config.latent_dim)).astype("float32"), (self.num_classes, 1))
        labels = np.repeat(np.arange(self.num_classes), per_class).astype("int32").reshape(-1, 1)
        return [z, labels], per_class

    def generate(self, inputs, model=None) -> np.ndarray:
        from genlab.backend import to_numpy

        model = model if model is not None else self.sampler
        return np.asarray(to_numpy(model(inputs, training=False)), dtype=np.float32)

    # ---- exponential moving average of the generator --------------------------------
    def update_ema(self):
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

    @property
    def sampler(self):
        """The generator to sample from: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    # ---- state ----------------------------------------------------------------------
    def variable_groups(self) -> dict[str, list]:
        # `variables`, not `weights`: only the former holds the Dropout layers' seed-generator
        # states, without which a resumed run would draw different dropout masks.
        groups = {"generator": self.generator.variables, "discriminator": self.discriminator.variables,
                  "g_optimizer": self.g_optimizer.variables, "d_optimizer": self.d_optimizer.variables,
                  "seed_generator": [self.seed_generator.state]}
        if self.ema_generator is not None:
            groups["ema_generator"] = self.ema_generator.weights
        return groups

    def state_variables(self) -> list:
        """Every variable the step reads or writes: what a stateless step threads through."""
        return [variable for group in self.variable_groups().values() for variable in group]

    def state(self) -> dict[str, np.ndarray]:
        from genlab import checkpoints

        return checkpoints.state_of(self.variable_groups())

    def load_state(self, arrays) -> None:
        from genlab import checkpoints

        checkpoints.assign(self.variable_groups(), arrays)

    def networks(self) -> tuple:
        """The networks whose weights the divergence guard checks."""
        return self.generator, self.discriminator

    def optimizers(self) -> tuple:
        """The optimizers whose learning rates a rollback halves (the generator's last)."""
        return self.d_optimizer, self.g_optimizer

    def learning_rates(self) -> tuple[float, float]:
        from genlab.backend import to_numpy

        return tuple(float(to_numpy(optimizer.learning_rate)) for optimizer in self.optimizers())


def resolve_dtype_policy(name: str) -> str:
    """`auto` is mixed_bfloat16 where the processor computes bf16 fast (AVX512-BF16/AMX, or a
    bf16 GPU) and float32 elsewhere (emulated bf16 is slower than float32)."""
    if name != "auto":
        return name
    from genlab import backend

    return "mixed_bfloat16" if backend.fast_bfloat16() else "float32"


def gan_losses(trainer: AdversarialTrainer):
    """The binary cross-entropy of a sigmoid or logits discriminator: the batch mean.

    The functional form, not a `keras.losses.BinaryCrossentropy` object: under tf.distribute a
    Loss object divides itself by the replica count, and `backend.minimize` already scales every
    family's loss by the global batch once (a Loss object would make it twice)."""
    import keras

    from_logits = trainer.config.output == "logits"

    def loss(targets, scores):
        return keras.ops.mean(keras.losses.binary_crossentropy(targets, scores, from_logits=from_logits))

    return loss


# ---------------------------------------------------------------------------- training
def train(trainer_class, config, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    """Train an adversarial family into `run`; returns the metrics for metrics.json."""
    from genlab import data, step_training

    dataset = data.load_configured(config, data_dir)
    images = data.to_float(dataset.x_train)                                      # (N, 28, 28, 1) in [0, 1]
    trainer = trainer_class(config, dataset.image_shape, dataset.num_classes)
    if len(images) < trainer.images_per_step:
        raise ConfigError(f"one step needs {trainer.images_per_step} images, more than the training set ({len(images)}); lower batch_size")
    outcome = step_training.train(trainer, config, run, images, dataset.y_train, verbose=verbose, resume=resume,
                                  observers=[ProgressGrids(trainer)], postfix=(("d", "d_loss"), ("g", "g_loss")))
    run.save_model(trainer.sampler, "generator.keras")
    run.save_model(trainer.discriminator, "discriminator.keras")
    final_figures(run, trainer)
    return outcome.finish(dataset)


class ProgressGrids(engine.Observer):
    """figures/samples/step-NNNNNN.png (the fixed noise through the sampler) and the chapter's
    1 x 5 strip every sample_every steps and at the last one; at a fresh start, the untrained
    generator's sample and the step-0 grid."""

    def __init__(self, trainer: AdversarialTrainer):
        self.trainer, self.every = trainer, trainer.config.sample_every
        self.fixed = trainer.fixed_latent()

    def train_begin(self, context: engine.Context) -> None:
        self.run, self.total = context.run, context.total
        if not context.resumed:
            save_untrained_sample(self.run, self.trainer)
            save_fixed_grid(self.run, self.trainer, self.fixed, 0)

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if step % self.every == 0 or step == self.total:
            save_fixed_grid(self.run, self.trainer, self.fixed, step)
            save_chapter_strip(self.run, self.trainer, step)


# ---------------------------------------------------------------------------- figures
def save_untrained_sample(run, trainer: AdversarialTrainer) -> None:
    """The chapter shows one sample of the untrained generator from N(0, 1) noise: pure noise."""
    from genlab import plotting

    inputs = trainer.latent(1, np.random.default_rng(trainer.config.seed + 3), normal=True)
    plotting.grid(trainer.generate(inputs, trainer.generator), run.figures / "untrained.png", columns=1, cell=3.0,
                  title="untrained generator")


def save_fixed_grid(run, trainer: AdversarialTrainer, fixed, step: int) -> None:
    from genlab import plotting

    inputs, columns = fixed
    folder = run.figures / "samples"
    folder.mkdir(exist_ok=True)
    plotting.save_png(plotting.grid_array(trainer.generate(inputs), columns), folder / f"step-{step:06d}.png", scale=2)


def save_chapter_strip(run, trainer: AdversarialTrainer, step: int) -> None:
    """The chapter's figure: 5 samples from fresh uniform noise in one row."""
    from genlab import plotting

    inputs = trainer.latent(5, np.random.default_rng(trainer.config.seed * 100003 + step))
    folder = run.figures / "strips"
    folder.mkdir(exist_ok=True)
    plotting.grid(trainer.generate(inputs), folder / f"step-{step:06d}.png", columns=5, cell=2.0, title=f"step {step}")


def final_figures(run, trainer: AdversarialTrainer) -> None:
    from PIL import Image

    from genlab import plotting

    frames = [np.asarray(Image.open(path)) for path in sorted((run.figures / "samples").glob("step-*.png"))]
    if frames:
        plotting.gif(frames, run.figures / "progress.gif", scale=1)
    history = run.read_history()
    has_accuracy = bool(history) and "d_acc_fake" in history[0]
    plotting.curves(history, [("d_loss", "D loss"), ("g_loss", "G loss")], run.figures / "losses.png", x_key="step",
                    title=f"{run.family_name} losses" + (" (dashed: D accuracy)" if has_accuracy else ""),
                    secondary=[("d_acc_real", "D acc on real"), ("d_acc_fake", "D acc on fake")] if has_accuracy else ())
    for key, label, file_name, title in trainer.extra_curves:
        if history and key in history[0]:
            plotting.curves(history, [(key, label)], run.figures / file_name, x_key="step", title=title, ylabel="estimate")


# ---------------------------------------------------------------------------- using a trained generator
def is_conditional(generator) -> bool:
    return len(generator.inputs) > 1


def num_classes_of(generator) -> int:
    import keras

    return next(layer.input_dim for layer in generator.layers if isinstance(layer, keras.layers.Embedding))


def generator_inputs(generator, z: np.ndarray, labels: np.ndarray | None = None):
    """z alone, or [z, labels] for a conditional generator (classes in turn unless given)."""
    if not is_conditional(generator):
        return z
    labels = np.arange(len(z)) % num_classes_of(generator) if labels is None else np.asarray(labels)
    return [z, labels.astype("int32").reshape(-1, 1)]


def generate(run, config, count: int, *, seed: int, label: int | None = None) -> np.ndarray:
    """New images: z ~ U[-1, 1] through the saved generator; a conditional one draws the classes
    in turn (balanced), or only `label`."""
    generator = run.load_model("generator.keras")
    labels = None
    if label is not None:
        if not is_conditional(generator):
            raise GenlabError(f"{run.path} is a {run.family_name} run, which is not conditional; a class needs a cgan run")
        classes = num_classes_of(generator)
        if not 0 <= label < classes:
            raise GenlabError(f"class {label} is out of range; this model knows classes 0..{classes - 1}")
        labels = np.full(count, label)
    z = np.random.default_rng(seed).uniform(-1, 1, (count, config.latent_dim)).astype("float32")
    return np.asarray(generator.predict(generator_inputs(generator, z, labels), batch_size=500, verbose=0), dtype=np.float32)


def latent_space(run, config):
    """The generator's latent space: z ~ U[-1, 1]^latent_dim (a conditional one takes a class too)."""
    from genlab.latent import LatentSpace

    generator = run.load_model("generator.keras")
    classes = num_classes_of(generator) if is_conditional(generator) else 0

    def decode(points, labels=None):
        points = np.asarray(points, dtype="float32")
        if classes and labels is None:
            raise GenlabError("this generator is conditional: give one class label per point")
        return np.asarray(generator.predict(generator_inputs(generator, points, labels if classes else None),
                                            batch_size=500, verbose=0), dtype=np.float32)

    def draw(seed: int, count: int):
        return np.random.default_rng(seed).uniform(-1, 1, (count, config.latent_dim)).astype("float32")

    size = config.latent_dim
    return LatentSpace(family=run.family_name, size=size, distribution="uniform(-1, 1)", decode=decode, draw=draw,
                       low=np.full(size, -1.0, np.float32), high=np.full(size, 1.0, np.float32), num_classes=classes,
                       bounded=True)


def interpolate(run, config, *, steps: int, seed: int, **_):
    """Four rows of images along straight lines between random latent points (a conditional
    generator keeps one class per row: 0, 1, 2, 3)."""
    from genlab.families import ImageGrid
    from genlab.latent import latent_paths

    generator = run.load_model("generator.keras")
    rows = 4
    ends = np.random.default_rng(seed).uniform(-1, 1, (rows, 2, config.latent_dim))
    z = latent_paths(ends[:, 0], ends[:, 1], steps)                                # (rows * steps, dim)
    inputs = generator_inputs(generator, z, np.repeat(np.arange(rows), steps))
    images = np.asarray(generator.predict(inputs, verbose=0), dtype=np.float32)
    return ImageGrid(images, columns=steps, title="latent interpolation (each row: z_a → z_b)")


def export(run, config):
    """The generator for `genlab export`: z ~ U[-1, 1] (and a class label for a conditional one) -> images."""
    from genlab import exporting as _export

    generator = run.load_model("generator.keras")
    inputs = [_export.latent_input("z", config.latent_dim, "uniform",
                                   f"numpy.random.default_rng(seed).uniform(-1, 1, (n, {config.latent_dim})).astype('float32')",
                                   low=-1.0, high=1.0)]
    if is_conditional(generator):
        inputs.append(_export.label_input(num_classes_of(generator)))
    return _export.image_model(generator, inputs), {"role": "generator", "inputs": inputs}


def score(run, config, images, *, seed: int):
    """The discriminator's out-of-distribution score (genlab ood): -D(x), higher for images the
    discriminator finds less real. A conditional discriminator scores each image under the class
    it finds most real. Images: uint8 N x H x W x C."""
    from genlab.contract import Score
    from genlab.data import to_float

    path = run.path / "discriminator.keras"
    if not path.is_file():
        raise GenlabError(f"{run.path} has no discriminator.keras (a pretrained copy ships only its generator); "
                          f"score images with a run trained here (genlab train {run.family_name})")
    discriminator = run.load_model("discriminator.keras")
    pixels = to_float(np.asarray(images))                                          # (N, H, W, C) in [0, 1]
    if len(discriminator.inputs) == 1:
        outputs = discriminator.predict(pixels, batch_size=500, verbose=0).reshape(len(pixels), -1)[:, 0]
    else:
        classes = num_classes_of(discriminator)
        outputs = np.max([discriminator.predict([pixels, np.full((len(pixels), 1), label, "int32")], batch_size=500,
                                                verbose=0).reshape(len(pixels), -1)[:, 0]
                          for label in range(classes)], axis=0)
    return Score(values=-np.asarray(outputs, dtype=np.float64), name="-D(x), the discriminator's (critic's) output")
