"""Values checked where they enter: every bad setting, path, image or sample file is refused in
one line (a genlab error naming the problem and the fix), and a bad setting of a new run before
its run folder exists. No test here trains anything: configs are resolved, datasets and samples
checked directly."""
from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import raises_one_line

from genlab import config, data, evaluation, families, inputs
from genlab.errors import ConfigError, DataError, GenlabError

GAN = families.get("gan")


def resolve(family_name: str, **sets):
    return config.resolve(families.get(family_name), None, None, sets)


# ---------------------------------------------------------------------------- 1. the dataset value
@pytest.mark.parametrize("value, match", [
    ("", r"dataset is empty \(''\) in --set; pass a dataset name .*\(\./ for the current folder\)"),
    ("   ", r"dataset is empty \('   '\) in --set"),
    ("mnist\nfashion-mnist", r"dataset 'mnist\\nfashion-mnist' contains an unprintable character .* in --set; check the quoting"),
    ("runs/a\x00b", r"contains an unprintable character"),
    ("x" * 5000, r"dataset is 5000 characters long, more than any path can be"),
])
def test_empty_and_garbled_datasets_are_refused_by_the_config(value, match):
    with raises_one_line(ConfigError, match):
        resolve("gan", dataset=value)


@pytest.mark.parametrize("value", ["", " ", "\t"])
def test_data_load_refuses_an_empty_dataset_instead_of_reading_the_current_folder(value):
    # Path("") is the current folder: the empty value used to train on whatever images sat there.
    with raises_one_line(DataError, r"dataset is empty"):
        data.load(value)


@pytest.mark.parametrize("value, error_class, match", [
    ("mnst", DataError, r"unknown dataset 'mnst': did you mean 'mnist'\?"),
    ("./nowhere/at-all", DataError, r"nowhere/at-all does not exist; pass a folder of images"),
    ("/dev/null", DataError, r"/dev/null is a character device, not a file or folder"),
    ("~no-such-user-here/x", DataError, r"cannot expand ~no-such-user-here/x: no such user's home folder here"),
    ("a" * 300, DataError, r"is too long a name for this file system"),
])
def test_a_new_runs_dataset_is_looked_at_when_its_config_is_resolved(value, error_class, match):
    with raises_one_line(error_class, match):
        resolve("gan", dataset=value)


def test_known_names_and_real_paths_resolve(tmp_path):
    assert resolve("gan", dataset="fashion-mnist").dataset == "fashion-mnist"   # not downloaded: not needed yet
    assert resolve("gan", dataset=str(tmp_path)).dataset == str(tmp_path)


def test_a_run_folders_own_config_is_not_refused_for_a_dataset_moved_since(tmp_path):
    # Sampling a run needs no dataset: a config.toml naming a folder that is gone still loads.
    config.write_toml(tmp_path / "config.toml", dataclasses.replace(GAN.config_class(), dataset=str(tmp_path / "gone")),
                      "gan", "default")
    assert config.load_run_config(tmp_path / "config.toml", GAN).dataset == str(tmp_path / "gone")


@pytest.mark.parametrize("overrides", [{"dataset": ""}, {"dataset": "./nowhere"}, {"seed": -1}, {"seed": 2 ** 32},
                                       {"learning_rate": -1}, {"beta_1": 5}])
def test_train_refuses_bad_values_before_making_a_run_folder(tmp_path, overrides):
    from genlab import api

    # Tiny settings around the bad value: were it let through, the training would take seconds, not minutes.
    settings = {**GAN.tiny, "dataset": "mnist-5k", **overrides}
    with pytest.raises(GenlabError) as caught:
        api.train("gan", overrides=settings, runs_root=tmp_path / "runs", verbose=0)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# ---------------------------------------------------------------------------- 2. optimizer constants and floats
def _families_with(key: str) -> list[str]:
    return [name for name in families.names() if key in config.field_names(families.get(name).config_class)]


