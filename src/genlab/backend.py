"""Choosing the Keras backend, and describing the machine.

Keras reads KERAS_BACKEND once, at its first import, so `configure` must run before anything
imports keras. genlab's default is TensorFlow (measured fastest for the chapter's conv GAN on
CPUs with oneDNN); `--backend` or KERAS_BACKEND choose another.
"""
from __future__ import annotations

import importlib.util
import os
import sys

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
    name = os.environ.get("KERAS_BACKEND") or "tensorflow"
    try:
        if name == "tensorflow" and "tensorflow" in sys.modules:
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
                return tuple(capability) if capability else None
        elif name == "torch" and importlib.util.find_spec("torch") is not None:
            import torch

            if torch.cuda.is_available():
                return tuple(torch.cuda.get_device_capability(0))
    except Exception:  # a broken driver must not stop a run: fall back to the CPU's answer
        return None
    return None
