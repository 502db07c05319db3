"""`genlab run chapter`: the whole chapter end to end, with the chapter's recipes.

classifier -> ae -> dae -> gan, each trained with its `chapter` preset into one folder, the GAN
scored by the shipped evaluator beside the two reference rows, one HTML report over all four,
and a closing table of the headline numbers.

`--quick` is "the chapter, visibly working, in about 3 minutes on a 2-core laptop": the same
networks, losses and optimizers, with budgets sized to the data actually present (the embedded
4000-digit mnist-5k needs many more epochs than full MNIST for the same number of updates) and
the GAN in mixed bfloat16 where the processor computes bf16 fast. See `quick_budgets`.
"""
from __future__ import annotations

import datetime as _dt
import math
import time
from pathlib import Path

PROGRAMS = ("classifier", "ae", "dae", "gan")

# --quick budgets, in images seen (epochs x training images), measured on mnist-5k and full MNIST
# (README, "The chapter in three minutes"):
# - classifier: the chapter trains 2 epochs over 48,000 images. mnist-5k's 3,200 training images
#   (after the 20% validation split) reached 0.933 test accuracy in 30 epochs where 1 epoch gave
#   0.854, with validation accuracy flat (~0.91) from epoch 8 on and validation loss rising from
#   epoch 11 (overfitting): 20 epochs, 64,000 images seen, keep the accuracy and most of the time.
CLASSIFIER_IMAGES = 64_000
# - ae / dae: the chapter's 50 epochs are cheap on 4,000 images (16 batches each) and bring the
#   test MSE to a third of the per-pixel mean image's (0.022 / 0.031 against 0.068). On full MNIST
#   50 epochs take ~35 s each; 4 epochs (200,000 images) gave 0.020 / 0.028 but DAE outputs too
#   blurred to read some digits, so 600,000 images: 10 epochs there, and still 50 on mnist-5k.
AUTOENCODER_IMAGES = 600_000
# - gan: recognisable digits need updates more than images. Measured in mixed bf16 on mnist-5k,
#   FID of 1000 samples (mean image 108, real images 0.15) after about 70 s and 120 s of training:
#   batch 128: 300 steps 39, 400 steps 37, blobs; batch 64: 300 steps 46; batch 16: 1000 steps 45;
#   batch 32: 600 steps 31, 900 steps 27, 1200 steps 23, digits from about 900 steps on.
#   So 1200 steps of 32 (~2.5 minutes on 2 cores), whatever the dataset's size.
GAN_QUICK = {"steps": 1200, "batch_size": 32, "sample_every": 200, "checkpoint_every": 1200, "log_every": 20}

SAMPLES_SHOWN = 50   # the GAN's chapter figure: this many samples, 5 rows of 10


def quick_budgets(train_images: int, bf16: bool) -> dict[str, dict]:
    """Per program, the --quick overrides of the chapter preset for a training set of `train_images`."""
    classifier_train = int(train_images * 0.8)   # the chapter preset's validation_split is 0.2
    autoencoder_epochs = min(50, max(1, math.ceil(AUTOENCODER_IMAGES / train_images)))
    return {
        "classifier": {"epochs": max(2, math.ceil(CLASSIFIER_IMAGES / classifier_train))},
        "ae": {"epochs": autoencoder_epochs},
        "dae": {"epochs": autoencoder_epochs},
        "gan": {**GAN_QUICK, "dtype_policy": "mixed_bfloat16" if bf16 else "float32"},
    }


