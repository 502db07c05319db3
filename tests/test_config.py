"""Tests for genlab.config: layering, type coercion, errors that name the fix, TOML round trips."""
from __future__ import annotations

import dataclasses

import pytest
from conftest import raises_one_line

from genlab import config, families
from genlab.errors import ConfigError
from genlab.families.autoencoder import AutoencoderConfig
from genlab.families.classifier import ClassifierConfig
from genlab.families.gan import GANConfig

CLASSIFIER = families.get("classifier")


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ layering


def test_no_preset_means_default_preset_over_dataclass_defaults():
    resolved = config.resolve(CLASSIFIER)
    expected = dataclasses.replace(ClassifierConfig(), **CLASSIFIER.presets["default"])
    assert resolved == expected


def test_layers_apply_in_order_defaults_preset_file_sets(tmp_path):
    defaults = ClassifierConfig()
    chapter = CLASSIFIER.presets["chapter"]

    preset_only = config.resolve(CLASSIFIER, "chapter")
    assert preset_only.epochs == chapter["epochs"] != defaults.epochs
    assert preset_only.optimizer == chapter["optimizer"] != defaults.optimizer
    assert preset_only.seed == defaults.seed  # not in the preset: the dataclass default

    toml = write(tmp_path / "c.toml", "epochs = 7\nbatch_size = 32\n")
    with_file = config.resolve(CLASSIFIER, "chapter", toml)
    assert (with_file.epochs, with_file.batch_size) == (7, 32)
    assert with_file.optimizer == chapter["optimizer"]  # the preset still shows through

    with_sets = config.resolve(CLASSIFIER, "chapter", toml, {"epochs": "9", "seed": "4"})
    assert (with_sets.epochs, with_sets.batch_size, with_sets.seed) == (9, 32, 4)
    assert with_sets.optimizer == chapter["optimizer"]


def test_config_file_may_use_a_config_table(tmp_path):
    toml = write(tmp_path / "c.toml", 'family = "classifier"\n[config]\nepochs = 5\narchitecture = "dense"\n')
    resolved = config.resolve(CLASSIFIER, None, toml)
    assert (resolved.epochs, resolved.architecture) == (5, "dense")


def test_set_keys_accept_dashes():
    assert config.resolve(CLASSIFIER, sets={"batch-size": "16"}).batch_size == 16


# ------------------------------------------------------------------------------------ coercion


@pytest.mark.parametrize("key, text, expected", [
    ("epochs", "5", 5),
    ("epochs", "1e1", 10),
    ("epochs", "4.0", 4),
    ("batch_size", " 64 ", 64),
    ("validation_split", "0.25", 0.25),
    ("validation_split", "0", 0.0),
    ("learning_rate", "3e-4", 3e-4),
    ("learning_rate", "none", None),
    ("learning_rate", "None", None),
    ("learning_rate", "null", None),
    ("hidden_units", "32,16", (32, 16)),
    ("hidden_units", "(8, 4, 2)", (8, 4, 2)),
    ("hidden_units", "128", (128,)),
])
def test_set_strings_are_coerced_to_the_field_type(key, text, expected):
    value = getattr(config.resolve(CLASSIFIER, "chapter", sets={key: text}), key)
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(value, tuple):
        assert all(type(item) is int for item in value)


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("True", True), ("1", True), ("yes", True), ("on", True),
    ("false", False), ("0", False), ("no", False), ("off", False),
])
def test_bool_strings(text, expected):
    value = config.apply(AutoencoderConfig(), {"clip_noisy": text}, "--set").clip_noisy
    assert value is expected


def test_toml_values_keep_their_types(tmp_path):
    toml = write(tmp_path / "c.toml", "hidden_units = [16, 8]\nlearning_rate = 0.002\nepochs = 2\n")
    resolved = config.resolve(CLASSIFIER, "chapter", toml)
    assert resolved.hidden_units == (16, 8)
    assert resolved.learning_rate == pytest.approx(0.002)
    assert resolved.epochs == 2


@pytest.mark.parametrize("overrides, match", [
    ({"epochs": "many"}, r"config key 'epochs' wants int, got 'many'"),
    ({"epochs": "2.5"}, r"config key 'epochs' wants int, got '?2\.5'?; fix the value"),
    ({"learning_rate": "fast"}, r"config key 'learning_rate' wants float, got 'fast'"),
    ({"hidden_units": "64,x"}, r"config key 'hidden_units' wants int, got 'x'"),
])
def test_bad_value_types_are_errors(overrides, match):
    with raises_one_line(ConfigError, match):
        config.resolve(CLASSIFIER, "chapter", sets=overrides)


def test_bad_bool_is_an_error():
    with raises_one_line(ConfigError, r"config key 'clip_noisy' wants bool, got 'maybe'"):
        config.apply(AutoencoderConfig(), {"clip_noisy": "maybe"}, "--set")


