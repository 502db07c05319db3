"""Program 1 of the chapter: an MNIST classifier built with the Keras functional API.

784 inputs -> Dense(64, relu) -> Dense(64, relu) -> Dense(10) (logits); RMSprop, sparse
categorical cross-entropy from logits, accuracy; batch 64, 2 epochs, 20% of the training
images held out for validation; then the 10000 test images.

On Keras 3 the printed program runs as printed. The only difference here: the images are
flattened with `reshape(len(x_train), 784)` where the printed code writes 60000 (and 10000),
so that the same program also runs on a smaller dataset (genlab's embedded digits).
"""
from __future__ import annotations

BATCH_SIZE = 64
EPOCHS = 2
UNIT = "epochs"             # trained with fit (genlab.textbook.run's --epochs)
RECIPE = "classifier"       # its name in genlab bench and the reference script


def build_model():
    """The functional API: each layer is called on the output of the one before."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(784,))
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")


def program(data, *, epochs: int = EPOCHS, figures=None, callbacks=(), verbose: int = 1) -> dict:
    """The printed program: prepare the images, build, compile, fit, evaluate."""
    import keras

    (x_train, y_train), (x_test, y_test) = data
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

    model = build_model()
    if verbose:
        model.summary()
    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )
    history = model.fit(x_train, y_train, batch_size=BATCH_SIZE, epochs=epochs, validation_split=0.2,
                        verbose=verbose, callbacks=list(callbacks))
    test_scores = model.evaluate(x_test, y_test, verbose=min(verbose, 2))
    if verbose:
        print("Test loss:", test_scores[0])
        print("Test accuracy:", test_scores[1])
    return {"test_loss": float(test_scores[0]), "test_accuracy": float(test_scores[1]),
            "val_accuracy_last": float(history.history["val_accuracy"][-1]), "model": model}
