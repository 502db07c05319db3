"""Langevin dynamics on an energy, as one compiled loop (keras.ops.fori_loop).

One step moves every image downhill on the energy and adds Gaussian noise:

    x <- clip(x - step_size * clip(dE/dx, -c, c) + noise * xi,  low, high),   xi ~ N(0, I)

With noise = sqrt(2 * step_size) and no clipping this is the unadjusted Langevin algorithm,
whose samples follow p(x) ~ exp(-E(x)) as the step size goes to 0; energy-based models of
images use a smaller noise (a lower temperature) and clip the gradient, as the field's
recipes do. With noise 0 it is plain gradient descent on E.

The loop runs inside whatever compiles it (the training step, or `Sampler`'s compiled chain):
TensorFlow a while loop in the graph, JAX a lax loop inside jit; torch runs eagerly, as all its
steps do. The noise comes from a keras SeedGenerator whose state is carried through the loop
(a StatelessScope per draw), so the same seed draws the same chain on every call.
"""
from __future__ import annotations

import numpy as np


def _normal(shape, seed_generator, state):
    """N(0, 1) noise of `shape` drawn with the generator at `state`; (noise, the next state).
    The state travels as a loop variable: a variable assigned inside a compiled loop would
    leak the loop's tracers on JAX."""
    import keras

    with keras.StatelessScope(state_mapping=[(seed_generator.state, state)]) as scope:
        values = keras.random.normal(shape, seed=seed_generator)
        following = scope.get_current_value(seed_generator.state)
    return values, following


def langevin(energy, x, *, steps, step_size, noise, seed_generator, gradient_clip: float = 0.0, low=0.0, high=1.0,
             known=None, keep=None):
    """`steps` Langevin steps on `energy` (a function of a batch -> (batch,) or (batch, 1))
    from `x`; returns the last x. `steps`, `step_size` and `noise` may be tensors (one
    compiled program for every value). `low`/`high`: the box x is clipped to (None: none).
    `known`, `keep`: where keep is 1, x is held at known (completions, restoring only the
    damaged pixels). Advances `seed_generator` past the draws."""
    from keras import ops

    from genlab.backend import input_gradients

    x = ops.convert_to_tensor(x, "float32")
    shape = ops.shape(x)
    step_size = ops.cast(step_size, "float32")
    noise = ops.cast(noise, "float32")
    if keep is not None:
        keep = ops.cast(keep, "float32") > 0.5
        known = ops.cast(known, "float32")
        x = ops.where(keep, known, x)

    def body(_, carry):
        x, state = carry
        gradient = input_gradients(energy, x)                                              # (batch, H, W, C)
        if gradient_clip:
            gradient = ops.clip(gradient, -gradient_clip, gradient_clip)
        drawn, state = _normal(shape, seed_generator, state)
        x = x - step_size * gradient + noise * drawn
        if low is not None or high is not None:
            x = ops.clip(x, -np.inf if low is None else low, np.inf if high is None else high)
        if keep is not None:
            x = ops.where(keep, known, x)
        return ops.stop_gradient(x), state

    x, state = ops.fori_loop(0, steps, body, (x, ops.convert_to_tensor(seed_generator.state.value)))
    seed_generator.state.assign(state)
    return x


class Sampler:
    """A network's Langevin chain, compiled once (steps, step size and noise are its inputs):
    what generating, completing, restoring and the chain figure run.

    chain(x, known, keep, steps, step_size, noise) -> x after `steps` steps, the noise drawn
    from the sampler's own seed generator (`reseed` sets it)."""

    def __init__(self, network, gradient_clip: float = 0.0):
        import keras

        from genlab import backend

        self.network, self.gradient_clip = network, float(gradient_clip)
        self.seed_generator = keras.random.SeedGenerator(0)
        self.chain = backend.compile_step(self._chain, [self.seed_generator.state, *network.variables])
        self.energies = backend.compile_inference(lambda images: network(images, training=False)[:, 0])

    def _chain(self, x, known, keep, steps, step_size, noise):
        return langevin(lambda images: self.network(images, training=False), x, steps=steps, step_size=step_size,
                        noise=noise, seed_generator=self.seed_generator, gradient_clip=self.gradient_clip,
                        known=known, keep=keep)

    def reseed(self, seed: int) -> None:
        from genlab.backend import to_numpy

        state = np.asarray(to_numpy(self.seed_generator.state))
        self.seed_generator.state.assign(np.array([seed, 0]).astype(state.dtype))

    def run(self, x: np.ndarray, *, steps: int, step_size: float, noise: float, known=None, keep=None) -> np.ndarray:
        """x (float32 N x H x W x C) after `steps` steps: float32 in [0, 1]."""
        from genlab.backend import to_numpy

        x = np.asarray(x, np.float32)
        if steps <= 0:
            return x
        known = x if known is None else np.asarray(known, np.float32)
        keep = np.zeros(x.shape[:1] + (1,) * (x.ndim - 1), np.float32) if keep is None else np.asarray(keep, np.float32)
        keep = np.broadcast_to(keep, x.shape).astype(np.float32)
        out = self.chain(x, known, keep, np.asarray(steps, np.int32), np.asarray(step_size, np.float32),
                         np.asarray(noise, np.float32))
        return np.asarray(to_numpy(out), np.float32)

    def energy(self, images: np.ndarray, batch: int = 500) -> np.ndarray:
        """E(x) of float32 images in [0, 1]: float64 (N,)."""
        from genlab.backend import to_numpy

        images = np.asarray(images, np.float32)
        return np.concatenate([np.asarray(to_numpy(self.energies(images[start:start + batch])), np.float64).reshape(-1)
                               for start in range(0, len(images), batch)]) if len(images) else np.zeros(0)
