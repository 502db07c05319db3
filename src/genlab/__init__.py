"""genlab: a lab for generative image models, from a textbook chapter to honest baselines.

Importing genlab does not import Keras: the backend is chosen first (genlab.backend.configure).
The Python API mirrors the CLI:

    import genlab
    run = genlab.train("classifier", preset="chapter")      # -> genlab.runs.Run
    run.read_metrics()["test_accuracy"]
"""
__version__ = "0.1.0"

from genlab.api import train, open_run, sample  # noqa: E402,F401
