"""The training core of the adversarial families (gan, cgan, wgan-gp): one loop for all.

A family supplies a trainer class (networks and its one step, see `AdversarialTrainer`); this
module owns everything around the step: the in-memory data order, checkpoints that make a
resume exact, the divergence guard and its rollback, the progress grids and the loss figures.

    for step in 1..steps:
        metrics = trainer.step(*trainer.batch(images, labels, order.next_indices()))
        divergence guard -> stop, or roll back to the last checkpoint with half the learning rate
        history row every log_every, fixed-noise grid + 1x5 strip every sample_every,
        checkpoint every checkpoint_every (and at the end)

With steps_per_execution = k > 1, up to k consecutive steps run in one compiled call
(`trainer.steps`, a loop inside the graph), never across a step where something above happens;
the updates are the same, step for step.

A step keeps all its state in Keras variables (networks, optimizers, the noise SeedGenerator,
the EMA generator) and reads randomness only from `trainer.seed_generator`, so it can run
stateless over `trainer.state_variables()` (what the JAX backend needs); the backend-specific
parts (gradients, compilation) are in genlab.backend.
"""
from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from genlab import interrupts
from genlab.errors import ConfigError, DivergenceError, GenlabError, RunError

log = logging.getLogger("genlab.train")

MAX_ROLLBACKS = 3
WEIGHT_LIMIT = 1e4   # any |weight| above this means the networks are exploding


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

    def learning_rates(self) -> tuple[float, float]:
        from genlab.backend import to_numpy

        return tuple(float(to_numpy(optimizer.learning_rate)) for optimizer in (self.d_optimizer, self.g_optimizer))


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


# ---------------------------------------------------------------------------- data order
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


# ---------------------------------------------------------------------------- checkpoints
def save_checkpoint(run, trainer: AdversarialTrainer, step: int, data_order: DataOrder, elapsed: float) -> Path:
    """checkpoints/step-NNNNNN.npz, then checkpoints/latest.json names it: complete or not at all."""
    from genlab import checkpoints

    arrays = trainer.state()
    arrays["data/permutation"] = data_order.permutation
    meta = {"step": step, "elapsed_s": elapsed, "data_position": data_order.position,
            "data_epoch": data_order.epoch, "rng_state": data_order.rng.bit_generator.state}
    return checkpoints.write(run, f"step-{step:06d}", arrays, meta)


def load_checkpoint(run, trainer: AdversarialTrainer, data_order: DataOrder) -> dict:
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


def state_digest(trainer: AdversarialTrainer) -> str:
    """SHA-256 over every state array (sorted by name): equal digests, bitwise equal states."""
    import hashlib

    digest = hashlib.sha256()
    for key, value in sorted(trainer.state().items()):
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


# ---------------------------------------------------------------------------- divergence guard
def divergence(values: dict[str, float], trainer: AdversarialTrainer, check_weights: bool) -> str | None:
    """A description of what went wrong at this step, or None if all is well."""
    bad = [f"{key}={value}" for key, value in values.items() if not math.isfinite(value)]
    if bad:
        return "non-finite " + ", ".join(bad)
    if check_weights:
        from genlab.backend import to_numpy

        largest = max(float(np.max(np.abs(to_numpy(variable)))) for model in (trainer.generator, trainer.discriminator)
                      for variable in model.trainable_variables)
        if not math.isfinite(largest) or largest > WEIGHT_LIMIT:
            return f"exploding weights (largest |w| = {largest:.3g})"
    return None


def rollback(run, trainer: AdversarialTrainer, order: DataOrder, problem: str, count: int) -> int:
    """--on-nan=rollback: restore the last checkpoint, halve the learning rates once more per
    rollback, and continue on other noise and another data order.

    The checkpoint restores the optimizers' learning rates too, so the rate is set from the
    restored one times 0.5 ** count (1/2, 1/4, 1/8), not halved from the original each time;
    and since it also restores the noise and data-order states, those move to a stream of their
    own for each rollback, or every retry would replay the first one exactly."""
    from genlab.backend import to_numpy

    meta = load_checkpoint(run, trainer, order)
    restored = [float(to_numpy(optimizer.learning_rate)) for optimizer in (trainer.d_optimizer, trainer.g_optimizer)]
    if not all(math.isfinite(rate) and rate > 0 for rate in restored):
        # Halving cannot make an infinite or NaN rate finite: say so instead of retrying three times.
        raise DivergenceError(f"{problem}; the checkpoint's learning rates {restored} are not positive finite numbers, so a "
                              "rollback cannot help; start again with --set learning_rate=... (e.g. 0.0002)")
    factor = 0.5 ** count
    for optimizer in (trainer.d_optimizer, trainer.g_optimizer):
        optimizer.learning_rate.assign(float(to_numpy(optimizer.learning_rate)) * factor)
    seed = trainer.config.seed
    state = np.asarray(to_numpy(trainer.seed_generator.state))
    trainer.seed_generator.state.assign(np.array([seed, 1000 + count], dtype=state.dtype).reshape(state.shape))
    order.rng = np.random.default_rng([seed, 1000 + count])
    order.permutation, order.position = order.rng.permutation(order.size), 0
    run.truncate_history(lambda row: row["step"] <= meta["step"])
    rate = trainer.learning_rates()[1]
    log.warning(f"{problem}; rolled back to step {meta['step']} with learning rate {rate:.3g} "
                f"(rollback {count}/{MAX_ROLLBACKS})")
    run.update_metrics({"rollbacks": count})
    return meta["step"]


