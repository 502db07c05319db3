"""WGAN-GP (`wgan-gp`): the Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).

The critic scores images with an unbounded number; it is trained to maximise
E[critic(real)] - E[critic(fake)] (an estimate of the Wasserstein-1 distance, plotted over
training) while the gradient penalty keeps it 1-Lipschitz:

    x_hat = alpha * real + (1 - alpha) * fake,   alpha ~ U[0, 1], one per example
    penalty = lambda * E[(||d critic(x_hat) / d x_hat||_2 - 1)^2]

The critic has no batch norm (the penalty is per example) and no dropout; it is updated
`n_critic` times per generator update, each time on a fresh real batch.
"""
from __future__ import annotations

from dataclasses import dataclass

from genlab import adversarial
from genlab.config import describe
from genlab.errors import ConfigError
from genlab.contract import SAMPLE_QUALITY, Family
from genlab.families.gan import GANConfig


@dataclass
class WGANGPConfig(GANConfig):
    n_critic: int = describe(5, "critic updates per generator update")
    penalty_weight: float = describe(10.0, "lambda, the gradient penalty's weight")
    beta_2: float = describe(0.9, "Adam's second-moment decay (the paper's 0.9)")
    learning_rate: float = describe(1e-4, "Adam learning rate of both networks")
    beta_1: float = describe(0.5, "Adam's first-moment decay")
    output: str = describe("logits", "the critic's score is unbounded: logits only")
    label_smoothing: float = describe(0.0, "unused by the Wasserstein loss")
    batch_size: int = describe(64, "images per critic update (n_critic batches per step)")

    def validate(self):
        super().validate()
        if self.n_critic < 1:
            raise ConfigError("n_critic must be at least 1")
        if self.penalty_weight < 0:
            raise ConfigError("penalty_weight must be >= 0")
        if self.output != "logits":
            raise ConfigError("a WGAN critic has no sigmoid: output must be 'logits'")


PRESETS = {
    # No chapter program: `chapter` keeps the chapter's batch and no EMA.
    "chapter": dict(batch_size=128, ema=0.0),
    "default": {},
}


def build_critic(image_shape=(28, 28, 1)):
    """The chapter's discriminator shape without dropout or sigmoid, with LeakyReLU."""
    import keras
    from keras import layers

    from genlab.families import networks

    images = keras.Input(shape=image_shape, name="images")
    features = networks.conv_trunk(images, dropout=0.0, leaky=True)
    score = layers.Dense(1, dtype="float32", name="score")(features)              # unbounded
    return keras.Model(images, score, name="critic")


def interpolation_coefficients(batch, seed_generator):
    """alpha ~ U[0, 1], one per example, broadcast over its pixels: shape (batch, 1, 1, 1).
    (Drawn for the global batch, this replica's rows kept: see AdversarialTrainer.noise.)"""
    import keras

    from genlab import backend

    return backend.replica_rows(keras.random.uniform((backend.global_rows(batch), 1, 1, 1), 0.0, 1.0, seed=seed_generator))


def gradient_penalty(critic, real, fake, alpha, weight: float):
    """lambda * mean_i (||grad_x critic(x_hat_i)|| - 1)^2 with x_hat = alpha real + (1 - alpha) fake."""
    from keras import ops

    from genlab.backend import input_gradients

    mixed = alpha * real + (1.0 - alpha) * fake
    gradients = input_gradients(lambda x: critic(x, training=True), mixed)           # (batch, 28, 28, 1)
    norms = ops.sqrt(ops.sum(ops.square(ops.reshape(gradients, (ops.shape(gradients)[0], -1))), axis=1) + 1e-12)
    return weight * ops.mean(ops.square(norms - 1.0)), norms


class WGANGPTrainer(adversarial.AdversarialTrainer):
    extra_curves = (("wasserstein", "E[critic(real)] - E[critic(fake)]", "wasserstein.png", "critic's Wasserstein estimate"),)

    def build_generator(self):
        from genlab.families.gan import build_generator

        return build_generator(self.config.latent_dim, self.image_shape)

    def build_discriminator(self):
        return build_critic(self.image_shape)

    def make_optimizer(self):
        import keras

        config = self.config
        return keras.optimizers.Adam(learning_rate=config.learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)

    @property
    def images_per_step(self):
        return self.config.batch_size * self.config.n_critic

    def batch(self, images, labels, indices):
        """(batch, n_critic, 28, 28, 1): example-major, so splitting the first axis over
        data-parallel replicas gives each replica its share of every critic batch (critic batch k
        is still rows k*batch..(k+1)*batch of the step's images)."""
        real = images[indices]
        return (real.reshape(self.config.n_critic, self.config.batch_size, *real.shape[1:]).swapaxes(0, 1),)

    def train_step(self, real, real_labels=None):
        from keras import ops

        from genlab.backend import minimize

        config = self.config
        # A tensor on the step's device: eager backends (torch) pass the NumPy batch through as it is,
        # and alpha * real would then mix a GPU tensor with a host array.
        real = ops.convert_to_tensor(real)
        batch = ops.shape(real)[0]                                                    # B, or B/N in a TensorFlow replica
        critic = self.discriminator
        for index in range(config.n_critic):                                          # unrolled: n_critic is fixed
            real_batch = real[:, index]
            fake = ops.cast(self.generator(self.noise(batch), training=False), real.dtype)
            alpha = interpolation_coefficients(batch, self.seed_generator)

            def critic_loss():
                real_score = ops.mean(critic(real_batch, training=True))
                fake_score = ops.mean(critic(fake, training=True))
                penalty, _ = gradient_penalty(critic, real_batch, fake, alpha, config.penalty_weight)
                return fake_score - real_score + penalty, (real_score - fake_score, penalty)

            d_loss, (wasserstein, penalty), d_grad_norm = minimize(critic_loss, critic.trainable_variables, self.d_optimizer)

        fresh = self.noise(batch)

        def generator_loss():
            score = ops.mean(critic(self.generator(fresh, training=True), training=True))
            return -score, score

        g_loss, _, g_grad_norm = minimize(generator_loss, self.generator.trainable_variables, self.g_optimizer)
        self.update_ema()
        return {"d_loss": d_loss, "g_loss": g_loss, "wasserstein": wasserstein, "gradient_penalty": penalty,
                "d_grad_norm": d_grad_norm, "g_grad_norm": g_grad_norm}


def train(config: WGANGPConfig, run, *, data_dir=None, verbose: int = 1, resume: bool = False) -> dict:
    return adversarial.train(WGANGPTrainer, config, run, data_dir=data_dir, verbose=verbose, resume=resume)


FAMILY = Family(name="wgan-gp", summary="Wasserstein GAN with gradient penalty (critic, n_critic updates per G update)",
                config_class=WGANGPConfig, presets=PRESETS, train=train, unit="steps", purpose="generate", headline=SAMPLE_QUALITY,
                title="WGAN-GP",
                generate=adversarial.generate, interpolate=adversarial.interpolate, latent_space=adversarial.latent_space, score=adversarial.score,
                files=("generator.keras", "discriminator.keras", "checkpoints/latest.json"),
                inference_files=("generator.keras",), export=adversarial.export,
                figures=("untrained.png", "losses.png", "wasserstein.png", "progress.gif", "samples/step-000000.png"),
                tiny=dict(steps=6, batch_size=16, n_critic=2, sample_every=3, checkpoint_every=3, log_every=2, sample_grid=16))