@pytest.mark.parametrize("key, value, match", [
    ("learning_rate", -1, r"learning_rate must be greater than 0, got -1\.0 in --set; use e\.g\. learning_rate="),
    ("learning_rate", 0, r"learning_rate must be greater than 0, got 0\.0"),
    ("learning_rate", "nan", r"learning_rate must be a finite number, got nan in --set; use e\.g\. learning_rate="),
    ("learning_rate", "inf", r"learning_rate must be a finite number, got inf"),
    ("learning_rate", "-inf", r"learning_rate must be a finite number, got -inf"),
    ("beta_1", 5, r"beta_1 must be in \[0, 1\), got 5\.0 in --set; use e\.g\. beta_1=0\.\d"),
    ("beta_1", 1, r"beta_1 must be in \[0, 1\), got 1\.0"),
    ("beta_1", -0.1, r"beta_1 must be in \[0, 1\), got -0\.1"),
    ("beta_2", 1.5, r"beta_2 must be in \[0, 1\), got 1\.5"),
    ("clip_norm", -1, r"clip_norm must be at least 0 \(0: no clipping\), got -1\.0"),
])
def test_optimizer_constants_are_range_checked_in_every_family(key, value, match):
    names = _families_with(key)
    assert names, f"no family has {key}"
    for name in names:
        with raises_one_line(ConfigError, match):
            resolve(name, **{key: value})


@pytest.mark.parametrize("key, value", [("beta_1", 5), ("learning_rate", -1)])
def test_the_suggested_value_is_the_familys_own_default(key, value):
    # An ebm's Adam runs with beta_1 = 0 (Du & Mordatch), a GAN's with 0.5: the fix names each one's own.
    for name in _families_with(key):
        default = getattr(families.get(name).config_class(), key)
        if default is None:     # the optimizer's own default (the classifier's Keras default): a fallback is named
            continue
        with pytest.raises(ConfigError) as caught:
            resolve(name, **{key: value})
        assert str(caught.value).endswith(f"use e.g. {key}={default}"), (name, str(caught.value))


def test_every_family_with_a_learning_rate_is_covered():
    # The check is shared (config.check_shared_values): a family added later gets it too.
    assert set(_families_with("learning_rate")) == set(families.names())
    assert {"gan", "cgan", "wgan-gp"} <= set(_families_with("beta_1"))


@pytest.mark.parametrize("name", families.names())
def test_no_float_setting_of_any_family_takes_nan_or_infinity(name):
    family = families.get(name)
    for field in dataclasses.fields(family.config_class):
        if isinstance(getattr(family.config_class(), field.name), float):
            for bad in ("nan", "inf"):
                with raises_one_line(ConfigError, rf"{field.name} must be a finite number, got {bad}"):
                    config.resolve(family, None, None, {field.name: bad})


def test_valid_edges_of_the_optimizer_ranges_are_accepted():
    resolved = resolve("wgan-gp", learning_rate="1e-8", beta_1="0", beta_2="0.999")
    assert (resolved.learning_rate, resolved.beta_1, resolved.beta_2) == (1e-8, 0.0, 0.999)
    assert resolve("diffusion", clip_norm="0").clip_norm == 0.0          # 0 turns clipping off
    assert resolve("classifier", learning_rate="none").learning_rate is None   # the optimizer's default


def test_the_shared_checks_also_guard_a_config_file(tmp_path):
    toml = tmp_path / "bad.toml"
    toml.write_text("learning_rate = -0.001\n", encoding="utf-8")
    with raises_one_line(ConfigError, rf"learning_rate must be greater than 0, got -0\.001 in {tmp_path}.*bad\.toml"):
        config.resolve(GAN, None, toml)


@pytest.mark.parametrize("family_name, sets, match", [
    ("classifier", {"hidden_units": "64,0"}, r"hidden_units must all be at least 1, got \(64, 0\)"),
    ("cgan", {"embedding_dim": "0"}, r"embedding_dim must be at least 1, got 0"),
    ("diffusion", {"validation_images": "-5"}, r"validation_images must be at least 1, got -5"),
])
def test_sizes_that_would_fail_inside_keras_are_refused_by_the_config(family_name, sets, match):
    with raises_one_line(ConfigError, match):
        resolve(family_name, **sets)


# ---------------------------------------------------------------------------- 3. seeds
@pytest.mark.parametrize("name", families.names())
@pytest.mark.parametrize("seed", ["-1", str(2 ** 32), str(10 ** 30)])
def test_seeds_outside_numpys_range_are_refused_by_the_config(name, seed):
    with raises_one_line(ConfigError, rf"seed must be a whole number from 0 to 4294967295, got {seed} in --set; use e\.g\. seed=0"):
        resolve(name, seed=seed)


def test_the_largest_seed_is_accepted():
    assert resolve("gan", seed=str(2 ** 32 - 1)).seed == 2 ** 32 - 1


