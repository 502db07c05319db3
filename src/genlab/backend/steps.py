"""Custom training steps: gradients, compilation, and reading values back.

Custom training loops (the adversarial families) write their step with backend-agnostic
`keras.ops`, keep every piece of state in Keras variables (networks, optimizers, the noise
`SeedGenerator`), and call `minimize(loss_fn, variables, optimizer)` for each network;
`compile_step(step, state_variables)` turns the step into a graph where the backend has one,
and `compile_steps` runs several steps in one call (a loop inside that graph).

- tensorflow: GradientTape + `tf.function` (one compiled graph per step; oneDNN kernels).
- torch: eager autograd (`loss.backward()`), as Keras' own torch trainer does.
- jax: the same stateful step, run stateless (`genlab.backend.jax_stateless`): `jax.jit` of
  (state values, batch) -> (new state values, outputs). Gradients are `jax.value_and_grad` of
  the trainable values (see `minimize`).
"""
from __future__ import annotations

from typing import Callable, Sequence

from genlab.backend.choice import name
from genlab.backend.jax_stateless import _jax_compiled, _jax_stateless
from genlab.backend.parallel import _DATA_PARALLEL, _tf_replicated
from genlab.errors import GenlabError


def _scaled(loss, optimizer):
    # Mixed precision: the optimizer scales the loss where it needs to (a no-op in float32 and bf16).
    return optimizer.scale_loss(loss) if hasattr(optimizer, "scale_loss") else loss


def minimize(loss_fn: Callable[[], tuple], variables: Sequence, optimizer):
    """Run loss_fn() -> (loss, extras), apply the loss' gradients to `variables`.

    Returns (loss, extras, gradient_norm): the global L2 norm of the gradients, so a caller can
    spot divergence at the very step it happens (a NaN batch can leave a clipped loss finite).
    """
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()   # None in cross-replica context
        replicas = context.num_replicas_in_sync if context is not None else 1
        with tf.GradientTape() as tape:
            loss, extras = loss_fn()
            # MirroredStrategy: loss_fn sees this replica's B/N examples and Keras' optimizer sums
            # the replicas' gradients, so dividing the local mean by N makes that sum the gradient
            # of the global batch's mean (the one scaling by the global batch).
            scaled = _scaled(loss / replicas if replicas > 1 else loss, optimizer)
        gradients = tape.gradient(scaled, variables)
        optimizer.apply(gradients, variables)
        if replicas > 1:   # the norm of the summed (global) gradient, as on one device
            gradients = context.all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        return loss, extras, global_norm(gradients)
    if backend == "torch":
        import torch

        for variable in variables:
            variable.value.grad = None
        loss, extras = loss_fn()
        _scaled(loss, optimizer).backward()
        gradients = [variable.value.grad for variable in variables]
        with torch.no_grad():
            optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    if backend == "jax":
        import jax

        variables = list(variables)

        def scaled_loss(values):
            (loss, extras), updated, new_values = _jax_stateless(loss_fn, zip(variables, values))
            written[:] = updated
            return _scaled(loss, optimizer), (loss, extras, new_values)

        written = []   # the variables loss_fn assigned (BatchNorm statistics, dropout seeds), found while tracing
        (_, (loss, extras, new_values)), gradients = jax.value_and_grad(scaled_loss, has_aux=True)(
            [variable.value for variable in variables])
        for variable, value in zip(written, new_values):
            variable.assign(value)
        optimizer.apply(gradients, variables)
        return loss, extras, global_norm(gradients)
    raise GenlabError(f"backend '{backend}' is not supported for custom training loops")


def input_gradients(function: Callable, inputs):
    """d sum(function(inputs)) / d inputs, differentiable itself (for gradient penalties).

    Called inside a `minimize` loss function, so the outer gradient flows through it."""
    import keras

    inputs = keras.ops.convert_to_tensor(inputs)
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = function(inputs)
        return tape.gradient(outputs, inputs)
    if backend == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        outputs = function(inputs)
        return torch.autograd.grad(outputs.sum(), inputs, create_graph=True)[0]
    if backend == "jax":
        import jax

        written = []   # (no annotation: TensorFlow's AutoGraph converts this function too and rejects annotated nonlocals)

        def total(x):
            outputs, updated, new_values = _jax_stateless(lambda: function(x), ())
            written[:] = updated
            return keras.ops.sum(outputs), new_values

        # jax.grad nests: the outer minimize differentiates through this gradient.
        gradients, new_values = jax.grad(total, has_aux=True)(inputs)
        for variable, value in zip(written, new_values):
            variable.assign(value)
        return gradients
    raise GenlabError(f"backend '{backend}' is not supported for gradient penalties")


