"""Arguments checked where they enter genlab's API: whole numbers in range and seeds, each refused
in one line naming the argument."""
from __future__ import annotations

from typing import Any

import numpy as np

from genlab.errors import ConfigError

DEFAULT_SEED = 0
MAX_SAMPLES = 1_000_000       # one call's images: 1e6 x 784 float32 is already 3 GB
MAX_INTERPOLATION_STEPS = 1000


def count(value: Any, what: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer argument in [minimum, maximum], or a one-line error naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ConfigError(f"{what} must be a whole number, got {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ConfigError(f"{what} must be {bound}, got {value}")
    return value


def seed(value: Any) -> int:
    return count(value, "seed", minimum=0, maximum=2 ** 32 - 1)
