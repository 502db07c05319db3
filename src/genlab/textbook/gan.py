"""Program 4 of the chapter: a GAN that learns to draw MNIST digits, as printed, on Keras 3.

The discriminator (Sequential): Conv2D 64, 128, 256 filters of 5 x 5, stride 2, same padding,
relu, each followed by Dropout(0.4), then Flatten and Dense(1, sigmoid): 1 means real. The
generator (Sequential): Dense(7 * 7 * 64) from z, BatchNormalization(momentum=0.9), LeakyReLU,
Reshape(7, 7, 64), Dropout(0.4), then twice UpSampling2D, Conv2DTranspose (32, then 16 filters
of 5 x 5) with batch normalization and LeakyReLU, and a 5 x 5 Conv2D to one sigmoid channel.
The adversarial model is z -> generator -> discriminator with the discriminator frozen. Both
are trained with binary cross-entropy and Adam, learning rate 0.0004.

Each step (the chapter calls them EPOCHS: 2000 of them, one batch each): 128 real images
drawn without replacement, 128 fakes from uniform noise in [-1, 1]; the discriminator trains
on the 256 with labels 1 (real) and 0 (fake); then the adversarial model trains on fresh noise
labelled 1, which moves only the generator. Every 100 steps, 5 new samples in a row. Before
training, one image from N(0, 1) noise: pure noise.

The objective the two play (Goodfellow et al., 2014):
    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))]
the discriminator's update maximizes it; the generator's update uses the labels 1 on fakes,
that is it minimizes -log D(G(z)) (the non-saturating form), as the printed program does.

What had to change for Keras 3, and nothing else:
1. `Adam(lr=0.0004)` raises "ValueError: Argument(s) not recognized: {'lr': 0.0004}": the
   argument is `learning_rate=0.0004` (both optimizers below).
2. `discriminator.trainable = False` before building the adversarial model froze the
   discriminator for good: Keras 3 reads `trainable` when a model trains, not when it is
   compiled, so `discriminator.train_on_batch` then updated nothing and the discriminator never
   learnt (its weights stay as initialized; tests/test_textbook.py shows it). The printed
   structure is kept, and the flag is set where each update needs it: True just before the
   discriminator's `train_on_batch`, False just before the adversarial model's (two lines,
   marked "Keras 3" in `train`). The same fix works in a student's own code.
Also, not required but kept from the independent reference this is compared with: `predict`
is called with verbose=0, since Keras 3 prints a progress bar for every call (two per step).
"""
from __future__ import annotations

import numpy as np

BATCH_SIZE = 128
EPOCHS = 2000            # the chapter's name; these are steps, one batch each
Z_DIMENSIONS = 32
LEARNING_RATE = 0.0004
SHOW_EVERY = 100
UNIT = "steps"              # a loop of train_on_batch (genlab.textbook.run's --steps)
RECIPE = "gan"              # its name in genlab bench and the reference script


def discriminator_builder(depth: int = 64, p: float = 0.4):
    """28 x 28 x 1 image -> probability that it is real."""
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten

    model = keras.Sequential(name="discriminator")
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(Conv2D(depth * 1, 5, strides=2, padding="same", activation="relu"))
    model.add(Dropout(p))
    model.add(Conv2D(depth * 2, 5, strides=2, padding="same", activation="relu"))
    model.add(Dropout(p))
    model.add(Conv2D(depth * 4, 5, strides=2, padding="same", activation="relu"))
    model.add(Dropout(p))
    model.add(Flatten())
    model.add(Dense(1, activation="sigmoid"))
    return model


def generator_builder(z_dim: int = Z_DIMENSIONS, depth: int = 64, p: float = 0.4):
    """z -> 28 x 28 x 1 image: a convolutional network in reverse, from a 7 x 7 map up to the image."""
    import keras
    from keras.layers import (BatchNormalization, Conv2D, Conv2DTranspose, Dense, Dropout, LeakyReLU, Reshape,
                              UpSampling2D)

    model = keras.Sequential(name="generator")
    model.add(keras.Input(shape=(z_dim,)))
    model.add(Dense(7 * 7 * depth))
    model.add(BatchNormalization(momentum=0.9))
    model.add(LeakyReLU())
    model.add(Reshape((7, 7, depth)))
    model.add(Dropout(p))

    model.add(UpSampling2D())
    model.add(Conv2DTranspose(int(depth / 2), kernel_size=5, padding="same", activation=None))
    model.add(BatchNormalization(momentum=0.9))
    model.add(LeakyReLU())

    model.add(UpSampling2D())
    model.add(Conv2DTranspose(int(depth / 4), kernel_size=5, padding="same", activation=None))
    model.add(BatchNormalization(momentum=0.9))
    model.add(LeakyReLU())

    model.add(Conv2D(1, kernel_size=5, padding="same", activation="sigmoid"))
    return model


def adversarial_builder(generator, discriminator, z_dim: int = Z_DIMENSIONS):
    """z -> generator -> discriminator, compiled with the discriminator frozen."""
    import keras

    z = keras.Input(shape=(z_dim,))
    img = generator(z)
    discriminator.trainable = False
    validity = discriminator(img)
    model = keras.Model(z, validity, name="adversarial")
    model.compile(loss="binary_crossentropy",
                  optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),   # Keras 3: was Adam(lr=0.0004)
                  metrics=["accuracy"])
    return model


