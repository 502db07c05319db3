"""Everything backend-specific in genlab, and nowhere else: choosing the Keras backend,
describing the machine, computing gradients, compiling a step, TensorBoard logging.

Keras reads KERAS_BACKEND once, at its first import, so `configure` must run before anything
imports keras. genlab's default is TensorFlow (measured fastest for the chapter's conv GAN on
CPUs with oneDNN); `--backend` or KERAS_BACKEND choose another.

Custom training loops (the adversarial families) write their step with backend-agnostic
`keras.ops`, keep every piece of state in Keras variables (networks, optimizers, the noise
`SeedGenerator`), and call `minimize(loss_fn, variables, optimizer)` for each network;
`compile_step` turns the step into a graph where the backend has one. A step shaped like that
can also run stateless (variables in, variables out, as JAX needs) by running it inside a
`keras.StatelessScope` over the trainer's `state_variables()`; that branch is not written yet.

- tensorflow: GradientTape + `tf.function` (one compiled graph per step; oneDNN kernels).
- torch: eager autograd (`loss.backward()`), as Keras' own torch trainer does.
- jax: custom loops refused with a clear message until the stateless branch exists.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from typing import Callable, Sequence

from genlab.errors import GenlabError

BACKENDS = ("tensorflow", "jax", "torch")
_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
_EXTRAS = {"tensorflow": "cpu", "jax": "jax", "torch": "torch"}


def configure(name: str | None = None) -> str:
    """Select the backend (argument > $KERAS_BACKEND > tensorflow) and check it is installed."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name not in BACKENDS:
        raise GenlabError(f"unknown backend '{name}'; choose one of {', '.join(BACKENDS)}")
    if "keras" in sys.modules:
        import keras

        current = keras.backend.backend()
        if current != name:
            raise GenlabError(f"keras was already imported with backend '{current}'; set KERAS_BACKEND={name} before starting Python")
        return name
    if importlib.util.find_spec(_PACKAGES[name]) is None:
        raise GenlabError(f"backend '{name}' is not installed; pip install -e \".[{_EXTRAS[name]}]\"")
    os.environ["KERAS_BACKEND"] = name
    # TensorFlow's C++ start-up chatter (oneDNN notices, CUDA probing) hides genlab's own output.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Keras imports TensorFlow (when installed) for tf.data even on the jax and torch backends.
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is not None:
        _import_quietly("tensorflow")
    return name


def _import_quietly(module: str) -> None:
    """Import `module` with the C-level stderr silenced: TF >= 2.20 logs through absl before any
    log level applies. Python exceptions still propagate (they are not written to fd 2 here)."""
    import importlib

    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            importlib.import_module(module)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def info() -> dict[str, str]:
    """Versions, backend and devices, for `genlab info`."""
    import platform

    import keras
    import numpy

    from genlab import __version__

    backend = keras.backend.backend()
    details = {
        "genlab": __version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "keras": keras.__version__,
        "backend": backend,
        "cpu_cores": str(os.cpu_count()),
    }
    if backend == "tensorflow":
        import tensorflow as tf

        details["tensorflow"] = tf.__version__
        details["devices"] = ", ".join(device.name for device in tf.config.list_logical_devices()) or "cpu"
    elif backend == "torch":
        import torch

        details["torch"] = torch.__version__
        details["devices"] = "cuda" if torch.cuda.is_available() else "cpu"
    elif backend == "jax":
        import jax

        details["jax"] = jax.__version__
        details["devices"] = ", ".join(str(device) for device in jax.devices())
    return details


def seed_everything(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


# ---------------------------------------------------------------------------- custom training steps
def name() -> str:
    """The Keras backend in use."""
    import keras

    return keras.backend.backend()


def check_custom_loop_supported(what: str) -> None:
    if name() == "jax":
        raise GenlabError(f"{what} training needs the tensorflow or torch backend (jax needs a stateless step, not written yet); "
                          "use --backend tensorflow")


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

        with tf.GradientTape() as tape:
            loss, extras = loss_fn()
            scaled = _scaled(loss, optimizer)
        gradients = tape.gradient(scaled, variables)
        optimizer.apply(gradients, variables)
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
    check_custom_loop_supported("this")
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
    check_custom_loop_supported("gradient-penalty")
    raise GenlabError(f"backend '{backend}' is not supported for gradient penalties")


def global_norm(gradients):
    from keras import ops

    return ops.sqrt(sum(ops.sum(ops.square(ops.cast(gradient, "float32"))) for gradient in gradients if gradient is not None))


def compile_step(step: Callable) -> Callable:
    """A compiled version of `step` where the backend offers one (TensorFlow graph)."""
    if name() == "tensorflow":
        import tensorflow as tf

        # XLA (jit_compile) was measured far slower for these convolutions on CPU; plain graphs use oneDNN.
        return tf.function(step, jit_compile=False, reduce_retracing=True)
    return step


def steps_per_execution(requested: int) -> int:
    """Batches per compiled call: Keras' torch trainer runs one at a time."""
    return 1 if name() == "torch" else requested


def to_numpy(value):
    import keras

    return keras.ops.convert_to_numpy(value)


# ---------------------------------------------------------------------------- TensorBoard
def tensorboard_callbacks(log_dir) -> list:
    """Keras' TensorBoard callback for fit-trained families, where TensorFlow and tensorboard are installed."""
    import keras

    if name() == "tensorflow" and importlib.util.find_spec("tensorboard"):
        return [keras.callbacks.TensorBoard(log_dir=str(log_dir), write_graph=False)]
    return []


class ScalarLog:
    """TensorBoard scalars for custom loops (the adversarial families): a no-op without TensorFlow."""

    def __init__(self, log_dir):
        self.writer = None
        if name() == "tensorflow" and importlib.util.find_spec("tensorboard"):
            import tensorflow as tf

            self.writer = tf.summary.create_file_writer(str(log_dir))

    def write(self, step: int, values: dict[str, float]) -> None:
        if self.writer is None:
            return
        import tensorflow as tf

        with self.writer.as_default(step=step):
            for key, value in values.items():
                tf.summary.scalar(key, value)
        self.writer.flush()


def fast_bfloat16() -> bool:
    """Whether the processor the backend computes on has fast bfloat16 arithmetic.

    A GPU, when the backend has one, decides: compute capability 8.0 (Ampere) and later have
    bf16 tensor cores. Otherwise the CPU: AVX512-BF16 or AMX-BF16 in /proc/cpuinfo's flags
    (without them TensorFlow emulates bf16 and mixed precision is slower than float32).
    """
    capability = _gpu_compute_capability()
    if capability is not None:
        return capability >= (8, 0)
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[-1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16"})
    except OSError:  # not Linux: no cheap way to ask, so say no (float32 is always correct)
        pass
    return False


def _gpu_compute_capability() -> tuple[int, int] | None:
    """The first GPU's compute capability for the configured backend, or None without a GPU."""
    backend_name = os.environ.get("KERAS_BACKEND") or "tensorflow"
    try:
        if backend_name == "tensorflow" and "tensorflow" in sys.modules:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
                return tuple(capability) if capability else None
        elif backend_name == "torch" and importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                return tuple(torch.cuda.get_device_capability(0))
    except Exception:  # a broken driver must not stop a run: fall back to the CPU's answer
        return None
    return None
