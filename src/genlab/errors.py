"""genlab's user-facing errors.

Anything a user can cause (a wrong path, a corrupt file, an unknown config key, a NaN loss)
raises a `GenlabError` subclass whose message is one line naming the problem and the fix.
The CLI prints that line and exits with status 2 instead of showing a traceback.
"""


class GenlabError(Exception):
    """Base class: a problem the user can fix. str(error) is the one-line message."""


class DataError(GenlabError):
    """A dataset is missing, corrupt, or of the wrong shape."""


class ConfigError(GenlabError):
    """A config key or value is invalid."""


class RunError(GenlabError):
    """A run folder is missing, incomplete, or unwritable."""


class DivergenceError(GenlabError):
    """Training produced a NaN/Inf loss or exploding weights."""


class UnsafeModelError(GenlabError):
    """A model file would need to run arbitrary code to load."""