def build(z_dim: int = Z_DIMENSIONS):
    """The three models, compiled as printed: (discriminator, generator, adversarial)."""
    import keras

    discriminator = discriminator_builder()
    discriminator.compile(loss="binary_crossentropy",
                          optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),   # Keras 3: was Adam(lr=0.0004)
                          metrics=["accuracy"])
    generator = generator_builder(z_dim)
    adversarial_model = adversarial_builder(generator, discriminator, z_dim)
    return discriminator, generator, adversarial_model


def show_samples(generator, figures, name: str, count: int = 5, z_dim: int = Z_DIMENSIONS):
    """`count` new images from fresh uniform noise, in one row (figsize 10 x 10, gray)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    noise = np.random.uniform(-1.0, 1.0, size=[count, z_dim])
    gen_imgs = generator.predict(noise, verbose=0)
    plt.figure(figsize=(10, 10))
    for k in range(gen_imgs.shape[0]):
        plt.subplot(1, count, k + 1)
        plt.imshow(gen_imgs[k, :, :, 0], cmap="gray")
        plt.axis("off")
    plt.tight_layout()
    return figures.show(name)


def train(data, discriminator, generator, adversarial_model, *, epochs: int = EPOCHS, batch: int = BATCH_SIZE,
          z_dim: int = Z_DIMENSIONS, figures=None, on_step=None, fix_trainable: bool = True, verbose: int = 1):
    """The printed training loop. `data`: float images N x 28 x 28 x 1 in [0, 1]. `on_step(step,
    d_metrics, a_metrics)`, if given, is told after every step (the benchmark's clock);
    `fix_trainable=False` runs the loop exactly as printed, without the Keras 3 fix (to show
    that the discriminator then never learns). Returns (a_metrics, d_metrics), one entry a step."""
    d_metrics = []
    a_metrics = []
    running_d_loss = running_d_acc = running_a_loss = running_a_acc = 0.0

    for i in range(epochs):
        real_imgs = np.reshape(data[np.random.choice(data.shape[0], batch, replace=False)], (batch, 28, 28, 1))
        fake_imgs = generator.predict(np.random.uniform(-1.0, 1.0, size=[batch, z_dim]), verbose=0)
        x = np.concatenate((real_imgs, fake_imgs))
        y = np.ones([2 * batch, 1])
        y[batch:, :] = 0

        if fix_trainable:
            discriminator.trainable = True        # Keras 3: the discriminator learns in its own update...
        d_metrics.append(discriminator.train_on_batch(x, y))
        running_d_loss += d_metrics[-1][0]
        running_d_acc += d_metrics[-1][1]

        noise = np.random.uniform(-1.0, 1.0, size=[batch, z_dim])
        y = np.ones([batch, 1])
        if fix_trainable:
            discriminator.trainable = False       # Keras 3: ...and stays fixed in the generator's
        a_metrics.append(adversarial_model.train_on_batch(noise, y))
        running_a_loss += a_metrics[-1][0]
        running_a_acc += a_metrics[-1][1]

        if on_step is not None:
            on_step(i + 1, d_metrics[-1], a_metrics[-1])
        if (i + 1) % SHOW_EVERY == 0:
            if verbose:
                print(f"Epoch #{i + 1}: [D loss: {running_d_loss / (i + 1):f}, acc: {running_d_acc / (i + 1):f}]  "
                      f"[A loss: {running_a_loss / (i + 1):f}, acc: {running_a_acc / (i + 1):f}]", flush=True)
            if figures is not None and figures.on:
                show_samples(generator, figures, f"samples-step-{i + 1:05d}", z_dim=z_dim)
    return a_metrics, d_metrics


def program(data, *, epochs: int = EPOCHS, figures=None, on_step=None, verbose: int = 1) -> dict:
    """The printed program: the training images as floats 28 x 28 x 1 in [0, 1], the three
    models, one image from noise before training, then the loop."""
    (x_train, _), _ = data
    images = (x_train.astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    discriminator, generator, adversarial_model = build()
    if verbose:
        discriminator.summary()
        generator.summary()
    if figures is not None and figures.on:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        # Before training: an image from N(0, 1) noise through the untrained generator is noise.
        untrained = generator.predict(np.random.normal(0.0, 1.0, size=(1, Z_DIMENSIONS)), verbose=0)
        plt.figure(figsize=(3, 3))
        plt.imshow(untrained[0, :, :, 0], cmap="gray")
        plt.axis("off")
        figures.show("before-training")
    a_metrics, d_metrics = train(images, discriminator, generator, adversarial_model, epochs=epochs,
                                 figures=figures, on_step=on_step, verbose=verbose)
    return {"steps": epochs, "d_loss_last": float(d_metrics[-1][0]), "d_accuracy_last": float(d_metrics[-1][1]),
            "g_loss_last": float(a_metrics[-1][0]), "generator": generator, "discriminator": discriminator}
