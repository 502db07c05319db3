"""Classifier-free guidance against class accuracy and quality, for a conditional diffusion run.

For each guidance scale: 100 samples per class (DDIM, 25 steps, eta 1), the shipped evaluator's
agreement with the requested class, and FID / precision / recall of the 1000 samples against the
real test set. The README's guidance table came from:

    GENLAB_DATA_DIR=../shared/data python tools/guidance_sweep.py results/mnist-cdiffusion --json guidance.json
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

import genlab
from genlab import evaluation, evaluator, runs


def sweep(run: str, scales=(0.0, 1.0, 2.0, 4.0), per_class: int = 100, steps: int = 25) -> list[dict]:
    dataset = runs.Run.open(run).read_header()["config"]["dataset"]
    judge, real = evaluator.load(dataset), evaluation.real_reference(dataset)
    rows = []
    for guidance in scales:
        started = time.perf_counter()
        images = np.concatenate([genlab.sample(run, per_class, seed=100 + label, label=label, steps=steps, guidance=guidance)
                                 for label in range(10)])
        seconds = (time.perf_counter() - started) / len(images)
        asked = np.repeat(np.arange(10), per_class)
        _, probabilities = judge.embed(images)
        scores = evaluation.score(images, real, seed=0)
        rows.append({"guidance": guidance, "conditional_accuracy": float(np.mean(probabilities.argmax(axis=1) == asked)),
                     "fid": scores["fid"], "precision": scores["precision"], "recall": scores["recall"],
                     "seconds_per_image": seconds, "samples": len(images)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a conditional diffusion run (genlab train diffusion --set conditional=true)")
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args()
    rows = sweep(args.run)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
