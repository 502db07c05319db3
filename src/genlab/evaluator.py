"""The fixed evaluator network: a small CNN per dataset whose penultimate layer embeds images
for FID, KID and precision/recall, and whose softmax gives the classifier score and class coverage.

Inception-based FID means little on 28x28 digits and needs weights we cannot fetch; the FID
authors recommend a domain classifier for MNIST. genlab ships one per dataset in
`genlab/assets/evaluator-<dataset>.keras`, identified by name and SHA-256 in
`assets/evaluators.json`. Loading checks the hash: a changed file is refused, never retrained
silently. `genlab evaluator train --dataset NAME` rebuilds one (and prints its new hash).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError

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


def load(dataset: str) -> Evaluator:
    """The shipped evaluator for `dataset`, after checking its SHA-256."""
    dataset = ALIASES.get(dataset, dataset)
    if dataset in _CACHE:
        return _CACHE[dataset]
    import keras

    from genlab.models import load_model

    entry = registry().get(dataset)
    if entry is None:
        known = ", ".join(registry()) or "none"
        raise GenlabError(f"no shipped evaluator for dataset '{dataset}' (shipped: {known}); evaluate against mnist or fashion-mnist")
    path = ASSETS / entry["file"]
    if not path.is_file():
        raise GenlabError(f"evaluator file {path} is missing; reinstall genlab")
    digest = sha256(path)
    if digest != entry["sha256"]:
        raise GenlabError(f"evaluator {path.name} has SHA-256 {digest[:12]}…, expected {entry['sha256'][:12]}…; "
                          "it was changed, so its numbers would not be comparable: reinstall genlab")
    model = load_model(path)
    embedder = keras.Model(model.input, [model.get_layer(FEATURE_LAYER).output, model.output])
    evaluator = Evaluator(dataset, digest, model, embedder, entry.get("test_accuracy"))
    _CACHE[dataset] = evaluator
    return evaluator


def train(dataset_name: str, epochs: int = 8, data_dir=None, seed: int = 0, verbose: int = 2) -> dict:
    """Train and write the shipped evaluator for `dataset_name`; returns its registry entry."""
    import keras

    from genlab import data, io
    from genlab.backend import seed_everything

    seed_everything(seed)
    dataset = data.load(dataset_name, data_dir, download=False)
    x_train, x_test = data.to_float(dataset.x_train), data.to_float(dataset.x_test)
    model = build(dataset.image_shape, dataset.num_classes)
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * (len(x_train) // 128))
    model.compile(optimizer=keras.optimizers.Adam(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    # Light augmentation (random shifts of up to 2 pixels, new each epoch) makes the features
    # less brittle to small misalignments of generated digits.
    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        model.fit(random_shift(x_train, 2, rng), dataset.y_train, batch_size=128, initial_epoch=epoch,
                  epochs=epoch + 1, shuffle=True, verbose=verbose)
    _, accuracy = model.evaluate(x_test, dataset.y_test, batch_size=1000, verbose=0)
    file_name = f"evaluator-{dataset.name}.keras"
    save_weights_only_model(model, ASSETS / file_name)
    entry = {"file": file_name, "sha256": sha256(ASSETS / file_name), "test_accuracy": round(float(accuracy), 4),
             "epochs": epochs, "feature_layer": FEATURE_LAYER, "feature_dim": 128}
    entries = registry()
    entries[dataset.name] = entry
    io.write_json(REGISTRY, entries)
    _CACHE.pop(dataset.name, None)
    return entry


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
