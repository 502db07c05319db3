"""Program 4: the chapter's GAN, trained correctly under Keras 3.

The chapter freezes the discriminator (`trainable = False`) and compiles a stacked model;
Keras 3 reads `trainable` at train time, so that pattern never trains the discriminator.
Here each network is updated explicitly with its own optimizer in one compiled step
(genlab.backend holds the backend-specific gradient code; genlab.adversarial the loop):

    fake   = G(z ~ U[-1, 1], training=False)                 # like the chapter's G.predict
    D step: BCE(D([real; fake]), [1; 0]) -> D's variables   # 128 real + 128 fake
    G step: BCE(D(G(z', training=True)), 1) -> G's variables # fresh noise, labels 1

The step is written once, with labels as an optional input: the conditional GAN (cgan.py)
reuses it with `conditional = True`.
"""
from __future__ import annotations

from dataclasses import dataclass

from genlab import adversarial
from genlab.config import describe, image_channels_field, image_size_field
from genlab.errors import ConfigError
from genlab.contract import SAMPLE_QUALITY, Family

DTYPE_POLICIES = ("float32", "mixed_bfloat16", "auto")


@dataclass
class GANConfig:
    """genlab's default GAN recipe; the `chapter` preset restores the textbook's settings."""
    dataset: str = describe("mnist", "dataset name, image folder or .npz")
    image_size: int | None = image_size_field()
    image_channels: int | None = image_channels_field()
    steps: int = describe(2000, "training steps, one batch each (the chapter calls them EPOCHS)")
    batch_size: int = describe(128, "real images per step (and as many generated)")
    latent_dim: int = describe(32, "size of the generator's input z ~ U[-1, 1]")
    learning_rate: float = describe(4e-4, "Adam learning rate of both networks")
    beta_1: float = describe(0.5, "Adam's first-moment decay (Keras default 0.9, the chapter's)")
    output: str = describe("logits", "discriminator output: sigmoid (the chapter) or logits (numerically stable loss)")
    label_smoothing: float = describe(0.1, "one-sided: real labels become 1 - label_smoothing")
    ema: float = describe(0.995, "exponential moving average of G's weights used for sampling (0: off)")
    dtype_policy: str = describe("float32", "Keras dtype policy: float32, mixed_bfloat16 (faster on CPUs with AVX512-BF16/AMX "
                                            "and bf16 GPUs) or auto (mixed_bfloat16 where the processor has fast bf16)")
    sample_every: int = describe(100, "steps between fixed-noise grids and the chapter's 1 x 5 strips")
    log_every: int = describe(10, "steps per history.csv row (means over the window)")
    checkpoint_every: int = describe(500, "steps between checkpoints (one is always written at the end)")
    sample_grid: int = describe(64, "images in the fixed-noise progress grid")
    on_nan: str = describe("stop", "NaN/Inf loss or exploding weights: stop (keep the last checkpoint) or rollback "
                                   "(restore it with half the learning rate, up to 3 times)")
    seed: int = describe(0, "random seed (weights, noise, data order)")
    devices: int = describe(1, "data-parallel replicas (--devices): jax keras.distribution over the devices of all processes, "
                               "tensorflow MirroredStrategy over this host's GPUs; batch_size stays the global batch")
    steps_per_execution: int = describe(1, "steps per compiled call, a loop inside the graph (same updates; for fast GPUs, "
                                           "where the host's work between steps shows); a call ends where a log, grid or "
                                           "checkpoint is due, so pick a divisor of those intervals (a shorter call compiles "
                                           "once more); torch runs one")

    def validate(self):
        if self.output not in ("sigmoid", "logits"):
            raise ConfigError(f"output '{self.output}' is unknown; choose sigmoid or logits")
        if self.on_nan not in ("stop", "rollback"):
            raise ConfigError(f"on_nan '{self.on_nan}' is unknown; choose stop or rollback")
        if self.dtype_policy not in DTYPE_POLICIES:
            raise ConfigError(f"dtype_policy '{self.dtype_policy}' is unknown; choose {', '.join(DTYPE_POLICIES)}")
        for key in ("steps", "batch_size", "latent_dim", "sample_every", "log_every", "checkpoint_every", "sample_grid", "devices",
                    "steps_per_execution"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{key} must be at least 1, got {getattr(self, key)}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ConfigError("label_smoothing must be in [0, 0.5)")
        if not 0.0 <= self.ema < 1.0:
            raise ConfigError("ema must be in [0, 1) (0 turns it off)")
        if self.batch_size % self.devices:
            raise ConfigError(f"batch_size {self.batch_size} does not split evenly over {self.devices} devices; "
                              f"use a multiple of {self.devices}")


# The chapter's settings; the class defaults above are genlab's `default` preset.
CHAPTER = dict(beta_1=0.9, output="sigmoid", label_smoothing=0.0, ema=0.0)
PRESETS = {"chapter": CHAPTER, "default": {}}


# ---------------------------------------------------------------------------- networks
def build_discriminator(image_shape=(28, 28, 1), output: str = "sigmoid"):
    """The chapter's discriminator, layer for layer (functional API)."""
    import keras
    from keras import layers

    from genlab.families import networks

    images = keras.Input(shape=image_shape, name="images")                                  # (batch, 28, 28, 1)
    features = networks.conv_trunk(images)                                                  # (batch, 4*4*256)
    # The output stays float32 under mixed precision so the loss is computed accurately.
    score = layers.Dense(1, activation="sigmoid" if output == "sigmoid" else None, dtype="float32", name="real")(features)
    return keras.Model(images, score, name="discriminator")


def build_generator(latent_dim: int = 32, image_shape=(28, 28, 1)):
    """The chapter's generator, layer for layer: a convnet in reverse, 7x7 -> 14x14 -> 28x28."""
    import keras

    from genlab.families import networks

    z = keras.Input(shape=(latent_dim,), name="z")                                          # (batch, 32)
    feature_map = networks.latent_to_map(z, image_shape)                                    # (batch, 7, 7, 64)
    return keras.Model(z, networks.upsampling_head(feature_map, image_shape), name="generator")


def step_flops(latent_dim: int, batch: int, image_shape=(28, 28, 1)) -> float:
    """Floating-point operations of one chapter training step, counted from the layer shapes.

    Forward multiply-adds count 2 FLOPs; a backward pass costs about twice its forward
    (input gradients + weight gradients). D step: D fwd+bwd on 2*batch images, plus G forward
    on batch. G step: G fwd+bwd and D fwd + input-gradient pass (no D weight gradients).
    """
    from genlab.families import networks

    d_forward = networks.trunk_flops(image_shape) + 2.0 * networks.trunk_features(image_shape)
    g_forward = networks.generator_flops(latent_dim, image_shape)
    d_update = 2 * batch * d_forward * 3 + batch * g_forward
    g_update = batch * g_forward * 3 + batch * d_forward * 2
    return d_update + g_update


# ---------------------------------------------------------------------------- the training step
class GANTrainer(adversarial.AdversarialTrainer):
    """The GAN's networks and its one step (labels optional: see CGANTrainer)."""

    def __init__(self, config, image_shape, num_classes: int = 10):
        super().__init__(config, image_shape, num_classes)
        self.loss = adversarial.gan_losses(self)

    def build_generator(self):
        return build_generator(self.config.latent_dim, self.image_shape)

    def build_discriminator(self):
        return build_discriminator(self.image_shape, self.config.output)

    def flops_per_step(self):
        return None if self.conditional else step_flops(self.config.latent_dim, self.config.batch_size, self.image_shape)

    def train_step(self, real, real_labels=None):
        from keras import ops

        from genlab.backend import minimize

        config = self.config
        batch = ops.shape(real)[0]
        real_target = 1.0 - config.label_smoothing
        fake_labels = self.random_labels(batch) if self.conditional else None
        fake = self.generator(self.generator_inputs(self.noise(batch), fake_labels), training=False)   # (batch, 28, 28, 1)
        images = ops.concatenate([real, ops.cast(fake, real.dtype)], axis=0)                          # (2*batch, 28, 28, 1)
        labels = ops.concatenate([real_labels, fake_labels], axis=0) if self.conditional else None
        targets = ops.concatenate([ops.full((batch, 1), real_target), ops.zeros((batch, 1))], axis=0)

        def discriminator_loss():
            scores = self.discriminator(self.discriminator_inputs(images, labels), training=True)
            return self.loss(targets, scores), scores

        d_loss, scores, d_grad_norm = minimize(discriminator_loss, self.discriminator.trainable_variables, self.d_optimizer)
        threshold = 0.0 if config.output == "logits" else 0.5
        d_acc_real = ops.mean(ops.cast(scores[:batch] > threshold, "float32"))
        d_acc_fake = ops.mean(ops.cast(scores[batch:] <= threshold, "float32"))

        wanted = self.random_labels(batch) if self.conditional else None
        fresh = self.noise(batch)

        def generator_loss():
            made = self.generator(self.generator_inputs(fresh, wanted), training=True)
            scores = self.discriminator(self.discriminator_inputs(made, wanted), training=True)
            return self.loss(ops.ones((batch, 1)), scores), scores

        g_loss, _, g_grad_norm = minimize(generator_loss, self.generator.trainable_variables, self.g_optimizer)
        self.update_ema()
        return {"d_loss": d_loss, "g_loss": g_loss, "d_acc_real": d_acc_real, "d_acc_fake": d_acc_fake,
                "d_grad_norm": d_grad_norm, "g_grad_norm": g_grad_norm}


def train(config: GANConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    return adversarial.train(GANTrainer, config, run, data_dir=data_dir, verbose=verbose, resume=resume)


FAMILY = Family(name="gan", summary="the chapter's GAN (conv D, upsampling G, z=32), trained with a compiled custom step",
                config_class=GANConfig, presets=PRESETS, train=train, unit="steps", purpose="generate", headline=SAMPLE_QUALITY,
                title="GAN", chapter_program=4,
                generate=adversarial.generate, interpolate=adversarial.interpolate, latent_space=adversarial.latent_space, score=adversarial.score,
                files=("generator.keras", "discriminator.keras", "checkpoints/latest.json"),
                inference_files=("generator.keras",), export=adversarial.export,
                figures=("untrained.png", "losses.png", "progress.gif", "samples/step-000000.png", "strips"),
                tiny=dict(steps=6, batch_size=16, sample_every=3, checkpoint_every=3, log_every=2, sample_grid=16))
