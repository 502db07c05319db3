"""The chapter notebooks' set-up, kept out of the students' way: data, training budgets, run folders, figures.

    from genlab import notebook
    lab = notebook.start(quick=True)          # backend, data, budgets, a run folder for this notebook
    gan = lab.train("gan")                    # the chapter preset at the notebook's budget
    ae8 = lab.train("ae", latent_dim=8)       # the same, with one setting changed (the exercises)
    lab.show(gan.figures / "losses.png")      # a PNG that genlab wrote, shown in the notebook

`quick=True` uses the budgets of `genlab run chapter --quick` (genlab.chapter.quick_budgets), sized to
the data actually present; `quick=False` trains every program with its preset as it is. Two
environment variables serve the notebook's own checks: GENLAB_NOTEBOOK_BUDGET=ci cuts every training
to seconds on the embedded mnist-5k (the tests), and GENLAB_NOTEBOOK_DATASET names the dataset
(the HTML previews use mnist-5k, so they need no download).
"""
from __future__ import annotations

import io
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

BUDGET_VARIABLE = "GENLAB_NOTEBOOK_BUDGET"
DATASET_VARIABLE = "GENLAB_NOTEBOOK_DATASET"
FAMILIES = ("classifier", "ae", "dae", "gan", "vae", "cgan")
# The few lines the helper prints, in the notebook's language (the Korean notebook passes "ko").
MESSAGES = {
    "en": {"data": "{name}: {train} training and {test} test images; {budget}; Keras backend {backend}; runs in {root}",
           "budget": {"ci": "CI budgets (seconds of training)", "quick": "quick budgets", "full": "the chapter's budgets"},
           "epochs": "epochs: {count}", "steps": "steps: {count} of {batch} images", "trained": "{name}: {preset}, {length}, {seconds:.0f} s -> {path}",
           "total": "total", "seconds": "{seconds:7.1f} s"},
    "ko": {"data": "{name}: 훈련 이미지 {train}장, 테스트 이미지 {test}장; {budget}; Keras 백엔드 {backend}; 실행 폴더 {root}",
           "budget": {"ci": "CI 예산(몇 초짜리 학습)", "quick": "빠른 설정", "full": "책의 설정"},
           "epochs": "{count} 에포크", "steps": "{count} 스텝 × 배치 {batch}", "trained": "{name}: {preset}, {length}, {seconds:.0f}초 -> {path}",
           "total": "합계", "seconds": "{seconds:7.1f}초"},
}
# The CI budget: seconds of training per program, enough for every figure to exist.
CI_BUDGETS: dict[str, dict[str, Any]] = {
    "classifier": {"epochs": 1}, "ae": {"epochs": 2}, "dae": {"epochs": 2}, "vae": {"epochs": 1},
    "gan": {"steps": 40, "batch_size": 32, "sample_every": 20, "checkpoint_every": 40, "log_every": 10},
    "cgan": {"steps": 20, "batch_size": 32, "sample_every": 10, "checkpoint_every": 20, "log_every": 10},
}


def budgets(quick: bool, train_images: int, fast_bfloat16: bool, ci: bool = False) -> dict[str, dict[str, Any]]:
    """Per family, the settings that set its training length in the notebook.

    quick: the `genlab run chapter --quick` budgets for `train_images` training images; beyond the
    chapter, the VAE sees one full-MNIST epoch's worth of images (60,000) and the cGAN gets the GAN's
    budget. Not quick: nothing changed (each preset as it is). ci: the CI budget, whatever `quick`."""
    from genlab import chapter

    if ci:
        return {name: dict(settings) for name, settings in CI_BUDGETS.items()}
    if not quick:
        return {name: {} for name in FAMILIES}
    result = chapter.quick_budgets(train_images, fast_bfloat16)
    result["vae"] = {"epochs": max(1, math.ceil(60_000 / train_images))}
    result["cgan"] = dict(result["gan"])
    return result


def samples_to_score(quick: bool, ci: bool = False) -> int:
    """How many generated images `genlab.evaluate` scores in the notebook."""
    return 200 if ci else 1000 if quick else 10000


def same_network(written, trained) -> bool:
    """True when two Keras models have the same weights, shape for shape, in the same order: the
    network written out in a notebook cell is the one genlab trained."""
    return [tuple(weight.shape) for weight in written.weights] == [tuple(weight.shape) for weight in trained.weights]


