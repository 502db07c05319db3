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
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Mapping

from genlab import io
from genlab.errors import ConfigError, RunError


# Keys that were renamed so one idea has one name across families (and `precision`, which
# collided with the precision metric, took Keras' own name). A user who writes the old key is
# told the new one; a run folder written before the rename still loads.
RENAMED = {"code_size": "latent_dim", "precision": "dtype_policy"}


def describe(default: Any, help: str):
    """A config field with its default and a one-line description (shown by `genlab config`)."""
    return dataclasses.field(default=default, metadata={"help": help})


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

    if not path.is_file():
        if run_file:
            raise RunError(f"{path} does not exist; pass a run folder that 'genlab train' wrote")
        raise ConfigError(f"config file {path} does not exist; check the --config path")
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
