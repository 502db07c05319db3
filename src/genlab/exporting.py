"""`genlab export`: a run's generator, decoder or denoiser for clients outside genlab.

    OUT/                       a new folder, written whole or not at all
        model.onnx             --format onnx (ONNX Runtime, onnx.js, ...)
        saved_model.pb         --format savedmodel (TensorFlow, TF Serving; endpoint `serve`)
        variables/
        genlab-export.json     what to feed it: input names, shapes, dtypes and the latent law
                               genlab draws from (with the numpy call), the output's shape and range

Keras writes both formats itself (`model.export(..., format="tf_saved_model" | "onnx")`; ONNX on
the TensorFlow backend goes through tf2onnx: `pip install -e ".[export]"`). Every exported
model takes and gives images as N x H x W x C float32 in [0, 1] (a dense network's flat vectors
are reshaped inside the exported graph), so a client needs no knowledge of the architecture.
The family decides what is exported (`Family.export`): GANs their generator, the VAE and AE
their decoder, the DAE its denoiser.
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

from genlab.errors import ConfigError, GenlabError, RunError

FORMATS = ("onnx", "savedmodel")
DESCRIPTION = "genlab-export.json"
ONNX_FILE = "model.onnx"
SAVEDMODEL_ENDPOINT = "serve"


# ---------------------------------------------------------------------------- helpers for the families
def image_shape(shape: Sequence[int | None]) -> tuple[int, int, int]:
    """A network's per-image output shape as H x W x C (a dense network's flat 784 -> 28 x 28 x 1)."""
    shape = tuple(int(side) for side in shape)
    if len(shape) == 1:
        side = int(round(math.sqrt(shape[0])))
        return (side, side, 1)
    return shape


def latent_input(name: str, dim: int, distribution: str, genlab_draws: str, **law: Any) -> dict:
    """One latent input's description: its shape and the law genlab draws it from."""
    return {"name": name, "shape": [None, int(dim)], "dtype": "float32", "distribution": distribution, **law,
            "genlab_draws": genlab_draws}


def label_input(num_classes: int) -> dict:
    return {"name": "label", "shape": [None, 1], "dtype": "int32", "num_classes": int(num_classes),
            "meaning": f"the class to draw, 0 .. {int(num_classes) - 1}"}


def image_model(network, inputs: Sequence[dict], image_shape: tuple[int, int, int] | None = None):
    """`network` wrapped so that its inputs carry the names in `inputs` and image inputs/outputs are
    N x H x W x C (Reshape layers inside the graph; no Lambda, so the export stays safe to load)."""
    import keras
    from keras import layers

    tensors, fed = [], []
    for spec in inputs:
        tensor = keras.Input(shape=tuple(spec["shape"][1:]), dtype=spec["dtype"], name=spec["name"])
        tensors.append(tensor)
        wanted = tuple(network.inputs[len(fed)].shape[1:])
        fed.append(tensor if tuple(tensor.shape[1:]) == wanted else layers.Reshape(wanted)(tensor))
    output = network(fed if len(fed) > 1 else fed[0])
    shape = image_shape or globals()["image_shape"](network.output_shape[1:])
    if tuple(output.shape[1:]) != shape:
        output = layers.Reshape(shape)(output)
    return keras.Model(tensors if len(tensors) > 1 else tensors[0], output, name=f"{network.name}_export")


# ---------------------------------------------------------------------------- writing
def check_format(format: str) -> str:
    if format not in FORMATS:
        raise ConfigError(f"export format '{format}' is unknown; choose {' or '.join(FORMATS)}")
    return format


def missing_requirement(format: str) -> str | None:
    """What the format needs and is not installed (None: all there)."""
    from genlab import backend

    needed = backend.export_requirements(format)
    missing = [name for name in dict.fromkeys(needed) if importlib.util.find_spec(name) is None]
    return ", ".join(missing) if missing else None


@contextlib.contextmanager
def atomic_folder(out: Path, force: bool) -> Iterator[Path]:
    """A temporary folder beside `out`, renamed to `out` when the block succeeds: a failed or
    interrupted export leaves nothing (and an existing `out` replaced with force stays until then)."""
    out = Path(out)
    if out.exists() and not force:
        raise RunError(f"{out} already exists; choose another --out or pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise RunError(f"{out} exists and is not a folder; choose another --out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as error:
        raise RunError(f"cannot write to {out.parent}: {error.strerror}; choose a writable --out") from error
    old = None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if out.exists():
            # Moved aside, not deleted, until the new folder is in place.
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(tmp, out)
    except OSError as error:
        if old is not None and not out.exists():
            os.replace(old / out.name, out)
        raise RunError(f"cannot write {out}: {error.strerror}; check the folder's permissions") from error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write(model, description: dict, out: Path, format: str, force: bool = False) -> Path:
    """Export `model` as `format` into the new folder `out` with genlab-export.json beside it."""
    import warnings

    import numpy as np

    from genlab import io, outputs

    format = check_format(format)
    missing = missing_requirement(format)
    if missing:
        raise GenlabError(f"exporting to {format} needs {missing}, which is not installed; pip install -e \".[export]\"")
    with atomic_folder(out, force) as folder:
        # Keras' ONNX export traces a model that has been called at least once.
        model([np.zeros((1, *tensor.shape[1:]), dtype=tensor.dtype) for tensor in model.inputs]
              if len(model.inputs) > 1 else np.zeros((1, *model.inputs[0].shape[1:]), dtype=model.inputs[0].dtype))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # tf2onnx's and TensorFlow's deprecation chatter
            try:
                if format == "onnx":
                    model.export(str(folder / ONNX_FILE), format="onnx", verbose=False)
                else:
                    model.export(str(folder), format="tf_saved_model", verbose=False)
            except (ImportError, ValueError, TypeError, RuntimeError, NotImplementedError) as error:
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise GenlabError(f"Keras could not export this {description.get('role', 'model')} as {format} ({first})") from error
        description = dict(description, format=format)
        if format == "onnx":
            description["file"] = ONNX_FILE
            description["output"] = dict(description["output"], name=_onnx_output_name(folder / ONNX_FILE))
        else:
            description["endpoint"] = SAVEDMODEL_ENDPOINT
        io.write_json(folder / DESCRIPTION, description)
        outputs.mark_folder(folder, "export")   # what --force may replace next time, and nothing else
    return Path(out)


def _onnx_output_name(path: Path) -> str | None:
    try:
        import onnx

        return onnx.load(str(path), load_external_data=False).graph.output[0].name
    except Exception:  # the name is a convenience; the file itself is what matters
        return None
