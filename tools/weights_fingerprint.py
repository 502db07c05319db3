"""Fingerprint every family's weights after a tiny seeded run: a refactor that changes no
behaviour leaves every line of this tool's output unchanged.

    python tools/weights_fingerprint.py --out /tmp/before.json      # before a change
    python tools/weights_fingerprint.py --out /tmp/after.json       # after it
    diff /tmp/before.json /tmp/after.json                           # nothing: bit-identical

Each family trains with its declared tiny settings on the embedded mnist-5k (seed 0, the
default preset), then every .keras file of the run is loaded and its weights hashed (SHA-256
of the raw float bytes, in the model's weight order), with TensorFlow's deterministic ops on. --chapter also trains the chapter's AE
and DAE presets on the full MNIST (GENLAB_DATA_DIR) and records their exact test MSE.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

# TensorFlow's multi-threaded CPU kernels may sum in a different order from one process to the
# next (the cgan, wgan-gp and vae weights then differ in the last bits between two runs of the
# same code); deterministic ops make two runs comparable bit for bit. Set before Keras loads.
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")


def weights_digest(path: Path) -> str:
    import keras

    model = keras.saving.load_model(path, compile=False)
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.path.encode())
        digest.update(keras.ops.convert_to_numpy(weight).tobytes())
    return digest.hexdigest()


def fingerprint(family_names: list[str], chapter: bool) -> dict:
    from genlab import api, families

    result: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in family_names:
            settings = {"dataset": "mnist-5k", **families.get(name).tiny}
            run = api.train(name, preset="default", overrides=settings, out=Path(scratch) / name, verbose=0)
            result[name] = {str(path.relative_to(run.path)): weights_digest(path)
                            for path in sorted(run.path.rglob("*.keras"))}
            print(name, result[name], flush=True)
        if chapter:
            for name in ("ae", "dae"):
                run = api.train(name, preset="chapter", out=Path(scratch) / f"{name}-chapter", verbose=0)
                metrics = json.loads((run.path / "metrics.json").read_text())
                result[f"{name}-chapter"] = {"test_mse": metrics["test_mse"]}
                print(name, "chapter", metrics["test_mse"], flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--families", default="", help="comma-separated; every registered family when empty")
    parser.add_argument("--chapter", action="store_true", help="also the chapter AE/DAE presets' exact test MSE")
    args = parser.parse_args(argv)
    from genlab import families

    names = [name for name in args.families.split(",") if name] or families.names()
    Path(args.out).write_text(json.dumps(fingerprint(names, args.chapter), indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