def test_toml_bool_is_not_silently_an_int(tmp_path):
    # `epochs = true` is a typo for a number, not 1 epoch.
    toml = write(tmp_path / "c.toml", "epochs = true\n")
    with raises_one_line(ConfigError, r"config key 'epochs' wants int, got True"):
        config.resolve(CLASSIFIER, "chapter", toml)
    toml = write(tmp_path / "c.toml", "validation_split = false\n")
    with raises_one_line(ConfigError, r"config key 'validation_split' wants float, got False"):
        config.resolve(CLASSIFIER, "chapter", toml)


def test_validation_runs_after_overrides():
    with raises_one_line(ConfigError, r"architecture 'rnn' is unknown; choose one of dense, cnn"):
        config.resolve(CLASSIFIER, sets={"architecture": "rnn"})
    with raises_one_line(ConfigError, r"label_smoothing must be in \[0, 0.5\)"):
        config.resolve(families.get("gan"), sets={"label_smoothing": "0.7"})


# ------------------------------------------------------------------------------------ errors


def test_unknown_key_names_the_closest_valid_key():
    with raises_one_line(ConfigError, r"unknown config key 'epoch' in --set; did you mean 'epochs'\?"):
        config.resolve(CLASSIFIER, sets={"epoch": "3"})


def test_unknown_key_without_close_match_lists_valid_keys():
    with raises_one_line(ConfigError, r"unknown config key 'zzzzqqq' in --set; valid keys: dataset, image_size, image_channels, architecture, "):
        config.resolve(CLASSIFIER, sets={"zzzzqqq": "3"})


def test_unknown_key_in_a_file_names_the_file(tmp_path):
    toml = write(tmp_path / "typo.toml", "batchsize = 8\n")
    with raises_one_line(ConfigError, r"unknown config key 'batchsize' in .*typo\.toml; did you mean 'batch_size'\?"):
        config.resolve(CLASSIFIER, "chapter", toml)


def test_unknown_preset():
    with raises_one_line(ConfigError, r"unknown preset 'chaptr' for classifier; did you mean 'chapter'\?"):
        config.resolve(CLASSIFIER, "chaptr")
    with raises_one_line(ConfigError, r"unknown preset 'xyz' for classifier; presets: chapter, default"):
        config.resolve(CLASSIFIER, "xyz")


def test_malformed_toml(tmp_path):
    toml = write(tmp_path / "bad.toml", "epochs = = 3\n[unclosed\n")
    with raises_one_line(ConfigError, r"config file .*bad\.toml is not valid TOML \(.*\); fix its syntax"):
        config.resolve(CLASSIFIER, "chapter", toml)


def test_missing_config_file(tmp_path):
    with raises_one_line(ConfigError, r"config file .*nope\.toml does not exist; check the --config path"):
        config.resolve(CLASSIFIER, "chapter", tmp_path / "nope.toml")


def test_set_without_equals():
    with raises_one_line(ConfigError, r"--set wants key=value, got 'epochs5'; e\.g\. --set epochs=5"):
        config.parse_sets(["epochs5"])


def test_parse_sets_splits_on_the_first_equals_and_strips():
    assert config.parse_sets([" epochs = 3", "dataset=a=b", "learning_rate="]) == {
        "epochs": "3", "dataset": "a=b", "learning_rate": ""}
    assert config.parse_sets(None) == {}


# ------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("name,preset", [(name, preset) for name in families.names() for preset in families.get(name).presets])
def test_config_toml_round_trip(tmp_path, name, preset):
    family = families.get(name)
    resolved = config.resolve(family, preset, sets={"seed": "11"})
    path = tmp_path / "config.toml"
    config.write_toml(path, resolved, family.name, preset)
    header = config.read_toml(path)
    assert config.load_run_config(path, family) == resolved
    # The written file names the family and preset and holds every non-None key.
    import tomllib

    document = tomllib.loads(path.read_text())
    assert (document["family"], document["preset"]) == (name, preset)
    assert set(header) == {key for key, value in dataclasses.asdict(resolved).items() if value is not None}


def test_round_trip_keeps_tuples_none_and_bools(tmp_path):
    resolved = config.resolve(CLASSIFIER, "chapter", sets={"hidden_units": "5,6,7", "learning_rate": "none"})
    path = tmp_path / "config.toml"
    config.write_toml(path, resolved, "classifier", "chapter")
    assert config.load_run_config(path, CLASSIFIER).hidden_units == (5, 6, 7)
    assert config.load_run_config(path, CLASSIFIER).learning_rate is None

    ae = config.apply(AutoencoderConfig(), {"clip_noisy": "yes", "noise": "masking", "noise_factor": "0.3"}, "--set")
    config.write_toml(path, ae, "dae", "default")
    assert config.load_run_config(path, families.get("ae")) == ae


def test_gan_config_field_types_resolve():
    # Every dataclass field of every family has a type the coercer understands.
    for klass in (ClassifierConfig, AutoencoderConfig, GANConfig):
        instance = klass()
        for field in dataclasses.fields(klass):
            value = getattr(instance, field.name)
            text = "none" if value is None else (",".join(map(str, value)) if isinstance(value, tuple) else str(value))
            again = config.apply(instance, {field.name: text}, "--set")
            assert getattr(again, field.name) == value, field.name
