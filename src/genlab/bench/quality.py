"""`genlab bench quality` and `genlab bench chapter`: time to quality, and the whole chapter.

quality: one after another on this machine, the textbook GAN (the reference script, unchanged,
sampled along its run by genlab.reference_snapshots), genlab's `chapter` preset and its `default`
preset (with --bf16 also both in mixed bfloat16), each trained for `steps` steps. Every `every`
steps (and at the end) `samples` images are scored with the shipped evaluator (FID against the
real test set). Only training counts on the clock: the scoring (and the reference's sampling)
is timed apart. The target is the textbook loop's final FID; each recipe's time to target is the
training time at the first scored point at or below it (`time_to_target`).

genlab's recipes run through the ordinary `genlab train` path (genlab.api.train, its run folder,
logging, progress grids and checkpoints included, as a user pays them); the scoring is an
observer attached with `genlab.engine.observing` (`FidScorer`), told inside the loop, so no
chunking or resume is involved. The loop already reads its results back every log_every (10)
steps, so the observer adds no host sync; its time is taken off the training clock.

chapter: `genlab run chapter` (full settings, one subprocess, as a user types it) against the
reference script's four recipes (classifier, ae, dae, gan) at their full settings, run back to
back; both sides' wall-clock seconds from starting the process to its exit.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from genlab import backend as _backend
from genlab import engine
from genlab.bench import recipes as chapter_recipes   # (`recipes` is also bench_quality's argument)
from genlab.console import table
from genlab.errors import GenlabError

GENLAB_RECIPES = {          # name -> (preset, dtype_policy)
    "chapter": ("chapter", "float32"),
    "default": ("default", "float32"),
    "chapter-bf16": ("chapter", "mixed_bfloat16"),
    "default-bf16": ("default", "mixed_bfloat16"),
}
LABELS = {"reference": "textbook loop (reference script)", "chapter": "genlab chapter preset",
          "default": "genlab default preset", "chapter-bf16": "genlab chapter, mixed_bfloat16",
          "default-bf16": "genlab default, mixed_bfloat16"}
REFERENCE_PROGRAMS = ("classifier", "ae", "dae", "gan")


# ---------------------------------------------------------------------------- pure parts
def time_to_target(points: Sequence[tuple[float, float]], target: float) -> float | None:
    """Training seconds at the first scored point whose FID is at or below `target`; None when
    no point reaches it.

    First crossing at the scored points, not interpolated: FID is noisy and need not fall
    steadily between two scorings, so the time is the one actually observed, an upper bound
    whose resolution is the scoring interval. `points` are (seconds, fid) in training order."""
    for seconds, fid in points:
        if math.isfinite(fid) and fid <= target:
            return float(seconds)
    return None


def choose_recipes(recipes: str | None, bf16: bool) -> list[str]:
    """The recipes to run, in order: the reference first (it sets the target)."""
    everything = ["reference", "chapter", "default"] + (["chapter-bf16", "default-bf16"] if bf16 else [])
    if not recipes:
        return everything
    chosen = [name.strip() for name in recipes.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in LABELS]
    if unknown:
        raise GenlabError(f"unknown recipe '{unknown[0]}' in --recipes; choose from {', '.join(LABELS)}")
    if "reference" not in chosen:
        raise GenlabError("--recipes must include reference: its final FID is the target the others are timed to")
    return sorted(set(chosen), key=list(LABELS).index)


def summarize(curves: Mapping[str, dict]) -> dict:
    """Target (the reference's last FID), each recipe's time to it and its ratio to the
    reference's training time (time_fraction; speedup is the inverse, above 1 means faster)."""
    reference = curves["reference"]
    target = reference["points"][-1]["fid"]
    reference_seconds = reference["train_seconds"]
    for curve in curves.values():
        reached = time_to_target([(point["seconds"], point["fid"]) for point in curve["points"]], target)
        curve["time_to_target_s"] = reached
        curve["steps_to_target"] = next((point["step"] for point in curve["points"] if point["seconds"] == reached), None)
        curve["time_fraction"] = None if reached is None else reached / reference_seconds
        curve["speedup"] = None if not reached else reference_seconds / reached
        curve["final_fid"] = curve["points"][-1]["fid"]
    return {"target_fid": target, "reference_train_seconds": reference_seconds}


def chapter_ratio(genlab_seconds: float, reference_seconds: Mapping[str, float]) -> dict:
    """The whole chapter: genlab's wall clock against the sum of the reference recipes' (run back
    to back); speedup = reference / genlab (above 1: genlab is faster)."""
    total = float(sum(reference_seconds.values()))
    if genlab_seconds <= 0 or total <= 0:
        raise GenlabError("chapter timings must be positive")
    return {"genlab_seconds": float(genlab_seconds), "reference_seconds": total,
            "reference_seconds_per_recipe": dict(reference_seconds),
            "speedup": total / genlab_seconds, "time_fraction": genlab_seconds / total}


# ---------------------------------------------------------------------------- scoring
def fid_scorer(dataset: str, data_dir=None) -> Callable[[np.ndarray], float]:
    """FID of images (N x 28 x 28 [x 1] in [0, 1]) against the real test set, shipped evaluator;
    only the FID (the full `evaluation.score` adds KID and manifold metrics not needed here)."""
    from genlab import evaluation
    from genlab.metrics import generative as gm

    reference = evaluation.real_reference(dataset, data_dir)

    def fid(images: np.ndarray) -> float:
        images = evaluation.check_images(images, reference.dataset.image_shape, "bench quality")
        features, _ = reference.evaluator.embed(images)
        return float(gm.frechet_distance(*gm.statistics(features), *reference.test_statistics))

    return fid


# ---------------------------------------------------------------------------- the recipes
def reference_curve(reference: Path, data_folder: Path, *, steps: int, every: int, samples: int, seed: int,
                    score: Callable[[np.ndarray], float]) -> dict:
    """The reference script's GAN, sampled along its run (genlab.reference_snapshots, a
    subprocess), each snapshot scored here afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "genlab.reference_snapshots", str(reference), "--data-dir", str(data_folder),
                   "--out", folder, "--steps", str(steps), "--every", str(every), "--samples", str(samples),
                   "--seed", str(seed)]
        env = _backend.subprocess_environment(
            "tensorflow", PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]), os.environ.get("PYTHONPATH", "")]))
        print(f"reference: {reference.name} gan, {steps} steps, samples every {every}", flush=True)
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        summary_file = Path(folder) / "snapshots.json"
        if completed.returncode != 0 or not summary_file.is_file():
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            raise GenlabError(f"the reference script failed: {tail[0]}")
        summary = json.loads(summary_file.read_text())
        points = []
        for point in summary["points"]:
            started = time.perf_counter()
            fid = score(np.load(Path(folder) / point["file"]))
            points.append({"step": point["step"], "seconds": point["seconds"], "fid": fid,
                           "score_seconds": time.perf_counter() - started})
    own = summary["reference"]
    return {"label": LABELS["reference"], "points": points, "train_seconds": points[-1]["seconds"],
            "sampling_seconds_excluded": summary["sampling_seconds_excluded"],
            "script_seconds_per_step": own.get("seconds_per_step"), "script_train_wall_s": own.get("train_wall_s")}


class FidScorer(engine.Observer):
    """Scores `samples` images of the generator being trained (the same z each time) every
    `every` steps and after the last one: points of (step, training seconds, FID, scoring seconds)."""

    def __init__(self, every: int, samples: int, seed: int, score: Callable[[np.ndarray], float]):
        self.every, self.samples, self.seed, self.score = every, samples, seed, score
        self.points: list[dict] = []

    def train_begin(self, context: engine.Context) -> None:
        self.context = context

    def step_end(self, step: int, values: Mapping[str, float]) -> None:
        if step % self.every and step != self.context.total:
            return
        started = time.perf_counter()
        trainer = self.context.model
        rng = np.random.default_rng(self.seed)     # the same z at every scoring
        images = np.concatenate([trainer.generate(trainer.latent(min(500, self.samples - done), rng))
                                 for done in range(0, self.samples, 500)])
        self.points.append({"step": step, "seconds": self.context.clock.seconds(), "fid": self.score(images),
                            "score_seconds": time.perf_counter() - started})


def genlab_curve(recipe: str, *, steps: int, every: int, samples: int, seed: int, data_dir, out: Path,
                 score: Callable[[np.ndarray], float], overrides: Mapping | None = None) -> dict:
    """One genlab recipe through genlab.api.train, scored every `every` steps from inside the loop."""
    from genlab import api

    preset, precision = GENLAB_RECIPES[recipe]
    scorer = FidScorer(every, samples, seed + 1, score)
    print(f"{recipe}: genlab train gan --preset {preset} --set dtype_policy={precision}, {steps} steps", flush=True)
    settings = {"steps": steps, "seed": seed, "dtype_policy": precision, **(overrides or {})}
    with engine.observing(scorer):
        run = api.train("gan", preset=preset, overrides=settings, out=out / recipe, data_dir=data_dir, verbose=0)
    metrics = run.read_metrics()
    points = scorer.points
    return {"label": LABELS[recipe], "points": points, "train_seconds": metrics["train_wall_s"],
            "seconds_per_step": metrics.get("seconds_per_step"), "housekeeping_share": metrics.get("housekeeping_share")}


# ---------------------------------------------------------------------------- the command
def bench_quality(*, reference: str | None = None, data_dir=None, steps: int = 2000, every: int = 200,
                  samples: int = 2000, recipes: str | None = None, bf16: bool = False, seed: int = 0,
                  figure: str | Path = "bench-quality.png", overrides: Mapping | None = None) -> dict:
    """Train each recipe for `steps` steps, score `samples` images every `every` steps, and time
    each recipe to the reference's final FID. Returns the curves and the summary; draws the
    figure (FID against training seconds, log y). `overrides` (tests) go to genlab's recipes only."""
    from genlab import plotting

    for name, value in (("steps", steps), ("every", every), ("samples", samples)):
        if value < 1:
            raise GenlabError(f"--{name} must be at least 1, got {value}")
    if samples < 10:
        raise GenlabError(f"--samples {samples} is too few for an FID; pass at least 10 (FID is biased upwards below a few "
                          "thousand: 2000 is the default)")
    chosen = choose_recipes(recipes, bf16)
    folder = chapter_recipes.mnist_folder(data_dir)
    dataset = (overrides or {}).get("dataset", "mnist")
    score = fid_scorer(dataset, None if dataset != "mnist" else folder)
    curves: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as work:
        for recipe in chosen:
            if recipe == "reference":
                curves[recipe] = reference_curve(chapter_recipes.find_reference(reference), folder, steps=steps, every=every,
                                                 samples=samples, seed=seed, score=score)
            else:
                curves[recipe] = genlab_curve(recipe, steps=steps, every=every, samples=samples, seed=seed, data_dir=folder,
                                              out=Path(work), score=score, overrides=overrides)
            curves[recipe]["scoring_seconds"] = sum(point["score_seconds"] for point in curves[recipe]["points"])
            last = curves[recipe]["points"][-1]
            print(f"{recipe}: FID {last['fid']:.2f} after {last['step']} steps, {curves[recipe]['train_seconds']:.0f} s of "
                  f"training", flush=True)
    summary = summarize(curves)
    rows = []
    for recipe, curve in curves.items():
        rows.append([curve["label"], curve["train_seconds"], curve["final_fid"],
                     "not reached" if curve["time_to_target_s"] is None else curve["time_to_target_s"],
                     "-" if curve["steps_to_target"] is None else curve["steps_to_target"],
                     "-" if curve["time_fraction"] is None else curve["time_fraction"], curve["scoring_seconds"]])
    print(table(["recipe", "train s", "final FID", "s to target", "steps to target", "x reference time", "scoring s"], rows,
                title=f"genlab bench quality: {steps} steps, FID of {samples} samples every {every} steps; "
                      f"target: the textbook loop's final FID {summary['target_fid']:.2f}"))
    series = [(curve["label"], [point["seconds"] for point in curve["points"]], [point["fid"] for point in curve["points"]])
              for curve in curves.values()]
    drawn = plotting.fid_against_seconds(series, figure, target=summary["target_fid"],
                                         title=f"FID ({samples} samples) against training time, {steps} steps")
    print(f"figure: {drawn}")
    return {"steps": steps, "every": every, "samples": samples, "seed": seed, **summary, "recipes": curves,
            "figure": str(drawn)}


def run_timed(command: list[str], env: Mapping[str, str] | None = None) -> float:
    """Wall-clock seconds of a command, from start to exit; its last line in a one-line error if it fails."""
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, env=dict(env or os.environ))
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise GenlabError(f"{' '.join(Path(part).name for part in command[1:3])} failed: {tail[0]}")
    return seconds


