"""The runs the explorer opens: one `Model` per tab, its latent space's decode behind a `Batcher`
(genlab.explorer.batching), so that a class asking at once shares network calls."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from genlab.errors import GenlabError
from genlab.explorer.batching import Batcher
from genlab.explorer.images import with_noise

SLIDERS = 8
EXAMPLES = 100      # test images a tab offers to start from


@dataclass
class Model:
    """One run opened for the explorer."""
    label: str
    path: str                           # the run folder, or "pretrained:NAME"
    family: str
    config: Any
    purpose: str = "generate"           # the family's: "generate" (a generator tab) or "reconstruct" (a canvas)
    space: Any = None                   # genlab.latent.LatentSpace, for generative families
    codec: Any = None                   # genlab.contract.Codec (encode, reconstruct) for the canvas
    denoises: bool = False
    image_shape: tuple[int, ...] = (28, 28, 1)
    headline: str = ""
    axes: list = field(default_factory=list)
    options: tuple = ()                 # the family's SamplerOptions that have a control
    # Families that complete an image from its top rows (genlab.contract.Family.complete):
    # complete(levels 1 x H x W x C uint8, keep_rows=, samples=, seed=, label=, **options) -> (1, S, H, W, C)
    complete: Any = None
    examples: Any = None                # a few test images (uint8) to start from; None when the data is absent
    num_classes: int = 0

    @property
    def generative(self) -> bool:
        return self.space is not None and self.purpose == "generate"

    def image(self, point: np.ndarray, label: int | None = None, **options) -> np.ndarray:
        labels = None if not self.space.num_classes else np.array([0 if label is None else int(label)])
        return self.space.decode(np.asarray(point, np.float32)[None], labels, **self._options(options))[0]

    async def image_async(self, point: np.ndarray, label: int | None = None, **options) -> np.ndarray:
        """`image`, awaited on an event loop: through the model's Batcher without a thread of its own."""
        labels = None if not self.space.num_classes else np.array([0 if label is None else int(label)])
        points = np.asarray(point, np.float32)[None]
        decode = self.space.decode
        if isinstance(decode, Batcher):
            return (await decode.call_async(points, labels, **self._options(options)))[0]
        import asyncio

        return (await asyncio.to_thread(decode, points, labels, **self._options(options)))[0]

    def images(self, points: np.ndarray, label: int | None = None, **options) -> np.ndarray:
        labels = None if not self.space.num_classes else np.full(len(points), 0 if label is None else int(label))
        return self.space.decode(np.asarray(points, np.float32), labels, **self._options(options))

    def _options(self, options: dict) -> dict:
        return {key: value for key, value in options.items() if key in self.space.options and value is not None}

    def encoded_example(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(the test image `index` as floats in [0, 1], its latent point) through the run's encoder
        (a flow's exact latent, a VAE's posterior mean)."""
        if self.codec is None or self.examples is None:
            raise GenlabError(f"{self.label} has no encoder or no test images here to encode")
        if not 0 <= int(index) < len(self.examples):
            raise GenlabError(f"test image {index} does not exist; choose 0 to {len(self.examples) - 1}")
        image = self.examples[int(index)].astype(np.float32) / 255.0
        return image, np.asarray(self.codec.encode(image[None])[0], np.float32)

    def path_between_examples(self, first: int, second: int, count: int) -> np.ndarray:
        """`count` latent points on the straight line from test image `first`'s point to `second`'s
        (count x size): decoded, a flow's ends are the two test images themselves."""
        _, start = self.encoded_example(first)
        _, end = self.encoded_example(second)
        weights = np.linspace(0.0, 1.0, int(count), dtype=np.float32)[:, None]
        return (1.0 - weights) * start + weights * end

    def autoencode(self, image: np.ndarray, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(noisy input, the model's output, the code) for one float image."""
        noisy = with_noise(image, noise, seed) if noise > 0 else image
        output = self.codec.reconstruct(noisy[None])[0]
        code = self.codec.encode(noisy[None])[0]
        return noisy, output, code


def open_models(runs: Sequence[str | Path]) -> list[Model]:
    """Open each run (a folder, or whatever genlab.api.open_run accepts) for the explorer; a run
    of a family with nothing to explore (the classifier) is one clear error."""
    from genlab import api

    models = []
    labels = _labels([str(run) for run in runs])
    for run, label in zip(runs, labels):
        opened, family, config = api.open_run(run)
        shown_path = str(run) if str(run).startswith("pretrained:") else str(opened.path)
        model = Model(label=label, path=shown_path, family=family.name, config=config, purpose=family.purpose,
                      headline=_headline(opened.read_metrics(), family.headline), denoises=family.denoises,
                      options=tuple(option for option in family.sampler_options if option.slider is not None))
        if family.purpose == "reconstruct" and family.codec is not None and family.latent_space is not None:
            model.image_shape = tuple(api._image_shape(opened))
            model.codec = family.codec(opened, config)
            model.space = family.latent_space(opened, config)
        elif family.purpose == "generate" and family.latent_space is not None:
            model.space = batched(family.latent_space(opened, config), label)
            model.axes = model.space.axes(SLIDERS)
            if family.codec is not None:     # an encoder too (vae, flow): start from real test images
                model.codec = family.codec(opened, config)
                dataset = _run_data(config)
                model.examples = None if dataset is None else dataset.x_test[:EXAMPLES]
        elif family.complete is not None:
            _completing(model, family, opened, config)
        else:
            from genlab import families

            explorable = [other.name for other in families.all_families()
                          if other.latent_space is not None or other.complete is not None]
            raise GenlabError(f"{run} is a {family.name} run, which has no latent space to explore; "
                              f"give a run of {', '.join(explorable[:-1])} or {explorable[-1]}")
        models.append(model)
    from genlab.progress import quiet_tensorflow

    quiet_tensorflow()   # predict() on new shapes prints retracing notices nobody can act on
    return models


def _completing(model: Model, family, opened, config) -> None:
    """A completion tab: the family's `complete` on this run, and test images to start from."""
    import functools

    from genlab.density import run_image_shape

    model.image_shape = run_image_shape(opened)
    model.complete = functools.partial(family.complete, opened, config)
    dataset = _run_data(config)
    model.examples = None if dataset is None else dataset.x_test[:EXAMPLES]   # None: the tab starts from a drawing only
    if getattr(config, "conditional", False):
        model.num_classes = 10 if dataset is None else dataset.num_classes


def _run_data(config):
    """The run's data as it learnt it (genlab.data.load_configured), or None where that data is not
    on this machine (a pretrained model opened offline without its dataset)."""
    from genlab import data

    try:
        return data.load_configured(config)
    except GenlabError:
        return None


def _labels(paths: list[str]) -> list[str]:
    """Short distinct tab names: the folder names (the parent too where two are alike)."""
    names = [path.split(":", 1)[1] if path.startswith("pretrained:") else (Path(path).name or path) for path in paths]
    if len(set(names)) < len(names):
        names = ["/".join(Path(path).parts[-2:]) for path in paths]
    return [f"{name} ({index + 1})" if names.count(name) > 1 else name for index, name in enumerate(names)]


def _headline(metrics: dict, headline: Sequence = ()) -> str:
    """The family's headline figures that metrics.json holds, e.g. "FID 12.3, class coverage 1.00"."""
    parts = []
    for metric in headline:
        value = metrics.get(metric.key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{metric.label} {value:{metric.format}}")
    return ", ".join(parts)


def batched(space, name: str = "decode"):
    """The latent space with its decode behind a Batcher: concurrent requests (a class asking at
    once) share network calls; a single request is decoded as before, at once."""
    return dataclasses.replace(space, decode=Batcher(space.decode, name=name))
