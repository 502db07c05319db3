"""Program 2 of the chapter: a dense autoencoder that compresses a digit to 32 numbers.

784 inputs -> Dense(32, relu) (the code) -> Dense(784, sigmoid); Adam with its defaults, mean
squared error; 50 epochs of batch 256, shuffled, the test images as validation data. The
figure: 10 test digits (indices 1 to 10), originals over reconstructions.

On Keras 3 the printed program runs as printed (images flattened with len(x) instead of the
literal 60000 and 10000, so that it also runs on a smaller dataset).
"""
from __future__ import annotations

import numpy as np

BATCH_SIZE = 256
EPOCHS = 50
ENCODING_DIM = 32
UNIT = "epochs"             # trained with fit (genlab.textbook.run's --epochs)
RECIPE = "ae"               # its name in genlab bench and the reference script


def build_autoencoder(encoding_dim: int = ENCODING_DIM):
    """The input, the code (a Dense layer of encoding_dim units), the reconstruction."""
    import keras

    input_img = keras.Input(shape=(784,))
    encoded = keras.layers.Dense(encoding_dim, activation="relu")(input_img)
    decoded = keras.layers.Dense(784, activation="sigmoid")(encoded)
    return keras.Model(input_img, decoded, name="autoencoder")


def show_rows(rows, figures, name: str, n: int = 10):
    """The chapter's figure: one row per array, test digits 1..n, gray, figsize (20, 2 + 2 per row)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.figure(figsize=(20, 2 + 2 * len(rows)))
    for row, images in enumerate(rows):
        for i in range(n):
            ax = plt.subplot(len(rows), n, row * n + i + 1)
            plt.imshow(images[i + 1].reshape(28, 28))
            plt.gray()
            ax.get_xaxis().set_visible(False)
            ax.get_yaxis().set_visible(False)
    return figures.show(name) if figures is not None else None


def program(data, *, epochs: int = EPOCHS, figures=None, callbacks=(), verbose: int = 1) -> dict:
    """The printed program: flatten and scale, build, compile, fit on (x, x), reconstruct the test set."""
    (x_train, _), (x_test, _) = data
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    x_train = x_train.reshape((len(x_train), np.prod(x_train.shape[1:])))
    x_test = x_test.reshape((len(x_test), np.prod(x_test.shape[1:])))

    autoencoder = build_autoencoder()
    if verbose:
        autoencoder.summary()
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.fit(x_train, x_train, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True,
                    validation_data=(x_test, x_test), verbose=verbose, callbacks=list(callbacks))

    decoded_imgs = autoencoder.predict(x_test, verbose=0)
    show_rows([x_test, decoded_imgs], figures, "reconstructions")
    test_mse = float(np.mean((decoded_imgs - x_test) ** 2))
    if verbose:
        print("Test MSE:", test_mse)
    return {"test_mse": test_mse, "model": autoencoder}
