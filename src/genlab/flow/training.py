"""How the flow trains: Adam on the negative log-likelihood in bits/dim, with the learning rate
warmed up linearly over the first steps and the gradient clipped by its global norm, the two
guards against the early NaN losses flows are known for (the first updates of a freshly
initialized flow can be huge). The NaN guard itself is genlab.training's (fit stops at the first
non-finite loss with a one-line DivergenceError and no checkpoint of the bad weights)."""
from __future__ import annotations

import keras
from keras import ops


class WarmUp(keras.optimizers.schedules.LearningRateSchedule):
    """learning_rate * min(1, (step + 1) / warmup_steps): linear from almost 0, then constant
    (Glow's schedule; no decay, so a run cut by its time budget or lengthened by --resume keeps
    the rate it was trained with)."""

    def __init__(self, learning_rate: float, warmup_steps: int):
        self.learning_rate, self.warmup_steps = float(learning_rate), int(warmup_steps)

    def __call__(self, step):
        progress = (ops.cast(step, "float32") + 1.0) / float(max(1, self.warmup_steps))
        return self.learning_rate * ops.minimum(1.0, progress)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def mean_bits(targets, bits_per_dim):
    """The loss: the trainer's output is already each image's bits/dim (the targets are unused
    zeros), so the loss is its batch mean."""
    return bits_per_dim


def compile_trainer(trainer, *, learning_rate: float, warmup_steps: int, clip_norm: float, steps_per_execution: int) -> None:
    from genlab import backend

    optimizer = keras.optimizers.Adam(WarmUp(learning_rate, warmup_steps), global_clipnorm=clip_norm or None)
    trainer.compile(optimizer=optimizer, loss=mean_bits, steps_per_execution=backend.steps_per_execution(steps_per_execution))
