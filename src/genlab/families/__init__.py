"""The family registry: one module per model family, one line here per family.

Each family module defines `FAMILY = Family(...)` (or `FAMILIES = {name: Family}` for two
families sharing a file): its config dataclass (whose defaults are the `default` preset),
presets, a `train` function, and the typed functions behind genlab's API that apply to it:
`generate` (random latent points -> new images), `interpolate`, `reconstruct`, `evaluate`.
Families never see the command line: genlab.api calls these, genlab.cli calls genlab.api.
Modules are imported lazily so `genlab --help` stays fast.

Adding a family: a file in this folder defining FAMILY, and one line in `_MODULES` below.
The family-generic tests (tests/test_families.py) train it with its `tiny` settings and
check the `files` and `figures` it declares.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from genlab.errors import GenlabError

# name -> module. A new family is a new file in this folder and one line here.
_MODULES = {
    "classifier": "genlab.families.classifier",
    "ae": "genlab.families.autoencoder",
    "dae": "genlab.families.autoencoder",
    "gan": "genlab.families.gan",
    "vae": "genlab.families.vae",
    "cgan": "genlab.families.cgan",
    "wgan-gp": "genlab.families.wgan_gp",
    "diffusion": "genlab.families.diffusion",
}


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    config_class: type
    presets: Mapping[str, Mapping[str, Any]]
    # train(config, run, *, data_dir, verbose, resume) -> metrics dict (train_wall_s included)
    train: Callable[..., dict]
    kind: str = "generative"            # "discriminative", "autoencoder" or "gan"
    conditional: bool = False           # generate() takes a class label
    # generate(run, config, count, *, seed, label=None, **options) -> float32 images N x H x W x C in [0, 1]
    generate: Callable[..., Any] | None = None
    # The keyword options generate() takes beyond those (a diffusion sampler's steps, eta...); the
    # family checks their values, genlab.api refuses any other name in one line.
    sample_options: Sequence[str] = ()
    # interpolate(run, config, *, steps, seed, between=None, data_dir=None) -> ImageGrid
    interpolate: Callable[..., "ImageGrid"] | None = None
    # latent_space(run, config) -> genlab.latent.LatentSpace: draw points, decode any point (the explorer, export)
    latent_space: Callable[..., Any] | None = None
    # reconstruct(run, config, images) -> images: the model's output for float images in [0, 1]
    reconstruct: Callable[..., Any] | None = None
    denoises: bool = False              # reconstruct() removes noise (genlab.denoise applies)
    # evaluate(run, config, *, data_dir, seed, noise_sweep) -> the family's own test-set figures
    evaluate: Callable[..., dict] | None = None
    # What a finished run holds (for the family-generic tests and users): files and figures
    # (a figure entry without a suffix is a folder of PNGs).
    files: Sequence[str] = ()
    figures: Sequence[str] = ()
    # Tiny settings that train in seconds on the embedded mnist-5k (the family-generic tests).
    tiny: Mapping[str, Any] = field(default_factory=dict)
    # What a pretrained copy ships (genlab.pretrained): the files that sample, interpolate,
    # reconstruct and denoise read, never a discriminator, checkpoints or optimizer state.
    inference_files: Sequence[str] = ()
    # export(run, config) -> (a Keras model whose image inputs/outputs are N x H x W x C, its
    # description for genlab-export.json: role, inputs with their law, output range) for
    # `genlab export`; None: the family has no single network a client could run on its own.
    export: Callable[..., tuple[Any, dict]] | None = None


@dataclass
class ImageGrid:
    """Images meant to be looked at together: rows of `columns` images, with a title."""
    images: Any                         # float32 N x H x W x C in [0, 1]
    columns: int
    title: str
    row_labels: Sequence[str] | None = None


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> Family:
    if name not in _MODULES:
        close = difflib.get_close_matches(name, list(_MODULES), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"families: {', '.join(_MODULES)}"
        raise GenlabError(f"unknown model family '{name}'; {hint}")
    module = importlib.import_module(_MODULES[name])
    families = getattr(module, "FAMILIES", None)
    if families is not None:
        return families[name]
    return module.FAMILY
