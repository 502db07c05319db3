"""Program 3 of the chapter: a denoising autoencoder.

The network of program 2, trained to map noisy digits to clean ones. The noise is
`noise_factor * N(0, 1)` per pixel with noise_factor 0.55, drawn with `np.random.normal` and
not clipped; training pairs (noisy train -> clean train), validation (noisy test -> clean
test); Adam, mean squared error, 50 epochs of batch 256. The figure: three rows of 10 test
digits, the noisy input, the denoised output and the clean original.

On Keras 3 the printed program runs as printed.
"""
from __future__ import annotations

import numpy as np

from genlab.textbook.autoencoder import BATCH_SIZE, build_autoencoder, show_rows

EPOCHS = 50
NOISE_FACTOR = 0.55
UNIT = "epochs"             # trained with fit (genlab.textbook.run's --epochs)
RECIPE = "dae"              # its name in genlab bench and the reference script


def program(data, *, epochs: int = EPOCHS, figures=None, callbacks=(), verbose: int = 1) -> dict:
    """The printed program: add the noise, train noisy -> clean, denoise the noisy test set."""
    (x_train, _), (x_test, _) = data
    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    x_train = x_train.reshape((len(x_train), np.prod(x_train.shape[1:])))
    x_test = x_test.reshape((len(x_test), np.prod(x_test.shape[1:])))

    noise_factor = NOISE_FACTOR
    x_train_noisy = x_train + noise_factor * np.random.normal(loc=0.0, scale=1.0, size=x_train.shape)
    x_test_noisy = x_test + noise_factor * np.random.normal(loc=0.0, scale=1.0, size=x_test.shape)

    autoencoder = build_autoencoder()         # the same network as program 2
    if verbose:
        autoencoder.summary()
    autoencoder.compile(optimizer="adam", loss="mse")
    autoencoder.fit(x_train_noisy, x_train, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True,
                    validation_data=(x_test_noisy, x_test), verbose=verbose, callbacks=list(callbacks))

    decoded_imgs = autoencoder.predict(x_test_noisy, verbose=0)
    show_rows([x_test_noisy, decoded_imgs, x_test], figures, "denoised")
    test_mse = float(np.mean((decoded_imgs - x_test) ** 2))
    noisy_mse = float(np.mean((x_test_noisy - x_test) ** 2))
    if verbose:
        print("Test MSE, denoised:", test_mse, " noisy input:", noisy_mse)
    return {"test_mse": test_mse, "noisy_mse": noisy_mse, "noise_factor": noise_factor, "model": autoencoder}
