"""Pretrained models shipped inside genlab: `pretrained:NAME` works wherever a run folder does.

    genlab/assets/pretrained.json          the manifest: per model its family, dataset, the exact
                                           genlab command that trained it, its test metrics, and
                                           every file's size and SHA-256
    genlab/assets/pretrained/NAME/         a small run-like folder: config.toml, metrics.json and
                                           the family's `inference_files` (generator / decoder /
                                           denoiser, re-saved without optimizer state)

Like the evaluators and the embedded mnist-5k, every file is checked against its SHA-256 each time
a model is opened (under 1 MB: milliseconds); a changed or damaged file is one line naming it and
the fix (reinstall), never a model that silently behaves differently from its published numbers.
A pretrained folder is read-only: `evaluate` prints its scores but writes nothing into the package.

Maintainers add an entry from a finished run folder:

    python -m genlab.pretrained build runs/cgan-20261122-101500 mnist-cgan
    python -m genlab.pretrained build RUN NAME --command "genlab train cgan --set steps=4000"
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from genlab.errors import GenlabError, RunError

PREFIX = "pretrained:"
ASSETS = Path(__file__).resolve().parent / "assets"
REGISTRY_NAME = "pretrained.json"
FOLDER_NAME = "pretrained"
MAX_MODEL_BYTES = 1_000_000          # the whole folder of one model: a pip install stays small
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
REINSTALL_HINT = "reinstall genlab (pip install --force-reinstall genlab, or git checkout src/genlab/assets)"
# The metrics a listing shows, in this order, when the run has them: sample quality from
# `genlab evaluate` (sample_*), then the family's own test figures.
HEADLINE_METRICS = ("sample_fid", "sample_kid", "sample_precision", "sample_recall", "conditional_accuracy",
                    "test_mse", "test_psnr_db", "test_ssim", "test_negative_elbo_nats")
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


# ---------------------------------------------------------------------------- building an entry
def training_command(family, header: dict, config) -> str:
    """The `genlab train` line that gives `config`: the run's preset, then --set for each key it changed."""
    from dataclasses import fields

    from genlab import config as _config

    preset = header.get("preset", "default")
    base = _config.resolve(family, preset if preset in family.presets else None)
    parts = [f"genlab train {family.name}"] + ([f"--preset {preset}"] if preset != "default" else [])
    for spec in fields(config):
        value = getattr(config, spec.name)
        if value != getattr(base, spec.name):
            parts.append(f"--set {spec.name}={_set_value(value)}")
    return " ".join(parts)


def _set_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value)


