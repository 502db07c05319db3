"""Family-generic tests, parametrised over the registry: presets, configs, and one tiny training
run per family (and per architecture for the autoencoders) on the embedded mnist-5k."""
from __future__ import annotations

import dataclasses
import json
import shutil
import tomllib

import keras
import numpy as np
import pytest
from conftest import raises_one_line, tiny_run
from PIL import Image

from genlab import api, config, data, families
from genlab.errors import ConfigError, GenlabError

NAMES = families.names()

# Every registered family is trained once for this module (once per variant where the family
# declares variants worth covering separately): a new family is picked up without a new test.
RUNS = [(name, dict(extra)) for name in NAMES for extra in families.get(name).tiny_variants]
RUN_IDS = [name + "".join(f"-{value}" for value in extra.values()) for name, extra in RUNS]

@pytest.fixture(scope="module")
def mnist5k():
    return data.load("mnist-5k")


@pytest.fixture(scope="module", params=RUNS, ids=RUN_IDS)
def trained(request, shared_tiny_run):
    name, extra = request.param
    return name, shared_tiny_run(name, **extra)


# ------------------------------------------------------------------------------------ registry


def test_registry_lists_the_chapter_families():
    assert {"classifier", "ae", "dae", "gan"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_family_declares_its_artefacts_and_tiny_settings(name):
    family = families.get(name)
    assert family.files and family.figures and family.tiny
    assert set(family.tiny) <= set(config.field_names(family.config_class))


def test_unknown_family_names_the_closest():
    with raises_one_line(GenlabError, r"unknown model family 'gann'; did you mean 'gan'\?"):
        families.get("gann")
    with raises_one_line(GenlabError, r"unknown model family 'normalizing-flow'; .*families: classifier, ae, dae, gan"):
        families.get("normalizing-flow")


@pytest.mark.parametrize("name", NAMES)
def test_family_is_consistent(name):
    family = families.get(name)
    assert family.name == name
    assert dataclasses.is_dataclass(family.config_class)
    assert callable(family.train)
    assert family.problems() == []


PRESETS = [(name, preset) for name in NAMES for preset in families.get(name).presets]


def test_every_family_has_a_default_preset_and_the_chapter_programs_a_chapter_one():
    for name in NAMES:
        family = families.get(name)
        assert "default" in family.presets, name
        if family.chapter_program is not None:
            assert "chapter" in family.presets, name


@pytest.mark.parametrize("name,preset", PRESETS, ids=[f"{preset}-{name}" for name, preset in PRESETS])
def test_presets_resolve_and_validate(name, preset):
    family = families.get(name)
    fields = set(config.field_names(family.config_class))
    assert set(family.presets[preset]) <= fields, "a preset names a key the config does not have"
    resolved = config.resolve(family, preset)
    assert isinstance(resolved, family.config_class)
    for key, value in family.presets[preset].items():
        assert getattr(resolved, key) == value
    resolved.validate()


@pytest.mark.parametrize("name", NAMES)
def test_config_class_rejects_unknown_keys(name):
    family = families.get(name)
    with raises_one_line(ConfigError, r"unknown config key 'no_such_key' in --set"):
        config.apply(family.config_class(), {"no_such_key": 1}, "--set")
    with pytest.raises(TypeError):
        family.config_class(no_such_key=1)


@pytest.mark.parametrize("name", NAMES)
def test_config_validation_rejects_nonsense(name):
    family = families.get(name)
    key = family.unit
    with raises_one_line(ConfigError, key):
        config.resolve(family, "default", sets={key: "0"})


# ------------------------------------------------------------------------------------ tiny training runs


def test_run_folder_contents(trained):
    name, run = trained
    path = run.path
    header = tomllib.loads((path / "config.toml").read_text())
    assert header["family"] == name
    assert header["config"]["dataset"] == "mnist-5k"
    assert config.load_run_config(path / "config.toml", families.get(name)).dataset == "mnist-5k"

    metrics = run.read_metrics()
    assert metrics["status"] == "complete"
    assert metrics["family"] == name
    assert metrics["dataset"] == "mnist-5k"
    assert metrics["train_wall_s"] > 0
    assert metrics["total_wall_s"] >= metrics["train_wall_s"] * 0.99

    family = families.get(name)
    for relative in family.files:
        assert (path / relative).is_file(), relative
    for relative in family.figures:
        # An entry without a suffix is a folder of PNGs (e.g. the GAN's strips every sample_every steps).
        figures = sorted((run.figures / relative).glob("*.png")) if "." not in relative else [run.figures / relative]
        assert figures and all(figure.is_file() for figure in figures), relative
        for figure in figures:
            with Image.open(figure) as picture:
                assert picture.width > 20 and picture.height > 20
    # No temporary files from the atomic writer anywhere.
    assert not [p for p in path.rglob(".*.tmp*")]


def test_history_has_one_row_per_epoch_or_window(trained):
    name, run = trained
    history = run.read_history()
    cfg = config.load_run_config(run.path / "config.toml", families.get(name))
    if families.get(name).unit == "steps":
        assert [row["step"] for row in history] == list(range(cfg.log_every, cfg.steps + 1, cfg.log_every))
        assert all(np.isfinite([value for key, value in row.items() if isinstance(value, float)]).all() for row in history)
    else:
        assert [row["epoch"] for row in history] == list(range(1, cfg.epochs + 1))
        assert all(np.isfinite(row["loss"]) and np.isfinite(row["val_loss"]) for row in history)
        assert all(row["seconds"] > 0 for row in history)


def _batch_for(model, test_images):
    """Whatever the model eats: images (flat or not) for image-sized inputs, class labels for
    integer inputs, latent points otherwise; a list for multi-input models."""
    batches = []
    for tensor in model.inputs:
        shape = tuple(tensor.shape[1:])
        if "int" in str(tensor.dtype):
            batches.append((np.arange(8) % 10).astype("int32").reshape((8,) + shape))
        elif int(np.prod(shape)) == int(np.prod(test_images.shape[1:])):
            batches.append(test_images[:8].reshape((8,) + shape))
        else:
            batches.append(np.random.default_rng(0).uniform(-1, 1, (8,) + shape).astype("float32"))
    return batches[0] if len(batches) == 1 else batches


def test_saved_models_load_with_plain_keras_safe_mode(trained, mnist5k):
    name, run = trained
    test_images = data.to_float(mnist5k.x_test)
    for file_name in [f for f in families.get(name).files if f.endswith(".keras")]:
        plain = keras.saving.load_model(run.path / file_name, safe_mode=True)
        ours = run.load_model(file_name)
        batch = _batch_for(plain, test_images)
        first, second = plain.predict(batch, verbose=0), ours.predict(batch, verbose=0)
        first, second = (list(out) if isinstance(out, (list, tuple)) else [out] for out in (first, second))
        for a, b in zip(first, second):
            assert np.isfinite(a).all() and a.shape[0] == 8
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_headline_metrics_are_finite_numbers(trained):
    """What the family calls its headline and the training writes (sample_* come from evaluate) is a
    finite number in metrics.json, as is its baseline where that is another key. Each family's own
    test module recomputes its figure from the saved model (test_saved_model_is_the_evaluated_model)."""
    name, run = trained
    metrics = run.read_metrics()
    for metric in families.get(name).headline:
        if metric.key.startswith("sample_"):
            continue
        assert np.isfinite(metrics[metric.key]), metric.key
        if isinstance(metric.baseline, str):
            assert np.isfinite(metrics[metric.baseline]), metric.baseline


def test_sample_from_generative_runs(trained, mnist5k):
    name, run = trained
    family = families.get(name)
    if family.generate is None:
        with raises_one_line(GenlabError, r"is a classifier run, which does not generate images"):
            api.sample(run.path, 8, seed=1)
        return
    images = api.sample(run.path, 8, seed=1)
    assert images.shape == (8, *mnist5k.image_shape)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.isfinite(images).all()
    np.testing.assert_array_equal(images, api.sample(run.path, 8, seed=1))
    assert not np.array_equal(images, api.sample(run.path, 8, seed=2))
    # The 8 samples are not all the same image.
    assert float(images.std(axis=0).mean()) > 1e-4


def test_latent_space_decodes_what_sample_draws(trained):
    """A family's LatentSpace (the explorer's and export's view of it) draws the very points
    `sample` decodes for a seed, and moving one slider changes the image."""
    name, run = trained
    family = families.get(name)
    if family.latent_space is None:
        # Every generating family describes its latent space, but an autoregressive one (it has
        # none: it completes images from their top rows instead).
        assert family.generate is None or family.complete is not None
        with raises_one_line(GenlabError, r"which has no latent space"):
            api.latent_space(run.path)
        return
    space = api.latent_space(run.path)
    labels = np.array([3, 3, 3]) if space.num_classes else None
    points = space.draw(5, 3)
    assert points.shape == (3, space.size) and points.dtype == np.float32
    # The space decodes with its own sampler options (diffusion: deterministic DDIM, eta 0): sample with the same.
    options = {key: value for key, value in space.options.items() if value is not None}
    expected = api.sample(run.path, 3, seed=5, label=3 if space.num_classes else None, **options)
    np.testing.assert_allclose(space.decode(points, labels), expected, atol=1e-5)
    axes = space.axes(4)
    assert len(axes) == min(4, space.size)
    for axis in axes:
        assert np.isclose(np.linalg.norm(axis.direction), 1.0) and axis.low < axis.high
    moved = space.moved(points[0], axes[:1], [axes[0].high])
    assert np.isclose(space.coordinates(moved, axes[:1])[0], axes[0].high, atol=1e-5)
    first = labels[:1] if labels is not None else None
    assert not np.allclose(space.decode(moved[None], first), space.decode(points[:1], first))
    path = space.between(5, 6, 4)
    np.testing.assert_allclose(path[0], space.draw(5, 1)[0], atol=1e-5)
    np.testing.assert_allclose(path[-1], space.draw(6, 1)[0], atol=1e-5)
    walk = space.walk(5, 6)
    assert walk.shape == (6, space.size)
    if space.bounded:
        assert (walk >= space.low - 1e-6).all() and (walk <= space.high + 1e-6).all()


def test_every_score_tells_the_test_set_from_inverted_digits(trained, tmp_path):
    # genlab ood on every tiny run: its own score (bits/dim, reconstruction error, energy,
    # discriminator, softmax) must rank digits in negative (white background) as less like its
    # data than its test set, more often than not (tiny runs are barely trained: a classifier's
    # softmax reaches about 0.6, a diffusion or VAE bound 0.7, the autoencoders and the PixelCNN 1.0).
    from genlab.out_of_distribution import ood

    name, run = trained
    inverted = 255 - data.load("mnist-5k").x_test[-64:]
    against = tmp_path / "inverted.npz"
    np.savez(against, x_train=inverted, y_train=np.zeros(64, np.int64), x_test=inverted, y_test=np.zeros(64, np.int64))
    if not families.get(name).can("score"):
        with raises_one_line(GenlabError, "has no score for an image"):
            ood(run.path, against, n=64)
        return
    result = ood(run.path, against, n=64)
    assert result.n == 64 and len(result.in_scores) == len(result.out_scores) == 64
    assert result.auroc > 0.55, (result.score, result.auroc)
    assert (result.corrected_auroc is not None) == result.score.startswith("bits/dim")


def test_open_run_returns_family_and_config(trained):
    name, run = trained
    opened, family, cfg = api.open_run(run.path)
    assert opened.path == run.path
    assert family.name == name
    assert isinstance(cfg, family.config_class)


def _checkpoint(run) -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((run.path / "checkpoints" / "latest.json").read_text())
    with np.load(run.path / "checkpoints" / meta["file"], allow_pickle=False) as arrays:
        return meta, dict(arrays)


def test_resume_trains_further_from_the_last_checkpoint(trained, tmp_path):
    """`genlab train NAME --resume RUN --set epochs=...` (or steps=...) picks up the weights and
    the optimizer state where the checkpoint left them, for every family."""
    name, finished = trained
    run_copy = tmp_path / "run"
    shutil.copytree(finished.path, run_copy)
    family = families.get(name)
    cfg = config.load_run_config(run_copy / "config.toml", family)
    unit = family.unit.removesuffix("s")
    length = getattr(cfg, unit + "s")
    before_meta, before = _checkpoint(finished)
    assert before_meta[unit] == length

    resumed = api.train(name, resume=run_copy, overrides={unit + "s": 2 * length}, verbose=0, print_summary=False)
    after_meta, after = _checkpoint(resumed)
    assert after_meta[unit] == 2 * length and resumed.read_metrics()["status"] == "complete"
    logged = [row[unit] for row in resumed.read_history()]
    assert logged == sorted(set(logged)) and logged[-1] == 2 * length   # continued, no duplicates
    # Adam's step counter (the first variable of every Keras optimizer) doubled: it was restored,
    # not restarted, and the weights moved on from the checkpoint.
    counters = [key for key in before if key.endswith("optimizer/0000")]
    assert counters
    for key in counters:
        assert int(after[key]) == 2 * int(before[key]) > 0, key
    weights = [key for key in before if "optimizer" not in key and before[key].dtype.kind == "f" and before[key].ndim >= 2]
    assert any(not np.array_equal(before[key], after[key]) for key in weights)
    if family.unit == "steps":
        # A step-trained loop checkpoints its data order and noise state too: resumed == unbroken, bit for bit.
        straight = tiny_run(name, tmp_path / "straight", **{unit + "s": 2 * length})
        for file_name in [item for item in family.files if item.endswith(".keras")]:
            for ours, theirs in zip(resumed.load_model(file_name).get_weights(), straight.load_model(file_name).get_weights()):
                np.testing.assert_array_equal(ours, theirs)


def test_resume_refuses_other_settings_and_other_shapes(tmp_path):
    """--resume may only lengthen a run: other --set keys are refused before anything is written,
    and a checkpoint that does not fit the (hand-edited) config is one clear line, not a Keras traceback."""
    run = tiny_run("ae", tmp_path / "run", architecture="dense")
    config_file = run.path / "config.toml"
    before = {name: (run.path / name).read_bytes() for name in ("config.toml", "metrics.json", "history.csv")}
    with raises_one_line(ConfigError, r"--resume cannot change latent_dim, learning_rate \(only epochs, steps_per_execution\)"):
        api.train("ae", resume=run.path, overrides={"latent_dim": 16, "learning_rate": 0.1, "epochs": 3},
                  verbose=0, print_summary=False)
    assert {name: (run.path / name).read_bytes() for name in before} == before

    config_file.write_text(config_file.read_text().replace("latent_dim = 32", "latent_dim = 16"))
    with raises_one_line(GenlabError, r"has shape .* the model wants .*different config"):
        api.train("ae", resume=run.path, verbose=0, print_summary=False)
