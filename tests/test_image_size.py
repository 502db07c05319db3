"""`image_size` and `image_channels`: every family trains on a user's folder of mixed sizes and modes at
the size asked, says once what loading changed, and is measured on the same images it learnt
(its evaluator found by the data's fingerprint). The folders are painted by the tests."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from conftest import raises_one_line

from genlab import cli, config, data, families
from genlab.errors import ConfigError
from genlab.runs import Run

LOADING = [name for name in families.names() if "dataset" in config.field_names(families.get(name).config_class)]


@pytest.mark.parametrize("name", LOADING)
def test_every_family_that_loads_a_dataset_takes_image_size_and_image_channels(name):
    family = families.get(name)
    resolved = config.resolve(family, None, None, {"image_size": "32", "image_channels": "3"})
    assert (resolved.image_size, resolved.image_channels) == (32, 3)
    # Unset by default: the dataset's own size and channels, so every MNIST run stays as it was.
    assert (family.config_class().image_size, family.config_class().image_channels) == (None, None)
    with raises_one_line(ConfigError, r"image_size must be a whole number of pixels from 8 to 512, got 4 in --set; use e\.g\. image_size=32"):
        config.resolve(family, None, None, {"image_size": "4"})
    with raises_one_line(ConfigError, r"image_channels must be 1 \(grey\) or 3 \(RGB\), got 2 in --set"):
        config.resolve(family, None, None, {"image_channels": "2"})


def test_load_configured_reads_the_configs_size_and_channels(photos):
    conf = config.resolve(families.get("vae"), None, None, {"dataset": str(photos), "image_size": "16", "image_channels": "1"})
    loaded = data.load_configured(conf)
    assert loaded.image_shape == (16, 16, 1)
    assert np.array_equal(loaded.x_train, data.load(str(photos), image_size=16, channels=1).x_train)
    # A known dataset too: MNIST's 28-pixel digits at 32 pixels in RGB (grey copied to three channels).
    mnist = data.load_configured(config.resolve(families.get("vae"), None, None,
                                                {"dataset": "mnist-5k", "image_size": "32", "image_channels": "3"}))
    assert mnist.image_shape == (32, 32, 3)
    assert np.array_equal(mnist.x_test[..., 0], mnist.x_test[..., 2])


def test_a_folder_of_photos_trains_a_vae_at_32_and_is_measured_by_its_own_evaluator(photos, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    assert cli.main(["evaluator", "train", "--dataset", str(photos), "--image-size", "32", "--epochs", "2"]) == 0
    out = tmp_path / "vae-photos"
    settings = {**families.get("vae").tiny, "dataset": str(photos), "image_size": 32, "epochs": 1}
    arguments = ["train", "vae", "--out", str(out), "--quiet"]
    for key, value in settings.items():
        arguments += ["--set", f"{key}={value}"]
    assert cli.main(arguments) == 0
    run = Run.open(out)
    assert run.image_shape() == (32, 32, 3)
    # Measured against the same 32-pixel images, with the evaluator trained for them.
    assert cli.main(["evaluate", str(out), "-n", "100", "--json", str(tmp_path / "evaluation.json")]) == 0
    assert np.isfinite(run.read_metrics()["sample_fid"])
    rows = json.loads((tmp_path / "evaluation.json").read_text())
    assert "vae samples" in json.dumps(rows)
    # Mixed sizes (40x40 and 36x48) and a few grey photos among colour ones: said once, although the
    # evaluator, the training and the evaluation each loaded the folder.
    said = [record.getMessage() for record in caplog.records if "resized to 32x32" in record.getMessage()]
    assert said == ["photos: 120 images; 120 resized to 32x32 (from 40x40 to 36x48); 12 converted to RGB (12 grey)"
                    .replace("photos", str(photos), 1)], said


@pytest.mark.parametrize("name", LOADING)
def test_every_family_trains_tiny_on_a_folder_of_photos_at_the_size_asked(name, photos, tmp_path):
    """Photos of two sizes, colour and a few grey, at 16 x 16 RGB: every family trains on them without
    an evaluator for this data (training then says how to get one), and what it draws or rebuilds is 16 x 16 RGB."""
    from conftest import tiny_run

    import genlab

    family = families.get(name)
    run = tiny_run(name, tmp_path / name, dataset=str(photos), image_size=16, image_channels=3)
    assert run.read_metrics()["status"] == "complete"
    assert run.image_shape() == (16, 16, 3)
    if family.can("sample"):
        images = genlab.sample(run.path, 3, seed=0)
        assert images.shape == (3, 16, 16, 3) and np.isfinite(images).all()


def test_a_known_dataset_at_another_size_is_not_scored_by_its_shipped_evaluator(tmp_path, monkeypatch):
    from genlab import evaluator
    from genlab.errors import GenlabError

    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    assert evaluator.load(data.load("mnist-5k")).source == "shipped with genlab"
    # 32 x 32 MNIST is data of its own: the 28-pixel network would refuse its shape deep inside
    # the scoring; the message names the command that makes an evaluator for it.
    with raises_one_line(GenlabError, r"no evaluator for mnist-5k .*genlab evaluator train --dataset mnist-5k"):
        evaluator.load(data.load("mnist-5k", image_size=32))