# ---------------------------------------------------------------------------- 4. 16-bit pictures
SIXTEEN_BIT_VALUES = np.array([[0, 257, 514, 1000], [25700, 32896, 60000, 65535]] * 2, dtype=np.uint16)


def _save_sixteen_bit_png(path: Path, values: np.ndarray = SIXTEEN_BIT_VALUES) -> Path:
    from PIL import Image

    Image.fromarray(values).save(path)   # a uint16 array: mode "I;16"
    with Image.open(path) as reopened:
        assert reopened.mode in ("I;16", "I"), reopened.mode   # Pillow reads it back as 16-bit
    return path


def test_an_image_folder_of_16_bit_pngs_is_scaled_by_bit_depth_not_clipped(tmp_path):
    for index in range(4):
        _save_sixteen_bit_png(tmp_path / f"{index}.png")
    dataset = data.load(str(tmp_path), channels=1)
    expected = np.rint(SIXTEEN_BIT_VALUES / 257.0).astype(np.uint8)   # 0 1 2 4 / 100 128 233 255
    assert dataset.x_train.shape[1:] == (4, 4, 1)
    for image in np.concatenate([dataset.x_train, dataset.x_test]):
        np.testing.assert_array_equal(image[..., 0], expected)


def test_a_16_bit_input_picture_is_scaled_by_bit_depth(tmp_path):
    path = _save_sixteen_bit_png(tmp_path / "digit.png")
    images = inputs.load_images(path, (4, 4, 1), bright_digits_on_dark=False)
    np.testing.assert_allclose(images[0, ..., 0], np.rint(SIXTEEN_BIT_VALUES / 257.0) / 255.0, atol=1e-6)


def test_wider_pictures_are_scaled_or_refused_never_clipped(tmp_path):
    from PIL import Image

    from genlab.data.images import to_eight_bits

    thirty_two = Image.fromarray(SIXTEEN_BIT_VALUES.astype(np.int32))         # mode "I", 16-bit data
    np.testing.assert_array_equal(np.asarray(to_eight_bits(thirty_two, tmp_path)), np.rint(SIXTEEN_BIT_VALUES / 257.0))
    unit_floats = Image.fromarray(np.array([[0.0, 0.5], [0.25, 1.0]], dtype=np.float32))   # mode "F" in [0, 1]
    np.testing.assert_array_equal(np.asarray(to_eight_bits(unit_floats, tmp_path)), [[0, 128], [64, 255]])
    with raises_one_line(DataError, r"has 32-bit integer pixels from 0 to 70000, beyond 16 bits"):
        to_eight_bits(Image.fromarray(np.array([[0, 70000]], dtype=np.int32)), tmp_path)
    with raises_one_line(DataError, r"has float pixels from -1 to 1, not \[0, 1\] or 0\.\.255"):
        to_eight_bits(Image.fromarray(np.array([[-1.0, 1.0]], dtype=np.float32)), tmp_path)
    eight = Image.new("L", (2, 2), 7)
    assert to_eight_bits(eight, tmp_path) is eight   # 8-bit pictures are left alone


# ---------------------------------------------------------------------------- 5. folders that cannot be listed
@pytest.fixture
def refuse_listing(monkeypatch):
    """Make listing the given folders fail with PermissionError, as chmod 000 would for a user
    who is not root (the tests run as root, which reads anything)."""
    blocked: set[Path] = set()

    def guard(original):
        def listing(path=".", *args, **kwargs):
            if not isinstance(path, int) and Path(os.fsdecode(path)).absolute() in blocked:
                raise PermissionError(13, "Permission denied", os.fsdecode(path))
            return original(path, *args, **kwargs)
        return listing

    monkeypatch.setattr(os, "scandir", guard(os.scandir))
    monkeypatch.setattr(os, "listdir", guard(os.listdir))
    return lambda path: blocked.add(Path(path).absolute())


def _class_folders(root: Path, names=("cats", "dogs")) -> Path:
    from PIL import Image

    for name in names:
        (root / name).mkdir(parents=True)
        for index in range(3):
            Image.new("L", (8, 8), 40 * index).save(root / name / f"{index}.png")
    return root


