"""The textbook loop as genlab's benchmark reference: the chapter's printed programs
(genlab.textbook), run and timed the way `genlab bench` reads a reference.

    python -m genlab.textbook.reference gan --steps 63 --data-dir DIR --json out.json
    python -m genlab.textbook.reference ae --epochs 6 --data-dir DIR --json out.json

Recipes: classifier, ae (the autoencoder), dae (the denoising autoencoder), gan. Options:
--data-dir (a folder of the four MNIST IDX .gz files; default: genlab's data folders),
--epochs / --steps to shorten a program, --samples FILE.npz (gan: 10000 images of the trained
generator, N x 28 x 28 in [0, 1]), --seed, --json. The figures are off (they are not part of
the timed work); `genlab textbook` runs the same programs with them.

The JSON holds the program's timings, measured as it runs: seconds per epoch (the median
epoch, the first left out) or seconds per step (after 3 warm-up steps), the training's
wall-clock seconds, and its test metrics. Any script with this interface (`main(argv)`, the
same options and keys) can stand in: `genlab bench --reference PATH`, e.g. an independent
reimplementation, to cross-check this one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

WARMUP_STEPS = 3


def recipes() -> dict:
    """Recipe name -> the program's module (each module declares its RECIPE)."""
    from genlab import textbook

    programs = [textbook.module(program) for program in textbook.PROGRAMS]
    return {code.RECIPE: code for code in programs}


def _fit_recipe(code, data, epochs: int | None) -> dict:
    from genlab.textbook.common import epoch_timer, psnr_db, seconds_per_epoch

    timer = epoch_timer()
    started = time.perf_counter()
    result = code.program(data, epochs=epochs or code.EPOCHS, callbacks=[timer], verbose=0)
    wall = time.perf_counter() - started
    own = {"seconds_per_epoch": seconds_per_epoch(timer.times), "train_wall_s": wall}
    if "test_mse" in result:
        own.update(test_mse=result["test_mse"], test_psnr_db=psnr_db(result["test_mse"]))
    if "noisy_mse" in result:
        own.update(noise_factor=result["noise_factor"], noisy_mse=result["noisy_mse"],
                   noisy_psnr_db=psnr_db(result["noisy_mse"]))
    if "test_accuracy" in result:
        own.update(test_loss=result["test_loss"], test_accuracy=result["test_accuracy"])
    return own


def _step_recipe(gan, data, steps: int | None, samples: str | None) -> dict:
    """The GAN's loop, timed step by step through its on_step hook."""
    import numpy as np

    steps = steps or gan.EPOCHS
    clock: dict[str, float] = {}

    def on_step(step, d_metrics, a_metrics):
        if step == min(WARMUP_STEPS, steps):
            clock["timed_from"] = time.perf_counter()
        clock["last"] = time.perf_counter()

    result = gan.program(data, epochs=steps, on_step=on_step, verbose=0)
    timed = steps - min(WARMUP_STEPS, steps)
    wall = clock["last"] - clock["timed_from"]
    own = {"steps": steps, "seconds_per_step": wall / max(timed, 1), "train_wall_s": wall,
           "d_loss_last": result["d_loss_last"], "g_loss_last": result["g_loss_last"]}
    if samples:
        noise = np.random.uniform(-1.0, 1.0, size=[10000, gan.Z_DIMENSIONS])
        started = time.perf_counter()
        images = result["generator"].predict(noise, batch_size=500, verbose=0)[..., 0]
        own["sample_images_per_s"] = 10000 / (time.perf_counter() - started)
        np.savez_compressed(samples, images=images.astype("float32"))
        own["samples"] = str(samples)
    return own


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.textbook.reference", description=__doc__.splitlines()[0])
    programs = recipes()
    parser.add_argument("recipe", choices=list(programs))
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--samples", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    for name in ("epochs", "steps"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name} must be at least 1, got {value}")

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import numpy as np

    np.random.seed(args.seed)
    import keras

    from genlab.textbook.common import load_data

    keras.utils.set_random_seed(args.seed)
    folder = Path(args.data_dir) if args.data_dir else None
    data = load_data(folder) if folder is None else _load_folder(folder)
    code = programs[args.recipe]
    if code.UNIT == "steps":
        own = _step_recipe(code, data, args.steps, args.samples)
    else:
        own = _fit_recipe(code, data, args.epochs)
    result = {"recipe": args.recipe, "backend": keras.backend.backend(), "reference": "genlab.textbook", **own}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


def _load_folder(folder: Path):
    """The four MNIST IDX files of `folder`, as load_data gives them."""
    from genlab import data

    loaded = data.load(folder)
    return ((loaded.x_train[..., 0], loaded.y_train.astype("uint8")), (loaded.x_test[..., 0], loaded.y_test.astype("uint8")))


if __name__ == "__main__":
    sys.exit(main())
