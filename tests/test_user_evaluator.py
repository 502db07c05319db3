"""An evaluator for any dataset: `genlab evaluator train --dataset FOLDER` on colour images the
test makes itself (mixed sizes, JPEG and PNG, a few grey), kept under the data's fingerprint and
found again by `genlab evaluate`."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import painted, raises_one_line

from genlab import cli, data, evaluator
from genlab.errors import GenlabError


def test_evaluator_for_a_folder_is_kept_under_its_fingerprint_and_found_again(photos, capsys):
    assert cli.main(["evaluator", "train", "--dataset", str(photos), "--image-size", "16", "--epochs", "3"]) == 0
    dataset = data.load(str(photos), image_size=16)
    key = evaluator.fingerprint(dataset)
    folder = evaluator.user_folder() / key[:16]
    entry = json.loads((folder / "evaluator.json").read_text())
    assert entry["kind"] == "classifier" and entry["image_shape"] == [16, 16, 3]
    assert entry["sha256"] == evaluator.sha256(folder / "evaluator.keras")
    # Two colours, two shapes: a classifier beats chance on the held-out tenth.
    assert entry["test_accuracy"] > 0.7
    found = evaluator.load(dataset)
    assert found.source == str(folder) and found.sha256 == entry["sha256"]
    features, probabilities = found.embed(data.to_float(dataset.x_test))
    assert features.shape == (len(dataset.x_test), 128) and probabilities.shape == (len(dataset.x_test), 2)
    # The same images at another size are other data: no evaluator, and the message says how to get one.
    with raises_one_line(GenlabError, "no evaluator for .*genlab evaluator train --dataset"):
        evaluator.load(data.load(str(photos), image_size=8))
    assert cli.main(["evaluator", "show"]) == 0
    assert "photos (yours)" in capsys.readouterr().out
    # A changed file is refused, never used.
    evaluator._CACHE.clear()
    path = folder / "evaluator.keras"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with raises_one_line(GenlabError, "was changed, so its numbers would not be comparable: train it again"):
        evaluator.load(dataset)


def test_data_without_classes_gets_a_self_supervised_evaluator(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE_DIR", str(tmp_path / "cache"))
    painted(tmp_path / "one-kind", 60, (30, 160, 40), np.random.default_rng(1), "disc")
    entry = evaluator.train(str(tmp_path / "one-kind"), epochs=2, image_size=16, verbose=0)
    assert entry["kind"].startswith("self-supervised")
    # Turning an image is learnable from its content: better than the 1 in 4 of guessing.
    assert entry["test_accuracy"] > 0.3


def test_rotations_label_each_turn():
    images = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 1)
    turned, labels = evaluator.rotated(images)
    assert turned.shape == (8, 3, 3, 1) and labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    np.testing.assert_array_equal(turned[2, :, :, 0], np.rot90(images[0, :, :, 0]))
    wide, labels = evaluator.rotated(np.zeros((1, 2, 3, 1), np.float32))
    assert wide.shape == (2, 2, 3, 1) and labels.tolist() == [0, 1]


@pytest.mark.parametrize("dataset", ["mnist-5k", "mondrian"])
def test_a_dataset_with_a_shipped_evaluator_keeps_it(dataset):
    with raises_one_line(GenlabError, "has the evaluator shipped with genlab"):
        evaluator.train(dataset, epochs=1, verbose=0)
