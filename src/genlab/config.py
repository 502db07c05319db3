"""Typed run configurations.

Each model family declares a dataclass of its settings and a dict of presets (`chapter`
reproduces the textbook exactly; `default` is genlab's own measured recipe). A config is
resolved in layers, later layers winning:

    dataclass defaults  <  preset  <  --config FILE.toml  <  --set key=value ...

Unknown keys are an error that names the closest valid key, so a typo never silently
falls back to a default.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from genlab import io
from genlab.errors import ConfigError, DataError, RunError
from genlab.paths import describe_path_problem


# Keys that were renamed so one idea has one name across families (and `precision`, which
# collided with the precision metric, took Keras' own name). A user who writes the old key is
# told the new one; a run folder written before the rename still loads.
RENAMED = {"code_size": "latent_dim", "precision": "dtype_policy"}


def describe(default: Any, help: str):
    """A config field with its default and a one-line description (shown by `genlab config`)."""
    return dataclasses.field(default=default, metadata={"help": help})


def image_size_field():
    """The shared `image_size` key: every family that loads a dataset takes it, so one setting
    trains any family on a folder of mixed sizes at 32 or 64 pixels (genlab.data.load_configured)."""
    return describe(None, "resize every image to image_size x image_size pixels (unset: the dataset's own size; "
                          "a folder of mixed sizes: 28)")


def image_channels_field():
    """The shared `image_channels` key: 1 turns colour images grey, 3 grey ones RGB (genlab.data.load_configured)."""
    return describe(None, "1 (grey) or 3 (RGB): convert every image (unset: the dataset's own)")


def field_names(config_class) -> list[str]:
    return [field.name for field in dataclasses.fields(config_class)]


def help_rows(config) -> list[tuple[str, Any, str]]:
    """(key, value, description) for every field of a config instance, in declaration order."""
    return [(field.name, getattr(config, field.name), field.metadata.get("help", ""))
            for field in dataclasses.fields(config)]


def _unknown_key_error(key: str, config_class, where: str) -> ConfigError:
    valid = field_names(config_class)
    if key in RENAMED and RENAMED[key] in valid:
        return ConfigError(f"config key '{key}' in {where} was renamed to '{RENAMED[key]}'; "
                           f"write {RENAMED[key]}=... instead")
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(valid)}"
    return ConfigError(f"unknown config key '{key}' in {where}; {hint}")


def _field_type(config_class, name: str):
    hints = typing.get_type_hints(config_class)
    return hints[name]


def coerce(value: Any, wanted, key: str):
    """Convert `value` (from TOML or a `--set` string) to the field's declared type."""
    origin = typing.get_origin(wanted)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(wanted) if option is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null", "")):
            return None
        return coerce(value, options[0], key)
    if origin is tuple or wanted is tuple:
        item_type = (typing.get_args(wanted) or (str,))[0]
        if isinstance(value, str):
            value = [part for part in value.replace("(", "").replace(")", "").split(",") if part.strip()]
        return tuple(coerce(item.strip() if isinstance(item, str) else item, item_type, key) for item in value)
    try:
        if wanted is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if wanted in (int, float) and isinstance(value, bool):
            raise ValueError  # a TOML `true` is not the number 1
        if wanted is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            if isinstance(value, str):
                value = float(value) if any(c in value for c in ".eE") else int(value)
                if isinstance(value, float) and not value.is_integer():
                    raise ValueError
            return int(value)
        if wanted is float:
            return float(value)
        if wanted is str:
            return str(value)
    except (TypeError, ValueError):
        pass
    else:
        return value
    raise ConfigError(f"config key '{key}' wants {getattr(wanted, '__name__', wanted)}, got {value!r}; fix the value")