def _run_chapter(out: str | Path | None = None, quick: bool = False, data_dir=None, dataset: str = "mnist",
                samples: int | None = None, verbose: int = 0) -> Path:
    from genlab import api, backend, data
    from genlab.console import table
    from genlab.report_html import build, headline

    backend.configure(None)
    backend.quiet_tensorflow()
    root = Path(out) if out else Path("runs") / f"chapter-{_dt.datetime.now():%Y%m%d-%H%M%S}"
    root.mkdir(parents=True, exist_ok=True)
    # Loaded once here: the data source is decided (and any fallback said) before anything trains,
    # and the budgets follow the data actually present.
    present = data.load(dataset, data_dir)
    train_images = len(present.x_train)
    budgets = quick_budgets(train_images, backend.fast_bfloat16()) if quick else {}
    count = samples or (1000 if quick else 10000)
    print(f"genlab: the chapter{' (quick)' if quick else ''} on {present.name} ({train_images} training images) -> {root}",
          flush=True)
    overall = time.perf_counter()
    rows, paths = [], []
    for number, family in enumerate(PROGRAMS, start=1):
        overrides = {"dataset": dataset, **budgets.get(family, {})}
        started = time.perf_counter()
        run = api.train(family, preset="chapter", overrides=overrides, out=root / family, data_dir=data_dir,
                        verbose=verbose, print_summary=False)
        evaluation = {}
        if family == "gan":
            evaluation = evaluate_samples(run.path, count, data_dir)
            samples_figure(run.path, evaluation, data_dir)
        seconds = time.perf_counter() - started
        lines = headline(family, run.read_metrics(), evaluation)
        print(f"{number}/{len(PROGRAMS)} {family}: " + "; ".join(f"{quantity} {value}" for quantity, value, _ in lines)
              + f" ({seconds:.0f} s)", flush=True)
        for position, (quantity, value, against) in enumerate(lines):
            rows.append([family if position == 0 else "", quantity, value, against,
                         round(seconds) if position == 0 else ""])
        paths.append(run.path)
    total = time.perf_counter() - overall
    subtitle = f"{present.name}, {train_images} training images, {total:.0f} s"
    page = build(paths, root / "report.html", title=f"genlab: the chapter{' (quick)' if quick else ''}",
                        subtitle=subtitle)
    print(table(["program", "headline", "value", "compared with", "s"], rows,
                title=f"the chapter on {present.name} in {total:.0f} s"))
    print(f"report: {page}")
    return page


def evaluate_samples(run_path: Path, count: int, data_dir=None) -> dict:
    """Score `count` samples of a generative run beside the two reference rows; written to
    RUN/evaluation.json (the report's sample-quality table) and returned."""
    from genlab import api, io
    from genlab.report_html import EVALUATION_FILE

    rows = api.evaluate(run_path, count=count, seed=0, reference=True, data_dir=data_dir).rows
    result = {"count": count, "rows": rows, "num_classes": _reference(run_path, data_dir).dataset.num_classes}
    io.write_json(Path(run_path) / EVALUATION_FILE, result)
    return result


def samples_figure(run_path: Path, evaluation_result: dict, data_dir=None) -> Path:
    """The GAN's chapter figure: SAMPLES_SHOWN samples, each titled with the class the evaluator sees."""
    import numpy as np

    from genlab import api, plotting
    from genlab.runs import Run

    run = Run.open(run_path)
    images = api.sample(run_path, SAMPLES_SHOWN, seed=1)
    reference = _reference(run_path, data_dir)
    _, probabilities = reference.evaluator.embed(np.asarray(images, dtype="float32"))
    names = reference.dataset.class_names
    titles = [f"{names[index]} ({probabilities[row, index]:.0%})" for row, index in enumerate(probabilities.argmax(axis=1))]
    steps = run.read_metrics().get("steps", "?")
    return plotting.grid(images, run.figures / "samples.png", columns=10, cell=1.1, titles=titles,
                         title=f"{SAMPLES_SHOWN} samples after {steps} steps, titled with the evaluator's class and confidence")


def _reference(run_path: Path, data_dir=None):
    """The evaluator and real-image features for the run's dataset (computed once per process)."""
    from genlab import api, evaluation

    _, _, config = api.open_run(run_path)
    return evaluation.real_reference(config.dataset, data_dir, image_size=getattr(config, "image_size", None),
                                     channels=getattr(config, "image_channels", None))


def run_chapter(out: str | Path | None = None, *, quick: bool = False, data_dir: str | Path | None = None,
                dataset: str = "mnist", samples: int | None = None, verbose: int = 0) -> Path:
    """The whole chapter end to end: classifier, ae, dae and gan with their `chapter` presets,
    the GAN scored by the evaluator, and one HTML report over all four.

    Parameters:
        out: the folder for the four runs and the report (default runs/chapter-<date>-<time>).
        quick: short budgets sized to the data present (genlab.chapter.quick_budgets): minutes.
        data_dir: where to find the dataset (as for `train`).
        dataset: "mnist" or "fashion-mnist".
        samples: how many GAN samples to score (default 1000 quick, 10000 otherwise).
        verbose: 1 shows progress bars.

    Returns:
        The path of the HTML report (in `out`, beside the four run folders).

    Example:
        >>> page = genlab.run_chapter(quick=True)
    """
    from genlab import outputs
    from genlab.checks import MAX_SAMPLES, count

    if out is not None:
        outputs.folder_target(out, option="--out")   # an existing, non-empty folder is refused before anything trains
    if samples is not None:
        samples = count(samples, "samples", minimum=10, maximum=MAX_SAMPLES)
    return _run_chapter(out, quick, data_dir, dataset, samples, verbose)
