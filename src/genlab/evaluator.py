"""The fixed evaluator network: a small CNN per dataset whose penultimate layer embeds images
for FID, KID and precision/recall, and whose softmax gives the classifier score and class coverage.

Inception-based FID means little on 28x28 digits and needs weights we cannot fetch; the FID
authors recommend a domain classifier for MNIST. genlab ships one per dataset in
`genlab/assets/evaluator-<dataset>.keras`, identified by name and SHA-256 in
`assets/evaluators.json`. Loading checks the hash: a changed file is refused, never retrained
silently. `genlab evaluator train --dataset NAME --ship` rebuilds a shipped one (and prints its
new hash).

Any other dataset (an image folder, an .npz, a dataset without a shipped evaluator) gets its own
with `genlab evaluator train --dataset NAME|FOLDER|FILE.npz`: a classifier of its classes where it
has two or more, else the same network trained self-supervised to tell which way each image was
rotated (Gidaris et al., 2018), whose features know the data's shapes without any label. It is
kept in genlab's cache under the data's fingerprint (the SHA-256 of its arrays) with the file's
own SHA-256, and `genlab evaluate` finds it there for that data from then on.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError

log = logging.getLogger("genlab")

ASSETS = Path(__file__).resolve().parent / "assets"
REGISTRY = ASSETS / "evaluators.json"
FEATURE_LAYER = "features"
# Datasets drawn from another one share its evaluator (mnist-5k is 5000 real MNIST digits).
ALIASES = {"mnist-5k": "mnist"}


def build(image_shape=(28, 28, 1), num_classes: int = 10, feature_units: int = 128):
    """~110k parameters (about 450 KB), ~15 MFLOP per image: three conv blocks, global average
    pooling, a 128-unit feature layer. (Two convs per block cost 4x the FLOPs: 100 s per epoch
    on 2 cores, measured, for little accuracy.)"""
    import keras
    from keras import layers

    images = keras.Input(shape=image_shape, name="images")                           # (batch, 28, 28, 1)
    x = images
    for filters in (32, 64, 128):                                                    # 28 -> 14 -> 7 -> 3
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D()(x)
    x = layers.GlobalAveragePooling2D()(x)                                           # (batch, 128)
    x = layers.Dropout(0.3)(x)
    features = layers.Dense(feature_units, activation="relu", name=FEATURE_LAYER)(x)  # the embedding
    x = layers.Dropout(0.3)(features)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name="evaluator")


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def registry() -> dict:
    if not REGISTRY.is_file():
        return {}
    return json.loads(REGISTRY.read_text())


@dataclass
class Evaluator:
    name: str
    sha256: str
    model: object          # images -> logits
    embedder: object       # images -> (features, logits)
    test_accuracy: float | None
    source: str = "shipped with genlab"     # or where the user's evaluator for this data is kept

    def embed(self, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """float images N x H x W x C in [0, 1] -> (features N x 128, class probabilities N x K)."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 3:
            images = images[..., None]
        expected = tuple(self.model.input_shape[1:])
        if images.shape[1:] != expected:
            raise GenlabError(f"the {self.name} evaluator takes images of shape {expected}, got {images.shape[1:]}; resize the samples")
        features, logits = [], []
        for start in range(0, len(images), batch_size):
            from keras import ops

            batch_features, batch_logits = self.embedder(images[start:start + batch_size], training=False)
            features.append(ops.convert_to_numpy(batch_features))   # detaches torch tensors too
            logits.append(ops.convert_to_numpy(batch_logits))
        logits = np.concatenate(logits).astype(np.float64)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        return np.concatenate(features).astype(np.float64), probabilities / probabilities.sum(axis=1, keepdims=True)


_CACHE: dict[str, Evaluator] = {}


def load(dataset, data_dir=None) -> Evaluator:
    """The evaluator for a dataset (a name, or a loaded genlab.data.Dataset): the shipped one,
    else the one `genlab evaluator train` made for exactly this data; SHA-256 checked."""
    name = ALIASES.get(dataset, dataset) if isinstance(dataset, str) else ALIASES.get(dataset.name, dataset.name)
    if name in registry():
        shipped = _shipped(name)
        if isinstance(dataset, str) or tuple(shipped.model.input_shape[1:]) == tuple(dataset.image_shape):
            return shipped
        # The dataset at another size or in other channels (image_size, image_channels) is other
        # data: the shipped network cannot take it, an evaluator trained for it can.
    if isinstance(dataset, str):
        from genlab import data

        dataset = data.load(dataset, data_dir)
    return _users(dataset)


