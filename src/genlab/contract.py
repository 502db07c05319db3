"""The family contract: everything generic code (the API, the CLI, the report, the explorer, the
benchmarks, the family-generic tests) may know about a model family, declared by the family.

A family is one module in `genlab/families/` (or an installed plugin, see `genlab.families`)
that defines `FAMILY = Family(...)` (or `FAMILIES = {name: Family(...)}` for two families sharing
a file). Generic code asks the family (its training unit, sampler options, resumable keys,
headline metrics, capabilities) and never compares its name.

The callables' signatures are the Protocols below; `Family.problems()` checks a declaration the
way the family-generic tests and discovery do. Nothing here imports Keras.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Protocol, Sequence

from genlab.config import field_names

Unit = Literal["epochs", "steps"]
Bound = Literal["exact", "upper"]
Purpose = Literal["classify", "reconstruct", "generate"]
Capability = Literal["sample", "latent_space", "interpolate", "encode", "reconstruct", "denoise", "likelihood",
                     "complete", "score", "export", "evaluate"]
CAPABILITIES: tuple[str, ...] = Capability.__args__   # type: ignore[attr-defined]

# The config keys `--resume` may change for every family that has them: they lengthen or steer a
# training without changing the networks the checkpoint's weights fit.
COMMON_RESUME_KEYS = frozenset({"steps", "epochs", "time_budget_s", "on_nan", "devices", "steps_per_execution"})


# ---------------------------------------------------------------------------- the callables' signatures
class TrainFunction(Protocol):
    def __call__(self, config: Any, run: Any, *, data_dir: Any, verbose: int, resume: bool) -> dict:
        """Train into `run` (a genlab.runs.Run); the metrics for metrics.json (train_wall_s included)."""


class GenerateFunction(Protocol):
    def __call__(self, run: Any, config: Any, count: int, *, seed: int, label: int | None = None, **options: Any) -> Any:
        """`count` new images, float32 N x H x W x C in [0, 1]; `options` are the family's SamplerOptions."""


class InterpolateFunction(Protocol):
    def __call__(self, run: Any, config: Any, *, steps: int, seed: int, between: tuple[int, int] | None = None,
                 data_dir: Any = None) -> "ImageGrid":
        """Rows of images along straight lines in latent space."""


class LatentSpaceFunction(Protocol):
    def __call__(self, run: Any, config: Any) -> Any:
        """A genlab.latent.LatentSpace: draw points as `sample` does, decode any point."""


class CodecFunction(Protocol):
    def __call__(self, run: Any, config: Any) -> "Codec":
        """The run's encoder and model, loaded once."""


class EvaluateFunction(Protocol):
    def __call__(self, run: Any, config: Any, *, data_dir: Any = None, seed: int = 0, noise_sweep: bool = False) -> dict:
        """The family's own test-set figures (written to metrics.json too)."""


class LikelihoodFunction(Protocol):
    def __call__(self, run: Any, config: Any, images: Any, *, seed: int) -> "Density":
        """-log2 p(x) of each image (uint8 N x H x W x C, 8-bit levels), or a bound on it:
        genlab.density averages it into bits per dimension (genlab.metrics.likelihood's convention)."""


class CompleteFunction(Protocol):
    def __call__(self, run: Any, config: Any, images: Any, *, keep_rows: int, samples: int, seed: int,
                 label: int | None = None, **options: Any) -> Any:
        """For each image (uint8 N x H x W x C) `samples` completions keeping its top `keep_rows`
        rows: float32 (N, samples, H, W, C) in [0, 1]."""


class ScoreFunction(Protocol):
    def __call__(self, run: Any, config: Any, images: Any, *, seed: int) -> "Score":
        """The family's own out-of-distribution score of each image (uint8 N x H x W x C, 8-bit
        levels): higher means less like the data the run learnt."""


class BenchmarkFunction(Protocol):
    def __call__(self, *, data_dir: Any = None, steps: int | None = None) -> dict:
        """`genlab bench NAME`: the family's own speed figures (printed, and returned for --json)."""


class ExportFunction(Protocol):
    def __call__(self, run: Any, config: Any) -> tuple[Any, dict]:
        """(a Keras model whose image inputs/outputs are N x H x W x C, its description for
        genlab-export.json: role, inputs with their law, output range)."""


@dataclass
class Codec:
    """A loaded encoder/decoder pair (ae, dae, vae): what `reconstruct`, `denoise` and the
    explorer's canvas use, so a model is loaded once, not per call.

    encode(images N x H x W x C in [0, 1]) -> codes (N, size) float64;
    reconstruct(images) -> float32 images of the same shape (a DAE: denoised)."""
    encode: Any
    reconstruct: Any
    size: int


@dataclass
class Density:
    """What a family's likelihood function measured: `bits[i]` is -log2 p(x_i) in bits for image
    i, exactly (`bound` "exact": a discrete model's own probability) or an upper bound on it
    ("upper": a variational or importance-weighted bound, or a continuous density through
    uniform dequantization, which bounds -log2 P(x) by Jensen's inequality). `method` names how,
    for a reader ("autoregressive, exact", "IWAE, k=64 ...")."""
    bits: Any                           # float64 (N,)
    bound: Bound
    method: str