def test_an_unreadable_class_folder_is_an_error_naming_it(tmp_path, refuse_listing):
    root = _class_folders(tmp_path / "pets")
    refuse_listing(root / "dogs")
    with raises_one_line(DataError, r"cannot list the folder .*pets/dogs \(Permission denied\); make it readable"):
        data.load(str(root))


def test_an_unreadable_folder_deeper_in_a_class_is_an_error_too(tmp_path, refuse_listing):
    root = _class_folders(tmp_path / "pets")
    (root / "cats" / "kittens").mkdir()
    refuse_listing(root / "cats" / "kittens")
    with raises_one_line(DataError, r"cannot list the folder .*cats/kittens"):
        data.load(str(root))


def test_hidden_folders_are_skipped_without_being_listed(tmp_path, refuse_listing):
    root = _class_folders(tmp_path / "pets")
    (root / "cats" / ".cache").mkdir()
    refuse_listing(root / "cats" / ".cache")
    assert data.load(str(root)).class_names == ("cats", "dogs")


def test_a_dataset_folder_that_cannot_be_listed_is_one_line(tmp_path, refuse_listing):
    root = _class_folders(tmp_path / "pets")
    refuse_listing(root)
    with raises_one_line(DataError, r"cannot list the folder .*pets \(Permission denied\)"):
        data.load(str(root))
    with raises_one_line(DataError, r"cannot list the folder .*pets"):   # and a new run stops before its folder
        resolve("gan", dataset=str(root))


# ---------------------------------------------------------------------------- 6. .npz labels and shapes
def test_one_huge_label_is_refused_before_building_class_names(tmp_path):
    labels = np.zeros(40, dtype=np.int64)
    labels[7] = 2 ** 40
    np.savez(tmp_path / "huge.npz", images=np.zeros((40, 8, 8), np.uint8), labels=labels)
    with raises_one_line(DataError, r"label 1099511627776 is far beyond the 40 images \(class indices must be below 1000\)"):
        data.load(str(tmp_path / "huge.npz"))


def test_labels_beyond_the_images_but_within_the_room_are_kept(tmp_path):
    labels = np.array([0, 999] * 10, dtype=np.int64)
    np.savez(tmp_path / "sparse.npz", images=np.zeros((20, 8, 8), np.uint8), labels=labels)
    assert data.load(str(tmp_path / "sparse.npz")).num_classes == 1000


@pytest.mark.parametrize("labels, match", [
    (np.full(20, -3), r"must hold non-negative whole numbers"),
    (np.full(20, 1.5), r"must hold non-negative whole numbers"),
])
def test_negative_and_fractional_labels_are_refused(tmp_path, labels, match):
    np.savez(tmp_path / "bad.npz", images=np.zeros((20, 8, 8), np.uint8), labels=labels)
    with raises_one_line(DataError, match):
        data.load(str(tmp_path / "bad.npz"))


@pytest.mark.parametrize("shape", [(40, 0, 28), (40, 28, 0), (40, 0, 28, 1)])
def test_images_with_an_empty_dimension_are_refused(tmp_path, shape):
    np.savez(tmp_path / "empty.npz", images=np.zeros(shape, np.float32))
    with raises_one_line(DataError, r"with an empty dimension; images need at least 1 x 1 pixels"):
        data.load(str(tmp_path / "empty.npz"))


# ---------------------------------------------------------------------------- 7, 8. samples to score
SHAPE = (28, 28, 1)


def test_samples_in_minus_one_to_one_are_refused_with_the_rescaling():
    samples = np.random.default_rng(0).uniform(-1.0, 1.0, (20,) + SHAPE).astype(np.float32)
    samples[0, 0, 0, 0], samples[0, 0, 1, 0] = -1.0, 1.0   # a tanh generator's extremes
    with raises_one_line(DataError, r"samples\.npz: pixel values run from -1 to 1, which looks like \[-1, 1\]; "
                                    r"the evaluator wants \[0, 1\]: rescale with \(x \+ 1\) / 2"):
        evaluation.check_images(samples, SHAPE, "samples.npz")
    rescaled = evaluation.check_images((samples + 1) / 2, SHAPE, "samples.npz")
    assert rescaled.min() >= 0 and rescaled.max() <= 1