# Settings whose valid range is the same in every family, checked by name for all of them in one
# place (a family's own validate() checks the rest): an optimizer constant out of range trains
# nonsense without a word (a negative learning rate climbs the loss; beta_1 = 5 diverges).
# name -> (is the value valid, the range in words, an example for a family without a default).
SHARED_RANGES: dict[str, tuple[Any, str, Any]] = {
    "learning_rate": (lambda value: value > 0, "greater than 0", 1e-3),
    "beta_1": (lambda value: 0 <= value < 1, "in [0, 1)", 0.9),
    "beta_2": (lambda value: 0 <= value < 1, "in [0, 1)", 0.999),
    "momentum": (lambda value: 0 <= value < 1, "in [0, 1)", 0.9),
    "epsilon": (lambda value: value > 0, "greater than 0", 1e-7),
    "weight_decay": (lambda value: value >= 0, "at least 0", 0.0),
    "clip_norm": (lambda value: value >= 0, "at least 0 (0: no clipping)", 1.0),
    "clipnorm": (lambda value: value > 0, "greater than 0", 1.0),
    "clipvalue": (lambda value: value > 0, "greater than 0", 1.0),
    "global_clipnorm": (lambda value: value > 0, "greater than 0", 1.0),
    # The networks halve an image down to an 8-pixel map (28: 7): below 8 there is nothing to halve,
    # above 512 one image's activations no longer fit a CPU's memory at the default batch sizes.
    "image_size": (lambda value: 8 <= value <= 512, "a whole number of pixels from 8 to 512", 32),
    "image_channels": (lambda value: value in (1, 3), "1 (grey) or 3 (RGB)", 3),
}
# Every seed ends in numpy's and Keras' seeding, which take 0 .. 2**32 - 1 (outside it: a traceback
# from inside numpy, after the run folder was made). genlab.api's seed arguments use the same range.
MAX_SEED = 2 ** 32 - 1


def _example(config, name: str, fallback: Any) -> Any:
    """The field's default when it is a valid value (what to write instead), else `fallback`."""
    for field in dataclasses.fields(config):
        if field.name == name and field.default is not dataclasses.MISSING and field.default is not None:
            return field.default
    return fallback


def check_shared_values(config, where: str = "the config") -> None:
    """Refuse, in one line naming the key and a valid value, what no family can train with:
    a float that is NaN or infinite, an optimizer constant out of its range (SHARED_RANGES), a
    seed outside 0 .. 2**32 - 1, an empty or garbled dataset. `apply` calls it before the
    family's own validate(), so every family gets these checks and none repeats them."""
    for field in dataclasses.fields(config):
        name, value = field.name, getattr(config, field.name)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            example = _example(config, name, SHARED_RANGES.get(name, (None, None, 1.0))[2])
            raise ConfigError(f"{name} must be a finite number, got {value} in {where}; use e.g. {name}={example}")
        if name in SHARED_RANGES and isinstance(value, (int, float)):
            is_valid, wording, fallback = SHARED_RANGES[name]
            if not is_valid(value):
                raise ConfigError(f"{name} must be {wording}, got {value!r} in {where}; "
                                  f"use e.g. {name}={_example(config, name, fallback)}")
        if name == "seed" and isinstance(value, int) and not 0 <= value <= MAX_SEED:
            raise ConfigError(f"seed must be a whole number from 0 to {MAX_SEED}, got {value} in {where}; use e.g. seed=0")
        if name == "dataset":
            from genlab.data.lookup import dataset_value_problem

            problem = dataset_value_problem(value, where)
            if problem is not None:
                raise ConfigError(problem)


def apply(config, overrides: Mapping[str, Any], where: str):
    """Return a copy of `config` with `overrides` applied, each checked and type-converted."""
    config_class = type(config)
    changes = {}
    for key, value in overrides.items():
        key = key.replace("-", "_")
        if key not in field_names(config_class):
            raise _unknown_key_error(key, config_class, where)
        changes[key] = coerce(value, _field_type(config_class, key), key)
    updated = dataclasses.replace(config, **changes)
    check_shared_values(updated, where)
    validate = getattr(updated, "validate", None)
    if validate is not None:
        validate()
    return updated


def parse_sets(pairs: list[str] | None) -> dict[str, str]:
    result = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ConfigError(f"--set wants key=value, got '{pair}'; e.g. --set epochs=5")
        key, value = pair.split("=", 1)
        result[key.strip()] = value.strip()
    return result


def read_toml(path: str | Path) -> dict[str, Any]:
    """The settings of a --config FILE.toml: its [config] table (as genlab writes it) or its top-level keys."""
    data = read_toml_document(path)
    return _settings_table(data, path, run_file=False)