def _users(dataset) -> Evaluator:
    """The evaluator genlab trained for this data (found by fingerprint), or a one-line error naming the command."""
    key = fingerprint(dataset)
    if key in _CACHE:
        return _CACHE[key]
    folder = user_folder() / key[:16]
    entry_path = folder / "evaluator.json"
    if not entry_path.is_file():
        shipped = ", ".join(registry()) or "none"
        raise GenlabError(f"no evaluator for {dataset.name} (shipped: {shipped}); train one for this data with "
                          f"genlab evaluator train --dataset {dataset.name}")
    try:
        entry = json.loads(entry_path.read_text())
        path, expected = folder / entry["file"], entry["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        raise GenlabError(f"{entry_path} is damaged; train the evaluator again (genlab evaluator train --dataset {dataset.name})") from None
    evaluator = _checked_load(key, dataset.name, path, expected, entry.get("test_accuracy"), source=str(folder),
                              fix=f"train it again (genlab evaluator train --dataset {dataset.name})")
    log.warning(f"scoring with the evaluator genlab trained for {dataset.name} ({entry.get('kind', 'classifier')}, "
                f"SHA-256 {evaluator.sha256[:12]}…, kept in {folder})")
    return evaluator


def _shipped(dataset: str) -> Evaluator:
    """The shipped evaluator for `dataset`, after checking its SHA-256."""
    if dataset in _CACHE:
        return _CACHE[dataset]
    entry = registry()[dataset]
    return _checked_load(dataset, dataset, ASSETS / entry["file"], entry["sha256"], entry.get("test_accuracy"),
                         source="shipped with genlab", fix="reinstall genlab")


def _checked_load(key: str, name: str, path: Path, expected: str, accuracy, *, source: str, fix: str) -> Evaluator:
    import keras

    from genlab.models import load_model

    if not path.is_file():
        raise GenlabError(f"evaluator file {path} is missing; {fix}")
    digest = sha256(path)
    if digest != expected:
        raise GenlabError(f"evaluator {path.name} has SHA-256 {digest[:12]}…, expected {expected[:12]}…; "
                          f"it was changed, so its numbers would not be comparable: {fix}")
    model = load_model(path)
    embedder = keras.Model(model.input, [model.get_layer(FEATURE_LAYER).output, model.output])
    evaluator = Evaluator(name, digest, model, embedder, accuracy, source)
    _CACHE[key] = evaluator
    return evaluator


def fingerprint(dataset) -> str:
    """The SHA-256 of a dataset's arrays (images and labels of both splits, with their shapes):
    the key its evaluator is kept under, so the same data finds it wherever it was loaded from."""
    digest = hashlib.sha256()
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def user_folder() -> Path:
    """Where the evaluators genlab trains for users' data are kept: genlab's cache, evaluators/."""
    from genlab.data import cache_root

    return cache_root() / "evaluators"


def rotated(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The self-supervised task of a dataset without classes: each image turned by 0, 90, 180
    and 270 degrees (0 and 180 only where it is not square), labelled by the turn.
    float N x H x W x C -> (4N or 2N images, int64 turn labels)."""
    turns = (0, 1, 2, 3) if images.shape[1] == images.shape[2] else (0, 2)
    turned = np.concatenate([np.rot90(images, turn, axes=(1, 2)) for turn in turns])
    return np.ascontiguousarray(turned), np.repeat(np.arange(len(turns), dtype=np.int64), len(images))


def train(dataset_name: str, epochs: int = 8, data_dir=None, seed: int = 0, verbose: int = 2, *, ship: bool = False,
          image_size: int | None = None, channels: int | None = None) -> dict:
    """Train an evaluator for a dataset (a name, folder or .npz, resized with image_size and
    channels as a run would) and keep it: in the user's cache under the data's fingerprint, or,
    with `ship` (maintainers), as the shipped evaluator of a known dataset. Returns its entry."""
    import keras

    from genlab import data, io
    from genlab.backend import seed_everything

    seed_everything(seed)
    dataset = data.load(dataset_name, data_dir, download=not ship, image_size=image_size, channels=channels)
    if ship and dataset.name != dataset_name:
        raise GenlabError(f"--ship rebuilds the evaluator genlab ships for a dataset it knows by name, not {dataset_name}; "
                          "leave --ship out to keep an evaluator for your data")
    shipped = ALIASES.get(dataset.name, dataset.name)
    if not ship and shipped in registry():
        raise GenlabError(f"{dataset.name} has the evaluator shipped with genlab (SHA-256 {registry()[shipped]['sha256'][:12]}…), "
                          "which keeps its FIDs comparable with genlab's tables; genlab evaluate uses it "
                          "(--ship rebuilds the shipped file, for maintainers)")
    x_train, x_test = data.to_float(dataset.x_train), data.to_float(dataset.x_test)
    classified = dataset.num_classes >= 2 and len(np.unique(dataset.y_train)) >= 2
    if classified:
        y_test, classes = dataset.y_test, dataset.num_classes
    else:
        x_test, y_test = rotated(x_test)
        classes = int(y_test.max()) + 1
    model = build(dataset.image_shape, classes)
    batches = max(1, epochs * ((len(x_train) * (1 if classified else classes)) // 128))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=batches)),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    # Light augmentation (random shifts of up to 2 pixels, new each epoch) makes the features
    # less brittle to small misalignments of generated images.
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        shifted = random_shift(x_train, 2, rng)
        inputs, labels = (shifted, dataset.y_train) if classified else rotated(shifted)
        model.fit(inputs, labels, batch_size=128, initial_epoch=epoch, epochs=epoch + 1, shuffle=True, verbose=verbose)
    settle_batch_norm(model, x_train if classified else rotated(x_train[:512])[0])
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    entry = {"test_accuracy": round(float(accuracy), 4), "epochs": epochs, "feature_layer": FEATURE_LAYER, "feature_dim": 128,
             "kind": "classifier" if classified else "self-supervised (which of 4 rotations)"}
    if ship:
        file_name = f"evaluator-{dataset.name}.keras"
        save_weights_only_model(model, ASSETS / file_name)
        entry = {"file": file_name, "sha256": sha256(ASSETS / file_name), **entry}
        entries = registry()
        entries[dataset.name] = entry
        io.write_json(REGISTRY, entries)
        _CACHE.pop(dataset.name, None)
        return entry
    key = fingerprint(dataset)
    folder = user_folder() / key[:16]
    folder.mkdir(parents=True, exist_ok=True)
    save_weights_only_model(model, folder / "evaluator.keras")
    entry = {"dataset": dataset.name, "source": dataset.source, "fingerprint": key, "file": "evaluator.keras",
             "sha256": sha256(folder / "evaluator.keras"), "image_shape": list(dataset.image_shape), **entry}
    io.write_json(folder / "evaluator.json", entry)    # written last: a half-made evaluator is never found
    _CACHE.pop(key, None)
    return {**entry, "kept in": str(folder)}


def settle_batch_norm(model, images: np.ndarray, count: int = 2048) -> None:
    """Set every BatchNormalization's moving mean and variance to the statistics of (up to
    `count` of) the training images, in one pass. Their running averages (momentum 0.99) need
    hundreds of steps to forget their start, more than a small dataset's training takes, and
    at inference the evaluator would normalise with them."""
    import keras

    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0                       # the moving statistics become this batch's
    model(images[:count], training=True)           # dropout only follows the last norm: no effect on them
    for layer, momentum in zip(norms, momenta):
        layer.momentum = momentum


def save_weights_only_model(model, path: Path) -> None:
    """Save an uncompiled copy: no optimizer state (a third of the size), same architecture and weights."""
    from genlab import io

    bare = build(tuple(model.input_shape[1:]), int(model.output_shape[-1]))
    bare.set_weights(model.get_weights())
    with io.atomic_path(path) as tmp:
        bare.save(tmp)


def random_shift(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Shift each image by a random (dy, dx) in [-max_shift, max_shift], filling with 0."""
    count, height, width = images.shape[:3]
    padded = np.pad(images, ((0, 0), (max_shift, max_shift), (max_shift, max_shift), (0, 0)))
    shifts = rng.integers(0, 2 * max_shift + 1, size=(count, 2))
    out = np.empty_like(images)
    for dy in range(2 * max_shift + 1):
        for dx in range(2 * max_shift + 1):
            chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[chosen] = padded[chosen, dy:dy + height, dx:dx + width]
    return out
