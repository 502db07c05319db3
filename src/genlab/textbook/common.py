"""What the chapter's programs share, kept out of the programs themselves: the data (what
`keras.datasets.mnist.load_data()` returns, read offline from genlab's data folders), figures
saved where the printed programs call `plt.show()`, and an epoch timer for the benchmark."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def load_data(data_dir=None, dataset: str = "mnist"):
    """((x_train, y_train), (x_test, y_test)) as `keras.datasets.mnist.load_data()` gives them:
    uint8 images N x 28 x 28, uint8 labels. The printed programs call that function, which
    downloads MNIST; genlab reads the same arrays from its data folders (GENLAB_DATA_DIR, a
    folder of the four IDX .gz files, the cache), and offline falls back to its embedded
    5000 digits with a warning, so a program runs on a laptop without internet."""
    from genlab import data

    loaded = data.load(dataset, data_dir)

    def squeezed(images: np.ndarray) -> np.ndarray:
        return images[..., 0] if images.shape[-1] == 1 else images

    return ((squeezed(loaded.x_train), loaded.y_train.astype(np.uint8)),
            (squeezed(loaded.x_test), loaded.y_test.astype(np.uint8)))


class Figures:
    """Where a printed program calls `plt.show()`, the figure is saved as FOLDER/NAME.png
    instead (a command has no window to show it in); without a folder it is closed unseen."""

    def __init__(self, folder: str | Path | None):
        self.folder = None if folder is None else Path(folder)
        self.written: list[Path] = []

    @property
    def on(self) -> bool:
        return self.folder is not None

    def show(self, name: str) -> Path | None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = None
        if self.folder is not None:
            from genlab import io, outputs

            path = self.folder / f"{name}.png"
            with io.atomic_path(path) as temporary:
                plt.savefig(temporary, format="png", metadata=outputs.png_metadata())
            self.written.append(path)
        plt.close("all")
        return path


def epoch_timer():
    """A Keras callback that keeps each epoch's wall-clock seconds (`.times`)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.started)

    return EpochTimer()


def seconds_per_epoch(times: list[float]) -> float:
    """The median epoch, the first (tracing) left out when there are more."""
    return float(np.median(times[1:] if len(times) > 1 else times))


def psnr_db(mse: float) -> float:
    return float(10.0 * np.log10(1.0 / mse)) if mse > 0 else float("inf")
