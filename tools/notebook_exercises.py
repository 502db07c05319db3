"""Measure the numbers quoted in notebooks/answers.md: each "Try it" exercise of the chapter
notebooks, trained as a student would (genlab.notebook at QUICK = True) on the embedded mnist-5k.

    python tools/notebook_exercises.py --out runs/exercises          # all of them, about 40 minutes on 2 cores
    python tools/notebook_exercises.py --only ae,dae --out runs/ex    # some of them

Prints one line per run (the setting changed, its headline numbers) and writes them to
OUT/exercises.json. Offline-safe: the dataset is mnist-5k whatever the network. The `loop` group runs
the Python blocks of answers.md's 3-1 after the notebook's own network cell (section 3.2), so the
answer's code is the code measured.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

GROUPS = {
    "classifier": [{}, {"hidden_units": (128, 128)}, {"hidden_units": (16, 16)}],
    "ae": [{"latent_dim": size} for size in (2, 8, 32, 64)],
    "dae": [{"noise_factor": level, "clip_noisy": clip} for level in (0.3, 0.55, 0.8) for clip in (False, True)],
    "gan": [{"latent_dim": size} for size in (8, 32, 128)],
    "preset": [{"preset": "default"}],   # the chapter preset at the same budget is gan's latent_dim=32 row
    "vae2": [{"family": "vae", "preset": "default", "latent_dim": 2}, {"family": "ae", "latent_dim": 2}],
}
EXTRA = ("hidden", "denoise", "loop")   # measured by their own functions below


def sample_scores(run, samples: int) -> dict:
    """FID and friends of `samples` new images of a run, against the test set."""
    import genlab

    evaluation = genlab.evaluate(run.path, count=samples)
    row = next(values for name, values in evaluation.rows.items() if name.endswith("samples"))
    return {"fid": round(row["fid"], 2), "precision": round(row["precision"], 3), "recall": round(row["recall"], 3),
            "class_coverage": round(row["class_coverage"], 2)}


def hidden_units(lab) -> dict:
    """1-2: how many of the 64 ReLU units are on, per test digit, in each hidden layer."""
    import keras

    model = lab.train("classifier", seed=0).load_model()
    pixels = lab.x_test.reshape(len(lab.x_test), -1)
    result = {}
    for name in ("hidden_1", "hidden_2"):
        values = keras.Model(model.inputs, model.get_layer(name).output).predict(pixels, verbose=0)
        active = (values > 0).sum(axis=1)
        result[name] = {"mean_active": round(float(active.mean()), 1), "never_active": int((values.max(axis=0) <= 0).sum())}
    return result


def denoising(lab) -> dict:
    """2-3: the chapter's DAE (trained on 0.55, unclipped) called directly (genlab.denoise clips its
    input), on test digits 11-20 and on the whole test set, under 0.3 clipped and 0.55 unclipped noise."""
    import numpy as np

    model = lab.train("dae", seed=0).load_model()
    result = {}
    for label, images in (("digits 11-20", lab.x_test[11:21]), ("test set", lab.x_test)):
        for level, clip in ((0.3, True), (0.55, False)):
            noisy = images + level * np.random.default_rng(7).standard_normal(images.shape)
            noisy = np.clip(noisy, 0, 1) if clip else noisy
            denoised = model.predict(noisy.reshape(len(noisy), -1), verbose=0)
            error = float(np.mean((denoised - images.reshape(len(images), -1)) ** 2))
            result[f"{label}, {level}{' clipped' if clip else ''}"] = round(error, 4)
    return result


def answer_blocks(number: str) -> list[str]:
    """The ```python blocks under '### NUMBER' in notebooks/answers.md."""
    text = (ROOT / "notebooks" / "answers.md").read_text(encoding="utf-8")
    section = re.search(rf"^### {re.escape(number)}\n(.*?)(?=^##)", text, re.S | re.M).group(1)
    return re.findall(r"```python\n(.*?)```", section, re.S)


def network_cell() -> str:
    """The notebook's section 3.2 cell: the chapter's generator and discriminator, functional API."""
    import nbformat

    notebook = nbformat.read(ROOT / "notebooks" / "chapter12.en.ipynb", as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code" and "Z_DIMENSIONS = 32" in cell.source)


def loops(lab) -> dict:
    """3-1: the notebook's loop cell of section 3.3 for 200 steps (toggling `trainable`), then the
    answer's GradientTape step for 200 steps, each on fresh networks; D's accuracy and losses."""
    import keras
    import nbformat
    import numpy as np

    notebook = nbformat.read(ROOT / "notebooks" / "chapter12.en.ipynb", as_version=4)
    loop = next(cell.source for cell in notebook.cells if cell.cell_type == "code" and "stacked_gan" in cell.source)
    loop = loop.replace("range(10)", "range(200)").replace(
        "    g_loss, g_accuracy = stacked_gan.train_on_batch(noise, np.ones([BATCH_SIZE, 1]))",
        "    g_loss, g_accuracy = stacked_gan.train_on_batch(noise, np.ones([BATCH_SIZE, 1]))\n"
        "    if step % 20 == 0 or step == 199:\n        print(step, d_loss, d_accuracy, g_loss)")
    checksum = lambda network: float(sum(np.abs(weight).sum() for weight in network.get_weights()))  # noqa: E731
    result = {}
    for name, blocks in (("toggle", [loop]), ("tape", answer_blocks("3-1"))):
        keras.utils.set_random_seed(0)
        np.random.seed(0)
        namespace = {"np": np, "keras": keras, "layers": keras.layers, "x_train": lab.x_train, "checksum": checksum}
        output = io.StringIO()
        started = time.perf_counter()
        with contextlib.redirect_stdout(output):
            exec(network_cell().replace("discriminator.summary()", "").replace("generator.summary()", ""), namespace)
            namespace["BATCH_SIZE"] = 128
            for block in blocks:
                exec(block, namespace)
        lines = [line.split() for line in output.getvalue().splitlines() if re.match(r"\d+ ", line)]
        result[name] = {"seconds": round(time.perf_counter() - started, 1),
                        "log": [[int(fields[0])] + [round(float(value), 3) for value in fields[1:]] for fields in lines]}
        print(json.dumps({name: result[name]}), flush=True)
    return result


def headline(family: str, run, samples: int) -> dict:
    metrics = dict(run.metrics)
    if family == "classifier":
        return {"test_accuracy": round(metrics["test_accuracy"], 4)}
    numbers = {key: round(metrics[key], 4) for key in ("test_mse", "noisy_mse", "baseline_mean_mse") if key in metrics}
    if family in ("ae", "dae"):
        return numbers
    numbers.update(sample_scores(run, samples))
    if "seconds_per_step" in metrics:
        numbers["seconds_per_step"] = round(metrics["seconds_per_step"], 3)
    return numbers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for the runs and exercises.json")
    parser.add_argument("--only", default=",".join((*GROUPS, *EXTRA)), help=f"comma-separated groups of {', '.join((*GROUPS, *EXTRA))}")
    args = parser.parse_args(argv)
    os.environ.setdefault("GENLAB_NOTEBOOK_DATASET", "mnist-5k")
    from genlab import notebook

    out = Path(args.out)
    lab = notebook.start(quick=True, root=out / "runs")
    results = []
    for group in args.only.split(","):
        if group in EXTRA:
            row = {"group": group, **{"hidden": hidden_units, "denoise": denoising, "loop": loops}[group](lab)}
            results.append(row)
            print(json.dumps(row), flush=True)
            (out / "exercises.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
            continue
        for settings in GROUPS[group]:
            settings = dict(settings)
            family = settings.pop("family", "gan" if group == "preset" else group)
            preset = settings.pop("preset", "chapter")
            started = time.perf_counter()
            run = lab.train(family, preset=preset, seed=0, **settings)   # a setting given: a folder of its own
            numbers = headline(family, run, lab.samples)
            if group == "vae2" and family == "ae":
                numbers.update(sample_scores(run, lab.samples))
            row = {"group": group, "family": family, "preset": preset, "settings": settings,
                   "seconds": round(time.perf_counter() - started, 1), **numbers}
            results.append(row)
            print(json.dumps(row), flush=True)
            (out / "exercises.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
