"""The replay buffer: where each training step's Langevin chains start.

Short-run Langevin from noise (tens of steps) cannot reach a digit; started from the images
earlier steps left behind, the chains continue where they stopped, so over training each one
runs for thousands of steps in effect (Du & Mordatch 2019). A share of every batch starts from
fresh uniform noise instead, which keeps new modes coming in and the samples varied.

The buffer is a Keras variable (size x H x W x C, float32 in [0, 1]) drawn from and written to
inside the compiled step, so it is part of the trainer's state: checkpoints save it and
--resume restores it exactly.
"""
from __future__ import annotations

import numpy as np


def fresh_count(batch: int, share: float) -> int:
    """How many of a batch's chains start from noise: the share of the batch, rounded, at least
    one when the share is above 0 (a small batch would otherwise never renew the buffer)."""
    if share <= 0:
        return 0
    return min(batch, max(1, int(round(share * batch))))


class ReplayBuffer:
    """`size` images, initially uniform noise (from `seed`). `draw` picks `batch` distinct
    entries at random and replaces the configured share of them by fresh noise; `store` writes
    the chains' ends back to the entries they came from."""

    def __init__(self, size: int, image_shape, fresh_share: float, seed: int):
        import keras

        self.size, self.image_shape, self.fresh_share = int(size), tuple(image_shape), float(fresh_share)
        start = np.random.default_rng([seed, 17]).random((self.size, *self.image_shape), dtype=np.float32)
        self.images = keras.Variable(start, trainable=False, name="replay_buffer")

    def draw(self, batch: int, seed_generator):
        """(indices (batch,) int32, starting images (batch, H, W, C)): the first
        fresh_count(batch, share) rows are uniform noise, the others the entries themselves."""
        import keras
        from keras import ops

        indices = keras.random.shuffle(ops.arange(self.size, dtype="int32"), seed=seed_generator)[:batch]
        starts = ops.take(self.images, indices, axis=0)
        fresh = fresh_count(batch, self.fresh_share)
        if fresh:
            noise = keras.random.uniform((fresh, *self.image_shape), seed=seed_generator)
            starts = ops.concatenate([noise, starts[fresh:]], axis=0)
        return indices, starts

    def store(self, indices, images) -> None:
        from keras import ops

        self.images.assign(ops.scatter_update(self.images, ops.expand_dims(indices, 1), ops.cast(images, "float32")))

    def show(self, count: int) -> np.ndarray:
        """The first `count` entries (float32, for the progress grid)."""
        from genlab.backend import to_numpy

        return np.asarray(to_numpy(self.images)[:count], np.float32)
