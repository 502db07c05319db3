"""Samples of the textbook GAN along one run of the reference script, taken from outside it.

    python -m genlab.reference_snapshots REFERENCE --data-dir DIR --out FOLDER \\
        [--steps 2000] [--every 200] [--samples 2000] [--seed 0]

The reference's `gan` recipe (genlab's textbook loop, genlab/textbook/reference.py, or the
script `--reference` names) trains its 2000 steps and can only sample at the very end, so `genlab
bench quality` cannot ask it for samples along the way. Rerunning it to 200, 400, ... steps would
cost 5.5 runs. Instead this driver imports the script unchanged and runs its own `main` (its
seeding, data loading, networks and loop), having wrapped `keras.Model.train_on_batch` and
`keras.Model.predict` first:

- the training clock starts at the first of those calls (the first step; model building and
  data loading are outside it, as they are outside genlab's loop clock);
- a `train_on_batch` of the stacked model (the one holding the generator) closes a step; after
  every `every`-th step and the last one, `samples` images of the generator (fixed z ~ U[-1, 1],
  `predict` in batches of 500, as the script's own final sampling) go to FOLDER/step-NNNNNN.npy,
  and the time that takes is taken off the clock.

FOLDER/snapshots.json then holds the points (step, training seconds, file) beside the script's
own result (its seconds per step, measured by itself, shows what the wrapping costs: a Python
call per update). Run in a subprocess: it patches Keras for the whole process.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np


class Snapshots:
    """The wrapping: counts steps, keeps the training clock, writes the samples."""

    def __init__(self, out: Path, steps: int, every: int, samples: int, seed: int):
        self.out, self.steps, self.every, self.samples, self.seed = out, steps, every, samples, seed
        self.start: float | None = None
        self.excluded = 0.0
        self.step = 0
        self.points: list[dict] = []
        self._generators: dict[int, object] = {}

    def started(self) -> None:
        if self.start is None:
            self.start = time.perf_counter()

    def generator_of(self, model):
        """The generator inside the stacked model (the sub-model whose output is an image); None
        for the discriminator, which holds no sub-model."""
        key = id(model)
        if key not in self._generators:
            found = None
            for layer in getattr(model, "layers", []):
                output = getattr(layer, "output", None) if hasattr(layer, "layers") else None
                if output is not None and len(output.shape) == 4:
                    found = layer
            self._generators[key] = found
        return self._generators[key]

    def after_update(self, model, predict) -> None:
        generator = self.generator_of(model)
        if generator is None:
            return
        self.step += 1
        if self.step % self.every and self.step != self.steps:
            return
        paused = time.perf_counter()   # train_on_batch has returned numpy values: the step is done
        z_dim = int(generator.inputs[0].shape[-1])
        z = np.random.default_rng(self.seed + 1).uniform(-1.0, 1.0, (self.samples, z_dim)).astype("float32")
        images = np.asarray(predict(generator, z, batch_size=500, verbose=0), dtype="float32")
        path = self.out / f"step-{self.step:06d}.npy"
        np.save(path, images)
        self.points.append({"step": self.step, "seconds": paused - self.start - self.excluded, "file": path.name})
        self.excluded += time.perf_counter() - paused


def load_reference(path: Path):
    spec = importlib.util.spec_from_file_location("seed_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from genlab import backend

    backend.default_backend("tensorflow")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    module = load_reference(Path(args.reference))
    import keras

    snapshots = Snapshots(out, args.steps, args.every, args.samples, args.seed)
    train_on_batch, predict = keras.Model.train_on_batch, keras.Model.predict

    def wrapped_train_on_batch(self, *positional, **named):
        snapshots.started()
        result = train_on_batch(self, *positional, **named)
        snapshots.after_update(self, predict)
        return result

    def wrapped_predict(self, *positional, **named):
        snapshots.started()
        return predict(self, *positional, **named)

    keras.Model.train_on_batch, keras.Model.predict = wrapped_train_on_batch, wrapped_predict
    result_file = out / "reference.json"
    try:
        status = module.main(["gan", "--data-dir", args.data_dir, "--steps", str(args.steps), "--seed", str(args.seed),
                              "--json", str(result_file)])
    finally:
        # Put Keras back (a test calls this in its own process).
        keras.Model.train_on_batch, keras.Model.predict = train_on_batch, predict
    if status not in (0, None):
        return int(status)
    # The wrapping relies on one stacked update per step: if the script changed shape, say so.
    if snapshots.step != args.steps:
        print(f"error: counted {snapshots.step} generator updates, expected {args.steps}; the reference "
              f"script's gan loop no longer has one stacked train_on_batch per step", file=sys.stderr)
        return 1
    summary = {"steps": args.steps, "every": args.every, "samples": args.samples, "points": snapshots.points,
               "sampling_seconds_excluded": snapshots.excluded, "reference": json.loads(result_file.read_text())}
    (out / "snapshots.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