# ---------------------------------------------------------------------------- observers
# (every, callback(step, train_seconds, trainer)): set by `observe`, read by `train`. A benchmark
# (genlab bench quality) watches the ordinary `genlab train` path through it instead of a copy of
# the loop, so what it times is what a user runs.
_OBSERVERS: list[tuple[int, Callable]] = []


@contextlib.contextmanager
def observe(every: int, callback: Callable[[int, float, "AdversarialTrainer"], None]):
    """While inside, every adversarial training calls `callback(step, train_seconds, trainer)`
    after every `every`-th step and after the last one, once that step's results are read back,
    logged, drawn and checkpointed. `train_seconds` is the run's training clock at that point;
    the time spent inside the callback is taken off that clock (history's "seconds",
    train_wall_s), so scoring samples there does not count as training."""
    if every < 1:
        raise ConfigError(f"observe: every must be at least 1, got {every}")
    entry = (every, callback)
    _OBSERVERS.append(entry)
    try:
        yield
    finally:
        _OBSERVERS.remove(entry)


# ---------------------------------------------------------------------------- training loop
def train(trainer_class, config, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    """Train an adversarial family into `run`; returns the metrics for metrics.json."""
    from tqdm import tqdm

    from genlab import backend, data

    dataset = data.load(config.dataset, data_dir)
    images = data.to_float(dataset.x_train)                                      # (N, 28, 28, 1) in [0, 1]
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
        save_untrained_sample(run, trainer)
        save_fixed_grid(run, trainer, fixed_noise, 0)

    window: dict[str, list[float]] = {}
    scalars = backend.ScalarLog(run.logs / "train")
    started = time.perf_counter()
    # In a terminal the bar refreshes twice a second; in logs (CI, pipes) one line every 30 s.
    progress = tqdm(total=config.steps, initial=start_step, desc=run.family_name, unit="step", disable=verbose == 0,
                    dynamic_ncols=True, mininterval=0.5 if sys.stderr.isatty() else 30.0)
    last_good, rollbacks = start_step, 0
    if config.on_nan == "rollback" and not (run.checkpoints / "latest.json").is_file():
        save_checkpoint(run, trainer, start_step, order, elapsed_before)   # something to roll back to
    step = start_step
    housekeeping = 0.0                      # seconds of this invocation spent logging, drawing and checkpointing
    pending: list[tuple[int, int, dict]] = []   # (last step, steps, outputs), not yet read back from the device
    observers = list(_OBSERVERS)
    boundaries = (config.log_every, config.sample_every, config.checkpoint_every, *(every for every, _ in observers))
    per_call = config.steps_per_execution if trainer.steps is not None else 1   # None: torch runs one step per call
    signals = contextlib.ExitStack()
    request = signals.enter_context(interrupts.deferred())   # Ctrl-C / SIGTERM: stop at a step boundary
    try:
        while step < config.steps:
            # Up to per_call steps in one call, ending at the next step where anything happens.
            count = min(per_call, config.steps - step, *(every - step % every for every in boundaries))
            batches = [trainer.batch(images, dataset.y_train, order.next_indices()) for _ in range(count)]
            if count == 1:
                outputs = trainer.step(*batches[0])
            else:
                outputs = trainer.steps(*(np.stack(parts) for parts in zip(*batches)))   # (count, batch, ...) each
            step += count
            pending.append((step, count, outputs))
            if step < config.steps and all(step % every for every in boundaries) and not request.pending:
                continue   # no host sync: the device runs ahead while Python prepares the next batch
            # The chunk's results are read back once; the guard sees every step of it before
            # anything is logged, drawn or checkpointed.
            problem, problem_step = None, step
            for last_step, length, outputs in pending:
                arrays = {key: np.asarray(backend.to_numpy(value), dtype=np.float64).reshape(length)   # detached on torch
                          for key, value in outputs.items()}
                for index in range(length):
                    values = {key: float(array[index]) for key, array in arrays.items()}
                    problem = divergence(values, trainer, check_weights=False)
                    if problem is not None:
                        problem_step = last_step - length + 1 + index
                        break
                    for key, value in values.items():
                        window.setdefault(key, []).append(value)
                if problem is not None:
                    break
            if problem is None:
                problem = divergence({}, trainer, check_weights=step % config.log_every == 0)
            progress.update(sum(length for _, length, _ in pending))
            pending = []
            if problem is not None:
                if config.on_nan != "rollback" or rollbacks >= MAX_ROLLBACKS:
                    kept = (f"the last good checkpoint (step {last_good}) is kept; lower learning_rate and --resume"
                            if (run.checkpoints / "latest.json").is_file() else
                            "no checkpoint had been written yet; start again with a lower learning_rate")
                    raise DivergenceError(f"{run.family_name} diverged at step {problem_step}: {problem}; {kept}, "
                                          "or use --set on_nan=rollback")
                rollbacks += 1
                step = rollback(run, trainer, order, problem, rollbacks)
                progress.n = step
                window = {}
                continue
            kept = time.perf_counter()
            if step % config.log_every == 0 or step == config.steps:
                row = {"step": step, **{key: float(np.mean(vals)) for key, vals in window.items()},
                       "seconds": elapsed_before + time.perf_counter() - started}
                run.log(row)
                scalars.write(step, {key: value for key, value in row.items() if key != "step"})
                # refresh=False: in a log (CI, pipes) the bar's own interval decides when a line is written.
                progress.set_postfix(d=f"{row['d_loss']:.3f}", g=f"{row['g_loss']:.3f}", refresh=False)
                window = {}
            if step % config.sample_every == 0 or step == config.steps:
                save_fixed_grid(run, trainer, fixed_noise, step)
                save_chapter_strip(run, trainer, step)
            if step % config.checkpoint_every == 0 or step == config.steps:
                save_checkpoint(run, trainer, step, order, elapsed_before + time.perf_counter() - started)
                last_good = step
            housekeeping += time.perf_counter() - kept
            for every, callback in observers:
                if step % every == 0 or step == config.steps:
                    paused = time.perf_counter()
                    callback(step, elapsed_before + paused - started, trainer)
                    started += time.perf_counter() - paused   # the observer's time is not training time
            if request.pending:
                # A step boundary: the state and `step` agree, so this checkpoint resumes exactly.
                if last_good != step or not (run.checkpoints / "latest.json").is_file():
                    save_checkpoint(run, trainer, step, order, elapsed_before + time.perf_counter() - started)
                    last_good = step
                request.raise_if_pending()
    except DivergenceError as error:
        run.update_metrics({"status": "failed", "failure": str(error), "last_good_checkpoint": last_good})
        raise
    finally:
        progress.close()
        signals.close()
    train_wall = elapsed_before + time.perf_counter() - started

    if backend.process_count() > 1:
        # Every process holds the same replicated state; the digest lets anyone check that.
        digest = state_digest(trainer)
        log.info(f"process {backend.process_index()} of {backend.process_count()}: final state sha256 {digest}")
    run.save_model(trainer.sampler, "generator.keras")
    run.save_model(trainer.discriminator, "discriminator.keras")
    final_figures(run, trainer)
    history = run.read_history()
    last = history[-1] if history else {}
    metrics = {"dataset": dataset.name, "data_source": dataset.source, "steps": config.steps, "train_wall_s": train_wall,
               **{f"{key}_last": value for key, value in last.items() if key not in ("step", "seconds")}}
    if train_wall > elapsed_before:
        # What the loop's logging, progress grids, chapter strips and checkpoints cost this
        # invocation, as a share of its training time (the rest is the steps and their read-back).
        metrics["housekeeping_s"] = housekeeping
        metrics["housekeeping_share"] = housekeeping / (train_wall - elapsed_before)
    timed = [row for row in history if row["step"] > min(20, config.steps // 2)]
    if len(timed) > 1:
        metrics["seconds_per_step"] = (timed[-1]["seconds"] - timed[0]["seconds"]) / max(timed[-1]["step"] - timed[0]["step"], 1)
    elif step > start_step:
        metrics["seconds_per_step"] = (train_wall - elapsed_before) / (step - start_step)
    # (A resume that had nothing left to do measures no time: the run's earlier figure stays.)
    if backend.process_count() > 1:
        metrics.update({"processes": backend.process_count(), "state_sha256": digest})
    if getattr(config, "devices", 1) > 1:
        metrics["devices"] = config.devices
    flops = trainer.flops_per_step()
    if flops and "seconds_per_step" in metrics:
        metrics["gflops_per_s"] = flops / metrics["seconds_per_step"] / 1e9
    return metrics


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