@pytest.mark.parametrize("low, high", [(0.0, 1.3), (-0.5, 3.0), (0.0, 300.0), (-200.0, 255.0)])
def test_other_values_outside_the_unit_range_are_refused_not_clipped(low, high):
    samples = np.full((20,) + SHAPE, low, np.float32)
    samples[0, 0, 0, 0] = high
    with raises_one_line(DataError, r"outside \[0, 1\] \(and not 0\.\.255 pixels\); save float images in \[0, 1\]"):
        evaluation.check_images(samples, SHAPE, "samples.npz")


def test_rounding_excursions_are_clipped_and_0_to_255_pixels_scaled_with_a_notice(caplog):
    samples = np.full((20,) + SHAPE, 0.5, np.float32)
    samples[0, 0, 0, 0], samples[1, 0, 0, 0] = 1.0004, -0.0004
    checked = evaluation.check_images(samples, SHAPE, "samples.npz")
    assert checked.min() == 0.0 and checked.max() == 1.0
    pixels = np.full((20,) + SHAPE, 255, np.uint8)
    pixels[0] = 0
    with caplog.at_level(logging.INFO, logger="genlab.evaluation"):
        scaled = evaluation.check_images(pixels, SHAPE, "samples.npz")
    assert scaled.dtype == np.float32 and scaled.min() == 0.0 and scaled.max() == 1.0
    assert "read as 0..255 and divided by 255" in caplog.text


def test_the_minimum_number_of_samples_is_the_one_the_message_names():
    with raises_one_line(DataError, r"9 images are too few to evaluate; pass at least 10 "):
        evaluation.check_images(np.zeros((9,) + SHAPE, np.float32), SHAPE, "samples.npz")
    assert len(evaluation.check_images(np.zeros((10,) + SHAPE, np.float32), SHAPE, "samples.npz")) == 10


def test_complex_and_boolean_samples_are_refused():
    for samples in (np.zeros((20,) + SHAPE, complex), np.zeros((20,) + SHAPE, bool)):
        with raises_one_line(DataError, r"images must be real numbers in \[0, 1\]"):
            evaluation.check_images(samples, SHAPE, "samples.npz")


# ---------------------------------------------------------------------------- 9. paths that are not what they seem
def test_describe_path_problem_says_what_is_true(tmp_path):
    file, folder, fifo, link = tmp_path / "a.npz", tmp_path / "folder", tmp_path / "pipe", tmp_path / "link"
    file.write_bytes(b"x")
    folder.mkdir()
    os.mkfifo(fifo)
    link.symlink_to(tmp_path / "gone")
    describe = inputs.describe_path_problem
    assert describe(file) is None and describe(folder, "folder") is None and describe(folder, "file or folder") is None
    assert describe(folder) == f"{folder} is a folder, not a file"
    assert describe(file, "folder") == f"{file} is a file, not a folder"
    assert describe(fifo) == f"{fifo} is a FIFO (named pipe), not a file"
    assert describe("/dev/null") == "/dev/null is a character device, not a file"
    assert describe(tmp_path / "missing.npz") == f"{tmp_path / 'missing.npz'} does not exist"
    assert describe(link) == f"{link} is a broken symbolic link (its target does not exist)"
    assert describe(file / "inside") == f"{file / 'inside'} does not exist (a part of its path is a file, not a folder)"
    assert describe("a\nb") == "'a\\nb' does not exist"   # one line, whatever the path holds
    assert describe("a\x00b") == "'a\\x00b' is not a usable path (it contains a NUL character)"


def test_inputs_config_files_and_datasets_say_what_a_path_really_is(tmp_path):
    folder, fifo = tmp_path / "digit.png", tmp_path / "fifo.npz"
    folder.mkdir()
    os.mkfifo(fifo)
    with raises_one_line(DataError, r"input .*digit\.png is a folder, not a file; pass a PNG/JPEG image or an \.npy batch"):
        inputs.load_images(folder, SHAPE)
    with raises_one_line(ConfigError, r"config file .*digit\.png is a folder, not a file; check the --config path"):
        config.resolve(GAN, None, folder)
    with raises_one_line(DataError, r"fifo\.npz is a FIFO \(named pipe\), not a file or folder"):
        data.load(str(fifo))


def test_the_path_helper_never_raises_for_odd_input():
    assert inputs.describe_path_problem("x" * 5000).endswith("is too long a name for this file system")
    assert inputs.describe_path_problem("/proc/self/fd/999999") == "/proc/self/fd/999999 does not exist"
    with pytest.raises(ValueError):   # a caller's mistake, not a user's
        inputs.describe_path_problem("x", "device")
