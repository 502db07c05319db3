"""What this machine has for genlab: the datasets it found, the backends and devices it would
train on, and the evaluator networks genlab scores samples with."""
from __future__ import annotations

from pathlib import Path

from genlab import backend as _backend
from genlab.checks import count as _count


def datasets(data_dir: str | Path | None = None) -> list[dict]:
    """Every dataset genlab knows, where it was found, its sizes and its checksum status.

    Parameters:
        data_dir: the only folder to look in (default: GENLAB_DATA_DIR, then the caches).

    Returns:
        One dict per dataset: name, where (a path or "not found"), train and test sizes, checksums.

    Example:
        >>> [row["name"] for row in genlab.datasets()]
    """
    from genlab import data

    return data.describe(data_dir)


def load_dataset(name: str | Path, data_dir: str | Path | None = None):
    """A dataset's arrays, for any dataset genlab knows (or an image folder or .npz).

    Parameters:
        name: "mnist", "fashion-mnist", "mnist-5k", ... (genlab.datasets() lists them), an image
            folder or an .npz with x_train/y_train/x_test/y_test.
        data_dir: the only folder to look in (default: GENLAB_DATA_DIR, then the caches).

    Returns:
        A genlab.data.Dataset: x_train, x_test (uint8 N x H x W x C), y_train, y_test (int64),
        class_names, image_shape, source.

    Example:
        >>> mnist = genlab.load_dataset("mnist")
        >>> mnist.x_test.shape
        (10000, 28, 28, 1)
    """
    from genlab import data

    return data.load(str(name), data_dir)


def info(backend: str | None = None) -> dict[str, str]:
    """Versions, the Keras backend and the devices genlab would train on.

    Parameters:
        backend: "tensorflow", "jax", "torch" or "auto" (default: KERAS_BACKEND, else tensorflow).

    Returns:
        name -> value, e.g. {"keras": "3.12.0", "backend": "tensorflow", ...}.

    Example:
        >>> genlab.info()["backend"]
    """
    _backend.configure(backend)   # auto without a family: tensorflow; the listing gives the per-family choices
    return _backend.info()


def evaluators() -> dict[str, dict]:
    """The evaluator networks (FID, precision/recall... are computed in their features): those
    shipped with genlab and those `genlab evaluator train` made for your data.

    Parameters:
        (none)

    Returns:
        dataset name -> its entry: file, SHA-256, test accuracy (yours also: kind, where it is kept).

    Example:
        >>> genlab.evaluators()["mnist"]["test_accuracy"]
    """
    import json

    from genlab import evaluator

    found = dict(evaluator.registry())
    for entry_path in sorted(evaluator.user_folder().glob("*/evaluator.json")):
        try:
            entry = json.loads(entry_path.read_text())
            found[f"{entry['dataset']} (yours)"] = {**entry, "kept in": str(entry_path.parent)}
        except (OSError, ValueError, KeyError, TypeError):
            found[f"{entry_path.parent.name} (damaged)"] = {"kept in": str(entry_path.parent)}
    return found


def train_evaluator(dataset: str = "mnist", epochs: int = 8, data_dir: str | Path | None = None, *, ship: bool = False,
                    image_size: int | None = None, channels: int | None = None) -> dict:
    """Train an evaluator network for a dataset, so that `genlab evaluate` can score samples of it.

    Parameters:
        dataset: a dataset's name, an image folder or an .npz (genlab.load_dataset reads it).
            With classes (sub-folders, labels) the evaluator is a classifier of them; without,
            it learns self-supervised (which way each image was turned).
        epochs: passes over its training set.
        data_dir: where to find it (as for `train`).
        ship: (maintainers) rebuild the evaluator genlab ships for a known dataset, in its assets.
        image_size: resize the images as a run with this image_size does (folders, .npz).
        channels: 1 or 3, convert the images as a run with these channels does.

    Returns:
        The evaluator's entry: file, SHA-256, test accuracy, kind and (yours) where it is kept,
        under the fingerprint of the data.

    Example:
        >>> genlab.train_evaluator("photos/", epochs=8, image_size=32)
    """
    from genlab import evaluator

    _backend.configure(None)
    return evaluator.train(str(dataset), _count(epochs, "epochs"), data_dir, ship=ship, image_size=image_size, channels=channels)
