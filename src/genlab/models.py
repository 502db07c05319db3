"""Loading saved models safely.

`.keras` files are loaded with Keras' safe mode on, and before that the archive's config is
scanned: a `Lambda` layer (or any other object whose loading runs arbitrary Python) is refused
with a clear message instead of a deep Keras traceback.
"""
from __future__ import annotations

import collections
import hashlib
import json
import zipfile
import zlib
from pathlib import Path

from genlab.errors import RunError, UnsafeModelError

# What reading a damaged archive raises: bad zip structure or CRC, a cut-off member, garbled JSON
# (ValueError covers JSONDecodeError and UnicodeDecodeError), an unreadable HDF5 weights file.
_DAMAGED = (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, zlib.error)

# Layers whose config carries Python code (bytecode or a function name to import).
_CODE_CARRYING = {"Lambda", "TFOpLambda", "SlicingOpLambda"}


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def check_safe(path: str | Path) -> None:
    from genlab.paths import describe_path_problem

    path = Path(path)
    problem = describe_path_problem(path, "file")
    if problem is not None:
        raise RunError(f"model file {problem}; check the path (a run folder holds model.keras)")
    try:
        with zipfile.ZipFile(path) as archive:
            # Every member's CRC first: a flipped byte in the weights is then this one line, not an
            # error from deep inside Keras' loader.
            bad_member = archive.testzip()
            if bad_member is not None:
                raise zipfile.BadZipFile(f"bad CRC-32 for {bad_member}")
            config = json.loads(archive.read("config.json"))
    except _DAMAGED as error:
        raise RunError(f"{path} is not a valid .keras model file ({_first_line(error)}); "
                       "re-save it with model.save('x.keras'), or restore it from a copy") from error
    for node in _walk(config):
        if isinstance(node.get("class_name"), str) and node["class_name"] in _CODE_CARRYING:
            raise UnsafeModelError(f"{path} contains a {node['class_name']} layer, whose loading would run arbitrary code; genlab refuses it (rebuild the model without Lambda layers)")
        if node.get("class_name") == "__lambda__" or "function_type" in node and node.get("function_type") == "lambda":
            raise UnsafeModelError(f"{path} contains serialised Python code; genlab refuses it")


def _import_registered_layers(path: Path) -> None:
    """Import the genlab modules that define the registered layers (genlab>NAME) a model file
    names: a family's own layers are registered with Keras when their module is imported, which
    happens only once that family is used, and a file is loaded from wherever genlab needs it."""
    import importlib

    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    modules = {node["module"] for node in _walk(config)
               if str(node.get("registered_name", "")).startswith("genlab>") and isinstance(node.get("module"), str)}
    for module in sorted(modules):
        if not module.startswith("genlab.") or module.rsplit(".", 1)[-1].startswith("_"):
            raise RunError(f"{path} names layers of {module}, which is no module of genlab's layers; restore the file from a copy")
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise RunError(f"{path} names layers of {module}, which this genlab does not have; "
                           "update genlab, or restore the file from a copy") from error


def load_model(path: str | Path, compile: bool = False):
    """Load a `.keras` file with safe mode on, after refusing code-carrying layers."""
    import keras

    check_safe(path)
    _import_registered_layers(Path(path))
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except ValueError as error:
        if "safe_mode" in str(error):
            raise UnsafeModelError(f"Keras refused to load {path} in safe mode: {_first_line(error)}") from error
        raise RunError(f"{path} is damaged ({_first_line(error)}); restore it from a copy or train the run again") from error
    except (_DAMAGED + (TypeError,)) as error:   # TypeError: a config naming classes Keras does not know
        raise RunError(f"{path} is damaged ({_first_line(error)}); restore it from a copy or train the run again") from error


# Inference models loaded by Run.load_model, newest last: calling genlab.sample ten times reuses one
# model and its compiled predict function instead of tracing a new one per call (TensorFlow warns
# about "retracing" after a few). Keyed by the file's identity and content digest, so a file that
# changed (retrained, replaced, damaged) is loaded again.
_INFERENCE_CACHE: "collections.OrderedDict[tuple, object]" = collections.OrderedDict()
INFERENCE_CACHE_SIZE = 8


def load_inference_model(path: str | Path):
    """load_model for inference (never trained further): the same file gives the same model object."""
    path = Path(path)
    try:
        status = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return load_model(path)   # its own clear error
    key = (str(path.resolve()), status.st_size, status.st_mtime_ns, digest)
    if key in _INFERENCE_CACHE:
        _INFERENCE_CACHE.move_to_end(key)
        return _INFERENCE_CACHE[key]
    model = direct_predict(load_model(path))
    _INFERENCE_CACHE[key] = model
    while len(_INFERENCE_CACHE) > INFERENCE_CACHE_SIZE:
        _INFERENCE_CACHE.popitem(last=False)
    return model


def direct_predict(model):
    """Give an inference model a `predict` that calls its compiled predict function directly
    (`predict_on_batch`, one call per `batch_size` rows), the same images as Keras' `predict`.

    Keras' `predict` builds a data adapter, an epoch iterator and callbacks on every call: about
    50 ms on 2 cores around a network that draws one image in about 1 ms. Sampling, the explorer
    and the canvas call it once per request, so that overhead was most of a request's time.
    Inputs other than arrays (a dataset, a generator) and `steps` or `callbacks` go to Keras'
    own predict. Returns the model (its class unchanged: only this instance's method is replaced)."""
    import numpy as np

    keras_predict = model.predict

    def predict(x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        parts = list(x) if isinstance(x, (list, tuple)) else [x]
        plain = parts and all(isinstance(part, np.ndarray) and part.ndim >= 1 for part in parts) \
            and len({len(part) for part in parts}) == 1 and len(parts[0]) > 0
        if steps is not None or callbacks or not plain:
            return keras_predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        size, rows = int(batch_size or 32), len(parts[0])
        chunks = []
        for start in range(0, rows, size):
            piece = [part[start:start + size] for part in parts]
            chunks.append(model.predict_on_batch(piece if isinstance(x, (list, tuple)) else piece[0]))
        return _joined(chunks)

    object.__setattr__(model, "predict", predict)     # past Keras' attribute tracking: a plain method
    return model


def _joined(chunks: list):
    """The per-batch outputs of predict_on_batch joined along the batch axis (arrays, lists or dicts of them)."""
    import numpy as np

    first = chunks[0]
    if len(chunks) == 1:
        return first
    if isinstance(first, dict):
        return {key: np.concatenate([chunk[key] for chunk in chunks]) for key in first}
    if isinstance(first, (list, tuple)):
        return type(first)(np.concatenate([chunk[index] for chunk in chunks]) for index in range(len(first)))
    return np.concatenate(chunks)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
