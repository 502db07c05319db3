"""genlab: a lab for generative image models, from a textbook chapter to honest baselines.

Importing genlab does not import Keras: the backend is chosen first (genlab.backend.configure).
Every capability is a Python function (the `genlab` command calls these):

    import genlab
    run = genlab.train("classifier", preset="chapter")      # -> genlab.runs.Run
    run.metrics["test_accuracy"]
    images = genlab.sample("runs/gan-...", 16, seed=0)      # float32 16 x 28 x 28 x 1 in [0, 1]
    genlab.evaluate("runs/gan-...").rows                    # FID, KID, precision, recall...
    help(genlab.train)
"""
__version__ = "0.1.0"

from genlab.api import (  # noqa: E402,F401
    DEFAULT_SEED,
    Evaluation,
    PretrainedModel,
    config_help,
    denoise,
    encode,
    evaluate,
    export,
    interpolate,
    latent_space,
    open_run,
    pretrained_models,
    reconstruct,
    report,
    sample,
    save_images,
    train,
)
from genlab.chapter import run_chapter  # noqa: E402,F401
from genlab.density import Likelihood, complete, likelihood  # noqa: E402,F401
from genlab.out_of_distribution import OutOfDistribution, ood  # noqa: E402,F401
from genlab.explorer import explore  # noqa: E402,F401
from genlab.inventory import datasets, evaluators, info, load_dataset, train_evaluator  # noqa: E402,F401
