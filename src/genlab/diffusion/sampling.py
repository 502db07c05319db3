"""Sampling a trained diffusion network: the reverse process (`schedule.reverse_process`) driven by
the U-Net's noise prediction, with classifier-free guidance for conditional networks, in batches.

`config` is a DiffusionConfig (genlab.families.diffusion): its schedule (timesteps, schedule,
beta_start, beta_end), time_dim, conditional, and the default sampler settings (sample_steps, eta,
guidance, sampler, sample_batch).
"""
from __future__ import annotations

import numpy as np

from genlab.diffusion.schedule import alpha_bar_of, reverse_process, time_features


def time_feature_array(t, config) -> np.ndarray:
    """time_features of the integer timesteps t (batch,) as a float32 numpy array (batch, time_dim): the network's second input."""
    from genlab.backend import to_numpy

    return np.asarray(to_numpy(time_features(np.asarray(t), config.time_dim)), dtype="float32")


def class_count(network) -> int:
    """The classes a conditional network knows (its label embedding has one entry more: 'no class');
    10 for a network without one."""
    import keras

    for layer in network.layers:
        if isinstance(layer, keras.layers.Embedding):
            return layer.input_dim - 1          # the last entry is 'no class'
    return 10


def noise_predictor(network, config, labels: np.ndarray | None, guidance: float, num_classes: int = 10):
    """predict_noise(x, t) for `reverse_process`: the network at timestep t, with classifier-free
    guidance eps_u + guidance (eps_c - eps_u) when conditional (one call on [conditional; unconditional])."""
    def predict(x, t):
        features = time_feature_array(np.full(len(x), t), config)
        if not config.conditional:
            return network.predict_on_batch([x, features])
        if guidance == 1.0:
            return network.predict_on_batch([x, features, labels])
        unconditional = np.full_like(labels, num_classes)
        both = np.asarray(network.predict_on_batch([np.concatenate([x, x]), np.concatenate([features, features]),
                                                    np.concatenate([labels, unconditional])]))
        conditioned, plain = both[:len(x)], both[len(x):]
        return plain + guidance * (conditioned - plain)
    return predict


def sample_images(network, config, count: int, *, seed: int, labels: np.ndarray | None = None,
                  steps: int | None = None, eta: float | None = None, guidance: float | None = None,
                  sampler: str | None = None, progress: bool = True, record: set[int] | None = None,
                  num_classes: int = 10, initial: np.ndarray | None = None):
    """`count` images in [0, 1] (float32, N x H x W x C), sampled in batches of config.sample_batch.
    `initial`: the starting noise x_T (count x H x W x C) instead of drawing it from `seed`.
    Returns (images, {step index: states in [0, 1]} for the recorded steps)."""
    from genlab.progress import bar

    steps = config.sample_steps if steps is None else steps
    eta = config.eta if eta is None else eta
    guidance = config.guidance if guidance is None else guidance
    sampler = sampler or config.sampler
    alpha_bar = alpha_bar_of(config)
    image_shape = tuple(network.inputs[0].shape[1:])
    rng = np.random.default_rng(seed)
    batches = [slice(start, min(start + config.sample_batch, count)) for start in range(0, count, config.sample_batch)]
    meter = bar(len(batches) * steps, f"sampling {count} ({sampler}, {steps} steps)", unit="step") if progress else None
    images, recorded = [], {}
    try:
        for part in batches:
            size = part.stop - part.start
            x_T = (rng.standard_normal((size,) + image_shape) if initial is None else initial[part]).astype("float32")
            part_labels = None if labels is None else np.asarray(labels[part], dtype="int32").reshape(-1, 1)
            predict = noise_predictor(network, config, part_labels, guidance, num_classes)
            x0, kept = reverse_process(predict, x_T, alpha_bar, steps, sampler=sampler, eta=eta, rng=rng, record=record,
                                       on_step=meter.update if meter is not None else None)
            images.append(x0)
            for index, states in kept.items():
                recorded.setdefault(index, []).append(states)
    finally:
        if meter is not None:
            meter.close()
    to_unit = lambda x: np.clip((x + 1.0) / 2.0, 0.0, 1.0).astype("float32")   # noqa: E731
    return to_unit(np.concatenate(images)), {index: to_unit(np.concatenate(parts)) for index, parts in recorded.items()}
