"""Pretrained models shipped inside genlab: `pretrained:NAME` works wherever a run folder does.

    genlab/assets/pretrained.json          the manifest: per model its family, dataset, the exact
                                           genlab command that trained it, its test metrics, and
                                           every file's size and SHA-256
    genlab/assets/pretrained/NAME/         a small run-like folder: config.toml, metrics.json and
                                           the family's `inference_files` (generator / decoder /
                                           denoiser, re-saved without optimizer state)

Like the evaluators and the embedded mnist-5k, every file is checked against its SHA-256 each time
a model is opened (under 4 MB: milliseconds); a changed or damaged file is one line naming it and
the fix (reinstall), never a model that silently behaves differently from its published numbers.
A pretrained folder is read-only: `evaluate` prints its scores but writes nothing into the package.

Maintainers add an entry from a finished run folder with tools/build_pretrained.py:

    python tools/build_pretrained.py runs/cgan-20261122-101500 mnist-cgan
    python tools/build_pretrained.py RUN NAME --command "genlab train cgan --set steps=4000"
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from genlab.errors import GenlabError, RunError

PREFIX = "pretrained:"
ASSETS = Path(__file__).resolve().parent / "assets"
REGISTRY_NAME = "pretrained.json"
FOLDER_NAME = "pretrained"
MAX_MODEL_BYTES = 4_000_000          # the whole folder of one model: a pip install stays small
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
REINSTALL_HINT = "reinstall genlab (pip install --force-reinstall genlab, or git checkout src/genlab/assets)"
# The metrics a listing shows, in this order, when the run has them: sample quality from
# `genlab evaluate` (sample_*), then the family's own test figures.
HEADLINE_METRICS = ("sample_fid", "sample_kid", "sample_precision", "sample_recall", "conditional_accuracy",
                    "test_mse", "test_psnr_db", "test_ssim", "test_negative_elbo_nats", "test_bits_per_dim")
# Run metrics never copied into a shipped model (local paths, failure details, per-machine timings).
_PRIVATE_METRICS = {"data_source", "traceback", "error", "noise_sweep"}


def is_reference(value: Any) -> bool:
    """Whether `value` names a pretrained model ("pretrained:NAME") rather than a run folder."""
    return isinstance(value, (str, Path)) and str(value).startswith(PREFIX)


def _registry_path() -> Path:
    return ASSETS / REGISTRY_NAME


def registry() -> dict[str, dict]:
    """The manifest: name -> entry ({} when none is shipped)."""
    path = _registry_path()
    if not path.is_file():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise GenlabError(f"the pretrained manifest {path} is damaged ({type(error).__name__}); {REINSTALL_HINT}") from error
    if not isinstance(entries, dict):
        raise GenlabError(f"the pretrained manifest {path} is damaged (not a JSON object); {REINSTALL_HINT}")
    return entries


def names() -> list[str]:
    return sorted(registry())


def entry(name: str) -> dict:
    """The manifest entry of `name` (with or without the prefix); an unknown name is one line listing the names."""
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    entries = registry()
    if name not in entries:
        shipped = ", ".join(f"{PREFIX}{known}" for known in sorted(entries)) or "none"
        raise RunError(f"no pretrained model '{name}'; shipped: {shipped} (genlab pretrained lists them)")
    return entries[name]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def resolve(reference: str | Path) -> Path:
    """The folder of a pretrained model, after checking every file's size and SHA-256."""
    name = str(reference)[len(PREFIX):] if is_reference(reference) else str(reference)
    found = entry(name)
    folder = ASSETS / FOLDER_NAME / name
    for file_name, expected in sorted(found.get("files", {}).items()):
        path = folder / file_name
        try:
            digest = sha256(path)
        except FileNotFoundError:
            raise RunError(f"pretrained model {name}: {path} is missing; {REINSTALL_HINT}") from None
        except OSError as error:
            raise RunError(f"pretrained model {name}: cannot read {path} ({error.strerror}); {REINSTALL_HINT}") from error
        if digest != expected["sha256"]:
            raise RunError(f"pretrained model {name}: {path} has SHA-256 {digest[:12]}…, expected {expected['sha256'][:12]}…; "
                           f"it was changed or damaged: {REINSTALL_HINT}")
    return folder


def describe() -> list[dict]:
    """One row per shipped model: name (with the prefix to use), family, dataset, headline
    metrics, size in bytes and the command that trained it."""
    rows = []
    for name, found in sorted(registry().items()):
        metrics = found.get("metrics", {})
        rows.append({"name": f"{PREFIX}{name}", "family": found.get("family"), "dataset": found.get("dataset"),
                     "metrics": {key: metrics[key] for key in HEADLINE_METRICS if key in metrics},
                     "bytes": found.get("bytes"), "command": found.get("command"), "description": found.get("description", "")})
    return rows
