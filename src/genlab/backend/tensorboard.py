"""TensorBoard: Keras' callback for fit-trained families, `ScalarLog` for custom loops."""
from __future__ import annotations

import importlib.util

from genlab.backend.choice import name


def _tensorboard_available() -> bool:
    # The event files are written by tf.summary whatever the Keras backend (checked on jax):
    # TensorFlow and tensorboard need only be installed. Torch keeps its old behaviour (none).
    return name() in ("tensorflow", "jax") and all(importlib.util.find_spec(package) for package in ("tensorflow", "tensorboard"))


def tensorboard_callbacks(log_dir) -> list:
    """Keras' TensorBoard callback for fit-trained families, where TensorFlow and tensorboard are installed."""
    import keras

    if _tensorboard_available():
        return [keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)]
    return []


class ScalarLog:
    """TensorBoard scalars for custom loops (the adversarial families): a no-op without TensorFlow."""

    def __init__(self, log_dir):
        self.writer = None
        if _tensorboard_available():
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(log_dir))

    def write(self, step: int, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        import tensorflow as tf

        with self.writer.as_default(step=step):
            for key, value in values.items():
                tf.summary.scalar(key, value)
        self.writer.flush()
