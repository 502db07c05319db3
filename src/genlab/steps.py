"""The only backend-specific code in genlab: computing gradients and compiling a step.

Custom training loops (GANs) write their step with backend-agnostic `keras.ops` and call
`minimize(loss_fn, variables, optimizer)` for each network; `compile_step` turns the step into
a graph where the backend has one. Adding a backend means adding a branch here, nothing else.

- tensorflow: GradientTape + `tf.function` (one compiled graph per step; oneDNN kernels).
- torch: eager autograd (`loss.backward()`), as Keras' own torch trainer does.
- jax: needs a stateless step (variables threaded through); not supported for custom loops yet.
"""
from __future__ import annotations

from typing import Callable, Sequence

import keras

from genlab.errors import GenlabError


def backend() -> str:
    return keras.backend.backend()


def check_custom_loop_supported(what: str) -> None:
    if backend() == "jax":
        raise GenlabError(f"{what} training needs the tensorflow or torch backend (jax needs a stateless step, not written yet); use --backend tensorflow")


def minimize(loss_fn: Callable[[], tuple], variables: Sequence, optimizer):
    """Run loss_fn() -> (loss, extras), apply the loss' gradients to `variables`.

    Returns (loss, extras, gradient_norm): the global L2 norm of the gradients, so a caller can
    spot divergence at the very step it happens (a NaN batch can leave a clipped loss finite).
    """
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, extras = loss_fn()
            # Mixed precision: scale the loss so small bf16 gradients survive (a no-op in float32).
            scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        gradients = tape.gradient(scaled, variables)
        optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    if name == "torch":
        import torch

        for variable in variables:
            variable.value.grad = None
        loss, extras = loss_fn()
        scaled = optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss
        scaled.backward()
        gradients = [variable.value.grad for variable in variables]
        with torch.no_grad():
            optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    check_custom_loop_supported("this")
    raise GenlabError(f"backend '{name}' is not supported for custom training loops")


def input_gradients(function: Callable, inputs):
    """d sum(function(inputs)) / d inputs, differentiable itself (for gradient penalties).

    Called inside a `minimize` loss function, so the outer gradient flows through it."""
    inputs = keras.ops.convert_to_tensor(inputs)
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = function(inputs)
        return tape.gradient(outputs, inputs)
    if name == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        outputs = function(inputs)
        return torch.autograd.grad(outputs.sum(), inputs, create_graph=True)[0]
    check_custom_loop_supported("gradient-penalty")
    raise GenlabError(f"backend '{name}' is not supported for gradient penalties")


def global_norm(gradients) -> "keras.KerasTensor":
    from keras import ops

    return ops.sqrt(sum(ops.sum(ops.square(ops.cast(gradient, "float32"))) for gradient in gradients if gradient is not None))


def compile_step(step: Callable) -> Callable:
    """A compiled version of `step` where the backend offers one (TensorFlow graph)."""
    if backend() == "tensorflow":
        import tensorflow as tf

        # XLA (jit_compile) was measured far slower for these convolutions on CPU; plain graphs use oneDNN.
        return tf.function(step, jit_compile=False, reduce_retracing=True)
    return step


def steps_per_execution(requested: int) -> int:
    """Batches per compiled call: Keras' torch trainer runs one at a time."""
    return 1 if backend() == "torch" else requested


def to_numpy(value):
    return keras.ops.convert_to_numpy(value)
