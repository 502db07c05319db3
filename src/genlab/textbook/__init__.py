"""The chapter's four printed programs, shipped with genlab and run as a student runs them.

    classifier   program 1: the functional API, an MNIST classifier   (genlab.textbook.classifier)
    autoencoder  program 2: a dense autoencoder, 784-32-784            (genlab.textbook.autoencoder)
    denoising    program 3: the same network, denoising                 (genlab.textbook.denoising)
    gan          program 4: the chapter's GAN                           (genlab.textbook.gan)

Each module is the printed program, changed only where Keras 3 requires it; its docstring says
exactly what changed (the GAN: `learning_rate=` for `lr=`, and `trainable` set before each
update, without which its discriminator never learns on Keras 3). `genlab textbook PROGRAM`
runs one (`run` here), writing its figures where the printed program shows them.

These are also what genlab is measured against: `genlab bench` runs them through
`python -m genlab.textbook.reference` (the textbook loop, timed as it runs), unless
`--reference PATH` names another script of the same interface.
"""
from __future__ import annotations

import importlib
import time
from pathlib import Path

from genlab.errors import GenlabError

PROGRAMS = ("classifier", "autoencoder", "denoising", "gan")
# Each program's module declares its UNIT ("epochs": fit; "steps": a loop of train_on_batch) and
# its RECIPE (its name in genlab bench and the reference script).


def module(program: str):
    """The module of one program (a one-line error naming the four for anything else)."""
    if program not in PROGRAMS:
        raise GenlabError(f"the chapter has no program '{program}'; choose {', '.join(PROGRAMS[:-1])} or {PROGRAMS[-1]}")
    return importlib.import_module(f"genlab.textbook.{program}")


def run(program: str, *, steps: int | None = None, epochs: int | None = None, out: str | Path | None = None,
        data_dir: str | Path | None = None, dataset: str = "mnist", seed: int = 0, verbose: int = 1) -> dict:
    """Run one of the chapter's printed programs (on Keras 3) as a student would.

    Parameters:
        program: "classifier", "autoencoder", "denoising" or "gan".
        steps: the GAN's training steps (the chapter's EPOCHS = 2000); only for "gan".
        epochs: epochs of the other three (the chapter's: 2, 50, 50).
        out: folder for the figures the program shows and result.json (None: no files).
        data_dir: where MNIST is looked for (default: genlab's data folders, GENLAB_DATA_DIR).
        dataset: "mnist" as printed; "mnist-5k" (genlab's embedded digits) for a quick try.
        seed: random seed of numpy, Python and the backend.
        verbose: 0 silent, 1 what the printed program prints (summaries, progress, results).

    Returns:
        The program's results: test metrics, training seconds ("train_wall_s") and the
        figures written ("figures", paths).

    Example:
        >>> from genlab import textbook
        >>> result = textbook.run("gan", steps=300, out="textbook-gan")
        >>> result["d_loss_last"], result["figures"][-1]
    """
    from genlab import backend
    from genlab.checks import count
    from genlab.textbook.common import Figures, epoch_timer, load_data, seconds_per_epoch

    code = module(program)
    unit = code.UNIT
    given, other = (steps, epochs) if unit == "steps" else (epochs, steps)
    if other is not None:
        wrong = "--epochs" if unit == "steps" else "--steps"
        raise GenlabError(f"the {program} program trains in {unit}: use --{unit}, not {wrong}")
    length = code.EPOCHS if given is None else count(given, f"--{unit}")
    folder = None
    if out is not None:
        from genlab import outputs

        folder = outputs.folder_target(out, option="--out")
    backend.default_backend("tensorflow")
    import keras

    keras.utils.set_random_seed(seed)
    data = load_data(data_dir, dataset)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    figures = Figures(folder)
    started = time.perf_counter()
    if unit == "steps":
        result = code.program(data, epochs=length, figures=figures, verbose=verbose)
        result["steps"] = length
    else:
        timer = epoch_timer()
        result = code.program(data, epochs=length, figures=figures, callbacks=[timer], verbose=verbose)
        result["epochs"] = length
        result["seconds_per_epoch"] = seconds_per_epoch(timer.times)
    result = {key: value for key, value in result.items() if isinstance(value, (int, float, str))}
    result.update(program=program, dataset=dataset, seed=seed, train_wall_s=time.perf_counter() - started,
                  keras=keras.__version__, backend=keras.backend.backend(), figures=[str(path) for path in figures.written])
    if folder is not None:
        from genlab import io, outputs

        io.write_json(folder / "result.json", result)
        outputs.mark_folder(folder, "textbook")
    return result


def default_out(program: str) -> Path:
    """textbook/PROGRAM-<time> (a second run in the same second gets its own folder)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, suffix = Path("textbook") / f"{program}-{stamp}", 1
    while path.exists():
        suffix += 1
        path = Path("textbook") / f"{program}-{stamp}-{suffix}"
    return path


def summary(result: dict) -> str:
    """What a run of a printed program gave, in a few lines."""
    length = f"{result['steps']} steps" if "steps" in result else f"{result['epochs']} epochs"
    figures = {
        "test_accuracy": lambda value: f"test accuracy {value:.4f}",
        "test_mse": lambda value: f"test MSE {value:.4f}",
        "noisy_mse": lambda value: f"(noisy input {value:.4f})",
        "d_loss_last": lambda value: f"last step: D loss {value:.3f}",
        "d_accuracy_last": lambda value: f"D accuracy {value:.2f}",
        "g_loss_last": lambda value: f"G loss {value:.3f}",
    }
    said = ", ".join(text(result[key]) for key, text in figures.items() if key in result)
    lines = [f"textbook {result['program']}: {length} in {result['train_wall_s']:.0f} s on {result['dataset']}; {said}"]
    if result.get("figures"):
        folder = Path(result["figures"][0]).parent
        lines.append(f"wrote {len(result['figures'])} figure(s) and result.json to {folder}/")
    return "\n".join(lines)
