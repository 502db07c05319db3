"""`genlab evaluate --samples`: the shipped evaluator ranks real digits far above noise, and bad
sample files get one-line errors."""
import json

import numpy as np
import pytest

from genlab import cli, data, evaluator


def test_the_shipped_evaluator_matches_its_registered_hash_and_accuracy():
    entry = evaluator.registry()["mnist"]
    assert evaluator.sha256(evaluator.ASSETS / entry["file"]) == entry["sha256"]
    assert entry["test_accuracy"] >= 0.993


def test_a_changed_evaluator_file_is_refused(tmp_path, monkeypatch):
    from genlab.errors import GenlabError

    copy = tmp_path / "evaluator-mnist.keras"
    copy.write_bytes((evaluator.ASSETS / "evaluator-mnist.keras").read_bytes() + b"tampered")
    registry = tmp_path / "evaluators.json"
    registry.write_text(json.dumps(evaluator.registry()))
    monkeypatch.setattr(evaluator, "ASSETS", tmp_path)
    monkeypatch.setattr(evaluator, "REGISTRY", registry)
    monkeypatch.setattr(evaluator, "_CACHE", {})
    with pytest.raises(GenlabError, match="was changed"):
        evaluator.load("mnist")


def test_real_digits_score_far_better_than_noise(tmp_path, capsys):
    digits = data.load("mnist-5k").x_test[:500].astype("float32") / 255.0
    noise = np.random.default_rng(0).random(digits.shape).astype("float32")
    rows = {}
    for name, images in (("digits", digits), ("noise", noise)):
        path = tmp_path / f"{name}.npz"
        np.savez(path, images=images[..., 0])
        out = tmp_path / f"{name}.json"
        assert cli.main(["evaluate", "--samples", str(path), "--dataset", "mnist", "--no-reference", "--json", str(out)]) == 0
        rows[name] = next(iter(json.loads(out.read_text()).values()))
    assert "FID" in capsys.readouterr().out
    assert rows["digits"]["fid"] * 10 < rows["noise"]["fid"]
    assert rows["digits"]["precision"] > 0.5 > rows["noise"]["precision"]
    assert rows["digits"]["class_coverage"] == 1.0
    assert rows["digits"]["classifier_score"] > 5 > rows["noise"]["classifier_score"]


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    ("text", "not a readable .npz"),
    ("wrong_shape", "do not match"),
    ("nan", "NaN"),
])
def test_bad_sample_files_get_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "samples.npz"
    if content == "text":
        path.write_text("not an archive")
    elif content == "wrong_shape":
        np.savez(path, images=np.zeros((50, 32, 32), dtype=np.float32))
    elif content == "nan":
        np.savez(path, images=np.full((50, 28, 28), np.nan, dtype=np.float32))
    assert cli.main(["evaluate", "--samples", str(path), "--dataset", "mnist"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("genlab: error:") and message in error and "\n" not in error


def test_reference_rows_bracket_the_scale_and_measure_memorisation_on_unseen_images():
    from genlab import evaluation
    from genlab.metrics import generative as gm

    reference = evaluation.real_reference("mnist")
    rows = evaluation.reference_rows(reference)
    real, mean_image = rows["real training images"], rows["per-pixel mean image"]
    assert real["fid"] * 20 < mean_image["fid"]
    assert real["recall"] > 0.8 > 0.05 > mean_image["recall"]
    # Training images sit at distance 0 from themselves; the row reports the unseen test set's distance.
    assert gm.nearest_neighbour_distance(reference.train_features[:100], reference.train_features) < 1e-2
    assert real["nn_train_distance"] == pytest.approx(gm.nearest_neighbour_distance(reference.test_features, reference.train_features))
    assert real["nn_train_distance"] > 0.1
