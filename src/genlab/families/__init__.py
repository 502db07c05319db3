"""The family registry: one module per model family, one line here per family.

Each family module defines `FAMILY = Family(...)`: its config dataclass, presets, a `train`
function and (for generative families) a `generate` function that turns random latent points
into new images. Modules are imported lazily so `genlab --help` stays fast.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

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
}


@dataclass(frozen=True)
class Family:
    name: str
    summary: str
    config_class: type
    presets: Mapping[str, Mapping[str, Any]]
    # train(config, run, *, data_dir, verbose) -> metrics dict (train_wall_s included)
    train: Callable[..., dict]
    # generate(run, count, seed) -> float32 images N x H x W x C in [0, 1] (generative families)
    generate: Callable[..., Any] | None = None
    kind: str = "generative"
    extras: Mapping[str, Callable] = field(default_factory=dict)


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