def build(run: str | Path, name: str, *, command: str | None = None, description: str = "",
          assets: str | Path | None = None, files: Sequence[str] | None = None) -> dict:
    """Copy what a finished run needs for inference into the pretrained assets and pin it.

    Parameters:
        run: a finished run folder (its metrics.json says "status": "complete"; run
            `genlab evaluate RUN` first so the entry carries FID/KID).
        name: the model's name, e.g. "mnist-cgan" (lower case letters, digits and dashes).
        command: the exact genlab command that trained it (default: derived from config.toml,
            the preset plus --set for every key it changed).
        description: one line for the listing.
        assets: the assets folder to write into (default: genlab's own).
        files: the model files to ship (default: all the family's inference files). A subset
            keeps a model under the size limit when part of it is big: a conv VAE's encoder
            (1.7 MB) is left out, its decoder (what sampling and the explorer use) shipped.

    Returns:
        The manifest entry written (also in ASSETS/pretrained.json).

    Example:
        >>> genlab.pretrained.build("runs/dae-20261122-101500", "mnist-dae")
    """
    from genlab import exporting, io
    from genlab.api import open_run
    from genlab.models import load_model

    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise GenlabError(f"pretrained name {name!r} must be lower-case letters, digits and dashes, e.g. mnist-cgan")
    if is_reference(run):
        raise GenlabError(f"{run} is already a pretrained model; pass the run folder it was built from")
    opened, family, config = open_run(run)
    metrics = opened.read_metrics()
    if metrics.get("status") != "complete":
        raise RunError(f"{opened.path} is not a finished run (status {metrics.get('status')!r}); train it to the end first")
    if not family.inference_files:
        raise GenlabError(f"{opened.path} is a {family.name} run; pretrained models are generative or autoencoder runs")
    shipped = tuple(files) if files else tuple(family.inference_files)
    unknown = sorted(set(shipped) - set(family.inference_files))
    if unknown:
        raise GenlabError(f"{', '.join(unknown)} is not among a {family.name} model's files ({', '.join(family.inference_files)})")
    assets = Path(assets) if assets is not None else ASSETS
    target = assets / FOLDER_NAME / name
    with exporting.atomic_folder(target, force=True) as folder:
        shutil.copyfile(opened.path / "config.toml", folder / "config.toml")
        kept = {key: value for key, value in metrics.items() if key not in _PRIVATE_METRICS}
        io.write_json(folder / "metrics.json", kept)
        for file_name in shipped:
            source = opened.file(file_name)
            if not source.is_file():
                raise RunError(f"{source} is missing; a {family.name} model needs {', '.join(shipped)}")
            if file_name.endswith(".keras"):
                # Loaded uncompiled and saved again: the weights alone, no optimizer state.
                load_model(source).save(folder / file_name)
            else:
                shutil.copyfile(source, folder / file_name)
        files = {path.name: {"sha256": sha256(path), "bytes": path.stat().st_size}
                 for path in sorted(folder.iterdir()) if path.is_file()}
        total = sum(item["bytes"] for item in files.values())
        if total > MAX_MODEL_BYTES:
            raise GenlabError(f"{opened.path}'s model files come to {total / 1e6:.2f} MB, over the {MAX_MODEL_BYTES / 1e6:.0f} MB "
                              "a shipped model may take; train a smaller network")
    header = opened.read_header()
    found = {
        "family": family.name,
        "dataset": getattr(config, "dataset", None),
        "preset": header.get("preset", "default"),
        "command": command or training_command(family, header, config),
        "description": description,
        "metrics": {key: value for key, value in kept.items() if key in HEADLINE_METRICS or key.startswith(("test_", "sample_"))},
        "backend": metrics.get("backend"),
        "files": files,
        "bytes": total,
    }
    registry_path = assets / REGISTRY_NAME
    entries = json.loads(registry_path.read_text(encoding="utf-8")) if registry_path.is_file() else {}
    entries[name] = found
    io.write_json(registry_path, entries)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlab.pretrained",
                                     description="Maintainers: add a finished run to genlab's pretrained models.")
    commands = parser.add_subparsers(dest="action", required=True)
    add = commands.add_parser("build", help="copy RUN's inference files into the assets and pin them as NAME")
    add.add_argument("run", help="a finished run folder (genlab evaluate it first for FID/KID)")
    add.add_argument("name", help="e.g. mnist-cgan")
    add.add_argument("--command", default=None, help="the exact command that trained it (default: derived from config.toml)")
    add.add_argument("--description", default="", help="one line for genlab pretrained")
    add.add_argument("--assets", default=None, help="assets folder (default: genlab's own)")
    add.add_argument("--files", nargs="+", default=None, help="ship only these model files (e.g. decoder.keras)")
    args = parser.parse_args(argv)
    from genlab.console import summary_table

    try:
        found = build(args.run, args.name, command=args.command, description=args.description, assets=args.assets,
                      files=args.files)
    except GenlabError as error:
        print(f"genlab: error: {error}", file=sys.stderr)
        return 2
    rows = [(key, found[key]) for key in ("family", "dataset", "command", "bytes")]
    rows += [(key, value) for key, value in found["metrics"].items()]
    rows += [(f"sha256 {file_name}", item["sha256"]) for file_name, item in found["files"].items()]
    print(summary_table(rows, title=f"pretrained:{args.name}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