@dataclass
class Score:
    """A family's own out-of-distribution score, one number per image, higher meaning "less like
    the training data" (an energy E(x), a discriminator's -logit). Families with a density or a
    codec need none: genlab.ood scores them by bits/dim or reconstruction error."""
    values: Any                         # float64 (N,)
    name: str                           # for a reader: "energy E(x)", "discriminator -logit"


@dataclass
class ImageGrid:
    """Images meant to be looked at together: rows of `columns` images, with a title."""
    images: Any                         # float32 N x H x W x C in [0, 1]
    columns: int
    title: str
    row_labels: Sequence[str] | None = None


# ---------------------------------------------------------------------------- typed specs
@dataclass(frozen=True)
class SamplerOption:
    """One keyword option of a family's sampler (`genlab sample RUN --NAME VALUE`, a control in
    the explorer). Its default is the run's config value `config_key`; the family checks values
    against the run (e.g. steps <= the run's timesteps) when it samples."""
    name: str
    kind: type                          # int, float or str
    help: str
    config_key: str                     # the run's default for it
    minimum: float | None = None
    maximum: float | None = None        # a fixed bound; `maximum_key` when the run's config bounds it
    maximum_key: str | None = None
    choices: tuple[str, ...] = ()
    conditional_only: bool = False      # only meaningful for a conditional run (classifier-free guidance)
    label: str = ""                     # a control's label (the name when empty)
    # The explorer's slider: (low, high, step), high capped by the run's own bound; None: no control
    # (the explorer decodes deterministically, so e.g. a sampler's noise option has none).
    slider: tuple[float, float, float] | None = None

    def default(self, config: Any) -> Any:
        return getattr(config, self.config_key)

    def upper(self, config: Any) -> float | None:
        """The largest value this run takes (a control's range), None when unbounded."""
        bounds = [value for value in (self.maximum, getattr(config, self.maximum_key) if self.maximum_key else None)
                  if value is not None]
        return min(bounds) if bounds else None


@dataclass(frozen=True)
class Metric:
    """A headline figure in metrics.json: how to show it and which way is better. `baseline` is
    what it is compared with: another metrics.json key (e.g. the mean image's MSE) or a number."""
    key: str
    label: str
    lower_is_better: bool
    baseline: str | float | None = None
    format: str = ".4g"

    def arrow(self) -> str:
        return "↓" if self.lower_is_better else "↑"


# Figures every family's metrics.json may carry and the report shows beside its headline.
COMMON_METRICS = (Metric("seconds_per_epoch", "seconds per epoch", True, format=".3g"),
                  Metric("seconds_per_step", "seconds per step", True, format=".3g"),
                  Metric("train_wall_s", "training time (s)", True, format=".4g"))


# The headline of a family judged by its samples (metrics.json's sample_* keys, written by
# genlab evaluate and genlab run chapter).
SAMPLE_QUALITY = (Metric("sample_fid", "FID", lower_is_better=True, format=".3g"),
                  Metric("sample_class_coverage", "class coverage", lower_is_better=False, format=".2f"))


