"""Training the diffusion U-Net with `model.fit`: the trainer model, the averaged copy that samples,
and the callback that draws the fixed-noise grids and keeps the time budget (its loss curve,
`step_log`, is an observer fit tells: genlab.engine).

Training is `model.fit` on `DiffusionTrainer`, a small `keras.Model` whose `call` noises the batch
and whose `compute_loss` is the noise MSE, both in `keras.ops`: Keras computes the gradients on
every backend, so no backend code lives here (genlab.training adds epoch checkpoints, resume and
the NaN guard). `config` is a DiffusionConfig (genlab.families.diffusion).

This module imports Keras when it is imported (its classes subclass Keras'): import it only once
the backend is chosen, as train() does, inside a function.
"""
from __future__ import annotations

import math
import time

import keras
import numpy as np
from keras import ops

from genlab.backend import sync_fit_state, to_numpy
from genlab.diffusion.figures import fixed_grid_inputs, save_fixed_grid
from genlab.diffusion.schedule import noised, time_features
from genlab.diffusion.steplog import StepLog
from genlab.diffusion.unet import build_network


class DiffusionTrainer(keras.Model):
    """Wraps the U-Net for `fit`: call() noises the batch, compute_loss() is the noise MSE.

    Everything is keras.ops and keras.random (with a checkpointed SeedGenerator), so Keras'
    own train step computes the gradients on every backend."""

    def __init__(self, network, alpha_bar, config, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.network = network
        self.alpha_bar = np.asarray(alpha_bar, dtype="float32")
        self.diffusion = config
        self.num_classes = num_classes
        self.seed_generator = keras.random.SeedGenerator(config.seed)

    def call(self, inputs, training=False):
        images, labels = inputs["images"], inputs["labels"]                          # (batch, 28, 28, 1), (batch, 1)
        batch = ops.shape(images)[0]
        x0 = images * 2.0 - 1.0                                                      # the data in [-1, 1]
        # The draws come in this order, from the one checkpointed generator: t, the noise, then (conditional) the
        # label dropout. Reordering them would change every update after the first.
        t = keras.random.randint((batch,), 1, self.diffusion.timesteps + 1, seed=self.seed_generator)
        noise = keras.random.normal(ops.shape(x0), seed=self.seed_generator)
        network_inputs = [noised(x0, t, noise, self.alpha_bar), time_features(t, self.diffusion.time_dim)]
        if self.diffusion.conditional:
            labels = ops.cast(labels, "int32")
            if training and self.diffusion.label_dropout > 0:
                dropped = keras.random.uniform(ops.shape(labels), seed=self.seed_generator) < self.diffusion.label_dropout
                labels = ops.where(dropped, ops.full_like(labels, self.num_classes), labels)
            network_inputs.append(labels)
        return self.network(network_inputs, training=training), noise

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        predicted, noise = y_pred
        return ops.mean(ops.square(ops.cast(predicted, "float32") - noise))


def ema_network(trainer, config, image_shape, num_classes: int, copy=None):
    """A copy of the U-Net holding the optimizer's moving averages (or the weights when ema = 0);
    `copy`, when given, is such a network to refresh (building one takes a second).

    Keras keeps the averages in the optimizer (`use_ema`), one per trainable variable in the order
    of trainer.trainable_variables (the U-Net's; it has no non-trainable weights: no BatchNorm)."""
    copy = copy if copy is not None else build_network(config, image_shape, num_classes)
    averages = getattr(trainer.optimizer, "_model_variables_moving_average", None) if config.ema > 0 else None
    sources = averages if averages else trainer.network.trainable_variables
    for target, source in zip(copy.trainable_variables, sources):
        # A copy, not the same buffer: jax's training step donates (frees) the arrays it is given.
        target.assign(ops.copy(source))
    return copy


class TrainingProgress(keras.callbacks.Callback):
    """Fit callback: the fixed-noise grids, the time budget; `step_log` (RUN/steps.csv, the per-step
    loss log) is the observer to give fit with it (training.fit's `observers`).

    run, config, trainer: the run folder, its DiffusionConfig and the DiffusionTrainer being fitted;
    image_shape and num_classes: the dataset's; elapsed_before: seconds trained before a resume
    (the time budget counts them)."""

    def __init__(self, run, config, trainer, image_shape, num_classes: int, elapsed_before: float):
        super().__init__()
        self.run = run
        self.config = config
        self.trainer = trainer
        self.image_shape = image_shape
        self.num_classes = num_classes
        self.elapsed_before = elapsed_before
        self.step_log = StepLog(run, config.log_every)
        self.fixed = fixed_grid_inputs(config, image_shape, num_classes)
        self.stopped_by_budget = False

    def _step(self) -> int:
        # Read only between epochs: on jax, fit holds the variables in its own state while an
        # epoch runs (the model's are emptied), so within one the step is counted here.
        return int(to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.step = self._step()
        if self.step == 0:
            self.grid()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_start = self._step()

    def on_train_batch_end(self, batch, logs=None):
        config = self.config
        self.step = self.epoch_start + batch + 1      # `batch`: the last batch of this call (steps_per_execution)
        if self.step % config.sample_every == 0:
            self.grid()
        if config.time_budget_s and self.elapsed_before + time.perf_counter() - self.started >= config.time_budget_s:
            self.stopped_by_budget = True
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        # A last grid where training stopped (not after a NaN: the genlab NaN guard then ends the run).
        if self.step % self.config.sample_every and math.isfinite(float((logs or {}).get("loss", 0.0))):
            self.grid()

    def grid(self):
        sync_fit_state(self.model)
        self.sampler = ema_network(self.trainer, self.config, self.image_shape, self.num_classes, getattr(self, "sampler", None))
        save_fixed_grid(self.run, self.config, self.sampler, self.fixed, self.step)
