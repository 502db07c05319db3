"""Choosing the Keras backend and describing the machine: `configure`, the `--backend auto`
table, the installed backends, the device kind, `info`, seeding, and whether bfloat16 is fast here.

Keras reads KERAS_BACKEND once, at its first import, so `configure` must run before anything
imports keras. genlab's default is TensorFlow (measured fastest for the chapter's conv GAN on
CPUs with oneDNN); `--backend` or KERAS_BACKEND choose another.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from typing import Sequence

from genlab.backend.quiet import _import_quietly
from genlab.errors import GenlabError

BACKENDS = ("tensorflow", "jax", "torch")
_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
_EXTRAS = {"tensorflow": "cpu", "jax": "jax", "torch": "torch"}


def configure(name: str | None = None, family: str | None = None, architecture: str | None = None) -> str:
    """Select the backend (argument > $KERAS_BACKEND > tensorflow) and check it is installed.

    "auto" picks, for `family` (and its network `architecture`, e.g. "dense") on this machine's
    device kind, the backend `genlab bench backends` measured fastest (`choose_auto`); the choice
    and its reason are kept in `last_choice()`."""
    name = name or os.environ.get("KERAS_BACKEND") or "tensorflow"
    if name == "auto":
        name, reason = choose_auto(family, device_kind_guess(), installed_backends(), auto_table(), architecture)
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != name:
            # auto is a preference: in a process whose Keras already runs (a notebook, tests) it
            # keeps that backend instead of failing.
            current = sys.modules["keras"].backend.backend()
            reason = f"auto: {current}, the backend keras was already imported with (else: {reason.removeprefix('auto: ')})"
            name = current
        if _CHOICE.get("reason") != reason:   # said once, however often configure is called
            import logging

            logging.getLogger("genlab.backend").info(reason)
        _CHOICE.update(backend=name, reason=reason)
    if name not in BACKENDS:
        raise GenlabError(f"unknown backend '{name}'; choose one of {', '.join(BACKENDS)} or auto")
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


# ---------------------------------------------------------------------------- --backend auto
# What "auto" chose in this process (for `genlab info` and the run's metrics.json).
_CHOICE: dict[str, str] = {}
AUTO_TABLE = "backend_choice.json"   # in genlab/assets: written from `genlab bench backends` measurements


def last_choice() -> dict[str, str]:
    """{"backend": ..., "reason": ...} when `configure("auto")` ran in this process, else {}."""
    return dict(_CHOICE)


def installed_backends() -> list[str]:
    """The backends whose package is importable here (found without importing it)."""
    return [backend for backend in BACKENDS if importlib.util.find_spec(_PACKAGES[backend]) is not None]


def device_kind_guess() -> str:
    """"gpu" when this machine shows an NVIDIA GPU to this process, else "cpu", decided without
    importing any backend (Keras reads its backend once, so "auto" must choose before that)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return "cpu"
    try:
        return "gpu" if os.listdir("/proc/driver/nvidia/gpus") else "cpu"
    except OSError:
        return "cpu"


def auto_table() -> dict:
    """The shipped table: {"cpu": {family: backend}, "gpu": {...}, "source": how it was measured}."""
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parents[1] / "assets" / AUTO_TABLE).read_text(encoding="utf-8"))


def choose_auto(family: str | None, device_kind: str, installed: Sequence[str], table: dict,
                architecture: str | None = None) -> tuple[str, str]:
    """(backend, one-line reason) for `family` on `device_kind` ("cpu" or "gpu"): the fastest
    measured backend among the installed ones; tensorflow (genlab's default) where the table has
    no entry or its winner is not installed. An entry "FAMILY:ARCHITECTURE" (e.g. "ae:dense",
    measured with --set architecture=dense) wins over the family's default-network entry
    "FAMILY". A pure function (the tests give it every case)."""
    entries = table.get(device_kind) or {}
    key = f"{family}:{architecture}" if family and architecture and f"{family}:{architecture}" in entries else family
    fastest = entries.get(key) if key else None
    label = f"{family} ({architecture})" if key and ":" in key else family
    source = table.get("source", "genlab bench backends")
    if fastest is None:
        what = f"no measurement for {label} on {device_kind}" if family else "no model family to choose for"
        return "tensorflow", f"auto: tensorflow, genlab's default ({what} in {source})"
    if fastest not in installed:
        return "tensorflow", (f"auto: tensorflow, genlab's default ({fastest} is fastest for {label} on {device_kind} "
                              f"in {source} but is not installed)")
    return fastest, f"auto: {fastest}, fastest for {label} on {device_kind} in {source}"


def device_kind() -> str:
    """"gpu" or "cpu": where the configured backend computes (asked of the backend itself)."""
    backend = name()
    if backend == "tensorflow":
        import tensorflow as tf

        return "gpu" if tf.config.list_logical_devices("GPU") else "cpu"
    if backend == "torch":
        import torch

        return "gpu" if torch.cuda.is_available() else "cpu"
    if backend == "jax":
        import jax

        return "cpu" if jax.devices()[0].platform == "cpu" else "gpu"
    return "cpu"


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
    if _CHOICE:
        details["backend_choice"] = _CHOICE["reason"]
    kind = device_kind_guess()
    picks = auto_table().get(kind) or {}
    details[f"auto on {kind}"] = ", ".join(f"{family.replace(':', ' ')} {pick}" for family, pick in picks.items()) or "tensorflow for every family"
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


def name() -> str:
    """The Keras backend in use."""
    import keras

    return keras.backend.backend()


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


# ---------------------------------------------------------------------------- other processes' backend
def requested(name: str | None = None) -> str | None:
    """The backend asked for: the argument, else $KERAS_BACKEND (None when neither names one)."""
    return name or os.environ.get("KERAS_BACKEND")


def default_backend(name: str) -> None:
    """Make `name` this process' backend unless $KERAS_BACKEND already names one (before keras is imported)."""
    os.environ.setdefault("KERAS_BACKEND", name)


def subprocess_environment(name: str, **extra: str) -> dict[str, str]:
    """The environment for a child Python process on backend `name` (Keras reads KERAS_BACKEND at
    its first import), TensorFlow's C++ chatter silenced, with `extra` variables added."""
    return dict(os.environ, KERAS_BACKEND=name, TF_CPP_MIN_LOG_LEVEL="3", **extra)
