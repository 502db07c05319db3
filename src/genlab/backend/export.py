"""What `genlab export` needs installed for a format on the backend in use."""
from __future__ import annotations

from genlab.backend.choice import name


def export_requirements(format: str) -> list[str]:
    """The packages Keras' `model.export` needs for `format` ("onnx" or "savedmodel") on this
    backend (ONNX goes through tf2onnx on tensorflow, and on jax through a TensorFlow graph)."""
    if format == "onnx":
        return {"tensorflow": ["tf2onnx", "onnx"], "jax": ["tensorflow", "tf2onnx", "onnx"],
                "torch": ["onnx"]}.get(name(), ["onnx"])
    return ["tensorflow"]   # a SavedModel is a TensorFlow graph, whatever the backend
