"""TensorFlow made quiet: its C++ start-up chatter at import (`_import_quietly`, used by
`configure`) and its Python-side notices (`quiet_tensorflow`: the "triggered tf.function
retracing" warnings), which say nothing a student can act on."""
from __future__ import annotations

import logging
import os
import sys


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


class _DropRetracingNotices(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


def quiet_tensorflow() -> None:
    """Drop TensorFlow's retracing notices from its Python logger (idempotent; other warnings stay)."""
    if "tensorflow" not in sys.modules:
        return
    logger = logging.getLogger("tensorflow")
    if not any(isinstance(existing, _DropRetracingNotices) for existing in logger.filters):
        logger.addFilter(_DropRetracingNotices())
