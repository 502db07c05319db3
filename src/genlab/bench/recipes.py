"""`genlab bench gan|ae|dae|classifier|limit|evaluate|diffusion`: genlab's chapter recipes against
the reference script, same machine, same run, and this machine's own figures.

The reference is the textbook loop: the chapter's printed programs shipped with genlab
(genlab.textbook, run as `python -m genlab.textbook.reference`), so every comparison runs from
a clone. `--reference PATH` (or GENLAB_REFERENCE) names another script with the same interface
instead, such as an independent reimplementation to cross-check against. It runs in a
subprocess and reports its own timings; genlab's side is timed here. Results are medians over several timed
windows after a warm-up (the machines are shared and noisy), with the ratio reference/genlab:
above 1 means genlab is faster.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from genlab.errors import GenlabError
from genlab.console import table


def shipped_reference() -> Path:
    """The textbook loop shipped with genlab: genlab/textbook/reference.py."""
    from genlab.textbook import reference

    return Path(reference.__file__).resolve()


def find_reference(explicit: str | None) -> Path:
    """The reference script: --reference PATH, else $GENLAB_REFERENCE, else the shipped textbook loop."""
    for option, candidate in (("--reference", explicit), ("GENLAB_REFERENCE", os.environ.get("GENLAB_REFERENCE"))):
        if candidate:
            if not Path(candidate).is_file():
                raise GenlabError(f"{option} {candidate} is not a file; name a reference script such as "
                                  "seed_reference.py, or leave it out for genlab's own textbook loop")
            return Path(candidate).resolve()
    return shipped_reference()


def reference_command(reference: Path) -> list[str]:
    """How to start a reference script: the shipped one as a module of the installed genlab, any
    other as the script it is."""
    if Path(reference).resolve() == shipped_reference():
        return [sys.executable, "-m", "genlab.textbook.reference"]
    return [sys.executable, str(reference)]


def mnist_folder(data_dir) -> Path:
    from genlab import data

    for label, folder, exists in data.locate("mnist", data_dir):
        if exists and folder.is_dir() and (folder / "train-images-idx3-ubyte.gz").is_file():
            return folder
    raise GenlabError("the benchmark needs real MNIST as IDX .gz files; set GENLAB_DATA_DIR or pass --data-dir")


def run_reference(reference: Path, recipe: str, data_folder: Path, extra: list[str]) -> dict:
    from genlab import backend

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "reference.json"
        command = [*reference_command(reference), recipe, "--data-dir", str(data_folder), "--json", str(out), *extra]
        env = backend.subprocess_environment("tensorflow")
        print(f"reference: {' '.join(command[1:])}", flush=True)
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        if completed.returncode != 0 or not out.is_file():
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            raise GenlabError(f"the reference script failed: {tail[0]}")
        return json.loads(out.read_text())


def machine_limit(dtype: str = "float32", repeats: int = 5) -> dict[str, float]:
    """This machine's throughput on the backend in use, measured now: GFLOP/s of a large matrix
    product (2048^3) and of a convolution shaped like the GAN's (batch 128, 14x14x64 -> 128
    filters of 5x5), each the median of `repeats` timed calls after a warm-up. The ceiling the
    training steps are compared with (a step also has small layers, memory-bound work and a
    backward pass, so 100% is out of reach)."""
    import keras
    from keras import ops

    from genlab import backend

    rng = np.random.default_rng(0)
    size, batch, side, channels_in, channels_out, kernel = 2048, 128, 14, 64, 128, 5
    a = ops.cast(rng.standard_normal((size, size)).astype("float32"), dtype)
    b = ops.cast(rng.standard_normal((size, size)).astype("float32"), dtype)
    images = ops.cast(rng.standard_normal((batch, side, side, channels_in)).astype("float32"), dtype)
    kernels = ops.cast(rng.standard_normal((kernel, kernel, channels_in, channels_out)).astype("float32"), dtype)
    work = {
        "matmul": (backend.compile_step(lambda: ops.sum(ops.cast(ops.matmul(a, b), "float32"))), 2.0 * size ** 3),
        "conv": (backend.compile_step(lambda: ops.sum(ops.cast(ops.conv(images, kernels, padding="same"), "float32"))),
                 2.0 * batch * side * side * kernel * kernel * channels_in * channels_out),
    }
    results = {}
    for name, (function, flops) in work.items():
        float(keras.ops.convert_to_numpy(function()))                      # warm-up (and tracing)
        timings = []
        for _ in range(repeats):
            start = time.perf_counter()
            float(keras.ops.convert_to_numpy(function()))
            timings.append(time.perf_counter() - start)
        results[f"{name}_gflops_per_s"] = flops / float(np.median(timings)) / 1e9
    results["limit_gflops_per_s"] = max(results["matmul_gflops_per_s"], results["conv_gflops_per_s"])
    return results


def bench_limit(args) -> dict:
    """`genlab bench limit`: float32 and bfloat16 throughput of this machine, measured now."""
    results, rows = {}, []
    for dtype in ("float32", "bfloat16"):
        values = machine_limit(dtype)
        results[dtype] = values
        rows.append([dtype, values["matmul_gflops_per_s"], values["conv_gflops_per_s"]])
    print(table(["dtype", "matmul GFLOP/s", "conv GFLOP/s"], rows, title="genlab bench limit: this machine, now"))
    return results


def bench_gan(args) -> dict:
    from genlab import backend, data
    from genlab.families.gan import CHAPTER, GANConfig, GANTrainer, step_flops

    per_call = getattr(args, "steps_per_execution", None)
    per_call = 1 if per_call is None else per_call
    if per_call < 1:
        raise GenlabError(f"--steps-per-execution must be at least 1, got {per_call}")
    if per_call > 1 and backend.steps_per_execution(per_call) < per_call:
        raise GenlabError("--steps-per-execution needs the tensorflow or jax backend (torch runs one step per call)")
    steps = args.steps or 60
    folder = mnist_folder(args.data_dir)
    reference = run_reference(find_reference(args.reference), "gan", folder, ["--steps", str(steps + 3)])
    dataset = data.load("mnist", folder)
    images = data.to_float(dataset.x_train)
    flops = step_flops(32, 128)
    rows, results = [], {"reference_seconds_per_step": reference["seconds_per_step"]}
    rows.append(["reference (textbook loop)", reference["seconds_per_step"], flops / reference["seconds_per_step"] / 1e9, 1.0])
    sides = [("genlab chapter (float32)", "float32", 1, "float32"), ("genlab chapter (mixed_bfloat16)", "mixed_bfloat16", 1, "bf16")]
    if per_call > 1:
        # The same float32 step, per_call of them in one compiled call (a loop in the graph).
        sides.append((f"genlab chapter (float32, {per_call} steps per call)", "float32", per_call, f"float32_x{per_call}"))
    for label, precision, side_per_call, key in sides:
        config = GANConfig(**{**CHAPTER, "dtype_policy": precision})
        trainer = GANTrainer(config, dataset.image_shape)
        seconds = _time_steps(trainer, images, steps, per_call=side_per_call)
        results[f"genlab_{key}_seconds_per_step"] = seconds
        results[f"genlab_{key}_gflops_per_s"] = flops / seconds / 1e9
        results[f"speedup_{key}"] = reference["seconds_per_step"] / seconds
        rows.append([label, seconds, flops / seconds / 1e9, reference["seconds_per_step"] / seconds])
    # The machine's own ceiling, measured in the same run: each step's GFLOP/s as a share of it.
    limits = {"float32": machine_limit("float32"), "bf16": machine_limit("bfloat16")}
    for row in rows:
        key = "bf16" if "bfloat16" in row[0] else "float32"
        row.append(row[2] / limits[key]["limit_gflops_per_s"])
    for key in ("float32", "bf16"):
        results[f"limit_{key}_gflops_per_s"] = limits[key]["limit_gflops_per_s"]
        results[f"genlab_{key}_share_of_limit"] = results[f"genlab_{key}_gflops_per_s"] / limits[key]["limit_gflops_per_s"]
    results["reference_share_of_float32_limit"] = rows[0][2] / limits["float32"]["limit_gflops_per_s"]
    print(table(["gan step (batch 128)", "s/step", "GFLOP/s", "speed-up", "share of limit"], rows,
                title=f"genlab bench gan: {steps} timed steps each, {flops / 1e9:.1f} GFLOP per step; limit: float32 "
                      f"{limits['float32']['limit_gflops_per_s']:.0f}, bf16 {limits['bf16']['limit_gflops_per_s']:.0f} GFLOP/s"))
    return results


def _time_steps(trainer, images: np.ndarray, steps: int, windows: int = 5, per_call: int = 1) -> float:
    """Median seconds per step over `windows` timed windows, after a warm-up of 5 calls; each
    call runs `per_call` steps (several: `trainer.steps` on stacked batches, as the training loop
    does with steps_per_execution), the batches gathered inside the window as in training."""
    from genlab import backend

    rng = np.random.default_rng(0)

    def batch():
        return images[np.sort(rng.choice(len(images), 128, replace=False))]

    def one_call():
        if per_call == 1:
            return trainer.step(batch())
        return trainer.steps(np.stack([batch() for _ in range(per_call)]))

    for _ in range(5):
        np.asarray(backend.to_numpy(one_call()["d_loss"]))
    calls = max(steps // (windows * per_call), 1)
    timings = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(calls):
            result = one_call()
        np.asarray(backend.to_numpy(result["d_loss"]))  # wait for the last step to finish
        timings.append((time.perf_counter() - start) / (calls * per_call))
    return float(np.median(timings))


def bench_fit(args, family_name: str) -> dict:
    """ae / dae / classifier: seconds per epoch of genlab's chapter preset vs the reference."""
    from genlab import api

    epochs = args.epochs or 6
    folder = mnist_folder(args.data_dir)
    reference = run_reference(find_reference(args.reference), family_name, folder, ["--epochs", str(epochs)])
    with tempfile.TemporaryDirectory() as out:
        run = api.train(family_name, preset="chapter", overrides={"epochs": epochs}, out=Path(out) / "run",
                        data_dir=folder, verbose=0, print_summary=False)
        metrics = run.read_metrics()
    ratio = reference["seconds_per_epoch"] / metrics["seconds_per_epoch"]
    rows = [["reference (textbook fit)", reference["seconds_per_epoch"], 1.0],
            ["genlab chapter preset", metrics["seconds_per_epoch"], ratio]]
    print(table([f"{family_name}: epoch", "s/epoch", "speed-up"], rows,
                title=f"genlab bench {family_name}: {epochs} epochs each (median, first epoch left out)"))
    print(f"genlab/reference time per epoch: {metrics['seconds_per_epoch'] / reference['seconds_per_epoch']:.2f}x")
    return {"reference_seconds_per_epoch": reference["seconds_per_epoch"], "genlab_seconds_per_epoch": metrics["seconds_per_epoch"],
            "speedup": ratio, "epochs": epochs}


def bench_evaluate(args) -> dict:
    """Seconds to score 10000 samples (the real reference features are computed once, outside)."""
    from genlab import evaluation

    reference = evaluation.real_reference("mnist", args.data_dir)
    rng = np.random.default_rng(0)
    # Stand-in samples: training digits with pixel noise (realistic features, not the test set itself).
    images = np.clip(reference.train_images + rng.normal(0, 0.1, reference.train_images.shape).astype("float32"), 0, 1)
    timings = []
    for _ in range(args.repeats or 3):
        start = time.perf_counter()
        evaluation.score(images, reference)
        timings.append(time.perf_counter() - start)
    median = float(np.median(timings))
    print(table(["evaluate 10000 samples", "seconds (median)", "runs"], [["embed + FID/KID/PRDC/CS/NN", median, len(timings)]],
                title="genlab bench evaluate (target: under 15 s on 2 cores)"))
    return {"evaluate_10000_seconds": median, "timings": timings}

