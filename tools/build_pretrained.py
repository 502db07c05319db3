"""Maintainers: add a finished run to genlab's pretrained models (src/genlab/assets/pretrained/).

    python tools/build_pretrained.py runs/cgan-20261122-101500 mnist-cgan
    python tools/build_pretrained.py RUN NAME --command "genlab train cgan --set steps=4000"

The run's inference files are re-saved without optimizer state, every file's SHA-256 is pinned
in assets/pretrained.json, and genlab.pretrained checks them each time a model is opened.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from genlab.errors import GenlabError, RunError
from genlab.pretrained import (ASSETS, FOLDER_NAME, HEADLINE_METRICS, MAX_MODEL_BYTES, NAME_PATTERN, REGISTRY_NAME,
                               _PRIVATE_METRICS, is_reference, sha256)


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
        >>> build("runs/dae-20261122-101500", "mnist-dae")
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
    add = argparse.ArgumentParser(prog="python tools/build_pretrained.py",
                                  description="Maintainers: copy RUN's inference files into genlab's assets and pin them as NAME.")
    add.add_argument("run", help="a finished run folder (genlab evaluate it first for FID/KID)")
    add.add_argument("name", help="e.g. mnist-cgan")
    add.add_argument("--command", default=None, help="the exact command that trained it (default: derived from config.toml)")
    add.add_argument("--description", default="", help="one line for genlab pretrained")
    add.add_argument("--assets", default=None, help="assets folder (default: genlab's own)")
    add.add_argument("--files", nargs="+", default=None, help="ship only these model files (e.g. decoder.keras)")
    args = add.parse_args(argv)
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