# ---------------------------------------------------------------------------- the family
@dataclass(frozen=True)
class Family:
    """One model family. Required: what it is and how it trains; the rest declares what it can do
    (a capability is there when its function is)."""
    name: str
    summary: str                        # one line: what it is
    config_class: type
    presets: Mapping[str, Mapping[str, Any]]
    train: TrainFunction
    unit: Unit                          # what `--set epochs=N` / `--set steps=N` counts
    purpose: Purpose                    # what the family is for: the explorer's view, the report's figure
    headline: tuple[Metric, ...] = ()   # the figures a user looks at first, best first
    resume_keys: frozenset[str] = COMMON_RESUME_KEYS   # keys --resume may change (those the config has)
    sampler_options: tuple[SamplerOption, ...] = ()
    conditional: bool = False           # generate() may take a class label (when the run's config says so)
    chapter_program: int | None = None  # the chapter's program number (1-4) this family is
    title: str = ""                     # how pages name it ("denoising autoencoder"); the name when empty
    generate: GenerateFunction | None = None
    interpolate: InterpolateFunction | None = None
    latent_space: LatentSpaceFunction | None = None
    codec: CodecFunction | None = None
    # A density over 8-bit images (genlab likelihood); a family may still refuse a run whose
    # settings define none (e.g. a VAE whose decoder is no distribution over 8-bit pixels).
    likelihood: LikelihoodFunction | None = None
    # The test images `genlab likelihood` scores when not told (-n): None, all of them; a bound that
    # costs many network calls per image (diffusion's) declares fewer.
    likelihood_images: int | None = None
    complete: CompleteFunction | None = None     # draw the rest of an image from its top rows
    # An out-of-distribution score of the family's own (genlab ood), for a family whose runs have
    # neither a density nor a codec, or whose own score says more (an energy-based model's energy).
    score: ScoreFunction | None = None
    denoises: bool = False              # codec().reconstruct removes noise (genlab.denoise applies)
    evaluate: EvaluateFunction | None = None
    export: ExportFunction | None = None
    benchmark: BenchmarkFunction | None = None
    # What a finished run holds (for the family-generic tests and users): files and figures
    # (a figure entry without a suffix is a folder of PNGs); the figure the report shows first
    # with its caption.
    files: Sequence[str] = ()
    figures: Sequence[str] = ()
    showcase: tuple[str, str] | None = None
    # Tiny settings that train in seconds on the embedded mnist-5k (the family-generic tests), and
    # the variants of them worth a run of their own there (each architecture, say).
    tiny: Mapping[str, Any] = field(default_factory=dict)
    tiny_variants: tuple[Mapping[str, Any], ...] = ({},)
    # The one of tiny_variants whose run defines a density, where the first does not (a VAE's
    # default Bernoulli decoder defines none): the run the family-generic likelihood test scores.
    tiny_density_variant: Mapping[str, Any] | None = None
    # What a pretrained copy ships (genlab.pretrained): the files that sample, interpolate,
    # reconstruct and denoise read, never a discriminator, checkpoints or optimizer state.
    inference_files: Sequence[str] = ()

    def capabilities(self) -> frozenset[str]:
        present = {"sample": self.generate, "latent_space": self.latent_space, "interpolate": self.interpolate,
                   "encode": self.codec, "reconstruct": self.codec, "evaluate": self.evaluate, "export": self.export,
                   "denoise": self.codec if self.denoises else None, "likelihood": self.likelihood,
                   "complete": self.complete, "score": self.score or self.likelihood or self.codec}
        return frozenset(name for name, function in present.items() if function is not None)

    def can(self, capability: str) -> bool:
        if capability not in CAPABILITIES:
            raise ValueError(f"unknown capability {capability!r}; capabilities: {', '.join(CAPABILITIES)}")
        return capability in self.capabilities()

    def resumable(self) -> frozenset[str]:
        """The keys `--resume` may change for this family (those of resume_keys its config has)."""
        return frozenset(self.resume_keys) & frozenset(field_names(self.config_class))

    def sampler_option(self, name: str) -> SamplerOption | None:
        return next((option for option in self.sampler_options if option.name == name), None)

    def problems(self) -> list[str]:
        """What is wrong with this declaration, as sentences (empty: none)."""
        found = []
        fields = set(field_names(self.config_class)) if dataclasses.is_dataclass(self.config_class) else set()
        if not fields:
            found.append("config_class is not a dataclass with fields")
        if self.unit not in ("epochs", "steps"):
            found.append(f"unit is {self.unit!r}, not 'epochs' or 'steps'")
        elif fields and self.unit not in fields:
            found.append(f"unit is {self.unit} but the config has no '{self.unit}' key")
        if self.purpose not in ("classify", "reconstruct", "generate"):
            found.append(f"purpose is {self.purpose!r}, not 'classify', 'reconstruct' or 'generate'")
        if self.purpose == "generate" and self.generate is None:
            found.append("purpose is 'generate' but there is no generate function")
        if self.purpose == "reconstruct" and self.codec is None:
            found.append("purpose is 'reconstruct' but there is no codec")
        if self.denoises and self.codec is None:
            found.append("denoises needs a codec")
        if fields:
            unknown = set(self.tiny).union(*self.tiny_variants) - fields
            if unknown:
                found.append(f"tiny names keys the config does not have: {', '.join(sorted(unknown))}")
            for preset, values in self.presets.items():
                unknown = set(values) - fields
                if unknown:
                    found.append(f"preset '{preset}' names keys the config does not have: {', '.join(sorted(unknown))}")
            for option in self.sampler_options:
                for key in (option.config_key, option.maximum_key):
                    if key is not None and key not in fields:
                        found.append(f"sampler option '{option.name}' reads config key '{key}', which the config does not have")
        if self.tiny_density_variant is not None:
            if self.likelihood is None:
                found.append("tiny_density_variant is set but there is no likelihood function")
            if dict(self.tiny_density_variant) not in [dict(variant) for variant in self.tiny_variants]:
                found.append("tiny_density_variant is not one of tiny_variants")
        names = [option.name for option in self.sampler_options]
        if len(set(names)) != len(names):
            found.append("two sampler options share a name")
        for option in self.sampler_options:
            if option.kind not in (int, float, str):
                found.append(f"sampler option '{option.name}' has kind {option.kind!r}, not int, float or str")
        for metric in self.headline:
            if isinstance(metric.baseline, float) and not math.isfinite(metric.baseline):
                found.append(f"headline {metric.key}'s baseline is not finite")
        if not self.files:
            found.append("files is empty: a run must declare what it holds")
        if not self.tiny:
            found.append("tiny is empty: the family-generic tests need settings that train in seconds")
        return found
