"""Pretrained models shipped inside genlab (genlab.pretrained): pinned by SHA-256 like the
evaluators, usable as `pretrained:NAME` wherever a run folder is, offline and without data, and
never written to. Entries are built from run folders by `python tools/build_pretrained.py`."""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import cli_error, raises_one_line
from genlab import api, cli, families, pretrained
from genlab.errors import GenlabError, RunError

# The maintainers' tool lives outside the package (tools/): imported from its file.
_SPEC = importlib.util.spec_from_file_location("build_pretrained", Path(__file__).resolve().parents[1] / "tools" / "build_pretrained.py")
build_pretrained = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(build_pretrained)

SHIPPED = pretrained.names()


def test_the_chapter_dae_is_shipped():
    assert "mnist-dae" in SHIPPED
    entry = pretrained.entry("mnist-dae")
    assert entry["family"] == "dae" and entry["command"] == "genlab train dae --preset chapter"
    assert round(entry["metrics"]["test_mse"], 4) == 0.0209


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_pinned_small_and_complete(name):
    entry = pretrained.entry(name)
    folder = pretrained.resolve(f"pretrained:{name}")           # every file's SHA-256 checked
    family = families.get(entry["family"])
    # All the family's inference files, or (to stay small) a part that still generates: the decoder.
    model_files = set(entry["files"]) - {"config.toml", "metrics.json"}
    assert model_files <= set(family.inference_files)
    assert model_files == set(family.inference_files) or model_files == {"decoder.keras"}
    images = api.sample(f"pretrained:{name}", 4, seed=1) if family.generate is not None and not family.conditional else None
    assert images is None or (images.shape[0] == 4 and np.isfinite(images).all())
    assert entry["bytes"] == sum(item["bytes"] for item in entry["files"].values()) <= pretrained.MAX_MODEL_BYTES
    for file_name, item in entry["files"].items():
        assert (folder / file_name).stat().st_size == item["bytes"]
    assert entry["command"].startswith(f"genlab train {family.name}")
    assert entry["metrics"] and entry["dataset"]
    run, opened_family, _config = api.open_run(f"pretrained:{name}")
    assert opened_family.name == family.name and run.pretrained == name


@pytest.mark.parametrize("name", families.names())
def test_every_generative_family_says_what_a_pretrained_copy_ships(name):
    family = families.get(name)
    assert set(family.inference_files) <= set(family.files)
    assert bool(family.inference_files) == (family.generate is not None)
    if family.export is not None:
        assert family.inference_files     # what `genlab export` turns into a client's network ships too


def test_listing_has_the_metrics(capsys, monkeypatch):
    assert [model.name for model in api.pretrained_models()] == [f"pretrained:{name}" for name in SHIPPED]
    monkeypatch.setenv("COLUMNS", "400")
    assert cli.main(["pretrained"]) == 0
    out = capsys.readouterr().out
    assert "pretrained:mnist-dae" in out and "test_mse 0.02086" in out and "genlab train dae --preset chapter" in out