def global_norm(gradients):
    from keras import ops

    return ops.sqrt(sum(ops.sum(ops.square(ops.cast(gradient, "float32"))) for gradient in gradients if gradient is not None))


def compile_step(step: Callable, state_variables: Sequence = ()) -> Callable:
    """A compiled version of `step` where the backend offers one (TensorFlow graph, JAX jit).

    `state_variables` are every Keras variable the step reads or writes; JAX threads their
    values through a pure function (the other backends update the variables in place).
    Inside `data_parallel(n)` with n > 1 the step's arguments (the global batch, split along
    their first axis) are spread over the devices: see `data_parallel`."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        # XLA (jit_compile) was measured far slower for these convolutions on CPU; plain graphs use oneDNN.
        if _DATA_PARALLEL.strategy is not None:
            return tf.function(_tf_replicated(step, _DATA_PARALLEL.strategy), jit_compile=False, reduce_retracing=True)
        return tf.function(step, jit_compile=False, reduce_retracing=True)
    if backend == "jax":
        return _jax_compiled(step, state_variables, _DATA_PARALLEL.batch_sharding)
    return step


def compile_inference(function: Callable) -> Callable:
    """A compiled version of a function that only reads Keras variables (a network applied to
    arrays, no assignment): a TensorFlow graph, a `jax.jit` (the weights become constants of
    the compiled program: build it again after they change), torch as is, without autograd."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(function, jit_compile=False, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(function)
    import torch

    def no_grad(*args):
        with torch.no_grad():
            return function(*args)
    return no_grad


def compile_steps(step: Callable, state_variables: Sequence = ()) -> Callable | None:
    """Several steps in one compiled call (what Keras' `steps_per_execution` does for fit):
    `steps(*stacked)` runs `step` on stacked[i] for i = 0..n-1 in order, where every argument
    has the step's own shape with a leading axis of n, and returns the step's outputs stacked
    the same way, a (n,) array for each scalar. The updates are those of n calls of
    `compile_step(step)`; what goes is the host's work between them (one dispatch, one copy of
    the batches, no Python per step), which is what a fast GPU step waits on.

    - tensorflow: a `tf.while_loop` in one graph (each data-parallel iteration a `strategy.run`);
    - jax: `jax.lax.scan` inside one `jax.jit`, the state threaded as the loop's carry;
    - torch: None (Keras' torch trainer also runs one batch per call: see `steps_per_execution`).

    A loop, not n copies of the step: tracing and compiling cost the same whatever n is (one copy
    of the step on jax, two on tensorflow, which traces the first iteration apart)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        one = _tf_replicated(step, _DATA_PARALLEL.strategy) if _DATA_PARALLEL.strategy is not None else step

        def steps(*stacked):
            count = tf.shape(stacked[0])[0]
            # The first step is traced outside the loop: its outputs' names and dtypes shape the
            # loop's TensorArrays (the step is traced twice, once per copy, not n times).
            first = one(*(argument[0] for argument in stacked))
            arrays = {key: tf.TensorArray(tf.convert_to_tensor(value).dtype, size=count).write(0, value)
                      for key, value in first.items()}

            def body(index, arrays):
                outputs = one(*(argument[index] for argument in stacked))
                return index + 1, {key: arrays[key].write(index, outputs[key]) for key in arrays}

            _, arrays = tf.while_loop(lambda index, _: index < count, body, (tf.constant(1), arrays))
            return {key: array.stack() for key, array in arrays.items()}

        return tf.function(steps, jit_compile=False, reduce_retracing=True)
    if backend == "jax":
        return _jax_compiled(step, state_variables, _DATA_PARALLEL.batch_sharding, stacked=True)
    return None


def steps_per_execution(requested: int) -> int:
    """Batches per compiled call: Keras' torch trainer runs one at a time. (Keras' jax trainer
    accepts any value: it loops over its jitted one-batch step, so the updates are the same.)"""
    return 1 if name() == "torch" else requested


def sync_fit_state(model) -> None:
    """Before a fit callback reads a model's or optimizer's variables mid-epoch: on jax, Keras'
    fit keeps them in its own state between epochs (the variables themselves are emptied) and
    this writes them back; on tensorflow and torch the variables are always current."""
    if name() == "jax":
        model.jax_state_sync()


def to_numpy(value):
    import keras

    # Several JAX processes: a replicated array spans devices this process cannot address; its
    # local copy holds the whole value.
    if isinstance(value, keras.Variable):
        value = value.value
    if getattr(value, "is_fully_addressable", True) is False and getattr(value, "is_fully_replicated", False):
        value = value.addressable_data(0)
    return keras.ops.convert_to_numpy(value)