def read_toml_document(path: str | Path, *, run_file: bool = False) -> dict[str, Any]:
    """The whole TOML document at `path`; every way it can fail is one line naming the file and the line.

    The one place genlab parses TOML: a --config file (run_file=False, a ConfigError the user fixes
    by editing it) and a run folder's config.toml (run_file=True, a RunError: genlab wrote that
    file, so damage there means restoring it or starting over).
    """
    path = Path(path)
    error_class = RunError if run_file else ConfigError

    def failure(detail: str) -> Exception:
        if run_file:
            return RunError(f"{path} is damaged ({detail}); restore it from a copy or start a new run")
        return ConfigError(f"config file {path} is not valid TOML ({detail}); fix its syntax")

    # What the path is when it is not a file (missing, a folder, a FIFO...), said as it is.
    problem = describe_path_problem(path, "file")
    if problem is not None:
        if run_file:
            raise RunError(f"{problem}; pass a run folder that 'genlab train' wrote")
        raise ConfigError(f"config file {problem}; check the --config path")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise error_class(f"cannot read {path}: {error.strerror}; check the file's permissions") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise failure(f"not UTF-8 text at line {line}") from error
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # tomllib says "Invalid value (at line 3, column 9)"; one parenthesis level reads better inside ours.
        message = str(error).splitlines()[0]
        raise failure(re.sub(r" \((at [^()]*)\)$", r" \1", message)) from error


def _settings_table(data: dict[str, Any], path: str | Path, *, run_file: bool) -> dict[str, Any]:
    # Allow a [config] table (as genlab writes it) or top-level keys.
    table = data.get("config", data)
    if not isinstance(table, dict):
        if run_file:
            raise RunError(f"{path} is damaged ('config' is not a table); restore it from a copy or start a new run")
        raise ConfigError(f"config file {path} has 'config' = {table!r}, not a [config] table; fix it")
    return dict(table)


def resolve(family, preset: str | None = None, config_file: str | Path | None = None,
            sets: Mapping[str, Any] | None = None):
    """Build the final config for `family` (a registry entry) from its layers."""
    config = family.config_class()
    preset = preset or "default"
    if preset not in family.presets:
        close = difflib.get_close_matches(preset, list(family.presets), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"presets: {', '.join(family.presets)}"
        raise ConfigError(f"unknown preset '{preset}' for {family.name}; {hint}")
    config = apply(config, family.presets[preset], f"preset '{preset}'")
    if config_file is not None:
        config = apply(config, read_toml(config_file), str(config_file))
    if sets:
        config = apply(config, sets, "--set")
    dataset = getattr(config, "dataset", None)
    if isinstance(dataset, str):
        # A new run's dataset is looked at now, before genlab.api.train makes the run folder, so an
        # unknown name or a path to nothing leaves no half-made run behind. Only what data.load would
        # refuse at once is refused: a known name need not be downloaded yet. (A run folder's own
        # config.toml is not checked so: its dataset may have moved since, and sampling needs none.)
        from genlab.data import dataset_problem

        problem = dataset_problem(dataset)
        if problem is not None:
            raise DataError(problem)
    return config


def to_dict(config) -> dict[str, Any]:
    data = dataclasses.asdict(config)
    # TOML has no None: leave such keys out (they fall back to the default, which is None).
    return {key: (list(value) if isinstance(value, tuple) else value) for key, value in data.items() if value is not None}


def write_toml(path: str | Path, config, family_name: str, preset: str) -> None:
    import tomli_w

    document = {"family": family_name, "preset": preset, "config": to_dict(config)}
    io.write_text(path, tomli_w.dumps(document))


def load_run_config(path: str | Path, family) -> Any:
    """Read a run folder's config.toml back into the family's dataclass (keys renamed since the
    run was written are read under their new names)."""
    data = _settings_table(read_toml_document(path, run_file=True), path, run_file=True)
    names = set(field_names(family.config_class))
    data = {RENAMED.get(key, key) if key not in names else key: value for key, value in data.items()}
    return apply(family.config_class(), data, str(path))
