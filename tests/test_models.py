"""Tests for genlab.models: safe loading of .keras files."""
from __future__ import annotations

import zipfile

import keras
import numpy as np
import pytest
from conftest import raises_one_line

from genlab import models
from genlab.errors import RunError, UnsafeModelError


def small_model(with_lambda: bool = False):
    inputs = keras.Input(shape=(4,))
    x = keras.layers.Dense(3, name="dense")(inputs)
    if with_lambda:
        x = keras.layers.Lambda(lambda t: t * 2, name="double")(x)
    return keras.Model(inputs, x)


def test_lambda_layer_is_refused(tmp_path):
    path = tmp_path / "lambda.keras"
    small_model(with_lambda=True).save(path)
    with raises_one_line(UnsafeModelError, r"lambda\.keras contains a Lambda layer, whose loading would run arbitrary code; genlab refuses it"):
        models.load_model(path)


def test_nested_lambda_is_refused(tmp_path):
    inner = small_model(with_lambda=True)
    inputs = keras.Input(shape=(4,))
    outer = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    path = tmp_path / "nested.keras"
    outer.save(path)
    with raises_one_line(UnsafeModelError, r"contains a Lambda layer"):
        models.load_model(path)


def test_a_normal_model_loads_and_predicts_the_same(tmp_path):
    model = small_model()
    path = tmp_path / "plain.keras"
    model.save(path)
    loaded = models.load_model(path)
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6)


def test_non_zip_file_is_a_run_error(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("not a zip archive")
    with raises_one_line(RunError, r"model\.keras is not a valid \.keras model file \(.*\); re-save it with model\.save"):
        models.load_model(path)


def test_zip_without_config_is_a_run_error(tmp_path):
    path = tmp_path / "model.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with raises_one_line(RunError, r"is not a valid \.keras model file"):
        models.load_model(path)


def test_missing_file_is_a_run_error(tmp_path):
    with raises_one_line(RunError, r"model file .*absent\.keras does not exist"):
        models.load_model(tmp_path / "absent.keras")


def test_a_folder_named_like_a_model_is_said_to_be_a_folder(tmp_path):
    (tmp_path / "model.keras").mkdir()
    with raises_one_line(RunError, r"model file .*model\.keras is a folder, not a file"):
        models.load_model(tmp_path / "model.keras")


def test_serialised_function_is_refused(tmp_path):
    # A config that carries a serialised Python function anywhere (not only in a Lambda) is refused.
    path = tmp_path / "weird.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    import json

    config = json.loads(members["config.json"])
    config["config"]["layers"][1]["config"]["activation"] = {"class_name": "__lambda__", "config": {"code": "..."}}
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with raises_one_line(UnsafeModelError, r"contains serialised Python code; genlab refuses it"):
        models.load_model(path)


@pytest.mark.parametrize("name", ["TFOpLambda", "SlicingOpLambda"])
def test_other_code_carrying_layers_are_refused(tmp_path, name):
    path = tmp_path / "op.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", '{"class_name": "Functional", "config": {"layers": [{"class_name": "%s"}]}}' % name)
    with raises_one_line(UnsafeModelError, rf"contains a {name} layer"):
        models.check_safe(path)


def test_an_inference_model_is_loaded_once_per_file_content(tmp_path):
    """genlab.sample ten times in a row uses one model and its one compiled predict (a new model
    per call made TensorFlow warn about retracing); a file that changed is loaded again."""
    path = tmp_path / "model.keras"
    small_model().save(path)
    first = models.load_inference_model(path)
    assert models.load_inference_model(path) is first
    batch = np.ones((2, 4), np.float32)
    before = first.predict(batch, verbose=0)
    replacement = small_model()
    replacement.get_layer("dense").set_weights([np.full((4, 3), 2.0, np.float32), np.zeros(3, np.float32)])
    replacement.save(path)
    second = models.load_inference_model(path)
    assert second is not first
    np.testing.assert_allclose(second.predict(batch, verbose=0), np.full((2, 3), 8.0))
    assert not np.allclose(before, 8.0)
    path.write_bytes(path.read_bytes()[:-20])   # damaged: the same clear error as a plain load, not a stale model
    with pytest.raises(RunError):
        models.load_inference_model(path)


def test_an_inference_model_predicts_through_its_compiled_function_with_keras_results(tmp_path):
    """load_inference_model's predict calls the compiled predict function directly (no data
    adapter and callbacks per call: the explorer's per-request cost) and gives Keras' own results,
    in chunks of batch_size, for one input or several."""
    images = keras.Input(shape=(4,), name="x")
    labels = keras.Input(shape=(1,), name="label")
    outputs = keras.layers.Dense(3, name="dense")(keras.layers.Concatenate()([images, labels]))
    path = tmp_path / "two.keras"
    keras.Model([images, labels], outputs).save(path)
    model = models.load_inference_model(path)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((70, 4)).astype("float32"), rng.integers(0, 10, (70, 1)).astype("float32")
    keras_own = type(model).predict(model, [x, y], batch_size=32, verbose=0)
    np.testing.assert_array_equal(model.predict([x, y], batch_size=32, verbose=0), keras_own)
    np.testing.assert_array_equal(model.predict([x[:1], y[:1]], verbose=0), keras_own[:1])
    path = tmp_path / "one.keras"
    small_model().save(path)
    single = models.load_inference_model(path)
    np.testing.assert_array_equal(single.predict(x, batch_size=500, verbose=0),
                                  type(single).predict(single, x, batch_size=500, verbose=0))
