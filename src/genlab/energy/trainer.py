"""Training an energy-based model by contrastive divergence against short-run Langevin samples.

One step (compiled whole, Langevin loop included):

    starts  = replay_buffer.draw(batch)          # a share of them fresh uniform noise
    samples = langevin(E, starts, langevin_steps)  # downhill on E with noise, gradient clipped
    replay_buffer.store(samples)                 # the chains go on from here next time
    loss    = mean E(real + small noise) - mean E(samples)            # contrastive divergence
            + energy_penalty * mean(E(real)^2 + E(samples)^2)          # keeps energies near 0
            [+ classifier_weight * cross-entropy(f(real), labels)]      # JEM: network=dense
    Adam step on the network (gradients clipped to clip_norm)

Lowering the energy of real images and raising that of the sampler's images until the two
agree is the maximum-likelihood gradient of p(x) ~ exp(-E(x)), with the samples standing in
for the model's own distribution. The step's outputs (the mean energies of the real and the
sampled images, the loss, the gradient norm) go to history.csv, so a diverging run, where the
two energies fly apart, shows in its figures.

The trainer is a genlab.step_training.SteppedTrainer: genlab's step loop gives it checkpoints
that resume exactly (the replay buffer and the noise state included), the divergence guard
and its rollback.
"""
from __future__ import annotations

import numpy as np

from genlab.energy.buffer import ReplayBuffer
from genlab.energy.langevin import langevin
from genlab.energy.network import build_classifier_energy_network, build_energy_network


class EnergyTrainer:
    """The energy network, its optimizer, the replay buffer and the noise: every piece of state
    the compiled step reads or writes, and what a checkpoint holds."""

    def __init__(self, config, image_shape, classes: int = 10):
        import keras

        from genlab import backend

        self.config, self.image_shape = config, tuple(image_shape)
        # JEM: the classifier's logits f(x) are trained on the labels too, its energy is -logsumexp f(x).
        self.joint = config.network == "dense"
        if self.joint:
            self.network = build_classifier_energy_network(self.image_shape, classes)
        else:
            self.network = build_energy_network(self.image_shape, config.filters, config.dense, config.spectral_norm)
        self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, beta_1=config.beta_1,
                                               beta_2=config.beta_2, global_clipnorm=config.clip_norm or None)
        self.optimizer.build(self.network.trainable_variables)
        self.seed_generator = keras.random.SeedGenerator(config.seed)
        self.buffer = ReplayBuffer(config.buffer_size, self.image_shape, config.fresh_share, config.seed)
        self.step = backend.compile_step(self.train_step, self.state_variables())
        self.steps = backend.compile_steps(self.train_step, self.state_variables())

    # ---- the step ---------------------------------------------------------------------
    def energy(self, images, training: bool = False):
        return self.network(images, training=training)[:, 0]                               # (batch,)

    def sample(self, starts):
        """Short-run Langevin from `starts` with the run's training settings."""
        config = self.config
        return langevin(self.energy, starts, steps=config.langevin_steps, step_size=config.step_size, noise=config.noise,
                        seed_generator=self.seed_generator, gradient_clip=config.gradient_clip)

    def train_step(self, real, labels=None):
        import keras
        from keras import ops

        from genlab.backend import minimize

        config = self.config
        batch = config.batch_size                      # a Python number: the buffer's draw has a fixed shape
        real = ops.convert_to_tensor(real)
        if config.data_noise:
            real = ops.clip(real + config.data_noise * keras.random.normal(ops.shape(real), seed=self.seed_generator), 0.0, 1.0)
        indices, starts = self.buffer.draw(batch, self.seed_generator)
        samples = ops.stop_gradient(self.sample(starts))                                   # (batch, 28, 28, 1)
        self.buffer.store(indices, samples)

        def loss():
            outputs = self.network(ops.concatenate([real, samples], axis=0), training=True)  # (2 * batch, 1 [+ classes])
            energies = outputs[:, 0]
            real_energy, sampled_energy = ops.mean(energies[:batch]), ops.mean(energies[batch:])
            penalty = config.energy_penalty * ops.mean(ops.square(energies))
            total = real_energy - sampled_energy + penalty
            cross_entropy = ops.zeros(())
            if self.joint:       # the classes of the (noised) real images from the same logits
                cross_entropy = ops.mean(keras.losses.sparse_categorical_crossentropy(labels, outputs[:batch, 1:],
                                                                                      from_logits=True))
                total = total + config.classifier_weight * cross_entropy
            return total, (real_energy, sampled_energy, cross_entropy)

        value, (real_energy, sampled_energy, cross_entropy), gradient_norm = minimize(loss, self.network.trainable_variables,
                                                                                      self.optimizer)
        outputs = {"loss": value, "energy_real": real_energy, "energy_sampled": sampled_energy,
                   "energy_gap": sampled_energy - real_energy, "grad_norm": gradient_norm}
        if self.joint:
            outputs["cross_entropy"] = cross_entropy
        return outputs

    # ---- what genlab's step loop needs --------------------------------------------------
    @property
    def images_per_step(self) -> int:
        return self.config.batch_size

    def batch(self, images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> tuple:
        return (images[indices], labels[indices].astype(np.int32)) if self.joint else (images[indices],)

    def variable_groups(self) -> dict[str, list]:
        return {"network": self.network.variables, "optimizer": self.optimizer.variables,
                "seed_generator": [self.seed_generator.state], "replay_buffer": [self.buffer.images]}

    def state_variables(self) -> list:
        return [variable for group in self.variable_groups().values() for variable in group]

    def state(self) -> dict[str, np.ndarray]:
        from genlab import checkpoints

        return checkpoints.state_of(self.variable_groups())

    def load_state(self, arrays) -> None:
        from genlab import checkpoints

        checkpoints.assign(self.variable_groups(), arrays)

    def networks(self) -> tuple:
        return (self.network,)

    def optimizers(self) -> tuple:
        return (self.optimizer,)

    def learning_rates(self) -> tuple[float, ...]:
        from genlab.backend import to_numpy

        return (float(to_numpy(self.optimizer.learning_rate)),)

    def flops_per_step(self) -> float | None:
        return None