def test_listing_fits_the_terminal(capsys, monkeypatch):
    """The metrics and command columns fold onto several lines instead of a table 280 columns wide."""
    monkeypatch.setenv("COLUMNS", "100")
    assert cli.main(["pretrained"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert any("pretrained:mnist-dae" in line for line in lines)
    assert len({len(line) for line in lines}) == 1     # every border and row lines up


def test_the_shipped_dae_works_offline_without_data(monkeypatch, tmp_path):
    # No dataset anywhere: sampling needs only the shipped decoder and code Gaussian.
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    images = api.sample("pretrained:mnist-dae", 8, seed=1)
    assert images.shape == (8, 28, 28, 1) and images.dtype == np.float32 and 0 <= images.min() <= images.max() <= 1
    clean = np.zeros((2, 28, 28, 1), np.float32)
    clean[:, 6:22, 12:16] = 1.0                                  # a bar, something like a 1
    noisy = np.clip(clean + 0.55 * np.random.default_rng(0).standard_normal(clean.shape), 0, 1).astype(np.float32)
    denoised = api.denoise("pretrained:mnist-dae", noisy)
    assert np.mean((denoised - clean) ** 2) < np.mean((noisy - clean) ** 2)
    assert cli.main(["sample", "pretrained:mnist-dae", "-n", "4"]) == 0
    assert (tmp_path / "generated" / "mnist-dae" / "samples-n4-seed0.png").is_file()   # never inside the package


def test_unknown_name_lists_the_shipped_ones(capsys):
    with raises_one_line(RunError, r"no pretrained model 'mnist-nope'; shipped: .*pretrained:mnist-dae.* \(genlab pretrained lists them\)"):
        api.sample("pretrained:mnist-nope", 4)
    assert cli.main(["sample", "pretrained:mnist-nope"]) == 2
    assert "pretrained:mnist-dae" in cli_error(capsys)


@pytest.fixture
def assets_copy(tmp_path, monkeypatch):
    """genlab's assets copied to a temporary folder that genlab.pretrained reads instead."""
    copy = tmp_path / "assets"
    shutil.copytree(pretrained.ASSETS, copy, ignore=shutil.ignore_patterns("*.npz", "evaluator-*"))
    monkeypatch.setattr(pretrained, "ASSETS", copy)
    return copy


@pytest.mark.parametrize("damage", ["flip", "missing"])
def test_a_damaged_file_is_one_line_naming_it_and_the_fix(assets_copy, damage, capsys):
    target = assets_copy / "pretrained" / "mnist-dae" / "decoder.keras"
    if damage == "flip":
        payload = bytearray(target.read_bytes())
        payload[len(payload) // 2] ^= 0xFF
        target.write_bytes(bytes(payload))
    else:
        target.unlink()
    with raises_one_line(RunError, "pretrained model mnist-dae: .*decoder.keras .*reinstall genlab"):
        api.sample("pretrained:mnist-dae", 4)
    assert cli.main(["sample", "pretrained:mnist-dae"]) == 2
    assert "decoder.keras" in cli_error(capsys)


def test_a_pretrained_model_cannot_be_resumed():
    with raises_one_line(RunError, "shipped pretrained model.*genlab train dae --preset chapter"):
        api.train("dae", resume="pretrained:mnist-dae", overrides={"epochs": 60})


# ---------------------------------------------------------------------------- building entries
@pytest.fixture(scope="module")
def tiny_cgan(shared_tiny_run):
    # The default cGAN generator is 1.37 MB of float32 weights (its 50-wide label embedding feeds a
    # 3136-unit dense layer), over the 1 MB a shipped model may take; an 8-wide embedding is 0.84 MB.
    return shared_tiny_run("cgan", embedding_dim=8)          # test_export.py's cGAN too


def test_build_from_a_run_then_sample_a_class_offline(tiny_cgan, assets_copy, tmp_path, monkeypatch, capsys):
    assert build_pretrained.main([str(tiny_cgan.path), "tiny-cgan", "--assets", str(assets_copy)]) == 0
    entry = json.loads((assets_copy / "pretrained.json").read_text())["tiny-cgan"]
    assert set(entry["files"]) == {"config.toml", "metrics.json", "generator.keras"}      # no discriminator, no checkpoints
    assert entry["command"].startswith("genlab train cgan --set dataset=mnist-5k --set steps=6")
    assert "--set embedding_dim=8" in entry["command"]
    assert "conditional_accuracy" in entry["metrics"] and entry["bytes"] < pretrained.MAX_MODEL_BYTES
    # Re-saved without optimizer state, the generator still gives exactly the run's images.
    np.testing.assert_allclose(api.sample("pretrained:tiny-cgan", 10, seed=2, label=3),
                               api.sample(tiny_cgan.path, 10, seed=2, label=3), atol=1e-6)
    monkeypatch.setenv("GENLAB_DATA_DIR", str(tmp_path / "nothing"))
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert cli.main(["sample", "pretrained:tiny-cgan", "--class", "3", "-n", "8"]) == 0
    assert (tmp_path / "generated" / "tiny-cgan" / "class-3-n8-seed0.png").is_file()


def test_evaluate_on_a_pretrained_model_writes_nothing_into_it(tiny_cgan, assets_copy):
    build_pretrained.build(tiny_cgan.path, "tiny-cgan", assets=assets_copy)
    folder = assets_copy / "pretrained" / "tiny-cgan"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    result = api.evaluate("pretrained:tiny-cgan", count=20, reference=False)
    assert np.isfinite(result.rows["cgan samples"]["fid"])
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    pretrained.resolve("pretrained:tiny-cgan")


def test_build_refuses_bad_names_unfinished_runs_and_big_models(tiny_cgan, assets_copy, monkeypatch):
    with raises_one_line(GenlabError, "lower-case letters"):
        build_pretrained.build(tiny_cgan.path, "Tiny CGAN", assets=assets_copy)
    monkeypatch.setattr(build_pretrained, "MAX_MODEL_BYTES", 1000)
    with raises_one_line(GenlabError, "over the 0 MB a shipped model may take"):
        build_pretrained.build(tiny_cgan.path, "tiny-cgan", assets=assets_copy)
    assert not (assets_copy / "pretrained" / "tiny-cgan").exists()          # nothing half-built left
    assert "tiny-cgan" not in json.loads((assets_copy / "pretrained.json").read_text())
