"""Program 1: the MNIST classifier written with the Keras functional API.

chapter preset: Input(784) -> Dense(64, relu) -> Dense(64, relu) -> Dense(10) logits,
RMSprop, sparse categorical cross-entropy from logits, batch 64, 2 epochs, validation split 0.2.
`architecture = "cnn"` is a stronger small convnet (genlab's default).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genlab.config import describe, image_channels_field, image_size_field
from genlab.errors import ConfigError
from genlab.contract import Family, Metric

ARCHITECTURES = ("dense", "cnn")
OPTIMIZERS = ("rmsprop", "adam", "sgd")


@dataclass
class ClassifierConfig:
    """genlab's default classifier (a small CNN); the `chapter` preset is the textbook's 784-64-64-10."""
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    architecture: str = describe("cnn", "dense (the chapter's 784-64-64-10) or cnn")
    hidden_units: tuple[int, ...] = describe((64, 64), "dense only: units of each hidden layer")
    epochs: int = describe(3, "passes over the training set")
    batch_size: int = describe(128, "images per update")
    optimizer: str = describe("adam", "rmsprop (the chapter), adam or sgd")
    learning_rate: float | None = describe(None, "None: the optimizer's Keras default")
    validation_split: float = describe(0.1, "share of the training set held out for validation curves")
    seed: int = describe(0, "random seed (weights, shuffling)")

    def validate(self):
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture '{self.architecture}' is unknown; choose one of {', '.join(ARCHITECTURES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"optimizer '{self.optimizer}' is unknown; choose one of {', '.join(OPTIMIZERS)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ConfigError("epochs and batch_size must be at least 1")
        if not 0.0 <= self.validation_split < 1.0:
            raise ConfigError("validation_split must be in [0, 1)")
        if any(units < 1 for units in self.hidden_units):   # a Dense layer of 0 units is a Keras traceback mid-run
            raise ConfigError(f"hidden_units must all be at least 1, got {self.hidden_units}; e.g. hidden_units=64,64")


PRESETS = {
    "chapter": dict(architecture="dense", hidden_units=(64, 64), epochs=2, batch_size=64,
                    optimizer="rmsprop", learning_rate=None, validation_split=0.2),
    "default": {},
}


def build_dense(input_size: int, num_classes: int, hidden_units=(64, 64)):
    """The chapter's network: each layer called on the previous layer's output (functional API)."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(input_size,), name="pixels")          # (batch, 784)
    x = inputs
    for index, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"hidden_{index}")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)            # (batch, 10), no softmax
    return keras.Model(inputs, outputs, name="dense_classifier")


def build_cnn(image_shape, num_classes: int, feature_units: int = 128):
    """A small convnet; its `features` layer is what an evaluator would embed images with."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=image_shape, name="images")            # (batch, 28, 28, 1)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                                       # (batch, 14, 14, 32)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)                                       # (batch, 7, 7, 64)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Dense(feature_units, activation="relu", name="features")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="cnn_classifier")


def make_optimizer(name: str, learning_rate: float | None):
    import keras

    classes = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
    return classes[name]() if learning_rate is None else classes[name](learning_rate=learning_rate)


def inputs_for(config: ClassifierConfig, images_uint8: np.ndarray) -> np.ndarray:
    from genlab.data import to_float

    images = to_float(images_uint8)
    return images.reshape(len(images), -1) if config.architecture == "dense" else images


def confusion(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix


def train(config: ClassifierConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    import keras

    from genlab import data, plotting, training

    dataset = data.load_configured(config, data_dir)
    x_train, x_test = inputs_for(config, dataset.x_train), inputs_for(config, dataset.x_test)
    if config.architecture == "dense":
        model = build_dense(x_train.shape[1], dataset.num_classes, config.hidden_units)
    else:
        model = build_cnn(dataset.image_shape, dataset.num_classes)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  optimizer=make_optimizer(config.optimizer, config.learning_rate), metrics=["accuracy"])
    timing = training.fit(model, run, x_train, dataset.y_train, epochs=config.epochs, batch_size=config.batch_size,
                          validation_split=config.validation_split, verbose=verbose, resume=resume)
    test_loss, test_accuracy = model.evaluate(x_test, dataset.y_test, batch_size=1024, verbose=0)
    run.save_model(model)

    predicted = np.argmax(model.predict(x_test, batch_size=1024, verbose=0), axis=1)
    matrix = confusion(dataset.y_test, predicted, dataset.num_classes)
    plotting.confusion_matrix(matrix, dataset.class_names, run.figures / "confusion_matrix.png",
                              title=f"test accuracy {test_accuracy:.4f}")
    wrong = np.flatnonzero(predicted != dataset.y_test)[:30]
    if len(wrong):
        plotting.grid(dataset.x_test[wrong], run.figures / "misclassified.png", columns=10,
                      titles=[f"{dataset.class_names[dataset.y_test[i]]}→{dataset.class_names[predicted[i]]}" for i in wrong],
                      cell=1.1)
    plotting.curves(run.read_history(), [("loss", "train loss"), ("val_loss", "validation loss")],
                    run.figures / "curves.png", secondary=[("accuracy", "train accuracy"), ("val_accuracy", "validation accuracy")])
    return {"dataset": dataset.name, "data_source": dataset.source, "test_accuracy": float(test_accuracy),
            "test_loss": float(test_loss), "parameters": int(model.count_params()), **timing}


def evaluate(run, config, *, data_dir=None, seed: int = 0, noise_sweep: bool = False) -> dict:
    """Re-score the saved model on the test set (e.g. after copying a run to another machine)."""
    from genlab import data

    dataset = data.load_configured(config, data_dir)
    logits = run.load_model().predict(inputs_for(config, dataset.x_test), batch_size=1024, verbose=0)
    values = {"evaluate_test_accuracy": float(np.mean(np.argmax(logits, axis=1) == dataset.y_test)),
              "evaluate_test_images": int(len(dataset.y_test))}
    run.update_metrics(values)
    return values

def score(run, config: ClassifierConfig, images, *, seed: int):
    """Out-of-distribution score (genlab ood): minus the largest softmax probability, the
    baseline of Hendrycks & Gimpel (2017): a classifier is less sure of images unlike its data."""
    from scipy.special import softmax

    from genlab.contract import Score

    logits = run.load_model("model.keras").predict(inputs_for(config, np.asarray(images)), batch_size=500, verbose=0)
    return Score(values=-softmax(np.asarray(logits, np.float64), axis=1).max(axis=1), name="-max softmax probability")


FAMILY = Family(name="classifier", title="classifier (functional API)", chapter_program=1,
                summary="the chapter's functional-API MNIST classifier (discriminative)",
                config_class=ClassifierConfig, presets=PRESETS, train=train, unit="epochs", purpose="classify", evaluate=evaluate, score=score,
                headline=(Metric("test_accuracy", "test accuracy", lower_is_better=False),),
                showcase=("curves.png", "loss (left axis) and accuracy (right axis, dashed) per epoch, training and validation"),
                files=("model.keras",), figures=("confusion_matrix.png", "curves.png"), tiny=dict(epochs=1, batch_size=128))
