"""Console progress: one tqdm bar per program, and a quiet TensorFlow.

Keras' own `verbose=1` draws a new bar for every epoch (and for every `fit` call, which a DAE
with fresh noise makes once per epoch); `EpochBar` is one bar over the whole training instead,
with the last losses as its postfix. `quiet_tensorflow` silences TensorFlow's Python-side
notices (the "triggered tf.function retracing" warnings), which say nothing a student can act on;
it is backend-specific, so it lives in genlab.backend and is re-exported here for its callers.
"""
from __future__ import annotations

import sys

import keras

from genlab.backend import quiet_tensorflow  # noqa: F401  (re-exported: progress.quiet_tensorflow)

# Shown after the bar: the losses worth watching, in this order, under short names.
POSTFIX_KEYS = (("loss", "loss"), ("val_loss", "val"), ("accuracy", "acc"), ("val_accuracy", "val_acc"))


def bar(total: int, description: str, initial: int = 0, unit: str = "epoch"):
    """A tqdm bar that refreshes twice a second in a terminal and every 30 s in a log (CI, pipes)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=description, unit=unit, dynamic_ncols=True,
                mininterval=0.5 if sys.stderr.isatty() else 30.0)


class EpochBar(keras.callbacks.Callback):
    """One bar over all of a program's epochs, across several `fit` calls.

    `total` is the run's configured number of epochs and `initial` the epochs already done (a
    resumed run): Keras' own `params["epochs"]` is only the current `fit` call's end, which for
    one-call-per-epoch training (fresh DAE noise) would be 1, 2, 3...
    """

    def __init__(self, description: str, total: int, initial: int = 0):
        super().__init__()
        self.description, self.total, self.initial = description, total, initial
        self._bar = None

    def on_train_begin(self, logs=None):
        if self._bar is None:
            self._bar = bar(self.total, self.description, self.initial)
        self._in_epoch = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._in_epoch = 0.0

    def on_train_batch_end(self, batch, logs=None):
        # Fractions of an epoch as its calls end: a long epoch (a PixelCNN's is minutes) moves the
        # bar instead of sitting at 0% until it is over.
        steps = int(self.params.get("steps") or 0)
        if steps and self._bar is not None:
            done = round(min((batch + 1) / steps, 1.0), 2)
            self._bar.update(done - self._in_epoch)
            self._bar.n = round(self._bar.n, 2)      # 1.34, not 1.3400000000000003, in the bar
            self._in_epoch = done

    def on_epoch_end(self, epoch, logs=None):
        shown = {short: f"{float(logs[key]):.4g}" for key, short in POSTFIX_KEYS if logs and key in logs}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(1.0 - self._in_epoch)
        self._in_epoch = 0.0
        self._bar.n = round(self._bar.n, 2)   # whole epochs show as whole numbers

    def on_train_end(self, logs=None):
        # Closed when training is over (all epochs, or stopped by the NaN guard), not after each
        # fit call of a one-call-per-epoch loop.
        if self._bar is not None and (self._bar.n >= self.total or self.model.stop_training):
            self._bar.close()
            self._bar = None