def bench_chapter(*, reference: str | None = None, data_dir=None, backend: str | None = None) -> dict:
    """`genlab run chapter` (full settings) against the reference's four recipes, back to back."""
    folder = chapter_recipes.mnist_folder(data_dir)
    script = chapter_recipes.find_reference(reference)
    env = _backend.subprocess_environment("tensorflow")
    reference_seconds = {}
    with tempfile.TemporaryDirectory() as work:
        for program in REFERENCE_PROGRAMS:
            print(f"reference: {script.name} {program} (full settings)", flush=True)
            reference_seconds[program] = run_timed([*chapter_recipes.reference_command(script), program, "--data-dir",
                                                    str(folder), "--json", str(Path(work) / f"{program}.json")], env)
        own = {program: json.loads((Path(work) / f"{program}.json").read_text()) for program in REFERENCE_PROGRAMS}
        out = Path(work) / "chapter"
        command = [sys.executable, "-m", "genlab", "run", "chapter", "--quiet", "--out", str(out), "--data-dir", str(folder)]
        if backend:
            command += ["--backend", backend]
        print(f"genlab: {' '.join(command[2:])}", flush=True)
        genlab_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                                   os.environ.get("PYTHONPATH", "")]))
        genlab_seconds = run_timed(command, genlab_env)
        genlab_metrics = {program: json.loads((out / program / "metrics.json").read_text()) for program in REFERENCE_PROGRAMS}
    genlab_train = {program: genlab_metrics[program].get("train_wall_s") for program in REFERENCE_PROGRAMS}
    result = chapter_ratio(genlab_seconds, reference_seconds)
    result["reference_train_wall_s"] = {program: own[program].get("train_wall_s") for program in REFERENCE_PROGRAMS}
    result["genlab_train_wall_s"] = genlab_train
    # What the GAN loop's logging, grids, strips and checkpoints cost within its training time.
    housekeeping = genlab_metrics["gan"].get("housekeeping_share")
    if housekeeping is not None:
        result["genlab_gan_housekeeping_share"] = housekeeping
    rows = [[program, reference_seconds[program], result["reference_train_wall_s"][program], genlab_train[program]]
            for program in REFERENCE_PROGRAMS]
    rows.append(["whole chapter", result["reference_seconds"], "", genlab_seconds])
    print(table(["program", "reference wall s", "reference train s", "genlab train s (wall for the whole)"], rows,
                title="genlab bench chapter: genlab run chapter against the four reference recipes, back to back"))
    print(f"whole chapter: genlab {genlab_seconds:.0f} s, reference {result['reference_seconds']:.0f} s: "
          f"speed-up {result['speedup']:.2f}x (genlab takes {result['time_fraction']:.2f} of the reference's time)")
    if housekeeping is not None:
        print(f"genlab's GAN spent {100 * housekeeping:.1f}% of its training time logging, drawing and checkpointing")
    return result