@dataclass
class Lab:
    """One notebook's data, budgets and run folder (made by `start`)."""

    quick: bool
    ci: bool
    dataset: str                       # the dataset name given to every training
    data: Any                          # genlab.data.Dataset, uint8 images and labels
    x_train: np.ndarray                # float32 (N, 28, 28, 1) in [0, 1]
    x_test: np.ndarray
    root: Path                         # this notebook's run folders
    budgets: dict[str, dict[str, Any]]
    samples: int                       # images scored by genlab.evaluate
    language: str = "en"               # of the lines the helper prints: "en" or "ko"
    times: dict[str, float] = field(default_factory=dict)   # seconds of training per run

    def train(self, family: str, preset: str = "chapter", **settings: Any):
        """Train `family` with `preset` at this notebook's budget and return its genlab.runs.Run.

        Settings given by key change the preset (`lab.train("ae", latent_dim=8)`); such a run gets
        its own folder, so the notebook's main runs stay as they are."""
        from genlab import api, sessions

        overrides = {"dataset": self.dataset, **self.budgets.get(family, {}), **settings}
        started = time.perf_counter()
        if settings:
            run = sessions.train(family, preset=preset, overrides=overrides, runs_root=self.root)
        else:
            run = sessions.train(family, preset=preset, overrides=overrides, out=self.root / family)
        name = run.path.name
        self.times[name] = time.perf_counter() - started
        config = api.open_run(run.path)[2]   # the settings written to the run's config.toml
        words = MESSAGES[self.language]
        length = (words["epochs"].format(count=config.epochs) if hasattr(config, "epochs")
                  else words["steps"].format(count=config.steps, batch=config.batch_size))
        print(words["trained"].format(name=name, preset=preset, length=length, seconds=self.times[name], path=run.path),
              flush=True)
        return run

    def show(self, path) -> None:
        """Show a PNG that genlab wrote, in the notebook."""
        from IPython.display import Image, display

        display(Image(filename=str(path)))

    def show_figure(self, figure) -> None:
        """Show a matplotlib figure as a PNG, whatever matplotlib's backend, and close it."""
        import matplotlib.pyplot as plt
        from IPython.display import Image, display

        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        plt.close(figure)
        display(Image(data=buffer.getvalue()))

    def times_table(self) -> str:
        """Seconds of training per run, and the total, one line each."""
        words = MESSAGES[self.language]
        rows = [*self.times.items(), (words["total"], sum(self.times.values()))]
        return "\n".join(f"{name:24s} {words['seconds'].format(seconds=seconds)}" for name, seconds in rows)


def start(quick: bool = True, *, language: str = "en", root: str | Path | None = None,
          backend_name: str | None = None) -> Lab:
    """Set up a chapter notebook: choose the Keras backend (before Keras is imported), load MNIST
    (offline: the embedded mnist-5k, said in one warning line), size the budgets and name the run
    folder `notebook-runs/<date>-<time>` (or `root`). Prints what it chose, in `language` ("en" or "ko")."""
    from genlab import backend, data
    from genlab.errors import GenlabError

    if language not in MESSAGES:
        raise GenlabError(f"language must be one of {', '.join(MESSAGES)}, got {language!r}")
    backend.configure(backend_name)
    backend.quiet_tensorflow()
    ci = os.environ.get(BUDGET_VARIABLE) == "ci"
    dataset = os.environ.get(DATASET_VARIABLE) or ("mnist-5k" if ci else "mnist")
    loaded = data.load(dataset)
    x_train, x_test = data.to_float(loaded.x_train), data.to_float(loaded.x_test)
    lab = Lab(quick=quick, ci=ci, dataset=dataset, data=loaded, x_train=x_train, x_test=x_test,
              root=Path(root) if root is not None else Path("notebook-runs") / time.strftime("%Y%m%d-%H%M%S"),
              budgets=budgets(quick, len(x_train), backend.fast_bfloat16(), ci), samples=samples_to_score(quick, ci),
              language=language)
    words = MESSAGES[language]
    setting = words["budget"]["ci" if ci else "quick" if quick else "full"]
    print(words["data"].format(name=loaded.name, train=len(x_train), test=len(x_test), budget=setting,
                               backend=backend.name(), root=lab.root), flush=True)
    return lab
